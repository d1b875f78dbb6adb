//! The soak: every live source kind watched at once against the simulator for an hour,
//! each dropped every 30 s; prints the process's descriptors, threads and resident memory
//! at the start and the end. `tests/faults.rs` is the short version CI runs.
//!
//! `cargo bench --bench soak`; `LOOKOUT_SOAK_SECS` (default 3600) and
//! `LOOKOUT_SOAK_DROP_SECS` (default 30) set the length and the pace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/support/faults.rs"]
mod faults;

use std::time::{Duration, Instant};

use faults::{Kind, Resources, run_drops_every};
use lookout::sim::{SimConfig, SimHandle};

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let secs = env_secs("LOOKOUT_SOAK_SECS", 3600);
    let every = env_secs("LOOKOUT_SOAK_DROP_SECS", 30).max(1);
    let drops = (secs / every).max(1) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("soak-worker")
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
        let start = Resources::now();
        let began = Instant::now();
        println!(
            "soak: {} kinds at once, a drop every {every} s for {secs} s ({drops} drops each)",
            Kind::ALL.len()
        );
        println!(
            "soak: start: {} descriptors, {} threads, {} MiB resident",
            start.fds, start.threads, start.rss_mib
        );
        let every = Duration::from_secs(every);
        let reports = futures_util::future::join_all(
            Kind::ALL.map(|kind| run_drops_every(&sim, kind, drops, every)),
        )
        .await;
        for (kind, report) in Kind::ALL.iter().zip(reports) {
            println!("soak: {kind:?}: {report}");
        }
        let end = Resources::now();
        println!(
            "soak: end after {:.0} s: {} descriptors, {} threads, {} MiB resident",
            began.elapsed().as_secs_f64(),
            end.fds,
            end.threads,
            end.rss_mib
        );
        sim.shutdown().await;
    });
}
