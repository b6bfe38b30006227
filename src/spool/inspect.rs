//! Reading a spool from outside the observer: what the command-line tool uses.

use super::segment::{Frame, Kind, Reader, SegmentName, FLAG_PRIORITY};
use super::{Spool, SpoolConfig, SpoolCounters};
use crate::export::Protocol;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a spool directory holds.
///
/// ```
/// use tracing_observer::spool::{summary, SpoolSummary};
/// let dir = std::env::temp_dir().join("tracing-observer-doc-spool-summary");
/// std::fs::create_dir_all(&dir)?;
/// assert_eq!(summary(&dir)?, SpoolSummary::default());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SpoolSummary {
    /// Segment files.
    pub segments: u64,
    /// Bytes in segment files.
    pub bytes: u64,
    /// Valid batches (records).
    pub batches: u64,
    /// Spans in valid batches.
    pub spans: u64,
    /// Batches holding an error span.
    pub error_batches: u64,
    /// Batches the collector refused for good (kept, never replayed).
    pub rejected_batches: u64,
    /// Records whose checksum or encoding is wrong (skipped).
    pub corrupt_records: u64,
    /// Bytes that cannot be framed (a torn or damaged tail), or unreadable segments' bytes.
    pub lost_bytes: u64,
    /// Segments that could not be read at all (a damaged header), skipped: `NAME: why`.
    pub unreadable_segments: Vec<String>,
    /// Write time of the oldest batch, Unix milliseconds.
    pub oldest_ms: Option<u64>,
    /// Write time of the newest batch, Unix milliseconds.
    pub newest_ms: Option<u64>,
}

/// One batch read from a spool.
///
/// ```
/// use tracing_observer::spool::{read, SpooledBatch};
/// let dir = std::env::temp_dir().join("tracing-observer-doc-spooled-batch");
/// std::fs::create_dir_all(&dir)?;
/// let mut spans = 0;
/// read(&dir, |batch: SpooledBatch| spans += batch.request.resource_spans.len())?;
/// assert_eq!(spans, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SpooledBatch {
    /// The segment file it is in.
    pub segment: String,
    /// When it was spooled.
    pub written: SystemTime,
    /// Whether it holds an error span.
    pub priority: bool,
    /// Whether the collector refused it for good.
    pub rejected: bool,
    /// The batch.
    pub request: ExportTraceServiceRequest,
}

/// What [`replay`] sent.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{spool::{replay, ReplaySummary}, config::Protocol};
/// let dir = std::env::temp_dir().join("tracing-observer-doc-replay-summary");
/// std::fs::create_dir_all(&dir)?;
/// let sent = replay(&dir, "http://127.0.0.1:4318", Protocol::HttpProtobuf, Duration::from_secs(1))?;
/// assert_eq!(sent, ReplaySummary::default(), "nothing to send");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ReplaySummary {
    /// Batches the collector acknowledged (and that were deleted from the spool).
    pub batches: u64,
    /// Spans in them the collector kept.
    pub spans: u64,
    /// Spans in them the collector rejected (OTLP partial success).
    pub rejected_spans: u64,
    /// Batches left in the spool.
    pub remaining_batches: u64,
    /// Records skipped because their checksum or encoding was wrong: lost.
    pub corrupt_records: u64,
    /// Bytes that could not be framed (a torn or damaged tail, cut), and the bytes of
    /// segments set aside: lost.
    pub lost_bytes: u64,
    /// Segments that could not be read at all (a damaged header): renamed to
    /// `*.seg.bad`, kept for inspection, not replayed.
    pub set_aside_segments: u64,
    /// Why replay stopped early, if it did.
    pub error: Option<String>,
}

fn missing(dir: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("spool directory {} does not exist", dir.display()),
    )
}

/// A spool this tool reads: it exists and holds spans, not the logs pipeline's batches.
fn spans_spool(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        return Err(missing(dir));
    }
    if super::holds_logs(dir) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a logs spool (OTLP log batches): the observer replays it at its next start",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Reads every valid batch of the spool at `dir`, oldest first, without locking
/// or changing it; damaged records are skipped and counted in the summary.
///
/// ```
/// let dir = std::env::temp_dir().join("tracing-observer-doc-empty-spool");
/// std::fs::create_dir_all(&dir)?;
/// let summary = tracing_observer::spool::read(&dir, |_batch| {})?;
/// assert_eq!(summary.batches, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// The directory is missing or unreadable, or it is a logs spool.
pub fn read(dir: &Path, mut each: impl FnMut(SpooledBatch)) -> io::Result<SpoolSummary> {
    spans_spool(dir)?;
    let mut names: Vec<SegmentName> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().to_str().and_then(SegmentName::parse))
        .collect();
    names.sort_by_key(|n| n.seq);
    let mut summary = SpoolSummary::default();
    for name in names {
        let path = name.path(dir);
        summary.segments += 1;
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        summary.bytes += len;
        let mut reader = match Reader::open(&path, 0) {
            Ok(reader) => reader,
            Err(e) => {
                summary.lost_bytes += len;
                summary
                    .unreadable_segments
                    .push(format!("{}: {e}", name.file_name()));
                continue;
            }
        };
        loop {
            match reader.next_frame() {
                Ok(Frame::Record(record)) => {
                    let Ok(request) = ExportTraceServiceRequest::decode(record.payload.as_slice())
                    else {
                        summary.corrupt_records += 1;
                        continue;
                    };
                    summary.batches += 1;
                    summary.spans += u64::from(record.spans);
                    let priority = record.flags & FLAG_PRIORITY != 0;
                    summary.error_batches += u64::from(priority);
                    let rejected = name.kind == Kind::Rejected;
                    summary.rejected_batches += u64::from(rejected);
                    let ms = record.written_ms;
                    summary.oldest_ms = Some(summary.oldest_ms.map_or(ms, |o| o.min(ms)));
                    summary.newest_ms = Some(summary.newest_ms.map_or(ms, |n| n.max(ms)));
                    each(SpooledBatch {
                        segment: name.file_name(),
                        written: UNIX_EPOCH + Duration::from_millis(ms),
                        priority,
                        rejected,
                        request,
                    });
                }
                Ok(Frame::Corrupt { .. }) => summary.corrupt_records += 1,
                Ok(Frame::Broken { offset, .. }) => {
                    summary.lost_bytes += len.saturating_sub(offset);
                    break;
                }
                Ok(Frame::End) => break,
                Err(_) => {
                    summary.lost_bytes += len;
                    break;
                }
            }
        }
    }
    Ok(summary)
}

/// What the spool at `dir` holds; see [`read`].
///
/// # Errors
/// The directory is missing or unreadable.
///
/// ```
/// use tracing_observer::spool::summary;
/// let dir = std::env::temp_dir().join("tracing-observer-doc-summary");
/// std::fs::create_dir_all(&dir)?;
/// assert_eq!(summary(&dir)?.batches, 0);
/// assert!(summary(&dir.join("missing")).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn summary(dir: &Path) -> io::Result<SpoolSummary> {
    read(dir, |_| {})
}

/// Sends the spool's batches to an OTLP endpoint, oldest first, deleting each once
/// acknowledged; stops at the first failure. Takes the spool's lock. Damaged records
/// are skipped, damaged segments set aside, and both counted in the summary.
///
/// # Errors
/// The directory is missing, locked by a running program, or unreadable; the
/// endpoint is invalid.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{spool::replay, config::Protocol};
/// let dir = std::env::temp_dir().join("tracing-observer-doc-replay");
/// std::fs::create_dir_all(&dir)?;
/// let sent = replay(&dir, "http://127.0.0.1:4318", Protocol::HttpProtobuf, Duration::from_secs(1))?;
/// assert_eq!((sent.batches, sent.remaining_batches, sent.error), (0, 0, None));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn replay(
    dir: &Path,
    endpoint: &str,
    protocol: Protocol,
    timeout: Duration,
) -> io::Result<ReplaySummary> {
    spans_spool(dir)?;
    let config = SpoolConfig {
        dir: dir.to_owned(),
        max_bytes: u64::MAX,
        retention: Duration::MAX,
        archive_dir: None,
        archive_compress: false,
        cleanup_interval: Duration::MAX,
        sync_interval: Duration::MAX,
    };
    let counters = Arc::new(SpoolCounters::default());
    let mut spool = Spool::open(config, Arc::clone(&counters))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut summary = ReplaySummary::default();
    runtime.block_on(async {
        let exporter = crate::export::otlp_exporter(endpoint, protocol, timeout)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        while let Some(mut batch) = spool.next_replay() {
            // Checked offline, where the cost does not matter: a record that is not a
            // request is counted and skipped, not sent.
            if ExportTraceServiceRequest::decode(batch.payload.as_slice()).is_err() {
                counters.corrupt_records.fetch_add(1, Relaxed);
                spool.ack(&batch);
                continue;
            }
            let payload = std::mem::take(&mut batch.payload).into();
            let request = crate::export::EncodedRequest::new(payload, batch.spans as usize);
            match tokio::time::timeout(timeout, exporter.export(request)).await {
                Ok(Ok(accepted)) => {
                    spool.ack(&batch);
                    summary.batches += 1;
                    let rejected = accepted.rejected_spans.min(u64::from(batch.spans));
                    summary.spans += u64::from(batch.spans) - rejected;
                    summary.rejected_spans += rejected;
                }
                Ok(Err(e)) => {
                    summary.error = Some(e.to_string());
                    break;
                }
                Err(_) => {
                    summary.error = Some(format!("export did not complete within {timeout:?}"));
                    break;
                }
            }
        }
        Ok::<(), io::Error>(())
    })?;
    summary.remaining_batches = counters.pending_batches.load(Relaxed);
    summary.corrupt_records = counters.corrupt_records.load(Relaxed);
    summary.lost_bytes =
        counters.truncated_bytes.load(Relaxed) + counters.set_aside_bytes.load(Relaxed);
    summary.set_aside_segments = counters.set_aside_segments.load(Relaxed);
    Ok(summary)
}
