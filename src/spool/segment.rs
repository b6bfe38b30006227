//! Segment files: names, record framing, sequential reading.
//!
//! A segment starts with [`MAGIC`]; each record is
//! `len u32 | !len u32 | crc32c u32 | flags u8 | spans u32 | written_ms u64 | payload`
//! (little-endian). The CRC covers everything after itself; `!len` lets a reader
//! tell a damaged header (the rest of the segment cannot be framed) from a damaged
//! payload (that record alone is skipped).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The first bytes of every segment.
pub(crate) const MAGIC: &[u8; 8] = b"TOSPOOL\x01";
/// Bytes before a record's payload.
pub(crate) const HEADER: usize = 25;
/// Largest payload accepted when reading (a bigger length is a damaged header).
const MAX_PAYLOAD: u32 = 256 * 1024 * 1024;
/// Record flag: the batch holds a span with status ERROR.
pub(crate) const FLAG_PRIORITY: u8 = 1;

/// What a segment holds; replay sends `Normal` and `Priority`, never `Rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// Batches the collector refused for good (kept for inspection, not replayed).
    Rejected,
    /// Ordinary batches.
    Normal,
    /// Batches with an error span: evicted last.
    Priority,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Self::Rejected => 'r',
            Self::Normal => 'n',
            Self::Priority => 'e',
        }
    }
}

/// A segment's identity, parsed from its file name `SEQ-YYYYMMDDTHH-K.seg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentName {
    pub(crate) seq: u64,
    pub(crate) hour: String,
    pub(crate) kind: Kind,
}

impl SegmentName {
    pub(crate) fn new(seq: u64, now: SystemTime, kind: Kind) -> Self {
        Self {
            seq,
            hour: utc_hour(now),
            kind,
        }
    }

    pub(crate) fn file_name(&self) -> String {
        format!("{:010}-{}-{}.seg", self.seq, self.hour, self.kind.letter())
    }

    pub(crate) fn parse(file_name: &str) -> Option<Self> {
        let stem = file_name.strip_suffix(".seg")?;
        let mut parts = stem.splitn(3, '-');
        let seq = parts.next()?.parse().ok()?;
        let hour = parts.next()?.to_owned();
        let kind = match parts.next()? {
            "r" => Kind::Rejected,
            "n" => Kind::Normal,
            "e" => Kind::Priority,
            _ => return None,
        };
        Some(Self { seq, hour, kind })
    }

    pub(crate) fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.file_name())
    }
}

/// `YYYYMMDDTHH` in UTC: segments are partitioned by the hour they were started in.
pub(crate) fn utc_hour(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}{m:02}{d:02}T{:02}", (secs % 86_400) / 3600)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC) for milliseconds since the Unix epoch, as the
/// `tracing-observer` tool prints spool times.
///
/// ```
/// assert_eq!(tracing_observer::spool::format_unix_ms(0), "1970-01-01T00:00:00.000Z");
/// assert_eq!(
///     tracing_observer::spool::format_unix_ms(1_795_446_854_966),
///     "2026-11-23T15:14:14.966Z"
/// );
/// ```
pub fn format_unix_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Frames one record.
pub(crate) fn encode(payload: &[u8], spans: u32, flags: u8, written_ms: u64) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(flags);
    out.extend_from_slice(&spans.to_le_bytes());
    out.extend_from_slice(&written_ms.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out[12..]);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// One record read back.
#[derive(Debug)]
pub(crate) struct Record {
    /// Offset just past it.
    pub(crate) end: u64,
    pub(crate) flags: u8,
    pub(crate) spans: u32,
    pub(crate) written_ms: u64,
    pub(crate) payload: Vec<u8>,
}

/// What the next bytes of a segment turned out to be.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A valid record.
    Record(Record),
    /// A record whose CRC does not match: skipped, reading goes on at `end`.
    Corrupt { end: u64 },
    /// A header that cannot be trusted, or a record cut short (a torn write):
    /// nothing from `offset` on can be read.
    Broken { offset: u64 },
    /// The end of the segment.
    End,
}

/// Reads a segment's records in order.
#[derive(Debug)]
pub(crate) struct Reader {
    file: BufReader<File>,
    offset: u64,
    len: u64,
}

impl Reader {
    /// Opens a segment and checks its magic; starts at `offset` (0: the first record).
    pub(crate) fn open(path: &Path, offset: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut magic = [0u8; 8];
        file.read_exact(&mut magic)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "segment header missing"))?;
        if &magic != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a tracing-observer spool segment (bad magic)",
            ));
        }
        let offset = offset.max(MAGIC.len() as u64);
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            file: BufReader::with_capacity(256 * 1024, file),
            offset,
            len,
        })
    }

    /// The next frame.
    pub(crate) fn next_frame(&mut self) -> io::Result<Frame> {
        let offset = self.offset;
        let left = self.len.saturating_sub(offset);
        if left == 0 {
            return Ok(Frame::End);
        }
        if left < HEADER as u64 {
            return Ok(Frame::Broken { offset });
        }
        let mut header = [0u8; HEADER];
        self.file.read_exact(&mut header)?;
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let len = word(0);
        if len != !word(4) || len > MAX_PAYLOAD {
            return Ok(Frame::Broken { offset });
        }
        let end = offset + HEADER as u64 + u64::from(len);
        if end > self.len {
            return Ok(Frame::Broken { offset });
        }
        let mut payload = vec![0u8; len as usize];
        self.file.read_exact(&mut payload)?;
        self.offset = end;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header[12..]), &payload);
        if crc != word(8) {
            return Ok(Frame::Corrupt { end });
        }
        let mut written = [0u8; 8];
        written.copy_from_slice(&header[17..25]);
        Ok(Frame::Record(Record {
            end,
            flags: header[12],
            spans: u32::from_le_bytes([header[13], header[14], header[15], header[16]]),
            written_ms: u64::from_le_bytes(written),
            payload,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn names_round_trip_and_sort_by_sequence() {
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_760_536_800); // 2025-10-15T14:00Z
        let name = SegmentName::new(42, at, Kind::Priority);
        assert_eq!(name.file_name(), "0000000042-20251015T14-e.seg");
        assert_eq!(SegmentName::parse(&name.file_name()), Some(name));
        assert_eq!(SegmentName::parse("LOCK"), None);
        assert_eq!(utc_hour(UNIX_EPOCH), "19700101T00");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_hour(leap), "20000229T00");
    }

    #[test]
    fn frames_are_read_back_and_damage_is_told_apart() {
        let dir = std::env::temp_dir().join(format!("spool-seg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.seg");
        let mut bytes = MAGIC.to_vec();
        let first = encode(b"hello", 3, FLAG_PRIORITY, 7);
        bytes.extend_from_slice(&first);
        let mut second = encode(b"world", 1, 0, 8);
        let last = second.len() - 1;
        second[last] ^= 0xff;
        bytes.extend_from_slice(&second);
        bytes.extend_from_slice(&encode(b"third", 1, 0, 9));
        let torn = encode(b"cut short", 1, 0, 10);
        bytes.extend_from_slice(&torn[..torn.len() - 3]);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let mut reader = Reader::open(&path, 0).unwrap();
        match reader.next_frame().unwrap() {
            Frame::Record(r) => {
                assert_eq!(
                    (r.payload.as_slice(), r.spans, r.flags),
                    (&b"hello"[..], 3, 1)
                );
                assert_eq!(r.written_ms, 7);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            reader.next_frame().unwrap(),
            Frame::Corrupt { .. }
        ));
        assert!(matches!(reader.next_frame().unwrap(), Frame::Record(r) if r.payload == b"third"));
        let offset = (bytes.len() - (torn.len() - 3)) as u64;
        assert!(matches!(
            reader.next_frame().unwrap(),
            Frame::Broken { offset: o } if o == offset
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
