//! The layout of span metrics: series names, unit and histogram buckets of each
//! [`SpanMetricsProfile`], shared by the host's tallies and the worker's span metrics.

/// The OpenTelemetry Collector spanmetrics connector's default buckets, in milliseconds.
pub(crate) const COLLECTOR_BUCKETS_MS: &[f64] = &[
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10000.0, 15000.0,
];

/// Tempo metrics-generator's default span-metrics buckets, in seconds.
pub(crate) const TEMPO_BUCKETS_S: &[f64] = &[
    0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.02, 2.05, 4.10,
];

/// Bucket bounds a histogram may have (the `+Inf` bucket comes on top): sampled-out
/// spans are bucketed on the host's threads, in fixed arrays.
pub(crate) const MAX_BOUNDS: usize = 16;

const _: () =
    assert!(COLLECTOR_BUCKETS_MS.len() <= MAX_BOUNDS && TEMPO_BUCKETS_S.len() <= MAX_BOUNDS);

/// The naming convention of span metrics.
///
/// | profile | calls | duration | service label |
/// |---|---|---|---|
/// | `Collector` (default) | `traces_span_metrics_calls_total` | `traces_span_metrics_duration_milliseconds_{bucket,sum,count}` | `service_name` |
/// | `Tempo` | `traces_spanmetrics_calls_total` | `traces_spanmetrics_latency_{bucket,sum,count}` (seconds) | `service` |
///
/// Both add `span_name`, `span_kind` (`SPAN_KIND_INTERNAL`, …) and `status_code`
/// (`STATUS_CODE_UNSET`, `STATUS_CODE_OK`, `STATUS_CODE_ERROR`).
///
/// ```no_run
/// use tracing_observer::{Observer, config::SpanMetricsProfile};
/// let observer = Observer::builder()
///     .span_metrics_profile(SpanMetricsProfile::Tempo)
///     .build()?;
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanMetricsProfile {
    /// The OpenTelemetry Collector's spanmetrics connector, exported to Prometheus.
    #[default]
    Collector,
    /// Grafana Tempo's metrics-generator.
    Tempo,
}

impl SpanMetricsProfile {
    pub(crate) fn calls_name(self) -> &'static str {
        match self {
            Self::Collector => "traces_span_metrics_calls_total",
            Self::Tempo => "traces_spanmetrics_calls_total",
        }
    }

    pub(crate) fn duration_name(self) -> &'static str {
        match self {
            Self::Collector => "traces_span_metrics_duration_milliseconds",
            Self::Tempo => "traces_spanmetrics_latency",
        }
    }

    pub(crate) fn buckets(self) -> &'static [f64] {
        match self {
            Self::Collector => COLLECTOR_BUCKETS_MS,
            Self::Tempo => TEMPO_BUCKETS_S,
        }
    }

    pub(crate) fn service_label(self) -> &'static str {
        match self {
            Self::Collector => "service_name",
            Self::Tempo => "service",
        }
    }

    /// Nanoseconds in the duration histogram's unit.
    pub(crate) fn ns_per_unit(self) -> f64 {
        match self {
            Self::Collector => 1e6,
            Self::Tempo => 1e9,
        }
    }

    /// A duration in the duration histogram's unit (as sampled-out spans' tallies
    /// convert theirs, so both land in the same buckets).
    pub(crate) fn duration_value(self, duration_ns: u64) -> f64 {
        duration_ns as f64 / self.ns_per_unit()
    }
}
