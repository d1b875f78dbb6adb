//! 100 forced drops in a row on each live source kind, against the simulator: each time
//! the session reconnects through its provider (a fresh stream URL or token), goes live
//! again and its pictures or lines resume, and the process's descriptors, threads and
//! resident memory stay flat. (`benches/soak.rs` is the hour-long version.)

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/faults.rs"]
mod faults;

use faults::{Kind, Resources, run_drops};
use lookout::sim::{SimConfig, SimHandle};

const DROPS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_live_source_survives_a_hundred_drops_without_leaking() {
    let sim = SimHandle::start(SimConfig {
        width: 320,
        height: 200,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // One kind after another: the resource counts are the whole process's.
    for kind in Kind::ALL {
        let report = run_drops(&sim, kind, DROPS).await;
        println!("{kind:?}: {report}");
        let Resources {
            fds,
            threads,
            rss_mib,
        } = report.growth();
        assert!(fds <= 4, "{kind:?} leaked descriptors: {report}");
        assert!(threads <= 4, "{kind:?} leaked threads: {report}");
        assert!(rss_mib <= 32, "{kind:?} grew: {report}");
        assert!(
            report.fresh >= DROPS as u64,
            "{kind:?}: only {} fresh URLs or tokens for {DROPS} reconnects",
            report.fresh
        );
    }
    sim.shutdown().await;
}
