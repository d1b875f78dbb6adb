//! RFB decoding speed: our `RfbClient` decoding recorded 1080p sessions from memory.
//!
//! For each encoding, `lookout::sim::capture` records what the simulator's server sends a
//! 1920×1080 client: one full-screen update, then 120 incremental updates (5 s of the
//! synthetic desktop at 24 fps: pointer moves, a spinner, the page scrolling as CopyRects).
//! Two benchmarks per encoding, each timing only the decoding (the handshake and the
//! framebuffer allocation happen before the clock starts):
//! - `session_1080p`: the whole session, throughput in wire bytes;
//! - `full_update_1080p`: the first, full-screen update alone.
//!
//! After each group the median figures are printed too: wire MB/s, updates/s, decoded
//! megapixels/s (areas of all rectangles, CopyRect included) and the full-update time.
//! `cargo bench --bench decode` runs everything in about two minutes on two cores.

// A bench that cannot record or decode its input has nothing to measure: panicking is the
// right answer there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lookout::core::source::rfb::{
    EncodingPreference, RfbClient, RfbError, RfbOptions, ServerEvent,
};
use lookout::sim::capture::{self, CaptureEncoding, DEFAULT_JPEG_QUALITY};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// Incremental updates after the full one: 5 s at 24 fps.
const UPDATES: usize = 120;

fn options(encoding: CaptureEncoding) -> RfbOptions {
    let (encodings, jpeg_quality) = match encoding {
        CaptureEncoding::Raw => (EncodingPreference::Raw, None),
        CaptureEncoding::Hextile => (EncodingPreference::Hextile, None),
        CaptureEncoding::Zrle => (EncodingPreference::Zrle, None),
        CaptureEncoding::TightLossless => (EncodingPreference::Tight, None),
        CaptureEncoding::TightJpeg => (EncodingPreference::Tight, Some(DEFAULT_JPEG_QUALITY)),
    };
    RfbOptions {
        encodings,
        jpeg_quality,
        ..RfbOptions::default()
    }
}

/// What one decode of a recording did.
#[derive(Clone, Copy, Debug, Default)]
struct Decoded {
    updates: usize,
    pixels: u64,
}

/// Connects to `bytes` (untimed), then decodes up to `max_updates` updates, timing only
/// that.
fn decode(bytes: &[u8], opts: &RfbOptions, max_updates: usize) -> (Duration, Decoded) {
    let mut r = bytes;
    let mut sink = Vec::with_capacity(16 * 1024);
    let mut client = RfbClient::connect(&mut r, &mut sink, opts).unwrap();
    let mut done = Decoded::default();
    let start = Instant::now();
    while done.updates < max_updates {
        match client.read_message(&mut r, &mut sink) {
            Ok(ServerEvent::Update(info)) => {
                done.updates += 1;
                done.pixels += info.dirty.iter().map(|d| d.area()).sum::<u64>();
            }
            Ok(_) => {}
            Err(RfbError::Closed) => break,
            Err(e) => panic!("decoding failed: {e}"),
        }
    }
    let elapsed = start.elapsed();
    black_box(client.framebuffer());
    (elapsed, done)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Median figures of one encoding, for the summary.
#[derive(Clone, Copy, Debug)]
struct Figures {
    encoding: CaptureEncoding,
    session_bytes: usize,
    session: Duration,
    decoded: Decoded,
    full_bytes: usize,
    full: Duration,
}

impl Figures {
    fn print(&self) {
        let secs = self.session.as_secs_f64();
        println!(
            "{:>10}: session {:6.1} MB in {:7.2} ms = {:7.1} MB/s, {:6.0} updates/s, \
             {:6.0} Mpx/s | full update {:5.2} MB in {:6.2} ms",
            self.encoding.name(),
            self.session_bytes as f64 / 1e6,
            secs * 1e3,
            self.session_bytes as f64 / 1e6 / secs,
            self.decoded.updates as f64 / secs,
            self.decoded.pixels as f64 / 1e6 / secs,
            self.full_bytes as f64 / 1e6,
            self.full.as_secs_f64() * 1e3,
        );
    }
}

/// Times each of `iters` decodes separately, keeping every time for the printed median.
fn run(
    bytes: &[u8],
    opts: &RfbOptions,
    max: usize,
    log: &RefCell<Vec<Duration>>,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (t, _) = decode(bytes, opts, max);
        log.borrow_mut().push(t);
        total += t;
    }
    total
}

fn bench_encoding(c: &mut Criterion, encoding: CaptureEncoding, all: &mut Vec<Figures>) {
    let session = capture::synthetic_session(encoding, WIDTH, HEIGHT, UPDATES, None).unwrap();
    let full = capture::synthetic_session(encoding, WIDTH, HEIGHT, 0, None).unwrap();
    let opts = options(encoding);
    let (_, decoded) = decode(&session, &opts, usize::MAX);
    assert_eq!(decoded.updates, UPDATES + 1, "{encoding:?}");

    let session_times = RefCell::new(Vec::new());
    let full_times = RefCell::new(Vec::new());
    let mut group = c.benchmark_group(format!("decode/{}", encoding.name()));
    group.throughput(Throughput::Bytes(session.len() as u64));
    group.bench_function("session_1080p", |b| {
        b.iter_custom(|iters| run(&session, &opts, usize::MAX, &session_times, iters));
    });
    group.throughput(Throughput::Bytes(full.len() as u64));
    group.bench_function("full_update_1080p", |b| {
        b.iter_custom(|iters| run(&full, &opts, 1, &full_times, iters));
    });
    group.finish();

    let figures = Figures {
        encoding,
        session_bytes: session.len(),
        session: median(&mut session_times.borrow_mut()),
        decoded,
        full_bytes: full.len(),
        full: median(&mut full_times.borrow_mut()),
    };
    figures.print();
    all.push(figures);
}

fn decode_benches(c: &mut Criterion) {
    let mut all = Vec::new();
    for encoding in CaptureEncoding::ALL {
        bench_encoding(c, encoding, &mut all);
    }
    println!("\nRFB decode, {WIDTH}x{HEIGHT}, 1 full + {UPDATES} incremental updates (medians):");
    for f in &all {
        f.print();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = decode_benches
}
criterion_main!(benches);
