//! Every kind of credential, set for real, never reaches the terminal: the real binary
//! against the simulator with `LOOKOUT_LOG=trace` (every crate's diagnostics, the WebSocket
//! handshakes included), stdout and stderr searched for each secret and for any
//! `token=`-style value left unmasked.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lookout::core::provider::waldiez::{Credentials, WaldiezClient, WsAuth};
use lookout::core::redact::Secret;
use lookout::sim::{SimConfig, SimHandle};

const VNC_PASSWORD: &str = "vnc-pass-4321";

/// Runs `lookout args…` at trace level with every provider's credentials in the
/// environment; stops it after `for_` if it is still running. Returns all it printed.
async fn run(sim: &SimHandle, args: &[&str], for_: Duration) -> String {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.args(args)
        .env("LOOKOUT_LOG", "trace")
        .env("OPTEXITY_BASE_URL", sim.base_url())
        .env("OPTEXITY_API_KEY", sim.api_key())
        .env("CHASER_BASE_URL", sim.chaser_base_url())
        .env("CHASER_KEY", sim.chaser_key())
        .env("WALDIEZ_BASE_URL", sim.waldiez_base_url())
        .env("AGENTSTATION_BASE_URL", sim.agentstation_base_url())
        .env("AGENTSTATION_TOKEN", sim.agentstation_token())
        .env("LOOKOUT_VNC_PASSWORD", VNC_PASSWORD)
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("lookout-test-no-config"),
        )
        .env_remove("LOOKOUT_PROFILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let output = tokio::spawn(child.wait_with_output());
    tokio::time::sleep(for_).await;
    // Still running (a log that follows a live task): SIGTERM, then collect.
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let out = output.await.unwrap().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails on any secret, any escape character, and on any `token=`/`access_token=` value that is not `***`.
fn assert_clean(what: &str, output: &str, secrets: &[&str]) {
    assert!(
        output.len() > 300,
        "{what}: trace output is too short to mean anything:\n{output}"
    );
    for secret in secrets {
        assert!(
            !output.contains(secret),
            "{what}: {secret:?} appears in:\n{}",
            around(output, secret)
        );
    }
    // Output to a pipe, not a terminal: no colour codes, and no server's escapes.
    assert!(
        !output.contains('\u{1b}'),
        "{what}: an escape sequence in output that is not a terminal:\n{}",
        around(output, "\u{1b}")
    );
    for (at, _) in output.match_indices("token=") {
        let value = &output[at + "token=".len()..];
        assert!(
            value.starts_with("***"),
            "{what}: unmasked token at:\n{}",
            &output[at.saturating_sub(80)..(at + 80).min(output.len())]
        );
    }
}

fn around<'a>(text: &'a str, needle: &str) -> &'a str {
    let at = text.find(needle).unwrap_or(0);
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(120)
        .map_or(0, |(i, _)| i);
    let end = (at + 120).min(text.len());
    text.get(start..end).unwrap_or(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_the_terminal_even_at_trace() {
    let sim = SimHandle::start(SimConfig {
        width: 640,
        height: 400,
        vnc_password: Some(VNC_PASSWORD.into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let shot = tempfile::tempdir().unwrap();
    let png = shot.path().join("x.png");
    let png = png.to_str().unwrap();
    let long = Duration::from_secs(4);
    let fixed = [
        sim.api_key(),
        sim.chaser_key(),
        sim.waldiez_client_secret(),
        sim.agentstation_token(),
        VNC_PASSWORD,
    ];

    for source in ["optexity:demo", "chaser:demo", "agentstation:ws-demo"] {
        let out = run(
            &sim,
            &["snapshot", source, "-o", png, "--timeout", "20"],
            long,
        )
        .await;
        assert_clean(source, &out, &fixed);
    }
    let vnc = format!("vnc://:{VNC_PASSWORD}@{}", sim.rfb_tcp_addr());
    let out = run(&sim, &["snapshot", &vnc, "-o", png], long).await;
    assert_clean("vnc:// with a password", &out, &fixed);

    // Waldiez: client credentials, then a token in each of the four places it can go.
    let client_args = [
        "--waldiez-client-id",
        sim.waldiez_client_id(),
        "--waldiez-client-secret",
        sim.waldiez_client_secret(),
    ];
    let mut args = vec!["logs", "waldiez:demo", "--no-input"];
    args.extend(client_args);
    let out = run(&sim, &args, long).await;
    assert_clean("waldiez client credentials", &out, &fixed);
    let client = WaldiezClient::new(
        lookout::core::net::http_client().unwrap(),
        Some(&sim.waldiez_base_url()),
        Some(Credentials::Client {
            id: sim.waldiez_client_id().into(),
            secret: Secret::new(sim.waldiez_client_secret()),
        }),
        WsAuth::default(),
    );
    let token = client.token().await.unwrap();
    for auth in ["subprotocol", "bearer", "cookie", "query"] {
        let args = [
            "logs",
            "waldiez:demo",
            "--no-input",
            "--waldiez-auth",
            auth,
            "--waldiez-token",
            token.expose(),
        ];
        let out = run(&sim, &args, long).await;
        let mut secrets = fixed.to_vec();
        secrets.push(token.expose());
        assert_clean(&format!("waldiez token by {auth}"), &out, &secrets);
    }
    sim.shutdown().await;
}
