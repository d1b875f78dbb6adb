//! The recording file format, pure: bytes in, records out (`docs/recording-format.md`).
//!
//! ```text
//! file    := header record*
//! header  := "LKREC\r\n\x1a" major:u16 minor:u16 reserved:u32          (16 bytes)
//! record  := sync:"\x89REC" len:u32 body crc32:u32                    (len = body bytes)
//! body    := kind:u8 track:u8 t_us:u64 payload                        (10 + payload bytes)
//! ```
//!
//! Integers are little-endian. `crc32` (IEEE, as zlib's) covers `len` and the body. A
//! record is written whole with one `write` and never rewritten, so a file cut anywhere
//! (a crash, a full disk) reads up to its last whole record: the cut one is a *torn tail*,
//! not an error. A damaged record in the middle is reported with its offset and skipped by
//! searching for the next `sync` whose record checks out. A record's `len` is checked
//! against [`MAX_BODY_BYTES`] before anything is allocated for it.
//!
//! Kinds unknown to this version are skipped (a minor version may add kinds); a newer
//! major version is refused.

use std::fmt;

/// The file's first eight bytes. The `\r\n` and `\x1a` catch a file mangled by a text-mode
/// copy, as PNG's signature does.
pub const MAGIC: [u8; 8] = *b"LKREC\r\n\x1a";
/// The major version this code writes and reads; a file with another is refused.
pub const MAJOR: u16 = 1;
/// The minor version this code writes; it reads any minor of [`MAJOR`].
pub const MINOR: u16 = 0;
/// Length of the file header.
pub const HEADER_BYTES: usize = 16;
/// The bytes that start every record.
pub const SYNC: [u8; 4] = [0x89, b'R', b'E', b'C'];
/// Bytes before a record's payload: sync, len, kind, track, t_us.
pub const HEAD_BYTES: usize = 4 + 4 + 1 + 1 + 8;
/// Bytes a record adds to its payload: its head and its checksum.
pub const OVERHEAD_BYTES: usize = HEAD_BYTES + 4;
/// The largest body a record may have (its payload plus 10 bytes). A writer splits or
/// refuses anything larger; a reader refuses a `len` above it before allocating.
pub const MAX_BODY_BYTES: u32 = 64 << 20;
/// The largest payload a record may carry.
pub const MAX_PAYLOAD_BYTES: usize = MAX_BODY_BYTES as usize - 10;

/// What a record holds. The payload of each is described in `docs/recording-format.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// What was recorded (JSON): the source, the task, when, by which Lookout.
    Meta = 1,
    /// A connection to a track's stream began (JSON): decoders start afresh.
    Connect = 2,
    /// Stream bytes as they came from the server (after WebSocket framing).
    Wire = 3,
    /// One whole WebSocket message: a flag byte (1 text, 2 binary) then its bytes.
    Message = 4,
    /// One HLS segment: a JSON header's length (u32), the header, then the segment.
    Segment = 5,
    /// The decoded picture and what the decoder needs to go on from there.
    Keyframe = 6,
    /// One task-log line as the log stored it (JSON), secrets already masked.
    LogLine = 7,
    /// Something that happened (JSON): a state, control, input, a prompt, a bookmark.
    Event = 8,
}

impl Kind {
    pub fn from_u8(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Meta,
            2 => Kind::Connect,
            3 => Kind::Wire,
            4 => Kind::Message,
            5 => Kind::Segment,
            6 => Kind::Keyframe,
            7 => Kind::LogLine,
            8 => Kind::Event,
            _ => return None,
        })
    }
}

/// A recording's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

/// What is wrong with a recording's bytes, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {problem}")]
pub struct FormatError {
    /// Where in the file the problem starts.
    pub offset: u64,
    pub problem: Problem,
}

/// What is wrong with a recording's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The file does not start with [`MAGIC`].
    NotARecording,
    /// The file ends inside its header.
    ShortHeader { len: usize },
    /// Made by a Lookout with another major version.
    NewerVersion(Version),
    /// A record does not start with [`SYNC`].
    NoSync,
    /// A record's length is below its fixed part or above [`MAX_BODY_BYTES`].
    BadLength { len: u32 },
    /// A record's checksum does not match its bytes.
    Checksum,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotARecording => f.write_str("not a Lookout recording (no LKREC signature)"),
            Problem::ShortHeader { len } => {
                write!(
                    f,
                    "the file ends inside its header ({len} of {HEADER_BYTES} bytes)"
                )
            }
            Problem::NewerVersion(v) => write!(
                f,
                "recorded in format {}.{}, which this Lookout (format {MAJOR}.x) cannot read; \
                 open it with a newer Lookout",
                v.major, v.minor
            ),
            Problem::NoSync => f.write_str("no record starts here"),
            Problem::BadLength { len } => write!(
                f,
                "a record claims {len} bytes (a record holds 10 to {MAX_BODY_BYTES})"
            ),
            Problem::Checksum => f.write_str("a record's checksum does not match its bytes"),
        }
    }
}

/// The file header this code writes.
pub fn header() -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&MAJOR.to_le_bytes());
    h[10..12].copy_from_slice(&MINOR.to_le_bytes());
    h
}

/// Checks a file's first bytes (at most [`HEADER_BYTES`] are looked at).
pub fn read_header(bytes: &[u8]) -> Result<Version, FormatError> {
    let at = |problem| FormatError { offset: 0, problem };
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(at(Problem::NotARecording));
    }
    if bytes.len() < HEADER_BYTES {
        return Err(at(Problem::ShortHeader { len: bytes.len() }));
    }
    let version = Version {
        major: u16::from_le_bytes([bytes[8], bytes[9]]),
        minor: u16::from_le_bytes([bytes[10], bytes[11]]),
    };
    if version.major != MAJOR {
        return Err(FormatError {
            offset: 8,
            problem: Problem::NewerVersion(version),
        });
    }
    Ok(version)
}

/// Appends one record to `out`. `payload` must be at most [`MAX_PAYLOAD_BYTES`]; the
/// writer checks before it calls.
pub fn encode(kind: Kind, track: u8, t_us: u64, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= MAX_PAYLOAD_BYTES);
    let len = u32::try_from(10 + payload.len()).unwrap_or(u32::MAX);
    out.reserve(OVERHEAD_BYTES + payload.len());
    out.extend_from_slice(&SYNC);
    let checked_from = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind as u8);
    out.push(track);
    out.extend_from_slice(&t_us.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[checked_from..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// A record's head, read before its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Where the record starts in the file (its sync bytes).
    pub offset: u64,
    /// The kind byte: [`Kind::from_u8`] says which, `None` for one added since.
    pub kind: u8,
    pub track: u8,
    /// Microseconds since the recording began.
    pub t_us: u64,
    /// Payload bytes that follow the head.
    pub payload_len: u32,
}

impl Head {
    /// Where the record ends (one past its checksum).
    pub fn end(&self) -> u64 {
        self.offset + (OVERHEAD_BYTES as u64) + u64::from(self.payload_len)
    }

    /// The record's kind, if this version knows it.
    pub fn known_kind(&self) -> Option<Kind> {
        Kind::from_u8(self.kind)
    }
}

/// Reads a record's head from `bytes` (its first [`HEAD_BYTES`]), the record being at
/// `offset` in the file.
pub fn read_head(bytes: &[u8; HEAD_BYTES], offset: u64) -> Result<Head, FormatError> {
    let at = |problem| FormatError { offset, problem };
    if bytes[..4] != SYNC {
        return Err(at(Problem::NoSync));
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if !(10..=MAX_BODY_BYTES).contains(&len) {
        return Err(at(Problem::BadLength { len }));
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&bytes[10..18]);
    Ok(Head {
        offset,
        kind: bytes[8],
        track: bytes[9],
        t_us: u64::from_le_bytes(t),
        payload_len: len - 10,
    })
}

/// Checks a record's checksum: `head_bytes` as read, its payload and the 4 bytes after it.
pub fn verify(
    head: &Head,
    head_bytes: &[u8; HEAD_BYTES],
    payload: &[u8],
    crc: [u8; 4],
) -> Result<(), FormatError> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&head_bytes[4..]);
    hasher.update(payload);
    if hasher.finalize() == u32::from_le_bytes(crc) {
        Ok(())
    } else {
        Err(FormatError {
            offset: head.offset,
            problem: Problem::Checksum,
        })
    }
}

/// Where the next [`SYNC`] starts in `bytes`, if anywhere.
pub fn find_sync(bytes: &[u8]) -> Option<usize> {
    bytes.windows(SYNC.len()).position(|w| w == SYNC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(kind: Kind, track: u8, t_us: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(kind, track, t_us, payload, &mut out);
        out
    }

    fn head_of(bytes: &[u8]) -> [u8; HEAD_BYTES] {
        bytes[..HEAD_BYTES].try_into().unwrap()
    }

    #[test]
    fn a_record_round_trips() {
        let rec = one(Kind::Wire, 3, 1_234_567, b"RFB 003.008\n");
        assert_eq!(rec.len(), OVERHEAD_BYTES + 12);
        let head = read_head(&head_of(&rec), 100).unwrap();
        assert_eq!(
            head,
            Head {
                offset: 100,
                kind: Kind::Wire as u8,
                track: 3,
                t_us: 1_234_567,
                payload_len: 12,
            }
        );
        assert_eq!(head.end(), 100 + rec.len() as u64);
        assert_eq!(head.known_kind(), Some(Kind::Wire));
        let payload = &rec[HEAD_BYTES..HEAD_BYTES + 12];
        assert_eq!(payload, b"RFB 003.008\n");
        let crc = rec[HEAD_BYTES + 12..].try_into().unwrap();
        verify(&head, &head_of(&rec), payload, crc).unwrap();
    }

    #[test]
    fn any_flipped_bit_is_caught() {
        let rec = one(Kind::LogLine, 1, 42, br#"{"text":"hello"}"#);
        for byte in 4..rec.len() {
            for bit in 0..8 {
                let mut bad = rec.clone();
                bad[byte] ^= 1 << bit;
                let Ok(head) = read_head(&head_of(&bad), 0) else {
                    continue; // a length made impossible: caught before the checksum
                };
                let end = HEAD_BYTES + head.payload_len as usize;
                if end + 4 != bad.len() {
                    continue; // the length changed: the record no longer fits
                }
                let crc = bad[end..].try_into().unwrap();
                assert_eq!(
                    verify(&head, &head_of(&bad), &bad[HEAD_BYTES..end], crc)
                        .unwrap_err()
                        .problem,
                    Problem::Checksum,
                    "byte {byte} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn lengths_are_checked_before_anything_is_allocated() {
        let mut rec = one(Kind::Wire, 0, 0, b"x");
        rec[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = read_head(&head_of(&rec), 77).unwrap_err();
        assert_eq!(err.offset, 77);
        assert_eq!(err.problem, Problem::BadLength { len: u32::MAX });
        assert!(
            err.to_string()
                .starts_with("at byte 77: a record claims 4294967295 bytes")
        );
        rec[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert!(read_head(&head_of(&rec), 0).is_err());
        rec[0] = b'x';
        assert_eq!(
            read_head(&head_of(&rec), 0).unwrap_err().problem,
            Problem::NoSync
        );
    }

    #[test]
    fn headers_name_what_is_wrong() {
        assert_eq!(
            read_header(&header()).unwrap(),
            Version {
                major: MAJOR,
                minor: MINOR
            }
        );
        let mut newer = header();
        newer[8..10].copy_from_slice(&2u16.to_le_bytes());
        let err = read_header(&newer).unwrap_err();
        assert_eq!(err.offset, 8);
        assert!(err.to_string().contains("format 2.0"), "{err}");
        assert!(err.to_string().contains("newer Lookout"), "{err}");
        let mut minor = header();
        minor[10] = 9;
        assert_eq!(read_header(&minor).unwrap().minor, 9);
        assert_eq!(
            read_header(b"\x89PNG\r\n\x1a\n").unwrap_err().problem,
            Problem::NotARecording
        );
        assert_eq!(
            read_header(&header()[..10]).unwrap_err().problem,
            Problem::ShortHeader { len: 10 }
        );
        assert_eq!(
            read_header(b"").unwrap_err().problem,
            Problem::ShortHeader { len: 0 }
        );
    }

    #[test]
    fn sync_is_found_after_garbage() {
        let mut bytes = b"garbage\x89RE".to_vec();
        bytes.extend(one(Kind::Event, 0, 5, b"{}"));
        assert_eq!(find_sync(&bytes), Some(10));
        assert_eq!(find_sync(b"\x89RE"), None);
    }
}
