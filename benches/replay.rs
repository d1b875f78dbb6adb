//! A recorded real session, replayed offline: what Lookout's viewer does with each update of
//! x11vnc showing the animating bench page, without the noise of a live run.
//!
//! Record one with the peers benchmark's proxy (the server→client bytes of Lookout's
//! connection, handshake included):
//!
//! ```text
//! LOOKOUT_PEERS_CAPTURE=/tmp/x11vnc LOOKOUT_PEERS_CLIENTS=lookout LOOKOUT_PEERS_ROUNDS=1 \
//!     cargo bench --bench peers
//! LOOKOUT_REPLAY=/tmp/x11vnc.1 cargo bench --bench replay
//! ```
//!
//! Each run decodes every update with `RfbClient` publishing to a `FrameSlot` (the decoder
//! thread's work), then takes the changes and resamples them into a 1280×720 BGRA canvas as
//! the X11 presenter does for a fitted picture (the presenter thread's work), timing the two
//! apart. It prints the best of several runs, per update. Without `LOOKOUT_REPLAY` it
//! says how to record one and exits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout::core::frame::{FrameSlot, Rect, join_neighbours};
use lookout::core::source::rfb::{RfbClient, RfbError, RfbOptions, ServerEvent};
use lookout::ui::picture::resample::{Resampler, Scratch};

const FITTED: [u32; 2] = [1280, 720];
const RUNS: usize = 9;

struct Run {
    updates: usize,
    decode: Duration,
    resample: Duration,
}

fn replay(bytes: &[u8]) -> Run {
    let mut r = bytes;
    let mut sink = Vec::with_capacity(16 * 1024);
    let mut client = RfbClient::connect(&mut r, &mut sink, &RfbOptions::default()).unwrap();
    let slot = Arc::new(FrameSlot::new());
    client.publish_to(slot.clone());
    let mut canvas = vec![0u8; (FITTED[0] * FITTED[1] * 4) as usize];
    let mut scratch = Scratch::default();
    let mut outputs: Vec<Rect> = Vec::new();
    let mut resampler: Option<Resampler> = None;
    let mut run = Run {
        updates: 0,
        decode: Duration::ZERO,
        resample: Duration::ZERO,
    };
    loop {
        let start = Instant::now();
        let event = client.read_message(&mut r, &mut sink);
        run.decode += start.elapsed();
        sink.clear();
        match event {
            Ok(ServerEvent::Update(_)) => run.updates += 1,
            Ok(_) => continue,
            // A recording ends wherever the proxy stopped, maybe inside a message.
            Err(RfbError::Closed | RfbError::Io(_)) => break,
            Err(e) => panic!("the recording does not decode: {e}"),
        }
        let start = Instant::now();
        slot.take(|view| {
            let fb = view.frame;
            let r = resampler.get_or_insert_with(|| {
                Resampler::new([fb.width(), fb.height()], FITTED).expect("a picture to fit")
            });
            outputs.clear();
            let dirty = if view.resized {
                &[fb.full_rect()][..]
            } else {
                view.dirty
            };
            outputs.extend(dirty.iter().map(|d| r.output_rect(*d)));
            join_neighbours(&mut outputs);
            for out in &outputs {
                r.resample_bgra_into(fb, *out, &mut scratch, &mut canvas, FITTED[0] as usize * 4);
            }
        });
        run.resample += start.elapsed();
    }
    black_box(&canvas);
    run
}

/// The fastest run: other work on the machine only ever adds time.
fn best(v: impl Iterator<Item = Duration>) -> Duration {
    v.min().unwrap_or_default()
}

fn main() {
    let Some(path) = std::env::var_os("LOOKOUT_REPLAY") else {
        println!(
            "replay bench: set LOOKOUT_REPLAY to a recording (see the header of benches/replay.rs)"
        );
        return;
    };
    let bytes = std::fs::read(&path).expect("reading the recording");
    let runs: Vec<Run> = (0..RUNS).map(|_| replay(&bytes)).collect();
    let updates = runs[0].updates.max(1);
    let per = |d: Duration| d.as_secs_f64() * 1e3 / updates as f64;
    let decode = best(runs.iter().map(|r| r.decode));
    let resample = best(runs.iter().map(|r| r.resample));
    println!(
        "replay bench: {:?}, {} bytes, {updates} updates; best of {RUNS} runs, per update: \
         decode + publish {:.3} ms, resample to {}x{} {:.3} ms, both {:.3} ms",
        path,
        bytes.len(),
        per(decode),
        FITTED[0],
        FITTED[1],
        per(resample),
        per(decode + resample),
    );
}
