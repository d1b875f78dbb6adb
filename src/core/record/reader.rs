//! Reads a recording record by record, over any `Read + Seek` (a file, bytes in memory).
//!
//! Every record's checksum is checked. A file cut short (a crash, a full disk) ends at its
//! last whole record: [`Reader::torn_at`] says where the cut record began. Damage in the
//! middle comes out as [`Item::Damaged`] naming the byte range, and reading goes on at the
//! next record that checks out. Nothing is allocated before a record's length has been
//! checked against [`MAX_BODY_BYTES`](super::format::MAX_BODY_BYTES) and against the bytes the file still has.

use std::io::{self, Read, Seek, SeekFrom};

use super::format::{
    FormatError, HEAD_BYTES, HEADER_BYTES, Head, Problem, SYNC, Version, read_head, read_header,
    verify,
};

/// One record, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub head: Head,
    pub payload: Vec<u8>,
}

/// What reading found next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Record(Record),
    /// Bytes `offset..offset + len` hold no record that checks out (`problem` says what
    /// was wrong at `offset`); reading went on after them.
    Damaged {
        offset: u64,
        len: u64,
        problem: Problem,
    },
}

/// What [`Reader::next_skim`] found next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skim {
    /// A record whose payload was not read (nor its checksum checked).
    Head(Head),
    Record(Record),
    Damaged {
        offset: u64,
        len: u64,
        problem: Problem,
    },
}

/// Why a recording cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The I/O error is shown in this one's text, not again as its source.
    #[error("cannot read the recording: {0}")]
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads records one after another.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    version: Version,
    /// Where the next record is looked for.
    pos: u64,
    len: u64,
    torn_at: Option<u64>,
    /// A record found while resynchronising, returned after its [`Item::Damaged`].
    found: Option<Record>,
}

impl<R: Read + Seek> Reader<R> {
    /// Checks the header; the first record is next.
    pub fn open(mut inner: R) -> Result<Self, ReadError> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        let mut header = [0u8; HEADER_BYTES];
        let got = read_up_to(&mut inner, &mut header)?;
        let version = read_header(&header[..got])?;
        Ok(Reader {
            inner,
            version,
            pos: HEADER_BYTES as u64,
            len,
            torn_at: None,
            found: None,
        })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The file's length when it was opened.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// Where the next record is looked for.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where an incomplete last record began, once reading has reached it: the file was
    /// cut there (by a crash, or while it is still being written).
    pub fn torn_at(&self) -> Option<u64> {
        self.torn_at
    }

    /// Takes in what was appended to the file since it was opened (a recording still being
    /// written): reading goes on past the old end, and a record that was cut there is read
    /// again, now that it may be whole.
    pub fn grow(&mut self) -> Result<(), io::Error> {
        self.len = self.inner.seek(SeekFrom::End(0))?.max(self.len);
        if let Some(at) = self.torn_at.take() {
            self.pos = at;
        }
        Ok(())
    }

    /// Goes on reading at `offset` (a record's start, from an index).
    pub fn seek_to(&mut self, offset: u64) {
        self.pos = offset.max(HEADER_BYTES as u64);
        self.found = None;
        self.torn_at = None;
    }

    /// The next record or damaged stretch; `None` at the end of the file (or of its last
    /// whole record).
    pub fn next_item(&mut self) -> Result<Option<Item>, io::Error> {
        if let Some(record) = self.found.take() {
            self.pos = record.head.end();
            return Ok(Some(Item::Record(record)));
        }
        let start = self.pos;
        let (problem, cut) = match self.record_at(start)? {
            At::Record(record) => {
                self.pos = record.head.end();
                return Ok(Some(Item::Record(record)));
            }
            At::End => return Ok(None),
            At::Torn => {
                self.torn_at = Some(start);
                self.pos = self.len;
                return Ok(None);
            }
            At::Cut(problem) => (problem, true),
            At::Bad(problem) => (problem, false),
        };
        // A record that runs past the end is the cut last one, unless a whole record
        // follows it: then its length was damaged.
        if let Some((candidate, record)) = self.next_good(start + 1)? {
            self.found = Some(record);
            self.pos = candidate;
            return Ok(Some(Item::Damaged {
                offset: start,
                len: candidate - start,
                problem,
            }));
        }
        self.pos = self.len;
        if cut {
            self.torn_at = Some(start);
            return Ok(None);
        }
        Ok(Some(Item::Damaged {
            offset: start,
            len: self.len - start,
            problem,
        }))
    }

    /// The first record at or after `from` that checks out, and where it starts.
    fn next_good(&mut self, mut from: u64) -> Result<Option<(u64, Record)>, io::Error> {
        while let Some(candidate) = self.find_sync(from)? {
            if let At::Record(record) = self.record_at(candidate)? {
                return Ok(Some((candidate, record)));
            }
            from = candidate + 1;
        }
        Ok(None)
    }

    /// The next whole record, stepping over damage; `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Record>, io::Error> {
        loop {
            match self.next_item()? {
                Some(Item::Record(r)) => return Ok(Some(r)),
                Some(Item::Damaged { .. }) => continue,
                None => return Ok(None),
            }
        }
    }

    /// The next record's head, and its payload (checked) only if `want` says so: how an
    /// index is built without reading every stream byte. A head that does not parse goes
    /// the way of [`Reader::next_item`], which steps over the damage.
    pub fn next_skim(&mut self, want: impl Fn(&Head) -> bool) -> Result<Option<Skim>, io::Error> {
        if self.found.is_none() && self.pos < self.len {
            let start = self.pos;
            self.inner.seek(SeekFrom::Start(start))?;
            let mut head_bytes = [0u8; HEAD_BYTES];
            let got = read_up_to(&mut self.inner, &mut head_bytes)?;
            if got == HEAD_BYTES
                && let Ok(head) = read_head(&head_bytes, start)
                && head.end() <= self.len
                && !want(&head)
            {
                self.pos = head.end();
                return Ok(Some(Skim::Head(head)));
            }
        }
        Ok(self.next_item()?.map(|item| match item {
            Item::Record(r) => Skim::Record(r),
            Item::Damaged {
                offset,
                len,
                problem,
            } => Skim::Damaged {
                offset,
                len,
                problem,
            },
        }))
    }

    /// The record starting at `offset`, if one does.
    fn record_at(&mut self, offset: u64) -> Result<At, io::Error> {
        if offset >= self.len {
            return Ok(At::End);
        }
        self.inner.seek(SeekFrom::Start(offset))?;
        let mut head_bytes = [0u8; HEAD_BYTES];
        let got = read_up_to(&mut self.inner, &mut head_bytes)?;
        if got < HEAD_BYTES {
            // A cut head is torn if what there is could begin a record.
            let n = got.min(SYNC.len());
            return Ok(if head_bytes[..n] == SYNC[..n] {
                At::Torn
            } else {
                At::Bad(Problem::NoSync)
            });
        }
        let head = match read_head(&head_bytes, offset) {
            Ok(head) => head,
            Err(e) => return Ok(At::Bad(e.problem)),
        };
        if head.end() > self.len {
            // Not all there: the last record, cut, or a length that is wrong.
            return Ok(At::Cut(Problem::BadLength {
                len: head.payload_len + 10,
            }));
        }
        let mut payload = vec![0u8; head.payload_len as usize];
        self.inner.read_exact(&mut payload)?;
        let mut crc = [0u8; 4];
        self.inner.read_exact(&mut crc)?;
        Ok(match verify(&head, &head_bytes, &payload, crc) {
            Ok(()) => At::Record(Record { head, payload }),
            Err(e) => At::Bad(e.problem),
        })
    }

    /// The offset of the next [`SYNC`] at or after `from`.
    fn find_sync(&mut self, from: u64) -> Result<Option<u64>, io::Error> {
        const CHUNK: usize = 64 * 1024;
        let mut buf = vec![0u8; CHUNK];
        let mut at = from;
        while at < self.len {
            self.inner.seek(SeekFrom::Start(at))?;
            let got = read_up_to(&mut self.inner, &mut buf)?;
            if got < SYNC.len() {
                return Ok(None);
            }
            if let Some(i) = super::format::find_sync(&buf[..got]) {
                return Ok(Some(at + i as u64));
            }
            // Keep the last bytes: a sync may straddle two chunks.
            at += (got - (SYNC.len() - 1)) as u64;
        }
        Ok(None)
    }
}

enum At {
    Record(Record),
    End,
    /// The file ends inside a record's head.
    Torn,
    /// A whole head whose record runs past the end of the file.
    Cut(Problem),
    Bad(Problem),
}

/// Reads until `buf` is full or the input ends; how many bytes came.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::format::{Kind, MAX_BODY_BYTES, OVERHEAD_BYTES, encode, header};
    use super::*;

    /// A file of `records` (kind, payload), one microsecond apart.
    fn file(records: &[(Kind, &[u8])]) -> Vec<u8> {
        let mut out = header().to_vec();
        for (t, (kind, payload)) in records.iter().enumerate() {
            encode(*kind, 0, t as u64, payload, &mut out);
        }
        out
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<Item>, Option<u64>) {
        let mut r = Reader::open(Cursor::new(bytes)).unwrap();
        let mut items = Vec::new();
        while let Some(item) = r.next_item().unwrap() {
            items.push(item);
        }
        (items, r.torn_at())
    }

    fn payloads(items: &[Item]) -> Vec<Vec<u8>> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record(r) => Some(r.payload.clone()),
                Item::Damaged { .. } => None,
            })
            .collect()
    }

    const THREE: [(Kind, &[u8]); 3] = [
        (Kind::Meta, b"{\"v\":1}"),
        (Kind::Wire, b"RFB 003.008\n"),
        (Kind::Event, b"{\"state\":\"live\"}"),
    ];

    #[test]
    fn a_file_still_being_written_reads_on_after_grow_and_its_cut_record_is_read_whole() {
        let whole = file(&[
            (Kind::Wire, b"one"),
            (Kind::Wire, b"two"),
            (Kind::Wire, b"three"),
        ]);
        let first_two = file(&[(Kind::Wire, b"one"), (Kind::Wire, b"two")]).len();
        // The writer is halfway through the third record.
        let cut = first_two + 5;
        let mut bytes = whole[..cut].to_vec();
        let mut r = Reader::open(Cursor::new(bytes.clone())).unwrap();
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push(rec.payload);
        }
        assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(r.torn_at(), Some(first_two as u64));
        // Nothing new yet: still nothing past the second record.
        r.grow().unwrap();
        assert_eq!(r.next_record().unwrap(), None);
        // The rest arrives, then a fourth record.
        bytes.extend_from_slice(&whole[cut..]);
        let mut fourth = Vec::new();
        encode(Kind::Wire, 0, 9, b"four", &mut fourth);
        bytes.extend_from_slice(&fourth);
        let pos = r.position();
        let mut inner = Cursor::new(bytes);
        inner.set_position(pos);
        r.inner = inner;
        r.grow().unwrap();
        let mut more = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            more.push(rec.payload);
        }
        assert_eq!(more, [b"three".to_vec(), b"four".to_vec()]);
        assert_eq!(r.torn_at(), None);
    }

    #[test]
    fn a_whole_file_reads_back() {
        let (items, torn) = read_all(file(&THREE));
        assert_eq!(torn, None);
        assert_eq!(
            payloads(&items),
            THREE.iter().map(|(_, p)| p.to_vec()).collect::<Vec<_>>()
        );
        let Item::Record(last) = &items[2] else {
            panic!()
        };
        assert_eq!(
            (last.head.known_kind(), last.head.t_us),
            (Some(Kind::Event), 2)
        );
    }

    #[test]
    fn a_file_cut_anywhere_reads_to_its_last_whole_record() {
        let whole = file(&THREE);
        let ends: Vec<usize> = {
            let mut at = HEADER_BYTES;
            THREE
                .iter()
                .map(|(_, p)| {
                    at += OVERHEAD_BYTES + p.len();
                    at
                })
                .collect()
        };
        for cut in HEADER_BYTES..whole.len() {
            let (items, torn) = read_all(whole[..cut].to_vec());
            let whole_records = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(payloads(&items).len(), whole_records, "cut at {cut}");
            assert!(
                items.iter().all(|i| matches!(i, Item::Record(_))),
                "cut at {cut}: {items:?}"
            );
            let cut_mid_record = !ends.contains(&cut) && cut != HEADER_BYTES;
            assert_eq!(torn.is_some(), cut_mid_record, "cut at {cut}");
        }
    }

    #[test]
    fn damage_in_the_middle_is_named_and_stepped_over() {
        let mut bytes = file(&THREE);
        let second = HEADER_BYTES + OVERHEAD_BYTES + THREE[0].1.len();
        bytes[second + HEAD_BYTES + 2] ^= 0x40; // inside the second payload
        let (items, torn) = read_all(bytes);
        assert_eq!(torn, None);
        assert_eq!(
            payloads(&items),
            vec![THREE[0].1.to_vec(), THREE[2].1.to_vec()]
        );
        match &items[1] {
            Item::Damaged {
                offset,
                len,
                problem,
            } => {
                assert_eq!(*offset, second as u64);
                assert_eq!(*len as usize, OVERHEAD_BYTES + THREE[1].1.len());
                assert_eq!(*problem, Problem::Checksum);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_between_records_and_at_the_end_is_reported() {
        let mut bytes = file(&THREE[..1]);
        bytes.extend_from_slice(b"\x89RE-not-a-record\x89REC\xff\xff\xff\xff");
        let garbage_at = bytes.len() - 24;
        let mut tail = Vec::new();
        encode(Kind::Event, 0, 9, b"{}", &mut tail);
        bytes.extend_from_slice(&tail);
        bytes.extend_from_slice(b"trailing junk");
        let (items, torn) = read_all(bytes);
        assert_eq!(payloads(&items), vec![THREE[0].1.to_vec(), b"{}".to_vec()]);
        assert!(matches!(
            items[1],
            Item::Damaged { offset, problem: Problem::NoSync, .. } if offset == garbage_at as u64
        ));
        assert!(
            matches!(items[3], Item::Damaged { len: 13, .. }),
            "{items:?}"
        );
        assert_eq!(torn, None);
    }

    #[test]
    fn a_huge_length_allocates_nothing() {
        let mut bytes = file(&THREE[..1]);
        let at = bytes.len();
        encode(Kind::Wire, 0, 1, b"abc", &mut bytes);
        bytes[at + 4..at + 8].copy_from_slice(&(MAX_BODY_BYTES - 1).to_le_bytes());
        // Claims 64 MiB with 7 bytes left: a torn last record, read as the end.
        let (items, torn) = read_all(bytes.clone());
        assert_eq!(payloads(&items).len(), 1);
        assert_eq!(torn, Some(at as u64));
        // Followed by a good record, the claim is damage and the good one is found.
        encode(Kind::Event, 0, 2, b"{}", &mut bytes);
        let (items, _) = read_all(bytes);
        assert_eq!(payloads(&items), vec![THREE[0].1.to_vec(), b"{}".to_vec()]);
    }

    #[test]
    fn not_a_recording_and_newer_versions_are_refused_by_name() {
        let err = Reader::open(Cursor::new(b"GIF89a....".to_vec())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at byte 0: not a Lookout recording (no LKREC signature)"
        );
        let mut newer = file(&THREE);
        newer[8] = 3;
        let err = Reader::open(Cursor::new(newer)).unwrap_err();
        assert!(err.to_string().contains("format 3.0"), "{err}");
    }
}
