//! What a recording holds per hour for each source kind, against the stream's own bytes:
//! the simulator's Optexity (RFB), Chaser (preview JPEGs) and AgentStation (HLS) demos at
//! 1280×720, each recorded for `LOOKOUT_SIZE_SECS` (30) seconds as the window records them,
//! then the file read back. "Stream" is the payload of the stream's records (RFB bytes,
//! preview messages, HLS segments), keyframes apart; the target is file ≤ 1.3 × (stream +
//! keyframes).
//!
//! ```text
//! cargo bench --bench record_size
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lookout::core::event::{Command, noop_waker};
use lookout::core::record::TrackSink;
use lookout::core::record::format::Kind;
use lookout::core::record::reader::Reader;
use lookout::core::record::writer;
use lookout::core::session::{self, SessionConfig};
use lookout::sim::{SimConfig, SimHandle};

async fn measure(sim: &SimHandle, source: &str, secs: u64, dir: &std::path::Path) {
    let path = dir.join(format!("{}.lkrec", source.replace(':', "-")));
    let (sink, w) = writer::create(&path, &serde_json::json!({})).unwrap();
    let config = SessionConfig {
        settings: sim.settings(),
        record: Some(TrackSink::new(sink.clone(), 0)),
        ..SessionConfig::default()
    };
    let h = session::spawn(
        &tokio::runtime::Handle::current(),
        source.parse().unwrap(),
        config,
        noop_waker(),
    );
    tokio::time::sleep(Duration::from_secs(secs)).await;
    h.send(Command::Stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(h);
    let dropped = sink.stats().dropped;
    drop(sink);
    tokio::task::spawn_blocking(move || w.finish())
        .await
        .unwrap();
    let mut reader = Reader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let (mut stream, mut keyframes, mut records) = (0u64, 0u64, 0u64);
    while let Some(r) = reader.next_record().unwrap() {
        records += 1;
        match r.head.known_kind() {
            Some(Kind::Wire | Kind::Message | Kind::Segment) => stream += r.payload.len() as u64,
            Some(Kind::Keyframe) => keyframes += r.payload.len() as u64,
            _ => {}
        }
    }
    let file = std::fs::metadata(&path).unwrap().len();
    let per_hour = |b: u64| b as f64 * 3600.0 / secs as f64 / f64::from(1 << 20);
    println!(
        "{source:24} file {:7.1} MiB/hour = stream {:7.1} + keyframes {:5.1} MiB/hour ({records} records, {dropped} dropped); file / (stream + keyframes) = {:.4}",
        per_hour(file),
        per_hour(stream),
        per_hour(keyframes),
        file as f64 / (stream + keyframes).max(1) as f64
    );
}

fn main() {
    let secs: u64 = std::env::var("LOOKOUT_SIZE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = SimHandle::start(SimConfig {
            width: 1280,
            height: 720,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for source in ["optexity:demo", "chaser:demo", "agentstation:ws-demo"] {
            measure(&sim, source, secs, dir.path()).await;
        }
        sim.shutdown().await;
    });
}
