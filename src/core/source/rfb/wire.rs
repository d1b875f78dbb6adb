//! Reading RFB's big-endian fields: from the socket stream ([`Wire`]) and from a decompressed
//! rectangle payload already in memory ([`Payload`]).
//!
//! Every read is exact: a stream that ends early gives `Io(UnexpectedEof)`, a payload that
//! ends early gives `ShortPayload`. Nothing here allocates from a length on the wire.

use std::io::Read;

use super::RfbError;

/// Bytes skipped per read when discarding data we do not keep.
const SKIP_CHUNK: usize = 8192;

/// Big-endian field reads on any byte stream.
pub(crate) trait Wire: Read {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], RfbError> {
        let mut buf = [0u8; N];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn u8(&mut self) -> Result<u8, RfbError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, RfbError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, RfbError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads and discards `n` bytes through a small stack buffer.
    fn skip(&mut self, mut n: u64) -> Result<(), RfbError> {
        let mut buf = [0u8; SKIP_CHUNK];
        while n > 0 {
            let step = n.min(SKIP_CHUNK as u64) as usize;
            self.read_exact(&mut buf[..step])?;
            n -= step as u64;
        }
        Ok(())
    }

    /// Reads `n` bytes into `buf` (reused; grown as needed) and returns them.
    fn bytes_into<'b>(&mut self, n: usize, buf: &'b mut Vec<u8>) -> Result<&'b [u8], RfbError> {
        if buf.len() < n {
            buf.resize(n, 0);
        }
        self.read_exact(&mut buf[..n])?;
        Ok(&buf[..n])
    }

    /// A length-prefixed string (reason, name), keeping at most `max` bytes and not
    /// reading past them: it is only used right before the connection is abandoned.
    fn reason_string(&mut self, max: usize) -> Result<String, RfbError> {
        let len = self.u32()? as usize;
        let mut buf = Vec::new();
        let text = self.bytes_into(len.min(max), &mut buf)?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }
}

impl<R: Read + ?Sized> Wire for R {}

/// A cursor over an in-memory payload (inflated ZRLE/Tight data).
pub(crate) struct Payload<'a> {
    data: &'a [u8],
    encoding: &'static str,
}

impl<'a> Payload<'a> {
    pub(crate) fn new(data: &'a [u8], encoding: &'static str) -> Self {
        Self { data, encoding }
    }

    fn short(&self) -> RfbError {
        RfbError::ShortPayload {
            encoding: self.encoding,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RfbError> {
        if n > self.data.len() {
            return Err(self.short());
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RfbError> {
        let (&b, tail) = self.data.split_first().ok_or_else(|| self.short())?;
        self.data = tail;
        Ok(b)
    }

    /// An RLE run length: bytes summed until one is not 255, plus one. Fails as soon as the
    /// run would pass `limit` pixels.
    pub(crate) fn run_length(&mut self, limit: usize) -> Result<usize, RfbError> {
        let mut len = 1usize;
        loop {
            let b = self.u8()?;
            len += usize::from(b);
            if len > limit {
                return Err(RfbError::RunOverflow {
                    encoding: self.encoding,
                });
            }
            if b != 255 {
                return Ok(len);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stream_reads_are_big_endian_and_exact() {
        let mut r: &[u8] = &[1, 2, 3, 4, 5, 0xff, 0xff, 0xff, 0xfe, 9];
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0203);
        r.skip(2).unwrap();
        assert_eq!(r.u32().unwrap(), 0xffff_fffe);
        assert!(
            matches!(r.u16(), Err(RfbError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof)
        );
    }

    #[test]
    fn reason_is_truncated_without_reading_more() {
        let mut r: &[u8] = &[0, 0, 0, 200, b'a', b'b', b'c'];
        assert_eq!(r.reason_string(2).unwrap(), "ab");
        assert_eq!(r, b"c");
    }

    #[test]
    fn run_lengths_follow_the_255_rule() {
        let mut p = Payload::new(&[0, 254, 255, 0, 255, 1, 255, 255, 0], "ZRLE");
        assert_eq!(p.run_length(10_000).unwrap(), 1);
        assert_eq!(p.run_length(10_000).unwrap(), 255);
        assert_eq!(p.run_length(10_000).unwrap(), 256);
        assert_eq!(p.run_length(10_000).unwrap(), 257);
        assert_eq!(p.run_length(10_000).unwrap(), 511);
        let mut p = Payload::new(&[255, 255, 0], "ZRLE");
        assert!(matches!(
            p.run_length(300),
            Err(RfbError::RunOverflow { .. })
        ));
        let mut p = Payload::new(&[255], "ZRLE");
        assert!(matches!(
            p.run_length(4096),
            Err(RfbError::ShortPayload { .. })
        ));
    }
}
