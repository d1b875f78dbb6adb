//! Click to remote: how long an operator's click takes from the front end's command to the
//! remote's socket, on loopback, over RFB and over the preview frame protocol.
//!
//! Each run starts a minimal server of its own on 127.0.0.1 (an RFB 3.8 server that only
//! reads client messages; a WebSocket server that sends one JPEG frame, then reads), opens
//! a Lookout session to it, and sends clicks as the window does in interactive mode
//! (`Command::Input` with a button press, then its release). The clock starts just before
//! the command is sent and stops when the server has read the whole event from its socket,
//! so the figure includes the session task, the socket write, the loopback and the server's
//! read: an upper bound on "UI event to socket write". The target is under 20 ms.
//!
//! `cargo bench --bench input_latency` prints the median, 95th percentile and worst of 200
//! clicks per protocol.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lookout::core::event::{Command, SessionEvent, SessionState, noop_waker};
use lookout::core::input::{InputEvent, Modifiers, PointerButton, RemotePx};
use lookout::core::session::{self, SessionConfig, SessionHandle};
use lookout::core::source::SourceSpec;
use tokio_tungstenite::tungstenite::Message;

const CLICKS: usize = 200;
const TARGET_MS: f64 = 20.0;

/// An RFB 3.8 server for one client: handshake, then report each PointerEvent's arrival.
fn rfb_server(listener: TcpListener, arrivals: mpsc::SyncSender<Instant>) {
    let (mut s, _) = listener.accept().unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(b"RFB 003.008\n").unwrap();
    let mut version = [0u8; 12];
    s.read_exact(&mut version).unwrap();
    s.write_all(&[1, 1]).unwrap(); // one security type: None
    let mut chosen = [0u8; 1];
    s.read_exact(&mut chosen).unwrap();
    s.write_all(&0u32.to_be_bytes()).unwrap(); // SecurityResult OK
    let mut shared = [0u8; 1];
    s.read_exact(&mut shared).unwrap();
    let mut init = Vec::new();
    init.extend_from_slice(&64u16.to_be_bytes());
    init.extend_from_slice(&64u16.to_be_bytes());
    init.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    init.extend_from_slice(&4u32.to_be_bytes());
    init.extend_from_slice(b"fake");
    s.write_all(&init).unwrap();
    let mut kind = [0u8; 1];
    while s.read_exact(&mut kind).is_ok() {
        let skip = |s: &mut std::net::TcpStream, n: usize| {
            let mut buf = vec![0u8; n];
            s.read_exact(&mut buf).map(|_| buf)
        };
        let ok = match kind[0] {
            0 => skip(&mut s, 19).is_ok(),
            2 => match skip(&mut s, 3) {
                Ok(h) => skip(&mut s, 4 * usize::from(u16::from_be_bytes([h[1], h[2]]))).is_ok(),
                Err(_) => false,
            },
            3 => skip(&mut s, 9).is_ok(),
            4 => skip(&mut s, 7).is_ok(),
            5 => match skip(&mut s, 5) {
                Ok(_) => arrivals.send(Instant::now()).is_ok(),
                Err(_) => false,
            },
            6 => match skip(&mut s, 7) {
                Ok(h) => skip(
                    &mut s,
                    u32::from_be_bytes([h[3], h[4], h[5], h[6]]) as usize,
                )
                .is_ok(),
                Err(_) => false,
            },
            _ => false,
        };
        if !ok {
            return;
        }
    }
}

/// A preview server for one client: one frame so the session goes live, then report each
/// `mousePressed`/`mouseReleased` message's arrival.
async fn preview_server(listener: tokio::net::TcpListener, arrivals: mpsc::SyncSender<Instant>) {
    let (tcp, _) = listener.accept().await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&[128u8; 64 * 64 * 3], 64, 64, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(&jpeg);
    let frame = format!(
        r#"{{"type":"frame","seq":1,"data":"{data}","metadata":{{"deviceWidth":64,"deviceHeight":64}}}}"#
    );
    ws.send(Message::text(frame)).await.unwrap();
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(text) = msg
            && text.contains("\"mouse")
            && (text.contains("mousePressed") || text.contains("mouseReleased"))
        {
            let _ = arrivals.send(Instant::now());
        }
    }
}

async fn wait_live(handle: &mut SessionHandle) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), handle.recv_event())
            .await
            .expect("the session did not go live in 10 s")
        {
            Some(SessionEvent::State(SessionState::Live(_))) => return,
            Some(SessionEvent::State(s)) if s.is_final() => panic!("session stopped: {s:?}"),
            Some(_) => {}
            None => panic!("session ended"),
        }
    }
}

/// Clicks `CLICKS` times (press and release), timing each event to its arrival.
fn measure(handle: &SessionHandle, arrivals: &mpsc::Receiver<Instant>) -> Vec<f64> {
    let mut ms = Vec::with_capacity(CLICKS * 2);
    for i in 0..CLICKS {
        for down in [true, false] {
            let at = RemotePx::new((i % 60) as u32, 10);
            let start = Instant::now();
            handle.send(Command::Input(InputEvent::PointerButton {
                at,
                button: PointerButton::Left,
                down,
                click_count: 1,
                modifiers: Modifiers::NONE,
            }));
            let arrived = arrivals
                .recv_timeout(Duration::from_secs(5))
                .expect("the click never reached the server");
            ms.push(arrived.duration_since(start).as_secs_f64() * 1e3);
        }
        // Operators do not click 1000 times a second: leave the session idle in between.
        std::thread::sleep(Duration::from_millis(2));
    }
    ms
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    let worst = ms[ms.len() - 1];
    println!(
        "  {label:<8} {} events: median {:.3} ms, p95 {:.3} ms, worst {:.3} ms (target under {TARGET_MS} ms: {})",
        ms.len(),
        pick(0.5),
        pick(0.95),
        worst,
        if pick(0.95) < TARGET_MS { "yes" } else { "NO" }
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("click to remote on loopback, Command::Input to the server's read");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::sync_channel(4 * CLICKS);
    std::thread::Builder::new()
        .name("fake-rfb-server".into())
        .spawn(move || rfb_server(listener, tx))
        .unwrap();
    let mut handle = session::spawn(
        rt.handle(),
        SourceSpec::RfbTcp {
            host: "127.0.0.1".into(),
            port,
            password: None,
            linked: false,
        },
        SessionConfig {
            reconnect: false,
            ..SessionConfig::default()
        },
        noop_waker(),
    );
    rt.block_on(wait_live(&mut handle));
    report("RFB", measure(&handle, &rx));
    handle.send(Command::Stop);

    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::sync_channel(4 * CLICKS);
    rt.spawn(preview_server(listener, tx));
    let mut handle = session::spawn(
        rt.handle(),
        format!("preview+ws://127.0.0.1:{port}/").parse().unwrap(),
        SessionConfig {
            reconnect: false,
            ..SessionConfig::default()
        },
        noop_waker(),
    );
    rt.block_on(wait_live(&mut handle));
    report("preview", measure(&handle, &rx));
    handle.send(Command::Stop);
}
