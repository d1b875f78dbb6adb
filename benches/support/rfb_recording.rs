//! A 1920×1080 RFB recording built in simulated time, as `lookout record` would write it
//! (shared by the seek and export benches): a desktop whose browser changes a line of
//! text twice a second, scrolls every 15 s and loads a new page every 30 s, and plays a
//! 960×540 video at 10 frames a second for two minutes in every ten; all sent as Tight
//! zlib rectangles on persistent streams; a live client decodes every update, and
//! keyframes are taken by the recorder's own policy (`KeyframePolicy`).

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, FlushCompress};
use lookout::core::record::format::{self, Kind};
use lookout::core::record::keyframe::Keyframe;
use lookout::core::record::{KeyframeEvery, KeyframePolicy};
use lookout::core::source::rfb::{RfbClient, RfbOptions, encodings};

const W: u16 = 1920;
const H: u16 = 1080;
/// Tight rectangles are sent in strips this tall.
const STRIP: u16 = 32;

/// Bytes a server sends, compressed on Tight's persistent zlib streams.
struct Server {
    streams: Vec<Compress>,
    page: u64,
    scroll: u32,
}

pub fn hash(mut v: u64) -> u64 {
    v ^= v >> 33;
    v = v.wrapping_mul(0xff51_afd7_ed55_8ccd);
    v ^= v >> 33;
    v
}

impl Server {
    /// A page's pixel: text-like glyph cells on a light background.
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let y = y + self.scroll;
        let (cx, cy) = (x / 7, y / 16);
        let line_len = hash(self.page ^ (u64::from(cy) << 20)) % 240;
        let ink = u64::from(cx) < line_len
            && x % 7 < 5
            && y % 16 < 11
            && !hash(self.page ^ (u64::from(cy) << 32) ^ u64::from(cx)).is_multiple_of(5);
        if y < 64 {
            [0x2b, 0x57, 0x9a]
        } else if ink {
            [0x20, 0x20, 0x28]
        } else {
            [0xf7, 0xf7, 0xf5]
        }
    }

    /// One rectangle of the page as Tight basic copy data on zlib stream `stream`.
    fn tight(&mut self, out: &mut Vec<u8>, x: u16, y: u16, w: u16, h: u16, stream: usize) {
        for v in [x, y, w, h] {
            out.extend(v.to_be_bytes());
        }
        out.extend(encodings::TIGHT.to_be_bytes());
        out.push((stream as u8) << 4);
        let mut raw = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
        for py in y..y + h {
            for px in x..x + w {
                raw.extend(self.pixel(u32::from(px), u32::from(py)));
            }
        }
        self.compress_into(out, &raw, stream);
    }

    /// A FramebufferUpdate repainting rows `y..y + h` in strips; its painted area.
    fn rows(&mut self, y: u16, h: u16, stream: usize) -> (Vec<u8>, u64) {
        let strips = h.div_ceil(STRIP);
        let mut out = vec![0, 0];
        out.extend(strips.to_be_bytes());
        for s in 0..strips {
            let sy = y + s * STRIP;
            self.tight(&mut out, 0, sy, W, STRIP.min(y + h - sy), stream);
        }
        (out, u64::from(W) * u64::from(h))
    }

    /// A frame of a video playing in a 960×540 box: 8×8 blocks of colour that change.
    fn video(&mut self, n: u64) -> (Vec<u8>, u64) {
        let mut out = vec![0, 0, 0, 17];
        let saved = self.page;
        self.page = n;
        for s in 0..17u16 {
            let y = 200 + s * 32;
            let h = 32.min(740 - y);
            let strip = self.video_strip(n, y, h);
            out.extend(strip);
        }
        self.page = saved;
        (out, 960 * 540)
    }

    fn video_strip(&mut self, n: u64, y: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [480u16, y, 960, h] {
            out.extend(v.to_be_bytes());
        }
        out.extend(encodings::TIGHT.to_be_bytes());
        out.push(3 << 4);
        let mut raw = Vec::with_capacity(960 * usize::from(h) * 3);
        for py in y..y + h {
            for px in 0..960u64 {
                let b = hash((n / 3) ^ ((u64::from(py) / 8) << 16) ^ (px / 8));
                let shade = (b % 64) as u8 + (n % 50) as u8;
                raw.extend([shade, shade / 2 + 40, 200 - shade]);
            }
        }
        self.compress_into(&mut out, &raw, 3);
        out
    }

    fn compress_into(&mut self, out: &mut Vec<u8>, raw: &[u8], stream: usize) {
        let z = &mut self.streams[stream];
        let mut data = Vec::with_capacity(raw.len() / 4 + 1024);
        let start = z.total_in();
        loop {
            data.reserve(64 * 1024);
            let done = (z.total_in() - start) as usize;
            z.compress_vec(&raw[done..], &mut data, FlushCompress::Sync)
                .unwrap();
            if (z.total_in() - start) as usize == raw.len() && data.capacity() > data.len() {
                break;
            }
        }
        let n = data.len();
        assert!(n < 1 << 22);
        if n < 1 << 7 {
            out.push(n as u8);
        } else if n < 1 << 14 {
            out.extend([(n & 0x7f) as u8 | 0x80, (n >> 7) as u8]);
        } else {
            out.extend([
                (n & 0x7f) as u8 | 0x80,
                ((n >> 7) & 0x7f) as u8 | 0x80,
                (n >> 14) as u8,
            ]);
        }
        out.extend(data);
    }

    /// A line of text changing.
    fn line(&mut self, n: u64) -> (Vec<u8>, u64) {
        self.page = self.page.wrapping_add(1 << 40);
        let y = 100 + (hash(n) % 900) as u16;
        let mut out = vec![0, 0, 0, 1];
        self.tight(&mut out, 200, y, 640, 32, 2);
        (out, 640 * 32)
    }
}

fn handshake() -> Vec<u8> {
    let mut s = b"RFB 003.008\n".to_vec();
    s.extend([1, 1, 0, 0, 0, 0]);
    s.extend(W.to_be_bytes());
    s.extend(H.to_be_bytes());
    s.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    s.extend(7u32.to_be_bytes());
    s.extend(b"desktop");
    s
}

/// What [`build`] wrote.
pub struct Written {
    /// The stream's bytes.
    pub wire: u64,
    /// Keyframes' bytes, and how many.
    pub keyframes: u64,
    pub keyframe_count: u64,
    /// The file's size.
    pub file: u64,
    /// The recording's length.
    pub seconds: u64,
}

/// Writes the recording to `path`, in simulated time.
pub fn build(path: &std::path::Path, minutes: u64) -> Written {
    let mut out = format::header().to_vec();
    let mut file = File::create(path).unwrap();
    let put = |out: &mut Vec<u8>, file: &mut File, kind, t: u64, payload: &[u8]| {
        format::encode(kind, 0, t, payload, out);
        if out.len() > 8 << 20 {
            file.write_all(out).unwrap();
            out.clear();
        }
    };
    let meta = serde_json::json!({"source": "bench", "tracks": [{"track": 0, "kind": "rfb"}]});
    put(
        &mut out,
        &mut file,
        Kind::Meta,
        0,
        meta.to_string().as_bytes(),
    );
    put(
        &mut out,
        &mut file,
        Kind::Connect,
        0,
        br#"{"protocol":"rfb","password":false}"#,
    );
    let hs = handshake();
    let mut r = &hs[..];
    let mut client =
        RfbClient::connect(&mut r, &mut std::io::sink(), &RfbOptions::default()).unwrap();
    client.keep_state();
    put(&mut out, &mut file, Kind::Wire, 1000, &hs);
    let mut server = Server {
        streams: (0..4)
            .map(|_| Compress::new(Compression::fast(), true))
            .collect(),
        page: 1,
        scroll: 0,
    };
    let start = Instant::now();
    let mut policy = KeyframePolicy::new(KeyframeEvery::default(), start);
    let mut written = Written {
        wire: hs.len() as u64,
        keyframes: 0,
        keyframe_count: 0,
        file: 0,
        seconds: minutes * 60,
    };
    let mut wire_offset = hs.len() as u64;
    let end_ms = minutes * 60_000;
    let mut t_ms = 0;
    while t_ms < end_ms {
        t_ms += 100;
        // A video plays for two minutes in every ten.
        let video = t_ms % 600_000 >= 120_000 && t_ms % 600_000 < 240_000;
        let (msg, area) = if video {
            server.video(t_ms / 100)
        } else if t_ms % 500 != 0 {
            continue;
        } else if t_ms % 30_000 == 0 || t_ms == 500 {
            server.page = hash(t_ms);
            server.scroll = 0;
            server.rows(0, H, 0)
        } else if t_ms % 15_000 == 0 {
            server.scroll += 400;
            server.rows(64, H - 64, 1)
        } else {
            server.line(t_ms)
        };
        let mut r = &msg[..];
        client.read_message(&mut r, &mut std::io::sink()).unwrap();
        assert!(r.is_empty());
        let t_us = t_ms * 1000;
        put(&mut out, &mut file, Kind::Wire, t_us, &msg);
        written.wire += msg.len() as u64;
        wire_offset += msg.len() as u64;
        let now = start + Duration::from_millis(t_ms);
        if policy.after_update(area, wire_offset, [u32::from(W), u32::from(H)], now) {
            let k = Keyframe {
                wire_offset,
                state: client.save_state().unwrap(),
                picture: client.framebuffer().clone(),
            }
            .encode();
            written.keyframes += k.len() as u64;
            written.keyframe_count += 1;
            put(&mut out, &mut file, Kind::Keyframe, t_us + 1, &k);
        }
    }
    file.write_all(&out).unwrap();
    written.file = file.metadata().unwrap().len();
    written
}
