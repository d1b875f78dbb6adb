//! A connection's decoder state, saved for a recording's keyframe and restored by a replay
//! that starts there instead of at the connection's first byte.
//!
//! Besides the picture (which the keyframe holds itself), a client needs: what the server
//! said in ServerInit (its name and protocol version), whether it took QEMU key events, the
//! cursor and pointer, and each zlib stream's last 32 KiB of output (ZRLE's one, Tight's
//! four), since the stream's next blocks refer back into it. The pixel format and encodings
//! are the client's own choice, the same on every connection.
//!
//! Layout (big-endian): `"RFBS" 1`, `minor: u8`, `qemu_keys: u8`, `name_len: u16`, name,
//! five streams of `started: u8, window_len: u16, window`, `pointer: u8 (0/1) [x: u32,
//! y: u32]`, `cursor: u8 (0/1) [w, h, hotspot_x, hotspot_y: u32, RGBA]`. Every length is
//! checked against its bound before anything is allocated.

use super::encodings::Decoders;
use super::encodings::cursor::MAX_CURSOR_SIDE;
use super::handshake::MAX_NAME_BYTES;
use super::wire::Wire;
use super::zlib::WINDOW;
use super::{RfbClient, RfbError, ServerInfo};
use crate::core::frame::{CursorShape, Framebuffer};

const MAGIC: &[u8; 5] = b"RFBS\x01";

impl RfbClient {
    /// From now on keeps what [`RfbClient::save_state`] needs. Call it before the first
    /// update (right after `connect`): a zlib stream's window covers only what came after.
    pub fn keep_state(&mut self) {
        self.decoders.keep_windows();
    }

    /// The decoder state a keyframe saves, or `None` if [`RfbClient::keep_state`] was not
    /// called in time.
    pub fn save_state(&self) -> Option<Vec<u8>> {
        let streams = self.decoders.saved()?;
        let mut out = Vec::with_capacity(64 + 5 * WINDOW);
        out.extend_from_slice(MAGIC);
        out.push(self.info.minor_version);
        out.push(u8::from(self.qemu_keys));
        let name = &self.info.name.as_bytes()[..self.info.name.len().min(MAX_NAME_BYTES as usize)];
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name);
        for (started, window) in streams {
            out.push(u8::from(started));
            out.extend_from_slice(&(window.len() as u16).to_be_bytes());
            out.extend_from_slice(window);
        }
        match self.pointer {
            Some((x, y)) => {
                out.push(1);
                out.extend_from_slice(&x.to_be_bytes());
                out.extend_from_slice(&y.to_be_bytes());
            }
            None => out.push(0),
        }
        match &self.cursor {
            Some(c) => {
                out.push(1);
                for v in [c.width, c.height, c.hotspot_x, c.hotspot_y] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&c.rgba);
            }
            None => out.push(0),
        }
        Some(out)
    }

    /// A client that goes on from a saved `state` with `picture`, reading the bytes that
    /// followed the keyframe. It keeps state for further keyframes.
    pub fn resume(state: &[u8], picture: Framebuffer) -> Result<Self, RfbError> {
        let short = |e: RfbError| match e {
            RfbError::Io(_) => RfbError::BadState("it ends early"),
            e => e,
        };
        let mut r = state;
        if r.array::<5>().map_err(short)? != *MAGIC {
            return Err(RfbError::BadState("it does not begin with RFBS version 1"));
        }
        let minor_version = r.u8().map_err(short)?;
        let qemu_keys = r.u8().map_err(short)? != 0;
        let name_len = usize::from(r.u16().map_err(short)?);
        if name_len > MAX_NAME_BYTES as usize || name_len > r.len() {
            return Err(RfbError::BadState("its desktop name is too long"));
        }
        let name = String::from_utf8_lossy(&r[..name_len]).into_owned();
        r = &r[name_len..];
        let mut decoders = Decoders::new();
        decoders.keep_windows();
        for stream in 0..Decoders::STREAMS {
            let started = r.u8().map_err(short)? != 0;
            let len = usize::from(r.u16().map_err(short)?);
            if len > WINDOW || len > r.len() {
                return Err(RfbError::BadState("a zlib window is longer than 32 KiB"));
            }
            decoders.restore(stream, started, &r[..len])?;
            r = &r[len..];
        }
        let pointer = match r.u8().map_err(short)? {
            0 => None,
            _ => Some((r.u32().map_err(short)?, r.u32().map_err(short)?)),
        };
        let cursor = match r.u8().map_err(short)? {
            0 => None,
            _ => {
                let mut v = [0u32; 4];
                for field in &mut v {
                    *field = r.u32().map_err(short)?;
                }
                let [width, height, hotspot_x, hotspot_y] = v;
                if width > MAX_CURSOR_SIDE || height > MAX_CURSOR_SIDE {
                    return Err(RfbError::BadState("its cursor is larger than 256 pixels"));
                }
                let len = (width * height * 4) as usize;
                if len > r.len() {
                    return Err(RfbError::BadState("it ends early"));
                }
                let rgba = r[..len].to_vec();
                r = &r[len..];
                Some(CursorShape {
                    width,
                    height,
                    hotspot_x,
                    hotspot_y,
                    rgba,
                })
            }
        };
        if !r.is_empty() {
            return Err(RfbError::BadState("it has bytes left over"));
        }
        Ok(RfbClient {
            info: ServerInfo {
                width: picture.width(),
                height: picture.height(),
                name,
                minor_version,
            },
            fb: picture,
            qemu_keys,
            decoders,
            publisher: None,
            requested: std::time::Instant::now(),
            cursor,
            pointer,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use flate2::{Compress, Compression};

    use super::super::encodings::{TIGHT, ZRLE};
    use super::super::zlib::tests::deflate_sync;
    use super::super::{RfbOptions, ServerEvent};
    use super::*;

    const W: u16 = 64;
    const H: u16 = 48;

    /// A 3.8 server's handshake (security None) and ServerInit for a `W`×`H` desktop.
    fn handshake() -> Vec<u8> {
        let mut s = b"RFB 003.008\n".to_vec();
        s.extend([1, 1, 0, 0, 0, 0]);
        s.extend(W.to_be_bytes());
        s.extend(H.to_be_bytes());
        s.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
        s.extend(4u32.to_be_bytes());
        s.extend(b"desk");
        s
    }

    fn rect_header(out: &mut Vec<u8>, x: u16, y: u16, w: u16, h: u16, encoding: i32) {
        for v in [x, y, w, h] {
            out.extend(v.to_be_bytes());
        }
        out.extend(encoding.to_be_bytes());
    }

    /// Updates whose pixels repeat what came before with small changes, so that each
    /// stream's later blocks refer back into its earlier output: one ZRLE rectangle and
    /// one Tight rectangle on stream `u % 4` per update, a cursor on update 2.
    fn updates(count: usize) -> Vec<Vec<u8>> {
        let mut zrle = Compress::new(Compression::default(), true);
        let mut tight: Vec<Compress> = (0..4)
            .map(|_| Compress::new(Compression::default(), true))
            .collect();
        let pattern: Vec<u8> = (0..32 * 16 * 3).map(|i| (i * 7 % 251) as u8).collect();
        (0..count)
            .map(|u| {
                let mut msg = vec![0, 0, 0, if u == 2 { 3 } else { 2 }];
                let mut px = pattern.clone();
                let at = u * 3 % px.len();
                px[at] ^= 0xff;
                // ZRLE: one 32×16 raw tile.
                rect_header(&mut msg, 0, (u % 3) as u16 * 16, 32, 16, ZRLE);
                let mut tile = vec![0u8];
                tile.extend(&px);
                let z = deflate_sync(&mut zrle, &tile);
                msg.extend((z.len() as u32).to_be_bytes());
                msg.extend(z);
                // Tight basic copy on stream u % 4: compact length, then zlib data.
                let stream = u % 4;
                rect_header(&mut msg, 32, (u % 3) as u16 * 16, 32, 16, TIGHT);
                msg.push((stream as u8) << 4);
                let z = deflate_sync(&mut tight[stream], &px);
                let n = z.len();
                assert!(n < 1 << 14);
                msg.extend([(n & 0x7f) as u8 | 0x80, (n >> 7) as u8]);
                msg.extend(z);
                if u == 2 {
                    // A 2×2 cursor: pixels, then a mask row a row.
                    rect_header(&mut msg, 1, 1, 2, 2, super::super::encodings::CURSOR);
                    msg.extend([9u8; 16]);
                    msg.extend([0xc0, 0x40]);
                }
                msg
            })
            .collect()
    }

    fn apply(client: &mut RfbClient, msg: &[u8]) {
        let mut r = msg;
        let event = client.read_message(&mut r, &mut std::io::sink()).unwrap();
        assert!(matches!(event, ServerEvent::Update(_)), "{event:?}");
        assert!(r.is_empty());
    }

    fn connect(keep: bool) -> RfbClient {
        let hs = handshake();
        let mut r = &hs[..];
        let mut client =
            RfbClient::connect(&mut r, &mut std::io::sink(), &RfbOptions::default()).unwrap();
        if keep {
            client.keep_state();
        }
        client
    }

    #[test]
    fn a_client_resumed_from_saved_state_decodes_what_follows_as_the_live_one_did() {
        let msgs = updates(12);
        let mut live = connect(true);
        for cut in 0..msgs.len() {
            // A fresh run to `cut`, saved, resumed, then both go on to the end.
            let mut first = connect(true);
            for m in &msgs[..cut] {
                apply(&mut first, m);
            }
            let state = first.save_state().unwrap();
            let mut resumed = RfbClient::resume(&state, first.framebuffer().clone()).unwrap();
            assert_eq!(resumed.info(), first.info());
            for m in &msgs[cut..] {
                apply(&mut first, m);
                apply(&mut resumed, m);
            }
            assert_eq!(
                resumed.framebuffer().pixels(),
                first.framebuffer().pixels(),
                "resumed after {cut} updates"
            );
            assert_eq!(resumed.cursor(), first.cursor());
        }
        for m in &msgs {
            apply(&mut live, m);
        }
        assert!(live.cursor().is_some());
    }

    #[test]
    fn without_the_windows_the_rest_of_the_stream_does_not_decode_the_same() {
        let msgs = updates(8);
        let mut first = connect(true);
        for m in &msgs[..4] {
            apply(&mut first, m);
        }
        let mut state = first.save_state().unwrap();
        // Empty every window (the stream lengths sit after the name): what a keyframe
        // without them would resume.
        let mut blank = state[..5 + 2 + 2 + 4].to_vec();
        let mut r = &state[blank.len()..];
        for _ in 0..Decoders::STREAMS {
            let started = r[0];
            let len = usize::from(u16::from_be_bytes([r[1], r[2]]));
            blank.extend([started, 0, 0]);
            r = &r[3 + len..];
        }
        blank.extend(r);
        state = blank;
        let mut resumed = RfbClient::resume(&state, first.framebuffer().clone()).unwrap();
        let mut differs = false;
        for m in &msgs[4..] {
            apply(&mut first, m);
            let mut r = &m[..];
            match resumed.read_message(&mut r, &mut std::io::sink()) {
                Ok(_) => differs |= resumed.framebuffer().pixels() != first.framebuffer().pixels(),
                Err(_) => {
                    differs = true;
                    break;
                }
            }
        }
        assert!(differs);
    }

    #[test]
    fn a_client_that_did_not_keep_state_has_none_to_save() {
        assert!(connect(false).save_state().is_none());
    }

    #[test]
    fn damaged_states_are_named_errors() {
        let msgs = updates(3);
        let mut c = connect(true);
        for m in &msgs {
            apply(&mut c, m);
        }
        let state = c.save_state().unwrap();
        let picture = c.framebuffer().clone();
        for cut in 0..state.len() {
            let err = RfbClient::resume(&state[..cut], picture.clone()).unwrap_err();
            assert!(matches!(err, RfbError::BadState(_)), "cut at {cut}: {err}");
        }
        let mut long = state.clone();
        long.push(0);
        assert!(RfbClient::resume(&long, picture.clone()).is_err());
        let mut bad = state;
        bad[0] = b'X';
        assert!(RfbClient::resume(&bad, picture).is_err());
    }
}
