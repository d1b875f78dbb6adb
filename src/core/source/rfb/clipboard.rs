//! ServerCutText (3): 3 padding bytes, `length: u32`, then Latin-1 text.
//!
//! A negative length (as `i32`) marks the Extended Clipboard format: `|length|` bytes of
//! `flags: u32` (low 16 bits: formats, bit 0 = UTF-8 text; bit 28: "provide"), and for
//! "provide" a fresh zlib stream holding, per format, `size: u32` + data (text is UTF-8,
//! CRLF line ends, NUL-terminated). Lookout never advertises the extension, but decodes a
//! provided text if a server sends one anyway.
//!
//! Text is kept up to [`MAX_CUT_TEXT_BYTES`]; the rest is read and dropped in small chunks.

use std::io::Read;

use flate2::{Decompress, FlushDecompress};

use super::RfbError;
use super::wire::Wire;

/// Most clipboard bytes kept from one message.
pub const MAX_CUT_TEXT_BYTES: usize = 1 << 20;

const EXT_FORMAT_TEXT: u32 = 1;
const EXT_ACTION_PROVIDE: u32 = 1 << 28;
/// Most compressed bytes of an extended "provide" message we inflate.
const MAX_EXTENDED_BYTES: usize = MAX_CUT_TEXT_BYTES;

/// Reads the rest of a ServerCutText after its type byte. `None`: nothing to show.
pub(crate) fn server_cut_text(r: &mut dyn Read) -> Result<Option<String>, RfbError> {
    let [_, _, _] = r.array()?;
    let raw_len = r.i32()?;
    if raw_len < 0 {
        return extended(r, raw_len.unsigned_abs());
    }
    let len = raw_len as u32 as usize;
    let keep = len.min(MAX_CUT_TEXT_BYTES);
    let mut text = vec![0u8; keep];
    r.read_exact(&mut text)?;
    r.skip((len - keep) as u64)?;
    Ok(Some(text.iter().map(|&b| char::from(b)).collect()))
}

fn extended(r: &mut dyn Read, len: u32) -> Result<Option<String>, RfbError> {
    let len = len as usize;
    if len < 4 {
        r.skip(len as u64)?;
        return Ok(None);
    }
    let flags = r.u32()?;
    let rest = len - 4;
    let text_provided = flags & EXT_ACTION_PROVIDE != 0 && flags & EXT_FORMAT_TEXT != 0;
    if !text_provided || rest > MAX_EXTENDED_BYTES {
        r.skip(rest as u64)?;
        return Ok(None);
    }
    let mut compressed = vec![0u8; rest];
    r.read_exact(&mut compressed)?;
    // Text is the lowest format bit, so it comes first: size, then bytes.
    let mut out = vec![0u8; MAX_CUT_TEXT_BYTES + 4];
    let mut z = Decompress::new(true);
    // A corrupt extension payload is not worth the connection: show nothing.
    if z.decompress(&compressed, &mut out, FlushDecompress::Finish)
        .is_err()
    {
        return Ok(None);
    }
    let produced = z.total_out() as usize;
    let Some((size, data)) = out[..produced].split_first_chunk::<4>() else {
        return Ok(None);
    };
    let size = (u32::from_be_bytes(*size) as usize).min(data.len());
    let text = String::from_utf8_lossy(&data[..size]);
    Ok(Some(text.trim_end_matches('\0').replace("\r\n", "\n")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    fn message(len: i32, body: &[u8]) -> Vec<u8> {
        let mut m = vec![0, 0, 0];
        m.extend(len.to_be_bytes());
        m.extend(body);
        m
    }

    #[test]
    fn latin1_text_is_decoded() {
        let m = message(3, &[b'h', 0xe9, b'\n']);
        assert_eq!(server_cut_text(&mut &m[..]).unwrap().unwrap(), "hé\n");
    }

    #[test]
    fn oversized_text_is_cut_and_the_rest_skipped() {
        let total = MAX_CUT_TEXT_BYTES + 100_000;
        let mut m = message(total as i32, &vec![b'a'; total]);
        m.push(42);
        let mut r = &m[..];
        let text = server_cut_text(&mut r).unwrap().unwrap();
        assert_eq!(text.len(), MAX_CUT_TEXT_BYTES);
        assert_eq!(r, [42], "exactly the message was consumed");
        let short = message(100, b"abc");
        assert!(server_cut_text(&mut &short[..]).is_err());
    }

    #[test]
    fn extended_clipboard_text_is_decoded_and_other_actions_skipped() {
        let mut payload = 10u32.to_be_bytes().to_vec();
        payload.extend(b"hi\r\nthere\0");
        let mut z = Compress::new(Compression::default(), true);
        let mut compressed = Vec::with_capacity(256);
        z.compress_vec(&payload, &mut compressed, FlushCompress::Finish)
            .unwrap();
        let mut body = (EXT_ACTION_PROVIDE | EXT_FORMAT_TEXT)
            .to_be_bytes()
            .to_vec();
        body.extend(&compressed);
        let m = message(-(body.len() as i32), &body);
        assert_eq!(server_cut_text(&mut &m[..]).unwrap().unwrap(), "hi\nthere");

        // Capabilities message: skipped whole.
        let mut body = (1u32 << 24 | EXT_FORMAT_TEXT).to_be_bytes().to_vec();
        body.extend(1024u32.to_be_bytes());
        let mut m = message(-(body.len() as i32), &body);
        m.push(7);
        let mut r = &m[..];
        assert_eq!(server_cut_text(&mut r).unwrap(), None);
        assert_eq!(r, [7]);
        // i32::MIN does not overflow; the stream simply ends.
        let m = message(i32::MIN, &[]);
        assert!(server_cut_text(&mut &m[..]).is_err());
    }
}
