//! Real-peer HLS tests: the Debian `ffmpeg` program makes a live HLS stream (libx264, 2 s
//! segments, program date-times) into a temporary directory, served on 127.0.0.1 by a
//! small static HTTP server here; Lookout plays it.
//!
//! - From a still test image: `lookout snapshot` of the playlist matches the image within
//!   a small tolerance (H.264 and 4:2:0 chroma are lossy).
//! - From an animated test source with sound: pictures keep arriving for 30 s, and the
//!   distance behind live Lookout measures stays under 3.5 s.
//! - From a source that stamps each picture with the wall-clock time it was made
//!   ([`StampSource`]): the distance behind live Lookout reports is what the screen truly
//!   shows, for a zero-latency and for a lookahead (x264 defaults) producer writing
//!   program date-times, and it is marked as an estimate for one that writes none.
//!
//! Without `ffmpeg` those tests print a skip line, except under `CI`, where they fail. A
//! snapshot that times out on a stream that opened but showed nothing says so (no
//! `ffmpeg` needed).

#[allow(dead_code)]
mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use peers::{Diff, Mask, Proc, Rgb, Tolerance, run_bounded};

use lookout::core::audio::{AudioFormat, AudioSink};
use lookout::core::event::{SessionEvent, SessionState, noop_waker};
use lookout::core::session::{self, SessionConfig};
use lookout::core::source::SourceSpec;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// Whether `ffmpeg` is here; outside CI a missing one skips the test.
fn have_ffmpeg() -> Result<bool> {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            bail!("ffmpeg is missing: run packaging/setup.sh");
        }
        eprintln!("skipped: ffmpeg is not installed (packaging/setup.sh installs it)");
    }
    Ok(ok)
}

/// Serves the files of one directory over HTTP on 127.0.0.1 (GET only, no listing).
struct StaticServer {
    url: String,
    _rt: tokio::runtime::Runtime,
}

impl StaticServer {
    fn start(dir: PathBuf) -> Result<Self> {
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;

        async fn file(
            State(dir): State<Arc<PathBuf>>,
            UrlPath(name): UrlPath<String>,
        ) -> axum::response::Response {
            if name.contains('/') || name.contains("..") || name.ends_with(".tmp") {
                return StatusCode::NOT_FOUND.into_response();
            }
            match tokio::fs::read(dir.join(&name)).await {
                Ok(bytes) => {
                    let kind = if name.ends_with(".m3u8") {
                        "application/vnd.apple.mpegurl"
                    } else {
                        "video/mp2t"
                    };
                    ([(header::CONTENT_TYPE, kind)], bytes).into_response()
                }
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            }
        }

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/{name}", axum::routing::get(file))
            .with_state(Arc::new(dir));
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: format!("http://{addr}"),
            _rt: rt,
        })
    }
}

/// `ffmpeg` writing a live HLS stream of `input` into `dir`, served over HTTP.
struct LiveHls {
    _ffmpeg: Proc,
    server: StaticServer,
    dir: PathBuf,
}

/// How `ffmpeg` encodes and lists: its x264 options and `-hls_flags`.
struct Producer {
    x264: &'static [&'static str],
    hls_flags: &'static str,
}

/// What the first tests use: fast, zero latency, program date-times.
const PLAIN: Producer = Producer {
    x264: &["-preset", "ultrafast", "-tune", "zerolatency"],
    hls_flags: "delete_segments+program_date_time+temp_file",
};

impl LiveHls {
    fn start(dir: &Path, input: &[&str]) -> Result<Self> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-loglevel", "warning", "-re"]);
        Self::start_with(dir, cmd.args(input), &PLAIN)
    }

    /// Starts `ffmpeg` with its input already on `cmd`.
    fn start_with(dir: &Path, cmd: &mut Command, producer: &Producer) -> Result<Self> {
        cmd.args(["-c:v", "libx264"])
            .args(producer.x264)
            .args([
                "-pix_fmt",
                "yuv420p",
                "-g",
                "48",
                "-keyint_min",
                "48",
                "-sc_threshold",
                "0",
                "-c:a",
                "aac",
                "-f",
                "hls",
                "-hls_time",
                "2",
                "-hls_list_size",
                "30",
                "-hls_flags",
                producer.hls_flags,
                "-hls_segment_filename",
            ])
            .arg(dir.join("s%05d.ts"))
            .arg(dir.join("live.m3u8"));
        let mut ffmpeg = Proc::spawn("ffmpeg", cmd, dir, false)?;
        let playlist = dir.join("live.m3u8");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&playlist).is_ok_and(|p| p.contains("#EXTINF")) {
            ffmpeg.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "ffmpeg wrote no segment within 20 s:\n{}",
                    ffmpeg.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Self {
            _ffmpeg: ffmpeg,
            server: StaticServer::start(dir.to_path_buf())?,
            dir: dir.to_path_buf(),
        })
    }

    fn playlist_url(&self) -> String {
        format!("{}/live.m3u8", self.server.url)
    }
}

#[test]
fn a_snapshot_that_times_out_on_an_open_stream_says_it_is_connected() -> Result<()> {
    // A live playlist that lists no segment yet: the stream opens, no picture comes.
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("live.m3u8"),
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n",
    )?;
    let server = StaticServer::start(dir.path().to_path_buf())?;
    let done = run_bounded(
        "lookout-snapshot",
        Command::new(env!("CARGO_BIN_EXE_lookout"))
            .args(["snapshot", &format!("{}/live.m3u8", server.url)])
            .args(["--timeout", "2", "-o"])
            .arg(dir.path().join("never.png")),
        dir.path(),
        Duration::from_secs(20),
    )?;
    assert!(!done.status.success());
    let said = done.stderr.trim();
    assert!(
        said.contains("no picture after 2 s (last state: connected,")
            && said.contains("received, no picture yet)"),
        "{said}"
    );
    Ok(())
}

/// A still test picture: gradients and a few flat blocks, nothing finer than H.264 at
/// ordinary quality keeps.
fn test_image() -> Result<Rgb> {
    let mut data = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    let blocks = [
        (100, 100, 200, 150, [240, 240, 240]),
        (800, 400, 300, 200, [20, 40, 160]),
        (500, 250, 250, 120, [230, 140, 30]),
    ];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let mut px = [
                (x * 255 / (WIDTH - 1)) as u8,
                (y * 255 / (HEIGHT - 1)) as u8,
                128,
            ];
            for (bx, by, bw, bh, colour) in blocks {
                if (bx..bx + bw).contains(&x) && (by..by + bh).contains(&y) {
                    px = colour;
                }
            }
            data.extend_from_slice(&px);
        }
    }
    Rgb::new(WIDTH, HEIGHT, data)
}

#[test]
fn snapshot_of_a_still_stream_matches_its_image() -> Result<()> {
    if !have_ffmpeg()? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let image = test_image()?;
    let still = dir.path().join("still.png");
    image.write_png(&still)?;
    let still_arg = still.to_string_lossy().into_owned();
    let hls = LiveHls::start(
        dir.path(),
        &["-loop", "1", "-framerate", "24", "-i", &still_arg, "-an"],
    )?;
    let out = hls.dir.join("snapshot.png");
    let started = Instant::now();
    let done = run_bounded(
        "lookout-snapshot",
        Command::new(env!("CARGO_BIN_EXE_lookout"))
            .args(["snapshot", &hls.playlist_url(), "--timeout", "20", "-o"])
            .arg(&out),
        dir.path(),
        Duration::from_secs(40),
    )?;
    let took = started.elapsed();
    if !done.status.success() {
        bail!(
            "lookout snapshot failed ({}):\n{}",
            done.status,
            done.stderr
        );
    }
    let snapshot = Rgb::read_png(&out).context("reading the snapshot")?;
    let tolerance = Tolerance {
        pixel: 32,
        min_within: 0.99,
        max_mean_abs: 2.5,
    };
    let nothing = Mask::around(u32::MAX, u32::MAX, 0);
    let diff = Diff::between(&image, &snapshot, nothing, tolerance)?;
    println!(
        "HLS snapshot of a still image: mean |Δ| {:.2}, {:.2} % within {} levels, taken in {:.0} ms",
        diff.mean_abs(),
        diff.share_within() * 100.0,
        tolerance.pixel,
        took.as_secs_f64() * 1000.0
    );
    if !diff.is_within(tolerance) {
        bail!("the snapshot differs from the image: {diff:?}");
    }
    Ok(())
}

/// A sound output that counts what it is given, at an odd rate so resampling is needed.
#[derive(Debug, Default)]
struct CountingSink {
    samples: std::sync::atomic::AtomicU64,
    /// Samples louder than 0.01.
    audible: std::sync::atomic::AtomicU64,
    loudest: std::sync::Mutex<f32>,
}

impl AudioSink for CountingSink {
    fn format(&self) -> Option<AudioFormat> {
        Some(AudioFormat {
            rate: 44_100,
            channels: 2,
        })
    }
    fn push(&self, samples: &[f32]) {
        self.samples
            .fetch_add(samples.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let audible = samples.iter().filter(|s| s.abs() > 0.01).count() as u64;
        self.audible
            .fetch_add(audible, std::sync::atomic::Ordering::Relaxed);
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let mut loudest = self.loudest.lock().unwrap_or_else(|p| p.into_inner());
        *loudest = loudest.max(peak);
    }
    fn latency(&self) -> Duration {
        Duration::from_millis(50)
    }
    fn clear(&self) {}
}

#[test]
fn an_animated_stream_keeps_coming_and_stays_near_live() -> Result<()> {
    if !have_ffmpeg()? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let hls = LiveHls::start(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
        ],
    )?;
    let rt = tokio::runtime::Runtime::new()?;
    let source: SourceSpec = hls.playlist_url().parse()?;
    let sink = Arc::new(CountingSink::default());
    // Recorded as the window records it: the sound is inside the picture's segments.
    let recording = dir.path().join("peer.lkrec");
    let meta = serde_json::json!({"tracks": lookout::commands::record::meta_tracks(&source)});
    let (record, writer) = lookout::core::record::writer::create(&recording, &meta)?;
    let config = SessionConfig {
        audio: Some(sink.clone()),
        record: Some(lookout::core::record::TrackSink::new(record, 0)),
        ..SessionConfig::default()
    };
    let mut handle = session::spawn(rt.handle(), source, config, noop_waker());

    // Live within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(200), handle.recv_event()).await
        }) {
            Ok(Some(SessionEvent::State(SessionState::Live(info)))) => {
                assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
                break;
            }
            Ok(Some(SessionEvent::State(s))) if s.is_final() => bail!("the session ended: {s:?}"),
            Ok(None) => bail!("the session ended"),
            _ if Instant::now() > deadline => bail!("not live within 15 s"),
            _ => {}
        }
    }

    // Then 30 s of watching: sample the figures every quarter second.
    let watch = Duration::from_secs(30);
    let start = Instant::now();
    let first = handle.stats().sample().updates;
    let samples_before = sink.samples.load(std::sync::atomic::Ordering::Relaxed);
    let mut behind = Vec::new();
    let mut last_updates = first;
    let mut last_progress = Instant::now();
    let mut longest_gap = Duration::ZERO;
    while start.elapsed() < watch {
        std::thread::sleep(Duration::from_millis(250));
        let s = handle.stats().sample();
        if s.updates > last_updates {
            last_updates = s.updates;
            last_progress = Instant::now();
        }
        longest_gap = longest_gap.max(last_progress.elapsed());
        if let Some(ms) = s.behind_live_ms {
            behind.push(ms);
        }
        while let Some(event) = handle.try_recv_event() {
            if let SessionEvent::State(state) = event
                && !matches!(state, SessionState::Live(_))
            {
                bail!("the stream left live: {state:?}");
            }
        }
    }
    let frames = last_updates - first;
    let samples = sink.samples.load(std::sync::atomic::Ordering::Relaxed) - samples_before;
    let audible = sink.audible.load(std::sync::atomic::Ordering::Relaxed);
    let sound_rate = samples as f64 / 2.0 / watch.as_secs_f64();
    let loudest = *sink.loudest.lock().unwrap_or_else(|p| p.into_inner());
    println!("sound: {sound_rate:.0} frames/s at 44.1 kHz stereo, peak {loudest:.2}");
    assert!(
        (sound_rate - 44_100.0).abs() < 44_100.0 * 0.1,
        "sound at {sound_rate:.0} frames/s, expected 44100"
    );
    assert!(loudest > 0.05, "the 440 Hz tone came out silent");
    behind.sort_unstable();
    let median = behind[behind.len() / 2];
    let worst = *behind.last().unwrap_or(&0);
    println!(
        "ffmpeg HLS, 30 s: {frames} pictures ({:.1}/s), behind live median {:.2} s, worst {:.2} s, longest pause {:.2} s",
        frames as f64 / watch.as_secs_f64(),
        median as f64 / 1000.0,
        worst as f64 / 1000.0,
        longest_gap.as_secs_f64()
    );
    assert!(
        frames as f64 >= 24.0 * 30.0 * 0.9,
        "only {frames} pictures in 30 s of a 24 fps stream"
    );
    assert!(
        longest_gap < Duration::from_secs(1),
        "pictures stopped for {longest_gap:?}"
    );
    assert!(
        worst < 3_500,
        "{worst} ms behind live (median {median} ms); the target is under 3.5 s"
    );
    handle.send(lookout::core::event::Command::Stop);
    std::thread::sleep(Duration::from_millis(300));
    drop(handle);
    writer.finish();
    replays_its_sound(&recording, audible)
}

/// The recording's sound, replayed from its start to its end as a replay does, is the
/// tone, about as much of it as the live view queued (`live_audible` samples louder than
/// 0.01 in all).
fn replays_its_sound(path: &Path, live_audible: u64) -> Result<()> {
    use lookout::core::record::{index, replay_sound::SoundPlayer};
    let (_, index) = index::open(path)?;
    let mut player = SoundPlayer::open(path, &index)?.context("the recording has no sound")?;
    let sink = CountingSink::default();
    player.seek(0)?;
    for t in (0..index.duration_us).step_by(20_000) {
        player.fill(t, t + 150_000, &sink)?;
    }
    let replayed = sink.audible.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let loudest = *sink.loudest.lock().unwrap_or_else(|p| p.into_inner());
    let live = live_audible as f64;
    println!("replayed sound: {replayed} audible samples (live {live}), peak {loudest:.2}");
    assert!(loudest > 0.05, "the replayed tone is silent");
    // The live view's first sound may have been skipped to catch up; the last may not
    // have been recorded.
    assert!(
        replayed > live * 0.9 && replayed < live * 1.1,
        "{replayed} audible samples replayed, {live} live"
    );
    Ok(())
}

/// The stamped source's picture: 640×360 YUV 4:2:0 (small, so the encoder costs little).
const STAMP_W: usize = 640;
const STAMP_H: usize = 360;
/// Each bit of a stamp is a block this wide: 16 to a row.
const BLOCK: usize = 40;
/// A stamp is the low 32 bits of the wall clock in ms.
const STAMP_BITS: usize = 32;

fn wall_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

/// A picture stamped with the wall-clock time `ms`: block rows 1–2 hold its bits (white
/// for 1), rows 3–4 their complements, so a reading can be checked.
fn stamped_frame(ms: u64, out: &mut Vec<u8>) {
    out.clear();
    out.resize(STAMP_W * STAMP_H, 16);
    for bit in 0..STAMP_BITS {
        let one = (ms >> bit) & 1 == 1;
        for (row, white) in [(1 + bit / 16, one), (3 + bit / 16, !one)] {
            if !white {
                continue;
            }
            let (x0, y0) = ((bit % 16) * BLOCK, row * BLOCK);
            for y in y0..y0 + BLOCK {
                out[y * STAMP_W + x0..y * STAMP_W + x0 + BLOCK].fill(235);
            }
        }
    }
    // Grey chroma.
    out.resize(STAMP_W * STAMP_H * 3 / 2, 128);
}

/// When the picture shown was captured (ms since the epoch), from its stamp; `None` if it
/// is not a readable stamp.
fn read_stamp(fb: &lookout::core::frame::Framebuffer, now_ms: u64) -> Option<u64> {
    if (fb.width() as usize, fb.height() as usize) != (STAMP_W, STAMP_H) {
        return None;
    }
    let px = fb.pixels();
    let white = |bx: usize, row: usize| {
        let (x0, y0) = (bx * BLOCK + 10, row * BLOCK + 10);
        let sum: u32 = (y0..y0 + 20)
            .flat_map(|y| (x0..x0 + 20).map(move |x| (y * STAMP_W + x) * 4))
            .map(|i| u32::from(px[i]))
            .sum();
        sum / 400 > 128
    };
    let mut stamp = 0u64;
    for bit in 0..STAMP_BITS {
        let one = white(bit % 16, 1 + bit / 16);
        if one == white(bit % 16, 3 + bit / 16) {
            return None;
        }
        stamp |= u64::from(one) << bit;
    }
    let at = (now_ms & !0xffff_ffff) | stamp;
    Some(if at > now_ms { at - (1 << 32) } else { at })
}

/// A live camera for `ffmpeg`: raw stamped pictures at 24 fps over a TCP connection that
/// `ffmpeg` makes to 127.0.0.1, each stamped with the wall-clock time it was written.
struct StampSource {
    port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
    socket: Arc<std::sync::Mutex<Option<std::net::TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StampSource {
    fn start() -> Result<Self> {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let socket = Arc::new(std::sync::Mutex::new(None));
        let (stopped, shared) = (stop.clone(), socket.clone());
        let thread = std::thread::Builder::new()
            .name("stamp-source".into())
            .spawn(move || {
                let mut out = loop {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    match listener.accept() {
                        Ok((s, _)) => break s,
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                let _ = out.set_nonblocking(false);
                *shared.lock().unwrap_or_else(|p| p.into_inner()) = out.try_clone().ok();
                let start = Instant::now();
                let mut frame = Vec::new();
                for n in 0u32.. {
                    let due = start + Duration::from_secs(u64::from(n)) / 24;
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    stamped_frame(wall_ms(), &mut frame);
                    if stopped.load(Ordering::Relaxed) || out.write_all(&frame).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Self {
            port,
            stop,
            socket,
            thread: Some(thread),
        })
    }

    /// `ffmpeg`'s input options for this source.
    fn input(&self) -> Vec<String> {
        [
            "-f",
            "rawvideo",
            "-pixel_format",
            "yuv420p",
            "-video_size",
            "640x360",
            "-framerate",
            "24",
            "-probesize",
            "32",
            "-analyzeduration",
            "0",
            "-i",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("tcp://127.0.0.1:{}", self.port)])
        .collect()
    }
}

impl Drop for StampSource {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(s) = self
            .socket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the status line said against what the picture shows, over one watch.
#[derive(Debug, Default)]
struct BehindReadings {
    /// (shown − true) distance behind live, ms, per reading.
    errors: Vec<i64>,
    /// The true distance behind live, ms, per reading.
    truth: Vec<u64>,
    estimated: bool,
}

impl BehindReadings {
    fn median(v: &mut [i64]) -> i64 {
        v.sort_unstable();
        v[v.len() / 2]
    }
}

/// Plays the stamped stream at `url` for `watch` and, every quarter second, compares the
/// distance behind live Lookout reports for the picture it shows with the truth the
/// picture's stamp tells.
fn watch_behind(url: &str, watch: Duration) -> Result<BehindReadings> {
    let rt = tokio::runtime::Runtime::new()?;
    let mut handle = session::spawn(
        rt.handle(),
        url.parse()?,
        SessionConfig::default(),
        noop_waker(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.stats().sample().captured_ms.is_none() {
        if Instant::now() > deadline {
            bail!("no picture within 20 s");
        }
        while let Some(event) = handle.try_recv_event() {
            if let SessionEvent::State(s) = event
                && s.is_final()
            {
                bail!("the session ended: {s:?}");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut readings = BehindReadings::default();
    let start = Instant::now();
    while start.elapsed() < watch {
        std::thread::sleep(Duration::from_millis(250));
        let before = handle.stats().sample();
        let Some(fb) = handle.frames().snapshot() else {
            continue;
        };
        let after = handle.stats().sample();
        let now = wall_ms();
        // The picture changed while it was read: try again.
        let (Some(captured), true) = (after.captured_ms, before.updates == after.updates) else {
            continue;
        };
        let Some(truly) = read_stamp(&fb, now) else {
            continue;
        };
        readings.errors.push(truly as i64 - captured as i64);
        readings.truth.push(now.saturating_sub(truly));
        readings.estimated |= after.behind_live_estimated;
    }
    handle.send(lookout::core::event::Command::Stop);
    if readings.errors.len() < 10 {
        bail!("only {} readable pictures", readings.errors.len());
    }
    Ok(readings)
}

/// `ffmpeg` encoding the stamped source as `producer` does; Lookout's "behind live"
/// against the truth.
fn behind_live_against(producer: &Producer, name: &str) -> Result<BehindReadings> {
    let dir = tempfile::tempdir()?;
    let source = StampSource::start()?;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "warning"])
        .args(source.input());
    let hls = LiveHls::start_with(dir.path(), &mut cmd, producer)?;
    let mut r = watch_behind(&hls.playlist_url(), Duration::from_secs(12))?;
    let truth = {
        let mut t: Vec<i64> = r.truth.iter().map(|&t| t as i64).collect();
        BehindReadings::median(&mut t)
    };
    let worst = r.errors.iter().map(|e| e.abs()).max().unwrap_or(0);
    println!(
        "{name}: truly {:.2} s behind live (median of {}); Lookout said {} by a median {} ms, at worst {} ms{}",
        truth as f64 / 1000.0,
        r.errors.len(),
        if BehindReadings::median(&mut r.errors) >= 0 {
            "more"
        } else {
            "less"
        },
        BehindReadings::median(&mut r.errors).abs(),
        worst,
        if r.estimated {
            " (marked as an estimate)"
        } else {
            ""
        },
    );
    drop(hls);
    drop(source);
    Ok(r)
}

/// How far the figure may be from the truth with program date-times. FFmpeg dates a
/// stream's first segment by the moment its muxer opened, which follows the first
/// picture's capture by the encoder's start-up, and every later date carries that offset;
/// dates have ms resolution. Measured here: 3 ms (zero latency) and 18 ms (lookahead),
/// both too small. 150 ms leaves room for a slower start-up on a loaded machine and is
/// still a tenth of what the figure missed before dates were read (the encoder's 2 s).
const DATED_TOLERANCE_MS: i64 = 150;

/// x264 as a low-latency live encoder.
const ZERO_LATENCY: &[&str] = &["-preset", "veryfast", "-tune", "zerolatency"];
/// Segments listed with program date-times.
const DATED: &str = "delete_segments+program_date_time+temp_file";

#[test]
fn behind_live_is_what_the_screen_shows_with_program_date_times() -> Result<()> {
    if !have_ffmpeg()? {
        return Ok(());
    }
    let zero_latency = Producer {
        x264: ZERO_LATENCY,
        hls_flags: DATED,
    };
    // x264's defaults: 40 frames of lookahead and B-frames, about 2 s more delay.
    let lookahead = Producer {
        x264: &["-preset", "medium"],
        hls_flags: DATED,
    };
    for (producer, name) in [
        (&zero_latency, "zero-latency x264"),
        (&lookahead, "x264 lookahead"),
    ] {
        let r = behind_live_against(producer, name)?;
        assert!(!r.estimated, "{name}: dated pictures are not estimates");
        let worst = r.errors.iter().map(|e| e.abs()).max().unwrap_or(0);
        assert!(
            worst <= DATED_TOLERANCE_MS,
            "{name}: the figure was {worst} ms off what the screen showed: {:?}",
            r.errors
        );
    }
    Ok(())
}

#[test]
fn behind_live_without_program_date_times_is_marked_an_estimate() -> Result<()> {
    if !have_ffmpeg()? {
        return Ok(());
    }
    let undated = Producer {
        x264: ZERO_LATENCY,
        hls_flags: "delete_segments+temp_file",
    };
    let r = behind_live_against(&undated, "zero-latency x264, no program date-times")?;
    assert!(r.estimated, "an undated stream's figure is an estimate");
    Ok(())
}
