//! Counters the worker keeps and the [`Observer`](crate::Observer) reads.

use crate::error::ExportError;
use crate::logs::LogCapture;
use crate::queue::{Queue, Queued};
use crate::record::log::LogRecord;
use crate::record::SpanRecord;
use crate::report::{DroppedLogs, DroppedSpans, LogStats, PipelineStats, SpoolStats};
use crate::spool::SpoolCounters;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Why a batch's spans were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// Export failed and there is no spool.
    ExportFailed,
    /// No exporter and no spool.
    NoExporter,
    /// The spool is over budget.
    SpoolFull,
    /// Writing to the spool failed.
    SpoolError,
}

/// How one batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// The collector took it; `rejected` of its spans it did not keep (partial success).
    Exported {
        rejected: u64,
    },
    Spooled,
    Dropped(DropReason),
}

/// Pipeline counters; written by the worker only (the queue counts its own drops).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    received: AtomicU64,
    exported: AtomicU64,
    export_failed: AtomicU64,
    no_exporter: AtomicU64,
    spool_full: AtomicU64,
    spool_error: AtomicU64,
    rejected: AtomicU64,
    spooled: AtomicU64,
    replayed: AtomicU64,
    retries: AtomicU64,
    spool: std::sync::Arc<SpoolCounters>,
    shutdown: AtomicU64,
    requests: AtomicU64,
    failures: AtomicU64,
    attributes_dropped: AtomicU64,
    events_dropped: AtomicU64,
    links_dropped: AtomicU64,
    values_truncated: AtomicU64,
    cut: AtomicBool,
    /// Whether the most recent export failed (health's `exporter` component).
    failing: AtomicBool,
    errors: Mutex<ErrorLog>,
    /// The collector's message with its last partial success.
    rejection: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct ErrorLog {
    by_kind: BTreeMap<&'static str, u64>,
    last: Option<String>,
}

impl Stats {
    /// A record left the queue: add up what its limits cut.
    pub(crate) fn received(&self, record: &SpanRecord) {
        self.received.fetch_add(1, Relaxed);
        let add = |counter: &AtomicU64, n: u32| {
            if n > 0 {
                counter.fetch_add(u64::from(n), Relaxed);
            }
        };
        add(&self.attributes_dropped, record.dropped_attributes);
        add(&self.events_dropped, record.dropped_events);
        add(&self.links_dropped, record.dropped_links);
        add(&self.values_truncated, record.truncated_values);
    }

    /// A log record left the queue: add up what its limits cut.
    pub(crate) fn received_log(&self, record: &LogRecord) {
        self.received.fetch_add(1, Relaxed);
        if record.dropped_attributes > 0 {
            (self.attributes_dropped).fetch_add(u64::from(record.dropped_attributes), Relaxed);
        }
        if record.truncated_values > 0 {
            (self.values_truncated).fetch_add(u64::from(record.truncated_values), Relaxed);
        }
    }

    /// How a batch of `spans` ended.
    pub(crate) fn delivered(&self, spans: usize, outcome: Delivered) {
        let spans = spans as u64;
        let counter = match outcome {
            Delivered::Exported { rejected } => {
                self.requests.fetch_add(1, Relaxed);
                self.failing.store(false, Relaxed);
                let rejected = rejected.min(spans);
                self.rejected.fetch_add(rejected, Relaxed);
                self.exported.fetch_add(spans - rejected, Relaxed);
                return;
            }
            Delivered::Spooled => &self.spooled,
            Delivered::Dropped(DropReason::ExportFailed) => &self.export_failed,
            Delivered::Dropped(DropReason::NoExporter) => &self.no_exporter,
            Delivered::Dropped(DropReason::SpoolFull) => &self.spool_full,
            Delivered::Dropped(DropReason::SpoolError) => &self.spool_error,
        };
        counter.fetch_add(spans, Relaxed);
    }

    /// One export attempt failed (it may be retried).
    pub(crate) fn attempt_failed(&self, error: &ExportError) {
        self.requests.fetch_add(1, Relaxed);
        self.failures.fetch_add(1, Relaxed);
        self.failing.store(true, Relaxed);
        if let Ok(mut log) = self.errors.lock() {
            *log.by_kind.entry(error.kind().as_str()).or_default() += 1;
            log.last = Some(error.to_string());
        }
    }

    /// The collector kept a batch but `rejected` of its spans (partial success), saying
    /// `message`.
    pub(crate) fn partly_rejected(&self, message: Option<String>) {
        if let (Some(message), Ok(mut last)) = (message, self.rejection.lock()) {
            *last = Some(message);
        }
    }

    /// A failed attempt will be retried.
    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    /// Spans from the spool the collector acknowledged; `rejected` of them it did not
    /// keep (partial success; they were counted as spooled already).
    pub(crate) fn replayed(&self, spans: u64, rejected: u64) {
        let rejected = rejected.min(spans);
        self.requests.fetch_add(1, Relaxed);
        self.replayed.fetch_add(spans - rejected, Relaxed);
        self.spool.replay_rejected.fetch_add(rejected, Relaxed);
        self.failing.store(false, Relaxed);
    }

    /// Spans from the spool the collector refused for good that could not be kept
    /// aside (the spool was full, or writing failed): gone, counted with the replayed
    /// spans it rejected (they were counted as spooled already, so not as dropped).
    pub(crate) fn replay_lost(&self, spans: u64) {
        self.spool.replay_rejected.fetch_add(spans, Relaxed);
    }

    /// The spool's counters.
    pub(crate) fn spool(&self) -> &std::sync::Arc<SpoolCounters> {
        &self.spool
    }

    /// Spans the shutdown deadline cut off (queued, or in an abandoned export).
    pub(crate) fn cut_by_shutdown(&self, spans: u64) {
        self.cut.store(true, Relaxed);
        self.shutdown.fetch_add(spans, Relaxed);
    }

    /// The last export error, when the most recent export failed.
    pub(crate) fn last_export_failure(&self) -> Option<String> {
        if !self.failing.load(Relaxed) {
            return None;
        }
        self.errors.lock().ok().and_then(|log| log.last.clone())
    }

    /// Whether the shutdown deadline cut anything off.
    pub(crate) fn was_cut(&self) -> bool {
        self.cut.load(Relaxed)
    }

    /// A consistent-enough snapshot; `pending` is derived so the identity always holds.
    pub(crate) fn snapshot<T: Queued>(&self, queue: &Queue<T>) -> PipelineStats {
        let dropped = DroppedSpans {
            queue_full: queue.drops.queue_full.load(Relaxed),
            error_lane_full: queue.drops.error_lane_full.load(Relaxed),
            span_too_large: queue.drops.span_too_large.load(Relaxed),
            export_failed: self.export_failed.load(Relaxed),
            no_exporter: self.no_exporter.load(Relaxed),
            spool_full: self.spool_full.load(Relaxed),
            spool_error: self.spool_error.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            shutdown: self.shutdown.load(Relaxed),
        };
        let exported = self.exported.load(Relaxed);
        let spooled = self.spooled.load(Relaxed);
        let received = self.received.load(Relaxed);
        let in_queue = queue.len() as u64;
        let recorded =
            (received + in_queue + queue.dropped()).max(exported + spooled + dropped.total());
        let (export_errors, last_export_error) = match self.errors.lock() {
            Ok(log) => (
                log.by_kind
                    .iter()
                    .map(|(k, n)| ((*k).to_owned(), *n))
                    .collect(),
                log.last.clone(),
            ),
            Err(_) => Default::default(),
        };
        PipelineStats {
            recorded,
            exported,
            pending: recorded - exported - spooled - dropped.total(),
            queue_bytes: queue.bytes() as u64,
            dropped,
            spooled,
            replayed: self.replayed.load(Relaxed),
            export_retries: self.retries.load(Relaxed),
            spool: self.spool_stats(),
            export_requests: self.requests.load(Relaxed),
            export_failures: self.failures.load(Relaxed),
            export_errors,
            last_export_error,
            last_rejection: self.rejection.lock().ok().and_then(|m| m.clone()),
            attributes_dropped: self.attributes_dropped.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            links_dropped: self.links_dropped.load(Relaxed),
            values_truncated: self.values_truncated.load(Relaxed),
            overhead_ratio: 0.0,
            sampling_factor: 1.0,
            sampled_out_evictions: 0,
            logs: LogStats::default(),
        }
    }

    /// The logs pipeline's counters (these stats being its delivery's), with what
    /// the host side counted: rate-limited records are recorded and dropped,
    /// sampled-out ones outside `recorded`.
    pub(crate) fn log_snapshot(&self, logs: &LogCapture) -> LogStats {
        let s = self.snapshot(&logs.queue);
        let rate_limited = logs.rate_limited.load(Relaxed);
        let d = &s.dropped;
        LogStats {
            enabled: true,
            recorded: s.recorded + rate_limited,
            exported: s.exported,
            spooled: s.spooled,
            replayed: s.replayed,
            pending: s.pending,
            dropped: DroppedLogs {
                queue_full: d.queue_full,
                error_lane_full: d.error_lane_full,
                too_large: d.span_too_large,
                rate_limited,
                export_failed: d.export_failed,
                no_exporter: d.no_exporter,
                spool_full: d.spool_full,
                spool_error: d.spool_error,
                rejected: d.rejected,
                shutdown: d.shutdown,
            },
            sampled_out: logs.sampled_out.load(Relaxed),
            attributes_dropped: s.attributes_dropped,
            values_truncated: s.values_truncated,
            export_requests: s.export_requests,
            export_failures: s.export_failures,
            last_export_error: s.last_export_error,
        }
    }

    fn spool_stats(&self) -> SpoolStats {
        let c = &self.spool;
        SpoolStats {
            enabled: c.enabled.load(Relaxed),
            dir: c.dir.lock().ok().and_then(|d| d.clone()),
            bytes: c.bytes.load(Relaxed),
            max_bytes: c.max_bytes.load(Relaxed),
            segments: c.segments.load(Relaxed),
            pending_batches: c.pending_batches.load(Relaxed),
            pending_spans: c.pending_spans.load(Relaxed),
            recovered_batches: c.recovered_batches.load(Relaxed),
            corrupt_records: c.corrupt_records.load(Relaxed),
            truncated_bytes: c.truncated_bytes.load(Relaxed),
            evicted_spans: c.evicted_spans.load(Relaxed),
            expired_spans: c.expired_spans.load(Relaxed),
            replay_rejected: c.replay_rejected.load(Relaxed),
            archived_segments: c.archived_segments.load(Relaxed),
            syncs: c.syncs.load(Relaxed),
            errors: c
                .errors
                .lock()
                .map(|e| e.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect())
                .unwrap_or_default(),
            last_error: c.last_error.lock().ok().and_then(|e| e.clone()),
            writes_failing: c.writes_failing.load(Relaxed),
        }
    }
}
