//! The decoder thread: MPEG-TS segments in, pictures and sound out, each at its time.
//!
//! Segment bytes arrive from the fetcher through a bounded channel and are read by
//! FFmpeg's MPEG-TS demuxer as one continuous stream (`SegmentReader`, custom I/O), so
//! FFmpeg never touches the network: stalls, missing segments and the end of the stream
//! are decided by our fetcher. H.264 is decoded, converted to RGBA with swscale and
//! published to the [`FrameSlot`] when the [`PlayClock`] says; AAC is decoded, resampled
//! to the output's format with swresample and queued to the [`AudioSink`] at its time.
//! When the session is recorded, each segment goes to the recording as its first picture
//! is shown (`super::record`). A replay reads the recorded segments through the same
//! demuxer and decoder: [`open_segments`], [`video_stream`], [`RgbaConverter`].

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::record::{Pending, SegmentRecorder};
use crate::core::record::TrackSink;

use bytes::Bytes;
use ffmpeg::format::context::StreamIo;
use ffmpeg::{codec, frame, media, software};
use ffmpeg_next as ffmpeg;
use tokio::sync::mpsc;

use super::HlsError;
use super::clock::{PlayClock, Verdict};
use crate::core::audio::{AudioFormat, AudioSink};
use crate::core::event::{StreamStats, Waker};
use crate::core::frame::{FrameSlot, Framebuffer};

/// Consecutive undecodable packets after which the stream is given up (and reopened).
const MAX_BAD_PACKETS: u32 = 200;
/// Recent segments remembered for mapping timestamps to capture times.
const MARKS: usize = 16;
/// Largest picture accepted from the stream.
const MAX_SIDE: u32 = 8192;

/// One fetched segment, with what is known about when it was captured.
#[derive(Clone, Debug)]
pub struct Segment {
    pub seq: u64,
    pub bytes: Bytes,
    /// When its first frame was captured (see [`super::fetch`]).
    pub capture: Instant,
    /// Whether `capture` is the playlist's own (`EXT-X-PROGRAM-DATE-TIME`) rather than
    /// estimated from when the segment appeared.
    pub exact: bool,
    /// When it was ready to decode; `None` if it was already listed when we started.
    pub arrived: Option<Instant>,
    /// The decoder must start afresh here.
    pub discontinuity: bool,
    /// Its `#EXTINF` duration.
    pub duration: Duration,
    /// Its `EXT-X-PROGRAM-DATE-TIME`, if the playlist gave one.
    pub program_date_time: Option<SystemTime>,
}

/// Where each segment starts in the continuous byte stream, and its timing.
#[derive(Debug)]
struct Mark {
    start: u64,
    capture: Instant,
    exact: bool,
    /// The first timestamp seen in this segment, per kind (0 video, 1 audio).
    first_ts: [Option<i64>; 2],
    /// The segment, until it is recorded.
    record: Option<Pending>,
    seq: u64,
    /// When recording: each shown frame's timestamp and when it was shown, until the
    /// view has moved on to a later segment.
    shown: Option<Vec<(i64, u64)>>,
}

type Marks = Arc<Mutex<VecDeque<Mark>>>;

fn lock(marks: &Marks) -> MutexGuard<'_, VecDeque<Mark>> {
    marks.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads the segments as one byte stream; end of stream when the fetcher hangs up.
struct SegmentReader {
    rx: mpsc::Receiver<Segment>,
    current: Bytes,
    offset: u64,
    marks: Marks,
    clock: Arc<PlayClock>,
    record: Option<Arc<SegmentRecorder>>,
}

impl Read for SegmentReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            let Some(seg) = self.rx.blocking_recv() else {
                return Ok(0);
            };
            if let Some(arrived) = seg.arrived {
                self.clock.segment_arrived(seg.capture, arrived);
            }
            if seg.discontinuity {
                tracing::debug!(seq = seg.seq, "HLS discontinuity");
            }
            let mut marks = lock(&self.marks);
            let record = self.record.as_ref().map(|_| {
                let (seq, duration, pdt) = (seg.seq, seg.duration, seg.program_date_time);
                Pending::new(seq, duration, pdt, seg.discontinuity, seg.bytes.clone())
            });
            marks.push_back(Mark {
                start: self.offset,
                capture: seg.capture,
                exact: seg.exact,
                first_ts: [None, None],
                shown: record.as_ref().map(|_| Vec::new()),
                record,
                seq: seg.seq,
            });
            while marks.len() > MARKS {
                // Forgotten (before any picture of it was shown, if it is not recorded
                // yet): recorded as it goes.
                if let (Some(rec), Some(old)) = (&self.record, marks.pop_front()) {
                    if let Some(pending) = old.record {
                        rec.put(pending, rec.now_us());
                    }
                    rec.put_frames(old.seq, old.shown);
                }
            }
            self.current = seg.bytes;
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        self.offset += n as u64;
        Ok(n)
    }
}

/// What the decoder tells the session.
#[derive(Debug)]
pub enum DecodeNote {
    /// The first picture is shown.
    Picture {
        width: u32,
        height: u32,
        codec: String,
    },
    /// Sound is playing (codec, rate, channels).
    Sound { codec: String },
}

/// Everything a decoder thread needs.
pub struct DecodeParts {
    pub segments: mpsc::Receiver<Segment>,
    pub clock: Arc<PlayClock>,
    /// Where pictures go; `None` for an audio-only rendition.
    pub frames: Option<Arc<FrameSlot>>,
    /// Where sound goes; `None` to ignore audio in this stream.
    pub audio: Option<Arc<dyn AudioSink>>,
    pub stats: Arc<StreamStats>,
    pub waker: Waker,
    pub notes: mpsc::Sender<DecodeNote>,
    /// Where the segments go when the session is recorded (the main stream's only).
    pub record: Option<TrackSink>,
}

/// Starts the decoder on a named thread; the receiver says how it ended.
pub fn spawn(
    parts: DecodeParts,
    name: &str,
) -> tokio::sync::oneshot::Receiver<Result<(), HlsError>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            crate::core::priority::below_the_window();
            // The clock is shared with the other playlist's decoder: only the player
            // closes it.
            let _ = tx.send(run(parts));
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the HLS decoder thread: {e}");
    }
    rx
}

/// Initialises FFmpeg once and keeps its own logging quiet.
pub fn init_ffmpeg() -> Result<(), HlsError> {
    static INIT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg::init().map_err(|e| e.to_string())?;
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
        Ok(())
    })
    .clone()
    .map_err(HlsError::Decode)
}

/// Where a decoder reports.
struct Out {
    stats: Arc<StreamStats>,
    waker: Waker,
    notes: mpsc::Sender<DecodeNote>,
    record: Option<Arc<SegmentRecorder>>,
}

/// The per-stream decoding state.
struct VideoOut {
    decoder: codec::decoder::Video,
    index: usize,
    time_base: f64,
    frames: Arc<FrameSlot>,
    converter: RgbaConverter,
    shown_any: bool,
    bad: u32,
    wait_key: bool,
    /// When a picture was last published.
    published: Option<Instant>,
}

struct AudioOut {
    decoder: codec::decoder::Audio,
    index: usize,
    time_base: f64,
    sink: Arc<dyn AudioSink>,
    converter: SoundConverter,
    bad: u32,
    /// When recording: when the sound queued so far will have been heard (microseconds of
    /// the recording), as the output plays what it is given one piece after another.
    heard_until_us: u64,
}

fn run(mut parts: DecodeParts) -> Result<(), HlsError> {
    let marks: Marks = Arc::new(Mutex::new(VecDeque::new()));
    let record = parts
        .record
        .take()
        .map(|r| Arc::new(SegmentRecorder::new(r)));
    let result = decode_all(parts, &marks, record.clone());
    if let Some(rec) = &record {
        // The frame times of the segments shown last.
        for mark in lock(&marks).drain(..) {
            rec.put_frames(mark.seq, mark.shown);
        }
    }
    result
}

fn decode_all(
    parts: DecodeParts,
    marks: &Marks,
    record: Option<Arc<SegmentRecorder>>,
) -> Result<(), HlsError> {
    init_ffmpeg()?;
    let DecodeParts {
        segments,
        clock,
        frames,
        audio: audio_sink,
        stats,
        waker,
        notes,
        record: _,
    } = parts;
    let out = Out {
        stats,
        waker,
        notes,
        record: record.clone(),
    };
    let reader = SegmentReader {
        rx: segments,
        current: Bytes::new(),
        offset: 0,
        marks: marks.clone(),
        clock: clock.clone(),
        record,
    };
    let Some(mut input) = open_segments(reader)? else {
        // The fetcher hung up before any data: nothing to decode.
        return Ok(());
    };

    let mut video = match &frames {
        Some(frames) => open_video(&input, frames.clone())?,
        None => None,
    };
    let audio_format = audio_sink
        .as_ref()
        .and_then(|s| s.format().map(|f| (s.clone(), f)));
    let mut audio = match audio_format {
        Some((sink, _)) => open_audio(&input, sink)?,
        None => None,
    };
    if video.is_none() && audio.is_none() {
        if frames.is_some() {
            return Err(HlsError::NoVideo);
        }
        return Ok(());
    }
    if let Some(a) = &audio {
        let _ = out.notes.try_send(DecodeNote::Sound {
            codec: codec_name(a.decoder.id()),
        });
    }
    // A stream with no picture (a separate audio playlist) records its segments as their
    // sound is queued; one with a picture, as its pictures are shown.
    let sound_record = if video.is_none() {
        out.record.clone()
    } else {
        None
    };
    let mut decoded = frame::Video::empty();
    let mut sound = frame::Audio::empty();
    for (stream, packet) in input.packets() {
        let index = stream.index();
        let go_on = if let Some(v) = video.as_mut().filter(|v| v.index == index) {
            mark_segment(marks, &packet, 0);
            video_packet(v, &packet, &mut decoded, (marks, &clock, &out))?
        } else if let Some(a) = audio.as_mut().filter(|a| a.index == index) {
            mark_segment(marks, &packet, 1);
            let timing = (marks, &*clock, sound_record.as_deref());
            match audio_packet(a, &packet, &mut sound, timing)? {
                AudioStep::GoOn => true,
                AudioStep::Stop => false,
                AudioStep::GiveUp => {
                    audio = None;
                    true
                }
            }
        } else {
            continue;
        };
        if !go_on {
            return Ok(());
        }
    }
    // The fetcher hung up (end of stream or a reopen): show what is left.
    if let Some(v) = video.as_mut() {
        let _ = v.decoder.send_eof();
        while v.decoder.receive_frame(&mut decoded).is_ok() {
            if !show_video(v, &decoded, marks, &clock, &out)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Opens FFmpeg's MPEG-TS demuxer on segments read one after another; `None` if the
/// stream ended before any data.
pub fn open_segments<R: Read + Send + 'static>(
    reader: R,
) -> Result<Option<ffmpeg::format::context::Input>, HlsError> {
    init_ffmpeg()?;
    let io = StreamIo::from_read(reader).map_err(|e| HlsError::Decode(e.to_string()))?;
    let mut options = ffmpeg::Dictionary::new();
    options.set("probesize", "500000");
    options.set("analyzeduration", "500000");
    match ffmpeg::format::input_from_stream(io, Some("live.ts"), Some(options)) {
        Ok(i) => Ok(Some(i)),
        Err(ffmpeg::Error::Eof) => Ok(None),
        Err(e) => Err(HlsError::Decode(format!("cannot read the segments: {e}"))),
    }
}

/// Notes which segment a packet came from, and that segment's first timestamp of its
/// kind (0 video, 1 sound).
fn mark_segment(marks: &Marks, packet: &ffmpeg::Packet, kind: usize) {
    let ts = packet.pts().or(packet.dts());
    let mut m = lock(marks);
    let pos = u64::try_from(packet.position()).ok();
    let mark = match pos {
        Some(pos) => m.iter_mut().rev().find(|mk| mk.start <= pos),
        None => m.back_mut(),
    };
    if let (Some(mark), Some(ts)) = (mark, ts)
        && mark.first_ts[kind].is_none()
    {
        mark.first_ts[kind] = Some(ts);
    }
}

/// Decodes one video packet and shows what it gives; false once the session is gone.
/// A packet the decoder refuses is skipped up to the next keyframe; too many in a row
/// end the stream.
fn video_packet(
    v: &mut VideoOut,
    packet: &ffmpeg::Packet,
    decoded: &mut frame::Video,
    (marks, clock, out): (&Marks, &PlayClock, &Out),
) -> Result<bool, HlsError> {
    if v.wait_key && !packet.is_key() {
        return Ok(true);
    }
    v.wait_key = false;
    if let Err(e) = v.decoder.send_packet(packet) {
        v.bad += 1;
        out.stats.add_skipped();
        tracing::debug!("H.264 packet refused ({e}); waiting for a keyframe");
        if v.bad > MAX_BAD_PACKETS {
            return Err(HlsError::Decode(format!("the video does not decode: {e}")));
        }
        v.decoder.flush();
        v.wait_key = true;
        return Ok(true);
    }
    v.bad = 0;
    while v.decoder.receive_frame(decoded).is_ok() {
        if !show_video(v, decoded, marks, clock, out)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What playing a sound packet leads to.
enum AudioStep {
    GoOn,
    /// The session is gone.
    Stop,
    /// The sound does not decode: go on without it.
    GiveUp,
}

fn audio_packet(
    a: &mut AudioOut,
    packet: &ffmpeg::Packet,
    sound: &mut frame::Audio,
    timing: (&Marks, &PlayClock, Option<&SegmentRecorder>),
) -> Result<AudioStep, HlsError> {
    if let Err(e) = a.decoder.send_packet(packet) {
        a.bad += 1;
        tracing::debug!("AAC packet refused ({e})");
        if a.bad > MAX_BAD_PACKETS {
            tracing::warn!("the sound does not decode ({e}); going on without it");
            return Ok(AudioStep::GiveUp);
        }
        return Ok(AudioStep::GoOn);
    }
    a.bad = 0;
    while a.decoder.receive_frame(sound).is_ok() {
        if !play_audio(a, sound, timing)? {
            return Ok(AudioStep::Stop);
        }
    }
    Ok(AudioStep::GoOn)
}

fn codec_name(id: codec::Id) -> String {
    format!("{id:?}").to_ascii_uppercase()
}

fn open_video(
    input: &ffmpeg::format::context::Input,
    frames: Arc<FrameSlot>,
) -> Result<Option<VideoOut>, HlsError> {
    let Some((decoder, index, time_base)) = video_stream(input)? else {
        return Ok(None);
    };
    Ok(Some(VideoOut {
        decoder,
        index,
        time_base,
        frames,
        converter: RgbaConverter::default(),
        shown_any: false,
        bad: 0,
        wait_key: true,
        published: None,
    }))
}

/// The input's video stream: a decoder for it, its index and its time base (seconds).
pub fn video_stream(
    input: &ffmpeg::format::context::Input,
) -> Result<Option<(codec::decoder::Video, usize, f64)>, HlsError> {
    let Some(stream) = input.streams().best(media::Type::Video) else {
        return Ok(None);
    };
    let decoder = video_decoder(stream.parameters())?;
    Ok(Some((
        decoder,
        stream.index(),
        f64::from(stream.time_base()),
    )))
}

/// A video decoder for a stream, using up to four of FFmpeg's frame threads (each adds
/// one frame, 42 ms at 24 fps, of delay; nothing next to HLS's seconds).
pub fn video_decoder(parameters: codec::Parameters) -> Result<codec::decoder::Video, HlsError> {
    let mut context = codec::context::Context::from_parameters(parameters)
        .map_err(|e| HlsError::Decode(format!("video stream: {e}")))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let mut threading = codec::threading::Config::count(threads);
    threading.kind = codec::threading::Type::Frame;
    context.set_threading(threading);
    context
        .decoder()
        .video()
        .map_err(|e| HlsError::Decode(format!("no decoder for the video: {e}")))
}

fn open_audio(
    input: &ffmpeg::format::context::Input,
    sink: Arc<dyn AudioSink>,
) -> Result<Option<AudioOut>, HlsError> {
    let Some(stream) = input.streams().best(media::Type::Audio) else {
        return Ok(None);
    };
    let context = match codec::context::Context::from_parameters(stream.parameters()) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("the sound cannot be decoded ({e}); going on without it");
            return Ok(None);
        }
    };
    match context.decoder().audio() {
        Ok(decoder) => Ok(Some(AudioOut {
            decoder,
            index: stream.index(),
            time_base: f64::from(stream.time_base()),
            sink,
            converter: SoundConverter::default(),
            bad: 0,
            heard_until_us: 0,
        })),
        Err(e) => {
            tracing::warn!("no decoder for the sound ({e}); going on without it");
            Ok(None)
        }
    }
}

/// The capture time of a frame with timestamp `ts` of `kind`, and whether it is exact
/// (from the playlist) rather than estimated.
fn timing(marks: &Marks, kind: usize, ts: Option<i64>, time_base: f64) -> Option<(Instant, bool)> {
    let m = lock(marks);
    let firsts = m.iter().map(|mk| mk.first_ts[kind]);
    let (i, first) = segment_of(firsts, ts)?;
    let mark = &m[i];
    let offset = ts.map_or(0.0, |ts| ts.saturating_sub(first) as f64 * time_base);
    let offset = Duration::from_secs_f64(offset.clamp(0.0, 600.0));
    Some((mark.capture + offset, mark.exact))
}

/// Which segment a frame with timestamp `ts` came from, given each segment's first
/// timestamp of the frame's kind (oldest first): the newest that began at or before it
/// (else the newest that began at all; the newest when the frame has no timestamp). Its
/// index and first timestamp. A replay places recorded frames by the same rule.
pub fn segment_of(
    firsts: impl DoubleEndedIterator<Item = Option<i64>> + ExactSizeIterator + Clone,
    ts: Option<i64>,
) -> Option<(usize, i64)> {
    let Some(ts) = ts else {
        return firsts.len().checked_sub(1).map(|i| (i, 0));
    };
    let known = firsts
        .enumerate()
        .rev()
        .filter_map(|(i, f)| f.map(|f| (i, f)));
    known
        .clone()
        .find(|(_, f)| *f <= ts)
        .or_else(|| known.clone().next())
}

/// A picture (kind 0) was shown, or a piece of sound (kind 1) queued to be heard, at
/// `due_us` (timestamp `ts`): records the segments up to the one it came from, stamped
/// when that segment's first frame of its kind would have been due, then the picture
/// times of the segments before it (the view has moved on from them), and notes this
/// picture's.
fn record_due(
    marks: &Marks,
    rec: &SegmentRecorder,
    (kind, ts, time_base): (usize, Option<i64>, f64),
    due_us: u64,
) {
    let mut m = lock(marks);
    let Some((i, first)) = segment_of(m.iter().map(|mk| mk.first_ts[kind]), ts) else {
        return;
    };
    let into = ts.map_or(0.0, |ts| ts.saturating_sub(first) as f64 * time_base);
    let into_us = (into.clamp(0.0, 600.0) * 1e6) as u64;
    let t_us = due_us.saturating_sub(into_us);
    for mk in m.iter_mut().take(i + 1) {
        if let Some(pending) = mk.record.take() {
            rec.put(pending, t_us);
        }
    }
    for mk in m.iter_mut().take(i) {
        rec.put_frames(mk.seq, mk.shown.take());
    }
    if kind == 0
        && let (Some(ts), Some(shown)) = (ts, m[i].shown.as_mut())
    {
        shown.push((ts, due_us));
    }
}

/// Judges, waits for and shows one decoded picture; false once the clock is closed.
fn show_video(
    v: &mut VideoOut,
    decoded: &frame::Video,
    marks: &Marks,
    clock: &PlayClock,
    parts: &Out,
) -> Result<bool, HlsError> {
    let (w, h) = (decoded.width(), decoded.height());
    let now = Instant::now();
    let Some((capture, exact)) = timing(marks, 0, decoded.timestamp(), v.time_base) else {
        return Ok(true);
    };
    let at = match clock.judge(capture, now) {
        Verdict::Drop => return Ok(true),
        Verdict::ShowAt(at) => at,
    };
    // A consumer that asks for a pace (a console tile) gets a picture that often: the
    // others are decoded (the next needs them) and timed (a recording holds them all),
    // but not converted or published.
    let wanted = match v.frames.pace() {
        Some(pace) => v.published.is_none_or(|t| t.elapsed() >= pace),
        None => true,
    };
    if wanted {
        // Convert while waiting for its time, so it shows on time.
        let fb = v.converter.convert(decoded)?;
        if !clock.wait_until(at) {
            return Ok(false);
        }
        v.frames.publish(fb, &[fb.full_rect()]);
        v.published = Some(Instant::now());
    } else if !clock.wait_until(at) {
        return Ok(false);
    }
    if let Some(rec) = &parts.record {
        record_due(
            marks,
            rec,
            (0, decoded.timestamp(), v.time_base),
            rec.now_us(),
        );
    }
    parts.stats.add_update(1);
    let behind = Instant::now().saturating_duration_since(capture);
    parts.stats.set_behind_live(behind, !exact);
    if let Ok(since_epoch) = (SystemTime::now() - behind).duration_since(UNIX_EPOCH) {
        parts
            .stats
            .set_captured_ms(u64::try_from(since_epoch.as_millis()).unwrap_or(0));
    }
    if wanted {
        v.frames.notify(&parts.waker);
    }
    if !v.shown_any {
        v.shown_any = true;
        let _ = parts.notes.try_send(DecodeNote::Picture {
            width: w,
            height: h,
            codec: codec_name(v.decoder.id()),
        });
    }
    Ok(true)
}

/// Converts decoded pictures to RGBA framebuffers with swscale, reusing its buffers.
pub struct RgbaConverter {
    scaler: Option<(software::scaling::Context, [u32; 2], ffmpeg::format::Pixel)>,
    rgba: frame::Video,
    fb: Option<Framebuffer>,
}

impl Default for RgbaConverter {
    fn default() -> Self {
        Self {
            scaler: None,
            rgba: frame::Video::empty(),
            fb: None,
        }
    }
}

impl RgbaConverter {
    /// The picture as RGBA (opaque), in a framebuffer kept for the next call.
    pub fn convert(&mut self, decoded: &frame::Video) -> Result<&Framebuffer, HlsError> {
        let (w, h) = (decoded.width(), decoded.height());
        if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
            return Err(HlsError::Decode(format!(
                "picture size {w}×{h} out of bounds"
            )));
        }
        let format = decoded.format();
        let fits = matches!(&self.scaler, Some((_, size, f)) if *size == [w, h] && *f == format);
        if !fits {
            let scaler = software::scaling::Context::get(
                format,
                w,
                h,
                ffmpeg::format::Pixel::RGBA,
                w,
                h,
                software::scaling::Flags::BILINEAR,
            )
            .map_err(|e| HlsError::Decode(format!("cannot convert {format:?} pictures: {e}")))?;
            self.scaler = Some((scaler, [w, h], format));
            self.rgba = frame::Video::empty();
        }
        let Some((scaler, _, _)) = self.scaler.as_mut() else {
            return Err(HlsError::Decode("no picture converter".into()));
        };
        scaler
            .run(decoded, &mut self.rgba)
            .map_err(|e| HlsError::Decode(format!("picture conversion failed: {e}")))?;
        if !self
            .fb
            .as_ref()
            .is_some_and(|fb| fb.width() == w && fb.height() == h)
        {
            self.fb = Some(Framebuffer::new(w, h).map_err(|e| HlsError::Decode(e.to_string()))?);
        }
        let Some(fb) = self.fb.as_mut() else {
            return Err(HlsError::Decode("no framebuffer".into()));
        };
        // swscale's rows may be padded.
        let row = w as usize * 4;
        let stride = self.rgba.stride(0);
        let data = self.rgba.data(0);
        for (y, dst) in fb.pixels_mut().chunks_exact_mut(row).enumerate() {
            if let Some(s) = data.get(y * stride..y * stride + row) {
                dst.copy_from_slice(s);
            }
        }
        Ok(fb)
    }
}

/// Judges, waits for and queues one decoded piece of sound (recording its segment when
/// `record` says to); false once the clock is closed.
fn play_audio(
    a: &mut AudioOut,
    sound: &frame::Audio,
    (marks, clock, record): (&Marks, &PlayClock, Option<&SegmentRecorder>),
) -> Result<bool, HlsError> {
    let Some(out) = a.sink.format() else {
        return Ok(true);
    };
    let now = Instant::now();
    let Some((capture, _)) = timing(marks, 1, sound.timestamp(), a.time_base) else {
        return Ok(true);
    };
    let at = match clock.judge_sound(capture, now) {
        Verdict::Drop => return Ok(true),
        Verdict::ShowAt(at) => {
            let early = at.checked_sub(a.sink.latency()).unwrap_or(at);
            if !clock.wait_until(early) {
                return Ok(false);
            }
            at
        }
    };
    let Some(samples) = a.converter.convert(sound, out) else {
        return Ok(true);
    };
    a.sink.push(&samples);
    if let Some(rec) = record {
        // Heard when it is due, or once what was queued before it has played (sound
        // queued in a burst, catching up, is heard one piece after another).
        let ahead = at.saturating_duration_since(Instant::now()).as_micros() as u64;
        let due_us = rec.now_us().saturating_add(ahead).max(a.heard_until_us);
        let frames = (samples.len() / usize::from(out.channels.max(1))) as u64;
        a.heard_until_us = due_us + frames * 1_000_000 / u64::from(out.rate.max(1));
        record_due(marks, rec, (1, sound.timestamp(), a.time_base), due_us);
    }
    Ok(true)
}

/// Resamples decoded sound to an output's format (interleaved `f32`) with swresample,
/// keeping its context while the sound's format stays the same.
#[derive(Default)]
pub struct SoundConverter {
    resampler: Option<software::resampling::Context>,
}

impl SoundConverter {
    /// The sound as `out` plays it; `None` (and a warning) if it cannot be resampled.
    pub fn convert(&mut self, sound: &frame::Audio, out: AudioFormat) -> Option<Vec<f32>> {
        let layout = if sound.channel_layout().is_empty() {
            ffmpeg::ChannelLayout::default(i32::from(sound.channels().max(1)))
        } else {
            sound.channel_layout()
        };
        let out_layout = ffmpeg::ChannelLayout::default(i32::from(out.channels));
        let packed = ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Packed);
        let fits = self.resampler.as_ref().is_some_and(|r| {
            r.input().format == sound.format()
                && r.input().rate == sound.rate()
                && r.input().channel_layout == layout
                && r.output().rate == out.rate
                && r.output().channel_layout == out_layout
        });
        if !fits {
            match software::resampling::Context::get(
                sound.format(),
                layout,
                sound.rate(),
                packed,
                out_layout,
                out.rate,
            ) {
                Ok(r) => self.resampler = Some(r),
                Err(e) => {
                    tracing::warn!("cannot resample the sound ({e}); going on without it");
                    return None;
                }
            }
        }
        let resampler = self.resampler.as_mut()?;
        let capacity = sound.samples() * out.rate as usize / sound.rate().max(1) as usize + 64;
        let mut converted = frame::Audio::new(packed, capacity, out_layout);
        resampler.run(sound, &mut converted).ok()?;
        let n = converted.samples() * usize::from(out.channels);
        Some(
            converted
                .data(0)
                .chunks_exact(4)
                .take(n)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }
}
