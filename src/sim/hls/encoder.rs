//! The encoder thread of one recording workstation: renders the synthetic desktop at
//! 1280×720, converts it to YUV 4:2:0 with swscale, encodes H.264 with libx264 and the
//! sound ([`super::audio`]) as AAC, and muxes every 2 s of each into its own in-memory
//! MPEG-TS file (a fresh muxer per segment, so each starts with PAT/PMT), publishing both
//! kinds of segment `N` together to its [`SegmentSink`] (the workstation's recorder). The TS packets' continuity counters
//! are renumbered to run on from the previous segment's, as one long-lived muxer's would:
//! an HLS reader concatenates segments, and FFmpeg's flags the first packets after a jump
//! as corrupt.
//!
//! Timestamps: video frame `n` (since the recording started) has PTS `n + 240` in 1/24 s,
//! audio sample `s` has PTS `s + 480000` in 1/48000 s; both are written verbatim into the
//! TS in 90 kHz (`mpegts_copyts`), so every segment continues its predecessor's
//! timeline and the two kinds share one clock, which starts 10 s before frame 0.
//!
//! The thread stops when its stop channel's sender goes (recording stopped, shutdown) or
//! after the recorder has gone unused for its idle time; a partial segment is dropped.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use ff::format::{Pixel, Sample, sample};
use ff::software::scaling;
use ff::util::error::EAGAIN;
use ff::{ChannelLayout, Dictionary, Packet, Rational, codec, encoder, format, frame, picture};
use ffmpeg_next as ff;

use super::audio;
use super::media::{FPS, HEIGHT, HlsKind, Part, SEGMENT_FRAMES, Segment, Timeline, WIDTH};
use crate::sim::desktop::{Desktop, Interaction, Script};

/// The x264 preset (see the crate's HLS notes for the CPU it costs).
pub const X264_PRESET: &str = "veryfast";
/// Timestamps start this far before frame 0 (real encoders rarely start at zero; it also
/// keeps the audio encoder's priming above zero).
const PTS_OFFSET_S: i64 = 10;
/// The AAC encoder's quantiser search: "fast" costs a third of the default "twoloop".
const AAC_CODER: &str = "fast";
/// The AAC bit rate.
const AUDIO_BIT_RATE: usize = 128_000;
/// Audio samples per video frame.
const SAMPLES_PER_FRAME: u64 = audio::RATE as u64 / FPS;
/// Audio samples per segment.
const SAMPLES_PER_SEGMENT: u64 = SAMPLES_PER_FRAME * SEGMENT_FRAMES;
/// How far behind the clock the encoder may fall before it skips frames (it catches up
/// by encoding faster than real time).
const MAX_LAG_FRAMES: u64 = 12;
/// A jump of more ticks than this renders the desktop afresh instead of stepping.
const REBUILD_AFTER_TICKS: u64 = 48;
/// Largest segment file accepted from the muxer.
const MAX_SEGMENT_BYTES: usize = 64 << 20;
/// Longest label drawn on the desktop.
const MAX_LABEL_CHARS: usize = 40;

/// Where an encoder thread's segments go, and what it reports: the workstation's recorder.
pub(crate) trait SegmentSink: Send + Sync + 'static {
    /// The workstation's id.
    fn id(&self) -> &str;
    /// Ms since the last request that wanted the stream.
    fn idle_ms(&self) -> u64;
    /// The encoder starts at segment `first_seq`.
    fn begin(&self, first_seq: u64);
    /// The encoder finished a segment.
    fn publish(&self, segment: Segment);
    /// The encoder encoded `encoded` frames and skipped `skipped`.
    fn count_frames(&self, encoded: u64, skipped: u64);
    /// The encoder could not start.
    fn open_failed(&self);
}

/// A running encoder thread.
#[derive(Debug)]
pub(crate) struct EncoderHandle {
    stop: SyncSender<()>,
    thread: JoinHandle<()>,
}

impl EncoderHandle {
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Tells the thread to stop and waits for it (at most about one frame's work).
    pub fn stop(self) {
        let EncoderHandle { stop, thread } = self;
        drop(stop);
        if thread.join().is_err() {
            tracing::warn!("an HLS encoder thread panicked");
        }
    }
}

/// A thread name: `hls-` and the workstation id's first safe characters (Linux keeps 15).
fn thread_name(id: &str) -> String {
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(11)
        .collect();
    format!("hls-{safe}")
}

/// Starts the encoder thread of `recorder`, on `timeline`.
pub(crate) fn spawn(
    recorder: Arc<dyn SegmentSink>,
    timeline: Timeline,
    idle_ms: u64,
) -> std::io::Result<EncoderHandle> {
    let (stop, stopped) = sync_channel::<()>(1);
    let thread = std::thread::Builder::new()
        .name(thread_name(recorder.id()))
        .spawn(move || run(recorder, timeline, idle_ms, &stopped))?;
    Ok(EncoderHandle { stop, thread })
}

fn run(recorder: Arc<dyn SegmentSink>, timeline: Timeline, idle_ms: u64, stop: &Receiver<()>) {
    let id = recorder.id().to_string();
    let opened = Instant::now();
    let mut pipeline = match Pipeline::open(recorder.clone(), timeline) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(workstation = %id, "cannot open the HLS encoder: {e:#}");
            recorder.open_failed();
            return;
        }
    };
    tracing::debug!(workstation = %id, "HLS encoder opened in {:?}", opened.elapsed());
    let ran = pipeline.run(idle_ms, stop);
    pipeline.close();
    match ran {
        Ok(why) => tracing::debug!(
            workstation = %id,
            frames = pipeline.frames,
            skipped = pipeline.skipped,
            "HLS encoder stopped: {why}"
        ),
        Err(e) => tracing::warn!(workstation = %id, "the HLS encoder failed: {e:#}"),
    }
}

/// FFmpeg's one-time set-up. FFmpeg's own default log level (info) would have the AAC
/// encoder print its statistics to stderr whenever an encoder stops: unless someone chose a
/// level already, warnings and worse only.
fn init_ffmpeg() -> anyhow::Result<()> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| {
        result = ff::init();
        if ff::util::log::get_level() == Ok(ff::util::log::Level::Info) {
            ff::util::log::set_level(ff::util::log::Level::Warning);
        }
    });
    result.map_err(|e| anyhow!("FFmpeg: {e}"))
}

/// The encoder's time base for each kind.
fn time_base(kind: HlsKind) -> Rational {
    match kind {
        HlsKind::Video => Rational::new(1, FPS as i32),
        HlsKind::Audio => Rational::new(1, audio::RATE as i32),
    }
}

/// `units` of `kind`'s time base in µs.
fn units_to_us(kind: HlsKind, units: i64) -> i64 {
    let tb = time_base(kind);
    let us = i128::from(units) * 1_000_000 * i128::from(tb.numerator())
        / i128::from(tb.denominator().max(1));
    us.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Timestamp units before frame 0 / sample 0.
fn pts_offset(kind: HlsKind) -> i64 {
    PTS_OFFSET_S * i64::from(time_base(kind).denominator())
}

fn options(pairs: &[(&str, &str)]) -> Dictionary<'static> {
    let mut d = Dictionary::new();
    for (k, v) in pairs {
        d.set(k, v);
    }
    d
}

/// FFmpeg's encoder `name` and a fresh context for it.
fn encoder_named(name: &str) -> anyhow::Result<(ff::Codec, encoder::Encoder)> {
    let codec = encoder::find_by_name(name).with_context(|| format!("FFmpeg has no {name}"))?;
    Ok((codec, codec::Context::new_with_codec(codec).encoder()))
}

fn open_video() -> anyhow::Result<encoder::video::Encoder> {
    let (codec, enc) = encoder_named("libx264")?;
    let mut enc = enc.video()?;
    enc.set_width(WIDTH);
    enc.set_height(HEIGHT);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(time_base(HlsKind::Video));
    enc.set_frame_rate(Some(Rational::new(FPS as i32, 1)));
    enc.set_gop(SEGMENT_FRAMES as u32);
    enc.set_max_b_frames(0);
    let keyint = format!("keyint={SEGMENT_FRAMES}:min-keyint={SEGMENT_FRAMES}:scenecut=0:log=0");
    enc.open_as_with(
        codec,
        options(&[
            ("preset", X264_PRESET),
            ("tune", "zerolatency"),
            ("profile", "high"),
            ("level", "4.1"),
            ("threads", "1"),
            ("forced-idr", "1"),
            ("x264-params", &keyint),
        ]),
    )
    .context("cannot open libx264")
}

fn open_audio() -> anyhow::Result<encoder::audio::Encoder> {
    let (codec, enc) = encoder_named("aac")?;
    let mut enc = enc.audio()?;
    enc.set_rate(audio::RATE as i32);
    enc.set_format(Sample::F32(sample::Type::Planar));
    enc.set_channel_layout(ChannelLayout::STEREO);
    enc.set_channels(2);
    enc.set_bit_rate(AUDIO_BIT_RATE);
    enc.set_time_base(time_base(HlsKind::Audio));
    enc.open_as_with(
        codec,
        options(&[("profile", "aac_low"), ("aac_coder", AAC_CODER)]),
    )
    .context("cannot open the aac encoder")
}

/// What the muxers write into: a growable in-memory file.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if v.len().saturating_add(buf.len()) > MAX_SEGMENT_BYTES {
            return Err(std::io::Error::other("segment too large"));
        }
        v.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One segment file being written.
struct OpenSegment {
    seq: u64,
    out: format::context::Output,
    buf: SharedBuf,
    stream_tb: Rational,
    /// The first packet's timestamp, in the encoder's units since frame or sample 0.
    first: i64,
}

/// Cuts one kind's packets into segment files.
struct SegmentMuxer {
    kind: HlsKind,
    params: codec::Parameters,
    open: Option<OpenSegment>,
    /// The continuity counter each PID's last TS packet had.
    counters: HashMap<u16, u8>,
}

/// The size of an MPEG-TS packet.
const TS_PACKET: usize = 188;

/// Renumbers the continuity counters of the TS packets in `ts` to run on from `last` (per
/// PID), and records where they end there.
fn continue_counters(ts: &mut [u8], last: &mut HashMap<u16, u8>) {
    for packet in ts.chunks_exact_mut(TS_PACKET) {
        let [0x47, pid_high, pid_low, flags, ..] = *packet else {
            continue;
        };
        let pid = u16::from_be_bytes([pid_high & 0x1f, pid_low]);
        if pid == 0x1fff {
            continue;
        }
        let has_payload = flags & 0x10 != 0;
        let counter = match last.get(&pid) {
            Some(&prev) if has_payload => (prev + 1) & 0x0f,
            Some(&prev) => prev,
            None => flags & 0x0f,
        };
        if let Some(b) = packet.get_mut(3) {
            *b = (flags & 0xf0) | counter;
        }
        last.insert(pid, counter);
    }
}

impl SegmentMuxer {
    fn new(kind: HlsKind, params: codec::Parameters) -> SegmentMuxer {
        SegmentMuxer {
            kind,
            params,
            open: None,
            counters: HashMap::new(),
        }
    }

    fn start(&self, seq: u64, first: i64) -> anyhow::Result<OpenSegment> {
        let buf = SharedBuf::default();
        let io = format::context::StreamIo::from_write(buf.clone())?;
        let mut out = format::output_to_stream(io, None, Some("mpegts"))?;
        {
            let mut stream = out.add_stream(Option::<ff::Codec>::None)?;
            stream.set_parameters(self.params.clone());
            stream.set_time_base(time_base(self.kind));
        }
        // 0.7 s between PCR and DTS, as FFmpeg's command line has it; our timestamps as
        // they are; a PCR at least every 80 ms (said outright, the muxer need not guess
        // it from the audio frame size, which it warns it cannot).
        out.write_header_with(options(&[
            ("max_delay", "700000"),
            ("mpegts_copyts", "1"),
            ("pcr_period", "80"),
        ]))?;
        let stream_tb = out
            .stream(0)
            .map(|s| s.time_base())
            .ok_or_else(|| anyhow!("the muxer lost its stream"))?;
        Ok(OpenSegment {
            seq,
            out,
            buf,
            stream_tb,
            first,
        })
    }

    /// Finishes the open segment, which ends where `end` starts; its part.
    fn finish(&mut self, end: i64) -> anyhow::Result<Option<(u64, Part)>> {
        let Some(mut open) = self.open.take() else {
            return Ok(None);
        };
        open.out.write_trailer()?;
        let mut bytes = open.buf.take();
        drop(open.out);
        continue_counters(&mut bytes, &mut self.counters);
        Ok(Some((
            open.seq,
            Part {
                bytes: Bytes::from(bytes),
                start_us: units_to_us(self.kind, open.first),
                duration_us: units_to_us(self.kind, end.saturating_sub(open.first)).unsigned_abs(),
            },
        )))
    }

    /// Writes `packet` (timestamp `at`, since frame or sample 0) into segment `seq`; the
    /// segment this finished, if any.
    fn write(&mut self, seq: u64, at: i64, packet: &Packet) -> anyhow::Result<Option<(u64, Part)>> {
        let finished = match &self.open {
            Some(open) if open.seq != seq => self.finish(at)?,
            _ => None,
        };
        if self.open.is_none() {
            self.open = Some(self.start(seq, at)?);
        }
        if let Some(open) = &mut self.open {
            let mut p = packet.clone();
            p.set_stream(0);
            p.set_position(-1);
            p.rescale_ts(time_base(self.kind), open.stream_tb);
            p.write_interleaved(&mut open.out)?;
        }
        Ok(finished)
    }
}

struct Pipeline {
    recorder: Arc<dyn SegmentSink>,
    timeline: Timeline,
    video: encoder::video::Encoder,
    scaler: scaling::Context,
    rgba: frame::Video,
    yuv: frame::Video,
    desktop: Desktop,
    label: String,
    audio: encoder::audio::Encoder,
    audio_frame: frame::Audio,
    /// One audio frame's samples, before they go to both channels.
    sound: Vec<f32>,
    /// The next audio sample to encode, since sample 0.
    next_sample: u64,
    muxers: [SegmentMuxer; 2],
    /// Finished parts waiting for the other kind's part of the same segment.
    pending: [BTreeMap<u64, Part>; 2],
    /// No packet goes into an earlier segment than this (the audio priming would).
    first_seq: u64,
    frames: u64,
    skipped: u64,
}

fn index(kind: HlsKind) -> usize {
    match kind {
        HlsKind::Video => 0,
        HlsKind::Audio => 1,
    }
}

impl Pipeline {
    fn open(recorder: Arc<dyn SegmentSink>, timeline: Timeline) -> anyhow::Result<Pipeline> {
        init_ffmpeg()?;
        let video = open_video()?;
        let audio = open_audio()?;
        let frame_size = audio.frame_size().max(1) as usize;
        let scaler = scaling::Context::get(
            Pixel::RGBA,
            WIDTH,
            HEIGHT,
            Pixel::YUV420P,
            WIDTH,
            HEIGHT,
            scaling::Flags::FAST_BILINEAR,
        )?;
        let label: String = recorder.id().chars().take(MAX_LABEL_CHARS).collect();
        let desktop = agent_desktop(&label, 0)?;
        let muxers = [
            SegmentMuxer::new(HlsKind::Video, codec::Parameters::from(&video)),
            SegmentMuxer::new(HlsKind::Audio, codec::Parameters::from(&audio)),
        ];
        Ok(Pipeline {
            recorder,
            timeline,
            video,
            scaler,
            rgba: frame::Video::new(Pixel::RGBA, WIDTH, HEIGHT),
            yuv: frame::Video::new(Pixel::YUV420P, WIDTH, HEIGHT),
            desktop,
            label,
            audio,
            audio_frame: frame::Audio::new(
                Sample::F32(sample::Type::Planar),
                frame_size,
                ChannelLayout::STEREO,
            ),
            sound: Vec::with_capacity(frame_size),
            next_sample: 0,
            muxers,
            pending: [BTreeMap::new(), BTreeMap::new()],
            first_seq: 0,
            frames: 0,
            skipped: 0,
        })
    }

    /// Encodes until told to stop or left unused; why it stopped.
    fn run(&mut self, idle_ms: u64, stop: &Receiver<()>) -> anyhow::Result<&'static str> {
        let start = self.timeline.frame_at(Instant::now());
        self.first_seq = start / SEGMENT_FRAMES;
        self.recorder.begin(self.first_seq);
        let mut next = self.first_seq * SEGMENT_FRAMES;
        self.next_sample = next * SAMPLES_PER_FRAME;
        self.desktop = agent_desktop(&self.label, next)?;
        loop {
            match stop.try_recv() {
                Err(TryRecvError::Empty) => {}
                _ => return Ok("told to stop"),
            }
            if self.recorder.idle_ms() > idle_ms {
                return Ok("nobody watches");
            }
            let live = self.timeline.frame_at(Instant::now());
            if next > live {
                let due = self.timeline.instant_of_frame(next);
                match stop.recv_timeout(due.saturating_duration_since(Instant::now())) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    _ => return Ok("told to stop"),
                }
            }
            // Far behind the clock: skip to the newest frame, but never past a segment's
            // first (its IDR), nor while catching up to the clock at the start.
            let segment_end = (next / SEGMENT_FRAMES + 1) * SEGMENT_FRAMES;
            let far_behind = live > next + MAX_LAG_FRAMES;
            let frame = if !far_behind || next.is_multiple_of(SEGMENT_FRAMES) || next <= start {
                next
            } else {
                live.min(segment_end)
            };
            let skipped = frame.saturating_sub(next);
            self.skipped += skipped;
            self.recorder.count_frames(1, skipped);
            self.encode_video(frame)?;
            self.encode_audio_until((frame + 1) * SAMPLES_PER_FRAME)?;
            next = frame + 1;
        }
    }

    /// Empties the encoders (what they hold is of a segment never published).
    fn close(&mut self) {
        let mut packet = Packet::empty();
        if self.video.send_eof().is_ok() {
            while self.video.receive_packet(&mut packet).is_ok() {}
        }
        if self.audio.send_eof().is_ok() {
            while self.audio.receive_packet(&mut packet).is_ok() {}
        }
    }

    fn encode_video(&mut self, n: u64) -> anyhow::Result<()> {
        let behind = n.saturating_sub(self.desktop.tick());
        if behind > REBUILD_AFTER_TICKS {
            self.desktop = agent_desktop(&self.label, n)?;
        } else {
            for _ in 0..behind {
                self.desktop.advance();
            }
        }
        let row = WIDTH as usize * 4;
        let stride = self.rgba.stride(0);
        let src = self.desktop.framebuffer().pixels();
        for (s, d) in src
            .chunks_exact(row)
            .zip(self.rgba.data_mut(0).chunks_mut(stride.max(row)))
        {
            if let Some(d) = d.get_mut(..row) {
                d.copy_from_slice(s);
            }
        }
        self.scaler.run(&self.rgba, &mut self.yuv)?;
        self.yuv
            .set_pts(Some(n as i64 + pts_offset(HlsKind::Video)));
        self.yuv.set_kind(if n.is_multiple_of(SEGMENT_FRAMES) {
            picture::Type::I
        } else {
            picture::Type::None
        });
        self.video.send_frame(&self.yuv)?;
        self.frames += 1;
        self.drain(HlsKind::Video)
    }

    fn encode_audio_until(&mut self, end: u64) -> anyhow::Result<()> {
        while self.next_sample < end {
            let n = self.audio_frame.samples();
            let first = self.next_sample;
            self.sound.clear();
            self.sound
                .extend((first..first + n as u64).map(audio::sample));
            for plane in 0..self.audio_frame.planes().min(2) {
                let out = self.audio_frame.plane_mut::<f32>(plane);
                for (o, v) in out.iter_mut().zip(&self.sound) {
                    *o = *v;
                }
            }
            self.audio_frame
                .set_pts(Some(first as i64 + pts_offset(HlsKind::Audio)));
            self.audio.send_frame(&self.audio_frame)?;
            self.next_sample += n.max(1) as u64;
            self.drain(HlsKind::Audio)?;
        }
        Ok(())
    }

    /// Takes what the encoder of `kind` has ready into the segments.
    fn drain(&mut self, kind: HlsKind) -> anyhow::Result<()> {
        let mut packet = Packet::empty();
        loop {
            let got = match kind {
                HlsKind::Video => self.video.receive_packet(&mut packet),
                HlsKind::Audio => self.audio.receive_packet(&mut packet),
            };
            match got {
                Ok(()) => self.take_packet(kind, &packet)?,
                Err(ff::Error::Other { errno: EAGAIN }) | Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn take_packet(&mut self, kind: HlsKind, packet: &Packet) -> anyhow::Result<()> {
        let Some(pts) = packet.pts() else {
            return Ok(());
        };
        let at = pts - pts_offset(kind);
        let per_segment = match kind {
            HlsKind::Video => SEGMENT_FRAMES,
            HlsKind::Audio => SAMPLES_PER_SEGMENT,
        } as i64;
        let seq = u64::try_from(at.div_euclid(per_segment))
            .unwrap_or(0)
            .max(self.first_seq);
        if let Some((seq, part)) = self.muxers[index(kind)].write(seq, at, packet)? {
            self.pending[index(kind)].insert(seq, part);
            self.publish_ready();
        }
        Ok(())
    }

    /// Publishes the segments whose both parts are done. Each kind finishes its segments
    /// in order, so a part whose partner the other kind has gone past never gets one.
    fn publish_ready(&mut self) {
        let [video, audio] = &mut self.pending;
        while let (Some(v), Some(a)) = (video.first_key_value(), audio.first_key_value()) {
            let (v, a) = (*v.0, *a.0);
            if v < a {
                video.remove(&v);
            } else if a < v {
                audio.remove(&a);
            } else if let (Some(vp), Some(ap)) = (video.remove(&v), audio.remove(&a)) {
                self.recorder.publish(Segment {
                    seq: v,
                    video: vp,
                    audio: ap,
                });
            }
        }
    }
}

/// The agent's desktop at `tick`, pointer drawn in, labelled `label`.
fn agent_desktop(label: &str, tick: u64) -> anyhow::Result<Desktop> {
    let mut d = Desktop::with_script(
        WIDTH,
        HEIGHT,
        label,
        tick,
        Script::Agent,
        &Interaction::default(),
    )?;
    d.set_cursor_overlay(true);
    Ok(d)
}
