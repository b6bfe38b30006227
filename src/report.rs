//! What the pipeline did: live statistics and the shutdown report.

mod logs;

pub use logs::{DroppedLogs, LogStats};
use serde::ser::SerializeStruct;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Spans that were recorded but not exported, by reason.
///
/// Serialises with a `total` key next to the reasons.
///
/// ```
/// let mut dropped = tracing_observer::DroppedSpans::default();
/// dropped.queue_full = 2;
/// assert_eq!(serde_json::to_value(&dropped).unwrap()["total"], 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedSpans {
    /// The queue was full when the span closed.
    pub queue_full: u64,
    /// The export of the span's batch failed.
    pub export_failed: u64,
    /// `OTEL_TRACES_EXPORTER=none`: there was nowhere to send it.
    pub no_exporter: u64,
    /// The spool was over its `max_bytes` budget (and nothing could be evicted for it).
    pub spool_full: u64,
    /// Writing to the spool failed (disk full, permission denied, read-only, …).
    pub spool_error: u64,
    /// The collector accepted the batch but rejected these spans (OTLP partial
    /// success); not retried.
    pub rejected: u64,
    /// Shutdown's timeout passed before the span could be exported.
    pub shutdown: u64,
    /// A failed (or tail-kept) span found both queue lanes full.
    pub error_lane_full: u64,
    /// The span alone was larger than the queue's byte budget.
    pub span_too_large: u64,
}

impl DroppedSpans {
    /// All dropped spans.
    ///
    /// ```
    /// let mut dropped = tracing_observer::DroppedSpans::default();
    /// dropped.queue_full = 2;
    /// dropped.shutdown = 1;
    /// assert_eq!(dropped.total(), 3);
    /// ```
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.export_failed
            + self.no_exporter
            + self.shutdown
            + self.error_lane_full
            + self.span_too_large
            + self.spool_full
            + self.spool_error
            + self.rejected
    }
}

impl serde::Serialize for DroppedSpans {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("DroppedSpans", 10)?;
        s.serialize_field("queue_full", &self.queue_full)?;
        s.serialize_field("export_failed", &self.export_failed)?;
        s.serialize_field("no_exporter", &self.no_exporter)?;
        s.serialize_field("spool_full", &self.spool_full)?;
        s.serialize_field("spool_error", &self.spool_error)?;
        s.serialize_field("rejected", &self.rejected)?;
        s.serialize_field("shutdown", &self.shutdown)?;
        s.serialize_field("error_lane_full", &self.error_lane_full)?;
        s.serialize_field("span_too_large", &self.span_too_large)?;
        s.serialize_field("total", &self.total())?;
        s.end()
    }
}

/// The disk spool's state and counters.
///
/// ```no_run
/// # let observer = tracing_observer::Observer::builder().build()?;
/// let spool = observer.stats().spool;
/// if spool.enabled {
///     println!("{} spans wait in the spool", spool.pending_spans);
/// }
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SpoolStats {
    /// Whether the spool is open (false when off, or when it could not be opened: see `errors`).
    pub enabled: bool,
    /// Its directory.
    pub dir: Option<std::path::PathBuf>,
    /// Bytes in its segments.
    pub bytes: u64,
    /// The most it may hold (`OBSERVER_SPOOL_MAX_BYTES`).
    pub max_bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// Batches waiting for replay.
    pub pending_batches: u64,
    /// Spans in them.
    pub pending_spans: u64,
    /// Valid batches found at start (left by an earlier run).
    pub recovered_batches: u64,
    /// Records skipped because their checksum did not match.
    pub corrupt_records: u64,
    /// Bytes cut from torn or unframeable segment tails.
    pub truncated_bytes: u64,
    /// Spooled spans deleted to stay within `max_bytes`, or because they could not be read.
    pub evicted_spans: u64,
    /// Spooled spans deleted (or archived) by retention.
    pub expired_spans: u64,
    /// Replayed spans the collector rejected (OTLP partial success); not in `replayed`.
    pub replay_rejected: u64,
    /// Segments moved to the archive directory.
    pub archived_segments: u64,
    /// `fsync`s made.
    pub syncs: u64,
    /// I/O errors by kind: `disk_full`, `permission`, `read_only`, `locked`, `corrupt`, `other`.
    pub errors: BTreeMap<String, u64>,
    /// The most recent I/O error.
    pub last_error: Option<String>,
    /// Whether the last write to the spool failed (a full or read-only disk): batches
    /// that need the spool are being dropped as `spool_error` until a write succeeds.
    pub writes_failing: bool,
}

/// A snapshot of the pipeline's counters.
///
/// `recorded == exported + spooled + dropped.total() + pending` holds for every snapshot.
///
/// ```no_run
/// # let observer = tracing_observer::Observer::builder().build()?;
/// let stats = observer.stats();
/// println!(
///     "{} recorded: {} exported, {} spooled, {} dropped, {} pending",
///     stats.recorded, stats.exported, stats.spooled, stats.dropped.total(), stats.pending,
/// );
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Spans that closed and were handed to the pipeline.
    pub recorded: u64,
    /// Spans the exporter accepted.
    pub exported: u64,
    /// Spans dropped, by reason.
    pub dropped: DroppedSpans,
    /// Spans queued or in an export under way.
    pub pending: u64,
    /// Bytes the queue holds now (an estimate of the records' memory).
    pub queue_bytes: u64,
    /// Spans written to the disk spool (export failed, or the breaker was open).
    pub spooled: u64,
    /// Spans sent from the spool and acknowledged (this run's or an earlier one's).
    pub replayed: u64,
    /// Export attempts that were retried after a transient failure.
    pub export_retries: u64,
    /// The disk spool.
    pub spool: SpoolStats,
    /// Export requests made (successful or not, live and replayed).
    pub export_requests: u64,
    /// Export requests that failed.
    pub export_failures: u64,
    /// Failed export requests by kind (`connect`, `timeout`, `unavailable`, …).
    pub export_errors: BTreeMap<String, u64>,
    /// The most recent export error's message.
    pub last_export_error: Option<String>,
    /// The collector's message with its last partial success (`error_message`).
    pub last_rejection: Option<String>,
    /// Attributes cut by `max_attributes_per_span`.
    pub attributes_dropped: u64,
    /// Events cut by `max_events_per_span`.
    pub events_dropped: u64,
    /// Links cut by `max_links_per_span`.
    pub links_dropped: u64,
    /// Values cut to `max_attribute_value_bytes`, or replaced because formatting panicked.
    pub values_truncated: u64,
    /// The observer's own cost on the host's threads as a fraction of the host's traced
    /// time, over the last second (sampled measurement).
    pub overhead_ratio: f64,
    /// The factor the overhead budget applies to head-sampling ratios (1.0: none).
    pub sampling_factor: f64,
    /// Sampled-out spans whose slot in the fixed sampled-out table was taken by another
    /// live span: if one of their descendants fails, their start time is approximated.
    pub sampled_out_evictions: u64,
    /// The logs pipeline.
    pub logs: LogStats,
}

/// What [`Observer::shutdown`](crate::Observer::shutdown) achieved.
///
/// Printable for people (`Display`) and serialisable for programs (`serde`).
///
/// ```no_run
/// use std::time::Duration;
/// # let observer = tracing_observer::Observer::builder().build()?;
/// let report = observer.shutdown(Duration::from_secs(5));
/// eprintln!("{report}");
/// let json = serde_json::to_string(&report)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// The counters when shutdown finished; `pending` spans were not delivered.
    #[serde(flatten)]
    pub stats: PipelineStats,
    /// How long shutdown took.
    #[serde(rename = "elapsed_s", serialize_with = "as_secs")]
    pub elapsed: Duration,
    /// Whether the timeout passed before the queue was drained.
    pub timed_out: bool,
    /// Whether the observer was disabled (`OTEL_SDK_DISABLED`) and recorded nothing.
    pub disabled: bool,
}

fn as_secs<S: serde::Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(d.as_secs_f64())
}

impl ShutdownReport {
    /// Whether every recorded span was exported.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// let report = observer.shutdown(Duration::from_secs(5));
    /// if !report.is_complete() {
    ///     eprintln!("not every span was exported: {report}");
    /// }
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn is_complete(&self) -> bool {
        self.stats.recorded == self.stats.exported
    }

    /// Whether no span was lost: each recorded span was exported or is safe in the
    /// spool, and the collector rejected none of the spooled spans it was sent
    /// (`spool.replay_rejected`).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// let report = observer.shutdown(Duration::from_secs(5));
    /// if !report.is_lossless() {
    ///     eprintln!("spans were lost: {report}");
    /// }
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn is_lossless(&self) -> bool {
        self.stats.recorded == self.stats.exported + self.stats.spooled
            && self.stats.spool.replay_rejected == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        if self.disabled {
            return write!(
                f,
                "tracing-observer: disabled (OTEL_SDK_DISABLED), nothing recorded"
            );
        }
        write!(
            f,
            "tracing-observer: {} spans recorded, {} exported, {} spooled, {} dropped in {:.3}s",
            s.recorded,
            s.exported,
            s.spooled,
            s.dropped.total(),
            self.elapsed.as_secs_f64()
        )?;
        if self.timed_out {
            write!(f, " (timed out with {} undelivered)", s.dropped.shutdown)?;
        }
        let d = &s.dropped;
        if s.spool.replay_rejected > 0 {
            write!(
                f,
                "\n  lost: {} spooled spans rejected by the collector on replay",
                s.spool.replay_rejected
            )?;
        }
        if d.total() > 0 {
            write!(
                f,
                "\n  dropped: queue_full={} error_lane_full={} span_too_large={} export_failed={} no_exporter={} spool_full={} spool_error={} rejected={} shutdown={}",
                d.queue_full, d.error_lane_full, d.span_too_large, d.export_failed, d.no_exporter, d.spool_full, d.spool_error, d.rejected, d.shutdown
            )?;
        }
        if d.total() + s.spool.replay_rejected > 0 {
            if let Some(message) = &s.last_rejection {
                write!(f, "\n  last rejection by the collector: {message}")?;
            }
        }
        let sp = &s.spool;
        if sp.enabled || s.replayed > 0 || !sp.errors.is_empty() {
            f.write_str("\n  spool")?;
            let used = s.spooled + s.replayed + sp.pending_spans + sp.recovered_batches > 0;
            if let Some(dir) = sp.dir.as_ref().filter(|_| used) {
                write!(f, " {}", dir.display())?;
            }
            write!(
                f,
                ": {} replayed, {} pending ({} bytes), recovered={} corrupt={} evicted={} expired={}",
                s.replayed,
                sp.pending_spans,
                sp.bytes,
                sp.recovered_batches,
                sp.corrupt_records,
                sp.evicted_spans,
                sp.expired_spans
            )?;
            if let Some(error) = &sp.last_error {
                write!(f, "\n  last spool error: {error}")?;
            }
        }
        write!(
            f,
            "\n  export: {} requests, {} failed, {} retried",
            s.export_requests, s.export_failures, s.export_retries
        )?;
        if !s.export_errors.is_empty() {
            let kinds: Vec<String> = s
                .export_errors
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            write!(f, " ({})", kinds.join(" "))?;
        }
        if let Some(last) = &s.last_export_error {
            write!(f, "\n  last export error: {last}")?;
        }
        let logs = &s.logs;
        if logs.enabled && logs.recorded + logs.sampled_out + logs.replayed > 0 {
            write!(
                f,
                "\n  logs: {} recorded, {} exported, {} spooled, {} dropped, {} sampled out",
                logs.recorded,
                logs.exported,
                logs.spooled,
                logs.dropped.total(),
                logs.sampled_out
            )?;
            let d = &logs.dropped;
            if d.total() > 0 {
                write!(
                    f,
                    " (queue_full={} error_lane_full={} too_large={} rate_limited={} export_failed={} no_exporter={} spool_full={} spool_error={} rejected={} shutdown={})",
                    d.queue_full, d.error_lane_full, d.too_large, d.rate_limited, d.export_failed, d.no_exporter, d.spool_full, d.spool_error, d.rejected, d.shutdown
                )?;
            }
            if let Some(last) = &logs.last_export_error {
                write!(f, "\n  last logs export error: {last}")?;
            }
        }
        let cuts = s.attributes_dropped + s.events_dropped + s.links_dropped + s.values_truncated;
        if cuts > 0 {
            write!(
                f,
                "\n  limits: attributes_dropped={} events_dropped={} links_dropped={} values_truncated={}",
                s.attributes_dropped, s.events_dropped, s.links_dropped, s.values_truncated
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
