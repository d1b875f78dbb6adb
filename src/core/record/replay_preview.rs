//! Replaying a recorded Chaser preview (a `preview` track): its `Message` records through
//! the live session's [`FrameDecoder`].
//!
//! A `Message` record is a flag byte ([`TEXT`] or [`BINARY`]) then one WebSocket message.
//! The live driver records every text message as it handles it (redacted) and every frame
//! when its decoder applied it, so the file holds the frames the live view showed, at the
//! moments it showed them. Each frame is a whole JPEG or PNG, its own keyframe: the picture
//! at a moment is the last frame recorded by then that decodes (one that does not leaves
//! the one before, as it did live). No `Keyframe` records are needed.

use std::borrow::Cow;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::format::Kind;
use super::player::TrackPlayer;
use super::reader::Reader;
use super::replay::ReplayError;
use crate::core::frame::Framebuffer;
use crate::core::source::preview::{FrameDecoder, ImageFormat, ServerMessage};

/// A `Message` record's flag: a text message follows.
pub const TEXT: u8 = 1;
/// A `Message` record's flag: a binary message follows.
pub const BINARY: u8 = 2;

/// A `Message` record's payload: `flag`, then the message.
pub fn message_payload(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(1 + message.len());
    payload.push(flag);
    payload.extend_from_slice(message);
    payload
}

/// One recorded WebSocket message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordedMessage<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

/// Reads a `Message` record's payload; the record is at `offset` in the file.
pub fn parse_message(payload: &[u8], offset: u64) -> Result<RecordedMessage<'_>, ReplayError> {
    match payload.split_first() {
        Some((&TEXT, text)) => std::str::from_utf8(text)
            .map(RecordedMessage::Text)
            .map_err(|e| bad_record(offset, &format!("a text Message record is not UTF-8 ({e})"))),
        Some((&BINARY, bytes)) => Ok(RecordedMessage::Binary(bytes)),
        Some((flag, _)) => Err(bad_record(
            offset,
            &format!("a Message record has flag {flag} (1 text or 2 binary expected)"),
        )),
        None => Err(bad_record(offset, "a Message record is empty")),
    }
}

/// A record that checks out but whose payload is not what its kind says, at `offset`.
pub(crate) fn bad_record(offset: u64, what: &str) -> ReplayError {
    ReplayError::BadRecord {
        offset,
        what: what.to_string(),
    }
}

/// Whether a recorded message is a frame (decoding says whether it is a good one).
fn is_frame(message: RecordedMessage<'_>) -> bool {
    #[derive(Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
    }
    match message {
        RecordedMessage::Binary(bytes) => ImageFormat::sniff(bytes).is_some(),
        RecordedMessage::Text(text) => serde_json::from_str::<Typed<'_>>(text)
            .is_ok_and(|t| t.kind.as_deref() == Some("frame")),
    }
}

/// A recorded frame: when it was shown and where its record is.
#[derive(Clone, Copy, Debug)]
struct Entry {
    t_us: u64,
    offset: u64,
}

/// A recording's preview track, played.
pub struct PreviewPlayer {
    reader: Reader<File>,
    track: u8,
    frames: Vec<Entry>,
    /// Where the next frames are looked for (the file's end when it was last read).
    scan_from: u64,
    /// Frames recorded at or before the present position.
    passed: usize,
    /// The frame shown.
    shown: Option<usize>,
    position_us: u64,
    decoder: FrameDecoder,
    changed: bool,
}

/// Opens the preview track `track` of the recording at `path`.
pub fn open_preview_player(path: &Path, track: u8) -> Result<PreviewPlayer, ReplayError> {
    PreviewPlayer::open(path, track)
}

/// The picture of the recording's preview track at `at_us`.
pub fn preview_picture_at(path: &Path, track: u8, at_us: u64) -> Result<Framebuffer, ReplayError> {
    let mut player = PreviewPlayer::open(path, track)?;
    player.seek(at_us)?;
    player.picture().cloned().ok_or(ReplayError::NoPicture {
        at_s: at_us as f64 / 1e6,
    })
}

impl PreviewPlayer {
    /// Reads the track's records once, noting where each frame is.
    pub fn open(path: &Path, track: u8) -> Result<Self, ReplayError> {
        let reader = Reader::open(File::open(path)?)?;
        let scan_from = reader.position();
        let mut player = PreviewPlayer {
            reader,
            track,
            frames: Vec::new(),
            scan_from,
            passed: 0,
            shown: None,
            position_us: 0,
            decoder: FrameDecoder::new(),
            changed: false,
        };
        player.scan()?;
        Ok(player)
    }

    /// Notes the frames recorded from `scan_from` to the file's end.
    fn scan(&mut self) -> Result<(), ReplayError> {
        self.reader.seek_to(self.scan_from);
        while let Some(record) = self.reader.next_record()? {
            let head = record.head;
            if head.track != self.track || head.known_kind() != Some(Kind::Message) {
                continue;
            }
            if is_frame(parse_message(&record.payload, head.offset)?) {
                self.frames.push(Entry {
                    t_us: head.t_us,
                    offset: head.offset,
                });
            }
        }
        self.scan_from = self
            .reader
            .torn_at()
            .unwrap_or_else(|| self.reader.position());
        Ok(())
    }

    /// Frames in the track.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Shows the newest frame recorded by `at_us` that decodes, among those not yet passed.
    fn play_to(&mut self, at_us: u64) -> Result<(), ReplayError> {
        let end = self.frames.partition_point(|e| e.t_us <= at_us);
        for i in (self.passed..end).rev() {
            if self.decode(i)? {
                self.shown = Some(i);
                self.changed = true;
                break;
            }
        }
        self.passed = self.passed.max(end);
        self.position_us = at_us;
        Ok(())
    }

    /// Decodes frame `i`; false if it does not decode (as it did not live).
    fn decode(&mut self, i: usize) -> Result<bool, ReplayError> {
        let entry = self.frames[i];
        self.reader.seek_to(entry.offset);
        let record = match self.reader.next_record()? {
            Some(r) if r.head.offset == entry.offset && r.head.track == self.track => r,
            _ => return Err(bad_record(entry.offset, "the frame's record is gone")),
        };
        let parsed = match parse_message(&record.payload, entry.offset)? {
            RecordedMessage::Text(text) => crate::core::source::preview::parse_text(text),
            RecordedMessage::Binary(bytes) => crate::core::source::preview::parse_binary(bytes),
        };
        Ok(match parsed {
            Ok(ServerMessage::Frame(frame)) => self.decoder.decode(&frame).is_ok(),
            _ => false,
        })
    }
}

impl TrackPlayer for PreviewPlayer {
    fn advance_to(&mut self, at_us: u64) -> Result<(), ReplayError> {
        if at_us < self.position_us {
            return self.seek(at_us);
        }
        self.play_to(at_us)
    }

    fn seek(&mut self, at_us: u64) -> Result<(), ReplayError> {
        let before = self.shown;
        self.decoder = FrameDecoder::new();
        self.shown = None;
        self.passed = 0;
        self.play_to(at_us)?;
        self.changed = self.shown != before;
        Ok(())
    }

    fn picture(&self) -> Option<&Framebuffer> {
        self.shown.and(self.decoder.picture())
    }

    fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    fn next_change_us(&mut self) -> Option<u64> {
        self.frames.get(self.passed).map(|e| e.t_us)
    }

    fn refresh(&mut self, _: &Arc<super::index::Index>) -> Result<(), ReplayError> {
        self.reader.grow()?;
        self.scan()
    }
}

#[cfg(test)]
mod tests {
    use super::super::writer;
    use super::super::{TrackSink, format::Kind};
    use super::*;

    fn jpeg(w: u16, h: u16, grey: u8) -> Vec<u8> {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(
                &vec![grey; usize::from(w) * usize::from(h) * 3],
                w,
                h,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        out
    }

    fn text_frame(jpeg: &[u8]) -> String {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(jpeg);
        serde_json::json!({"type": "frame", "seq": 1, "data": data}).to_string()
    }

    /// Writes `messages` (stamp, flag, bytes) to track 0 of a new recording.
    fn recording(dir: &Path, messages: &[(u64, u8, Vec<u8>)]) -> std::path::PathBuf {
        let path = dir.join("p.lkrec");
        let (sink, w) = writer::create(&path, &serde_json::json!({})).unwrap();
        let track = TrackSink::new(sink, 0);
        track.put_json(Kind::Connect, &serde_json::json!({"protocol": "preview"}));
        for (t, flag, bytes) in messages {
            track
                .sink
                .put_at(Kind::Message, 0, *t, message_payload(*flag, bytes));
        }
        drop(track);
        w.finish();
        path
    }

    #[test]
    fn each_moment_shows_the_last_frame_that_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (jpeg(16, 8, 40), jpeg(16, 8, 200));
        let mut cut = b.clone();
        cut.truncate(b.len() / 2);
        let path = recording(
            dir.path(),
            &[
                (
                    1_000,
                    TEXT,
                    br#"{"type":"url","url":"https://x/"}"#.to_vec(),
                ),
                (2_000, TEXT, text_frame(&a).into_bytes()),
                (3_000, BINARY, b.clone()),
                (4_000, BINARY, cut),
                (5_000, TEXT, b"not json".to_vec()),
            ],
        );
        let grey = |fb: &Framebuffer| fb.pixels()[0];
        let mut p = open_preview_player(&path, 0).unwrap();
        assert_eq!(p.frame_count(), 3);
        assert_eq!(p.next_change_us(), Some(2_000));
        p.advance_to(1_500).unwrap();
        assert!(p.picture().is_none() && !p.take_changed());
        p.advance_to(2_500).unwrap();
        assert!(p.take_changed());
        assert!(grey(p.picture().unwrap()).abs_diff(40) < 4);
        p.advance_to(9_000).unwrap();
        // The cut frame does not decode: the one before it stays.
        assert!(grey(p.picture().unwrap()).abs_diff(200) < 4);
        assert_eq!(p.next_change_us(), None);
        p.seek(2_000).unwrap();
        assert!(p.take_changed());
        assert!(grey(p.picture().unwrap()).abs_diff(40) < 4);
        let fb = preview_picture_at(&path, 0, 4_500).unwrap();
        assert!(grey(&fb).abs_diff(200) < 4);
        assert!(matches!(
            preview_picture_at(&path, 0, 10),
            Err(ReplayError::NoPicture { .. })
        ));
    }

    #[test]
    fn a_recording_still_being_written_plays_on_after_a_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.lkrec");
        let (sink, w) = writer::create(&path, &serde_json::json!({})).unwrap();
        sink.put_at(
            Kind::Message,
            0,
            1_000,
            message_payload(BINARY, &jpeg(16, 8, 40)),
        );
        sink.flush();
        let mut p = open_preview_player(&path, 0).unwrap();
        p.advance_to(5_000).unwrap();
        assert_eq!(p.frame_count(), 1);
        sink.put_at(
            Kind::Message,
            0,
            3_000,
            message_payload(BINARY, &jpeg(16, 8, 200)),
        );
        sink.flush();
        p.refresh(&Arc::default()).unwrap();
        assert_eq!(p.frame_count(), 2);
        p.seek(4_000).unwrap();
        assert!(p.picture().unwrap().pixels()[0].abs_diff(200) < 4);
        drop(sink);
        w.finish();
    }

    #[test]
    fn a_bad_message_record_is_named_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = recording(dir.path(), &[(5, 7, b"?".to_vec())]);
        let err = open_preview_player(&path, 0).err().unwrap().to_string();
        assert!(err.contains("at byte ") && err.contains("flag 7"), "{err}");
        assert!(parse_message(&[], 9).is_err());
        assert!(parse_message(&[TEXT, 0xff], 9).is_err());
    }
}
