//! Start-up recovery: validate every record, cut a torn or unframeable tail, count losses.

use super::segment::{Frame, Reader, FLAG_PRIORITY, MAGIC};
use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// What a scan found in one segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Bytes the segment holds after the scan.
    pub(crate) bytes: u64,
    /// Valid records.
    pub(crate) records: u64,
    /// Spans in valid records.
    pub(crate) spans: u64,
    /// Valid records flagged as holding an error span.
    pub(crate) priority_records: u64,
    /// Records whose CRC did not match (skipped).
    pub(crate) corrupt_records: u64,
    /// Bytes after the last frameable record (cut).
    pub(crate) truncated_bytes: u64,
    /// Write time of the oldest and newest valid record (Unix ms).
    pub(crate) oldest_ms: Option<u64>,
    /// See `oldest_ms`.
    pub(crate) newest_ms: Option<u64>,
}

/// Scans a segment and truncates it after its last frameable record.
///
/// A segment whose magic is wrong is an `InvalidData` error (the caller sets it aside).
pub(crate) fn scan(path: &Path) -> io::Result<Scan> {
    let mut reader = Reader::open(path, 0)?;
    let mut scan = Scan::default();
    let mut good_end = MAGIC.len() as u64;
    loop {
        match reader.next_frame()? {
            Frame::Record(record) => {
                scan.records += 1;
                scan.spans += u64::from(record.spans);
                if record.flags & FLAG_PRIORITY != 0 {
                    scan.priority_records += 1;
                }
                scan.oldest_ms = Some(
                    scan.oldest_ms
                        .map_or(record.written_ms, |o| o.min(record.written_ms)),
                );
                scan.newest_ms = Some(
                    scan.newest_ms
                        .map_or(record.written_ms, |n| n.max(record.written_ms)),
                );
                good_end = record.end;
            }
            Frame::Corrupt { end, .. } => {
                scan.corrupt_records += 1;
                good_end = end;
            }
            Frame::Broken { offset, .. } => {
                let len = std::fs::metadata(path)?.len();
                scan.truncated_bytes = len - offset;
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(offset)?;
                file.sync_all()?;
                good_end = offset;
                break;
            }
            Frame::End => break,
        }
    }
    scan.bytes = good_end;
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::super::segment::encode;
    use super::*;
    use std::io::Write;

    #[test]
    fn torn_tail_is_cut_and_corrupt_records_counted() {
        let dir = std::env::temp_dir().join(format!("spool-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.seg");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&encode(b"one", 2, FLAG_PRIORITY, 5));
        let mut bad = encode(b"two", 1, 0, 6);
        bad[26] ^= 1;
        bytes.extend_from_slice(&bad);
        let good_len = bytes.len() + encode(b"three", 4, 0, 7).len();
        bytes.extend_from_slice(&encode(b"three", 4, 0, 7));
        bytes.extend_from_slice(&encode(b"four", 1, 0, 8)[..10]);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let scan = scan(&path).unwrap();
        assert_eq!(scan.records, 2);
        assert_eq!(scan.spans, 6);
        assert_eq!(scan.priority_records, 1);
        assert_eq!(scan.corrupt_records, 1);
        assert_eq!(scan.truncated_bytes, 10);
        assert_eq!((scan.oldest_ms, scan.newest_ms), (Some(5), Some(7)));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len as u64);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
