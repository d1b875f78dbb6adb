//! Cross-check of our RFB decoders against an independent client, vnc-rs (crate `vnc`).
//!
//! A loopback TCP server replays a recorded session (`lookout::sim::capture`) to one client:
//! it sends the greeting, reads the client's version; sends the security types, reads the
//! choice; sends SecurityResult, reads ClientInit; then sends the rest in one go, discards
//! whatever the client sends (SetPixelFormat, SetEncodings, update requests) and closes its
//! side. vnc-rs and our `RfbClient` each decode the replay; their final pictures (RGB) must
//! match each other and the simulator's desktop exactly for lossless encodings, and closely
//! for Tight JPEG.
//!
//! vnc-rs 0.6 has no Hextile (its `VncEncoding` lacks it and it rejects rectangles of
//! unlisted encodings), so Hextile is checked against the desktop only. It hands Tight JPEG
//! rectangles back undecoded; we decode them with zune-jpeg, the same decoder our client
//! uses, so that case checks the Tight framing and placement, not the JPEG decoding.

#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;

use lookout::core::frame::Framebuffer;
use lookout::core::source::rfb::{
    EncodingPreference, RfbClient, RfbError, RfbOptions, ServerEvent,
};
use lookout::sim::capture::{self, CLIENT_FORMAT, Capture, CaptureEncoding};
use vnc::{PixelFormat, VncConnector, VncEncoding, VncError, VncEvent};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

/// Tall enough that the product photos scroll into view (Tight sends them as JPEG).
const WIDTH: u32 = 800;
const HEIGHT: u32 = 600;
const UPDATES: usize = 30;

/// RFB 3.8 server messages before ClientInit: ProtocolVersion (12 bytes), the security type
/// list `[1, None]` (2) and SecurityResult (4).
const GREETING_BYTES: usize = 12;
const SECURITY_TYPES_BYTES: usize = 2;
const SECURITY_RESULT_BYTES: usize = 4;

fn read_n(s: &mut TcpStream, n: usize) -> std::io::Result<()> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf)
}

/// Replays `bytes` to the first client that connects; the thread ends once the client has
/// closed its side.
fn replay_server(bytes: Arc<Vec<u8>>) -> (SocketAddr, JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::Builder::new()
        .name("rfb-replay".into())
        .spawn(move || {
            let (mut s, _) = listener.accept()?;
            let (greeting, rest) = bytes.split_at(GREETING_BYTES);
            let (types, rest) = rest.split_at(SECURITY_TYPES_BYTES);
            let (result, rest) = rest.split_at(SECURITY_RESULT_BYTES);
            s.write_all(greeting)?;
            read_n(&mut s, 12)?; // the client's ProtocolVersion
            s.write_all(types)?;
            read_n(&mut s, 1)?; // the chosen security type
            s.write_all(result)?;
            read_n(&mut s, 1)?; // ClientInit
            let mut drain = s.try_clone()?;
            let drainer = std::thread::Builder::new()
                .name("rfb-replay-drain".into())
                .spawn(move || std::io::copy(&mut drain, &mut std::io::sink()))?;
            s.write_all(rest)?;
            s.shutdown(Shutdown::Write)?;
            // Keep reading until the client hangs up, so closing never resets the
            // connection under data the client has not read yet.
            drainer
                .join()
                .map_err(|_| std::io::Error::other("drain panicked"))??;
            Ok(())
        })
        .unwrap();
    (addr, thread)
}

fn our_options(encoding: CaptureEncoding) -> RfbOptions {
    let encodings = match encoding {
        CaptureEncoding::Raw => EncodingPreference::Raw,
        CaptureEncoding::Hextile => EncodingPreference::Hextile,
        CaptureEncoding::Zrle => EncodingPreference::Zrle,
        CaptureEncoding::TightLossless | CaptureEncoding::TightJpeg => EncodingPreference::Tight,
    };
    let jpeg_quality = (encoding == CaptureEncoding::TightJpeg).then_some(7);
    RfbOptions {
        encodings,
        jpeg_quality,
        ..RfbOptions::default()
    }
}

/// Our client over TCP, to the end of the replay.
fn decode_ours(capture: &Capture, encoding: CaptureEncoding) -> Framebuffer {
    let (addr, server) = replay_server(Arc::new(capture.bytes.clone()));
    let socket = TcpStream::connect(addr).unwrap();
    let mut w = socket.try_clone().unwrap();
    let mut r = BufReader::new(socket);
    let mut client = RfbClient::connect(&mut r, &mut w, &our_options(encoding)).unwrap();
    let mut updates = 0;
    loop {
        match client.read_message(&mut r, &mut w) {
            Ok(ServerEvent::Update(_)) => updates += 1,
            Ok(other) => panic!("{encoding:?}: unexpected {other:?}"),
            Err(RfbError::Closed) => break,
            Err(e) => panic!("{encoding:?}: our client failed: {e}"),
        }
    }
    assert_eq!(updates, capture.updates, "{encoding:?}");
    let fb = client.framebuffer().clone();
    drop((r, w));
    server.join().unwrap().unwrap();
    fb
}

/// The vnc-rs pixel format equal to ours, built from the same 16 wire bytes.
fn vnc_pixel_format() -> PixelFormat {
    let pf = PixelFormat::try_from(CLIENT_FORMAT.to_bytes()).unwrap();
    assert_eq!(
        (
            pf.bits_per_pixel,
            pf.depth,
            pf.big_endian_flag,
            pf.true_color_flag
        ),
        (32, 24, 0, 1)
    );
    assert_eq!((pf.red_max, pf.green_max, pf.blue_max), (255, 255, 255));
    assert_eq!((pf.red_shift, pf.green_shift, pf.blue_shift), (0, 8, 16));
    pf
}

/// An RGBA picture fed by vnc-rs events.
struct Canvas {
    w: usize,
    h: usize,
    rgba: Vec<u8>,
}

impl Canvas {
    fn apply(&mut self, event: VncEvent) {
        match event {
            VncEvent::SetResolution(screen) => {
                self.w = usize::from(screen.width);
                self.h = usize::from(screen.height);
                self.rgba = vec![0; self.w * self.h * 4];
            }
            // Our format: bytes R, G, B, padding.
            VncEvent::RawImage(r, data) => self.put(r, &data),
            VncEvent::Copy(dst, src) => {
                let rows: Vec<Vec<u8>> = (0..usize::from(src.height))
                    .map(|dy| self.row(src, dy).to_vec())
                    .collect();
                for (dy, row) in rows.iter().enumerate() {
                    let at = self.offset(dst, dy);
                    self.rgba[at..at + row.len()].copy_from_slice(row);
                }
            }
            VncEvent::JpegImage(r, data) => {
                let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGBA);
                let mut decoder = JpegDecoder::new_with_options(ZCursor::new(&data), options);
                let pixels = decoder.decode().unwrap();
                let (w, h) = decoder.dimensions().unwrap();
                assert_eq!((w, h), (usize::from(r.width), usize::from(r.height)));
                self.put(r, &pixels);
            }
            VncEvent::Error(e) => panic!("vnc-rs failed: {e}"),
            other => panic!("unexpected vnc-rs event {other:?}"),
        }
    }

    fn offset(&self, r: vnc::Rect, dy: usize) -> usize {
        ((usize::from(r.y) + dy) * self.w + usize::from(r.x)) * 4
    }

    fn row(&self, r: vnc::Rect, dy: usize) -> &[u8] {
        let at = self.offset(r, dy);
        &self.rgba[at..at + usize::from(r.width) * 4]
    }

    fn put(&mut self, r: vnc::Rect, data: &[u8]) {
        let row_bytes = usize::from(r.width) * 4;
        assert_eq!(data.len(), row_bytes * usize::from(r.height));
        for (dy, src) in data.chunks_exact(row_bytes).enumerate() {
            let at = self.offset(r, dy);
            self.rgba[at..at + row_bytes].copy_from_slice(src);
        }
    }
}

/// vnc-rs over TCP, to the end of the replay.
async fn decode_vnc_rs(capture: &Capture, encoding: CaptureEncoding) -> Canvas {
    let (addr, server) = replay_server(Arc::new(capture.bytes.clone()));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut connector = VncConnector::new(tcp)
        .set_auth_method(async { Ok::<_, VncError>(String::new()) })
        .set_pixel_format(vnc_pixel_format());
    connector = match encoding {
        CaptureEncoding::Raw => connector,
        CaptureEncoding::Zrle => connector
            .add_encoding(VncEncoding::Zrle)
            .add_encoding(VncEncoding::CopyRect),
        CaptureEncoding::TightLossless | CaptureEncoding::TightJpeg => connector
            .add_encoding(VncEncoding::Tight)
            .add_encoding(VncEncoding::CopyRect),
        CaptureEncoding::Hextile => unreachable!("vnc-rs has no Hextile"),
    };
    let client = connector
        .add_encoding(VncEncoding::Raw)
        .build()
        .unwrap()
        .try_start()
        .await
        .unwrap()
        .finish()
        .unwrap();
    let mut canvas = Canvas {
        w: 0,
        h: 0,
        rgba: Vec::new(),
    };
    // The event channel closes once the decoder reaches the end of the stream.
    while let Ok(event) = client.recv_event().await {
        canvas.apply(event);
    }
    client.close().await.unwrap();
    drop(client);
    tokio::task::spawn_blocking(move || server.join().unwrap().unwrap())
        .await
        .unwrap();
    canvas
}

/// Mean and largest per-channel difference, RGB only.
fn rgb_difference(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let (mut sum, mut max) = (0u64, 0u8);
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for c in 0..3 {
            let d = pa[c].abs_diff(pb[c]);
            sum += u64::from(d);
            max = max.max(d);
        }
    }
    (sum as f64 / (a.len() / 4 * 3) as f64, max)
}

fn record(encoding: CaptureEncoding) -> Capture {
    let c = capture::record(encoding, WIDTH, HEIGHT, UPDATES, None).unwrap();
    assert_eq!(c.updates, UPDATES + 1);
    if encoding != CaptureEncoding::Raw {
        assert!(c.copy_rects > 0, "{encoding:?}: the replay should scroll");
    }
    c
}

fn crosscheck(encoding: CaptureEncoding) {
    let capture = record(encoding);
    let ours = decode_ours(&capture, encoding);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let theirs = rt.block_on(decode_vnc_rs(&capture, encoding));
    assert_eq!((theirs.w, theirs.h), (WIDTH as usize, HEIGHT as usize));

    let desktop = capture.final_frame().pixels();
    let (mean_theirs, max_theirs) = rgb_difference(&theirs.rgba, desktop);
    let (mean_ours, max_ours) = rgb_difference(ours.pixels(), desktop);
    let (mean_both, max_both) = rgb_difference(&theirs.rgba, ours.pixels());
    if encoding == CaptureEncoding::TightJpeg {
        assert!(max_theirs > 0, "no JPEG rectangle in the replay");
        assert!(mean_both < 0.5, "vnc-rs and ours differ by {mean_both:.3}");
        for mean in [mean_theirs, mean_ours] {
            assert!(mean < 3.0, "JPEG pictures off by {mean:.3} on average");
        }
    } else {
        assert_eq!(max_both, 0, "{encoding:?}: vnc-rs and ours differ");
        assert_eq!(max_ours, 0, "{encoding:?}: ours differs from the desktop");
        assert_eq!(
            max_theirs, 0,
            "{encoding:?}: vnc-rs differs from the desktop"
        );
    }
}

#[test]
fn raw_matches_vnc_rs_and_the_desktop() {
    crosscheck(CaptureEncoding::Raw);
}

#[test]
fn zrle_matches_vnc_rs_and_the_desktop() {
    crosscheck(CaptureEncoding::Zrle);
}

#[test]
fn tight_lossless_matches_vnc_rs_and_the_desktop() {
    crosscheck(CaptureEncoding::TightLossless);
}

#[test]
fn tight_jpeg_is_close_to_vnc_rs_and_the_desktop() {
    crosscheck(CaptureEncoding::TightJpeg);
}

#[test]
fn hextile_over_tcp_matches_the_desktop() {
    let capture = record(CaptureEncoding::Hextile);
    let ours = decode_ours(&capture, CaptureEncoding::Hextile);
    assert!(ours == *capture.final_frame());
}
