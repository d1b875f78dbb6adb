//! Following a live media playlist: reload it, fetch each new segment, hand it to the
//! decoder with its capture time.
//!
//! The capture time of a segment's first frame is its `EXT-X-PROGRAM-DATE-TIME` when that
//! is plausible (not in the future, not older than the window), else the moment the
//! segment first appeared in the playlist minus its duration (a segment is listed once
//! complete). For the segment already listed when we start, that underestimates its age.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use m3u8_rs::MediaPlaylist;
use tokio::sync::mpsc;

use super::HlsError;
use super::decode::Segment;
use super::playlist::{self, Choice, MAX_PLAYLIST_BYTES, Parsed, SegmentRef, Tracker};
use crate::core::event::StreamStats;
use crate::core::provider::{BodyError, send};
use crate::core::redact;

/// Largest segment we read (a 2 s 720p segment is well under 2 MiB; 16 MiB is 64 Mb/s).
pub const MAX_SEGMENT_BYTES: usize = 16 << 20;
/// Time allowed for one playlist request.
const PLAYLIST_TIMEOUT: Duration = Duration::from_secs(10);
/// A segment's program date-time is trusted when it makes the segment at most this much
/// older than its duration (beyond that the two clocks disagree).
const PDT_SLACK: Duration = Duration::from_secs(30);

/// What a fetch of a playlist or segment returned.
enum Got {
    Body(Vec<u8>),
    Status(u16),
}

async fn get(
    http: &reqwest::Client,
    url: &url::Url,
    timeout: Duration,
    max: usize,
    stats: &StreamStats,
) -> Result<Got, HlsError> {
    let req = http.get(url.clone()).timeout(timeout);
    let answer = send(req, max).await.map_err(|e| match e {
        BodyError::Network(reason) => HlsError::Network(reason),
        BodyError::TooLarge { max, .. } => {
            HlsError::BadPlaylist(format!("a response is larger than {max} bytes"))
        }
        BodyError::Redirected { status, .. } => HlsError::Http { status },
    })?;
    stats.add_bytes(answer.body.len());
    Ok(if (200..300).contains(&answer.status) {
        Got::Body(answer.body)
    } else {
        Got::Status(answer.status)
    })
}

/// A playlist URL opened: the media playlists to follow and the first reload of the main
/// one.
#[derive(Debug)]
pub struct Opened {
    pub choice: Choice,
    pub first: MediaPlaylist,
    pub loaded_at: Instant,
}

/// Reads one playlist of either kind.
async fn load(
    http: &reqwest::Client,
    url: &url::Url,
    stats: &StreamStats,
) -> Result<(Parsed, Instant), HlsError> {
    let body = match get(http, url, PLAYLIST_TIMEOUT, MAX_PLAYLIST_BYTES, stats).await? {
        Got::Body(b) => b,
        Got::Status(s @ (404 | 410)) => return Err(HlsError::Gone { status: s }),
        Got::Status(s @ (401 | 403)) => return Err(HlsError::Refused { status: s }),
        Got::Status(status) => return Err(HlsError::Http { status }),
    };
    Ok((playlist::parse(&body)?, Instant::now()))
}

/// Reads `url`; a master playlist is followed to its best variant (one level only).
pub async fn open(
    http: &reqwest::Client,
    url: &url::Url,
    stats: &StreamStats,
) -> Result<Opened, HlsError> {
    let master = match load(http, url, stats).await? {
        (Parsed::Media(first), loaded_at) => {
            return Ok(Opened {
                choice: Choice {
                    main: url.clone(),
                    audio: None,
                },
                first,
                loaded_at,
            });
        }
        (Parsed::Master(master), _) => master,
    };
    let choice = playlist::choose(&master, url)?;
    tracing::debug!(
        main = %redact::url(choice.main.as_str()),
        audio = choice.audio.is_some(),
        "HLS master playlist"
    );
    match load(http, &choice.main, stats).await? {
        (Parsed::Media(first), loaded_at) => Ok(Opened {
            choice,
            first,
            loaded_at,
        }),
        (Parsed::Master(_), _) => Err(HlsError::BadPlaylist(
            "a master playlist leads to another master playlist".into(),
        )),
    }
}

/// Why following a playlist stopped (errors aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowEnd {
    /// `#EXT-X-ENDLIST`, after every listed segment was handed over.
    EndList,
    /// The playlist answered 404 or 410.
    Gone(u16),
    /// No new segment for this long.
    Stalled(Duration),
}

/// Estimates when a segment's first frame was captured.
pub fn capture_time(seg: &SegmentRef, now_wall: SystemTime) -> Instant {
    let appeared = seg
        .listed_at
        .checked_sub(seg.duration)
        .unwrap_or(seg.listed_at);
    let Some(pdt) = seg.program_date_time else {
        return appeared;
    };
    let age = match now_wall.duration_since(pdt) {
        Ok(age) => age,
        // Slightly in the future (clock jitter): just captured.
        Err(e) if e.duration() < Duration::from_secs(1) => Duration::ZERO,
        Err(_) => return appeared,
    };
    if age > seg.duration + PDT_SLACK {
        return appeared;
    }
    seg.listed_at.checked_sub(age).unwrap_or(appeared)
}

/// Follows one media playlist until it ends, disappears or stalls, handing each new
/// segment to `tx`. `first` is the reload [`open`] made.
pub async fn follow(
    http: reqwest::Client,
    url: url::Url,
    first: Option<(MediaPlaylist, Instant)>,
    stats: Arc<StreamStats>,
    tx: mpsc::Sender<Segment>,
) -> Result<FollowEnd, HlsError> {
    let mut tracker = Tracker::default();
    let mut pending = first;
    let mut gap = false;
    loop {
        let (media, loaded_at) = match pending.take() {
            Some(p) => p,
            None => match get(&http, &url, PLAYLIST_TIMEOUT, MAX_PLAYLIST_BYTES, &stats).await {
                Ok(Got::Body(body)) => match playlist::parse(&body)? {
                    Parsed::Media(m) => (m, Instant::now()),
                    Parsed::Master(_) => {
                        return Err(HlsError::BadPlaylist(
                            "the media playlist turned into a master playlist".into(),
                        ));
                    }
                },
                Ok(Got::Status(s @ (404 | 410))) => return Ok(FollowEnd::Gone(s)),
                // An expired token: the session resolves a fresh URL.
                Ok(Got::Status(s @ (401 | 403))) => return Err(HlsError::Refused { status: s }),
                Ok(Got::Status(status)) => {
                    tracing::debug!("HLS playlist answered HTTP {status}");
                    if tracker.is_stalled(Instant::now()) {
                        return Err(HlsError::Http { status });
                    }
                    tokio::time::sleep(tracker.poll_interval()).await;
                    continue;
                }
                Err(e @ HlsError::Network(_)) => {
                    tracing::debug!("HLS playlist: {e}");
                    if tracker.is_stalled(Instant::now()) {
                        return Err(e);
                    }
                    tokio::time::sleep(tracker.poll_interval()).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let update = tracker.update(&media, &url, loaded_at)?;
        if update.skipped > 0 {
            tracing::info!(
                skipped = update.skipped,
                "HLS segments left the window before we fetched them"
            );
        }
        let now_wall = SystemTime::now();
        for seg in update.new {
            let timeout = (seg.duration * 3).max(Duration::from_secs(10));
            let body = match get(&http, &seg.url, timeout, MAX_SEGMENT_BYTES, &stats).await {
                Ok(Got::Body(b)) => b,
                Ok(Got::Status(status)) => {
                    tracing::info!(seq = seg.seq, "HLS segment answered HTTP {status}: skipped");
                    gap = true;
                    continue;
                }
                Err(e) => {
                    tracing::info!(seq = seg.seq, "HLS segment not fetched ({e}): skipped");
                    gap = true;
                    continue;
                }
            };
            let segment = Segment {
                seq: seg.seq,
                bytes: Bytes::from(body),
                capture: capture_time(&seg, now_wall),
                arrived: (!seg.was_listed_at_start).then(Instant::now),
                discontinuity: seg.discontinuity || gap,
            };
            gap = false;
            if tx.send(segment).await.is_err() {
                // The decoder is gone; the session knows why.
                return Ok(FollowEnd::EndList);
            }
        }
        if update.ended {
            return Ok(FollowEnd::EndList);
        }
        let now = Instant::now();
        if tracker.is_stalled(now) {
            return Ok(FollowEnd::Stalled(tracker.since_growth(now)));
        }
        tokio::time::sleep(tracker.next_reload(Instant::now())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(pdt: Option<SystemTime>, listed_at: Instant) -> SegmentRef {
        SegmentRef {
            seq: 1,
            url: url::Url::parse("http://127.0.0.1/a.ts").unwrap(),
            duration: Duration::from_secs(2),
            program_date_time: pdt,
            listed_at,
            was_listed_at_start: false,
            discontinuity: false,
        }
    }

    #[test]
    fn capture_time_prefers_a_plausible_program_date_time() {
        let now = Instant::now() + Duration::from_secs(100);
        let wall = SystemTime::now();
        // Captured 2.4 s ago by the playlist's clock.
        let c = capture_time(&seg(Some(wall - Duration::from_millis(2_400)), now), wall);
        assert_eq!(now - c, Duration::from_millis(2_400));
        // No date: it appeared now, so it began one duration ago.
        let c = capture_time(&seg(None, now), wall);
        assert_eq!(now - c, Duration::from_secs(2));
        // A date from a clock an hour off is not believed.
        let c = capture_time(&seg(Some(wall - Duration::from_secs(3_600)), now), wall);
        assert_eq!(now - c, Duration::from_secs(2));
        let c = capture_time(&seg(Some(wall + Duration::from_secs(60)), now), wall);
        assert_eq!(now - c, Duration::from_secs(2));
        // A little in the future: just captured.
        let c = capture_time(&seg(Some(wall + Duration::from_millis(300)), now), wall);
        assert_eq!(c, now);
    }
}
