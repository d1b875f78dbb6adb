//! A `Keyframe` record's payload: the decoded picture at a moment and the decoder state to
//! go on from there (`docs/recording-format.md`, "Keyframe").
//!
//! `u32` JSON length, JSON `{"width", "height", "wire_offset", "state_len", "pixels_len"}`,
//! `state_len` bytes of decoder state, then `pixels_len` bytes of deflate-compressed RGBA.
//! The pixels are compressed on the writer's thread ([`Keyframe::encode`]), never on the
//! decoder's. Reading checks every length against the payload and the picture's size
//! against the framebuffer's bounds before allocating, and the pixels must inflate to
//! exactly `width × height × 4` bytes.

use std::io::Read;

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};

use crate::core::frame::Framebuffer;

/// A keyframe before it is written, or after it is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyframe {
    /// Bytes of the track's `Wire` records since its `Connect` that the decoder had
    /// consumed when the picture was taken.
    pub wire_offset: u64,
    /// The decoder's own state (for RFB, [`RfbClient::save_state`](crate::core::source::rfb::RfbClient::save_state)).
    pub state: Vec<u8>,
    pub picture: Framebuffer,
}

#[derive(Serialize, Deserialize)]
struct Head {
    width: u32,
    height: u32,
    wire_offset: u64,
    state_len: u64,
    pixels_len: u64,
}

/// Why a keyframe cannot be read.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyframeError {
    #[error("its head is cut short or not valid JSON")]
    BadHead,
    #[error("its lengths ({state_len} + {pixels_len} bytes) do not match the {len} bytes it has")]
    BadLengths {
        state_len: u64,
        pixels_len: u64,
        len: u64,
    },
    #[error("its picture size {width}x{height} is not one a framebuffer can have")]
    BadSize { width: u32, height: u32 },
    #[error("its pixels do not inflate to a {width}x{height} picture")]
    BadPixels { width: u32, height: u32 },
}

impl Keyframe {
    /// The record's payload, the pixels compressed fast: a keyframe is taken every few
    /// seconds and must cost little beside the live stream.
    pub fn encode(&self) -> Vec<u8> {
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = std::io::Write::write_all(&mut enc, self.picture.pixels());
        let pixels = enc.finish().unwrap_or_default();
        let head = Head {
            width: self.picture.width(),
            height: self.picture.height(),
            wire_offset: self.wire_offset,
            state_len: self.state.len() as u64,
            pixels_len: pixels.len() as u64,
        };
        let json = serde_json::to_vec(&head).unwrap_or_default();
        let mut out = Vec::with_capacity(4 + json.len() + self.state.len() + pixels.len());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&self.state);
        out.extend_from_slice(&pixels);
        out
    }

    /// The `wire_offset` alone, without inflating the picture.
    pub fn peek_wire_offset(payload: &[u8]) -> Result<u64, KeyframeError> {
        Ok(split(payload)?.0.wire_offset)
    }

    /// Reads a payload back.
    pub fn decode(payload: &[u8]) -> Result<Keyframe, KeyframeError> {
        let (head, state, pixels) = split(payload)?;
        let (width, height) = (head.width, head.height);
        let mut picture = Framebuffer::new(width, height)
            .map_err(|_| KeyframeError::BadSize { width, height })?;
        let bad = KeyframeError::BadPixels { width, height };
        let mut z = DeflateDecoder::new(pixels);
        z.read_exact(picture.pixels_mut())
            .map_err(|_| bad.clone())?;
        // Not one byte more.
        if z.read(&mut [0u8; 1]).map_err(|_| bad.clone())? != 0 {
            return Err(bad);
        }
        Ok(Keyframe {
            wire_offset: head.wire_offset,
            state: state.to_vec(),
            picture,
        })
    }
}

fn split(payload: &[u8]) -> Result<(Head, &[u8], &[u8]), KeyframeError> {
    let json_len = payload
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(KeyframeError::BadHead)?;
    let json = payload.get(4..4 + json_len).ok_or(KeyframeError::BadHead)?;
    let head: Head = serde_json::from_slice(json).map_err(|_| KeyframeError::BadHead)?;
    let rest = &payload[4 + json_len..];
    let len = rest.len() as u64;
    if head.state_len.checked_add(head.pixels_len) != Some(len) {
        return Err(KeyframeError::BadLengths {
            state_len: head.state_len,
            pixels_len: head.pixels_len,
            len,
        });
    }
    let (state, pixels) = rest.split_at(head.state_len as usize);
    Ok((head, state, pixels))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Keyframe {
        let mut picture = Framebuffer::new(40, 30).unwrap();
        for (i, b) in picture.pixels_mut().iter_mut().enumerate() {
            *b = (i * 13 % 256) as u8;
        }
        Keyframe {
            wire_offset: 123_456,
            state: b"RFBS\x01 state".to_vec(),
            picture,
        }
    }

    #[test]
    fn a_keyframe_reads_back_as_it_was_written() {
        let k = sample();
        let payload = k.encode();
        assert_eq!(Keyframe::decode(&payload).unwrap(), k);
        assert_eq!(Keyframe::peek_wire_offset(&payload).unwrap(), 123_456);
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_an_error_or_the_same_size_picture() {
        let payload = sample().encode();
        for cut in 0..payload.len() {
            assert!(Keyframe::decode(&payload[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..payload.len() {
            let mut bad = payload.clone();
            bad[i] ^= 0x5a;
            if let Ok(k) = Keyframe::decode(&bad) {
                assert_eq!(
                    k.picture.pixels().len(),
                    k.picture.width() as usize * k.picture.height() as usize * 4
                );
            }
        }
    }

    #[test]
    fn sizes_and_lengths_are_checked_before_anything_is_allocated() {
        let head = |w: u32, h: u32, s: u64, p: u64| {
            let json = format!(
                r#"{{"width":{w},"height":{h},"wire_offset":0,"state_len":{s},"pixels_len":{p}}}"#
            );
            let mut out = (json.len() as u32).to_le_bytes().to_vec();
            out.extend(json.as_bytes());
            out
        };
        let mut huge = head(100_000, 100_000, 0, 2);
        huge.extend([3, 0]);
        assert_eq!(
            Keyframe::decode(&huge).unwrap_err(),
            KeyframeError::BadSize {
                width: 100_000,
                height: 100_000
            }
        );
        let overflow = head(10, 10, u64::MAX, 2);
        assert!(matches!(
            Keyframe::decode(&overflow).unwrap_err(),
            KeyframeError::BadLengths { .. }
        ));
        // A picture too small for its pixels is as wrong as one too large.
        let mut short = head(1, 1, 0, 0);
        assert!(matches!(
            Keyframe::decode(&short).unwrap_err(),
            KeyframeError::BadPixels { .. }
        ));
        let pixels = {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::fast());
            std::io::Write::write_all(&mut e, &[0u8; 8]).unwrap();
            e.finish().unwrap()
        };
        short = head(1, 1, 0, pixels.len() as u64);
        short.extend(&pixels);
        assert!(matches!(
            Keyframe::decode(&short).unwrap_err(),
            KeyframeError::BadPixels { .. }
        ));
    }
}
