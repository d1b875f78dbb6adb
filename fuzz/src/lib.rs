//! How the fuzz targets cut one fuzz input into the several messages a parser sees in a
//! row, so that state carried from one message to the next (a JPEG decoder's tables, a
//! preview decoder's buffers, a playlist follower's position) is fuzzed too.
//!
//! Two framings, one for binary messages and one for text:
//! - [`records`]: each message is a big-endian `u16` length and that many bytes; a length
//!   past the end takes what is left, so every input is valid;
//! - [`split_text`]: messages separated by one byte (`\n` for the runner's JSON lines, NUL
//!   for playlist reloads), so seeds stay readable and dictionary words mutate cleanly.
//!
//! The seed maker (`examples/make_seeds.rs`) writes seeds in these framings with
//! [`record`].

/// At most this many messages are taken from one input: enough for state to carry over,
/// few enough that one input stays fast.
pub const MAX_MESSAGES: usize = 16;

/// The messages of a length-prefixed input (see the module docs), at most [`MAX_MESSAGES`].
pub fn records(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (len, body) = match rest {
            [] => return None,
            [hi, lo, body @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), body),
            [_] => (0, &[][..]),
        };
        let (message, after) = body.split_at(len.min(body.len()));
        rest = after;
        Some(message)
    })
    .take(MAX_MESSAGES)
}

/// One message in the framing [`records`] reads.
pub fn record(message: &[u8]) -> Vec<u8> {
    let len = u16::try_from(message.len()).expect("a seed message of at most 64 KiB");
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

/// The messages of a separated input (see the module docs), at most [`MAX_MESSAGES`].
pub fn split_text(data: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    data.split(move |&b| b == separator).take(MAX_MESSAGES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_take_what_is_left() {
        let data = [record(b"ab"), record(b""), record(b"xyz")].concat();
        let got: Vec<&[u8]> = records(&data).collect();
        assert_eq!(got, [&b"ab"[..], b"", b"xyz"]);
        let got: Vec<&[u8]> = records(&[0, 9, 1, 2, 3]).collect();
        assert_eq!(got, [&[1u8, 2, 3][..]]);
        assert_eq!(records(&[7]).count(), 1);
        assert_eq!(records(&[0; 100]).count(), MAX_MESSAGES);
    }
}
