//! Replaying a recorded HLS stream (an `hls-video` track): its `Segment` records through the
//! live session's MPEG-TS demuxer, H.264 decoder and RGBA conversion
//! ([`crate::core::source::hls::decode`]).
//!
//! A `Segment` record is a `u32` JSON length, the JSON ([`SegmentHeader`]), then the
//! segment's MPEG-TS bytes as they came. The live session stamps a segment when the view
//! began to show it and, once the view has moved on from it, writes an `Event`
//! ([`FramesShown`]) saying when each of its frames was shown. A replay shows each decoded
//! frame then, and skips the frames the live view skipped: what the live view showed at a
//! moment is what the replay shows. Without that event (the recording was cut during the
//! segment) a frame is shown at its segment's stamp plus its timestamp within the
//! segment, unless that is at or after the next segment's stamp.
//!
//! Segments are self-contained (each begins with its own PAT, PMT and, from every producer
//! Lookout knows, a keyframe), so a seek starts decoding at the segment holding the moment,
//! or up to three before it when that one yields no picture by then. No `Keyframe`
//! records are needed. Each connection (`Connect`) is decoded afresh, as it was live.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use super::format::Kind;
use super::player::TrackPlayer;
use super::reader::Reader;
use super::replay::ReplayError;
use super::replay_preview::bad_record;
use crate::core::frame::Framebuffer;
use crate::core::source::hls::HlsError;
use crate::core::source::hls::decode::{RgbaConverter, open_segments, segment_of, video_stream};
use crate::core::source::hls::fetch::MAX_SEGMENT_BYTES;

/// Longest segment header accepted, in bytes.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Consecutive undecodable packets after which a connection's stream is given up, as live.
const MAX_BAD_PACKETS: u32 = 200;
/// How many segments before the one holding a moment a seek may start at.
const SEEK_BACK: usize = 3;

/// What a `Segment` record says of its segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentHeader {
    /// Its media sequence number.
    pub seq: u64,
    /// Its `#EXTINF` duration.
    pub duration_s: f64,
    /// Its `EXT-X-PROGRAM-DATE-TIME`, when the playlist gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdt_unix_ms: Option<u64>,
    /// It follows a discontinuity (or a segment that could not be fetched).
    #[serde(default)]
    pub discontinuity: bool,
}

/// The `Event` type saying when a segment's frames were shown.
pub const FRAMES_EVENT: &str = "hls_frames";

/// An `Event` `{"type":"hls_frames","seq","ts":[…],"at_us":[…]}`: the shown frames of the
/// connection's segment `seq`, by timestamp (the stream's time base), and when each was
/// shown (microseconds since the recording began).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FramesShown {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub seq: u64,
    pub ts: Vec<i64>,
    pub at_us: Vec<u64>,
}

/// [`FramesShown`] as read back.
#[derive(Deserialize)]
struct FramesRead {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    ts: Vec<i64>,
    #[serde(default)]
    at_us: Vec<u64>,
}

/// A `Segment` record's payload.
pub fn segment_payload(header: &SegmentHeader, bytes: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap_or_default();
    let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
    let mut payload = Vec::with_capacity(4 + json.len() + bytes.len());
    payload.extend_from_slice(&len.to_le_bytes());
    payload.extend_from_slice(&json);
    payload.extend_from_slice(bytes);
    payload
}

/// Reads a `Segment` record's payload (the record being at `offset`): its header and its
/// bytes, every length checked against what is there.
pub fn split_segment(payload: &[u8], offset: u64) -> Result<(SegmentHeader, &[u8]), ReplayError> {
    let Some((len, rest)) = payload.split_first_chunk::<4>() else {
        return Err(bad_record(
            offset,
            "a Segment record is shorter than its header length",
        ));
    };
    let len = u32::from_le_bytes(*len) as usize;
    if len > rest.len().min(MAX_HEADER_BYTES) {
        return Err(bad_record(
            offset,
            &format!(
                "a Segment record claims a {len}-byte header but holds {} bytes",
                rest.len()
            ),
        ));
    }
    let (json, bytes) = rest.split_at(len);
    let header = serde_json::from_slice(json).map_err(|e| ReplayError::BadJson {
        offset,
        detail: e.to_string(),
    })?;
    if bytes.len() > MAX_SEGMENT_BYTES {
        return Err(bad_record(
            offset,
            &format!("a segment of {} bytes is over the limit", bytes.len()),
        ));
    }
    Ok((header, bytes))
}

/// A recorded segment: when the live view began to show it and where its record is.
#[derive(Clone, Debug)]
pub(super) struct Seg {
    pub t_us: u64,
    pub offset: u64,
    /// Which connection it came on.
    pub conn: u32,
    /// When its frames were shown (timestamp, when), by timestamp, if the file says.
    shown: Option<Vec<(i64, u64)>>,
}

/// Where each segment begins in the byte stream fed to the demuxer.
#[derive(Debug)]
pub(super) struct FeedMark {
    start: u64,
    pub seg: usize,
    pub first_ts: Option<i64>,
}

/// What the feed (read inside FFmpeg) and the player share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub marks: Vec<FeedMark>,
    /// Why the feed stopped early.
    pub error: Option<ReplayError>,
}

pub(super) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// A demuxer reading a [`Feed`], and what the feed shares with its reader.
pub(super) type Fed = (ffmpeg::format::context::Input, Arc<Mutex<Shared>>);

/// Recorded segments read one after another, as the live decoder reads fetched ones.
pub(super) struct Feed {
    reader: Reader<File>,
    /// (segment, record offset), in order.
    segs: Vec<(usize, u64)>,
    next: usize,
    payload: Vec<u8>,
    at: usize,
    offset: u64,
    shared: Arc<Mutex<Shared>>,
}

impl Feed {
    /// Opens the demuxer on the segments of `segs[from]`'s connection from `from` on;
    /// `None` if they hold nothing. The marks say where each segment began.
    pub fn open(path: &Path, segs: &[Seg], from: usize) -> Result<Option<Fed>, ReplayError> {
        let offset = segs[from].offset;
        let conn = segs[from].conn;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let feed = Feed {
            reader: Reader::open(File::open(path)?)?,
            segs: (from..segs.len())
                .take_while(|&i| segs[i].conn == conn)
                .map(|i| (i, segs[i].offset))
                .collect(),
            next: 0,
            payload: Vec::new(),
            at: 0,
            offset: 0,
            shared: shared.clone(),
        };
        let input = open_segments(feed).map_err(|e| hls_error(offset, &e))?;
        if let Some(e) = lock(&shared).error.take() {
            return Err(e);
        }
        Ok(input.map(|input| (input, shared)))
    }

    fn load(&mut self, seg: usize, offset: u64) -> Result<(), ReplayError> {
        self.reader.seek_to(offset);
        let record = match self.reader.next_record()? {
            Some(r) if r.head.offset == offset && r.head.known_kind() == Some(Kind::Segment) => r,
            _ => return Err(bad_record(offset, "the segment's record is gone")),
        };
        let body = split_segment(&record.payload, offset)?.1.len();
        self.at = record.payload.len() - body;
        self.payload = record.payload;
        lock(&self.shared).marks.push(FeedMark {
            start: self.offset,
            seg,
            first_ts: None,
        });
        Ok(())
    }
}

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.payload.len() {
            let Some(&(seg, offset)) = self.segs.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            if let Err(e) = self.load(seg, offset) {
                lock(&self.shared).error = Some(e);
                self.segs.clear();
                return Ok(0);
            }
        }
        let n = buf.len().min(self.payload.len() - self.at);
        buf[..n].copy_from_slice(&self.payload[self.at..self.at + n]);
        self.at += n;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Notes the segment a packet came from's first timestamp (of the packet's kind), as the
/// live decoder does.
pub(super) fn mark(shared: &Mutex<Shared>, packet: &ffmpeg::Packet) {
    let ts = packet.pts().or(packet.dts());
    let mut shared = lock(shared);
    let pos = u64::try_from(packet.position()).ok();
    let mark = match pos {
        Some(pos) => shared.marks.iter_mut().rev().find(|m| m.start <= pos),
        None => shared.marks.last_mut(),
    };
    if let (Some(mark), Some(ts)) = (mark, ts)
        && mark.first_ts.is_none()
    {
        mark.first_ts = Some(ts);
    }
}

/// The demuxer's next packet and its stream's index; `None` at the end of the feed, the
/// feed's error if it stopped on one.
pub(super) fn next_packet(
    input: &mut ffmpeg::format::context::Input,
    shared: &Mutex<Shared>,
) -> Result<Option<(usize, ffmpeg::Packet)>, ReplayError> {
    let next = input.packets().next().map(|(s, p)| (s.index(), p));
    match lock(shared).error.take() {
        Some(e) => Err(e),
        None => Ok(next),
    }
}

/// One connection's segments being decoded, from some segment on.
struct Run {
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::codec::decoder::Video,
    stream: usize,
    time_base: f64,
    shared: Arc<Mutex<Shared>>,
    eof: bool,
    flushed: bool,
    wait_key: bool,
    bad: u32,
}

/// A decoded frame not yet shown.
struct Next {
    frame: ffmpeg::frame::Video,
    show_us: u64,
    seg: usize,
}

pub(super) fn hls_error(offset: u64, e: &HlsError) -> ReplayError {
    bad_record(
        offset,
        &format!("the recorded HLS stream does not decode: {e}"),
    )
}

impl Run {
    /// Starts decoding at segment `from`, on to the end of its connection; `None` if
    /// there is nothing to decode.
    fn start(path: &Path, segs: &[Seg], from: usize) -> Result<Option<Run>, ReplayError> {
        let offset = segs[from].offset;
        let Some((input, shared)) = Feed::open(path, segs, from)? else {
            return Ok(None);
        };
        let Some((decoder, stream, time_base)) =
            video_stream(&input).map_err(|e| hls_error(offset, &e))?
        else {
            return Err(bad_record(offset, "the recorded HLS stream has no video"));
        };
        Ok(Some(Run {
            input,
            decoder,
            stream,
            time_base,
            shared,
            eof: false,
            flushed: false,
            wait_key: true,
            bad: 0,
        }))
    }

    /// The next decoded frame, decoding as the live decoder does; `None` at the end.
    fn next_frame(&mut self) -> Result<Option<ffmpeg::frame::Video>, ReplayError> {
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            if self.decoder.receive_frame(&mut frame).is_ok() {
                return Ok(Some(frame));
            }
            if self.flushed {
                return Ok(None);
            }
            if self.eof {
                let _ = self.decoder.send_eof();
                self.flushed = true;
                continue;
            }
            let Some((index, packet)) = next_packet(&mut self.input, &self.shared)? else {
                self.eof = true;
                continue;
            };
            if index != self.stream {
                continue;
            }
            mark(&self.shared, &packet);
            if self.wait_key && !packet.is_key() {
                continue;
            }
            self.wait_key = false;
            if self.decoder.send_packet(&packet).is_err() {
                self.bad += 1;
                // Live, the stream is given up and reopened here: its frames end.
                self.eof = self.bad > MAX_BAD_PACKETS;
                self.decoder.flush();
                self.wait_key = true;
            } else {
                self.bad = 0;
            }
        }
    }

    /// When a frame is shown, and its segment; `None` if the live view did not show it.
    fn timed(&self, frame: &ffmpeg::frame::Video, segs: &[Seg]) -> Option<(u64, usize)> {
        let shared = lock(&self.shared);
        let ts = frame.timestamp();
        let (i, first) = segment_of(shared.marks.iter().map(|m| m.first_ts), ts)?;
        let seg = shared.marks[i].seg;
        if let Some(shown) = &segs[seg].shown {
            let ts = ts?;
            let at = shown.binary_search_by_key(&ts, |f| f.0).ok()?;
            return Some((shown[at].1, seg));
        }
        let into = ts.map_or(0.0, |ts| ts.saturating_sub(first) as f64 * self.time_base);
        let into_us = (into.clamp(0.0, 600.0) * 1e6) as u64;
        let show_us = segs[seg].t_us.saturating_add(into_us);
        // Due when the live view had moved on: skipped there.
        let superseded = segs.get(seg + 1).is_some_and(|later| show_us >= later.t_us);
        (!superseded).then_some((show_us, seg))
    }
}

/// A recording's HLS track, played.
pub struct HlsPlayer {
    path: PathBuf,
    scan: Scan,
    segs: Vec<Seg>,
    run: Option<Run>,
    /// Past the last segment of the current (or last) run's connection.
    run_end: usize,
    next: Option<Next>,
    /// The frame shown, and whether it is not yet converted.
    held: Option<ffmpeg::frame::Video>,
    fresh: bool,
    /// The segment of the frame shown.
    held_seg: Option<usize>,
    picture: Option<Framebuffer>,
    position_us: u64,
    changed: bool,
}

/// Where the track's segments are read from, on from where the file last ended.
pub(super) struct Scan {
    reader: Reader<File>,
    track: u8,
    /// Connections seen so far.
    conn: u32,
    /// This connection's segments by sequence number.
    by_seq: std::collections::HashMap<u64, usize>,
}

impl Scan {
    /// Reads track `track` of the recording at `path` from its start.
    pub fn open(path: &Path, track: u8) -> Result<Self, ReplayError> {
        let mut reader = Reader::open(File::open(path)?)?;
        reader.seek_to(0);
        Ok(Scan {
            reader,
            track,
            conn: 0,
            by_seq: std::collections::HashMap::new(),
        })
    }

    /// Notes the segments (and when their frames were shown) recorded from the reader's
    /// position to the file's end.
    pub fn more(&mut self, segs: &mut Vec<Seg>) -> Result<(), ReplayError> {
        let (track, conn, by_seq) = (self.track, &mut self.conn, &mut self.by_seq);
        while let Some(record) = self.reader.next_record()? {
            let head = record.head;
            if head.track != track {
                continue;
            }
            match head.known_kind() {
                Some(Kind::Connect) => {
                    *conn = conn.saturating_add(1);
                    by_seq.clear();
                }
                Some(Kind::Segment) => {
                    let (header, _) = split_segment(&record.payload, head.offset)?;
                    by_seq.insert(header.seq, segs.len());
                    segs.push(Seg {
                        t_us: head.t_us,
                        offset: head.offset,
                        conn: *conn,
                        shown: None,
                    });
                }
                Some(Kind::Event) => {
                    let Some(frames) = frames_shown(&record.payload, head.offset)? else {
                        continue;
                    };
                    if let Some(&i) = by_seq.get(&frames.seq) {
                        let mut shown: Vec<(i64, u64)> =
                            frames.ts.into_iter().zip(frames.at_us).collect();
                        shown.sort_unstable();
                        shown.dedup_by_key(|f| f.0);
                        segs[i].shown = Some(shown);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Opens the HLS track `track` of the recording at `path`.
pub fn open_hls_player(path: &Path, track: u8) -> Result<HlsPlayer, ReplayError> {
    HlsPlayer::open(path, track)
}

/// The picture of the recording's HLS track at `at_us`.
pub fn hls_picture_at(path: &Path, track: u8, at_us: u64) -> Result<Framebuffer, ReplayError> {
    let mut player = HlsPlayer::open(path, track)?;
    player.seek(at_us)?;
    player.picture.ok_or(ReplayError::NoPicture {
        at_s: at_us as f64 / 1e6,
    })
}

/// An `Event` payload, if it is an [`FramesShown`]; an error if it is one that is wrong.
fn frames_shown(payload: &[u8], offset: u64) -> Result<Option<FramesRead>, ReplayError> {
    // Most events are something else: look before parsing them whole.
    if !payload
        .windows(FRAMES_EVENT.len())
        .any(|w| w == FRAMES_EVENT.as_bytes())
    {
        return Ok(None);
    }
    let Ok(frames) = serde_json::from_slice::<FramesRead>(payload) else {
        return Ok(None);
    };
    if frames.kind != FRAMES_EVENT {
        return Ok(None);
    }
    if frames.ts.len() != frames.at_us.len() {
        return Err(bad_record(
            offset,
            &format!(
                "an {FRAMES_EVENT} event lists {} timestamps and {} moments",
                frames.ts.len(),
                frames.at_us.len()
            ),
        ));
    }
    Ok(Some(frames))
}

impl HlsPlayer {
    /// Reads the track's records once, noting where each segment is.
    pub fn open(path: &Path, track: u8) -> Result<Self, ReplayError> {
        let mut player = HlsPlayer {
            path: path.to_path_buf(),
            scan: Scan::open(path, track)?,
            segs: Vec::new(),
            run: None,
            run_end: 0,
            next: None,
            held: None,
            fresh: false,
            held_seg: None,
            picture: None,
            position_us: 0,
            changed: false,
        };
        player.scan.more(&mut player.segs)?;
        Ok(player)
    }

    /// Segments in the track.
    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }

    /// The last segment the live view had begun to show by `at_us`.
    fn segment_at(&self, at_us: u64) -> Option<usize> {
        self.segs
            .partition_point(|s| s.t_us <= at_us)
            .checked_sub(1)
    }

    fn start_run(&mut self, from: usize) -> Result<(), ReplayError> {
        let conn = self.segs[from].conn;
        self.run_end = from
            + self.segs[from..]
                .iter()
                .take_while(|s| s.conn == conn)
                .count();
        self.next = None;
        self.run = Run::start(&self.path, &self.segs, from)?;
        Ok(())
    }

    /// Decodes until a frame is waiting to be shown, or the run ends.
    fn fill_next(&mut self) -> Result<(), ReplayError> {
        while self.next.is_none() {
            let Some(run) = self.run.as_mut() else {
                return Ok(());
            };
            match run.next_frame()? {
                Some(frame) => {
                    if let Some((show_us, seg)) = run.timed(&frame, &self.segs) {
                        self.next = Some(Next {
                            frame,
                            show_us,
                            seg,
                        });
                    }
                }
                None => self.run = None,
            }
        }
        Ok(())
    }

    /// Shows the frames due by `at_us`, going on into later connections.
    fn play_to(&mut self, at_us: u64) -> Result<(), ReplayError> {
        loop {
            self.fill_next()?;
            if let Some(n) = self.next.take_if(|n| n.show_us <= at_us) {
                self.held = Some(n.frame);
                self.held_seg = Some(n.seg);
                self.fresh = true;
                continue;
            }
            if self.next.is_some() || self.run.is_some() {
                break;
            }
            // This connection is over; a later one may have begun by now.
            match self.segment_at(at_us) {
                Some(s) if s >= self.run_end => self.start_run(s)?,
                _ => break,
            }
        }
        self.position_us = at_us;
        Ok(())
    }

    /// Converts the frame shown, if it is new.
    fn convert(&mut self) -> Result<(), ReplayError> {
        if !std::mem::take(&mut self.fresh) {
            return Ok(());
        }
        if let Some(frame) = &self.held {
            let offset = self.held_seg.map_or(0, |s| self.segs[s].offset);
            let mut converter = RgbaConverter::default();
            let fb = converter
                .convert(frame)
                .map_err(|e| hls_error(offset, &e))?;
            self.picture = Some(fb.clone());
            self.changed = true;
        }
        Ok(())
    }
}

impl TrackPlayer for HlsPlayer {
    fn advance_to(&mut self, at_us: u64) -> Result<(), ReplayError> {
        let far_ahead = match (self.segment_at(at_us), self.held_seg) {
            (Some(s), Some(held)) => s > held + 2,
            (Some(_), None) => self.run.is_none() && self.next.is_none(),
            (None, _) => false,
        };
        if at_us < self.position_us || far_ahead {
            return self.seek(at_us);
        }
        self.play_to(at_us)?;
        self.convert()
    }

    fn seek(&mut self, at_us: u64) -> Result<(), ReplayError> {
        let had_picture = self.picture.is_some();
        self.run = None;
        self.next = None;
        self.held = None;
        self.held_seg = None;
        self.fresh = false;
        self.picture = None;
        self.position_us = at_us;
        let Some(s) = self.segment_at(at_us) else {
            self.changed = had_picture;
            return Ok(());
        };
        let conn = self.segs[s].conn;
        let mut from = s;
        loop {
            self.start_run(from)?;
            self.play_to(at_us)?;
            let earlier = from
                .checked_sub(1)
                .filter(|&e| s - e <= SEEK_BACK && self.segs[e].conn == conn);
            match earlier {
                Some(e) if self.held.is_none() => from = e,
                _ => break,
            }
        }
        self.convert()?;
        self.changed |= had_picture;
        Ok(())
    }

    fn picture(&self) -> Option<&Framebuffer> {
        self.picture.as_ref()
    }

    fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    fn next_change_us(&mut self) -> Option<u64> {
        if self.fill_next().is_ok()
            && let Some(n) = &self.next
        {
            return Some(n.show_us);
        }
        let position = self.position_us;
        self.segs
            .iter()
            .skip(self.run_end)
            .find(|s| s.t_us > position)
            .map(|s| s.t_us)
    }

    fn refresh(&mut self, _: &std::sync::Arc<super::index::Index>) -> Result<(), ReplayError> {
        self.scan.reader.grow()?;
        self.scan.more(&mut self.segs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_payload_round_trips() {
        let header = SegmentHeader {
            seq: 7,
            duration_s: 2.0,
            pdt_unix_ms: Some(1_796_499_040_328),
            discontinuity: false,
        };
        let payload = segment_payload(&header, b"\x47TS bytes");
        let (back, bytes) = split_segment(&payload, 0).unwrap();
        assert_eq!((back, bytes), (header, &b"\x47TS bytes"[..]));
        let json = &payload[4..payload.len() - 9];
        assert_eq!(
            std::str::from_utf8(json).unwrap(),
            r#"{"seq":7,"duration_s":2.0,"pdt_unix_ms":1796499040328,"discontinuity":false}"#
        );
    }

    #[test]
    fn bad_segment_payloads_are_named_with_their_offset() {
        let err = |payload: &[u8]| split_segment(payload, 4242).unwrap_err().to_string();
        assert!(err(b"\x01\x00").contains("at byte 4242"));
        // A header length past the payload is refused before anything is allocated.
        let e = err(b"\xff\xff\xff\xff{}");
        assert!(
            e.contains("at byte 4242") && e.contains("4294967295"),
            "{e}"
        );
        let e = err(b"\x02\x00\x00\x00{x");
        assert!(
            e.contains("byte 4242") && e.contains("not valid JSON"),
            "{e}"
        );
    }

    #[test]
    fn a_track_without_segments_has_no_picture() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.lkrec");
        let (sink, w) = super::super::writer::create(&path, &serde_json::json!({})).unwrap();
        sink.put(Kind::Connect, 0, br#"{"protocol":"hls"}"#.to_vec());
        drop(sink);
        w.finish();
        let mut p = open_hls_player(&path, 0).unwrap();
        assert_eq!(p.segment_count(), 0);
        p.advance_to(5_000_000).unwrap();
        assert!(p.picture().is_none());
        assert_eq!(p.next_change_us(), None);
        assert!(matches!(
            hls_picture_at(&path, 0, 1),
            Err(ReplayError::NoPicture { .. })
        ));
    }
}
