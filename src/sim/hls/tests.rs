//! Tests of the recorder and its HLS streams: playlist text, the window and the faults on
//! published stand-in segments (no encoder: fast), the REST contract and HLS URLs over
//! HTTP, and one real encode decoded back with FFmpeg.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use ffmpeg_next as ff;
use serde_json::{Value, json};

use super::audio;
use super::encoder::SegmentSink;
use super::media::*;
use super::playlist::{self, Entry, Listing};
use super::recorder::*;
use crate::sim::test_fixtures::http;
use crate::sim::{SimConfig, SimHandle};

const PDT0: u64 = 1_781_351_681_836;

fn entry(seq: u64) -> Entry {
    Entry {
        seq,
        pdt_ms: PDT0 + (seq - 7) * 2000,
        duration_us: 2_000_000,
    }
}

#[test]
fn playlists_say_version_target_sequence_dates_and_relative_uris() {
    let listing = Listing {
        media_sequence: 7,
        entries: (7..10).map(entry).collect(),
    };
    let text = playlist::render(HlsKind::Video, &listing, false, "T0k-_");
    assert_eq!(
        text,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
         #EXTINF:2.000,\n#EXT-X-PROGRAM-DATE-TIME:2026-06-13T11:54:41.836+0000\nvideo/7.ts?token=T0k-_\n\
         #EXTINF:2.000,\n#EXT-X-PROGRAM-DATE-TIME:2026-06-13T11:54:43.836+0000\nvideo/8.ts?token=T0k-_\n\
         #EXTINF:2.000,\n#EXT-X-PROGRAM-DATE-TIME:2026-06-13T11:54:45.836+0000\nvideo/9.ts?token=T0k-_\n"
    );
    // Audio segments hold whole AAC frames; an ended playlist says so.
    let audio = Listing {
        media_sequence: 3,
        entries: vec![Entry {
            seq: 3,
            pdt_ms: PDT0,
            duration_us: 2_005_333,
        }],
    };
    let text = playlist::render(HlsKind::Audio, &audio, true, "t");
    assert!(
        text.contains("#EXTINF:2.005,\n#EXT-X-PROGRAM-DATE-TIME:2026-06-13T11:54:41.836+0000\naudio/3.ts?token=t\n"),
        "{text}"
    );
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    assert!(text.contains("#EXT-X-TARGETDURATION:2\n"), "{text}");
    // What the client's parser makes of it.
    let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
    assert_eq!(parsed.media_sequence, 3);
    assert!(parsed.end_list);
    assert_eq!(parsed.segments[0].uri, "audio/3.ts?token=t");
    // Before the first segment: a valid playlist listing none.
    let empty = playlist::render(HlsKind::Video, &Listing::default(), false, "t");
    let parsed = m3u8_rs::parse_media_playlist_res(empty.as_bytes()).unwrap();
    assert!(parsed.segments.is_empty() && !parsed.end_list);
    assert_eq!(parsed.target_duration, 2);
}

#[test]
fn the_timeline_maps_frames_to_instants_and_back() {
    let t = Timeline::now();
    for n in [0, 1, 23, 24, 47, 48, 1_000_003] {
        assert_eq!(t.frame_at(t.instant_of_frame(n)), n);
        assert_eq!(
            t.frame_at(t.instant_of_frame(n + 1) - Duration::from_micros(1)),
            n
        );
    }
    assert_eq!(t.wall_ms(-21_334), t.start_wall_ms - 22);
    assert_eq!(t.wall_ms(2_000_000), t.start_wall_ms + 2_000);
}

#[test]
fn the_sound_beeps_at_the_agents_two_clicks() {
    let clicks = audio::click_ticks();
    assert_eq!(clicks.len(), 2, "{clicks:?}");
    let peak = |from: u64, len: u64| {
        (from..from + len)
            .map(|n| audio::sample(n).abs())
            .fold(0.0f32, f32::max)
    };
    let onset = clicks[0] * 2000;
    assert!(peak(onset, 2400) > 0.2, "no beep at the click");
    assert!(peak(onset + 9000, 20_000) < 0.05, "the beep goes on");
    assert!(peak(0, 48_000) > 0.01, "no hum");
    assert_eq!(audio::sample(onset + 100), audio::sample(onset + 100));
    assert!((0..200_000).all(|n| audio::sample(n).abs() <= 1.0));
}

// ---- The window and the faults, on stand-in segments --------------------------------------

fn stand_in(seq: u64) -> Segment {
    let part = |tag: u8| Part {
        bytes: Bytes::from(vec![tag, seq as u8]),
        start_us: seq as i64 * 2_000_000,
        duration_us: 2_000_000,
    };
    Segment {
        seq,
        video: part(1),
        audio: part(2),
    }
}

/// Recorders that never start an encoder, with a recording workstation "ws".
fn quiet(token_ttl_ms: u64) -> (Recorders, Arc<Recorder>) {
    let recorders = Recorders::new(token_ttl_ms, 15_000);
    recorders.stop_all();
    recorders.add("ws", true);
    recorders.add("ws2", true);
    let r = recorders.get("ws").unwrap();
    (recorders, r)
}

fn listed(text: &str) -> (u64, Vec<String>, bool) {
    let p = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
    (
        p.media_sequence,
        p.segments.iter().map(|s| s.uri.clone()).collect(),
        p.end_list,
    )
}

#[test]
fn the_window_lists_thirty_and_keeps_four_more() {
    let (recorders, r) = quiet(60_000);
    let token = recorders.stream_token("ws", HlsKind::Video).unwrap();
    let (seq, uris, ended) = listed(&recorders.playlist("ws", HlsKind::Video, &token).unwrap());
    assert_eq!((seq, uris.len(), ended), (0, 0, false));
    r.begin(5);
    let (seq, _, _) = listed(&recorders.playlist("ws", HlsKind::Video, &token).unwrap());
    assert_eq!(seq, 5, "the first segment to come");
    for seq in 5..45 {
        r.publish(stand_in(seq));
    }
    let (seq, uris, _) = listed(&recorders.playlist("ws", HlsKind::Video, &token).unwrap());
    assert_eq!(seq, 15);
    assert_eq!(uris.len(), WINDOW);
    assert_eq!(uris[0], format!("video/15.ts?token={token}"));
    assert_eq!(uris[29], format!("video/44.ts?token={token}"));
    let get = |file: &str| recorders.segment("ws", HlsKind::Video, file, &token);
    assert_eq!(get("44.ts").unwrap().as_ref(), &[1, 44]);
    assert_eq!(get("11.ts").unwrap().as_ref(), &[1, 11], "kept behind");
    for gone in [
        "10.ts", "45.ts", "0.ts", "x.ts", "44", ".ts", "+44.ts", "44.ts.ts",
    ] {
        assert_eq!(get(gone), Err(HlsRefusal::NotFound), "{gone}");
    }
    let audio = recorders.stream_token("ws", HlsKind::Audio).unwrap();
    let bytes = recorders.segment("ws", HlsKind::Audio, "44.ts", &audio);
    assert_eq!(bytes.unwrap().as_ref(), &[2, 44]);
    // A restart after a gap starts a fresh window.
    r.begin(100);
    let (seq, uris, _) = listed(&recorders.playlist("ws", HlsKind::Video, &token).unwrap());
    assert_eq!((seq, uris.len()), (100, 0));
    assert_eq!(
        recorders.counters("ws"),
        HlsCounters {
            playlist_requests: 4,
            segment_requests: 11,
            ..HlsCounters::default()
        }
    );
}

#[test]
fn tokens_open_one_workstation_and_kind_until_they_expire() {
    let (recorders, r) = quiet(60_000);
    r.publish(stand_in(0));
    let video = recorders.stream_token("ws", HlsKind::Video).unwrap();
    assert!(recorders.playlist("ws", HlsKind::Video, &video).is_ok());
    for (id, kind, token) in [
        ("ws", HlsKind::Audio, video.as_str()),
        ("ws2", HlsKind::Video, video.as_str()),
        ("ws", HlsKind::Video, "junk"),
        ("ws", HlsKind::Video, ""),
    ] {
        assert_eq!(
            recorders.playlist(id, kind, token),
            Err(HlsRefusal::Forbidden)
        );
        assert_eq!(
            recorders.segment(id, kind, "0.ts", token),
            Err(HlsRefusal::Forbidden)
        );
    }
    assert_eq!(recorders.counters("ws").playlist_requests, 1);
    let (short, _) = quiet(1);
    let token = short.stream_token("ws", HlsKind::Video).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        short.playlist("ws", HlsKind::Video, &token),
        Err(HlsRefusal::Forbidden)
    );
    // Idle recorders give no URL.
    recorders.add("idle", false);
    assert_eq!(
        recorders.stream_token("idle", HlsKind::Video),
        Err(NotRecording)
    );
    assert_eq!(
        recorders.stream_token("nope", HlsKind::Video),
        Err(NotRecording)
    );
}

#[test]
fn faults_drop_a_segment_stall_end_and_remove_the_playlist() {
    let (recorders, r) = quiet(60_000);
    let token = recorders.stream_token("ws", HlsKind::Video).unwrap();
    let playlist = || recorders.playlist("ws", HlsKind::Video, &token);
    let segment = |seq: u64| recorders.segment("ws", HlsKind::Video, &format!("{seq}.ts"), &token);
    r.publish(stand_in(0));

    // Missing: listed, but 404; the next is fine.
    assert!(recorders.fault("ws", HlsFault::MissingSegment));
    r.publish(stand_in(1));
    r.publish(stand_in(2));
    assert_eq!(listed(&playlist().unwrap()).1.len(), 3);
    assert_eq!(segment(1), Err(HlsRefusal::NotFound));
    assert!(segment(0).is_ok() && segment(2).is_ok());

    // Stalled: the playlist stays as it was, then lists what came meanwhile.
    assert!(recorders.fault("ws", HlsFault::StallPlaylist(Duration::from_millis(150))));
    let frozen = playlist().unwrap();
    r.publish(stand_in(3));
    r.publish(stand_in(4));
    assert_eq!(playlist().unwrap(), frozen);
    assert!(segment(4).is_ok(), "published segments are there to fetch");
    std::thread::sleep(Duration::from_millis(200));
    let (_, uris, _) = listed(&playlist().unwrap());
    assert_eq!(uris.len(), 5);
    assert!(uris[4].starts_with("video/4.ts?"));

    // Ended: ENDLIST, no more advancing, status stopped, no stream URLs.
    assert!(recorders.fault("ws", HlsFault::EndList));
    assert_eq!(recorders.status("ws"), Some(RecorderState::Stopped));
    let (_, uris, ended) = listed(&playlist().unwrap());
    assert!(ended);
    assert_eq!(uris.len(), 5);
    assert_eq!(
        recorders.stream_token("ws", HlsKind::Video),
        Err(NotRecording)
    );
    assert!(segment(4).is_ok());

    // Started again: live, no ENDLIST.
    assert_eq!(recorders.start("ws"), Some(RecorderState::Recording));
    assert!(!listed(&playlist().unwrap()).2);

    // Gone: 410 for the playlist, 404 for segments, no stream URLs until a start.
    assert!(recorders.fault("ws", HlsFault::Gone));
    assert_eq!(playlist(), Err(HlsRefusal::Gone));
    assert_eq!(segment(4), Err(HlsRefusal::NotFound));
    assert_eq!(recorders.status("ws"), Some(RecorderState::Stopped));
    assert_eq!(
        recorders.stream_token("ws", HlsKind::Audio),
        Err(NotRecording)
    );
    recorders.start("ws");
    assert!(playlist().is_ok());
    assert!(!recorders.fault("nope", HlsFault::Gone));
}

// ---- REST and URLs over HTTP --------------------------------------------------------------

/// A simulator whose recorders never start an encoder.
async fn quiet_sim() -> SimHandle {
    let sim = SimHandle::start(SimConfig::default()).await.unwrap();
    sim.agentstation.recorders().stop_all();
    sim
}

async fn call(
    sim: &SimHandle,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = http().request(method, format!("{}{path}", sim.agentstation_base_url()));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    (code, resp.json().await.unwrap_or(Value::Null), headers)
}

async fn stream_call(sim: &SimHandle, id: &str, body: &str) -> (u16, Value) {
    let path = format!("/v1/workstations/{id}/recorder/stream");
    let key = Some(sim.agentstation_token());
    let (code, value, _) = call(sim, reqwest::Method::POST, &path, key, Some(body)).await;
    (code, value)
}

async fn stream_url(sim: &SimHandle, id: &str, kind: &str) -> String {
    let body = json!({ "type": kind, "protocol": "hls" }).to_string();
    let (code, value) = stream_call(sim, id, &body).await;
    assert_eq!(code, 200, "{value}");
    value["url"].as_str().unwrap().to_string()
}

async fn recorder_call(sim: &SimHandle, id: &str, start: bool) -> (u16, Value) {
    let key = Some(sim.agentstation_token());
    let (code, value, _) = if start {
        let path = format!("/v1/workstations/{id}/recorder/start");
        call(sim, reqwest::Method::POST, &path, key, None).await
    } else {
        let path = format!("/v1/workstations/{id}/recorder");
        call(sim, reqwest::Method::GET, &path, key, None).await
    };
    (code, value)
}

fn is_error_body(v: &Value) -> bool {
    v["error"].is_string() && v["message"].is_string()
}

#[tokio::test]
async fn recorder_calls_start_report_and_hand_out_stream_urls() {
    let sim = quiet_sim().await;
    assert_eq!(
        recorder_call(&sim, "ws-demo", false).await,
        (200, json!({ "status": "recording" }))
    );
    assert_eq!(
        recorder_call(&sim, "ws-idle", false).await,
        (200, json!({ "status": "idle" }))
    );
    let (code, body) = stream_call(&sim, "ws-idle", r#"{"type":"video","protocol":"hls"}"#).await;
    assert_eq!(code, 400);
    assert_eq!(body["message"], "recorder is not recording");
    assert_eq!(
        recorder_call(&sim, "ws-idle", true).await,
        (200, json!({ "status": "recording" }))
    );
    assert_eq!(
        sim.agentstation_recorder("ws-idle"),
        Some(RecorderState::Recording)
    );

    let url = stream_url(&sim, "ws-demo", "video").await;
    let prefix = format!("{}/agentstation/hls/ws-demo/video?token=", sim.base_url());
    assert!(url.starts_with(&prefix), "{url}");
    let audio = stream_url(&sim, "ws-idle", "audio").await;
    assert!(
        audio.contains("/agentstation/hls/ws-idle/audio?token="),
        "{audio}"
    );

    // The playlist behind the URL; its token opens nothing else.
    let resp = http().get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    let status = |u: String| async move { http().get(u).send().await.unwrap().status().as_u16() };
    assert_eq!(status(url.replacen("/video?", "/audio?", 1)).await, 403);
    assert_eq!(status(url.replacen("/ws-demo/", "/ws-idle/", 1)).await, 403);
    assert_eq!(status(format!("{prefix}junk")).await, 403);
    assert_eq!(status(url.replacen("?token=", "?nothing=", 1)).await, 403);
    assert_eq!(status(url.replacen("/video?", "/picture?", 1)).await, 404);
    assert_eq!(
        status(url.replacen("/video?", "/video/0.ts?", 1)).await,
        404
    );
    assert_eq!(
        sim.agentstation_hls_counters("ws-demo").playlist_requests,
        1
    );

    // Bad bodies.
    for body in [
        "",
        "not json",
        r#"{"type":"video"}"#,
        r#"{"type":"picture","protocol":"hls"}"#,
        r#"{"type":"video","protocol":"dash"}"#,
        r#"{"type":1,"protocol":"hls"}"#,
        &format!(
            r#"{{"type":"video","protocol":"hls","pad":"{}"}}"#,
            "x".repeat(5000)
        ),
    ] {
        let (code, value) = stream_call(&sim, "ws-demo", body).await;
        assert_eq!(code, 400, "{body:.40}");
        assert!(is_error_body(&value), "{value}");
    }
}

#[tokio::test]
async fn recorder_calls_check_the_key_the_workstation_and_forced_failures() {
    let sim = quiet_sim().await;
    let body = r#"{"type":"video","protocol":"hls"}"#;
    for (method, tail, body) in [
        (reqwest::Method::POST, "recorder/start", None),
        (reqwest::Method::GET, "recorder", None),
        (reqwest::Method::POST, "recorder/stream", Some(body)),
    ] {
        let path = format!("/v1/workstations/ws-demo/{tail}");
        for key in [None, Some("wrong")] {
            let (code, value, _) = call(&sim, method.clone(), &path, key, body).await;
            assert_eq!(code, 401, "{tail}");
            assert!(is_error_body(&value), "{value}");
        }
        let path = format!("/v1/workstations/ws-nope/{tail}");
        let key = Some(sim.agentstation_token());
        let (code, value, _) = call(&sim, method.clone(), &path, key, body).await;
        assert_eq!(code, 422, "{tail}");
        assert!(is_error_body(&value), "{value}");
    }

    // Forced failures, counted per call, after the key check.
    sim.agentstation_fail_next("ws-demo", 429, 2, Some(7));
    let path = "/v1/workstations/ws-demo/recorder";
    let (code, _, _) = call(&sim, reqwest::Method::GET, path, Some("wrong"), None).await;
    assert_eq!(code, 401);
    for _ in 0..2 {
        let (code, value) = stream_call(&sim, "ws-demo", body).await;
        assert_eq!((code, value["error"].as_str()), (429, Some("rate_limited")));
    }
    let key = Some(sim.agentstation_token());
    sim.agentstation_fail_next("ws-demo", 429, 1, None);
    let (code, _, headers) = call(&sim, reqwest::Method::GET, path, key, None).await;
    assert_eq!((code, headers["retry-after"].to_str().unwrap()), (429, "1"));
    assert_eq!(stream_call(&sim, "ws-demo", body).await.0, 200);
    for status in [400, 401, 402, 422, 500, 503] {
        sim.agentstation_fail_next("ws-demo", status, 1, (status == 503).then_some(3));
        let (code, value, headers) = call(&sim, reqwest::Method::GET, path, key, None).await;
        assert_eq!(code, status);
        assert!(is_error_body(&value), "{value}");
        assert_eq!(
            headers.get("retry-after").map(|v| v.to_str().unwrap()),
            (status == 503).then_some("3")
        );
    }
    // The log stream call is a workstation call too; a disarmed hook forces nothing.
    sim.agentstation_fail_next("ws-demo", 402, 5, None);
    let (code, value, _) = call(
        &sim,
        reqwest::Method::POST,
        "/v1/workstations/ws-demo/log/stream",
        key,
        None,
    )
    .await;
    assert_eq!(
        (code, value["error"].as_str()),
        (402, Some("payment_required"))
    );
    sim.agentstation_fail_next("ws-demo", 402, 0, None);
    assert_eq!(recorder_call(&sim, "ws-demo", false).await.0, 200);
    // Other workstations are unaffected.
    sim.agentstation_fail_next("ws-idle", 500, 1, None);
    assert_eq!(recorder_call(&sim, "ws-demo", false).await.0, 200);
}

#[tokio::test]
async fn faults_show_over_http() {
    let sim = quiet_sim().await;
    let recorder = sim.agentstation.recorders().get("ws-demo").unwrap();
    let url = stream_url(&sim, "ws-demo", "video").await;
    let base = url::Url::parse(&url).unwrap();
    for seq in 0..3 {
        recorder.publish(stand_in(seq));
    }
    sim.agentstation_hls_fault("ws-demo", HlsFault::MissingSegment);
    recorder.publish(stand_in(3));
    let text = http().get(&url).send().await.unwrap().text().await.unwrap();
    let (_, uris, _) = listed(&text);
    assert_eq!(uris.len(), 4);
    let fetch = |uri: String| {
        let u = base.join(&uri).unwrap();
        async move { http().get(u).send().await.unwrap() }
    };
    let ok = fetch(uris[2].clone()).await;
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.headers()["content-type"], "video/mp2t");
    assert_eq!(ok.bytes().await.unwrap().as_ref(), &[1, 2]);
    assert_eq!(fetch(uris[3].clone()).await.status().as_u16(), 404);

    sim.agentstation_hls_fault("ws-demo", HlsFault::EndList);
    let text = http().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    assert_eq!(
        recorder_call(&sim, "ws-demo", false).await,
        (200, json!({ "status": "stopped" }))
    );
    recorder_call(&sim, "ws-demo", true).await;
    sim.agentstation_hls_fault("ws-demo", HlsFault::Gone);
    assert_eq!(
        http().get(&url).send().await.unwrap().status().as_u16(),
        410
    );
    assert_eq!(fetch(uris[2].clone()).await.status().as_u16(), 404);
    let (code, value) = stream_call(&sim, "ws-demo", r#"{"type":"video","protocol":"hls"}"#).await;
    assert_eq!(
        (code, value["message"].as_str()),
        (400, Some("recorder is not recording"))
    );
    let counters = sim.agentstation_hls_counters("ws-demo");
    assert_eq!(
        (counters.playlist_requests, counters.segment_requests),
        (3, 3)
    );
}

// ---- A real encode ------------------------------------------------------------------------

/// What a segment decodes to.
#[derive(Debug, Default)]
struct Decoded {
    streams: usize,
    video: bool,
    width: u32,
    height: u32,
    /// (pts in 1/90000 s, key frame) of each video frame.
    frames: Vec<(i64, bool)>,
    rate: u32,
    channels: u16,
    samples: usize,
    /// The pts of each audio frame, 1/90000 s.
    audio_pts: Vec<i64>,
    /// Frames and packets flagged corrupt.
    corrupt: usize,
}

/// Feeds every packet of `input` to `dec` and hands each frame it gives to `each`.
fn run_decoder<F: std::ops::DerefMut<Target = ff::Frame>>(
    input: &mut ff::format::context::Input,
    dec: &mut ff::decoder::Opened,
    frame: &mut F,
    mut each: impl FnMut(&F),
) {
    let mut drain = |dec: &mut ff::decoder::Opened, frame: &mut F| {
        while dec.receive_frame(frame).is_ok() {
            each(frame);
        }
    };
    for (_, packet) in input.packets() {
        assert!(!packet.is_corrupt(), "a corrupt packet");
        dec.send_packet(&packet).unwrap();
        drain(dec, frame);
    }
    dec.send_eof().unwrap();
    drain(dec, frame);
}

/// Demuxes one MPEG-TS file from memory and decodes its one stream.
fn decode(bytes: Vec<u8>) -> Decoded {
    ff::init().unwrap();
    let io = ff::format::context::StreamIo::from_read(Cursor::new(bytes)).unwrap();
    let mut input = ff::format::input_from_stream(io, Some("segment.ts"), None).unwrap();
    let mut out = Decoded {
        streams: input.streams().count(),
        ..Decoded::default()
    };
    let stream = input.streams().next().unwrap();
    let tb = stream.time_base();
    assert_eq!((tb.numerator(), tb.denominator()), (1, 90_000));
    let params = stream.parameters();
    out.video = params.medium() == ff::media::Type::Video;
    let context = ff::codec::Context::from_parameters(params).unwrap();
    if out.video {
        let mut dec = context.decoder().video().unwrap();
        let mut frame = ff::frame::Video::empty();
        run_decoder(&mut input, &mut dec, &mut frame, |f| {
            out.width = f.width();
            out.height = f.height();
            out.frames.push((f.pts().unwrap(), f.is_key()));
            out.corrupt += usize::from(f.is_corrupt());
        });
    } else {
        let mut dec = context.decoder().audio().unwrap();
        let mut frame = ff::frame::Audio::empty();
        run_decoder(&mut input, &mut dec, &mut frame, |f| {
            out.rate = f.rate();
            out.channels = f.channels();
            out.samples += f.samples();
            out.audio_pts.extend(f.pts());
            out.corrupt += usize::from(f.is_corrupt());
        });
    }
    out
}

async fn get_text(url: &url::Url) -> String {
    let resp = http().get(url.clone()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.text().await.unwrap()
}

async fn get_bytes(url: url::Url) -> Vec<u8> {
    let resp = http().get(url.clone()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.bytes().await.unwrap().to_vec()
}

/// The video and audio playlists once each lists two segments, and how long after `asked`
/// the first video segment was listed.
async fn two_segments_each(
    video: &url::Url,
    audio: &url::Url,
    asked: Instant,
) -> (m3u8_rs::MediaPlaylist, m3u8_rs::MediaPlaylist, Duration) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut first_listed = None;
    let (video_list, audio_list) = loop {
        let v = m3u8_rs::parse_media_playlist_res(get_text(video).await.as_bytes()).unwrap();
        let a = m3u8_rs::parse_media_playlist_res(get_text(audio).await.as_bytes()).unwrap();
        if first_listed.is_none() && !v.segments.is_empty() {
            first_listed = Some(asked.elapsed());
        }
        if v.segments.len() >= 2 && a.segments.len() >= 2 {
            break (v, a);
        }
        assert!(Instant::now() < deadline, "no segments in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    (video_list, audio_list, first_listed.unwrap())
}

/// Two consecutive decoded video segments: 720p, whole, on the 1/24 s grid from 10 s.
/// An encoder starved of CPU skips frames (a loaded CI machine; `skipped` of them): their
/// times stay on the grid, unfilled.
fn check_video(v0: &Decoded, v1: &Decoded, skipped: u64) {
    for v in [v0, v1] {
        assert_eq!(
            (v.streams, v.video, v.width, v.height),
            (1, true, 1280, 720)
        );
        let frames = v.frames.len();
        assert!(frames <= 49, "{frames} frames");
        assert!(
            frames + skipped as usize >= 47,
            "{frames} frames, {skipped} skipped"
        );
        assert!(v.frames[0].1, "a segment starts with a key frame");
        assert_eq!(v.corrupt, 0);
        for pair in v.frames.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap > 0 && gap % 3750 == 0, "frames on the 1/24 s grid");
            assert!(skipped > 0 || gap == 3750, "frames 1/24 s apart");
        }
    }
    // 10 s before frame 0, then continuous into the next segment.
    assert_eq!(v0.frames[0].0, 900_000);
    if skipped == 0 {
        assert_eq!(v1.frames[0].0, v0.frames.last().unwrap().0 + 3750);
    }
    assert_eq!(v1.frames[0].0, 900_000 + 180_000);
}

/// Two consecutive decoded audio segments: 48 kHz stereo, 2 s each, on the video's clock.
fn check_audio(a0: &Decoded, a1: &Decoded) {
    for a in [a0, a1] {
        assert_eq!(
            (a.streams, a.video, a.rate, a.channels),
            (1, false, 48_000, 2)
        );
        let seconds = a.samples as f64 / 48_000.0;
        assert!((seconds - 2.0).abs() < 0.05, "{seconds} s of sound");
        assert_eq!(a.corrupt, 0);
    }
    // The audio runs on the same clock (the encoder's priming starts one AAC frame early).
    assert!(
        (a0.audio_pts[0] - 900_000).abs() <= 1920,
        "{}",
        a0.audio_pts[0]
    );
    assert_eq!(a1.audio_pts[0], a0.audio_pts.last().unwrap() + 1920);
    assert!((a1.audio_pts[0] - 1_080_000).abs() <= 1920);
}

/// ws-demo, recording since the simulator started, encodes lazily from its first stream
/// request (catching up mid-segment); its segments decode to the seed's media, on one
/// timeline; one encoder serves both kinds and every client; it stops when unused and
/// leaves no thread behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_encode_decodes_to_the_seed_media() {
    let sim = SimHandle::start(SimConfig {
        agentstation_hls_idle_ms: 1_500,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Start mid-segment, so the encoder catches up.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!sim.agentstation_encoder_running("ws-demo"));
    let asked = Instant::now();
    let video = url::Url::parse(&stream_url(&sim, "ws-demo", "video").await).unwrap();
    let audio = url::Url::parse(&stream_url(&sim, "ws-demo", "audio").await).unwrap();
    assert!(sim.agentstation_encoder_running("ws-demo"));

    let (video_list, audio_list, first_listed) = two_segments_each(&video, &audio, asked).await;
    assert!(first_listed < Duration::from_secs(8), "{first_listed:?}");
    assert_eq!(video_list.media_sequence, 0);
    assert_eq!(audio_list.media_sequence, 0);
    assert_eq!(video_list.segments[0].duration, 2.0);
    let audio_total: f32 = audio_list.segments[..2].iter().map(|s| s.duration).sum();
    // The first holds the encoder's priming too.
    assert!((audio_total - 4.0).abs() < 0.05, "{audio_total}");
    let pdt = |s: &m3u8_rs::MediaSegment| {
        let at = crate::core::source::hls::playlist::program_date_time(s).unwrap();
        at.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    assert_eq!(
        pdt(&video_list.segments[1]) - pdt(&video_list.segments[0]),
        2000
    );
    assert!((pdt(&audio_list.segments[0]) - pdt(&video_list.segments[0])).abs() <= 22);

    let mut files = Vec::new();
    for (base, list) in [(&video, &video_list), (&audio, &audio_list)] {
        for s in &list.segments[..2] {
            files.push(get_bytes(base.join(&s.uri).unwrap()).await);
        }
    }
    let sizes: Vec<usize> = files.iter().map(Vec::len).collect();
    // Read one after the other, as an HLS reader does, they are one continuous stream.
    files.push([files[0].clone(), files[1].clone()].concat());
    files.push([files[2].clone(), files[3].clone()].concat());
    let decoded =
        tokio::task::spawn_blocking(move || files.into_iter().map(decode).collect::<Vec<_>>())
            .await
            .unwrap();
    let [v0, v1, a0, a1, v01, a01] = &decoded[..] else {
        panic!("six files")
    };
    assert_eq!(v01.frames.len(), v0.frames.len() + v1.frames.len());
    assert_eq!(a01.samples, a0.samples + a1.samples);
    eprintln!(
        "segment sizes (video 0, 1, audio 0, 1): {sizes:?}; first listed after {first_listed:?}"
    );

    let skipped = sim.agentstation_hls_counters("ws-demo").frames_skipped;
    check_video(v0, v1, skipped);
    check_audio(a0, a1);

    let counters = sim.agentstation_hls_counters("ws-demo");
    assert_eq!(counters.encoder_starts, 1, "one encoder for both kinds");
    assert!(counters.frames_encoded + counters.frames_skipped >= 96);
    assert_eq!(counters.segment_requests, 4);
    assert!(counters.playlist_requests >= 2);

    // Unused, it stops; shut down, no encoder thread is left.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.agentstation_encoder_running("ws-demo") {
        assert!(Instant::now() < deadline, "the encoder kept running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A request starts it again, and shutdown joins it. (No check of the process's
    // thread names here: other tests' simulators run `hls-ws-demo` encoders of their own
    // at the same time.)
    get_text(&video).await;
    assert!(sim.agentstation_encoder_running("ws-demo"));
    sim.shutdown().await;
}
