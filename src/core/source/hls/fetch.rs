//! Following a live media playlist: reload it, fetch each new segment, hand it to the
//! decoder with its capture time.
//!
//! The capture time of a segment's first frame is its `EXT-X-PROGRAM-DATE-TIME` when that
//! is plausible (the segment did not end in the future, and is not older than
//! [`PDT_SLACK`] past its end): then it is exact, encoder delay included. Otherwise it is
//! an estimate: the moment the segment first appeared in the playlist minus its duration
//! (a segment is listed once complete), which leaves out the producer's encoder delay,
//! and for the segment already listed when we start, how long ago it appeared.
//!
//! A segment that cannot be used (missing, unreachable, or larger than
//! [`MAX_SEGMENT_BYTES`]) is skipped and counted in the stream's skipped count.

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
pub const PDT_SLACK: Duration = Duration::from_secs(30);
/// How far in the future a segment's end may seem by its program date-time (clocks that
/// are a little apart) before the date is not believed.
const FUTURE_SLACK: Duration = Duration::from_secs(1);

/// What a fetch of a playlist or segment returned.
enum Got {
    Body(Vec<u8>),
    Status(u16),
    /// The body was larger than the cap (bytes): it was not read.
    TooLarge(usize),
}

async fn get(
    http: &reqwest::Client,
    url: &url::Url,
    timeout: Duration,
    max: usize,
    stats: &StreamStats,
) -> Result<Got, HlsError> {
    let req = http.get(url.clone()).timeout(timeout);
    let answer = match send(req, max).await {
        Ok(answer) => answer,
        Err(BodyError::Network(reason)) => return Err(HlsError::Network(reason)),
        Err(BodyError::TooLarge { max, .. }) => return Ok(Got::TooLarge(max)),
        Err(BodyError::Redirected { status, .. }) => return Err(HlsError::Http { status }),
    };
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
        Got::TooLarge(max) => return Err(too_large_playlist(max)),
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

fn too_large_playlist(max: usize) -> HlsError {
    HlsError::BadPlaylist(format!("a playlist is larger than {max} bytes"))
}

/// When a segment's first frame was captured, and whether that is known (from its
/// program date-time) rather than estimated; `now` and `now_wall` are the same moment on
/// the two clocks.
pub fn capture_time(seg: &SegmentRef, now: Instant, now_wall: SystemTime) -> (Instant, bool) {
    let appeared = seg
        .listed_at
        .checked_sub(seg.duration)
        .unwrap_or(seg.listed_at);
    let Some(pdt) = seg.program_date_time else {
        return (appeared, false);
    };
    let ends_in_future = pdt
        .checked_add(seg.duration)
        .and_then(|end| end.duration_since(now_wall).ok())
        .is_some_and(|ahead| ahead > FUTURE_SLACK);
    let age = match now_wall.duration_since(pdt) {
        Ok(age) if !ends_in_future && age <= seg.duration + PDT_SLACK => age,
        // Another clock: the date cannot be believed.
        Ok(_) => return (appeared, false),
        Err(_) if !ends_in_future => Duration::ZERO,
        Err(_) => return (appeared, false),
    };
    match now.checked_sub(age) {
        Some(capture) => (capture, true),
        None => (appeared, false),
    }
}

/// Fetches one segment; `None` (logged, and counted as skipped) when it cannot be used.
async fn fetch_segment(
    http: &reqwest::Client,
    seg: &SegmentRef,
    stats: &StreamStats,
) -> Option<Vec<u8>> {
    let timeout = (seg.duration * 3).max(Duration::from_secs(10));
    match get(http, &seg.url, timeout, MAX_SEGMENT_BYTES, stats).await {
        Ok(Got::Body(b)) => return Some(b),
        Ok(Got::Status(status)) => {
            tracing::info!(seq = seg.seq, "HLS segment answered HTTP {status}: skipped");
        }
        Ok(Got::TooLarge(max)) => {
            tracing::warn!(
                seq = seg.seq,
                "HLS segment larger than {} MiB: skipped",
                max >> 20
            );
        }
        Err(e) => tracing::info!(seq = seg.seq, "HLS segment not fetched ({e}): skipped"),
    }
    stats.add_skipped();
    None
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
                Ok(Got::TooLarge(max)) => return Err(too_large_playlist(max)),
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
        for seg in update.new {
            let Some(body) = fetch_segment(&http, &seg, &stats).await else {
                gap = true;
                continue;
            };
            let (capture, exact) = capture_time(&seg, Instant::now(), SystemTime::now());
            let segment = Segment {
                seq: seg.seq,
                bytes: Bytes::from(body),
                capture,
                exact,
                arrived: (!seg.was_listed_at_start).then(Instant::now),
                discontinuity: seg.discontinuity || gap,
                duration: seg.duration,
                program_date_time: seg.program_date_time,
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
        let ms = Duration::from_millis;
        let now = Instant::now() + Duration::from_secs(100);
        let wall = SystemTime::now();
        // Listed at the first reload, 300 ms ago; captured 2.4 s ago by the playlist's
        // clock: exact, counted from now.
        let listed = now - ms(300);
        let dated = |pdt: SystemTime| capture_time(&seg(Some(pdt), listed), now, wall);
        assert_eq!(dated(wall - ms(2_400)), (now - ms(2_400), true));
        // Ending half a second from now: clocks a little apart, believed.
        assert_eq!(dated(wall - ms(1_500)), (now - ms(1_500), true));
        // No date: it appeared when listed, so it began one duration before.
        let estimate = (listed - ms(2_000), false);
        assert_eq!(capture_time(&seg(None, listed), now, wall), estimate);
        // A date from a clock an hour off, or one by which the segment ends later than a
        // second from now (it was listed, so it is complete), is not believed.
        assert_eq!(dated(wall - Duration::from_secs(3_600)), estimate);
        assert_eq!(dated(wall + Duration::from_secs(60)), estimate);
        assert_eq!(dated(wall + ms(300)), estimate);
        assert_eq!(dated(wall - ms(900)), estimate);
    }
}
