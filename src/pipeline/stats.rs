//! Counters the worker keeps and the [`Observer`](crate::Observer) reads.

use crate::error::ExportError;
use crate::queue::SpanQueue;
use crate::record::SpanRecord;
use crate::report::{DroppedSpans, PipelineStats};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Pipeline counters; written by the worker only (the queue counts its own drops).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    received: AtomicU64,
    exported: AtomicU64,
    export_failed: AtomicU64,
    no_exporter: AtomicU64,
    shutdown: AtomicU64,
    requests: AtomicU64,
    failures: AtomicU64,
    attributes_dropped: AtomicU64,
    events_dropped: AtomicU64,
    links_dropped: AtomicU64,
    values_truncated: AtomicU64,
    cut: AtomicBool,
    errors: Mutex<ErrorLog>,
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

    pub(crate) fn exported(&self, spans: usize) {
        self.requests.fetch_add(1, Relaxed);
        self.exported.fetch_add(spans as u64, Relaxed);
    }

    pub(crate) fn export_failed(&self, spans: usize, error: &ExportError) {
        self.requests.fetch_add(1, Relaxed);
        self.failures.fetch_add(1, Relaxed);
        self.export_failed.fetch_add(spans as u64, Relaxed);
        if let Ok(mut log) = self.errors.lock() {
            *log.by_kind.entry(error.kind().as_str()).or_default() += 1;
            log.last = Some(error.to_string());
        }
    }

    pub(crate) fn no_exporter(&self, spans: usize) {
        self.no_exporter.fetch_add(spans as u64, Relaxed);
    }

    /// Spans the shutdown deadline cut off (queued, or in an abandoned export).
    pub(crate) fn cut_by_shutdown(&self, spans: u64) {
        self.cut.store(true, Relaxed);
        self.shutdown.fetch_add(spans, Relaxed);
    }

    /// Whether the shutdown deadline cut anything off.
    pub(crate) fn was_cut(&self) -> bool {
        self.cut.load(Relaxed)
    }

    /// A consistent-enough snapshot; `pending` is derived so the identity always holds.
    pub(crate) fn snapshot(&self, queue: &SpanQueue) -> PipelineStats {
        let dropped = DroppedSpans {
            queue_full: queue.drops.queue_full.load(Relaxed),
            error_lane_full: queue.drops.error_lane_full.load(Relaxed),
            span_too_large: queue.drops.span_too_large.load(Relaxed),
            export_failed: self.export_failed.load(Relaxed),
            no_exporter: self.no_exporter.load(Relaxed),
            shutdown: self.shutdown.load(Relaxed),
        };
        let exported = self.exported.load(Relaxed);
        let received = self.received.load(Relaxed);
        let in_queue = queue.len() as u64;
        let recorded = (received + in_queue + queue.dropped()).max(exported + dropped.total());
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
            pending: recorded - exported - dropped.total(),
            queue_bytes: queue.bytes() as u64,
            dropped,
            export_requests: self.requests.load(Relaxed),
            export_failures: self.failures.load(Relaxed),
            export_errors,
            last_export_error,
            attributes_dropped: self.attributes_dropped.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            links_dropped: self.links_dropped.load(Relaxed),
            values_truncated: self.values_truncated.load(Relaxed),
            overhead_ratio: 0.0,
            sampling_factor: 1.0,
        }
    }
}
