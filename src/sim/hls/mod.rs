//! AgentStation's recorder in the simulator: a live HLS stream of each recording
//! workstation's synthetic desktop, encoded in-process with FFmpeg (PROVIDERS.md §2).
//!
//! - `GET /agentstation/hls/{id}/{video|audio}?token=T` → the live media playlist
//!   (`application/vnd.apple.mpegurl`): `#EXT-X-VERSION:3`, `#EXT-X-TARGETDURATION:2`,
//!   `#EXT-X-MEDIA-SEQUENCE:N`, then for each of the last [`WINDOW`](recorder::WINDOW) complete segments its
//!   `#EXTINF`, its `#EXT-X-PROGRAM-DATE-TIME` (the capture time of its first frame or
//!   sample, in FFmpeg's form: UTC, ms, zone `+0000`) and the relative URI
//!   `{kind}/{seq}.ts?token=T`, as FFmpeg's hls muxer writes them. Before the first
//!   segment the playlist lists none.
//! - `GET /agentstation/hls/{id}/{kind}/{seq}.ts?token=T` → one MPEG-TS segment
//!   (`video/mp2t`), video only or audio only, each with its own PAT/PMT; a segment stays
//!   fetchable for [`KEPT_BEHIND`](recorder::KEPT_BEHIND) segments after it leaves the window.
//! - `T` comes from `POST /v1/workstations/{id}/recorder/stream` (see
//!   `routes::agentstation`): signed, bound to the workstation and the kind, reusable
//!   until it expires (`SimConfig::agentstation_hls_token_ttl_ms`). A bad or expired token
//!   gets 403, an unknown workstation or segment 404, a playlist made gone 410.
//!
//! Media (the seed's): H.264 (libx264, preset `veryfast`, tune zerolatency, profile
//! High, level 4.1) 1280×720 at 24 fps with an IDR every 48 frames, which starts every 2 s
//! segment; AAC-LC 48 kHz stereo at a 128 kb/s target (FFmpeg's native encoder; the
//! simple sound needs far less) of a quiet hum and a beep at each agent click. Video and
//! audio share one 90 kHz timeline that starts 10 s before the recording's first frame and
//! runs on across segments (and across restarts of the encoder); the TS continuity
//! counters run on across segments too. Video segments last 2.000 s; audio segments hold
//! whole AAC frames (1024 samples), so they last 1.984 or 2.005 s (the very first also
//! holds the encoder's priming frame) and say so in `#EXTINF`. Segment `N` of both
//! playlists covers the same 2 s.
//!
//! Delay: a zero-latency producer, as `ffmpeg -tune zerolatency` is (no lookahead, no
//! B-frames): a segment is listed once the next one's first frame is encoded, tens of ms
//! after its own last frame was due, so a player that shows every frame can sit about
//! 2.2 s behind live. A producer with x264's lookahead lists each segment about 2 s later
//! and dates it all the same by its first frame's capture; the simulator does not imitate
//! that (`tests/hls_peers.rs` plays a real one).
//!
//! The timeline belongs to the workstation: segment `N` is the `N`-th 2 s since its
//! recording first started (at simulator start for `ws-demo`, at `recorder/start` for
//! others), whether or not anyone was watching. The encoder (one thread per workstation,
//! shared by all its clients, [`encoder`]) runs only while needed: it starts on
//! `recorder/start`, on a stream URL request or on a playlist request of a recording
//! workstation, renders frames from the start of the current segment on (catching up to
//! the wall clock so that its first segment is whole), then paces itself by the wall
//! clock, skipping frames (never a segment's first) when it falls more than half a second
//! behind; the first segment is listed about 2 s after `recorder/start`. It stops after
//! `SimConfig::agentstation_hls_idle_ms` without a playlist, segment or stream request,
//! when the recording stops, and at simulator shutdown (the thread is joined). Memory is
//! bounded: [`WINDOW`](recorder::WINDOW) + [`KEPT_BEHIND`](recorder::KEPT_BEHIND) segments
//! per workstation.
//!
//! Faults for the client's tests ([`HlsFault`](recorder::HlsFault), through
//! `SimHandle::agentstation_hls_fault`) and per-workstation request counters
//! ([`HlsCounters`](recorder::HlsCounters)).
//!
//! Files: [`media`] (kinds, sizes, the timeline, segments), [`recorder`] (each
//! workstation's state, playlists, segments, faults, counters; it starts and stops
//! encoders), [`encoder`] (the thread; it hands segments to a [`encoder::SegmentSink`],
//! which the recorder is), [`audio`] (the sound), [`playlist`] (the text). The routes are
//! in `routes::agentstation`. Dependencies point down: `recorder` → `encoder` → `audio` →
//! `media`; `recorder` → `playlist` → `media`.

pub(crate) mod audio;
pub(crate) mod encoder;
pub(crate) mod media;
pub(crate) mod playlist;
pub(crate) mod recorder;
#[cfg(test)]
mod tests;
