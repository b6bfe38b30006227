//! The disk spool: batches that could not be delivered, kept on disk until replayed.
//!
//! A spool directory holds segment files (one per hour, per kind),
//! a `LOCK` file (one process per spool) and a `REPLAY` ledger (`SEQ OFFSET`: where
//! replay resumes). Records are encoded `ExportTraceServiceRequest`s framed with
//! length and CRC32C. Writes go straight to the file; `fsync` runs on an interval
//! and at shutdown, for the segments and the replay ledger; a new segment's directory
//! entry is made durable at once (on the worker, not the host's threads). At open, every segment
//! is validated, a torn tail is cut, and what was lost is counted; then retention
//! and the byte budget are applied.
//!
//! Bounds: `max_bytes` (oldest segments go first: rejected, then ordinary, then
//! those with error spans) and `retention` (segments whose newest record is older
//! are deleted, or moved to the archive directory, optionally gzipped). I/O errors
//! (disk full, permission denied, read-only file system) are counted by kind, never
//! raised.
//!
//! The public functions here serve the `tracing-observer` command-line tool:
//! [`summary`], [`read`] and [`replay`].
//!
//! ```no_run
//! use tracing_observer::spool;
//! let summary = spool::summary("/var/lib/checkout/spool".as_ref())?;
//! println!("{} batches ({} spans) wait for replay", summary.batches, summary.spans);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod inspect;
mod ledger;
mod lock;
mod private;
mod recovery;
pub(crate) mod segment;

pub use inspect::{read, replay, summary, ReplaySummary, SpoolSummary, SpooledBatch};
pub use segment::format_unix_ms;

use lock::DirLock;
use segment::{encode, Frame, Kind, Reader, SegmentName, FLAG_PRIORITY, MAGIC};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bytes the spool may hold (`OBSERVER_SPOOL_MAX_BYTES`): 1 GiB.
///
/// ```
/// use tracing_observer::spool::DEFAULT_MAX_BYTES;
/// assert_eq!(DEFAULT_MAX_BYTES, 1 << 30);
/// let builder = tracing_observer::Observer::builder().spool_max_bytes(DEFAULT_MAX_BYTES / 4);
/// ```
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// How long spooled batches are kept (`OBSERVER_SPOOL_RETENTION`): 6 h.
///
/// ```
/// use tracing_observer::spool::DEFAULT_RETENTION;
/// assert_eq!(DEFAULT_RETENTION, std::time::Duration::from_secs(6 * 3600));
/// let builder = tracing_observer::Observer::builder().spool_retention(DEFAULT_RETENTION * 4);
/// ```
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(6 * 3600);
/// How often expired and over-budget segments are cleaned up.
///
/// ```
/// use tracing_observer::spool::DEFAULT_CLEANUP_INTERVAL;
/// assert_eq!(DEFAULT_CLEANUP_INTERVAL, std::time::Duration::from_secs(60));
/// let builder = tracing_observer::Observer::builder().spool_cleanup_interval(DEFAULT_CLEANUP_INTERVAL / 6);
/// ```
pub const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(60);
/// How often written segments are `fsync`ed.
///
/// ```
/// use tracing_observer::spool::DEFAULT_SYNC_INTERVAL;
/// assert_eq!(DEFAULT_SYNC_INTERVAL, std::time::Duration::from_secs(1));
/// let builder = tracing_observer::Observer::builder().spool_sync_interval(DEFAULT_SYNC_INTERVAL * 5);
/// ```
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Largest segment before a new one is started (within its hour).
const MAX_SEGMENT_BYTES: u64 = 64 << 20;

/// Spool settings, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SpoolConfig {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) retention: Duration,
    pub(crate) archive_dir: Option<PathBuf>,
    /// Whether archived segments are gzipped.
    pub(crate) archive_compress: bool,
    pub(crate) cleanup_interval: Duration,
    pub(crate) sync_interval: Duration,
}

/// Why a batch was not spooled.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// No room within `max_bytes`, even after evicting what may be evicted.
    Full,
    /// The write failed (counted under its kind's name in the spool's errors).
    Io,
}

/// The spool's counters, shared with [`Stats`](crate::stats::Stats) snapshots.
#[derive(Debug, Default)]
pub(crate) struct SpoolCounters {
    pub(crate) enabled: AtomicBool,
    pub(crate) dir: Mutex<Option<PathBuf>>,
    pub(crate) bytes: AtomicU64,
    pub(crate) max_bytes: AtomicU64,
    pub(crate) segments: AtomicU64,
    pub(crate) pending_batches: AtomicU64,
    pub(crate) pending_spans: AtomicU64,
    pub(crate) recovered_batches: AtomicU64,
    pub(crate) corrupt_records: AtomicU64,
    pub(crate) truncated_bytes: AtomicU64,
    pub(crate) evicted_spans: AtomicU64,
    pub(crate) expired_spans: AtomicU64,
    /// Replayed spans the collector rejected (partial success).
    pub(crate) replay_rejected: AtomicU64,
    pub(crate) archived_segments: AtomicU64,
    /// Unreadable segments renamed to `*.seg.bad`, and their bytes.
    pub(crate) set_aside_segments: AtomicU64,
    pub(crate) set_aside_bytes: AtomicU64,
    pub(crate) syncs: AtomicU64,
    pub(crate) errors: Mutex<BTreeMap<&'static str, u64>>,
    pub(crate) last_error: Mutex<Option<String>>,
    /// The last append failed to write; cleared by the next that succeeds.
    pub(crate) writes_failing: AtomicBool,
    /// The mode of a spool directory found open to others (group or world), at open.
    pub(crate) dir_open_to_others: Mutex<Option<u32>>,
}

impl SpoolCounters {
    /// Counts an I/O error by kind and keeps its message.
    pub(crate) fn error(&self, what: &str, error: &io::Error) {
        let kind = error_kind(error);
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(kind).or_default() += 1;
        }
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(format!("{what}: {error}"));
        }
    }
}

/// `disk_full`, `permission`, `read_only`, `locked`, `corrupt` or `other`.
pub(crate) fn error_kind(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => "disk_full",
        io::ErrorKind::PermissionDenied => "permission",
        io::ErrorKind::ReadOnlyFilesystem => "read_only",
        io::ErrorKind::WouldBlock => "locked",
        io::ErrorKind::InvalidData => "corrupt",
        _ => "other",
    }
}

/// A spooled batch handed out for replay; [`Spool::ack`] it once delivered.
#[derive(Debug)]
pub(crate) struct Replay {
    pub(crate) seq: u64,
    pub(crate) end: u64,
    pub(crate) spans: u32,
    pub(crate) payload: Vec<u8>,
}

/// A step of replay the cursor moves past once everything before it is acknowledged.
#[derive(Debug)]
enum Handed {
    /// A batch handed out; `acked` once delivered.
    Batch {
        seq: u64,
        end: u64,
        spans: u32,
        acked: bool,
    },
    /// The reader finished a segment: it can go once its batches are acknowledged.
    SegmentEnd(u64),
}

#[derive(Debug)]
struct Segment {
    name: SegmentName,
    bytes: u64,
    /// Records not replayed yet, and their spans.
    records: u64,
    spans: u64,
    /// When its newest record was written (retention counts from it).
    modified: SystemTime,
    /// Bytes validated at open: damage before this offset was counted then.
    checked: u64,
}

#[derive(Debug)]
struct Writer {
    seq: u64,
    file: File,
    dirty: bool,
}

/// An open, locked spool directory. Lives on the worker thread (or in the CLI).
#[derive(Debug)]
pub(crate) struct Spool {
    config: SpoolConfig,
    _lock: DirLock,
    segments: BTreeMap<u64, Segment>,
    writers: BTreeMap<Kind, Writer>,
    next_seq: u64,
    /// Where replay resumes after a restart: segment sequence and offset, past every
    /// batch acknowledged in order (the ledger's).
    cursor: (u64, u64),
    /// Where replay reads next: ahead of `cursor` while batches are in flight.
    read: (u64, u64),
    reader: Option<(u64, Reader)>,
    /// What replay handed out and the cursor has not passed yet, in reading order.
    in_flight: VecDeque<Handed>,
    /// The ledger was updated since it was last made durable.
    ledger_unsynced: bool,
    counters: std::sync::Arc<SpoolCounters>,
}

/// The file that marks a spool of log batches (the logs pipeline's `<spool_dir>/logs`):
/// its payloads are `ExportLogsServiceRequest`s, which the spool tool does not read.
pub(crate) const LOGS_MARKER: &str = "logs-spool";

/// Whether the spool at `dir` holds log batches.
pub(crate) fn holds_logs(dir: &Path) -> bool {
    dir.join(LOGS_MARKER).is_file()
}

// === impl Spool ===

impl Spool {
    /// Opens (creating it if needed) and locks `config.dir`, then recovers its segments.
    ///
    /// # Errors
    /// The directory cannot be created or read, or another process holds the lock.
    pub(crate) fn open(
        config: SpoolConfig,
        counters: std::sync::Arc<SpoolCounters>,
    ) -> io::Result<Self> {
        let open_mode = private::create_dir(&config.dir)?;
        if let (Some(mode), Ok(mut slot)) = (open_mode, counters.dir_open_to_others.lock()) {
            *slot = Some(mode);
        }
        let lock = DirLock::acquire(&config.dir)?;
        let cursor = ledger::read(&config.dir);
        let mut spool = Self {
            config,
            _lock: lock,
            segments: BTreeMap::new(),
            writers: BTreeMap::new(),
            next_seq: 1,
            cursor,
            read: cursor,
            ledger_unsynced: false,
            reader: None,
            in_flight: VecDeque::new(),
            counters,
        };
        spool.recover()?;
        // What is past retention, or over a budget lowered since, is not replayed.
        spool.cleanup(SystemTime::now());
        spool.counters.enabled.store(true, Relaxed);
        let max_bytes = spool.config.max_bytes;
        spool.counters.max_bytes.store(max_bytes, Relaxed);
        if let Ok(mut dir) = spool.counters.dir.lock() {
            *dir = Some(spool.config.dir.clone());
        }
        spool.publish();
        Ok(spool)
    }

    fn recover(&mut self) -> io::Result<()> {
        for entry in std::fs::read_dir(&self.config.dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().and_then(SegmentName::parse) else {
                continue;
            };
            let path = name.path(&self.config.dir);
            self.next_seq = self.next_seq.max(name.seq.saturating_add(1));
            if name.kind != Kind::Rejected && name.seq < self.cursor.0 {
                // Replay moves the cursor past a segment only once every batch in it
                // was acknowledged, then deletes it: this one was delivered and its
                // deletion failed (or the process died before it). Not replayed again.
                remove(&path, &self.counters);
                continue;
            }
            let scan = match recovery::scan(&path) {
                Ok(scan) => scan,
                Err(e) => {
                    self.counters.error("recovering a segment", &e);
                    set_aside(&path, &self.counters);
                    continue;
                }
            };
            let c = &self.counters;
            c.corrupt_records.fetch_add(scan.corrupt_records, Relaxed);
            c.truncated_bytes.fetch_add(scan.truncated_bytes, Relaxed);
            c.recovered_batches.fetch_add(scan.records, Relaxed);
            let (mut records, mut spans) = (scan.records, scan.spans);
            if name.seq == self.cursor.0 && self.cursor.1 > 0 {
                let (done_records, done_spans) = count_before(&path, self.cursor.1);
                records = records.saturating_sub(done_records);
                spans = spans.saturating_sub(done_spans);
            }
            // Retention counts from the newest record's write time, as for segments
            // written since (the file's time changes when recovery cuts a torn tail).
            let newest = scan
                .newest_ms
                .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)));
            let modified = match newest {
                Some(newest) => newest,
                None => entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or_else(|_| SystemTime::now()),
            };
            self.segments.insert(
                name.seq,
                Segment {
                    name,
                    bytes: scan.bytes,
                    records,
                    spans,
                    modified,
                    checked: scan.bytes,
                },
            );
        }
        // New segments are numbered after the cursor, also when the spool was drained
        // (no segment left): replay only looks from the cursor on, and a segment reusing
        // the cursor's number would be read from the old offset.
        self.next_seq = self.next_seq.max(self.cursor.0.saturating_add(1));
        Ok(())
    }

    /// Marks the spool as one of log batches (see [`holds_logs`]).
    pub(crate) fn mark_as_logs(&self) {
        let path = self.config.dir.join(LOGS_MARKER);
        if path.is_file() {
            return;
        }
        let written = private::file_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .and_then(|mut file| {
                use std::io::Write;
                file.write_all(b"OTLP log batches: the observer replays them at its next start\n")
            });
        if let Err(e) = written {
            self.counters.error("marking the logs spool", &e);
        }
    }

    /// Whether there are batches to replay that are not in flight.
    pub(crate) fn has_replayable(&self) -> bool {
        self.segments.iter().any(|(&seq, s)| {
            let in_flight = (self.in_flight.iter())
                .filter(|h| matches!(h, Handed::Batch { seq: of, .. } if *of == seq))
                .count();
            s.name.kind != Kind::Rejected && s.records > in_flight as u64
        })
    }

    /// Appends one encoded batch.
    ///
    /// # Errors
    /// [`AppendError::Full`] when it does not fit, [`AppendError::Io`] when writing failed
    /// (both already counted).
    pub(crate) fn append(
        &mut self,
        payload: &[u8],
        spans: u32,
        kind: Kind,
        now: SystemTime,
    ) -> Result<(), AppendError> {
        let flags = if kind == Kind::Priority {
            FLAG_PRIORITY
        } else {
            0
        };
        let frame = encode(payload, spans, flags, segment::unix_ms(now));
        let size = frame.len() as u64;
        if !self.make_room(size, kind) {
            return Err(AppendError::Full);
        }
        let result = self.write(&frame, kind, now);
        if let Err(e) = &result {
            self.counters.error("writing to the spool", e);
        }
        self.counters.writes_failing.store(result.is_err(), Relaxed);
        let seq = result.map_err(|_| AppendError::Io)?;
        if let Some(segment) = self.segments.get_mut(&seq) {
            segment.bytes += size;
            segment.records += 1;
            segment.spans += u64::from(spans);
            segment.modified = now;
        }
        self.publish();
        Ok(())
    }

    fn write(&mut self, frame: &[u8], kind: Kind, now: SystemTime) -> io::Result<u64> {
        let hour = segment::utc_hour(now);
        let rotate = match self.writers.get(&kind) {
            None => true,
            Some(w) => self.segments.get(&w.seq).is_none_or(|s| {
                s.name.hour != hour || s.bytes + frame.len() as u64 > MAX_SEGMENT_BYTES
            }),
        };
        if rotate {
            self.seal(kind);
            let name = SegmentName::new(self.next_seq, now, kind);
            let path = name.path(&self.config.dir);
            let mut file = private::file_options()
                .create_new(true)
                .append(true)
                .open(&path)?;
            if let Err(e) = file.write_all(MAGIC) {
                drop(file);
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
            // Its data is synced on the interval; its directory entry must be durable too.
            if let Err(e) = sync_dir(&self.config.dir) {
                self.counters.error("syncing the spool directory", &e);
            }
            self.next_seq = self.next_seq.saturating_add(1);
            self.writers.insert(
                kind,
                Writer {
                    seq: name.seq,
                    file,
                    dirty: true,
                },
            );
            self.segments.insert(
                name.seq,
                Segment {
                    name,
                    bytes: MAGIC.len() as u64,
                    records: 0,
                    spans: 0,
                    modified: now,
                    checked: 0,
                },
            );
        }
        let Some(writer) = self.writers.get_mut(&kind) else {
            return Err(io::Error::other("no spool segment open"));
        };
        let before = self.segments.get(&writer.seq).map_or(0, |s| s.bytes);
        if let Err(e) = writer.file.write_all(frame) {
            // Leave no partial record behind; if even that fails, recovery cuts it.
            let _ = writer.file.set_len(before);
            return Err(e);
        }
        writer.dirty = true;
        Ok(writer.seq)
    }

    /// Evicts oldest segments of `kind`'s rank or lower until `size` more bytes fit.
    fn make_room(&mut self, size: u64, kind: Kind) -> bool {
        while self.total_bytes() + size > self.config.max_bytes {
            let victim = self
                .segments
                .values()
                .filter(|s| s.name.kind <= kind)
                .min_by_key(|s| (s.name.kind, s.name.seq))
                .map(|s| s.name.seq);
            match victim {
                Some(seq) => self.evict(seq, false),
                None => return false,
            }
        }
        true
    }

    fn total_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.bytes).sum()
    }

    /// Closes the open segment of `kind` (it stays for replay).
    fn seal(&mut self, kind: Kind) {
        if let Some(mut writer) = self.writers.remove(&kind) {
            self.sync_writer(&mut writer);
        }
    }

    fn sync_writer(&self, writer: &mut Writer) {
        if writer.dirty {
            match writer.file.sync_data() {
                Ok(()) => {
                    writer.dirty = false;
                    self.counters.syncs.fetch_add(1, Relaxed);
                }
                Err(e) => self.counters.error("syncing the spool", &e),
            }
        }
    }

    /// `fsync`s what was written since the last sync, and the replay ledger.
    pub(crate) fn sync(&mut self) {
        let mut writers = std::mem::take(&mut self.writers);
        for writer in writers.values_mut() {
            self.sync_writer(writer);
        }
        self.writers = writers;
        if self.ledger_unsynced {
            match ledger::write(&self.config.dir, self.cursor, true) {
                Ok(()) => self.ledger_unsynced = false,
                Err(e) => self.counters.error("writing the replay ledger", &e),
            }
        }
    }

    /// Deletes (or archives) segments older than the retention.
    pub(crate) fn cleanup(&mut self, now: SystemTime) {
        let expired: Vec<u64> = self
            .segments
            .values()
            .filter(|s| {
                now.duration_since(s.modified)
                    .is_ok_and(|age| age > self.config.retention)
            })
            .map(|s| s.name.seq)
            .collect();
        for seq in expired {
            self.evict(seq, true);
        }
        if self.total_bytes() > self.config.max_bytes {
            self.make_room(0, Kind::Priority);
        }
        self.publish();
    }

    fn evict(&mut self, seq: u64, expired: bool) {
        let Some(segment) = self.segments.remove(&seq) else {
            return;
        };
        self.writers.retain(|_, w| w.seq != seq);
        if self.reader.as_ref().is_some_and(|(s, _)| *s == seq) {
            self.reader = None;
        }
        let counter = if expired {
            &self.counters.expired_spans
        } else {
            &self.counters.evicted_spans
        };
        counter.fetch_add(segment.spans, Relaxed);
        let path = segment.name.path(&self.config.dir);
        match &self.config.archive_dir {
            Some(dir) => match archive::archive(&path, dir, self.config.archive_compress) {
                Ok(()) => {
                    self.counters.archived_segments.fetch_add(1, Relaxed);
                }
                Err(e) => {
                    self.counters.error("archiving a segment", &e);
                    remove(&path, &self.counters);
                }
            },
            None => remove(&path, &self.counters),
        }
    }

    /// The oldest batch not handed out yet; seals the segment it is in. Several may be
    /// in flight at once: [`ack`](Self::ack) each once delivered (in any order), or
    /// [`rewind`](Self::rewind) to hand out again everything not acknowledged in order.
    pub(crate) fn next_replay(&mut self) -> Option<Replay> {
        loop {
            let seq = *self
                .segments
                .range(self.read.0..)
                .find(|(_, s)| s.name.kind != Kind::Rejected)?
                .0;
            if self.read.0 != seq {
                self.read = (seq, 0);
            }
            if let Some(kind) = self.segments.get(&seq).map(|s| s.name.kind) {
                if self.writers.get(&kind).is_some_and(|w| w.seq == seq) {
                    self.seal(kind);
                }
            }
            if self.reader.as_ref().is_none_or(|(s, _)| *s != seq) {
                let path = self.segments.get(&seq)?.name.path(&self.config.dir);
                match Reader::open(&path, self.read.1) {
                    Ok(reader) => self.reader = Some((seq, reader)),
                    Err(e) => {
                        self.counters.error("reading a segment", &e);
                        self.finished_reading(seq);
                        continue;
                    }
                }
            }
            let (_, reader) = self.reader.as_mut()?;
            match reader.next_frame() {
                Ok(Frame::Record(record)) => {
                    self.read = (seq, record.end);
                    self.in_flight.push_back(Handed::Batch {
                        seq,
                        end: record.end,
                        spans: record.spans,
                        acked: false,
                    });
                    return Some(Replay {
                        seq,
                        end: record.end,
                        spans: record.spans,
                        payload: record.payload,
                    });
                }
                Ok(Frame::Corrupt { end, .. }) => {
                    let counted = self.segments.get(&seq).is_some_and(|s| end <= s.checked);
                    if !counted {
                        self.counters.corrupt_records.fetch_add(1, Relaxed);
                    }
                    self.read.1 = end;
                }
                Ok(Frame::Broken { offset, .. }) => {
                    let len = self.segments.get(&seq).map_or(offset, |s| s.bytes);
                    self.counters
                        .truncated_bytes
                        .fetch_add(len.saturating_sub(offset), Relaxed);
                    self.finished_reading(seq);
                }
                Ok(Frame::End) => self.finished_reading(seq),
                Err(e) => {
                    self.counters.error("reading a segment", &e);
                    self.finished_reading(seq);
                }
            }
        }
    }

    /// The reader is done with a segment: reading goes on with the next; the segment is
    /// deleted once the batches handed out before are acknowledged.
    fn finished_reading(&mut self, seq: u64) {
        self.reader = None;
        self.read = (seq.saturating_add(1), 0);
        self.in_flight.push_back(Handed::SegmentEnd(seq));
        self.settle();
    }

    /// Deletes a segment replay is done with (what it still counts could not be read:
    /// lost) and moves the cursor past it.
    fn drop_segment(&mut self, seq: u64) {
        if self.reader.as_ref().is_some_and(|(s, _)| *s == seq) {
            self.reader = None;
        }
        if let Some(segment) = self.segments.remove(&seq) {
            self.counters
                .evicted_spans
                .fetch_add(segment.spans, Relaxed);
            remove(&segment.name.path(&self.config.dir), &self.counters);
        }
        let past = (seq.saturating_add(1), 0);
        self.cursor = self.cursor.max(past);
        self.read = self.read.max(past);
    }

    /// Forgets the batches handed out but not acknowledged in order: replay sends them
    /// again, from the cursor (at least once: one delivered out of order goes twice).
    pub(crate) fn rewind(&mut self) {
        self.reader = None;
        self.read = self.cursor;
        self.in_flight.clear();
    }

    /// Marks a replayed batch delivered; the cursor moves past every batch delivered
    /// in order, and replay will not send those again. An acknowledgement of a batch
    /// no longer in flight (handed out before a rewind) counts for nothing: returns
    /// whether this one counted.
    pub(crate) fn ack(&mut self, replay: &Replay) -> bool {
        let handed = self.in_flight.iter_mut().find_map(|h| match h {
            Handed::Batch {
                seq, end, acked, ..
            } if *seq == replay.seq && *end == replay.end && !*acked => Some(acked),
            _ => None,
        });
        let Some(acked) = handed else {
            return false;
        };
        *acked = true;
        self.settle();
        true
    }

    /// Moves the cursor past the acknowledged front of what is in flight: each batch
    /// leaves its segment's count, a finished segment (or a sealed one with nothing
    /// left, the reader still in it) is deleted.
    fn settle(&mut self) {
        let mut moved = false;
        while let Some(front) = self.in_flight.front() {
            match *front {
                Handed::Batch { acked: false, .. } => break,
                Handed::Batch {
                    seq, end, spans, ..
                } => {
                    self.in_flight.pop_front();
                    moved = true;
                    self.cursor = self.cursor.max((seq, end));
                    let Some(segment) = self.segments.get_mut(&seq) else {
                        continue;
                    };
                    segment.records = segment.records.saturating_sub(1);
                    segment.spans = segment.spans.saturating_sub(u64::from(spans));
                    let done = segment.records == 0
                        && self.read.0 == seq
                        && !self.writers.values().any(|w| w.seq == seq);
                    if done {
                        // Sealed with nothing left: it can go before its end is read.
                        self.drop_segment(seq);
                    }
                }
                Handed::SegmentEnd(seq) => {
                    self.in_flight.pop_front();
                    moved = true;
                    self.drop_segment(seq);
                }
            }
        }
        if moved {
            self.write_ledger();
            self.publish();
        }
    }

    /// Records the cursor; `sync` makes it durable.
    fn write_ledger(&mut self) {
        match ledger::write(&self.config.dir, self.cursor, false) {
            Ok(()) => self.ledger_unsynced = true,
            Err(e) => self.counters.error("writing the replay ledger", &e),
        }
    }

    fn publish(&self) {
        let c = &self.counters;
        c.bytes.store(self.total_bytes(), Relaxed);
        c.segments.store(self.segments.len() as u64, Relaxed);
        let live = self
            .segments
            .values()
            .filter(|s| s.name.kind != Kind::Rejected);
        let (batches, spans) = live.fold((0, 0), |(b, n), s| (b + s.records, n + s.spans));
        c.pending_batches.store(batches, Relaxed);
        c.pending_spans.store(spans, Relaxed);
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.sync();
    }
}

/// Records and spans before `offset` (already replayed).
fn count_before(path: &Path, offset: u64) -> (u64, u64) {
    let Ok(mut reader) = Reader::open(path, 0) else {
        return (0, 0);
    };
    let (mut records, mut spans) = (0, 0);
    while let Ok(Frame::Record(r)) = reader.next_frame() {
        if r.end > offset {
            break;
        }
        records += 1;
        spans += u64::from(r.spans);
    }
    (records, spans)
}

fn remove(path: &Path, counters: &SpoolCounters) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            counters.error("deleting a segment", &e);
        }
    }
}

/// `fsync`s a directory, so that the entries created or renamed in it survive a power
/// loss. Unix only: elsewhere a directory cannot be opened to be synced, and the file
/// system's own ordering is all there is.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Renames an unreadable segment to `*.seg.bad`, out of the spool's way, and counts it.
fn set_aside(path: &Path, counters: &SpoolCounters) {
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut bad = path.as_os_str().to_owned();
    bad.push(".bad");
    if let Err(e) = std::fs::rename(path, PathBuf::from(bad)) {
        counters.error("setting a bad segment aside", &e);
    }
    counters.set_aside_segments.fetch_add(1, Relaxed);
    counters.set_aside_bytes.fetch_add(len, Relaxed);
}

#[cfg(test)]
mod tests;
