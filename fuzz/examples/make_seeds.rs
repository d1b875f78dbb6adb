//! Writes the committed seed corpora, `seeds/<target>/`: small inputs in each fuzz target's
//! framing, made from the simulator's real output (its RFB encoders, its Chaser preview,
//! Waldiez Runner and AgentStation streams on loopback) and from the unit tests' scripts.
//!
//! Run once from `fuzz/` after changing a format (the fuzzers keep what they find in
//! their own working corpora, not here):
//!
//! ```text
//! cargo run --release --features seeds --example make_seeds
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lookout::core::net;
use lookout::core::source::rfb::{RfbClient, RfbOptions};
use lookout::sim::capture::{self, CaptureEncoding};
use lookout::sim::{SimConfig, SimHandle};
use lookout_fuzz::record;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Big-endian bytes of a list of `u16`s.
fn be16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A rectangle header.
fn rect(x: u16, y: u16, w: u16, h: u16, encoding: i32) -> Vec<u8> {
    [be16(&[x, y, w, h]), encoding.to_be_bytes().to_vec()].concat()
}

/// A FramebufferUpdate of `rects` rectangles, followed by their bytes.
fn update(rects: u16, body: &[u8]) -> Vec<u8> {
    [vec![0, 0], rects.to_be_bytes().to_vec(), body.to_vec()].concat()
}

fn jpeg(rgb: &[u8], w: u16, h: u16, quality: u8, grey: bool, sampling: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, quality);
    if sampling {
        e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    }
    let (pixels, colour) = if grey {
        let luma: Vec<u8> = rgb.chunks(3).map(|p| p[1]).collect();
        (luma, jpeg_encoder::ColorType::Luma)
    } else {
        (rgb.to_vec(), jpeg_encoder::ColorType::Rgb)
    };
    e.encode(&pixels, w, h, colour).unwrap();
    out
}

/// An RGB picture with edges and a gradient, so JPEGs have AC coefficients.
fn picture(w: u16, h: u16) -> Vec<u8> {
    let mut rgb = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let edge = if (x / 5 + y / 3) % 2 == 0 { 200 } else { 30 };
            rgb.extend([edge, (x * 9 % 256) as u8, (y * 17 % 256) as u8]);
        }
    }
    rgb
}

fn rfb_handshake() {
    let init = |w: u16, h: u16, name: &str| {
        let mut s = be16(&[w, h]);
        s.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
        s.extend((name.len() as u32).to_be_bytes());
        s.extend(name.as_bytes());
        s
    };
    let reason = |text: &str| [(text.len() as u32).to_be_bytes().to_vec(), text.into()].concat();
    let challenge: Vec<u8> = (0..16).collect();
    let seeds: [(&str, u8, Vec<Vec<u8>>); 8] = [
        (
            "v38-none",
            0,
            vec![
                b"RFB 003.008\n".to_vec(),
                vec![1, 1, 0, 0, 0, 0],
                init(640, 480, "desk"),
            ],
        ),
        (
            "v37-none",
            2,
            vec![b"RFB 003.007\n".to_vec(), vec![2, 16, 1], init(8, 8, "x")],
        ),
        (
            "v33-none",
            0,
            vec![
                b"RFB 003.003\n".to_vec(),
                vec![0, 0, 0, 1],
                init(4, 2, "old"),
            ],
        ),
        (
            "v38-vnc-auth",
            1,
            vec![
                b"RFB 003.008\n".to_vec(),
                vec![1, 2],
                challenge.clone(),
                vec![0; 4],
                init(2, 2, ""),
            ],
        ),
        (
            "v33-vnc-auth",
            1,
            vec![
                b"RFB 003.003\n".to_vec(),
                vec![0, 0, 0, 2],
                challenge,
                vec![0; 4],
                init(2, 2, ""),
            ],
        ),
        (
            "v38-auth-failed",
            1,
            vec![
                b"RFB 003.008\n".to_vec(),
                vec![1, 2],
                vec![0; 16],
                vec![0, 0, 0, 1],
                reason("bad password"),
            ],
        ),
        (
            "v37-refused",
            0,
            vec![
                b"RFB 003.007\n".to_vec(),
                vec![0],
                reason("too many viewers"),
            ],
        ),
        (
            "v3889-none",
            2,
            vec![
                b"RFB 003.889\n".to_vec(),
                vec![2, 2, 1, 0, 0, 0, 0],
                init(1920, 1080, "Apple"),
            ],
        ),
    ];
    for (name, flags, parts) in seeds {
        write(
            "rfb_handshake",
            name,
            &[vec![flags], parts.concat()].concat(),
        );
    }
}

/// The simulator's encoders, recorded offline: each encoding at a small size, after the
/// handshake (the target supplies its own).
fn rfb_captures() {
    let (w, h) = (48u8, 32u8);
    for encoding in CaptureEncoding::ALL {
        let bytes = capture::synthetic_session(encoding, w.into(), h.into(), 2, None).unwrap();
        let mut rest = &bytes[..];
        RfbClient::connect(&mut rest, &mut Vec::new(), &RfbOptions::default()).unwrap();
        let seed = [&[w, h][..], rest].concat();
        write(
            "rfb_messages",
            &format!("capture-{}", encoding.name()),
            &seed,
        );
    }
}

/// The unit tests' scripts: pseudo-encodings and the other server messages.
fn rfb_scripts() {
    let tight_jpeg = {
        let data = jpeg(&picture(16, 8), 16, 8, 80, false, false);
        let mut b = rect(2, 2, 16, 8, 7);
        b.extend([
            0x90,
            0x80 | (data.len() & 0x7f) as u8,
            (data.len() >> 7) as u8,
        ]);
        b.extend(data);
        b
    };
    let cursor = [
        rect(1, 1, 2, 2, -239),
        vec![255; 16],
        vec![0b1000_0000, 0b0100_0000],
    ]
    .concat();
    // One tile: background, two subrectangles of their own colours.
    let hextile = [
        rect(0, 0, 16, 16, 5),
        vec![
            0x1a, 10, 20, 30, 255, 2, 200, 0, 0, 255, 0x00, 0x11, 0, 200, 0, 255, 0x21, 0x10,
        ],
    ]
    .concat();
    let tight_palette = [
        rect(0, 0, 4, 2, 7),
        vec![0x40, 1, 1, 9, 9, 9, 7, 7, 7, 0b1010_0000, 0b0101_0000],
    ]
    .concat();
    let extended_size = [rect(0, 0, 40, 20, -308), vec![1, 0, 0, 0], vec![0; 16]].concat();
    let cut_text = [
        vec![3, 0, 0, 0],
        5u32.to_be_bytes().to_vec(),
        b"hello".to_vec(),
    ]
    .concat();
    let seeds: [(&str, Vec<u8>); 7] = [
        (
            "tight-jpeg-fill-raw",
            update(
                3,
                &[
                    tight_jpeg,
                    rect(0, 0, 4, 4, 7),
                    vec![0x80, 1, 2, 3],
                    rect(4, 4, 2, 1, 0),
                    vec![9; 8],
                ]
                .concat(),
            ),
        ),
        (
            "cursor-pointer-copyrect",
            update(
                3,
                &[
                    cursor,
                    rect(5, 6, 0, 0, -232),
                    rect(10, 10, 8, 8, 1),
                    be16(&[0, 0]),
                ]
                .concat(),
            ),
        ),
        (
            "hextile-tight-palette",
            update(2, &[hextile, tight_palette].concat()),
        ),
        (
            "desktop-sizes-lastrect",
            update(
                4,
                &[
                    rect(0, 0, 64, 16, -223),
                    extended_size,
                    rect(0, 0, 0, 0, -258),
                    rect(0, 0, 0, 0, -224),
                ]
                .concat(),
            ),
        ),
        (
            "messages",
            [
                vec![2],
                cut_text,
                vec![1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
                vec![150],
                vec![248, 0, 0, 0, 0, 0, 0, 0, 2, 7, 7],
            ]
            .concat(),
        ),
        (
            "qemu-audio-bell",
            [
                vec![255, 1, 0, 2],
                3u32.to_be_bytes().to_vec(),
                vec![1, 2, 3],
                vec![2],
            ]
            .concat(),
        ),
        (
            "extended-clipboard",
            [
                vec![3, 0, 0, 0],
                (-8i32).to_be_bytes().to_vec(),
                vec![0x10, 0, 0, 1],
                vec![0x78, 0x9c, 3, 0],
            ]
            .concat(),
        ),
    ];
    for (name, messages) in seeds {
        write("rfb_messages", name, &[&[32u8, 24][..], &messages].concat());
    }
}

/// Images as the jpeg target reads them: size, row padding, JPEG.
fn jpeg_record(w: u16, h: u16, padding: u8, data: &[u8]) -> Vec<u8> {
    record(&[be16(&[w, h]), vec![padding], data.to_vec()].concat())
}

fn jpegs() {
    let sizes = [(8, 8), (16, 8), (17, 9), (64, 24)];
    for (w, h) in sizes {
        let rgb = picture(w, h);
        let colour = jpeg(&rgb, w, h, 75, false, false);
        let grey = jpeg(&rgb, w, h, 90, true, false);
        // The same tables twice, then other ones: tables carried over and replaced.
        let again = jpeg(
            &picture(w, h).iter().rev().copied().collect::<Vec<_>>(),
            w,
            h,
            75,
            false,
            false,
        );
        let run = [
            jpeg_record(w, h, 0, &colour),
            jpeg_record(w, h, 3, &again),
            jpeg_record(w, h, 0, &grey),
        ];
        write("jpeg", &format!("baseline-{w}x{h}"), &run.concat());
    }
    // What ours leaves to zune-jpeg: subsampled chroma, progressive.
    let rgb = picture(16, 16);
    write(
        "jpeg",
        "subsampled",
        &jpeg_record(16, 16, 0, &jpeg(&rgb, 16, 16, 80, false, true)),
    );
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 80);
    e.set_progressive(true);
    e.encode(&rgb, 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    write("jpeg", "progressive", &jpeg_record(16, 16, 0, &out));
}

fn png(w: u32, h: u32, colour: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(colour);
    e.set_depth(depth);
    if colour == png::ColorType::Indexed {
        e.set_palette(vec![0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
    }
    let mut writer = e.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    out
}

fn pngs() {
    use png::{BitDepth, ColorType};
    let rgb = png(4, 3, ColorType::Rgb, BitDepth::Eight, &picture(4, 3));
    let rgba = png(3, 2, ColorType::Rgba, BitDepth::Eight, &[7; 24]);
    let grey16 = png(
        2,
        2,
        ColorType::Grayscale,
        BitDepth::Sixteen,
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    let indexed = png(
        8,
        2,
        ColorType::Indexed,
        BitDepth::Two,
        &[0b0001_1011, 0b1110_0100, 0, 0xff],
    );
    let grey_alpha = png(
        2,
        1,
        ColorType::GrayscaleAlpha,
        BitDepth::Eight,
        &[9, 9, 200, 0],
    );
    let frames = [rgb.clone(), rgba, grey16, indexed, grey_alpha, rgb];
    let seed: Vec<u8> = frames.iter().flat_map(|f| record(f)).collect();
    write("preview_binary", "pngs", &seed);
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Result<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    Ok(response.error_for_status()?.json().await?)
}

/// The first `count` messages of a WebSocket, text or binary, within `wait`.
async fn messages(
    url: &str,
    subprotocols: &[&str],
    count: usize,
    wait: Duration,
) -> Result<Vec<Message>> {
    let mut ws = net::connect_ws(&url::Url::parse(url)?, subprotocols).await?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while out.len() < count {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(m @ (Message::Text(_) | Message::Binary(_))))) => out.push(m),
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    Ok(out)
}

/// Chaser's preview: the simulator's text frames (JSON, base64 JPEG), then binary ones.
async fn preview(sim: &SimHandle, client: &reqwest::Client) -> Result<()> {
    let (session, _, _) = sim
        .demo_sessions()
        .into_iter()
        .next()
        .expect("a demo session");
    let mint = || {
        post(
            client,
            format!(
                "{}/v1/sessions/{session}/preview-token",
                sim.chaser_base_url()
            ),
            sim.chaser_key(),
            json!({}),
        )
    };
    let url = mint().await?["url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (i, m) in messages(&url, &[], 3, Duration::from_secs(5))
        .await?
        .iter()
        .enumerate()
    {
        if let Message::Text(t) = m {
            write("preview_text", &format!("sim-{i}"), t.as_bytes());
        }
    }
    sim.preview_binary_frames(true);
    let url = mint().await?["url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let frames: Vec<u8> = messages(&url, &[], 4, Duration::from_secs(5))
        .await?
        .iter()
        .filter_map(|m| match m {
            Message::Binary(b) => Some(record(b)),
            _ => None,
        })
        .flatten()
        .collect();
    write("preview_binary", "sim-jpegs", &frames);
    let others = [
        r#"{"type":"status","connected":true,"screencasting":true,"viewportWidth":1280,"viewportHeight":720}"#,
        r#"{"type":"url","url":"https://example.com/login?token=secret"}"#,
        r#"{"type":"error","message":"input failed"}"#,
        r#"{"type":"frame","seq":"7","data":"data:image/png;base64,iVBORw0KGgo="}"#,
        r#"{"type":"something-new","x":[1,2,{"y":null}]}"#,
    ];
    for (i, text) in others.iter().enumerate() {
        write("preview_text", &format!("script-{i}"), text.as_bytes());
    }
    Ok(())
}

/// Waldiez Runner: a demo task's socket, status first, then its messages, one a line.
async fn runner(sim: &SimHandle, client: &reqwest::Client) -> Result<()> {
    let base = sim.waldiez_base_url();
    let form = [
        ("client_id", sim.waldiez_client_id()),
        ("client_secret", sim.waldiez_client_secret()),
    ];
    let tokens: Value = client
        .post(format!("{base}/auth/token"))
        .form(&form)
        .send()
        .await?
        .json()
        .await?;
    let token = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ws_base = base.replacen("http", "ws", 1);
    for (task, _) in sim.demo_waldiez_tasks() {
        // A finished task refuses viewers (403 on the upgrade).
        let Ok(got) = messages(
            &format!("{ws_base}/ws/{task}"),
            &["tasks-api", &token],
            12,
            Duration::from_secs(4),
        )
        .await
        else {
            continue;
        };
        let lines: Vec<String> = got
            .into_iter()
            .filter_map(|m| m.into_text().ok().map(|t| t.to_string()))
            .collect();
        write(
            "tasklog_runner",
            &format!("sim-{task}"),
            lines.join("\n").as_bytes(),
        );
    }
    Ok(())
}

/// AgentStation: raw bytes of the log stream (SSE), and reloads of the live playlist.
async fn agentstation(sim: &SimHandle, client: &reqwest::Client) -> Result<()> {
    let base = sim.agentstation_base_url();
    let token = sim.agentstation_token();
    let (station, _) = sim
        .demo_workstations()
        .into_iter()
        .next()
        .expect("a demo workstation");
    let url = post(
        client,
        format!("{base}/v1/workstations/{station}/log/stream"),
        token,
        json!({}),
    )
    .await?;
    let mut response = client
        .get(url["url"].as_str().unwrap_or_default())
        .send()
        .await?;
    let mut stream = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), response.chunk()).await {
            Ok(Ok(Some(chunk))) => stream.extend_from_slice(&chunk),
            Ok(_) => break,
            Err(_) => {}
        }
    }
    write(
        "tasklog_sse",
        "sim-log",
        &[&[255u8, 7][..], &stream].concat(),
    );
    let url = post(
        client,
        format!("{base}/v1/workstations/{station}/recorder/stream"),
        token,
        json!({"type": "video", "protocol": "hls"}),
    )
    .await?;
    let playlist = url["url"].as_str().unwrap_or_default().to_string();
    let mut reloads = Vec::new();
    for _ in 0..3 {
        reloads.push(client.get(&playlist).send().await?.bytes().await?.to_vec());
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }
    write("hls_playlist", "sim-video", &reloads.join(&0u8));
    Ok(())
}

fn scripted_text() {
    let sse = "\u{feff}: keep-alive\r\nretry: 1500\r\nid: 7\r\nevent: log\r\ndata: {\"level\":\"warning\",\"message\":\"disk\",\"timestamp\":\"2024-03-23T16:08:21.210Z\"}\r\n\r\ndata: plain\ndata: two lines\n\nid\ndata:{\"msg\":3,\"severity\":40,\"ts\":1711210101}\r\r";
    write(
        "tasklog_sse",
        "script",
        &[&[4u8, 1][..], sse.as_bytes()].concat(),
    );
    let runner = [
        r#"{"type":"status","timestamp":1711210101000000,"data":{"task_id":"t1","status":"WAITING_FOR_INPUT","input_request_id":"r2"}}"#,
        r#"{"id":"1711210101000-0","type":"input_request","timestamp":"1711210101000001","request_id":"r2","data":"Password?","password":"True"}"#,
        r#"{"id":"1711210101000-1","type":"input_response","request_id":"r2","data":"hunter2"}"#,
        r#"{"id":"1711210101000-1","type":"input_response","request_id":"r2","data":"hunter2"}"#,
        r#"{"type":"text","data":"{\"type\":\"text\",\"content\":{\"sender\":\"a\",\"recipient\":\"b\",\"content\":\"hi\"}}"}"#,
        r#"{"id":"9-9","type":"print","data":{"type":"tool_call","content":{"sender":"a","tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{\"x\":1}"}}]}}}"#,
        r#"{"type":"print","data":{"type":"termination","content":{"termination_reason":"done"}},"timestamp":"2024-03-23 16:08:21+0100"}"#,
        "not json at all",
    ];
    write("tasklog_runner", "script", runner.join("\n").as_bytes());
    let master = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720,AUDIO=\"aud\"\nvideo/index.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"iframes.m3u8\"\n";
    let media = |first: u64, count: u64, end: bool| {
        let mut t = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for seq in first..first + count {
            t.push_str(&format!("#EXT-X-PROGRAM-DATE-TIME:2024-03-23T16:08:{:02}.000Z\n#EXTINF:2.000,\n{seq}.ts?token=x\n", seq % 60));
        }
        if end {
            t.push_str("#EXT-X-ENDLIST\n");
        }
        t
    };
    let reloads = [
        master.to_string(),
        media(10, 3, false),
        media(11, 3, false),
        media(20, 5, false),
        media(2, 2, true),
    ];
    write("hls_playlist", "script", reloads.join("\0").as_bytes());
}

#[tokio::main]
async fn main() -> Result<()> {
    rfb_handshake();
    rfb_captures();
    rfb_scripts();
    jpegs();
    pngs();
    scripted_text();
    let cfg = SimConfig {
        width: 64,
        height: 48,
        fps: 5,
        waldiez_step_ms: 200,
        agentstation_log_interval_ms: 200,
        ..SimConfig::default()
    };
    let sim = SimHandle::start(cfg).await?;
    let client = net::http_client()?;
    preview(&sim, &client).await?;
    runner(&sim, &client).await?;
    agentstation(&sim, &client).await?;
    sim.shutdown().await;
    Ok(())
}
