//! HLS playlists: `hls::playlist::parse` (m3u8-rs under our size and segment limits), then
//! what the follower does with each: `choose` for a master playlist, and for media
//! playlists one `Tracker` across reloads (new segments, skips, the live edge, stalls).
//!
//! Input: successive reloads of the playlist, separated by NUL bytes. Besides never
//! panicking: a reload brings at most `MAX_NEW_AT_ONCE` segments, in sequence order, with
//! http(s) URLs only, and a master playlist's choice is http(s) too.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use lookout::core::source::hls::playlist::{self, MAX_NEW_AT_ONCE, Parsed, Tracker};

fn followed(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

fuzz_target!(|data: &[u8]| {
    let base = url::Url::parse("http://127.0.0.1:9/hls/video/ws?token=SECRET").expect("a URL");
    let start = Instant::now();
    let mut tracker = Tracker::default();
    let mut last_seq = None;
    for (i, reload) in lookout_fuzz::split_text(data, 0).enumerate() {
        let now = start + Duration::from_millis(700 * i as u64);
        match playlist::parse(reload) {
            Ok(Parsed::Master(master)) => {
                if let Ok(choice) = playlist::choose(&master, &base) {
                    assert!(followed(&choice.main));
                    assert!(choice.audio.as_ref().is_none_or(followed));
                }
            }
            Ok(Parsed::Media(media)) => {
                let Ok(update) = tracker.update(&media, &base, now) else {
                    continue;
                };
                assert!(update.new.len() as u64 <= MAX_NEW_AT_ONCE);
                for segment in &update.new {
                    assert!(followed(&segment.url));
                    assert!(segment.duration > Duration::ZERO);
                }
                for pair in update.new.windows(2) {
                    assert_eq!(pair[0].seq + 1, pair[1].seq);
                }
                if let (Some(last), Some(first)) = (last_seq, update.new.first())
                    && !first.discontinuity
                {
                    assert_eq!(first.seq, last + 1, "a segment skipped without a mark");
                }
                last_seq = update.new.last().map(|s| s.seq).or(last_seq);
            }
            Err(_) => {}
        }
        let _ = (tracker.next_reload(now), tracker.is_stalled(now));
        assert!(tracker.poll_interval() <= Duration::from_millis(500));
    }
});
