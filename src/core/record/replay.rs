//! Playing a recording's RFB track through the live client: [`RfbPlayer`], and
//! [`rfb_picture_at`] (what `lookout snapshot FILE --at T` shows).
//!
//! Each `Wire` record ends where the live client had applied a whole message, so the player
//! feeds the client one record at a time and the picture after a record is the picture the
//! live view showed then. A seek starts at the last connection or keyframe before the
//! moment ([`Index::start_for`]) and decodes forward from there.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::format::Kind;
use super::index::{self, Index};
use super::keyframe::{Keyframe, KeyframeError};
use super::player::TrackPlayer;
use super::reader::{ReadError, Reader, Record};
use crate::core::frame::{CursorShape, Framebuffer};
use crate::core::redact::Secret;
use crate::core::source::rfb::{RfbClient, RfbError, RfbOptions, ServerEvent};

/// Why a recording could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the recording has no picture before {at_s:.1} s")]
    NoPicture { at_s: f64 },
    #[error("the recording has no track {track}")]
    NoTrack { track: u8 },
    #[error("the recorded RFB stream at byte {offset} does not decode: {source}")]
    Rfb { offset: u64, source: RfbError },
    #[error("the keyframe at byte {offset} is damaged: {source}")]
    Keyframe { offset: u64, source: KeyframeError },
    #[error("a record at byte {offset} is not valid JSON: {detail}")]
    BadJson { offset: u64, detail: String },
    /// A record that checks out but whose payload is not what its kind says.
    #[error("at byte {offset}: {what}")]
    BadRecord { offset: u64, what: String },
}

impl From<io::Error> for ReplayError {
    fn from(e: io::Error) -> Self {
        ReplayError::Read(ReadError::Io(e))
    }
}

/// Where the track's decoding stands.
enum Conn {
    /// Before the track's first connection, or after a stream that did not decode (until
    /// the next `Connect` or `Keyframe`).
    Idle,
    /// A `Connect` was read: its first `Wire` record is the handshake.
    Connecting(RfbOptions),
    Live {
        client: Box<RfbClient>,
        /// `Wire` bytes applied since the `Connect`.
        wire: u64,
        /// An update was applied (until then the last connection's picture shows).
        painted: bool,
    },
}

/// One recording's RFB track, played.
pub struct RfbPlayer {
    reader: Reader<File>,
    index: Arc<Index>,
    track: u8,
    conn: Conn,
    /// The last connection's client, shown until the next one paints.
    previous: Option<Box<RfbClient>>,
    /// A record of this track read past the position.
    pending: Option<Record>,
    at_us: u64,
    changed: bool,
    /// The first error met, reported if no picture ever came.
    error: Option<ReplayError>,
}

impl RfbPlayer {
    /// Opens `path` and indexes it.
    pub fn open(path: &Path, track: u8) -> Result<RfbPlayer, ReplayError> {
        let (reader, index) = index::open(path)?;
        Self::with_index(reader, Arc::new(index), track)
    }

    /// Plays `track` of an already indexed file.
    pub fn with_index(
        reader: Reader<File>,
        index: Arc<Index>,
        track: u8,
    ) -> Result<RfbPlayer, ReplayError> {
        if !index.tracks.is_empty() && !index.tracks.iter().any(|t| t.track == track) {
            return Err(ReplayError::NoTrack { track });
        }
        Ok(RfbPlayer {
            reader,
            index,
            track,
            conn: Conn::Idle,
            previous: None,
            pending: None,
            at_us: 0,
            changed: false,
            error: None,
        })
    }

    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// Where playback stands.
    pub fn position_us(&self) -> u64 {
        self.at_us
    }

    /// The remote cursor's shape and where the server last put the pointer.
    pub fn cursor(&self) -> Option<(&CursorShape, Option<(u32, u32)>)> {
        let client = self.shown()?;
        Some((client.cursor()?, client.pointer()))
    }

    /// The first error that kept a stretch of the track from decoding, if any.
    pub fn error(&self) -> Option<&ReplayError> {
        self.error.as_ref()
    }

    fn shown(&self) -> Option<&RfbClient> {
        match &self.conn {
            Conn::Live {
                client,
                painted: true,
                ..
            } => Some(client),
            _ => self.previous.as_deref(),
        }
    }

    /// The next record of this track that matters to the picture, read ahead if needed.
    fn peek(&mut self) -> Result<Option<&Record>, ReplayError> {
        while self.pending.is_none() {
            let Some(record) = self.reader.next_record()? else {
                return Ok(None);
            };
            if record.head.track == self.track
                && matches!(
                    record.head.known_kind(),
                    Some(Kind::Connect | Kind::Wire | Kind::Keyframe)
                )
            {
                self.pending = Some(record);
            }
        }
        Ok(self.pending.as_ref())
    }

    fn note(&mut self, error: ReplayError) {
        tracing::debug!("replay: {error}");
        self.error.get_or_insert(error);
    }

    /// Leaves the connection: its picture stays until another paints.
    fn drop_conn(&mut self) {
        if let Conn::Live {
            client,
            painted: true,
            ..
        } = std::mem::replace(&mut self.conn, Conn::Idle)
        {
            self.previous = Some(client);
        }
    }

    fn apply(&mut self, record: Record) {
        let offset = record.head.offset;
        match record.head.known_kind() {
            Some(Kind::Connect) => {
                self.drop_conn();
                match serde_json::from_slice::<serde_json::Value>(&record.payload) {
                    Ok(meta) => self.conn = Conn::Connecting(options_for(&meta)),
                    Err(e) => self.note(ReplayError::BadJson {
                        offset,
                        detail: e.to_string(),
                    }),
                }
            }
            Some(Kind::Wire) => self.apply_wire(offset, &record.payload),
            Some(Kind::Keyframe) => {
                // A keyframe where the stream already is changes nothing; one after bytes
                // that were not recorded (or a stream that broke) takes over.
                if let Conn::Live { wire, .. } = &self.conn
                    && Keyframe::peek_wire_offset(&record.payload).ok() == Some(*wire)
                {
                    return;
                }
                if let Err(e) = self.restore(offset, &record.payload) {
                    self.note(e);
                }
            }
            _ => {}
        }
    }

    fn restore(&mut self, offset: u64, payload: &[u8]) -> Result<(), ReplayError> {
        let keyframe =
            Keyframe::decode(payload).map_err(|source| ReplayError::Keyframe { offset, source })?;
        let client = RfbClient::resume(&keyframe.state, keyframe.picture)
            .map_err(|source| ReplayError::Rfb { offset, source })?;
        self.drop_conn();
        self.conn = Conn::Live {
            client: Box::new(client),
            wire: keyframe.wire_offset,
            painted: true,
        };
        self.changed = true;
        Ok(())
    }

    fn apply_wire(&mut self, offset: u64, bytes: &[u8]) {
        let mut r = bytes;
        let result = match std::mem::replace(&mut self.conn, Conn::Idle) {
            Conn::Idle => return,
            Conn::Connecting(options) => {
                match RfbClient::connect(&mut r, &mut io::sink(), &options) {
                    Ok(client) => {
                        self.conn = Conn::Live {
                            client: Box::new(client),
                            wire: 0,
                            painted: false,
                        };
                        self.messages(&mut r)
                    }
                    Err(e) => Err(e),
                }
            }
            live @ Conn::Live { .. } => {
                self.conn = live;
                self.messages(&mut r)
            }
        };
        match result {
            Ok(()) => {
                if let Conn::Live { wire, .. } = &mut self.conn {
                    *wire += bytes.len() as u64;
                }
            }
            Err(source) => {
                self.drop_conn();
                self.note(ReplayError::Rfb { offset, source });
            }
        }
    }

    /// Applies every message in `r` (a `Wire` record holds whole messages).
    fn messages(&mut self, r: &mut &[u8]) -> Result<(), RfbError> {
        let Conn::Live {
            client, painted, ..
        } = &mut self.conn
        else {
            return Ok(());
        };
        while !r.is_empty() {
            if let ServerEvent::Update(_) = client.read_message(r, &mut io::sink())? {
                *painted = true;
                self.changed = true;
                self.previous = None;
            }
        }
        Ok(())
    }
}

/// The options a replay's client reads a recorded connection with.
fn options_for(connect: &serde_json::Value) -> RfbOptions {
    RfbOptions {
        // The recorded server already took the live password; any answers it now.
        password: connect["password"]
            .as_bool()
            .unwrap_or(false)
            .then(Secret::default),
        ..RfbOptions::default()
    }
}

impl TrackPlayer for RfbPlayer {
    fn advance_to(&mut self, at_us: u64) -> Result<(), ReplayError> {
        if at_us < self.at_us {
            return self.seek(at_us);
        }
        while self.peek()?.is_some_and(|r| r.head.t_us <= at_us) {
            if let Some(record) = self.pending.take() {
                self.apply(record);
            }
        }
        self.at_us = at_us;
        Ok(())
    }

    fn seek(&mut self, at_us: u64) -> Result<(), ReplayError> {
        let here = self
            .pending
            .as_ref()
            .map_or(self.reader.position(), |r| r.head.offset);
        for skip in 0.. {
            let start = self.index.start_for(self.track, at_us, skip);
            // Going on from here is as good as any start behind it.
            if at_us >= self.at_us && start.is_none_or(|p| p.offset < here) {
                return self.advance_to(at_us);
            }
            self.conn = Conn::Idle;
            self.previous = None;
            self.pending = None;
            self.changed = true;
            self.at_us = 0;
            self.reader.seek_to(start.map_or(0, |p| p.offset));
            let Some(point) = start else {
                return self.advance_to(at_us);
            };
            // The point's own record first: a keyframe that does not read falls back to
            // the point before it.
            if let Some(record) = self.peek()?.cloned()
                && record.head.offset == point.offset
            {
                self.pending = None;
                self.apply(record);
                if point.kind == Kind::Keyframe && !matches!(self.conn, Conn::Live { .. }) {
                    continue;
                }
            }
            return self.advance_to(at_us);
        }
        Ok(())
    }

    fn picture(&self) -> Option<&Framebuffer> {
        self.shown().map(RfbClient::framebuffer)
    }

    fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    fn next_change_us(&mut self) -> Option<u64> {
        self.peek().ok().flatten().map(|r| r.head.t_us)
    }

    fn refresh(&mut self, index: &Arc<Index>) -> Result<(), ReplayError> {
        self.reader.grow()?;
        self.index = index.clone();
        Ok(())
    }
}

/// The picture of the recording's RFB track (`track`) at `at_us`.
pub fn rfb_picture_at(path: &Path, track: u8, at_us: u64) -> Result<Framebuffer, ReplayError> {
    let mut player = RfbPlayer::open(path, track)?;
    player.seek(at_us)?;
    match player.picture() {
        Some(picture) => Ok(picture.clone()),
        None => Err(player.error.take().unwrap_or(ReplayError::NoPicture {
            at_s: at_us as f64 / 1e6,
        })),
    }
}
