//! The logs pipeline's counters, in [`PipelineStats::logs`](super::PipelineStats::logs).

use serde::ser::SerializeStruct;

/// Log records that were recorded but not exported, by reason.
///
/// Serialises with a `total` key next to the reasons.
///
/// ```
/// let mut dropped = tracing_observer::DroppedLogs::default();
/// dropped.rate_limited = 3;
/// assert_eq!(dropped.total(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedLogs {
    /// The logs queue was full.
    pub queue_full: u64,
    /// A warning or an error found both lanes of the logs queue full.
    pub error_lane_full: u64,
    /// The record alone was larger than the logs queue's byte budget.
    pub too_large: u64,
    /// Its callsite was over `logs_rate_limit`.
    pub rate_limited: u64,
    /// The export of its batch failed and there is no spool.
    pub export_failed: u64,
    /// `OTEL_LOGS_EXPORTER=none` without a spool: nowhere to send it.
    pub no_exporter: u64,
    /// The logs spool was over its budget.
    pub spool_full: u64,
    /// Writing to the logs spool failed.
    pub spool_error: u64,
    /// The collector accepted the batch but rejected these records (partial success).
    pub rejected: u64,
    /// Shutdown's timeout passed before the record could be exported.
    pub shutdown: u64,
}

impl DroppedLogs {
    /// All dropped log records.
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.error_lane_full
            + self.too_large
            + self.rate_limited
            + self.export_failed
            + self.no_exporter
            + self.spool_full
            + self.spool_error
            + self.rejected
            + self.shutdown
    }
}

impl serde::Serialize for DroppedLogs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("DroppedLogs", 11)?;
        s.serialize_field("queue_full", &self.queue_full)?;
        s.serialize_field("error_lane_full", &self.error_lane_full)?;
        s.serialize_field("too_large", &self.too_large)?;
        s.serialize_field("rate_limited", &self.rate_limited)?;
        s.serialize_field("export_failed", &self.export_failed)?;
        s.serialize_field("no_exporter", &self.no_exporter)?;
        s.serialize_field("spool_full", &self.spool_full)?;
        s.serialize_field("spool_error", &self.spool_error)?;
        s.serialize_field("rejected", &self.rejected)?;
        s.serialize_field("shutdown", &self.shutdown)?;
        s.serialize_field("total", &self.total())?;
        s.end()
    }
}

/// What the logs pipeline did. `recorded == exported + spooled + dropped.total() +
/// pending`; records of sampled-out traces below WARN are counted in `sampled_out`,
/// outside `recorded`, as sampled-out spans are.
///
/// ```no_run
/// # let observer = tracing_observer::Observer::builder().build()?;
/// let logs = observer.stats().logs;
/// println!("{} log records exported, {} dropped", logs.exported, logs.dropped.total());
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LogStats {
    /// Whether events are exported as logs (`OTEL_LOGS_EXPORTER` is not `none`).
    pub enabled: bool,
    /// Events at or above the logs level handed to the logs pipeline.
    pub recorded: u64,
    /// Log records the collector accepted.
    pub exported: u64,
    /// Log records written to the logs spool.
    pub spooled: u64,
    /// Log records sent from the logs spool and acknowledged.
    pub replayed: u64,
    /// Log records queued or in an export under way.
    pub pending: u64,
    /// Log records dropped, by reason.
    pub dropped: DroppedLogs,
    /// Events below WARN in traces head sampling dropped: not exported, as their traces.
    pub sampled_out: u64,
    /// Attributes cut by `max_attributes_per_log`.
    pub attributes_dropped: u64,
    /// Values cut to the value length limit.
    pub values_truncated: u64,
    /// Logs export requests made (live and replayed).
    pub export_requests: u64,
    /// Logs export requests that failed.
    pub export_failures: u64,
    /// The most recent logs export error's message.
    pub last_export_error: Option<String>,
}
