//! End-to-end tests of the simulated Chaser API on 127.0.0.1:0: the preview-token contract
//! and its errors, the preview WebSocket (status and url messages, JPEG frames, push and
//! ack pacing, binary frames, close codes 1000/4401/4403/4404) and input over it, including
//! the page reacting to a click on the captcha and to typing. Spoken with a raw
//! tokio-tungstenite client, so the tests see the wire exactly as a client would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::core::frame::Rect;
use crate::sim::test_fixtures::{IO_TIMEOUT, centre, http, small, widget_box};
use crate::sim::*;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A simulator with a 640×480 desktop and `ttl_ms` preview tokens.
async fn sim_with_ttl(ttl_ms: u64) -> SimHandle {
    SimHandle::start(small(SimConfig {
        preview_token_ttl_ms: ttl_ms,
        ..SimConfig::default()
    }))
    .await
    .unwrap()
}

/// `POST /v1/sessions/{id}/preview-token` with `key` as the bearer key.
async fn mint_raw(sim: &SimHandle, id: &str, key: Option<&str>) -> (u16, Option<String>, Value) {
    let url = format!("{}/v1/sessions/{id}/preview-token", sim.chaser_base_url());
    let mut req = http()
        .post(url)
        .header("Content-Type", "application/json")
        .body("{}");
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

/// A preview URL for `id` (which must mint).
async fn mint(sim: &SimHandle, id: &str) -> String {
    let (code, _, body) = mint_raw(sim, id, Some(sim.chaser_key())).await;
    assert_eq!(code, 200, "{body}");
    body["url"].as_str().unwrap().to_string()
}

/// Opens a preview socket; `Err(status)` when the upgrade is refused.
async fn open(url: &str) -> Result<Ws, u16> {
    let req = url.into_client_request().unwrap();
    let host = req.uri().authority().unwrap().to_string();
    let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("WebSocket handshake: {e}"),
    }
}

/// What the server sent next.
#[derive(Debug)]
enum Got {
    Json(Value),
    Binary(Vec<u8>),
    Closed(Option<u16>),
    Nothing,
}

async fn next(ws: &mut Ws, within: Duration) -> Got {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Got::Nothing,
            Ok(None | Some(Err(_))) => return Got::Closed(None),
            Ok(Some(Ok(Message::Text(t)))) => return Got::Json(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Binary(b)))) => return Got::Binary(b.to_vec()),
            Ok(Some(Ok(Message::Close(f)))) => return Got::Closed(f.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next text frame: (seq, JPEG, metadata).
async fn frame(ws: &mut Ws) -> (u64, Vec<u8>, Value) {
    loop {
        match next(ws, IO_TIMEOUT).await {
            Got::Json(v) if v["type"] == "frame" => {
                let jpeg = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    v["data"].as_str().unwrap(),
                )
                .unwrap();
                return (v["seq"].as_u64().unwrap(), jpeg, v["metadata"].clone());
            }
            Got::Json(_) => {}
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// Reads until the server closes; its close code.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match next(ws, IO_TIMEOUT).await {
            Got::Closed(code) => return code,
            Got::Nothing => panic!("the server did not close the socket"),
            _ => {}
        }
    }
}

/// Skips the status and url messages a connection starts with.
async fn opened(url: &str) -> Ws {
    let mut ws = open(url).await.unwrap();
    for kind in ["status", "url"] {
        match next(&mut ws, IO_TIMEOUT).await {
            Got::Json(v) => assert_eq!(v["type"], kind, "{v}"),
            other => panic!("expected {kind}, got {other:?}"),
        }
    }
    ws
}

fn decode_jpeg(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut d = JpegDecoder::new_with_options(ZCursor::new(data), options);
    let pixels = d.decode().unwrap();
    let (w, h) = d.dimensions().unwrap();
    (w, h, pixels)
}

/// Mean absolute difference of the RGB of `area` between two RGBA 640-wide pictures.
fn diff(a: &[u8], b: &[u8], area: Rect) -> f64 {
    let mut sum = 0u64;
    for y in area.y..area.bottom() {
        for x in area.x..area.right() {
            let i = ((y * 640 + x) * 4) as usize;
            for c in 0..3 {
                sum += u64::from(a[i + c].abs_diff(b[i + c]));
            }
        }
    }
    sum as f64 / (area.area() * 3) as f64
}

/// The `human` page as a fresh render with `human` applied (tick 0: the clock and caret
/// lie outside the areas compared).
fn human_page(human: &Interaction) -> Vec<u8> {
    let mut d = Desktop::with_script(640, 480, "human", 0, Script::AwaitHuman, human).unwrap();
    d.set_cursor_overlay(true);
    d.framebuffer().pixels().to_vec()
}

/// Waits until the stats satisfy `done`.
async fn stats_until(sim: &SimHandle, done: impl Fn(&SimStats) -> bool) -> SimStats {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let s = sim.stats();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out; stats: {s:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn mouse(event: &str, (x, y): (u32, u32)) -> Value {
    json!({"type": "input_mouse", "eventType": event, "x": x, "y": y, "button": "left",
           "clickCount": 1, "deltaX": 0, "deltaY": 0, "modifiers": 0})
}

fn key(event: &str, key: &str, text: &str) -> Value {
    json!({"type": "input_keyboard", "eventType": event, "key": key, "code": "", "text": text,
           "modifiers": 0})
}

fn touch(event: &str, points: &[(u32, u32)]) -> Value {
    let points: Vec<Value> = points
        .iter()
        .map(|&(x, y)| json!({"x": x, "y": y, "id": 0}))
        .collect();
    json!({"type": "input_touch", "eventType": event, "touchPoints": points})
}

// ---- REST contract --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_tokens_mint_and_every_error_has_its_status() {
    let sim = sim_with_ttl(60_000).await;
    let key = Some(sim.chaser_key());
    let before = clock::now_ms();
    let (code, _, body) = mint_raw(&sim, "demo", key).await;
    assert_eq!(code, 200, "{body}");
    let port = sim.base_url().rsplit(':').next().unwrap().to_string();
    let url = body["url"].as_str().unwrap();
    let prefix = format!("ws://127.0.0.1:{port}/sessions/demo/preview?token=");
    assert!(
        url.starts_with(&prefix) && url.len() > prefix.len() + 40,
        "{url}"
    );
    assert_eq!(
        (body["input_enabled"].clone(), body["fps"].clone()),
        (json!(true), json!(5))
    );
    let expires = body["expires_at"].as_str().unwrap();
    assert_eq!(expires.len(), "2026-06-13T11:54:41.836Z".len(), "{expires}");
    assert!(
        expires.ends_with('Z') && expires.as_bytes()[19] == b'.',
        "{expires}"
    );
    let earliest = clock::rfc3339_ms(before + 60_000);
    let latest = clock::rfc3339_ms(clock::now_ms() + 60_000);
    assert!((earliest.as_str()..=latest.as_str()).contains(&expires));
    let (_, _, body) = mint_raw(&sim, "view-only", key).await;
    assert_eq!(body["input_enabled"], json!(false));

    for bad in [None, Some("wrong"), Some(sim.api_key())] {
        let (code, _, body) = mint_raw(&sim, "demo", bad).await;
        assert_eq!(code, 401, "{bad:?}");
        assert_eq!(body["error"], "invalid or missing API key");
    }
    let (code, _, body) = mint_raw(&sim, "nope", key).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (404, Some("session nope not found"))
    );

    sim.rate_limit_next_mints(2, 7);
    for _ in 0..2 {
        let (code, retry, body) = mint_raw(&sim, "demo", key).await;
        assert_eq!((code, retry.as_deref()), (429, Some("7")));
        assert_eq!(body["error"], "rate limited");
    }
    assert_eq!(mint_raw(&sim, "demo", key).await.0, 200);

    // Deleted: mints and connections answer 404, and a re-added session of that id does
    // not take the old tokens.
    let old = mint(&sim, "demo").await;
    assert!(sim.delete_chaser_session("demo"));
    assert!(!sim.delete_chaser_session("demo"));
    assert_eq!(mint_raw(&sim, "demo", key).await.0, 404);
    assert_eq!(open(&old).await.err(), Some(404));
    sim.add_chaser_session("demo", true);
    assert_eq!(open(&old).await.err(), Some(401));
    let fresh = mint(&sim, "demo").await;

    // Tokens are bound to their session, and checked.
    let human = mint(&sim, "human").await;
    let (_, token) = human.split_once("token=").unwrap();
    let (base, _) = fresh.split_once("token=").unwrap();
    assert_eq!(open(&format!("{base}token={token}")).await.err(), Some(401));
    assert_eq!(open(&format!("{base}token=garbage")).await.err(), Some(401));
    assert_eq!(open(base.trim_end_matches('?')).await.err(), Some(401));
    let unknown = fresh.replace("/sessions/demo/", "/sessions/nope/");
    assert_eq!(open(&unknown).await.err(), Some(404));
    // Not single-use: one token opens two sockets.
    let _a = opened(&fresh).await;
    let _b = opened(&fresh).await;

    let s = sim.stats();
    assert_eq!(s.preview_mints_limited, 2);
    assert_eq!(s.preview_tokens_rejected, 4);
    assert_eq!(s.previews_for("demo"), 2);
    let ids: Vec<(String, bool)> = sim
        .demo_sessions()
        .into_iter()
        .map(|(id, input, _)| (id, input))
        .collect();
    assert_eq!(
        ids,
        [
            ("demo".to_string(), true),
            ("human".to_string(), true),
            ("view-only".to_string(), false)
        ]
    );
    sim.shutdown().await;
}

// ---- the stream -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_start_with_status_and_url_then_send_jpeg_frames() {
    let sim = sim_with_ttl(60_000).await;
    let url = mint(&sim, "demo").await;
    let mut ws = open(&url).await.unwrap();
    let Got::Json(status) = next(&mut ws, IO_TIMEOUT).await else {
        panic!("no status")
    };
    assert_eq!(
        status,
        json!({"type": "status", "connected": true, "screencasting": true,
               "viewportWidth": 640, "viewportHeight": 480})
    );
    let Got::Json(page) = next(&mut ws, IO_TIMEOUT).await else {
        panic!("no url")
    };
    assert_eq!(
        page,
        json!({"type": "url", "url": "https://shop.example.com/checkout?task=demo"})
    );
    for want in 1..=3 {
        let (seq, jpeg, meta) = frame(&mut ws).await;
        assert_eq!(seq, want);
        assert_eq!(&jpeg[..2], [0xff, 0xd8]);
        let (w, h, _) = decode_jpeg(&jpeg);
        assert_eq!((w, h), (640, 480));
        assert_eq!(
            (meta["deviceWidth"].clone(), meta["deviceHeight"].clone()),
            (json!(640), json!(480))
        );
        let ts = meta["timestamp"].as_f64().unwrap();
        assert!((ts - clock::now_ms() as f64).abs() < 10_000.0, "{ts}");
    }
    // Garbage and unknown types are ignored; the stream goes on.
    ws.send(Message::Text("not json".into())).await.unwrap();
    send(&mut ws, json!({"type": "something-new", "x": 1})).await;
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(frame(&mut ws).await.0, 4);
    let s = stats_until(&sim, |s| s.preview_malformed == 1).await;
    assert_eq!(s.live_previews, 1);
    assert!(s.preview_frames_sent >= 4);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pacing_follows_the_token_fps_then_the_config_with_a_cap() {
    let sim = sim_with_ttl(60_000).await;
    let mut ws = opened(&mint(&sim, "demo").await).await;
    frame(&mut ws).await;
    // Frames in one second.
    async fn count(ws: &mut Ws) -> u64 {
        let first = frame(ws).await.0;
        let end = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut last = first;
        while let Ok(f) = tokio::time::timeout_at(end, frame(ws)).await {
            last = f.0;
        }
        last - first
    }
    let default = count(&mut ws).await;
    assert!(
        (3..=7).contains(&default),
        "{default} frames/s at the default 5 fps"
    );
    send(
        &mut ws,
        json!({"type": "config", "maxFps": 20, "pacing": "push"}),
    )
    .await;
    frame(&mut ws).await;
    let twenty = count(&mut ws).await;
    assert!((12..=23).contains(&twenty), "{twenty} frames/s at 20 fps");
    send(&mut ws, json!({"type": "config", "maxFps": 1000})).await;
    frame(&mut ws).await;
    let capped = count(&mut ws).await;
    assert!(
        (15..=33).contains(&capped),
        "{capped} frames/s asking for 1000"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_pacing_sends_the_next_frame_only_after_an_ack() {
    let sim = sim_with_ttl(60_000).await;
    let mut ws = opened(&mint(&sim, "demo").await).await;
    send(
        &mut ws,
        json!({"type": "config", "maxFps": 30, "pacing": "ack"}),
    )
    .await;
    // Frames sent before the config arrived drain; then nothing comes without an ack.
    let mut last = frame(&mut ws).await.0;
    loop {
        match next(&mut ws, Duration::from_millis(500)).await {
            Got::Json(v) if v["type"] == "frame" => last = v["seq"].as_u64().unwrap(),
            Got::Nothing => break,
            other => panic!("{other:?}"),
        }
    }
    // Acking an older frame does not release the next.
    if last > 1 {
        send(&mut ws, json!({"type": "ack", "seq": last - 1})).await;
        assert!(matches!(
            next(&mut ws, Duration::from_millis(300)).await,
            Got::Nothing
        ));
    }
    let started = Instant::now();
    for _ in 0..5 {
        send(&mut ws, json!({"type": "ack", "seq": last})).await;
        let (seq, _, _) = frame(&mut ws).await;
        assert_eq!(seq, last + 1);
        last = seq;
        assert!(matches!(
            next(&mut ws, Duration::from_millis(100)).await,
            Got::Nothing
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    // Back to push: frames flow without acks.
    send(&mut ws, json!({"type": "config", "pacing": "push"})).await;
    assert_eq!(frame(&mut ws).await.0, last + 1);
    assert_eq!(frame(&mut ws).await.0, last + 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frame_mode_sends_whole_jpegs() {
    let sim = sim_with_ttl(60_000).await;
    sim.preview_binary_frames(true);
    let mut ws = opened(&mint(&sim, "demo").await).await;
    for _ in 0..2 {
        match next(&mut ws, IO_TIMEOUT).await {
            Got::Binary(jpeg) => {
                assert_eq!(&jpeg[..2], [0xff, 0xd8]);
                assert_eq!(&jpeg[jpeg.len() - 2..], [0xff, 0xd9]);
                assert_eq!(decode_jpeg(&jpeg).0, 640);
            }
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
    sim.preview_binary_frames(false);
    let (seq, _, _) = frame(&mut ws).await;
    assert!(seq >= 3, "binary frames count in seq too ({seq})");
    let cfg = SimConfig {
        preview_binary_frames: true,
        ..SimConfig::default()
    };
    let sim2 = SimHandle::start(small(cfg)).await.unwrap();
    let mut ws = opened(&mint(&sim2, "demo").await).await;
    assert!(matches!(next(&mut ws, IO_TIMEOUT).await, Got::Binary(_)));
    sim.shutdown().await;
    sim2.shutdown().await;
}

// ---- close codes ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_closes_its_socket_with_4401() {
    let sim = sim_with_ttl(300).await;
    let url = mint(&sim, "demo").await;
    let started = Instant::now();
    let mut ws = opened(&url).await;
    frame(&mut ws).await;
    assert_eq!(close_code(&mut ws).await, Some(4401));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    assert_eq!(
        open(&url).await.err(),
        Some(401),
        "the expired token is refused"
    );
    // A fresh token opens again.
    let mut ws = opened(&mint(&sim, "demo").await).await;
    frame(&mut ws).await;
    stats_until(&sim, |s| s.preview_tokens_rejected == 1).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_end_and_close_hooks_close_with_their_codes() {
    let sim = sim_with_ttl(60_000).await;
    sim.add_chaser_session("extra", true);
    let mut demo = opened(&mint(&sim, "demo").await).await;
    let mut human = opened(&mint(&sim, "human").await).await;
    let mut extra = opened(&mint(&sim, "extra").await).await;
    let mut view = opened(&mint(&sim, "view-only").await).await;
    stats_until(&sim, |s| s.live_previews == 4).await;

    sim.delete_chaser_session("demo");
    assert_eq!(close_code(&mut demo).await, Some(4404));
    assert!(sim.end_chaser_session("human"));
    assert_eq!(close_code(&mut human).await, Some(1000));
    frame(&mut extra).await;
    sim.close_previews(1012);
    assert_eq!(close_code(&mut extra).await, Some(1012));
    assert_eq!(close_code(&mut view).await, Some(1012));
    let key = Some(sim.chaser_key());
    assert_eq!(mint_raw(&sim, "demo", key).await.0, 404);
    assert_eq!(mint_raw(&sim, "human", key).await.0, 404);
    assert_eq!(mint_raw(&sim, "extra", key).await.0, 200);
    stats_until(&sim, |s| s.live_previews == 0).await;
    sim.shutdown().await;
}

// ---- input ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_input_is_recorded_in_order() {
    let sim = sim_with_ttl(60_000).await;
    let mut ws = opened(&mint(&sim, "demo").await).await;
    send(&mut ws, mouse("mouseMoved", (10, 20))).await;
    send(
        &mut ws,
        json!({"type": "input_mouse", "eventType": "mouseWheel", "x": 5.5, "y": 6,
               "button": "none", "deltaX": 0, "deltaY": 120, "modifiers": 8}),
    )
    .await;
    send(
        &mut ws,
        json!({"type": "input_keyboard", "eventType": "keyDown", "key": "Enter",
               "code": "Enter", "modifiers": 2}),
    )
    .await;
    send(&mut ws, touch("touchStart", &[(1, 2), (3, 4)])).await;
    // A known type with a bad field is malformed, not input.
    send(
        &mut ws,
        json!({"type": "input_mouse", "eventType": "mouseFlown"}),
    )
    .await;
    let s = stats_until(&sim, |s| s.input.len() == 4 && s.preview_malformed == 1).await;
    assert_eq!(
        (
            s.preview_mouse_events,
            s.preview_key_events,
            s.preview_touch_events
        ),
        (2, 1, 1)
    );
    let session = "demo".to_string();
    assert_eq!(
        s.input,
        vec![
            ReceivedInput::PreviewMouse {
                session: session.clone(),
                event: MouseEventType::MouseMoved,
                x: 10.0,
                y: 20.0,
                button: MouseButton::Left,
                click_count: 1,
                delta_x: 0.0,
                delta_y: 0.0,
                modifiers: 0,
            },
            ReceivedInput::PreviewMouse {
                session: session.clone(),
                event: MouseEventType::MouseWheel,
                x: 5.5,
                y: 6.0,
                button: MouseButton::None,
                click_count: 0,
                delta_x: 0.0,
                delta_y: 120.0,
                modifiers: 8,
            },
            ReceivedInput::PreviewKey {
                session: session.clone(),
                event: KeyEventType::KeyDown,
                key: "Enter".into(),
                code: "Enter".into(),
                text: String::new(),
                modifiers: 2,
            },
            ReceivedInput::PreviewTouch {
                session,
                event: TouchEventType::TouchStart,
                points: vec![
                    TouchPoint {
                        x: 1.0,
                        y: 2.0,
                        id: 0
                    },
                    TouchPoint {
                        x: 3.0,
                        y: 4.0,
                        id: 0
                    },
                ],
            },
        ]
    );
    assert_eq!(s.input_refused, 0);
    frame(&mut ws).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_on_a_view_only_session_closes_with_4403() {
    let sim = sim_with_ttl(60_000).await;
    let mut ws = opened(&mint(&sim, "view-only").await).await;
    // Config and acks are not input.
    send(
        &mut ws,
        json!({"type": "config", "maxFps": 10, "pacing": "push"}),
    )
    .await;
    send(&mut ws, json!({"type": "ack", "seq": 1})).await;
    frame(&mut ws).await;
    send(&mut ws, mouse("mousePressed", (100, 100))).await;
    assert_eq!(close_code(&mut ws).await, Some(4403));
    let s = stats_until(&sim, |s| s.input_refused == 1).await;
    assert!(s.input.is_empty(), "{:?}", s.input);
    // Each connection that tries is refused.
    let mut ws = opened(&mint(&sim, "view-only").await).await;
    send(&mut ws, key("char", "a", "a")).await;
    assert_eq!(close_code(&mut ws).await, Some(4403));
    stats_until(&sim, |s| s.input_refused == 2).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_the_captcha_and_typing_over_preview_change_the_page() {
    let sim = sim_with_ttl(60_000).await;
    let captcha = widget_box(Widget::CaptchaBox);
    let field = widget_box(Widget::SearchField);
    let mut ws = opened(&mint(&sim, "human").await).await;
    let (_, jpeg, _) = frame(&mut ws).await;
    let (_, _, before) = decode_jpeg(&jpeg);
    let unsolved = human_page(&Interaction::default());
    let solved = human_page(&Interaction {
        captcha_solved: true,
        ..Interaction::default()
    });
    assert!(diff(&before, &unsolved, captcha) < diff(&before, &solved, captcha) / 2.0);

    // A press on the box and a release elsewhere is no click.
    send(&mut ws, mouse("mousePressed", centre(captcha))).await;
    send(&mut ws, mouse("mouseReleased", (5, 470))).await;
    send(&mut ws, mouse("mousePressed", centre(captcha))).await;
    send(&mut ws, mouse("mouseReleased", centre(captcha))).await;
    let s = stats_until(&sim, |s| !s.captcha_solved.is_empty()).await;
    assert_eq!(
        s.captcha_solved.iter().collect::<Vec<_>>(),
        ["chaser:human"]
    );
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let (_, jpeg, _) = frame(&mut ws).await;
        let (_, _, now) = decode_jpeg(&jpeg);
        if diff(&now, &solved, captcha) < diff(&now, &unsolved, captcha) / 2.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the check never showed");
    }

    // A tap focuses the field; keyDown + char + keyUp types once; Backspace deletes.
    send(&mut ws, touch("touchStart", &[centre(field)])).await;
    send(&mut ws, touch("touchEnd", &[])).await;
    for c in ["h", "i"] {
        send(&mut ws, key("keyDown", c, c)).await;
        send(&mut ws, key("char", c, c)).await;
        send(&mut ws, key("keyUp", c, "")).await;
    }
    send(&mut ws, key("keyDown", "Backspace", "")).await;
    send(&mut ws, key("keyUp", "Backspace", "")).await;
    stats_until(&sim, |s| {
        s.typed_text.get("chaser:human").map(String::as_str) == Some("h")
    })
    .await;
    // Another viewer whose client sends keyDowns only, without keyUps for the last one.
    let mut other = opened(&mint(&sim, "human").await).await;
    send(&mut other, key("keyDown", "o", "")).await;
    send(&mut other, key("keyUp", "o", "")).await;
    send(&mut other, key("keyDown", "Shift", "")).await;
    send(&mut other, key("keyDown", "!", "")).await;
    stats_until(&sim, |s| {
        s.typed_text.get("chaser:human").map(String::as_str) == Some("ho!")
    })
    .await;
    // Both viewers show the text.
    let typed = human_page(&Interaction {
        captcha_solved: true,
        field_focused: true,
        text: "ho!".into(),
    });
    let text_area = Rect::new(field.x + 12, field.y + 16, 3 * 16, 16);
    let empty = human_page(&Interaction {
        captcha_solved: true,
        field_focused: true,
        text: String::new(),
    });
    for ws in [&mut ws, &mut other] {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let (_, jpeg, _) = frame(ws).await;
            let (_, _, now) = decode_jpeg(&jpeg);
            if diff(&now, &typed, text_area) < diff(&now, &empty, text_area) / 3.0 {
                break;
            }
            assert!(Instant::now() < deadline, "the text never showed");
        }
    }
    // The demo session's page is another page.
    assert!(!sim.stats().typed_text.contains_key("chaser:demo"));
    sim.shutdown().await;
}
