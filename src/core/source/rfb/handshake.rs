//! The RFB handshake, from the server's greeting to ServerInit.
//!
//! Wire format:
//! 1. ProtocolVersion: the server sends 12 ASCII bytes `RFB xxx.yyy\n`; the client answers
//!    with the version it will speak (3.3, 3.7 or 3.8, never above the server's).
//! 2. Security. 3.3: the server picks, `u32` type (0 = refused, then a reason string).
//!    3.7+: the server lists `count: u8` types (0 = refused, then a reason), the client
//!    answers one byte. VNC Authentication (2): a 16-byte challenge, answered with it
//!    DES-encrypted under the password (8 bytes, zero-padded, each byte bit-reversed).
//! 3. SecurityResult `u32` (0 = OK), sent after VNC Authentication, and in 3.8 after None
//!    too; in 3.8 a failure carries a reason string.
//! 4. ClientInit: `shared: u8`. ServerInit: `width, height: u16`, a 16-byte pixel format
//!    (ignored: we set our own), `name_len: u32`, name.
//!
//! Strings are `u32` length + bytes.

use std::io::{Read, Write};

use des::Des;
use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};

use super::wire::Wire;
use super::{RfbError, RfbOptions, ServerInfo, send};

/// Security type None.
pub const SECURITY_NONE: u8 = 1;
/// Security type VNC Authentication (DES challenge and response).
pub const SECURITY_VNC_AUTH: u8 = 2;
/// Longest refusal or failure reason kept.
const MAX_REASON_BYTES: usize = 1024;
/// Longest desktop name accepted.
pub(crate) const MAX_NAME_BYTES: u32 = 4096;

/// Runs the handshake up to and including ServerInit.
pub(crate) fn handshake(
    r: &mut dyn Read,
    w: &mut dyn Write,
    opts: &RfbOptions,
) -> Result<ServerInfo, RfbError> {
    let minor_version = version(r, w)?;
    let security = if minor_version == 3 {
        security_v3(r)?
    } else {
        security_list(r, w, opts)?
    };
    if security == SECURITY_VNC_AUTH {
        let password = opts.password.as_ref().ok_or(RfbError::PasswordRequired)?;
        let challenge: [u8; 16] = r.array()?;
        send(w, &vnc_auth_response(password.expose(), &challenge))?;
    }
    if security == SECURITY_VNC_AUTH || minor_version >= 8 {
        security_result(r, minor_version)?;
    }
    send(w, &[u8::from(opts.shared)])?;
    server_init(r, minor_version)
}

/// Reads the greeting, answers it and returns the minor version we speak (3, 7 or 8).
fn version(r: &mut dyn Read, w: &mut dyn Write) -> Result<u8, RfbError> {
    let greeting: [u8; 12] = r.array().map_err(|e| match e {
        RfbError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => RfbError::Closed,
        other => other,
    })?;
    let (major, minor) = parse_version(&greeting).ok_or_else(|| RfbError::NotRfb {
        greeting: String::from_utf8_lossy(&greeting).into_owned(),
    })?;
    let ours = match (major, minor) {
        (0..=2, _) | (3, 0..=2) => return Err(RfbError::UnsupportedVersion { major, minor }),
        // 3.4-3.6 (3.5 was misreported by old clients) mean 3.3.
        (3, 3..=6) => 3,
        (3, 7) => 7,
        // 3.8, Apple's 3.889, 4.x and anything newer: speak 3.8.
        _ => 8,
    };
    send(w, format!("RFB 003.00{ours}\n").as_bytes())?;
    Ok(ours)
}

fn parse_version(g: &[u8; 12]) -> Option<(u32, u32)> {
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    if &g[..4] != b"RFB " || g[7] != b'.' || g[11] != b'\n' {
        return None;
    }
    Some((number(&g[4..7])?, number(&g[8..11])?))
}

/// RFB 3.3: the server decides.
fn security_v3(r: &mut dyn Read) -> Result<u8, RfbError> {
    match r.u32()? {
        0 => Err(RfbError::ServerRefused {
            reason: r.reason_string(MAX_REASON_BYTES)?,
        }),
        1 => Ok(SECURITY_NONE),
        2 => Ok(SECURITY_VNC_AUTH),
        other => Err(RfbError::NoSupportedSecurity {
            offered: vec![u8::try_from(other).unwrap_or(u8::MAX)],
        }),
    }
}

/// RFB 3.7+: pick from the server's list, None first.
fn security_list(r: &mut dyn Read, w: &mut dyn Write, opts: &RfbOptions) -> Result<u8, RfbError> {
    let count = usize::from(r.u8()?);
    if count == 0 {
        return Err(RfbError::ServerRefused {
            reason: r.reason_string(MAX_REASON_BYTES)?,
        });
    }
    let mut offered = vec![0u8; count];
    r.read_exact(&mut offered)?;
    let chosen = if offered.contains(&SECURITY_NONE) {
        SECURITY_NONE
    } else if offered.contains(&SECURITY_VNC_AUTH) {
        if opts.password.is_none() {
            return Err(RfbError::PasswordRequired);
        }
        SECURITY_VNC_AUTH
    } else {
        return Err(RfbError::NoSupportedSecurity { offered });
    };
    send(w, &[chosen])?;
    Ok(chosen)
}

fn security_result(r: &mut dyn Read, minor_version: u8) -> Result<(), RfbError> {
    let status = r.u32()?;
    if status == 0 {
        return Ok(());
    }
    let reason = if minor_version >= 8 {
        r.reason_string(MAX_REASON_BYTES)?
    } else if status == 2 {
        "too many attempts".to_string()
    } else {
        "the server gave no reason".to_string()
    };
    Err(RfbError::AuthFailed { reason })
}

/// The VNC Authentication response: the challenge DES-encrypted (ECB, two blocks) with the
/// password's first 8 bytes, each byte's bits reversed, as a key.
pub fn vnc_auth_response(password: &str, challenge: &[u8; 16]) -> [u8; 16] {
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.bytes()) {
        *k = b.reverse_bits();
    }
    let cipher = Des::new(GenericArray::from_slice(&key));
    let mut out = *challenge;
    for block in out.chunks_exact_mut(8) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    out
}

fn server_init(r: &mut dyn Read, minor_version: u8) -> Result<ServerInfo, RfbError> {
    let width = u32::from(r.u16()?);
    let height = u32::from(r.u16()?);
    let _server_format: [u8; 16] = r.array()?;
    let name_len = r.u32()?;
    if name_len > MAX_NAME_BYTES {
        return Err(RfbError::NameTooLong {
            len: name_len,
            max: MAX_NAME_BYTES,
        });
    }
    let mut name = vec![0u8; name_len as usize];
    r.read_exact(&mut name)?;
    Ok(ServerInfo {
        width,
        height,
        name: String::from_utf8_lossy(&name).into_owned(),
        minor_version,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn des_response_matches_a_reference_vector() {
        // Computed with `openssl enc -des-ecb -K 0e86ceceeef64e26` (the bit-reversed bytes
        // of "password") over the challenge 00 01 .. 0f.
        let challenge: [u8; 16] = std::array::from_fn(|i| i as u8);
        let want = [
            0xb8, 0x66, 0x92, 0x41, 0x25, 0xc8, 0xee, 0xbb, 0x9d, 0xeb, 0xc1, 0xdb, 0x61, 0xc5,
            0x38, 0xe2,
        ];
        assert_eq!(vnc_auth_response("password", &challenge), want);
        // Only the first 8 bytes count; without bit reversal the answer would differ.
        assert_eq!(vnc_auth_response("password-and-more", &challenge), want);
        let mut key = [0u8; 8];
        key.copy_from_slice(b"password");
        let plain = Des::new(GenericArray::from_slice(&key));
        let mut block = GenericArray::clone_from_slice(&challenge[..8]);
        plain.encrypt_block(&mut block);
        assert_ne!(block.as_slice(), &want[..8]);
    }

    #[test]
    fn versions_parse_and_map() {
        assert_eq!(parse_version(b"RFB 003.889\n"), Some((3, 889)));
        assert_eq!(parse_version(b"RFB 003.00x\n"), None);
        assert_eq!(parse_version(b"HTTP/1.1 400"), None);
        for (greeting, ours) in [
            (b"RFB 003.003\n", "RFB 003.003\n"),
            (b"RFB 003.005\n", "RFB 003.003\n"),
            (b"RFB 003.007\n", "RFB 003.007\n"),
            (b"RFB 003.889\n", "RFB 003.008\n"),
            (b"RFB 004.001\n", "RFB 003.008\n"),
        ] {
            let mut out = Vec::new();
            version(&mut &greeting[..], &mut out).unwrap();
            assert_eq!(out, ours.as_bytes());
        }
        let err = version(&mut &b"RFB 003.002\n"[..], &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            RfbError::UnsupportedVersion { major: 3, minor: 2 }
        ));
        let err = version(&mut &b"SSH-2.0-Open"[..], &mut Vec::new()).unwrap_err();
        assert!(matches!(err, RfbError::NotRfb { .. }));
        let err = version(&mut &b"RFB 0"[..], &mut Vec::new()).unwrap_err();
        assert!(matches!(err, RfbError::Closed));
    }
}
