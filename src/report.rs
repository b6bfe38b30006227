//! What the pipeline did: live statistics and the shutdown report.

use serde::ser::SerializeStruct;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Spans that were recorded but not exported, by reason.
///
/// Serialises with a `total` key next to the reasons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedSpans {
    /// The queue was full when the span closed.
    pub queue_full: u64,
    /// The export of the span's batch failed.
    pub export_failed: u64,
    /// `OTEL_TRACES_EXPORTER=none`: there was nowhere to send it.
    pub no_exporter: u64,
    /// Shutdown's timeout passed before the span could be exported.
    pub shutdown: u64,
    /// A failed (or tail-kept) span found both queue lanes full.
    pub error_lane_full: u64,
    /// The span alone was larger than the queue's byte budget.
    pub span_too_large: u64,
}

impl DroppedSpans {
    /// All dropped spans.
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.export_failed
            + self.no_exporter
            + self.shutdown
            + self.error_lane_full
            + self.span_too_large
    }
}

impl serde::Serialize for DroppedSpans {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("DroppedSpans", 7)?;
        s.serialize_field("queue_full", &self.queue_full)?;
        s.serialize_field("export_failed", &self.export_failed)?;
        s.serialize_field("no_exporter", &self.no_exporter)?;
        s.serialize_field("shutdown", &self.shutdown)?;
        s.serialize_field("error_lane_full", &self.error_lane_full)?;
        s.serialize_field("span_too_large", &self.span_too_large)?;
        s.serialize_field("total", &self.total())?;
        s.end()
    }
}

/// A snapshot of the pipeline's counters.
///
/// `recorded == exported + dropped.total() + pending` holds for every snapshot.
///
/// ```
/// let observer = tracing_observer::Observer::builder().build().unwrap();
/// let stats = observer.stats();
/// assert_eq!(stats.recorded, stats.exported + stats.dropped.total() + stats.pending);
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
    /// Export requests made (successful or not).
    pub export_requests: u64,
    /// Export requests that failed.
    pub export_failures: u64,
    /// Failed export requests by kind (`connect`, `timeout`, `unavailable`, …).
    pub export_errors: BTreeMap<String, u64>,
    /// The most recent export error's message.
    pub last_export_error: Option<String>,
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
}

/// What [`Observer::shutdown`](crate::Observer::shutdown) achieved.
///
/// Printable for people (`Display`) and serialisable for programs (`serde`).
///
/// ```
/// use std::time::Duration;
/// let observer = tracing_observer::Observer::builder()
///     .traces_exporter(tracing_observer::TracesExporter::None)
///     .build()
///     .unwrap();
/// let report = observer.shutdown(Duration::from_secs(1));
/// assert!(!report.timed_out);
/// println!("{report}");
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!(json["dropped"]["total"], 0);
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
    pub fn is_complete(&self) -> bool {
        self.stats.recorded == self.stats.exported
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
            "tracing-observer: {} spans recorded, {} exported, {} dropped in {:.3}s",
            s.recorded,
            s.exported,
            s.dropped.total(),
            self.elapsed.as_secs_f64()
        )?;
        if self.timed_out {
            write!(f, " (timed out with {} undelivered)", s.dropped.shutdown)?;
        }
        let d = &s.dropped;
        if d.total() > 0 {
            write!(
                f,
                "\n  dropped: queue_full={} error_lane_full={} span_too_large={} export_failed={} no_exporter={} shutdown={}",
                d.queue_full, d.error_lane_full, d.span_too_large, d.export_failed, d.no_exporter, d.shutdown
            )?;
        }
        write!(
            f,
            "\n  export: {} requests, {} failed",
            s.export_requests, s.export_failures
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
