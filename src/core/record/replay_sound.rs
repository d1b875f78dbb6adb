//! Replaying a recording's HLS sound: the `Segment` records of its `hls-audio` track (a
//! separate audio playlist), or the sound inside its `hls-video` track's segments, through
//! the live session's MPEG-TS demuxer, AAC decoder and resampler.
//!
//! A piece of sound is due at its segment's stamp plus its timestamp within the segment.
//! A separate audio playlist's segments are stamped when their first sound was due to be
//! heard live; a picture segment's sound is placed by the segment's pictures (both are on
//! the stream's one clock). Sound that follows on from the last piece within
//! [`CONTINUOUS`] is played straight on, as it was live, so stamps that differ by a few
//! milliseconds between segments never make a click; a longer gap is silence.
//!
//! [`SoundPlayer::fill`] queues what is due up to a moment on an [`AudioSink`]: the replay
//! calls it as it plays at 1×, a little ahead of the position, and seeks it when the
//! position jumps.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ffmpeg_next as ffmpeg;

use super::index::Index;
use super::replay::ReplayError;
use super::replay_hls::{Feed, Scan, Seg, Shared, hls_error, lock, mark, next_packet};
use crate::core::audio::{AudioFormat, AudioSink};
use crate::core::source::hls::decode::{SoundConverter, segment_of};

/// Sound this close after the last piece's end is played straight on (microseconds).
pub const CONTINUOUS: u64 = 40_000;
/// Most sound queued by one [`SoundPlayer::fill`] (microseconds); what is due earlier is
/// late, and skipped.
const MAX_FILL: u64 = 1_000_000;
/// Consecutive undecodable packets after which a connection's sound is given up, as live.
const MAX_BAD_PACKETS: u32 = 200;

/// Decoded sound not yet queued.
struct Chunk {
    /// When its first sample is due (microseconds since the recording began).
    start_us: u64,
    /// Interleaved, in the output's format.
    samples: Vec<f32>,
}

/// A recording's HLS sound, played.
pub struct SoundPlayer {
    path: PathBuf,
    segs: Vec<Seg>,
    /// The sound is inside the picture's segments (placed by their pictures' times).
    muxed: bool,
    run: Option<SoundRun>,
    /// Past the last segment of the current (or last) run's connection.
    run_end: usize,
    pending: Option<Chunk>,
    /// Sound is queued up to this moment.
    queued_to: u64,
    /// Where the last piece queued ended, in its own time, unless a seek came since.
    last_end: Option<u64>,
    converter: SoundConverter,
}

/// One connection's sound being decoded, from some segment on.
struct SoundRun {
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::codec::decoder::Audio,
    stream: usize,
    time_base: f64,
    /// The stream whose first timestamp in each segment places that segment (the video's
    /// when the sound is inside the picture's segments), and its time base.
    reference: usize,
    reference_base: f64,
    shared: Arc<Mutex<Shared>>,
    eof: bool,
    flushed: bool,
    bad: u32,
}

impl SoundRun {
    /// Starts decoding the sound at segment `from`, on to the end of its connection;
    /// `None` if there is none.
    fn start(
        path: &Path,
        segs: &[Seg],
        from: usize,
        muxed: bool,
    ) -> Result<Option<SoundRun>, ReplayError> {
        let offset = segs[from].offset;
        let Some((input, shared)) = Feed::open(path, segs, from)? else {
            return Ok(None);
        };
        let Some(audio) = input.streams().best(ffmpeg::media::Type::Audio) else {
            return Ok(None);
        };
        let video = input.streams().best(ffmpeg::media::Type::Video);
        let (reference, reference_base) = match (muxed, &video) {
            (true, Some(v)) => (v.index(), f64::from(v.time_base())),
            _ => (audio.index(), f64::from(audio.time_base())),
        };
        let decoder = ffmpeg::codec::context::Context::from_parameters(audio.parameters())
            .and_then(|c| c.decoder().audio())
            .map_err(|e| {
                hls_error(
                    offset,
                    &crate::core::source::hls::HlsError::Decode(e.to_string()),
                )
            })?;
        Ok(Some(SoundRun {
            stream: audio.index(),
            time_base: f64::from(audio.time_base()),
            reference,
            reference_base,
            decoder,
            input,
            shared,
            eof: false,
            flushed: false,
            bad: 0,
        }))
    }

    /// The next decoded piece of sound; `None` at the end of the connection.
    fn next_sound(&mut self) -> Result<Option<ffmpeg::frame::Audio>, ReplayError> {
        loop {
            let mut frame = ffmpeg::frame::Audio::empty();
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
            if index == self.reference {
                mark(&self.shared, &packet);
            }
            if index != self.stream {
                continue;
            }
            if self.decoder.send_packet(&packet).is_err() {
                self.bad += 1;
                // Live, the sound is given up here.
                self.eof = self.bad > MAX_BAD_PACKETS;
            } else {
                self.bad = 0;
            }
        }
    }

    /// When a decoded piece of sound is due (microseconds since the recording began).
    fn due(&self, frame: &ffmpeg::frame::Audio, segs: &[Seg]) -> Option<u64> {
        let ts = frame.timestamp()?;
        // In the reference stream's time base (the same, 1/90000 s, in MPEG-TS).
        let ts_ref = (ts as f64 * self.time_base / self.reference_base).round() as i64;
        let shared = lock(&self.shared);
        let (i, first) = segment_of(shared.marks.iter().map(|m| m.first_ts), Some(ts_ref))?;
        let seg = &segs[shared.marks[i].seg];
        let into = ts_ref.saturating_sub(first) as f64 * self.reference_base;
        let due = seg.t_us as f64 + into.clamp(-600.0, 600.0) * 1e6;
        Some(due.max(0.0) as u64)
    }
}

impl SoundPlayer {
    /// The sound of the recording `path` (whose index is `index`), if it has any: its
    /// `hls-audio` track's, else what its `hls-video` track's segments hold.
    pub fn open(path: &Path, index: &Index) -> Result<Option<SoundPlayer>, ReplayError> {
        let track = |kind: &str| index.tracks.iter().find(|t| t.kind == kind);
        for (kind, muxed) in [("hls-audio", false), ("hls-video", true)] {
            let Some(track) = track(kind) else {
                continue;
            };
            let mut segs = Vec::new();
            Scan::open(path, track.track)?.more(&mut segs)?;
            if segs.is_empty() {
                continue;
            }
            if SoundRun::start(path, &segs, 0, muxed)?.is_none() {
                return Ok(None);
            }
            return Ok(Some(SoundPlayer {
                path: path.to_path_buf(),
                segs,
                muxed,
                run: None,
                run_end: 0,
                pending: None,
                queued_to: 0,
                last_end: None,
                converter: SoundConverter::default(),
            }));
        }
        Ok(None)
    }

    /// Sound is queued up to this moment (microseconds since the recording began).
    pub fn queued_to(&self) -> u64 {
        self.queued_to
    }

    /// Makes ready to play from `at_us`: decoding starts again one segment before the one
    /// holding the moment, so that the decoder has settled by then.
    pub fn seek(&mut self, at_us: u64) -> Result<(), ReplayError> {
        self.run = None;
        self.pending = None;
        self.last_end = None;
        self.queued_to = at_us;
        let holding = self
            .segs
            .partition_point(|s| s.t_us <= at_us)
            .saturating_sub(1);
        let Some(seg) = self.segs.get(holding) else {
            return Ok(());
        };
        let from = match holding.checked_sub(1) {
            Some(before) if self.segs[before].conn == seg.conn => before,
            _ => holding,
        };
        self.start_run(from)
    }

    fn start_run(&mut self, from: usize) -> Result<(), ReplayError> {
        let conn = self.segs[from].conn;
        self.run_end = from
            + self.segs[from..]
                .iter()
                .take_while(|s| s.conn == conn)
                .count();
        self.run = SoundRun::start(&self.path, &self.segs, from, self.muxed)?;
        Ok(())
    }

    /// The next decoded piece of sound in `format`, going on into later connections.
    fn decode(&mut self, format: AudioFormat) -> Result<Option<Chunk>, ReplayError> {
        loop {
            let Some(run) = self.run.as_mut() else {
                // On into the next connection (the first, before any seek).
                if self.run_end >= self.segs.len() {
                    return Ok(None);
                }
                self.start_run(self.run_end)?;
                continue;
            };
            let Some(frame) = run.next_sound()? else {
                self.run = None;
                continue;
            };
            if let Some(start_us) = run.due(&frame, &self.segs)
                && let Some(samples) = self.converter.convert(&frame, format)
            {
                return Ok(Some(Chunk { start_us, samples }));
            }
        }
    }

    /// Queues on `sink` the sound due from where it was queued to (or `from_us`, if that
    /// is later: what is due before is late) up to `to_us`.
    pub fn fill(
        &mut self,
        from_us: u64,
        to_us: u64,
        sink: &dyn AudioSink,
    ) -> Result<(), ReplayError> {
        let Some(format) = sink.format() else {
            return Ok(());
        };
        let rate = u64::from(format.rate.max(1));
        let channels = usize::from(format.channels.max(1));
        let us_of = |frames: usize| frames as u64 * 1_000_000 / rate;
        let frames_in = |us: u64| usize::try_from(us * rate / 1_000_000).unwrap_or(usize::MAX);
        self.queued_to = self
            .queued_to
            .max(from_us)
            .max(to_us.saturating_sub(MAX_FILL));
        let mut out = Vec::new();
        while self.queued_to < to_us {
            if self.pending.is_none() {
                self.pending = self.decode(format)?;
            }
            let Some(chunk) = self.pending.as_mut() else {
                break;
            };
            // Following on from the last piece: straight on, as it played live.
            if let Some(end) = self.last_end
                && chunk.start_us.abs_diff(end) <= CONTINUOUS
            {
                chunk.start_us = end;
            }
            let frames = chunk.samples.len() / channels;
            let end = chunk.start_us + us_of(frames);
            if end <= self.queued_to {
                self.last_end = Some(end);
                self.pending = None;
                continue;
            }
            if chunk.start_us > self.queued_to {
                let until = chunk.start_us.min(to_us);
                let silence = frames_in(until - self.queued_to) * channels;
                out.resize(out.len() + silence, 0.0);
                self.queued_to = until;
                continue;
            }
            let skip = frames_in(self.queued_to - chunk.start_us).min(frames);
            let take = frames_in(to_us - self.queued_to).max(1).min(frames - skip);
            out.extend_from_slice(&chunk.samples[skip * channels..(skip + take) * channels]);
            if skip + take == frames {
                self.queued_to = end;
                self.last_end = Some(end);
                self.pending = None;
            } else {
                chunk.samples.drain(..(skip + take) * channels);
                chunk.start_us += us_of(skip + take);
                self.queued_to = chunk.start_us;
                self.last_end = Some(chunk.start_us);
            }
        }
        if !out.is_empty() {
            sink.push(&out);
        }
        Ok(())
    }
}
