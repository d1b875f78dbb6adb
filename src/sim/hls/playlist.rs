//! Live HLS media playlists as text: a pure function of what is listed, written as
//! FFmpeg's hls muxer writes them with `-hls_flags program_date_time` (FFmpeg 5.1):
//! `#EXTINF`, then `#EXT-X-PROGRAM-DATE-TIME` with milliseconds and the zone as `+0000`
//! (ISO 8601's basic form, which a strict RFC 3339 reader refuses), then the URI.

use std::fmt::Write as _;

use super::media::HlsKind;
use crate::sim::clock::rfc3339_ms;

/// One listed segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its media sequence number (also its file name, `{seq}.ts`).
    pub seq: u64,
    /// Wall-clock capture time of its first frame or sample, ms since the Unix epoch.
    pub pdt_ms: u64,
    /// Its duration in microseconds.
    pub duration_us: u64,
}

/// What a playlist lists: consecutive segments from `media_sequence` on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    /// `#EXT-X-MEDIA-SEQUENCE`: the first entry's number, or the number the first segment
    /// to come will have when there is none yet.
    pub media_sequence: u64,
    pub entries: Vec<Entry>,
}

/// `#EXT-X-TARGETDURATION`, in seconds, unless a segment is longer (it never is by more
/// than an audio frame, which rounds down to this).
pub(crate) const TARGET_DURATION_S: u64 = 2;

/// A program date-time as FFmpeg writes it: `2026-06-13T11:54:41.836+0000`.
fn program_date_time(ms: u64) -> String {
    let utc = rfc3339_ms(ms);
    format!("{}+0000", utc.strip_suffix('Z').unwrap_or(&utc))
}

/// Seconds with three decimals, rounded to the millisecond.
fn seconds(us: u64) -> String {
    let ms = us.saturating_add(500) / 1000;
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The playlist of `kind` listing `listing`; segment URIs are relative
/// (`{kind}/{seq}.ts?token={token}`), `ended` appends `#EXT-X-ENDLIST`. `token` must be
/// URL-safe already (the simulator's tokens are base64url).
pub(crate) fn render(kind: HlsKind, listing: &Listing, ended: bool, token: &str) -> String {
    // EXTINF rounded to the nearest second must not exceed the target duration.
    let longest_s = listing
        .entries
        .iter()
        .map(|e| e.duration_us.saturating_add(500_000) / 1_000_000)
        .max()
        .unwrap_or(0);
    let target = TARGET_DURATION_S.max(longest_s);
    let mut out = String::with_capacity(128 + listing.entries.len() * 160);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", listing.media_sequence);
    for e in &listing.entries {
        let _ = writeln!(out, "#EXTINF:{},", seconds(e.duration_us));
        let _ = writeln!(
            out,
            "#EXT-X-PROGRAM-DATE-TIME:{}",
            program_date_time(e.pdt_ms)
        );
        let _ = writeln!(out, "{}/{}.ts?token={token}", kind.name(), e.seq);
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}
