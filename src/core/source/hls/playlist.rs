//! Playlists: which media playlists to follow, and which of their segments are new.
//!
//! Parsing is m3u8-rs; what is ours is the live logic a player needs on top of it: pick a
//! variant (and its separate audio rendition) from a master playlist, start at the live
//! edge, notice new segments across reloads, skip ahead when the window has moved past us,
//! and notice a playlist that has stopped moving.

use std::time::{Duration, Instant, SystemTime};

use m3u8_rs::{AlternativeMediaType, MasterPlaylist, MediaPlaylist, Playlist};

use super::HlsError;
use crate::core::source::tasklog::Micros;

/// Largest playlist we read (a 30-segment window is about 3 KiB).
pub const MAX_PLAYLIST_BYTES: usize = 1 << 20;
/// More new segments than this in one reload are a backlog: skip to the newest.
pub const MAX_NEW_AT_ONCE: u64 = 2;
/// Most segments a playlist may list.
pub const MAX_SEGMENTS: usize = 10_000;

/// A parsed playlist of either kind.
#[derive(Debug)]
pub enum Parsed {
    Master(MasterPlaylist),
    Media(MediaPlaylist),
}

/// Parses playlist bytes; the error names the problem without echoing the bytes.
pub fn parse(bytes: &[u8]) -> Result<Parsed, HlsError> {
    if bytes.len() > MAX_PLAYLIST_BYTES {
        return Err(HlsError::BadPlaylist(format!(
            "larger than {MAX_PLAYLIST_BYTES} bytes"
        )));
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if !text.trim_ascii_start().starts_with(b"#EXTM3U") {
        return Err(HlsError::BadPlaylist(
            "it does not start with #EXTM3U".into(),
        ));
    }
    match m3u8_rs::parse_playlist_res(text) {
        Ok(Playlist::MasterPlaylist(m)) => Ok(Parsed::Master(m)),
        Ok(Playlist::MediaPlaylist(m)) => {
            if m.segments.len() > MAX_SEGMENTS {
                return Err(HlsError::BadPlaylist(format!(
                    "more than {MAX_SEGMENTS} segments"
                )));
            }
            Ok(Parsed::Media(m))
        }
        Err(_) => Err(HlsError::BadPlaylist("not a valid M3U8 playlist".into())),
    }
}

/// The media playlists a master playlist leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The variant's playlist (video, usually with muxed audio).
    pub main: url::Url,
    /// A separate audio rendition, when the variant names one with its own URI.
    pub audio: Option<url::Url>,
}

/// Picks the highest-bandwidth variant that is not an I-frame playlist, and its default
/// (or first) audio rendition that has a URI.
pub fn choose(master: &MasterPlaylist, base: &url::Url) -> Result<Choice, HlsError> {
    let variant = master
        .variants
        .iter()
        .filter(|v| !v.is_i_frame && !v.uri.is_empty())
        .max_by_key(|v| v.bandwidth)
        .ok_or_else(|| HlsError::BadPlaylist("the master playlist lists no variant".into()))?;
    let main = resolve(base, &variant.uri)?;
    let audio = match &variant.audio {
        Some(group) => {
            let in_group = || {
                master
                    .alternatives
                    .iter()
                    .filter(|a| a.media_type == AlternativeMediaType::Audio && &a.group_id == group)
            };
            in_group()
                .find(|a| a.default && a.uri.is_some())
                .or_else(|| in_group().find(|a| a.uri.is_some()))
                .and_then(|a| a.uri.as_deref())
                .map(|uri| resolve(base, uri))
                .transpose()?
        }
        None => None,
    };
    Ok(Choice { main, audio })
}

/// A URI from a playlist, made absolute; only http(s) is followed.
pub fn resolve(base: &url::Url, uri: &str) -> Result<url::Url, HlsError> {
    let url = base
        .join(uri.trim())
        .map_err(|e| HlsError::BadPlaylist(format!("bad URI in playlist: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HlsError::BadPlaylist(format!(
            "a URI in the playlist has scheme {:?}; only http and https are followed",
            url.scheme()
        )));
    }
    Ok(url)
}

/// A segment's `EXT-X-PROGRAM-DATE-TIME`. m3u8-rs reads the strict RFC 3339 form
/// (`…T10:00:00.000Z`, `…+00:00`) and keeps any other as an unknown tag; FFmpeg's hls
/// muxer writes the zone in ISO 8601's basic form (`2026-06-13T11:54:41.836+0000`), which
/// is read here, as is any zoned ISO 8601 date-time.
pub fn program_date_time(seg: &m3u8_rs::MediaSegment) -> Option<SystemTime> {
    if let Some(pdt) = seg.program_date_time {
        return Some(SystemTime::from(pdt));
    }
    let text = seg
        .unknown_tags
        .iter()
        .find(|t| t.tag == "X-PROGRAM-DATE-TIME")?
        .rest
        .as_deref()?
        .trim();
    // A date and a time (not a bare number), with a zone.
    let b = text.as_bytes();
    let zoned = matches!(b.last(), Some(b'Z' | b'z'))
        || b.iter().skip(19).any(|c| matches!(c, b'+' | b'-'));
    if !matches!(b.get(10), Some(b'T' | b't')) || !zoned {
        return None;
    }
    Micros::from_text(text)?.system_time()
}

/// The reload interval while a segment is due, for a target duration (see
/// [`Tracker::poll_interval`]).
pub fn poll_interval(target: Duration) -> Duration {
    (target / 16).clamp(Duration::from_millis(100), Duration::from_millis(500))
}

/// One segment to fetch.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentRef {
    /// Its media sequence number.
    pub seq: u64,
    pub url: url::Url,
    pub duration: Duration,
    /// When its first frame was captured, by the playlist's `EXT-X-PROGRAM-DATE-TIME`.
    pub program_date_time: Option<SystemTime>,
    /// When it was first listed: the time of the reload that showed it.
    pub listed_at: Instant,
    /// Whether the first reload already listed it (so its age is unknown).
    pub was_listed_at_start: bool,
    /// Whether the decoder must start afresh here (a gap, or `EXT-X-DISCONTINUITY`).
    pub discontinuity: bool,
}

/// What one reload of a media playlist brought.
#[derive(Debug, Default)]
pub struct Update {
    /// Segments not seen before, in order.
    pub new: Vec<SegmentRef>,
    /// Segments that left the window before we fetched them.
    pub skipped: u64,
    /// The playlist has `#EXT-X-ENDLIST`.
    pub ended: bool,
}

/// Follows one media playlist across reloads.
#[derive(Debug)]
pub struct Tracker {
    /// The next media sequence number wanted (`None` before the first reload).
    next_seq: Option<u64>,
    target_duration: Duration,
    /// When a segment last appeared.
    last_growth: Option<Instant>,
    /// Whether a reload after the first has shown a new segment (the cadence is known).
    seen_growth: bool,
    /// The duration of the newest segment.
    last_duration: Duration,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            next_seq: None,
            target_duration: Duration::from_secs(2),
            last_growth: None,
            seen_growth: false,
            last_duration: Duration::from_secs(2),
        }
    }
}

impl Tracker {
    /// The playlist's target duration (2 s until a playlist says otherwise).
    pub fn target_duration(&self) -> Duration {
        self.target_duration
    }

    /// Reads one reload of the playlist at `base`, made at `now`.
    ///
    /// The first reload starts at the live edge: the newest segment only. Later reloads
    /// return every segment after the last one returned; if the window has moved past
    /// them, the newest segment again, with the gap counted in `skipped`.
    pub fn update(
        &mut self,
        playlist: &MediaPlaylist,
        base: &url::Url,
        now: Instant,
    ) -> Result<Update, HlsError> {
        if let Some(seg) = playlist.segments.iter().find(|s| s.key.is_some()) {
            let method = seg.key.as_ref().map(|k| format!("{:?}", k.method));
            if method.as_deref() != Some("None") {
                return Err(HlsError::Unsupported("encrypted segments (EXT-X-KEY)"));
            }
        }
        if playlist.segments.iter().any(|s| s.map.is_some()) {
            return Err(HlsError::Unsupported(
                "fragmented MP4 segments (EXT-X-MAP); only MPEG-TS segments are played",
            ));
        }
        if playlist.segments.iter().any(|s| s.byte_range.is_some()) {
            return Err(HlsError::Unsupported(
                "byte-range segments (EXT-X-BYTERANGE)",
            ));
        }
        self.target_duration = Duration::from_secs(playlist.target_duration.clamp(1, 60));
        let first = playlist.media_sequence;
        let count = playlist.segments.len() as u64;
        let end = first.saturating_add(count);
        let mut update = Update {
            ended: playlist.end_list,
            ..Update::default()
        };
        let at_start = self.next_seq.is_none();
        let start = match self.next_seq {
            None => end.saturating_sub(1),
            // The window moved past what we wanted: go to the live edge.
            Some(next) if next < first => {
                update.skipped = first - next;
                end.saturating_sub(1)
            }
            // The sequence went backwards (a restarted packager): start over at the edge.
            Some(next) if next > end => end.saturating_sub(1),
            Some(next) => next,
        };
        let restarted = matches!(self.next_seq, Some(next) if next > end);
        // A backlog (a playlist that stalled, then listed what it held back): only the
        // newest is still live; the rest would only be fetched to be dropped.
        let start = if end.saturating_sub(start.max(first)) > MAX_NEW_AT_ONCE {
            update.skipped += end - 1 - start.max(first);
            end - 1
        } else {
            start
        };
        for seq in start.max(first)..end {
            let Some(seg) = usize::try_from(seq - first)
                .ok()
                .and_then(|i| playlist.segments.get(i))
            else {
                break;
            };
            // A duration under a millisecond (found by fuzzing: `#EXTINF:0.000000000002`)
            // is no duration: it would be zero once converted.
            let duration = if seg.duration.is_finite() && seg.duration >= 0.001 {
                Duration::from_secs_f32(seg.duration.min(600.0))
            } else {
                self.target_duration
            };
            let discontinuity =
                seg.discontinuity || (seq == start && (update.skipped > 0 || restarted));
            update.new.push(SegmentRef {
                seq,
                url: resolve(base, &seg.uri)?,
                duration,
                program_date_time: program_date_time(seg),
                listed_at: now,
                was_listed_at_start: at_start,
                discontinuity,
            });
        }
        if !update.new.is_empty() || self.last_growth.is_none() {
            self.last_growth = Some(now);
        }
        if !update.new.is_empty() && !at_start {
            self.seen_growth = true;
        }
        if let Some(last) = update.new.last() {
            self.last_duration = last.duration;
            self.next_seq = Some(last.seq + 1);
        } else if at_start {
            // An empty live playlist: take everything from its first segment to come.
            self.next_seq = Some(end);
        }
        Ok(update)
    }

    /// How long since a segment last appeared (zero before the first reload).
    pub fn since_growth(&self, now: Instant) -> Duration {
        self.last_growth
            .map(|t| now.saturating_duration_since(t))
            .unwrap_or_default()
    }

    /// How often to reload while a new segment is due: a sixteenth of the target
    /// duration, 100 to 500 ms. How soon we see a segment is what keeps us close to live.
    pub fn poll_interval(&self) -> Duration {
        poll_interval(self.target_duration)
    }

    /// How long to wait before the next reload: until shortly before the next segment is
    /// due (one segment after the last appeared), then every [`Tracker::poll_interval`].
    /// Until the cadence is known, poll.
    pub fn next_reload(&self, now: Instant) -> Duration {
        let poll = self.poll_interval();
        match self.last_growth {
            Some(grew) if self.seen_growth => {
                let due = grew + self.last_duration.min(self.target_duration * 2);
                due.checked_sub(poll * 2)
                    .map(|at| at.saturating_duration_since(now))
                    .filter(|wait| !wait.is_zero())
                    .unwrap_or(poll)
            }
            _ => poll,
        }
    }

    /// Whether the playlist has stopped moving: no new segment for three target
    /// durations.
    pub fn is_stalled(&self, now: Instant) -> bool {
        self.since_growth(now) > self.target_duration * 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("http://127.0.0.1:9/hls/ws/video?token=SECRET").unwrap()
    }

    fn media(first: u64, count: u64, ended: bool) -> MediaPlaylist {
        let mut text = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for seq in first..first + count {
            text.push_str(&format!(
                "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:{:02}.000Z\n#EXTINF:2.000,\nvideo/{seq}.ts?token=S\n",
                (seq * 2) % 60
            ));
        }
        if ended {
            text.push_str("#EXT-X-ENDLIST\n");
        }
        match parse(text.as_bytes()).unwrap() {
            Parsed::Media(m) => m,
            Parsed::Master(_) => panic!("master"),
        }
    }

    #[test]
    fn starts_at_the_live_edge_then_follows_each_new_segment() {
        let mut t = Tracker::default();
        let now = Instant::now();
        let u = t.update(&media(10, 5, false), &base(), now).unwrap();
        assert_eq!(u.new.len(), 1);
        assert_eq!(u.new[0].seq, 14);
        assert!(u.new[0].was_listed_at_start);
        assert_eq!(
            u.new[0].url.as_str(),
            "http://127.0.0.1:9/hls/ws/video/14.ts?token=S"
        );
        assert!(u.new[0].program_date_time.is_some());
        // Nothing new on an unchanged reload.
        let u = t.update(&media(10, 5, false), &base(), now).unwrap();
        assert!(u.new.is_empty());
        // Two new segments, in order, listed now.
        let later = now + Duration::from_secs(4);
        let u = t.update(&media(12, 5, false), &base(), later).unwrap();
        assert_eq!(u.new.iter().map(|s| s.seq).collect::<Vec<_>>(), [15, 16]);
        assert!(
            u.new
                .iter()
                .all(|s| !s.was_listed_at_start && s.listed_at == later)
        );
        assert!(!u.new[0].discontinuity);
        assert_eq!(u.skipped, 0);
    }

    #[test]
    fn a_segment_without_a_usable_duration_lasts_the_target_duration() {
        for extinf in ["0.000000000002", "0", "-3", "nan"] {
            let text = format!(
                "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:{extinf},\nv/1.ts\n"
            );
            let Ok(Parsed::Media(m)) = parse(text.as_bytes()) else {
                continue; // refused by the parser: nothing to follow
            };
            let u = Tracker::default()
                .update(&m, &base(), Instant::now())
                .unwrap();
            assert_eq!(u.new[0].duration, Duration::from_secs(4), "EXTINF:{extinf}");
        }
    }

    #[test]
    fn skips_to_the_edge_when_the_window_has_moved_past() {
        let mut t = Tracker::default();
        let now = Instant::now();
        t.update(&media(0, 3, false), &base(), now).unwrap();
        let u = t.update(&media(40, 30, false), &base(), now).unwrap();
        assert_eq!(u.skipped, 40 - 3);
        assert_eq!(u.new.len(), 1);
        assert_eq!(u.new[0].seq, 69);
        assert!(u.new[0].discontinuity);
    }

    #[test]
    fn a_backlog_after_a_stall_skips_to_the_newest() {
        let mut t = Tracker::default();
        let now = Instant::now();
        t.update(&media(0, 3, false), &base(), now).unwrap();
        // Two at once (a slow reload) are both taken.
        let u = t.update(&media(0, 5, false), &base(), now).unwrap();
        assert_eq!(u.new.iter().map(|s| s.seq).collect::<Vec<_>>(), [3, 4]);
        // Five held back by a stalled playlist: only the newest.
        let u = t.update(&media(0, 10, false), &base(), now).unwrap();
        assert_eq!(u.new.iter().map(|s| s.seq).collect::<Vec<_>>(), [9]);
        assert_eq!(u.skipped, 4);
        assert!(u.new[0].discontinuity);
    }

    #[test]
    fn a_sequence_that_goes_back_restarts_at_the_edge() {
        let mut t = Tracker::default();
        let now = Instant::now();
        t.update(&media(100, 3, false), &base(), now).unwrap();
        let u = t.update(&media(0, 2, false), &base(), now).unwrap();
        assert_eq!(u.new.iter().map(|s| s.seq).collect::<Vec<_>>(), [1]);
        assert!(u.new[0].discontinuity);
    }

    #[test]
    fn an_empty_live_playlist_takes_its_first_segment_when_it_comes() {
        let mut t = Tracker::default();
        let now = Instant::now();
        let u = t.update(&media(0, 0, false), &base(), now).unwrap();
        assert!(u.new.is_empty());
        let u = t.update(&media(0, 2, false), &base(), now).unwrap();
        assert_eq!(u.new.iter().map(|s| s.seq).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn end_list_and_stall_are_noticed() {
        let mut t = Tracker::default();
        let now = Instant::now();
        let u = t.update(&media(0, 3, true), &base(), now).unwrap();
        assert!(u.ended);
        assert!(!t.is_stalled(now + Duration::from_secs(6)));
        t.update(&media(0, 3, false), &base(), now + Duration::from_secs(6))
            .unwrap();
        assert!(t.is_stalled(now + Duration::from_millis(6_001)));
    }

    #[test]
    fn reloads_wait_for_the_next_segment_then_poll() {
        let mut t = Tracker::default();
        let now = Instant::now();
        t.update(&media(0, 3, false), &base(), now).unwrap();
        // The cadence is not known yet: poll.
        assert_eq!(t.next_reload(now), Duration::from_millis(125));
        let grew = now + Duration::from_millis(700);
        t.update(&media(0, 4, false), &base(), grew).unwrap();
        // The next segment is due 2 s after the last appeared: sleep until 250 ms before.
        assert_eq!(t.next_reload(grew), Duration::from_millis(1_750));
        assert_eq!(
            t.next_reload(grew + Duration::from_millis(1_000)),
            Duration::from_millis(750)
        );
        // Due or late: poll.
        assert_eq!(
            t.next_reload(grew + Duration::from_millis(2_100)),
            Duration::from_millis(125)
        );
    }

    #[test]
    fn program_date_times_are_read_as_ffmpeg_and_rfc_3339_write_them() {
        // FFmpeg 5.1's hls muxer with `-hls_flags program_date_time`, as it wrote it.
        let text = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n\
            #EXT-X-MEDIA-SEQUENCE:0\n\
            #EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-12-05T19:03:01.088+0000\ns0.ts\n\
            #EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:03:03.088+02:00\ns1.ts\n\
            #EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-12-05T19:03:05.088Z\ns2.ts\n\
            #EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:1796497387\ns3.ts\n\
            #EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-12-05T19:03:09.088\ns4.ts\n";
        let Ok(Parsed::Media(m)) = parse(text) else {
            panic!("not a media playlist")
        };
        let at = |ms: u64| Some(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        let dates: Vec<_> = m.segments.iter().map(program_date_time).collect();
        assert_eq!(
            dates,
            [
                at(1_796_497_381_088),
                at(1_796_497_383_088),
                at(1_796_497_385_088),
                // Not a date-time, and one without a zone: not believed.
                None,
                None,
            ]
        );
    }

    #[test]
    fn chooses_the_best_variant_and_its_audio_rendition() {
        let text = "#EXTM3U\n\
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/en.m3u8\"\n\
            #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO=\"aud\"\nlow.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,AUDIO=\"aud\"\nhigh.m3u8\n\
            #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=9000000,URI=\"iframes.m3u8\"\n";
        let Parsed::Master(m) = parse(text.as_bytes()).unwrap() else {
            panic!("media")
        };
        let base = url::Url::parse("https://cdn.example/live/master.m3u8").unwrap();
        let c = choose(&m, &base).unwrap();
        assert_eq!(c.main.as_str(), "https://cdn.example/live/high.m3u8");
        assert_eq!(
            c.audio.map(|u| u.to_string()).as_deref(),
            Some("https://cdn.example/live/audio/en.m3u8")
        );
    }

    #[test]
    fn refuses_what_it_cannot_play_with_a_plain_reason() {
        let bad = |text: &str| parse(text.as_bytes()).unwrap_err().to_string();
        assert!(
            bad("<html>nope</html>").contains("#EXTM3U"),
            "{}",
            bad("<html>")
        );
        let huge = format!("#EXTM3U\n{}", "#".repeat(MAX_PLAYLIST_BYTES));
        assert!(bad(&huge).contains("larger than"));
        let enc = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:2,\na.ts\n";
        let Parsed::Media(m) = parse(enc.as_bytes()).unwrap() else {
            panic!()
        };
        let e = Tracker::default()
            .update(&m, &base(), Instant::now())
            .unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
        let file = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n";
        let Parsed::Media(m) = parse(file.as_bytes()).unwrap() else {
            panic!()
        };
        let e = Tracker::default()
            .update(&m, &base(), Instant::now())
            .unwrap_err();
        assert!(e.to_string().contains("only http and https"), "{e}");
        assert!(!e.to_string().contains("SECRET"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let sample = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:00Z\n#EXTINF:2.0,\na.ts\n#EXT-X-STREAM-INF:BANDWIDTH=1\nb.m3u8\n";
        for _ in 0..2_000 {
            let mut bytes = sample.as_bytes().to_vec();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % bytes.len();
                bytes[i] = (seed >> 32) as u8;
            }
            if let Ok(Parsed::Media(m)) = parse(&bytes) {
                let _ = Tracker::default().update(&m, &base(), Instant::now());
            }
        }
    }
}
