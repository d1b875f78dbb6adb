//! Whole-connection tests: a scripted server byte stream through `RfbClient`, checking both
//! what the client decodes and every byte it writes back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use flate2::{Compress, Compression};

use super::encodings as enc;
use super::handshake::vnc_auth_response;
use super::zlib::tests::deflate_sync;
use super::*;
use crate::core::frame::FrameError;

/// Bytes a server sends.
#[derive(Default)]
struct Script(Vec<u8>);

impl Script {
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    fn string(&mut self, s: &str) -> &mut Self {
        self.u32(s.len() as u32).bytes(s.as_bytes())
    }

    /// A 3.8 server offering security None, then ServerInit.
    fn v38(w: u16, h: u16) -> Self {
        let mut s = Script::default();
        s.bytes(b"RFB 003.008\n")
            .bytes(&[1, 1])
            .u32(0)
            .server_init(w, h, "desk");
        s
    }

    fn server_init(&mut self, w: u16, h: u16, name: &str) -> &mut Self {
        self.bytes(&w.to_be_bytes()).bytes(&h.to_be_bytes());
        // The server's own pixel format (ignored by the client).
        self.bytes(&[16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0]);
        self.string(name)
    }

    fn update(&mut self, count: u16) -> &mut Self {
        self.bytes(&[0, 0]).bytes(&count.to_be_bytes())
    }

    fn rect(&mut self, x: u16, y: u16, w: u16, h: u16, encoding: i32) -> &mut Self {
        for v in [x, y, w, h] {
            self.bytes(&v.to_be_bytes());
        }
        self.bytes(&encoding.to_be_bytes())
    }
}

/// What a client writes right after ServerInit for the given options and size.
fn setup_messages(opts: &RfbOptions, w: u16, h: u16) -> Vec<u8> {
    let mut out = messages::set_pixel_format().to_vec();
    out.extend(messages::set_encodings(&messages::encodings_for(opts)));
    out.extend(messages::update_request(false, 0, 0, w, h));
    out
}

fn px(fb: &Framebuffer, x: u32, y: u32) -> [u8; 4] {
    let i = ((y * fb.width() + x) * 4) as usize;
    fb.pixels()[i..i + 4].try_into().unwrap()
}

fn with_password(pw: &str) -> RfbOptions {
    RfbOptions {
        password: Some(Secret::new(pw)),
        ..RfbOptions::default()
    }
}

#[test]
fn handshake_3_8_none_then_setup() {
    let s = Script::v38(640, 480);
    let mut out = Vec::new();
    let opts = RfbOptions::default();
    let client = RfbClient::connect(&mut &s.0[..], &mut out, &opts).unwrap();
    assert_eq!(
        client.info(),
        &ServerInfo {
            width: 640,
            height: 480,
            name: "desk".into(),
            minor_version: 8
        }
    );
    assert_eq!(
        (client.framebuffer().width(), client.framebuffer().height()),
        (640, 480)
    );
    let mut want = b"RFB 003.008\n".to_vec();
    want.extend([1, 1]); // security None, shared
    want.extend(setup_messages(&opts, 640, 480));
    assert_eq!(out, want);
}

#[test]
fn handshake_3_7_none_has_no_security_result() {
    let mut s = Script::default();
    s.bytes(b"RFB 003.007\n")
        .bytes(&[2, 16, 1])
        .server_init(8, 8, "x");
    let mut out = Vec::new();
    let opts = RfbOptions {
        shared: false,
        ..RfbOptions::default()
    };
    let client = RfbClient::connect(&mut &s.0[..], &mut out, &opts).unwrap();
    assert_eq!(client.info().minor_version, 7);
    let mut want = b"RFB 003.007\n".to_vec();
    want.extend([1, 0]);
    want.extend(setup_messages(&opts, 8, 8));
    assert_eq!(out, want);
}

#[test]
fn handshake_3_3_server_chosen_none() {
    let mut s = Script::default();
    s.bytes(b"RFB 003.003\n").u32(1).server_init(4, 2, "old");
    let mut out = Vec::new();
    let opts = RfbOptions::default();
    let client = RfbClient::connect(&mut &s.0[..], &mut out, &opts).unwrap();
    assert_eq!(client.info().minor_version, 3);
    let mut want = b"RFB 003.003\n".to_vec();
    want.push(1); // no security choice byte in 3.3: just ClientInit
    want.extend(setup_messages(&opts, 4, 2));
    assert_eq!(out, want);
}

#[test]
fn vnc_auth_on_3_8_and_3_3() {
    let challenge: [u8; 16] = std::array::from_fn(|i| (i * 7) as u8);
    let response = vnc_auth_response("secret", &challenge);

    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n")
        .bytes(&[1, 2])
        .bytes(&challenge)
        .u32(0);
    s.server_init(2, 2, "");
    let mut out = Vec::new();
    RfbClient::connect(&mut &s.0[..], &mut out, &with_password("secret")).unwrap();
    let mut want = b"RFB 003.008\n".to_vec();
    want.push(2);
    want.extend(response);
    want.push(1);
    assert_eq!(out[..want.len()], want);

    let mut s = Script::default();
    s.bytes(b"RFB 003.003\n").u32(2).bytes(&challenge).u32(0);
    s.server_init(2, 2, "");
    let mut out = Vec::new();
    RfbClient::connect(&mut &s.0[..], &mut out, &with_password("secret")).unwrap();
    let mut want = b"RFB 003.003\n".to_vec();
    want.extend(response);
    want.push(1);
    assert_eq!(out[..want.len()], want);
}

#[test]
fn none_is_preferred_over_vnc_auth() {
    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n")
        .bytes(&[2, 2, 1])
        .u32(0)
        .server_init(2, 2, "");
    let mut out = Vec::new();
    RfbClient::connect(&mut &s.0[..], &mut out, &with_password("pw")).unwrap();
    assert_eq!(out[12], 1);
}

#[test]
fn auth_failures_and_refusals_are_named() {
    let connect = |s: &Script, opts: &RfbOptions| {
        RfbClient::connect(&mut &s.0[..], &mut Vec::new(), opts).expect_err("must fail")
    };
    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n")
        .bytes(&[1, 2])
        .bytes(&[0; 16])
        .u32(1)
        .string("bad password");
    match connect(&s, &with_password("x")) {
        RfbError::AuthFailed { reason } => assert_eq!(reason, "bad password"),
        other => panic!("{other}"),
    }
    let mut s = Script::default();
    s.bytes(b"RFB 003.007\n")
        .bytes(&[1, 2])
        .bytes(&[0; 16])
        .u32(1);
    assert!(matches!(
        connect(&s, &with_password("x")),
        RfbError::AuthFailed { .. }
    ));

    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n").bytes(&[1, 2]);
    assert!(matches!(
        connect(&s, &RfbOptions::default()),
        RfbError::PasswordRequired
    ));

    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n")
        .bytes(&[0])
        .string("Too many connections");
    match connect(&s, &RfbOptions::default()) {
        RfbError::ServerRefused { reason } => assert_eq!(reason, "Too many connections"),
        other => panic!("{other}"),
    }
    let mut s = Script::default();
    s.bytes(b"RFB 003.003\n").u32(0).string("go away");
    assert!(matches!(
        connect(&s, &RfbOptions::default()),
        RfbError::ServerRefused { .. }
    ));

    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n").bytes(&[3, 5, 16, 19]);
    match connect(&s, &RfbOptions::default()) {
        RfbError::NoSupportedSecurity { offered } => assert_eq!(offered, [5, 16, 19]),
        other => panic!("{other}"),
    }
}

#[test]
fn server_init_is_bounded() {
    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n")
        .bytes(&[1, 1])
        .u32(0)
        .server_init(20000, 10, "");
    let err =
        RfbClient::connect(&mut &s.0[..], &mut Vec::new(), &RfbOptions::default()).unwrap_err();
    assert!(matches!(
        err,
        RfbError::Frame(FrameError::FramebufferTooLarge { w: 20000, .. })
    ));
    assert!(!err.is_retryable());

    let mut s = Script::default();
    s.bytes(b"RFB 003.008\n")
        .bytes(&[1, 1])
        .u32(0)
        .bytes(&[0, 8, 0, 8])
        .bytes(&[0; 16]);
    s.u32(u32::MAX);
    let err =
        RfbClient::connect(&mut &s.0[..], &mut Vec::new(), &RfbOptions::default()).unwrap_err();
    assert!(matches!(err, RfbError::NameTooLong { .. }));
}

/// A connected client over `s` (3.8, None) and the bytes after the setup messages.
fn session(s: &Script) -> (RfbClient, &[u8]) {
    let mut r = &s.0[..];
    let client = RfbClient::connect(&mut r, &mut Vec::new(), &RfbOptions::default()).unwrap();
    (client, r)
}

#[test]
fn update_writes_next_request_before_decoding_rects() {
    let mut s = Script::v38(10, 6);
    // An update that promises a rectangle and then ends.
    s.update(1).rect(0, 0, 1, 1, enc::RAW);
    let (mut client, mut r) = session(&s);
    let mut out = Vec::new();
    assert!(client.read_message(&mut r, &mut out).is_err());
    assert_eq!(out, messages::update_request(true, 0, 0, 10, 6));
}

#[test]
fn one_update_mixing_encodings() {
    let mut s = Script::v38(40, 20);
    s.update(0xffff);
    // Raw 2x1 at (0,0).
    s.rect(0, 0, 2, 1, enc::RAW)
        .bytes(&[1, 2, 3, 0, 4, 5, 6, 0]);
    // CopyRect of it to (10,10).
    s.rect(10, 10, 2, 1, enc::COPY_RECT).bytes(&[0, 0, 0, 0]);
    // Hextile: solid tile.
    s.rect(0, 2, 4, 4, enc::HEXTILE).bytes(&[2, 9, 9, 9, 0]);
    // ZRLE: one solid tile.
    let mut z = Compress::new(Compression::default(), true);
    let data = deflate_sync(&mut z, &[1, 7, 7, 7]);
    s.rect(20, 0, 3, 3, enc::ZRLE)
        .u32(data.len() as u32)
        .bytes(&data);
    // Tight fill.
    s.rect(30, 10, 5, 5, enc::TIGHT).bytes(&[0x80, 50, 60, 70]);
    // Cursor 1x1, visible; pointer position; QEMU keys; a quality echo.
    s.rect(0, 0, 1, 1, enc::CURSOR).bytes(&[255, 0, 0, 0, 0x80]);
    s.rect(12, 13, 0, 0, enc::POINTER_POS);
    s.rect(0, 0, 0, 0, enc::QEMU_EXTENDED_KEY);
    s.rect(0, 0, 0, 0, -25);
    s.rect(0, 0, 0, 0, enc::LAST_RECT);
    // A Bell after the update proves LastRect stopped at the right byte.
    s.bytes(&[2]);
    let (mut client, mut r) = session(&s);
    let mut out = Vec::new();
    let ServerEvent::Update(info) = client.read_message(&mut r, &mut out).unwrap() else {
        panic!("not an update");
    };
    let fb = client.framebuffer();
    assert_eq!(px(fb, 1, 0), [4, 5, 6, 255]);
    assert_eq!(px(fb, 10, 10), [1, 2, 3, 255]);
    assert_eq!(px(fb, 3, 5), [9, 9, 9, 255]);
    assert_eq!(px(fb, 22, 2), [7, 7, 7, 255]);
    assert_eq!(px(fb, 34, 14), [50, 60, 70, 255]);
    assert_eq!(px(fb, 35, 15), [0, 0, 0, 255]);
    assert_eq!(
        info.dirty,
        [
            Rect::new(0, 0, 2, 1),
            Rect::new(10, 10, 2, 1),
            Rect::new(0, 2, 4, 4),
            Rect::new(20, 0, 3, 3),
            Rect::new(30, 10, 5, 5)
        ]
    );
    assert_eq!(info.rects, 10);
    assert_eq!(info.last_encoding, Some(enc::TIGHT));
    assert_eq!(info.pointer, Some((12, 13)));
    let cursor = info.cursor.clone().unwrap().unwrap();
    assert_eq!(cursor.rgba, [255, 0, 0, 255]);
    assert!(!info.resized);
    assert!(client.supports_qemu_key_events());
    assert_eq!(out, messages::update_request(true, 0, 0, 40, 20));
    assert_eq!(
        client.read_message(&mut r, &mut out).unwrap(),
        ServerEvent::Bell
    );
    assert!(matches!(
        client.read_message(&mut r, &mut out),
        Err(RfbError::Closed)
    ));
}

#[test]
fn desktop_size_resizes_and_requests_the_new_area() {
    let mut s = Script::v38(10, 10);
    s.update(2).rect(0, 0, 30, 20, enc::DESKTOP_SIZE);
    s.rect(0, 0, 1, 1, enc::TIGHT).bytes(&[0x80, 1, 1, 1]);
    s.update(1)
        .rect(0, 0, 30, 20, enc::EXTENDED_DESKTOP_SIZE)
        .bytes(&[1, 0, 0, 0]);
    s.bytes(&[0; 16]);
    s.update(1)
        .rect(0, 0, 50, 5, enc::EXTENDED_DESKTOP_SIZE)
        .bytes(&[0, 0, 0, 0]);
    let (mut client, mut r) = session(&s);
    let mut out = Vec::new();
    let ServerEvent::Update(info) = client.read_message(&mut r, &mut out).unwrap() else {
        panic!();
    };
    assert!(info.resized);
    assert_eq!(info.dirty, [Rect::new(0, 0, 30, 20), Rect::new(0, 0, 1, 1)]);
    assert_eq!((client.info().width, client.info().height), (30, 20));
    assert_eq!(px(client.framebuffer(), 0, 0), [1, 1, 1, 255]);
    let mut want = messages::update_request(true, 0, 0, 10, 10).to_vec();
    want.extend(messages::update_request(true, 0, 0, 30, 20));
    assert_eq!(out, want);
    // Same size again: a layout echo, nothing discarded.
    let ServerEvent::Update(info) = client.read_message(&mut r, &mut out).unwrap() else {
        panic!();
    };
    assert!(!info.resized);
    assert_eq!(px(client.framebuffer(), 0, 0), [1, 1, 1, 255]);
    let ServerEvent::Update(info) = client.read_message(&mut r, &mut out).unwrap() else {
        panic!();
    };
    assert!(info.resized);
    assert_eq!(client.framebuffer().width(), 50);

    let mut s = Script::v38(10, 10);
    s.update(1).rect(0, 0, 20000, 10, enc::DESKTOP_SIZE);
    let (mut client, mut r) = session(&s);
    let err = client.read_message(&mut r, &mut Vec::new()).unwrap_err();
    assert!(matches!(
        err,
        RfbError::Frame(FrameError::FramebufferTooLarge { w: 20000, .. })
    ));
}

#[test]
fn other_server_messages() {
    let mut s = Script::v38(4, 4);
    s.bytes(&[1, 0, 0, 0, 0, 2]).bytes(&[0; 12]); // colour map, 2 entries
    s.bytes(&[3, 0, 0, 0]).string("copied");
    s.bytes(&[150]);
    s.bytes(&[248, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]); // fence with 3 bytes
    s.bytes(&[255, 1, 0, 2]).u32(4).bytes(&[0; 4]); // QEMU audio data
    s.bytes(&[255, 1, 0, 0]); // QEMU audio stop
    s.bytes(&[2]);
    let (mut client, mut r) = session(&s);
    let mut out = Vec::new();
    let mut events = Vec::new();
    loop {
        match client.read_message(&mut r, &mut out) {
            Ok(e) => events.push(e),
            Err(RfbError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        events,
        [
            ServerEvent::Ignored,
            ServerEvent::CutText("copied".into()),
            ServerEvent::Ignored,
            ServerEvent::Ignored,
            ServerEvent::Ignored,
            ServerEvent::Ignored,
            ServerEvent::Bell
        ]
    );
    assert!(out.is_empty(), "no requests without updates");
}

#[test]
fn unknown_types_and_encodings_are_errors() {
    let mut s = Script::v38(4, 4);
    s.bytes(&[7]);
    let (mut client, mut r) = session(&s);
    let err = client.read_message(&mut r, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(err, RfbError::UnknownMessageType { id: 7 }),
        "{err}"
    );

    let mut s = Script::v38(4, 4);
    s.bytes(&[255, 9]);
    let (mut client, mut r) = session(&s);
    let err = client.read_message(&mut r, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(err, RfbError::UnknownQemuMessage { subtype: 9 }),
        "{err}"
    );

    for id in [enc::RRE, 17, -1000] {
        let mut s = Script::v38(4, 4);
        s.update(1).rect(0, 0, 1, 1, id).bytes(&[0; 64]);
        let (mut client, mut r) = session(&s);
        let err = client.read_message(&mut r, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(err, RfbError::UnsupportedEncoding { id: got } if got == id),
            "{err}"
        );
    }
}

#[test]
fn rect_outside_framebuffer_is_rejected_for_every_picture_encoding() {
    for id in [
        enc::RAW,
        enc::COPY_RECT,
        enc::HEXTILE,
        enc::ZRLE,
        enc::TIGHT,
    ] {
        let mut s = Script::v38(8, 8);
        s.update(1).rect(4, 4, 5, 1, id).bytes(&[0; 64]);
        let (mut client, mut r) = session(&s);
        let err = client.read_message(&mut r, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(err, RfbError::Frame(FrameError::RectOutOfBounds { .. })),
            "{id}: {err}"
        );
    }
}

/// A session exercising the handshake and every encoding, as one byte stream.
fn full_session() -> (Script, usize) {
    let mut s = Script::v38(70, 10);
    let mut zrle = Compress::new(Compression::default(), true);
    let mut tight = Compress::new(Compression::default(), true);
    s.update(6);
    s.rect(0, 0, 2, 2, enc::RAW).bytes(&[9; 16]);
    s.rect(2, 0, 2, 2, enc::COPY_RECT).bytes(&[0, 0, 0, 0]);
    s.rect(0, 2, 17, 2, enc::HEXTILE);
    s.bytes(&[2 | 8, 1, 1, 1, 0, 1, 0x20, 0x11])
        .bytes(&[1])
        .bytes(&[5; 8]);
    // Plain RLE over the 64x6 tile: 255 + 129 pixels.
    let mut tiles = vec![128u8, 1, 2, 3, 254, 3, 3, 3, 128];
    tiles.extend([1, 4, 4, 4]);
    let z = deflate_sync(&mut zrle, &tiles);
    s.rect(0, 4, 66, 6, enc::ZRLE).u32(z.len() as u32).bytes(&z);
    let z = deflate_sync(&mut tight, &[0u8; 4 * 4 * 3]);
    s.rect(66, 0, 4, 4, enc::TIGHT)
        .bytes(&[0x00, z.len() as u8])
        .bytes(&z);
    s.rect(1, 1, 2, 1, enc::CURSOR)
        .bytes(&[1; 8])
        .bytes(&[0xc0]);
    s.bytes(&[2]);
    s.bytes(&[3, 0, 0, 0]).string("clip");
    (s, 3)
}

fn run_all(mut r: &mut dyn Read) -> (Result<usize, RfbError>, Option<RfbClient>) {
    let mut out = Vec::new();
    let mut client = match RfbClient::connect(&mut r, &mut out, &RfbOptions::default()) {
        Ok(c) => c,
        Err(e) => return (Err(e), None),
    };
    let mut ok = 0;
    loop {
        match client.read_message(&mut r, &mut out) {
            Ok(_) => ok += 1,
            Err(RfbError::Closed) => return (Ok(ok), Some(client)),
            Err(e) => return (Err(e), Some(client)),
        }
    }
}

#[test]
fn full_session_decodes_and_every_truncation_fails_cleanly() {
    let (s, messages) = full_session();
    let (res, client) = run_all(&mut &s.0[..]);
    assert_eq!(res.unwrap(), messages);
    let fb = client.unwrap().framebuffer().clone();
    assert_eq!(px(&fb, 3, 1), [9, 9, 9, 255]);
    assert_eq!(px(&fb, 16, 3), [5, 5, 5, 255]);
    assert_eq!(px(&fb, 1, 3), [1, 1, 1, 255]);
    assert_eq!(px(&fb, 65, 9), [4, 4, 4, 255]);
    assert_eq!(px(&fb, 69, 3), [0, 0, 0, 255]);

    for n in 0..s.0.len() {
        let (res, _) = run_all(&mut &s.0[..n]);
        match res {
            Ok(done) => assert!(done < messages, "prefix {n} decoded everything"),
            Err(e) => assert!(
                matches!(e, RfbError::Closed | RfbError::Io(_)),
                "prefix {n}: {e}"
            ),
        }
    }
}

/// Returns at most `step` bytes per read, like WebSocket chunks.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn messages_may_span_many_reads() {
    let (s, messages) = full_session();
    let (whole, client) = run_all(&mut &s.0[..]);
    let want = client.unwrap().framebuffer().clone();
    assert_eq!(whole.unwrap(), messages);
    for step in [1, 3, 7, 100] {
        let mut r = std::io::BufReader::new(Trickle { data: &s.0, step });
        let (res, client) = run_all(&mut r);
        assert_eq!(res.unwrap(), messages);
        assert_eq!(client.unwrap().framebuffer(), &want);
    }
}

#[test]
fn many_dirty_rects_merge_into_tiles() {
    let fb = Framebuffer::new(640, 640).unwrap();
    let mut dirty = Vec::new();
    for i in 0..300 {
        add_dirty(&mut dirty, Rect::new(i, 2 * i, 1, 1), &fb);
    }
    add_dirty(&mut dirty, Rect::new(0, 0, 0, 5), &fb);
    assert!(dirty.len() <= MAX_DIRTY_RECTS);
    // The first 257 merged into the 64-pixel tiles of the diagonal they lie on, not into
    // one box over most of the picture.
    let area: u64 = dirty.iter().map(Rect::area).sum();
    assert!(area < 30 * 64 * 64, "{area} pixels marked dirty");
    for i in 0..300 {
        let (x, y) = (i, 2 * i);
        assert!(
            dirty
                .iter()
                .any(|r| x >= r.x && x < r.right() && y >= r.y && y < r.bottom()),
            "{x},{y} lost"
        );
    }
}

/// A small deterministic generator for the randomised tests below.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }

    /// A rectangle inside `w`×`h`, at most `max` on a side.
    fn rect(&mut self, w: u32, h: u32, max: u32) -> Rect {
        let rw = 1 + self.below(max.min(w));
        let rh = 1 + self.below(max.min(h));
        Rect::new(self.below(w - rw + 1), self.below(h - rh + 1), rw, rh)
    }
}

/// Random updates over a `w`×`h` screen: Raw, Tight fill and CopyRect rectangles, some
/// updates with more rectangles than the dirty list keeps apart, and one size change.
fn random_updates(seed: u64, w: u16, h: u16, updates: usize) -> Script {
    // The screen must be larger than a few of `frame::coalesce`'s tiles.
    let mut g = XorShift(seed);
    let mut s = Script::v38(w, h);
    let (mut fw, mut fh) = (u32::from(w), u32::from(h));
    for u in 0..updates {
        let count = match u % 7 {
            3 => 300,
            _ => 1 + g.below(12),
        };
        s.update(count as u16);
        for i in 0..count {
            if u == updates / 2 && i == 0 {
                // A new size, then rectangles inside it.
                (fw, fh) = (fw - 16, fh + 8);
                s.rect(0, 0, fw as u16, fh as u16, enc::DESKTOP_SIZE);
                continue;
            }
            let r = g.rect(fw, fh, if count > 100 { 4 } else { 40 });
            let (x, y, rw, rh) = (r.x as u16, r.y as u16, r.w as u16, r.h as u16);
            // No CopyRect among many: it would catch the back buffer up by itself.
            match g.below(if count > 100 { 2 } else { 3 }) {
                0 => {
                    s.rect(x, y, rw, rh, enc::RAW);
                    for _ in 0..r.area() {
                        let v = g.next().to_le_bytes();
                        s.bytes(&[v[0], v[1], v[2], 0]);
                    }
                }
                1 => {
                    let v = g.next().to_le_bytes();
                    s.rect(x, y, rw, rh, enc::TIGHT)
                        .bytes(&[0x80, v[0], v[1], v[2]]);
                }
                _ => {
                    let src = g.rect(fw, fh, 1);
                    let sx = src.x.min(fw - r.w) as u16;
                    let sy = src.y.min(fh - r.h) as u16;
                    s.rect(x, y, rw, rh, enc::COPY_RECT)
                        .bytes(&sx.to_be_bytes())
                        .bytes(&sy.to_be_bytes());
                }
            }
        }
    }
    s
}

#[test]
fn publishing_by_trading_buffers_shows_what_the_client_decoded() {
    for seed in [1, 7, 1234, 99991] {
        let s = random_updates(seed, 300, 200, 40);
        let (mut plain, mut r1) = session(&s);
        let (mut traded, mut r2) = session(&s);
        let slot = Arc::new(FrameSlot::new());
        traded.publish_to(slot.clone());
        let mut out = Vec::new();
        for n in 0.. {
            let before = plain.framebuffer().clone();
            let a = plain.read_message(&mut r1, &mut out);
            let b = traded.read_message(&mut r2, &mut out);
            if matches!(a, Err(RfbError::Closed)) {
                assert!(matches!(b, Err(RfbError::Closed)));
                break;
            }
            let (ServerEvent::Update(a), ServerEvent::Update(b)) = (a.unwrap(), b.unwrap()) else {
                panic!("not an update");
            };
            assert_eq!(a, b);
            let shown = slot.snapshot().unwrap();
            assert!(
                &shown == plain.framebuffer(),
                "seed {seed}, update {n}: the slot's picture differs from the decoded one"
            );
            // The buffers were traded: the client holds the previous picture (the first
            // picture, and one of a new size, are copied instead).
            if n > 0 && !a.resized {
                assert!(traded.framebuffer() == &before, "seed {seed}, update {n}");
            }
        }
    }
}

#[test]
fn a_new_connection_keeps_the_old_picture_where_it_has_not_painted() {
    // The slot shows the last connection's picture (all grey).
    let slot = Arc::new(FrameSlot::new());
    let mut old = Framebuffer::new(20, 10).unwrap();
    old.fill_rect(old.full_rect(), [90, 90, 90, 255]).unwrap();
    slot.publish(&old, &[old.full_rect()]);
    // The new connection's first update paints one corner, then a CopyRect copies from
    // the part it has not painted.
    let mut s = Script::v38(20, 10);
    s.update(2);
    s.rect(0, 0, 4, 2, enc::TIGHT).bytes(&[0x80, 200, 10, 10]);
    s.rect(10, 5, 3, 3, enc::COPY_RECT).bytes(&[0, 15, 0, 6]);
    let (mut client, mut r) = session(&s);
    client.publish_to(slot.clone());
    client.read_message(&mut r, &mut Vec::new()).unwrap();
    let shown = slot.snapshot().unwrap();
    assert_eq!(px(&shown, 1, 1), [200, 10, 10, 255]);
    assert_eq!(
        px(&shown, 11, 6),
        [90, 90, 90, 255],
        "copied from the old picture"
    );
    assert_eq!(
        px(&shown, 19, 9),
        [90, 90, 90, 255],
        "kept from the old picture"
    );
}

/// A client publishing to a slot whose consumer asks for `pace`.
fn paced(s: &Script, pace: Option<std::time::Duration>) -> (RfbClient, &[u8], Arc<FrameSlot>) {
    let (mut client, r) = session(s);
    let slot = Arc::new(FrameSlot::new());
    slot.set_pace(pace);
    client.publish_to(slot.clone());
    (client, r, slot)
}

#[test]
fn a_paced_client_asks_for_the_next_update_once_this_one_is_decoded_and_the_pace_passed() {
    use std::time::{Duration, Instant};
    let mut s = Script::v38(10, 6);
    s.update(1).rect(0, 0, 1, 1, enc::RAW).bytes(&[1, 2, 3, 0]);
    let pace = Duration::from_millis(300);
    let (mut client, mut r, _slot) = paced(&s, Some(pace));
    let started = Instant::now();
    let mut out = Vec::new();
    client.read_message(&mut r, &mut out).unwrap();
    assert!(
        started.elapsed() >= pace - Duration::from_millis(50),
        "asked after {:?}",
        started.elapsed()
    );
    assert_eq!(out, messages::update_request(true, 0, 0, 10, 6));

    // An update cut short asks for nothing: the request comes after the decoding.
    let mut s = Script::v38(10, 6);
    s.update(1).rect(0, 0, 1, 1, enc::RAW);
    let (mut client, mut r, _slot) = paced(&s, Some(pace));
    let mut out = Vec::new();
    assert!(client.read_message(&mut r, &mut out).is_err());
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn full_rate_comes_back_while_a_paced_client_waits() {
    use std::time::{Duration, Instant};
    let mut s = Script::v38(10, 6);
    s.update(1).rect(0, 0, 1, 1, enc::RAW).bytes(&[1, 2, 3, 0]);
    let (mut client, mut r, slot) = paced(&s, Some(Duration::from_secs(60)));
    let started = Instant::now();
    let opener = std::thread::Builder::new()
        .name("test-opener".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            slot.set_pace(None);
        })
        .unwrap();
    let mut out = Vec::new();
    client.read_message(&mut r, &mut out).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} after full rate came back",
        started.elapsed()
    );
    assert_eq!(out, messages::update_request(true, 0, 0, 10, 6));
    opener.join().unwrap();
}
