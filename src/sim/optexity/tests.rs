//! End-to-end tests of the simulated Optexity on 127.0.0.1:0: the REST contract, stream
//! tokens, task timelines, and the RFB sessions behind its stream URLs (and the plain TCP
//! endpoint), driven by a small blocking test client (TCP and WebSocket) whose decoder is
//! the spec-written one in `rfb::encode::testdec`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::core::source::rfb::{encodings, vnc_auth_response};
use crate::sim::rfb::encode::testdec::{ClientFb, Source};
use crate::sim::rfb::pixel::PixelFormat;
use crate::sim::test_fixtures::{IO_TIMEOUT, centre, http, small, widget_box};
use crate::sim::*;

async fn get(sim: &SimHandle, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = http().get(format!("{}{path}", sim.base_url()));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn stream_url(sim: &SimHandle, task: &str) -> String {
    let (code, body) = get(
        sim,
        &format!("/api/v1/tasks/{task}/stream"),
        Some(sim.api_key()),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    body["stream_url"].as_str().unwrap().to_string()
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

// ---- a blocking RFB test client -------------------------------------------------------

#[allow(clippy::large_enum_variant)]
enum Pipe {
    Tcp(TcpStream),
    Ws {
        socket: tungstenite::WebSocket<TcpStream>,
        buf: Vec<u8>,
        messages: usize,
        largest: usize,
    },
}

impl Source for Pipe {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
        match self {
            Pipe::Tcp(s) => {
                let mut b = vec![0; n];
                s.read_exact(&mut b)
                    .map_err(|e| format!("{:?}: {e}", e.kind()))?;
                Ok(b)
            }
            Pipe::Ws {
                socket,
                buf,
                messages,
                largest,
            } => {
                while buf.len() < n {
                    match socket.read().map_err(|e| e.to_string())? {
                        tungstenite::Message::Binary(b) => {
                            *messages += 1;
                            *largest = (*largest).max(b.len());
                            buf.extend_from_slice(&b);
                        }
                        tungstenite::Message::Close(_) => return Err("closed".into()),
                        _ => {}
                    }
                }
                Ok(buf.drain(..n).collect())
            }
        }
    }
}

impl Pipe {
    fn tcp(addr: std::net::SocketAddr) -> Pipe {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        Pipe::Tcp(s)
    }

    fn ws(url: &str) -> Result<(Pipe, Option<String>), u16> {
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "binary".parse().unwrap());
        let host = req.uri().authority().unwrap().to_string();
        let s = TcpStream::connect(host).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match tungstenite::client::client(req, s) {
            Ok((socket, resp)) => {
                let proto = resp
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .map(|v| v.to_str().unwrap().to_string());
                let pipe = Pipe::Ws {
                    socket,
                    buf: Vec::new(),
                    messages: 0,
                    largest: 0,
                };
                Ok((pipe, proto))
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                Err(resp.status().as_u16())
            }
            Err(e) => panic!("WebSocket handshake: {e}"),
        }
    }

    fn send(&mut self, b: &[u8]) -> Result<(), String> {
        match self {
            Pipe::Tcp(s) => s.write_all(b).map_err(|e| e.to_string()),
            Pipe::Ws { socket, .. } => socket
                .send(tungstenite::Message::Binary(b.to_vec().into()))
                .map_err(|e| e.to_string()),
        }
    }
}

struct Client {
    pipe: Pipe,
    fb: ClientFb,
    name: String,
    updates: usize,
}

/// What the server said during the security phase, for handshake tests.
#[derive(Debug, PartialEq, Eq)]
enum Security {
    Ok,
    Refused(String),
}

fn security(pipe: &mut Pipe, version: &[u8; 12], password: Option<&str>) -> Security {
    assert_eq!(pipe.take(12).unwrap(), b"RFB 003.008\n");
    pipe.send(version).unwrap();
    let v33 = version == b"RFB 003.003\n";
    let chosen = if v33 {
        pipe.u32().unwrap() as u8
    } else {
        let n = pipe.u8().unwrap();
        let types = pipe.take(usize::from(n)).unwrap();
        assert_eq!(types.len(), 1);
        pipe.send(&types).unwrap();
        types[0]
    };
    if chosen == 2 {
        let challenge: [u8; 16] = pipe.take(16).unwrap().try_into().unwrap();
        pipe.send(&vnc_auth_response(password.unwrap_or(""), &challenge))
            .unwrap();
    } else {
        assert_eq!(chosen, 1);
    }
    if (chosen == 2 || version == b"RFB 003.008\n") && pipe.u32().unwrap() != 0 {
        let len = pipe.u32().unwrap() as usize;
        return Security::Refused(String::from_utf8(pipe.take(len).unwrap()).unwrap());
    }
    Security::Ok
}

impl Client {
    fn connect(mut pipe: Pipe, version: &[u8; 12], password: Option<&str>) -> Client {
        assert_eq!(security(&mut pipe, version, password), Security::Ok);
        pipe.send(&[1]).unwrap();
        let w = pipe.u16().unwrap();
        let h = pipe.u16().unwrap();
        let pf: [u8; 16] = pipe.take(16).unwrap().try_into().unwrap();
        assert_eq!(PixelFormat::from_bytes(&pf), PixelFormat::SERVER);
        let len = pipe.u32().unwrap() as usize;
        let name = String::from_utf8(pipe.take(len).unwrap()).unwrap();
        Client {
            pipe,
            fb: ClientFb::new(w.into(), h.into(), PixelFormat::SERVER),
            name,
            updates: 0,
        }
    }

    fn set_encodings(&mut self, list: &[i32]) {
        let mut m = vec![2, 0];
        m.extend_from_slice(&(list.len() as u16).to_be_bytes());
        for e in list {
            m.extend_from_slice(&e.to_be_bytes());
        }
        self.pipe.send(&m).unwrap();
    }

    fn request(&mut self, incremental: bool) {
        let (w, h) = (self.fb.fb.width() as u16, self.fb.fb.height() as u16);
        let mut m = vec![3, u8::from(incremental), 0, 0, 0, 0];
        m.extend_from_slice(&w.to_be_bytes());
        m.extend_from_slice(&h.to_be_bytes());
        self.pipe.send(&m).unwrap();
    }

    /// Sends a PointerEvent.
    fn pointer(&mut self, buttons: u8, (x, y): (u32, u32)) {
        let mut m = vec![5, buttons];
        m.extend_from_slice(&(x as u16).to_be_bytes());
        m.extend_from_slice(&(y as u16).to_be_bytes());
        self.pipe.send(&m).unwrap();
    }

    /// Sends a KeyEvent.
    fn key(&mut self, down: bool, keysym: u32) {
        let mut m = vec![4, u8::from(down), 0, 0];
        m.extend_from_slice(&keysym.to_be_bytes());
        self.pipe.send(&m).unwrap();
    }

    fn read_update(&mut self) -> Result<(), String> {
        let kind = self.pipe.u8()?;
        if kind != 0 {
            return Err(format!("unexpected server message {kind}"));
        }
        self.fb.apply_update_body(&mut self.pipe)?;
        self.updates += 1;
        Ok(())
    }

    /// Requests and applies updates until `done` says so (or panics after 30 s).
    fn run_until(&mut self, mut done: impl FnMut(&Client) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        self.request(false);
        self.read_update().unwrap();
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "gave up after {} updates",
                self.updates
            );
            self.request(true);
            self.read_update().unwrap();
        }
    }

    /// The tick whose full render equals the client's picture, if any up to `max_tick`.
    fn matching_tick(&self, label: &str, overlay: bool, max_tick: u64) -> Option<u64> {
        let (w, h) = (self.fb.fb.width(), self.fb.fb.height());
        (0..=max_tick).rev().find(|&t| {
            let mut d = Desktop::new(w, h, label, t).unwrap();
            d.set_cursor_overlay(overlay);
            d.framebuffer() == &self.fb.fb
        })
    }
}

/// The server closed the socket (as opposed to a read timing out).
fn closed(read: Result<Vec<u8>, String>) -> bool {
    match read {
        Ok(_) => false,
        Err(e) => e.starts_with("UnexpectedEof") || e.starts_with("ConnectionReset"),
    }
}

fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_blocking(f)
}

// ---- REST contract -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_contract_status_codes_and_bodies() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let key = Some(sim.api_key());
    let (code, body) = get(&sim, "/api/v1/tasks/demo/stream", None).await;
    assert_eq!((code, detail(&body)), (401, "Invalid or missing API key"));
    let (code, _) = get(&sim, "/api/v1/tasks/demo/stream", Some("wrong")).await;
    assert_eq!(code, 401);
    let (code, body) = get(&sim, "/api/v1/tasks/nope/stream", key).await;
    assert_eq!((code, detail(&body)), (404, "Task nope not found"));
    sim.add_task(
        "held",
        TaskPlan {
            queued_ms: 600_000,
            running_ms: None,
            end: TaskStatus::Success,
        },
    );
    for task in ["demo-finished", "demo-failed", "held"] {
        let (code, body) = get(&sim, &format!("/api/v1/tasks/{task}/stream"), key).await;
        assert_eq!(
            (code, detail(&body)),
            (409, "Stream not available: task is not running"),
            "{task}"
        );
    }
    let url = stream_url(&sim, "demo").await;
    let port = sim.base_url().rsplit(':').next().unwrap().to_string();
    let prefix = format!("ws://127.0.0.1:{port}/tasks/demo/websockify?token=");
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.len() > prefix.len() + 40);

    let (code, body) = get(&sim, "/api/v1/tasks/demo", key).await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        serde_json::json!({"task_id": "demo", "status": "running"})
    );
    let (_, body) = get(&sim, "/api/v1/tasks/demo-failed", key).await;
    assert_eq!(body["status"], "failed");
    let (_, body) = get(&sim, "/api/v1/tasks/held", key).await;
    assert_eq!(body["status"], "queued");
    assert_eq!(get(&sim, "/api/v1/tasks/nope", key).await.0, 404);
    assert_eq!(get(&sim, "/api/v1/tasks/demo", None).await.0, 401);
    assert_eq!(sim.stats().tokens_issued, 1);
    let ids: Vec<String> = sim.demo_tasks().into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "demo",
            "human",
            "demo-queued",
            "demo-finished",
            "demo-failed"
        ]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_move_from_queued_to_running_to_their_end_on_the_clock() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let key = Some(sim.api_key());
    sim.add_task(
        "q",
        TaskPlan {
            queued_ms: 3_000,
            running_ms: Some(3_000),
            end: TaskStatus::Failed,
        },
    );
    assert_eq!(
        get(&sim, "/api/v1/tasks/q", key).await.1["status"],
        "queued"
    );
    assert_eq!(get(&sim, "/api/v1/tasks/q/stream", key).await.0, 409);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.last().map(String::as_str) != Some("failed") {
        assert!(Instant::now() < deadline, "stuck at {seen:?}");
        let status = get(&sim, "/api/v1/tasks/q", key).await.1["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "running" {
            assert_eq!(get(&sim, "/api/v1/tasks/q/stream", key).await.0, 200);
        }
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, ["queued", "running", "failed"]);
    sim.shutdown().await;
}

// ---- tokens ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_tokens_are_single_use_task_bound_and_unforgeable() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    sim.add_task("other", TaskPlan::running());
    let good = stream_url(&sim, "demo").await;
    let other = stream_url(&sim, "other").await;
    let spare = stream_url(&sim, "demo").await;
    let stats = blocking(move || {
        let (mut pipe, proto) = Pipe::ws(&good).unwrap();
        assert_eq!(proto.as_deref(), Some("binary"));
        assert_eq!(pipe.take(12).unwrap(), b"RFB 003.008\n");
        assert_eq!(Pipe::ws(&good).err(), Some(403), "reuse");
        let wrong_task = other.replace("/tasks/other/", "/tasks/demo/");
        assert_eq!(Pipe::ws(&wrong_task).err(), Some(403), "other task's token");
        let (base, token) = spare.split_once("token=").unwrap();
        let mut forged = token.as_bytes().to_vec();
        forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
        let forged = format!("{base}token={}", String::from_utf8(forged).unwrap());
        assert_eq!(Pipe::ws(&forged).err(), Some(403), "forged");
        assert_eq!(
            Pipe::ws(base.trim_end_matches('?')).err(),
            Some(403),
            "missing"
        );
        // The spare token still works: refusals did not spend it.
        assert!(Pipe::ws(&spare).is_ok());
    })
    .await;
    stats.unwrap();
    let s = sim.stats();
    assert_eq!(
        (s.tokens_issued, s.tokens_reused, s.tokens_invalid),
        (3, 1, 3)
    );
    assert_eq!(s.connections_for("demo"), 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    let sim = SimHandle::start(small(SimConfig {
        token_ttl_ms: 1,
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    let url = stream_url(&sim, "demo").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let refused = blocking(move || Pipe::ws(&url).err()).await.unwrap();
    assert_eq!(refused, Some(403));
    assert_eq!(sim.stats().tokens_expired, 1);
    sim.shutdown().await;
}

// ---- RFB sessions ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_session_reproduces_the_desktop_exactly_through_scrolls() {
    let sim = SimHandle::start(small(SimConfig {
        fps: 240,
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    let addr = sim.rfb_tcp_addr();
    let started = Instant::now();
    let client = blocking(move || {
        let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
        c.set_encodings(&[
            encodings::ZRLE,
            encodings::COPY_RECT,
            encodings::COMPRESS_LEVEL_0 + 1,
        ]);
        c.run_until(|c| c.fb.copy_rects >= 3 && c.updates > 60);
        c
    })
    .await
    .unwrap();
    assert_eq!(client.name, "Lookout simulator - demo");
    assert!(
        client
            .fb
            .encodings_seen
            .iter()
            .all(|&e| e == encodings::ZRLE || e == encodings::COPY_RECT)
    );
    let max_tick = (started.elapsed().as_millis() as u64 + 1000) * 240 / 1000;
    let tick = client.matching_tick("demo", true, max_tick);
    assert!(
        tick.is_some(),
        "the client's picture matches no tick of the desktop"
    );
    let s = sim.stats();
    assert_eq!(s.tcp_connections, 1);
    assert!(s.updates_sent >= 60);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_session_splits_messages_and_sends_cursor_and_pointer() {
    let sim = SimHandle::start(small(SimConfig {
        fps: 240,
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    let url = stream_url(&sim, "demo").await;
    let started = Instant::now();
    let client = blocking(move || {
        let (pipe, _) = Pipe::ws(&url).unwrap();
        let mut c = Client::connect(pipe, b"RFB 003.008\n", None);
        c.set_encodings(&[
            encodings::TIGHT,
            encodings::HEXTILE,
            encodings::COPY_RECT,
            encodings::CURSOR,
            encodings::POINTER_POS,
        ]);
        let mut pointers = std::collections::HashSet::new();
        c.run_until(|c| {
            pointers.extend(c.fb.pointer);
            c.fb.copy_rects >= 2 && pointers.len() > 5
        });
        c
    })
    .await
    .unwrap();
    assert_eq!(
        client.fb.cursor,
        Some((0, 0, 12, 19)),
        "arrow cursor shape once"
    );
    let cursor_rects = client
        .fb
        .encodings_seen
        .iter()
        .filter(|&&e| e == encodings::CURSOR)
        .count();
    assert_eq!(cursor_rects, 1);
    assert!(client.fb.encodings_seen.contains(&encodings::TIGHT));
    let max_tick = (started.elapsed().as_millis() as u64 + 1000) * 240 / 1000;
    assert!(client.matching_tick("demo", false, max_tick).is_some());
    let Pipe::Ws {
        messages, largest, ..
    } = client.pipe
    else {
        unreachable!()
    };
    assert!(largest <= 16 * 1024, "message of {largest} bytes");
    // Version, security types, security result, ServerInit, then one write per update;
    // every third write goes out cut in two.
    let writes = 4 + client.updates;
    assert!(
        messages >= writes + writes / 3,
        "{messages} messages for {writes} writes"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_for_3_3_clients_and_vnc_authentication() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let addr = sim.rfb_tcp_addr();
    blocking(move || {
        let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.003\n", None);
        c.set_encodings(&[encodings::RAW]);
        c.run_until(|_| true);
        assert_eq!(c.fb.encodings_seen, [encodings::RAW]);
        let c = Client::connect(Pipe::tcp(addr), b"RFB 003.007\n", None);
        assert_eq!((c.fb.fb.width(), c.fb.fb.height()), (640, 480));
    })
    .await
    .unwrap();
    sim.shutdown().await;

    let cfg = SimConfig {
        vnc_password: Some("hunter2".into()),
        ..SimConfig::default()
    };
    let sim = SimHandle::start(small(cfg)).await.unwrap();
    let addr = sim.rfb_tcp_addr();
    blocking(move || {
        Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", Some("hunter2"));
        let mut pipe = Pipe::tcp(addr);
        let refused = security(&mut pipe, b"RFB 003.008\n", Some("hunter3"));
        assert_eq!(refused, Security::Refused("Authentication failed".into()));
        assert!(closed(pipe.take(1)), "the server closes after a failure");
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.stats().auth_failures == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_close_when_the_task_stops_or_on_drop_streams() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    sim.add_task("short", TaskPlan::running());
    let url = stream_url(&sim, "short").await;
    let addr = sim.rfb_tcp_addr();
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<()>(2);
    let ws = blocking(move || {
        let (pipe, _) = Pipe::ws(&url).unwrap();
        let mut c = Client::connect(pipe, b"RFB 003.008\n", None);
        ready_tx.send(()).unwrap();
        // Keep asking; the server must end the stream once the task is over.
        loop {
            c.request(true);
            if c.read_update().is_err() {
                return;
            }
        }
    });
    ready_rx.recv().unwrap();
    sim.set_status("short", TaskStatus::Cancelled);
    tokio::time::timeout(IO_TIMEOUT, ws).await.unwrap().unwrap();

    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<()>(2);
    let tcp = blocking(move || {
        let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
        c.run_until(|_| true);
        ready_tx.send(()).unwrap();
        // Nothing is requested, so nothing arrives until the socket is cut.
        closed(c.pipe.take(1))
    });
    ready_rx.recv().unwrap();
    let deadline = Instant::now() + IO_TIMEOUT;
    while sim.stats().live_streams != 1 {
        assert!(Instant::now() < deadline, "{:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.drop_streams();
    assert!(
        tokio::time::timeout(IO_TIMEOUT, tcp)
            .await
            .unwrap()
            .unwrap()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_size_changes_reach_clients_that_support_them() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let addr = sim.rfb_tcp_addr();
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<()>(2);
    let client = blocking(move || {
        let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
        c.set_encodings(&[encodings::HEXTILE, encodings::DESKTOP_SIZE]);
        let mut plain = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
        plain.run_until(|_| true);
        c.run_until(|_| true);
        ready_tx.send(()).unwrap();
        c.run_until(|c| c.fb.fb.width() == 400);
        c.request(true);
        c.read_update().unwrap();
        plain.request(true);
        let plain_dropped = loop {
            match plain.read_update() {
                Ok(()) => plain.request(true),
                Err(_) => break true,
            }
        };
        (c, plain_dropped)
    });
    ready_rx.recv().unwrap();
    sim.set_desktop_size(400, 300);
    let (c, plain_dropped) = tokio::time::timeout(IO_TIMEOUT * 2, client)
        .await
        .unwrap()
        .unwrap();
    assert!(c.fb.encodings_seen.contains(&encodings::DESKTOP_SIZE));
    assert_eq!((c.fb.fb.width(), c.fb.fb.height()), (400, 300));
    assert!(
        plain_dropped,
        "a client without DesktopSize is disconnected on resize"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_pixel_formats_close_and_input_is_recorded() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let addr = sim.rfb_tcp_addr();
    blocking(move || {
        let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
        c.pipe.send(&[4, 1, 0, 0, 0, 0, 0, 0x61]).unwrap();
        c.pipe.send(&[5, 1, 0, 7, 0, 9]).unwrap();
        c.pipe.send(&[6, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']).unwrap();
        c.run_until(|_| true);

        let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
        let mut pf = PixelFormat::SERVER;
        pf.bits_per_pixel = 16;
        pf.depth = 16;
        let mut m = vec![0, 0, 0, 0];
        m.extend_from_slice(&pf.to_bytes());
        c.pipe.send(&m).unwrap();
        c.request(false);
        assert!(closed(c.pipe.take(1)), "16 bpp must close the connection");
    })
    .await
    .unwrap();
    let s = sim.stats();
    assert_eq!((s.key_events, s.pointer_events, s.cut_texts), (1, 1, 1));
    assert_eq!(s.last_pointer, Some((7, 9)));
    assert_eq!(s.last_cut_text.as_deref(), Some("hi"));
    assert_eq!(
        s.input,
        vec![
            ReceivedInput::Key {
                down: true,
                keysym: 0x61
            },
            ReceivedInput::Pointer {
                buttons: 1,
                x: 7,
                y: 9
            },
        ]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_pixel_formats_decode_to_the_same_picture() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let addr = sim.rfb_tcp_addr();
    let started = Instant::now();
    blocking(move || {
        let formats = [
            PixelFormat {
                big_endian: true,
                ..PixelFormat::SERVER
            },
            PixelFormat {
                red_shift: 0,
                green_shift: 8,
                blue_shift: 16,
                ..PixelFormat::SERVER
            },
        ];
        for pf in formats {
            for enc in [
                encodings::ZRLE,
                encodings::TIGHT,
                encodings::RAW,
                encodings::HEXTILE,
            ] {
                let mut c = Client::connect(Pipe::tcp(addr), b"RFB 003.008\n", None);
                let mut m = vec![0, 0, 0, 0];
                m.extend_from_slice(&pf.to_bytes());
                c.pipe.send(&m).unwrap();
                c.fb.format = pf;
                c.set_encodings(&[enc]);
                c.run_until(|_| true);
                let max_tick = (started.elapsed().as_millis() as u64 + 1000) * 24 / 1000;
                let tick = c.matching_tick("demo", true, max_tick);
                assert!(tick.is_some(), "encoding {enc} in {pf:?}");
            }
        }
    })
    .await
    .unwrap();
    sim.shutdown().await;
}

// ---- input acting on the page ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_the_captcha_and_typing_over_rfb_repaint_the_page_exactly() {
    let sim = SimHandle::start(small(SimConfig::default())).await.unwrap();
    let url = stream_url(&sim, "human").await;
    let started = Instant::now();
    let (captcha, field) = (
        centre(widget_box(Widget::CaptchaBox)),
        centre(widget_box(Widget::SearchField)),
    );
    let (step_tx, step_rx) = std::sync::mpsc::sync_channel::<()>(4);
    let (go_tx, go_rx) = std::sync::mpsc::sync_channel::<()>(4);
    // The human agent's page differs between ticks only in the clock and the caret, which
    // change every 12 ticks: one tick per block covers every picture.
    let matches = move |c: &Client, human: &Interaction| {
        let max_tick = (started.elapsed().as_millis() as u64 + 1000) * 24 / 1000;
        (0..=max_tick).step_by(12).any(|t| {
            let mut d =
                Desktop::with_script(640, 480, "human", t, Script::AwaitHuman, human).unwrap();
            d.set_cursor_overlay(true);
            d.framebuffer() == &c.fb.fb
        })
    };
    let client = blocking(move || {
        let (pipe, _) = Pipe::ws(&url).unwrap();
        let mut c = Client::connect(pipe, b"RFB 003.008\n", None);
        c.set_encodings(&[encodings::ZRLE, encodings::COPY_RECT]);
        c.run_until(|c| matches(c, &Interaction::default()));
        c.pointer(0, captcha);
        c.pointer(1, captcha);
        c.pointer(0, captcha);
        let solved = Interaction {
            captcha_solved: true,
            ..Interaction::default()
        };
        c.run_until(|c| matches(c, &solved));
        step_tx.send(()).unwrap();
        go_rx.recv().unwrap();

        c.pointer(1, field);
        c.pointer(0, field);
        for k in [u32::from('h'), u32::from('i'), 0xff08, 0xe9, 0x0100_20ac] {
            c.key(true, k);
            c.key(false, k);
        }
        // A shortcut types nothing.
        c.key(true, 0xffe3);
        c.key(true, u32::from('v'));
        c.key(false, u32::from('v'));
        c.key(false, 0xffe3);
        let typed = Interaction {
            captcha_solved: true,
            field_focused: true,
            text: "h\u{e9}\u{20ac}".into(),
        };
        c.run_until(|c| matches(c, &typed));
    });
    step_rx.recv().unwrap();
    let s = sim.stats();
    assert_eq!(
        s.captcha_solved.iter().collect::<Vec<_>>(),
        ["optexity:human"]
    );
    go_tx.send(()).unwrap();
    tokio::time::timeout(IO_TIMEOUT * 3, client)
        .await
        .unwrap()
        .unwrap();
    let s = sim.stats();
    assert_eq!(s.typed_text["optexity:human"], "h\u{e9}\u{20ac}");
    // A new viewer of the task sees the same page from its first picture.
    let url = stream_url(&sim, "human").await;
    blocking(move || {
        let (pipe, _) = Pipe::ws(&url).unwrap();
        let mut c = Client::connect(pipe, b"RFB 003.008\n", None);
        c.set_encodings(&[encodings::ZRLE]);
        c.run_until(|_| true);
        let typed = Interaction {
            captcha_solved: true,
            field_focused: true,
            text: "h\u{e9}\u{20ac}".into(),
        };
        let max_tick = (started.elapsed().as_millis() as u64 + 1000) * 24 / 1000;
        let found = (0..=max_tick).step_by(12).any(|t| {
            let mut d =
                Desktop::with_script(640, 480, "human", t, Script::AwaitHuman, &typed).unwrap();
            d.set_cursor_overlay(true);
            d.framebuffer() == &c.fb.fb
        });
        assert!(found, "a new viewer does not see the typed text");
    })
    .await
    .unwrap();
    sim.shutdown().await;
}
