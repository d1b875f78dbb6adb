//! ServerCutText (3): 3 padding bytes, `length: u32`, then Latin-1 text.
//!
//! Lookout never advertises the Extended Clipboard pseudo-encoding, so a length with its
//! top bit set is a plain (and absurd) length, not that extension's marker: a message over
//! [`MAX_SERVER_CUT_TEXT_BYTES`] is refused by name. Text is kept up to
//! [`MAX_CUT_TEXT_BYTES`]; the rest of a message under the limit is read and dropped in
//! small chunks.

use std::io::Read;

use super::RfbError;
use super::wire::Wire;

/// Most clipboard bytes kept from one message.
pub const MAX_CUT_TEXT_BYTES: usize = 1 << 20;
/// Longest ServerCutText read at all (the part past [`MAX_CUT_TEXT_BYTES`] is skipped).
pub const MAX_SERVER_CUT_TEXT_BYTES: u32 = 16 << 20;

/// Reads the rest of a ServerCutText after its type byte. `None`: nothing to show.
pub(crate) fn server_cut_text(r: &mut dyn Read) -> Result<Option<String>, RfbError> {
    let [_, _, _] = r.array()?;
    let len = r.u32()?;
    if len > MAX_SERVER_CUT_TEXT_BYTES {
        return Err(RfbError::PayloadTooLarge {
            encoding: "ServerCutText",
            len: u64::from(len),
            max: u64::from(MAX_SERVER_CUT_TEXT_BYTES),
        });
    }
    let len = len as usize;
    let keep = len.min(MAX_CUT_TEXT_BYTES);
    let mut text = vec![0u8; keep];
    r.read_exact(&mut text)?;
    r.skip((len - keep) as u64)?;
    Ok(Some(text.iter().map(|&b| char::from(b)).collect()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
    fn a_length_with_the_top_bit_set_is_refused_by_name_not_read_as_an_extension() {
        // Lookout never asked for Extended Clipboard: 0xFFFFFFFF is a 4 GiB length.
        let m = message(-1, &[0, 0, 0, 1]);
        let err = server_cut_text(&mut &m[..]).unwrap_err();
        assert!(
            matches!(
                err,
                RfbError::PayloadTooLarge {
                    encoding: "ServerCutText",
                    len: 0xFFFF_FFFF,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("ServerCutText"), "{err}");
    }
}
