//! Servers that try to make Lookout hold memory: whatever they do, a session's memory
//! beyond its framebuffers stays within the budget the README states.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lookout::core::event::{SessionEvent, SessionState, noop_waker};
use lookout::core::session::{self, SessionConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// The tests measure this process's memory: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Resident memory of this process, in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A session of `source` that does not reconnect, once it is live.
async fn live_session(source: &str) -> session::SessionHandle {
    let config = SessionConfig {
        reconnect: false,
        ..SessionConfig::default()
    };
    let mut h = session::spawn(
        &tokio::runtime::Handle::current(),
        source.parse().unwrap(),
        config,
        noop_waker(),
    );
    loop {
        match tokio::time::timeout(Duration::from_secs(10), h.recv_event()).await {
            Ok(Some(SessionEvent::State(SessionState::Live(_)))) => return h,
            Ok(Some(SessionEvent::State(s))) if s.is_final() => panic!("{s:?}"),
            Ok(Some(_)) => {}
            other => panic!("no live state: {other:?}"),
        }
    }
}

/// Reads binary WebSocket messages until `n` bytes have come.
async fn read_bytes<S>(ws: &mut S, pending: &mut Vec<u8>, n: usize) -> Vec<u8>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while pending.len() < n {
        if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
            pending.extend_from_slice(&b);
        }
    }
    pending.drain(..n).collect()
}

/// An RFB server behind a WebSocket that, once the viewer is live, stops reading and sends
/// 16 MiB messages of empty updates as fast as the socket takes them: each update makes the
/// viewer send a request the server never reads.
async fn flooding_server(listener: tokio::net::TcpListener) {
    let (tcp, _) = listener.accept().await.unwrap();
    let binary = |_: &Request, mut resp: Response| {
        resp.headers_mut()
            .insert("sec-websocket-protocol", "binary".parse().unwrap());
        Ok(resp)
    };
    let ws = tokio_tungstenite::accept_hdr_async(tcp, binary)
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let mut pending = Vec::new();
    let send = |b: &[u8]| Message::Binary(b.to_vec().into());
    tx.send(send(b"RFB 003.008\n")).await.unwrap();
    read_bytes(&mut rx, &mut pending, 12).await;
    tx.send(send(&[1, 1])).await.unwrap(); // one security type: None
    read_bytes(&mut rx, &mut pending, 1).await;
    tx.send(send(&[0, 0, 0, 0])).await.unwrap(); // SecurityResult OK
    read_bytes(&mut rx, &mut pending, 1).await; // ClientInit
    let mut init = vec![0, 64, 0, 64]; // 64×64
    init.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    init.extend_from_slice(&4u32.to_be_bytes());
    init.extend_from_slice(b"wide");
    tx.send(send(&init)).await.unwrap();
    // From here on nothing is read: the viewer's requests pile up in the socket.
    let flood: bytes::Bytes = [0u8, 0, 0, 0].repeat(4 << 20).into();
    loop {
        if tx.send(Message::Binary(flood.clone())).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_rfb_server_that_stops_reading_cannot_grow_the_viewer() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(flooding_server(listener));
    let h = live_session(&format!("rfb+ws://{addr}/websockify")).await;
    let before = rss_bytes();
    let mut peak = before;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(rss_bytes());
    }
    let grew_mib = (peak.saturating_sub(before)) >> 20;
    println!("resident memory grew by {grew_mib} MiB under the flood");
    // The viewer's share: a WebSocket message being read (16 MiB) and the one queued for
    // the decoder (16 MiB, over the 4 MiB budget so alone), plus the server's own message
    // in this same process (16 MiB framed), with room for the allocator.
    assert!(grew_mib < 96, "grew by {grew_mib} MiB");
    h.send(lookout::core::event::Command::Stop);
}

/// A Waldiez runner that prints `lines` lines of 64 Ki two-byte characters (128 KiB each) as
/// fast as the socket takes them, then stays open.
async fn long_line_runner(listener: tokio::net::TcpListener, lines: usize) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let text = "é".repeat(64 * 1024);
    for n in 0..lines {
        let msg = format!(r#"{{"id":"{n}-0","type":"print","task_id":"t","data":"{text}"}}"#);
        if ws.send(Message::text(msg)).await.is_err() {
            return;
        }
    }
    while ws.next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_printing_long_lines_cannot_grow_the_log_past_its_budget() {
    const LINES: usize = 3000; // 384 MiB of text
    let _alone = ONE_AT_A_TIME.lock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(long_line_runner(listener, LINES));
    let before = rss_bytes();
    let source = format!("tasklog+ws://{addr}/ws/t").parse().unwrap();
    let config = SessionConfig {
        reconnect: false,
        ..SessionConfig::default()
    };
    let h = session::spawn(
        &tokio::runtime::Handle::current(),
        source,
        config,
        noop_waker(),
    );
    let mut peak = before;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        peak = peak.max(rss_bytes());
        if h.log().lock().log.end_seq() >= LINES as u64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lines did not all come"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    peak = peak.max(rss_bytes());
    let (bytes, kept, dropped, max) = {
        let state = h.log().lock();
        let log = &state.log;
        (
            log.bytes(),
            log.len(),
            log.dropped(),
            log.config().max_bytes,
        )
    };
    let grew_mib = peak.saturating_sub(before) >> 20;
    println!(
        "{LINES} lines of 128 KiB: {kept} kept in {} MiB, {dropped} dropped; resident memory grew by {grew_mib} MiB",
        bytes >> 20
    );
    assert!(bytes <= max && dropped > 0);
    // The store's 64 MiB, a message being read and parsed, and the allocator's slack.
    assert!(grew_mib < 160, "grew by {grew_mib} MiB");
    h.send(lookout::core::event::Command::Stop);
}

/// An RFB server (plain TCP) that, once the viewer is live, sets its clipboard `count`
/// times to 1 MiB texts, the last one all `z`, while reading and ignoring the viewer.
async fn clipboard_server(listener: tokio::net::TcpListener, count: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tcp, _) = listener.accept().await.unwrap();
    let (mut rx, mut tx) = tcp.into_split();
    let mut buf = [0u8; 64];
    tx.write_all(b"RFB 003.008\n").await.unwrap();
    rx.read_exact(&mut buf[..12]).await.unwrap();
    tx.write_all(&[1, 1]).await.unwrap(); // one security type: None
    rx.read_exact(&mut buf[..1]).await.unwrap();
    tx.write_all(&[0, 0, 0, 0]).await.unwrap(); // SecurityResult OK
    rx.read_exact(&mut buf[..1]).await.unwrap(); // ClientInit
    let mut init = vec![0, 64, 0, 64]; // 64×64
    init.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    init.extend_from_slice(&4u32.to_be_bytes());
    init.extend_from_slice(b"clip");
    tx.write_all(&init).await.unwrap();
    tokio::spawn(async move {
        let mut sink = vec![0u8; 64 * 1024];
        while rx.read(&mut sink).await.is_ok_and(|n| n > 0) {}
    });
    let len = 1usize << 20;
    for n in 0..count {
        let fill = if n + 1 == count {
            b'z'
        } else {
            b'a' + (n % 25) as u8
        };
        let mut msg = vec![3, 0, 0, 0];
        msg.extend_from_slice(&(len as u32).to_be_bytes());
        msg.resize(8 + len, fill);
        if tx.write_all(&msg).await.is_err() {
            return;
        }
    }
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_flooding_its_clipboard_holds_one_text_in_an_unread_session() {
    const COUNT: usize = 600; // 600 MiB of clipboard
    let _alone = ONE_AT_A_TIME.lock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(clipboard_server(listener, COUNT));
    let mut h = live_session(&format!("vnc://{addr}")).await;
    // The front end reads nothing while the clipboards come.
    let before = rss_bytes();
    let mut peak = before;
    let mut last = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(rss_bytes());
        if h.stats().sample().bytes_in >= (COUNT << 20) as u64 {
            // All came: now read, once the last has passed the decoder.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut events = 0;
            while let Some(e) = h.try_recv_event() {
                events += usize::from(e == SessionEvent::RemoteClipboard);
            }
            last = h.take_remote_clipboard();
            println!("{events} clipboard events queued for {COUNT} clipboards");
            assert!(events <= 2, "{events} clipboard events queued");
            break;
        }
    }
    let grew_mib = peak.saturating_sub(before) >> 20;
    println!("resident memory grew by {grew_mib} MiB under {COUNT} MiB of clipboards");
    let last = last.expect("the clipboards did not all come, or none was kept");
    assert!(
        last.len() == 1 << 20 && last.bytes().all(|b| b == b'z'),
        "not the newest"
    );
    // The newest text and one being read, with the decoder's few queued (16 at most).
    assert!(grew_mib < 48, "grew by {grew_mib} MiB");
    h.send(lookout::core::event::Command::Stop);
}
