//! Reading a recording's streams back through the live decoders.
//!
//! [`WireStream`] is one connection's recorded bytes as a `Read`: the RFB client reads it
//! as it read the socket, and its writes go nowhere. [`rfb_picture_at`] decodes a
//! recording's RFB track up to a moment: what `lookout snapshot FILE --at T` shows.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::format::Kind;
use super::reader::{ReadError, Reader, Record};
use crate::core::frame::Framebuffer;
use crate::core::redact::Secret;
use crate::core::source::rfb::{RfbClient, RfbError, RfbOptions};

/// Why a recording could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the recording has no picture before {at_s:.1} s")]
    NoPicture { at_s: f64 },
    #[error("the recorded RFB stream does not decode: {0}")]
    Rfb(#[from] RfbError),
    #[error("a record at byte {offset} is not valid JSON: {detail}")]
    BadJson { offset: u64, detail: String },
}

impl From<io::Error> for ReplayError {
    fn from(e: io::Error) -> Self {
        ReplayError::Read(ReadError::Io(e))
    }
}

/// The bytes of one recorded connection of `track`, up to `until_us`, as a reader.
pub struct WireStream<'a, R> {
    reader: &'a mut Reader<R>,
    track: u8,
    until_us: u64,
    chunk: Vec<u8>,
    at: usize,
    /// A record past this connection (its next `Connect`, or past `until_us`), kept for
    /// the caller.
    stopped_at: Option<Record>,
}

impl<'a, R: Read + io::Seek> WireStream<'a, R> {
    pub fn new(reader: &'a mut Reader<R>, track: u8, until_us: u64) -> Self {
        WireStream {
            reader,
            track,
            until_us,
            chunk: Vec::new(),
            at: 0,
            stopped_at: None,
        }
    }

    /// The record that ended this stream, if one did.
    pub fn take_stop(&mut self) -> Option<Record> {
        self.stopped_at.take()
    }
}

impl<R: Read + io::Seek> Read for WireStream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.stopped_at.is_some() {
                return Ok(0);
            }
            let Some(record) = self.reader.next_record()? else {
                return Ok(0);
            };
            let head = record.head;
            if head.t_us > self.until_us
                || (head.track == self.track && head.known_kind() == Some(Kind::Connect))
            {
                self.stopped_at = Some(record);
                return Ok(0);
            }
            if head.track == self.track && head.known_kind() == Some(Kind::Wire) {
                self.chunk = record.payload;
                self.at = 0;
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The picture of the recording's RFB track (`track`) at `at_us`: its last connection
/// before then, decoded up to then.
pub fn rfb_picture_at(path: &Path, track: u8, at_us: u64) -> Result<Framebuffer, ReplayError> {
    let mut reader = Reader::open(File::open(path)?)?;
    let mut picture = None;
    let mut next = None;
    loop {
        // Find this track's next connection.
        let connect = match next.take() {
            Some(record) => record,
            None => match reader.next_record()? {
                Some(record) => record,
                None => break,
            },
        };
        if connect.head.t_us > at_us {
            break;
        }
        if connect.head.track != track || connect.head.known_kind() != Some(Kind::Connect) {
            continue;
        }
        let meta: serde_json::Value =
            serde_json::from_slice(&connect.payload).map_err(|e| ReplayError::BadJson {
                offset: connect.head.offset,
                detail: e.to_string(),
            })?;
        let options = RfbOptions {
            // The recorded server already took the live password; any answers it now.
            password: meta["password"]
                .as_bool()
                .unwrap_or(false)
                .then(Secret::default),
            ..RfbOptions::default()
        };
        let mut stream = WireStream::new(&mut reader, track, at_us);
        match decode_all(&mut stream, &options) {
            Ok(Some(fb)) => picture = Some(fb),
            Ok(None) => {}
            Err(e) if picture.is_none() && stream.stopped_at.is_none() => return Err(e.into()),
            // A connection that broke off mid-message (a drop, a kill) ends where it broke.
            Err(_) => {}
        }
        next = stream.take_stop();
    }
    picture.ok_or(ReplayError::NoPicture {
        at_s: at_us as f64 / 1e6,
    })
}

/// Runs a client over `stream` to its end; the picture, if the handshake completed.
fn decode_all<R: Read>(
    stream: &mut R,
    options: &RfbOptions,
) -> Result<Option<Framebuffer>, RfbError> {
    let mut input = io::BufReader::with_capacity(256 * 1024, stream);
    let mut client = match RfbClient::connect(&mut input, &mut io::sink(), options) {
        Ok(client) => client,
        Err(e) if ended(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    loop {
        match client.read_message(&mut input, &mut io::sink()) {
            Ok(_) => {}
            Err(e) if ended(&e) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Some(client.framebuffer().clone()))
}

/// The recorded bytes ran out (the moment asked for, or the connection's end).
fn ended(e: &RfbError) -> bool {
    match e {
        RfbError::Closed => true,
        RfbError::Io(e) => e.kind() == io::ErrorKind::UnexpectedEof,
        _ => false,
    }
}
