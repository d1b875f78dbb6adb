//! A recording's index, built on open: where each track can be decoded from (its
//! connections and keyframes), the timeline's markers, the tracks and the duration.
//!
//! The file stores no index (`docs/recording-format.md`, "Index"), so one killed mid-write
//! opens exactly as a closed one does. Building it reads every record's head and skips the
//! stream bytes; only `Meta` and `Event` payloads are read (and checked). What it keeps is
//! bounded: resynchronisation points are a few per minute, markers at most
//! [`MAX_MARKERS`].

use std::io::{Read, Seek};

use super::format::Kind;
use super::reader::{ReadError, Reader, Skim};

/// Markers kept at most; a file with more keeps its first ones.
pub const MAX_MARKERS: usize = 100_000;

/// A place a track can be decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResyncPoint {
    pub t_us: u64,
    /// The record's start in the file.
    pub offset: u64,
    /// `Connect` or `Keyframe`.
    pub kind: Kind,
}

/// Something that happened, for the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub t_us: u64,
    pub track: u8,
    /// The `Event` record's JSON (its `type` says what).
    pub event: serde_json::Value,
}

/// One track named in the `Meta` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInfo {
    pub track: u8,
    /// `rfb`, `preview`, `hls-video`, `hls-audio` or `log`.
    pub kind: String,
}

#[derive(Clone, Debug, Default)]
pub struct Index {
    /// The `Meta` record's JSON (`Null` if it was missing or damaged).
    pub meta: serde_json::Value,
    pub tracks: Vec<TrackInfo>,
    /// The last record's time.
    pub duration_us: u64,
    /// Each track's resynchronisation points, in file order, by track.
    points: Vec<(u8, ResyncPoint)>,
    pub markers: Vec<Marker>,
    /// Byte ranges that held no record that checks out.
    pub damaged: Vec<(u64, u64)>,
    /// Where the file was cut inside its last record, if it was.
    pub torn_at: Option<u64>,
    /// Records in the file.
    pub records: u64,
}

impl Index {
    /// Reads `reader` from its first record to its end.
    pub fn build<R: Read + Seek>(reader: &mut Reader<R>) -> Result<Index, ReadError> {
        let mut index = Index::default();
        reader.seek_to(0);
        index.extend(reader)?;
        Ok(index)
    }

    /// Reads on from where `reader` stands to its end: after [`Reader::grow`], what a
    /// recording still being written has gained.
    pub fn extend<R: Read + Seek>(&mut self, reader: &mut Reader<R>) -> Result<(), ReadError> {
        let index = self;
        let want = |head: &super::format::Head| {
            matches!(head.known_kind(), Some(Kind::Meta | Kind::Event))
        };
        while let Some(skim) = reader.next_skim(want)? {
            let head = match skim {
                Skim::Head(head) => head,
                Skim::Record(record) => {
                    index.read_payload(&record.head, &record.payload);
                    record.head
                }
                Skim::Damaged { offset, len, .. } => {
                    index.damaged.push((offset, len));
                    continue;
                }
            };
            index.records += 1;
            index.duration_us = index.duration_us.max(head.t_us);
            if let Some(kind @ (Kind::Connect | Kind::Keyframe)) = head.known_kind() {
                let point = ResyncPoint {
                    t_us: head.t_us,
                    offset: head.offset,
                    kind,
                };
                index.points.push((head.track, point));
            }
        }
        index.torn_at = reader.torn_at();
        Ok(())
    }

    fn read_payload(&mut self, head: &super::format::Head, payload: &[u8]) {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) else {
            return;
        };
        match head.known_kind() {
            Some(Kind::Meta) if self.meta.is_null() => {
                self.tracks = value["tracks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| {
                        Some(TrackInfo {
                            track: u8::try_from(t["track"].as_u64()?).ok()?,
                            kind: t["kind"].as_str()?.chars().take(32).collect(),
                        })
                    })
                    .collect();
                self.meta = value;
            }
            // Typing and clicks are many and small: the timeline marks the rest.
            Some(Kind::Event)
                if self.markers.len() < MAX_MARKERS
                    && value["type"].as_str().is_some_and(|t| t != "input") =>
            {
                self.markers.push(Marker {
                    t_us: head.t_us,
                    track: head.track,
                    event: value,
                });
            }
            _ => {}
        }
    }

    /// The track of the first picture kind (`rfb`, `preview`, `hls-video`), if any.
    pub fn picture_track(&self) -> Option<&TrackInfo> {
        self.tracks
            .iter()
            .find(|t| matches!(t.kind.as_str(), "rfb" | "preview" | "hls-video"))
    }

    /// Whether the recording may have sound: an HLS track (whose segments may carry it).
    pub fn may_have_sound(&self) -> bool {
        self.tracks
            .iter()
            .any(|t| matches!(t.kind.as_str(), "hls-video" | "hls-audio"))
    }

    /// The point `track` is best decoded from to show `at_us`: the last one at or before
    /// it in the file. `skip` leaves out that many of the best (a keyframe that did not
    /// read), falling back to earlier ones.
    pub fn start_for(&self, track: u8, at_us: u64, skip: usize) -> Option<ResyncPoint> {
        self.points
            .iter()
            .rev()
            .filter(|(t, p)| *t == track && p.t_us <= at_us)
            .map(|(_, p)| *p)
            .nth(skip)
    }

    /// `track`'s resynchronisation points, in file order.
    pub fn points(&self, track: u8) -> impl Iterator<Item = ResyncPoint> + '_ {
        self.points
            .iter()
            .filter(move |(t, _)| *t == track)
            .map(|(_, p)| *p)
    }
}

/// Opens `path` and builds its index.
pub fn open(path: &std::path::Path) -> Result<(Reader<std::fs::File>, Index), ReadError> {
    let mut reader = Reader::open(std::fs::File::open(path)?)?;
    let index = Index::build(&mut reader)?;
    reader.seek_to(0);
    Ok((reader, index))
}
