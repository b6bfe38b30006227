//! Self-metrics: the pipeline's own health, as `tracing_observer_*` series.
//!
//! Most values already live in the pipeline's counters ([`PipelineStats`]); they are
//! copied into the registry (`Counter::absolute`) just before each render and on
//! the worker's housekeeping tick, so the hot path pays nothing for them. Only the
//! export duration is recorded as it happens.

use super::MetricsRegistry;
use crate::report::PipelineStats;
use metrics::{Counter, Gauge, Histogram, Label, Unit};

const RECORDED: &str = "tracing_observer_spans_recorded_total";
const EXPORTED: &str = "tracing_observer_spans_exported_total";
const DROPPED: &str = "tracing_observer_spans_dropped_total";
const QUEUE_SPANS: &str = "tracing_observer_queue_spans";
const QUEUE_CAPACITY: &str = "tracing_observer_queue_capacity_spans";
const QUEUE_BYTES: &str = "tracing_observer_queue_bytes";
const OVERHEAD_RATIO: &str = "tracing_observer_overhead_ratio";
const SAMPLING_FACTOR: &str = "tracing_observer_sampling_factor";
const PENDING: &str = "tracing_observer_spans_pending";
const REQUESTS: &str = "tracing_observer_export_requests_total";
const FAILURES: &str = "tracing_observer_export_failures_total";
const DURATION: &str = "tracing_observer_export_duration_seconds";
const LIMITS: &str = "tracing_observer_limit_cuts_total";
const SAMPLING_RATIO: &str = "tracing_observer_sampling_effective_ratio";
const SUMMARIES_DROPPED: &str = "tracing_observer_span_summaries_dropped_total";
const RESTARTS: &str = "tracing_observer_worker_restarts_total";
const DISABLED: &str = "tracing_observer_disabled";
const SPOOLED: &str = "tracing_observer_spans_spooled_total";
const RETRIES: &str = "tracing_observer_export_retries_total";
const SPOOL_BYTES: &str = "tracing_observer_spool_bytes";
const SPOOL_CAPACITY: &str = "tracing_observer_spool_capacity_bytes";
const SPOOL_SEGMENTS: &str = "tracing_observer_spool_segments";
const SPOOL_PENDING: &str = "tracing_observer_spool_pending_spans";
const SPOOL_REPLAYED: &str = "tracing_observer_spool_replayed_total";
const SPOOL_EVICTED: &str = "tracing_observer_spool_evicted_spans_total";
const SPOOL_EXPIRED: &str = "tracing_observer_spool_expired_spans_total";
const SPOOL_CORRUPT: &str = "tracing_observer_spool_corrupt_records_total";
const SPOOL_ERRORS: &str = "tracing_observer_spool_errors_total";
/// Per breaker (label `breaker`): 0 closed, 1 open, 2 half-open; set at each render.
pub(crate) const BREAKER_STATE: &str = "tracing_observer_breaker_state";

/// The `reason` label values of dropped spans, as in [`DroppedSpans`](crate::DroppedSpans).
const DROP_REASONS: [&str; 9] = [
    "queue_full",
    "export_failed",
    "no_exporter",
    "spool_full",
    "spool_error",
    "rejected",
    "shutdown",
    "error_lane_full",
    "span_too_large",
];
/// The `kind` label values of failed exports, as [`ExportErrorKind::as_str`](crate::ExportErrorKind::as_str).
const FAILURE_KINDS: [&str; 7] = [
    "connect",
    "timeout",
    "unavailable",
    "throttled",
    "rejected",
    "encode",
    "other",
];
/// The `limit` label values of values cut by span limits.
const LIMIT_KINDS: [&str; 4] = ["attributes", "events", "links", "values"];
/// The `kind` label values of spool I/O errors, as in [`SpoolStats::errors`](crate::SpoolStats).
const SPOOL_ERROR_KINDS: [&str; 6] = [
    "disk_full",
    "permission",
    "read_only",
    "locked",
    "corrupt",
    "other",
];

/// Values that are not in [`PipelineStats`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PipelineGauges {
    pub(crate) queue_spans: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) summaries_dropped: u64,
    pub(crate) worker_restarts: u64,
    pub(crate) disabled: bool,
}

/// The registered handles of every self-metric.
pub(crate) struct PipelineMetrics {
    recorded: Counter,
    exported: Counter,
    dropped: [Counter; 9],
    queue_bytes: Gauge,
    overhead_ratio: Gauge,
    sampling_factor: Gauge,
    pending: Gauge,
    queue_spans: Gauge,
    queue_capacity: Gauge,
    requests: Counter,
    failures: [Counter; 7],
    duration: Histogram,
    limits: [Counter; 4],
    sampling_ratio: Gauge,
    summaries_dropped: Counter,
    restarts: Counter,
    disabled: Gauge,
    spooled: Counter,
    retries: Counter,
    spool_bytes: Gauge,
    spool_capacity: Gauge,
    spool_segments: Gauge,
    spool_pending: Gauge,
    spool_replayed: Counter,
    spool_evicted: Counter,
    spool_expired: Counter,
    spool_corrupt: Counter,
    spool_errors: [Counter; 6],
}

impl std::fmt::Debug for PipelineMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineMetrics").finish_non_exhaustive()
    }
}

impl PipelineMetrics {
    /// Describes and registers every self-metric on `registry`.
    pub(crate) fn new(registry: &MetricsRegistry) -> Self {
        let r = registry;
        r.describe_counter(
            RECORDED,
            Unit::Count,
            "Spans that closed and were handed to the pipeline.",
        );
        r.describe_counter(EXPORTED, Unit::Count, "Spans the exporter accepted.");
        r.describe_counter(
            DROPPED,
            Unit::Count,
            "Spans recorded but not exported, by reason.",
        );
        r.describe_gauge(
            PENDING,
            Unit::Count,
            "Spans queued or in an export under way.",
        );
        r.describe_gauge(QUEUE_SPANS, Unit::Count, "Spans waiting in the queue.");
        r.describe_gauge(
            QUEUE_CAPACITY,
            Unit::Count,
            "Spans the queue holds at most.",
        );
        r.describe_gauge(
            QUEUE_BYTES,
            Unit::Bytes,
            "Estimated bytes of the spans waiting in the queue.",
        );
        r.describe_gauge(
            OVERHEAD_RATIO,
            Unit::Count,
            "The observer's measured cost on the host's threads as a fraction of traced time (last second).",
        );
        r.describe_gauge(
            SAMPLING_FACTOR,
            Unit::Count,
            "Factor the overhead budget applies to head-sampling ratios (1 = none).",
        );
        r.describe_gauge(
            BREAKER_STATE,
            Unit::Count,
            "Circuit breaker state, by breaker: 0 closed, 1 open, 2 half-open.",
        );
        r.describe_counter(
            REQUESTS,
            Unit::Count,
            "Export requests made, successful or not.",
        );
        r.describe_counter(
            FAILURES,
            Unit::Count,
            "Export requests that failed, by kind.",
        );
        r.describe_histogram(
            DURATION,
            Unit::Seconds,
            "Duration of one export request, in seconds.",
        );
        r.describe_counter(
            LIMITS,
            Unit::Count,
            "Attributes, events, links dropped and values truncated by span limits.",
        );
        r.describe_gauge(
            SAMPLING_RATIO,
            Unit::Count,
            "Share of finished spans that were recorded (1 = nothing sampled out).",
        );
        r.describe_counter(
            SUMMARIES_DROPPED,
            Unit::Count,
            "Sampled-out spans left out of span metrics: their thread's tally could not take them and the shared queue behind it was full.",
        );
        r.describe_counter(
            RESTARTS,
            Unit::Count,
            "Times the worker was restarted after a panic.",
        );
        r.describe_gauge(
            DISABLED,
            Unit::Count,
            "1 when the observer disabled itself after repeated worker failures.",
        );
        r.describe_counter(
            SPOOLED,
            Unit::Count,
            "Spans written to the disk spool instead of being exported (replayed later).",
        );
        r.describe_counter(
            RETRIES,
            Unit::Count,
            "Failed export attempts that were retried after a backoff.",
        );
        r.describe_gauge(SPOOL_BYTES, Unit::Bytes, "Bytes in the spool's segments.");
        r.describe_gauge(
            SPOOL_CAPACITY,
            Unit::Bytes,
            "The most the spool may hold (0 when the spool is off).",
        );
        r.describe_gauge(SPOOL_SEGMENTS, Unit::Count, "Segment files in the spool.");
        r.describe_gauge(
            SPOOL_PENDING,
            Unit::Count,
            "Spooled spans waiting to be replayed.",
        );
        r.describe_counter(
            SPOOL_REPLAYED,
            Unit::Count,
            "Spooled spans the collector acknowledged on replay.",
        );
        r.describe_counter(
            SPOOL_EVICTED,
            Unit::Count,
            "Spooled spans deleted to stay within the spool's size bound.",
        );
        r.describe_counter(
            SPOOL_EXPIRED,
            Unit::Count,
            "Spooled spans deleted or archived by retention.",
        );
        r.describe_counter(
            SPOOL_CORRUPT,
            Unit::Count,
            "Spool records skipped at recovery because their checksum did not match.",
        );
        r.describe_counter(SPOOL_ERRORS, Unit::Count, "Spool I/O errors, by kind.");
        let labelled = |name: &'static str, key: &'static str, value: &'static str| {
            r.counter(name, vec![Label::new(key, value)])
        };
        Self {
            recorded: r.counter(RECORDED, vec![]),
            exported: r.counter(EXPORTED, vec![]),
            dropped: DROP_REASONS.map(|reason| labelled(DROPPED, "reason", reason)),
            pending: r.gauge(PENDING, vec![]),
            queue_bytes: r.gauge(QUEUE_BYTES, vec![]),
            overhead_ratio: r.gauge(OVERHEAD_RATIO, vec![]),
            sampling_factor: r.gauge(SAMPLING_FACTOR, vec![]),
            queue_spans: r.gauge(QUEUE_SPANS, vec![]),
            queue_capacity: r.gauge(QUEUE_CAPACITY, vec![]),
            requests: r.counter(REQUESTS, vec![]),
            failures: FAILURE_KINDS.map(|kind| labelled(FAILURES, "kind", kind)),
            duration: r.histogram(DURATION, vec![]),
            limits: LIMIT_KINDS.map(|limit| labelled(LIMITS, "limit", limit)),
            sampling_ratio: r.gauge(SAMPLING_RATIO, vec![]),
            summaries_dropped: r.counter(SUMMARIES_DROPPED, vec![]),
            restarts: r.counter(RESTARTS, vec![]),
            disabled: r.gauge(DISABLED, vec![]),
            spooled: r.counter(SPOOLED, vec![]),
            retries: r.counter(RETRIES, vec![]),
            spool_bytes: r.gauge(SPOOL_BYTES, vec![]),
            spool_capacity: r.gauge(SPOOL_CAPACITY, vec![]),
            spool_segments: r.gauge(SPOOL_SEGMENTS, vec![]),
            spool_pending: r.gauge(SPOOL_PENDING, vec![]),
            spool_replayed: r.counter(SPOOL_REPLAYED, vec![]),
            spool_evicted: r.counter(SPOOL_EVICTED, vec![]),
            spool_expired: r.counter(SPOOL_EXPIRED, vec![]),
            spool_corrupt: r.counter(SPOOL_CORRUPT, vec![]),
            spool_errors: SPOOL_ERROR_KINDS.map(|kind| labelled(SPOOL_ERRORS, "kind", kind)),
        }
    }

    /// Copies the pipeline's counters into the registry.
    pub(crate) fn update(&self, stats: &PipelineStats, gauges: PipelineGauges) {
        self.recorded.absolute(stats.recorded);
        self.exported.absolute(stats.exported);
        let d = &stats.dropped;
        for (counter, n) in self.dropped.iter().zip([
            d.queue_full,
            d.export_failed,
            d.no_exporter,
            d.spool_full,
            d.spool_error,
            d.rejected,
            d.shutdown,
            d.error_lane_full,
            d.span_too_large,
        ]) {
            counter.absolute(n);
        }
        self.queue_bytes.set(stats.queue_bytes as f64);
        self.overhead_ratio.set(stats.overhead_ratio);
        self.sampling_factor.set(stats.sampling_factor);
        self.pending.set(stats.pending as f64);
        self.queue_spans.set(gauges.queue_spans as f64);
        self.queue_capacity.set(gauges.queue_capacity as f64);
        self.requests.absolute(stats.export_requests);
        for (counter, kind) in self.failures.iter().zip(FAILURE_KINDS) {
            counter.absolute(stats.export_errors.get(kind).copied().unwrap_or(0));
        }
        for (counter, n) in self.limits.iter().zip([
            stats.attributes_dropped,
            stats.events_dropped,
            stats.links_dropped,
            stats.values_truncated,
        ]) {
            counter.absolute(n);
        }
        self.summaries_dropped.absolute(gauges.summaries_dropped);
        self.restarts.absolute(gauges.worker_restarts);
        self.disabled.set(if gauges.disabled { 1.0 } else { 0.0 });
        self.spooled.absolute(stats.spooled);
        self.retries.absolute(stats.export_retries);
        let spool = &stats.spool;
        self.spool_bytes.set(spool.bytes as f64);
        self.spool_capacity.set(spool.max_bytes as f64);
        self.spool_segments.set(spool.segments as f64);
        self.spool_pending.set(spool.pending_spans as f64);
        self.spool_replayed.absolute(stats.replayed);
        self.spool_evicted.absolute(spool.evicted_spans);
        self.spool_expired.absolute(spool.expired_spans);
        self.spool_corrupt.absolute(spool.corrupt_records);
        for (counter, kind) in self.spool_errors.iter().zip(SPOOL_ERROR_KINDS) {
            counter.absolute(spool.errors.get(kind).copied().unwrap_or(0));
        }
    }

    /// One export request took `seconds`.
    pub(crate) fn export_took(&self, seconds: f64) {
        self.duration.record(seconds);
    }

    /// The effective sampling ratio, measured by the worker.
    pub(crate) fn set_sampling_ratio(&self, ratio: f64) {
        self.sampling_ratio.set(ratio);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_described_and_copied() {
        let registry = MetricsRegistry::new(&[]);
        let metrics = PipelineMetrics::new(&registry);
        let mut stats = PipelineStats {
            recorded: 10,
            exported: 7,
            pending: 1,
            export_requests: 3,
            export_failures: 1,
            ..PipelineStats::default()
        };
        stats.dropped.export_failed = 2;
        stats.dropped.spool_full = 4;
        stats.export_errors.insert("connect".into(), 1);
        stats.spooled = 5;
        stats.replayed = 3;
        stats.export_retries = 6;
        stats.spool.bytes = 4096;
        stats.spool.max_bytes = 1 << 20;
        stats.spool.segments = 2;
        stats.spool.pending_spans = 2;
        stats.spool.errors.insert("disk_full".into(), 1);
        metrics.update(
            &stats,
            PipelineGauges {
                queue_spans: 1,
                queue_capacity: 64,
                ..PipelineGauges::default()
            },
        );
        metrics.export_took(0.02);
        let text = registry.render();
        for expected in [
            "tracing_observer_spans_recorded_total 10",
            "tracing_observer_spans_exported_total 7",
            "tracing_observer_spans_dropped_total{reason=\"export_failed\"} 2",
            "tracing_observer_spans_dropped_total{reason=\"span_too_large\"} 0",
            "tracing_observer_spans_dropped_total{reason=\"spool_full\"} 4",
            "tracing_observer_spans_spooled_total 5",
            "tracing_observer_spool_replayed_total 3",
            "tracing_observer_export_retries_total 6",
            "tracing_observer_spool_bytes 4096",
            "tracing_observer_spool_capacity_bytes 1048576",
            "tracing_observer_spool_segments 2",
            "tracing_observer_spool_pending_spans 2",
            "tracing_observer_spool_errors_total{kind=\"disk_full\"} 1",
            "tracing_observer_spool_errors_total{kind=\"read_only\"} 0",
            "tracing_observer_overhead_ratio 0",
            "tracing_observer_export_failures_total{kind=\"connect\"} 1",
            "tracing_observer_queue_capacity_spans 64",
            "tracing_observer_export_duration_seconds_bucket{le=\"0.025\"} 1",
            "# HELP tracing_observer_spans_recorded_total Spans that closed",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let mut parts = line.split_whitespace().skip(2);
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert_eq!(name.ends_with("_total"), kind == "counter", "{line}");
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} is not described"
            );
        }
    }
}
