//! `lookout snapshot` as a user runs it: the real binary against the simulator.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use lookout::sim::{SimConfig, SimHandle};

async fn snapshot(sim: &SimHandle, args: &[&str], key: &str) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.arg("snapshot")
        .args(args)
        .env("OPTEXITY_BASE_URL", sim.base_url())
        .env("OPTEXITY_API_KEY", key)
        .env("CHASER_BASE_URL", sim.chaser_base_url())
        .env("CHASER_KEY", sim.chaser_key())
        .env("AGENTSTATION_BASE_URL", sim.agentstation_base_url())
        .env("AGENTSTATION_TOKEN", sim.agentstation_token())
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("lookout-test-no-config"),
        )
        .env_remove("LOOKOUT_PROFILE");
    cmd.output().await.unwrap()
}

fn read_png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_writes_the_remote_picture_at_its_size() {
    let sim = SimHandle::start(SimConfig {
        width: 800,
        height: 500,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (encoding, file) in [("auto", "a.png"), ("raw", "r.png"), ("zrle", "z.png")] {
        let out = dir.path().join(file);
        let result = snapshot(
            &sim,
            &[
                "optexity:demo",
                "-o",
                out.to_str().unwrap(),
                "--timeout",
                "20",
                "--encoding",
                encoding,
            ],
            sim.api_key(),
        )
        .await;
        assert!(
            result.status.success(),
            "{encoding}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let (w, h, pixels) = read_png(&out);
        assert_eq!((w, h), (800, 500));
        let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(distinct.len() > 8, "{encoding}: picture is nearly blank");
    }
    sim.shutdown().await;
}

/// Preview sources too: a Chaser session, and the same stream as a bare `preview+ws://` URL
/// (with a token minted by hand, as an agent-browser port needs none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_works_on_chaser_and_preview_sources() {
    let sim = SimHandle::start(SimConfig {
        width: 720,
        height: 450,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = lookout::core::provider::chaser::ChaserClient::new(
        lookout::core::net::http_client().unwrap(),
        &sim.chaser_base_url(),
        Some(lookout::core::redact::Secret::new(sim.chaser_key())),
    );
    let token = client.mint("demo").await.unwrap();
    let preview = format!("preview+{}", token.url);
    let dir = tempfile::tempdir().unwrap();
    for (source, file) in [("chaser:demo", "c.png"), (preview.as_str(), "p.png")] {
        let out = dir.path().join(file);
        let result = snapshot(
            &sim,
            &[source, "-o", out.to_str().unwrap(), "--timeout", "20"],
            sim.api_key(),
        )
        .await;
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(result.status.success(), "{source}: {stderr}");
        assert!(
            !stderr.contains(token.url.query().unwrap_or("-")),
            "the token leaked: {stderr}"
        );
        let (w, h, pixels) = read_png(&out);
        assert_eq!((w, h), (720, 450));
        let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(distinct.len() > 8, "{source}: picture is nearly blank");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_failures_exit_nonzero_with_one_clear_line() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let out_arg = out.to_str().unwrap();
    let cases = [
        (
            "optexity:demo-finished",
            sim.api_key(),
            "task demo-finished is not running (409)",
        ),
        ("optexity:ghost", sim.api_key(), "not found (404)"),
        ("optexity:demo", "bad-key", "(401)"),
    ];
    for (source, key, want) in cases {
        let result = snapshot(&sim, &[source, "-o", out_arg, "--timeout", "10"], key).await;
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{source} succeeded");
        assert!(stderr.contains(want), "{source}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{source}: {stderr}");
        assert!(!stderr.contains("bad-key"), "the key leaked: {stderr}");
        assert!(!out.exists(), "{source} wrote a file");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_of_an_agentstation_workstation_is_its_video() {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ws.png");
    let result = snapshot(
        &sim,
        &[
            "agentstation:ws-demo",
            "-o",
            out.to_str().unwrap(),
            "--timeout",
            "20",
        ],
        sim.api_key(),
    )
    .await;
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let (w, h, pixels) = read_png(&out);
    assert_eq!((w, h), (1280, 720));
    // The simulated desktop: mostly a light page, not a blank picture.
    let light = pixels
        .chunks_exact(3)
        .filter(|p| p.iter().all(|c| *c > 200))
        .count();
    assert!(light > (w * h / 4) as usize, "{light} light pixels");
    // An idle recorder: one plain line, non-zero exit.
    let result = snapshot(
        &sim,
        &[
            "agentstation:ws-idle",
            "-o",
            out.to_str().unwrap(),
            "--timeout",
            "20",
        ],
        sim.api_key(),
    )
    .await;
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("is idle") && stderr.contains("--start-recording"),
        "{stderr}"
    );
    assert!(!stderr.contains(sim.agentstation_token()), "{stderr}");
}
