//! HLS figures: decode + convert of a 720p H.264 frame, and, against the simulator's live
//! AgentStation stream (2 s segments), the time from stream URL to first picture and the
//! distance behind live.
//!
//! `cargo bench --bench hls`. Targets (issue 5): decode + convert ≤ 4 ms per 720p frame;
//! URL → first frame ≤ 0.5 s; median behind live ≤ 2.5 s.
//!
//! The 720p clip is made by the `ffmpeg` program (installed by `packaging/setup.sh`):
//! 10 s of `testsrc2` at 24 fps, libx264 High, a keyframe every 48 frames, as the
//! AgentStation seed describes its stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;
use lookout::core::config::AgentStationSettings;
use lookout::core::event::{SessionEvent, SessionState, noop_waker};
use lookout::core::provider::agentstation::{AgentStationClient, MediaKind};
use lookout::core::redact::Secret;
use lookout::core::session::{self, SessionConfig};
use lookout::core::source::SourceSpec;
use lookout::core::source::hls::decode::{RgbaConverter, init_ffmpeg, video_decoder};
use lookout::sim::{SimConfig, SimHandle};

/// How many times the stream is opened for the URL → first picture figure.
const OPENS: usize = 10;
/// How long the distance behind live is sampled.
const WATCH: Duration = Duration::from_secs(30);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Opens the simulator's live stream `OPENS` times (from its playlist URL to the first
/// picture), then watches it for `WATCH`, sampling how far behind live it is.
fn live_figures() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(SimHandle::start(SimConfig::default())).unwrap();
    let settings = AgentStationSettings {
        base_url: Some(sim.agentstation_base_url()),
        token: Some(Secret::new(sim.agentstation_token())),
        ..AgentStationSettings::default()
    };
    // The playlist URL, as `recorder/stream` gives it; wait for the encoder's first
    // segments so every open finds a live stream.
    let client = AgentStationClient::new(
        lookout::core::net::http_client().unwrap(),
        settings.base_url(),
        settings.token.clone(),
    );
    let url = rt
        .block_on(client.recorder_stream_url("ws-demo", MediaKind::Video))
        .unwrap();
    let http = lookout::core::net::http_client().unwrap();
    let segments = |http: reqwest::Client, url: url::Url| async move {
        let text = http.get(url).send().await.ok()?.text().await.ok()?;
        Some(text.matches("#EXTINF").count())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt
        .block_on(segments(http.clone(), url.clone()))
        .unwrap_or(0)
        < 2
    {
        assert!(Instant::now() < deadline, "no segments from the simulator");
        std::thread::sleep(Duration::from_millis(200));
    }
    let source = SourceSpec::Hls { url: url.clone() };
    let mut config = SessionConfig::default();
    config.settings.agentstation = settings;
    let mut first = Vec::new();
    for _ in 0..OPENS {
        let started = Instant::now();
        let mut h = session::spawn(rt.handle(), source.clone(), config.clone(), noop_waker());
        rt.block_on(async {
            loop {
                match h.recv_event().await {
                    Some(SessionEvent::State(SessionState::Live(_))) => break,
                    Some(SessionEvent::State(s)) if s.is_final() => panic!("{s:?}"),
                    None => panic!("session ended"),
                    _ => {}
                }
            }
        });
        first.push(started.elapsed().as_secs_f64() * 1000.0);
        h.send(lookout::core::event::Command::Stop);
        std::thread::sleep(Duration::from_millis(300));
    }
    let first_ms = median(&mut first);
    println!(
        "hls: stream URL → first picture (simulator, 720p, 2 s segments), median of {OPENS}: {first_ms:.0} ms (target ≤ 500 ms: {})",
        if first_ms <= 500.0 { "met" } else { "NOT met" }
    );

    let h = session::spawn(rt.handle(), source, config, noop_waker());
    std::thread::sleep(Duration::from_secs(3));
    let mut behind = Vec::new();
    let start = Instant::now();
    let shown = h.stats().sample().updates;
    while start.elapsed() < WATCH {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(ms) = h.stats().sample().behind_live_ms {
            behind.push(ms as f64 / 1000.0);
        }
    }
    let shown = h.stats().sample().updates - shown;
    let worst = behind.iter().copied().fold(0.0, f64::max);
    let med = median(&mut behind);
    println!(
        "hls: behind live over {} s (simulator, 2 s segments): median {med:.2} s, worst {worst:.2} s, {:.1} pictures/s (target median ≤ 2.5 s: {})",
        WATCH.as_secs(),
        shown as f64 / WATCH.as_secs_f64(),
        if med <= 2.5 { "met" } else { "NOT met" }
    );
    h.send(lookout::core::event::Command::Stop);
    rt.block_on(sim.shutdown());
}

/// This process's CPU time (user + system) from /proc, in ms (10 ms ticks).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) * 10.0
}

/// Decodes every frame of `path`, converting each when `convert`; returns the frames and
/// the time taken.
fn decode_all(path: &std::path::Path, convert: bool) -> (u32, Duration) {
    let mut input = ffmpeg::format::input(path).expect("open the clip");
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .expect("a video stream");
    let index = stream.index();
    let mut decoder = video_decoder(stream.parameters()).unwrap();
    let mut converter = RgbaConverter::default();
    let mut frame = ffmpeg::frame::Video::empty();
    let mut frames = 0u32;
    let mut checksum = 0u64;
    let start = Instant::now();
    let mut take = |decoder: &mut ffmpeg::decoder::Video, frames: &mut u32| {
        while decoder.receive_frame(&mut frame).is_ok() {
            *frames += 1;
            if convert {
                let fb = converter.convert(&frame).unwrap();
                checksum += u64::from(fb.pixels()[fb.pixels().len() / 2]);
            }
        }
    };
    for (s, packet) in input.packets() {
        if s.index() == index {
            decoder.send_packet(&packet).unwrap();
            take(&mut decoder, &mut frames);
        }
    }
    decoder.send_eof().unwrap();
    take(&mut decoder, &mut frames);
    std::hint::black_box(checksum);
    (frames, start.elapsed())
}

fn main() {
    init_ffmpeg().expect("FFmpeg");
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.ts");
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=1280x720:rate=24")
        .args([
            "-t",
            "10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
        ])
        .args(["-g", "48", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        println!("hls: skipped: the ffmpeg program is needed to make the test clip");
        return;
    }
    // Warm up, then the best of three passes (the machine is shared).
    decode_all(&clip, true);
    let best = |convert| {
        (0..3)
            .map(|_| decode_all(&clip, convert))
            .min_by_key(|(_, t)| *t)
            .unwrap()
    };
    let (frames, decode) = best(false);
    let cpu_before = cpu_ms();
    let (_, both) = best(true);
    let cpu_per_frame = (cpu_ms() - cpu_before) / 3.0 / f64::from(frames);
    let per = |t: Duration| t.as_secs_f64() * 1000.0 / f64::from(frames);
    println!(
        "hls: 720p H.264 High, {frames} frames: decode {:.2} ms/frame, decode + convert to RGBA {:.2} ms/frame ({cpu_per_frame:.2} ms CPU/frame over FFmpeg's frame threads) (target ≤ 4 ms: {})",
        per(decode),
        per(both),
        if per(both) <= 4.0 { "met" } else { "NOT met" }
    );
    live_figures();
}
