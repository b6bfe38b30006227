//! The logs pipeline's self-metrics, as `tracing_observer_logs_*` series: copied from
//! its counters ([`LogStats`]) before each render, like the spans' (see `pipeline`).

use super::MetricsRegistry;
use crate::report::LogStats;
use metrics::{Counter, Gauge, Label, Unit};

const RECORDED: &str = "tracing_observer_logs_recorded_total";
const EXPORTED: &str = "tracing_observer_logs_exported_total";
const SPOOLED: &str = "tracing_observer_logs_spooled_total";
const REPLAYED: &str = "tracing_observer_logs_replayed_total";
const DROPPED: &str = "tracing_observer_logs_dropped_total";
const SAMPLED_OUT: &str = "tracing_observer_logs_sampled_out_total";
const PENDING: &str = "tracing_observer_logs_pending";
const REQUESTS: &str = "tracing_observer_logs_export_requests_total";
const FAILURES: &str = "tracing_observer_logs_export_failures_total";

/// The `reason` label values of dropped log records, as in [`DroppedLogs`](crate::DroppedLogs).
const DROP_REASONS: [&str; 10] = [
    "queue_full",
    "error_lane_full",
    "too_large",
    "rate_limited",
    "export_failed",
    "no_exporter",
    "spool_full",
    "spool_error",
    "rejected",
    "shutdown",
];

/// The registered series of the logs pipeline.
pub(crate) struct LogMetrics {
    recorded: Counter,
    exported: Counter,
    spooled: Counter,
    replayed: Counter,
    dropped: Vec<Counter>,
    sampled_out: Counter,
    pending: Gauge,
    requests: Counter,
    failures: Counter,
}

impl std::fmt::Debug for LogMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMetrics").finish_non_exhaustive()
    }
}

impl LogMetrics {
    /// Describes and registers the logs series on `registry`.
    pub(crate) fn new(registry: &MetricsRegistry) -> Self {
        let r = registry;
        let counters: [(&'static str, &'static str); 8] = [
            (RECORDED, "Events handed to the logs pipeline."),
            (EXPORTED, "Log records the collector accepted."),
            (SPOOLED, "Log records written to the logs spool."),
            (
                REPLAYED,
                "Log records sent from the logs spool and acknowledged.",
            ),
            (DROPPED, "Log records recorded but not exported, by reason."),
            (
                SAMPLED_OUT,
                "Events below WARN in sampled-out traces, not exported with their traces.",
            ),
            (REQUESTS, "Logs export requests made, successful or not."),
            (FAILURES, "Logs export requests that failed."),
        ];
        for (name, help) in counters {
            r.describe_counter(name, Unit::Count, help);
        }
        r.describe_gauge(
            PENDING,
            Unit::Count,
            "Log records queued or in an export under way.",
        );
        Self {
            recorded: r.counter(RECORDED, Vec::new()),
            exported: r.counter(EXPORTED, Vec::new()),
            spooled: r.counter(SPOOLED, Vec::new()),
            replayed: r.counter(REPLAYED, Vec::new()),
            dropped: DROP_REASONS
                .iter()
                .map(|reason| r.counter(DROPPED, vec![Label::new("reason", *reason)]))
                .collect(),
            sampled_out: r.counter(SAMPLED_OUT, Vec::new()),
            pending: r.gauge(PENDING, Vec::new()),
            requests: r.counter(REQUESTS, Vec::new()),
            failures: r.counter(FAILURES, Vec::new()),
        }
    }

    /// Copies the logs pipeline's counters into the series.
    pub(crate) fn update(&self, logs: &LogStats) {
        self.recorded.absolute(logs.recorded);
        self.exported.absolute(logs.exported);
        self.spooled.absolute(logs.spooled);
        self.replayed.absolute(logs.replayed);
        let d = &logs.dropped;
        for (counter, n) in self.dropped.iter().zip([
            d.queue_full,
            d.error_lane_full,
            d.too_large,
            d.rate_limited,
            d.export_failed,
            d.no_exporter,
            d.spool_full,
            d.spool_error,
            d.rejected,
            d.shutdown,
        ]) {
            counter.absolute(n);
        }
        self.sampled_out.absolute(logs.sampled_out);
        self.pending.set(logs.pending as f64);
        self.requests.absolute(logs.export_requests);
        self.failures.absolute(logs.export_failures);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::DroppedLogs;

    #[test]
    fn the_logs_counters_are_rendered_by_reason() {
        let registry = MetricsRegistry::new(&[]);
        let metrics = LogMetrics::new(&registry);
        let mut stats = LogStats {
            recorded: 10,
            exported: 6,
            pending: 1,
            sampled_out: 4,
            ..LogStats::default()
        };
        stats.dropped = DroppedLogs {
            rate_limited: 3,
            ..DroppedLogs::default()
        };
        metrics.update(&stats);
        let text = registry.render();
        for line in [
            "tracing_observer_logs_recorded_total 10",
            "tracing_observer_logs_exported_total 6",
            "tracing_observer_logs_dropped_total{reason=\"rate_limited\"} 3",
            "tracing_observer_logs_dropped_total{reason=\"queue_full\"} 0",
            "tracing_observer_logs_sampled_out_total 4",
            "tracing_observer_logs_pending 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
