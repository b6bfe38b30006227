//! Configuration: defaults, the config file, environment variables and the builder.
//!
//! Sources are layered, each overriding the one before it:
//! defaults < config file (`OBSERVER_CONFIG`) < environment variables < builder methods.
//! Every source is parsed into one layer of settings (all optional), the layers are
//! merged, and the result is resolved into a validated configuration. Each setting is
//! declared once, in the settings table, which gives its environment variables,
//! config-file key, validation and README row. This module exposes the defaults, the
//! environment variable names ([`vars`]) and the enums the builder takes.
//!
//! ```
//! use tracing_observer::config::{vars, DEFAULT_MAX_QUEUE_SIZE};
//! use tracing_observer::Observer;
//!
//! // The builder wins over the environment, which wins over the config file and the defaults.
//! let observer = Observer::builder()
//!     .environment([(vars::OTEL_BSP_MAX_QUEUE_SIZE, "not a number")])
//!     .max_queue_size(DEFAULT_MAX_QUEUE_SIZE / 2)
//!     .build();
//! assert!(observer.is_err(), "an invalid environment variable is reported even when overridden");
//! ```

pub(crate) mod check;
mod declare;
mod defaults;
pub(crate) mod env;
pub(crate) mod file;
pub(crate) mod origin;
pub(crate) mod parse;
mod resolve;
pub(crate) mod table;
#[cfg(test)]
mod tests;

pub use crate::delivery::RetryPolicy;
pub use crate::delivery::{
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_ELAPSED_TIME, DEFAULT_OPEN_TIMEOUT, DEFAULT_WINDOW,
};
pub use crate::export::endpoint::{Compression, Protocol};
pub(crate) use crate::export::endpoint::{
    EndpointPath, EndpointSetting, MetricsExportConfig, OtlpConfig,
};
pub use crate::tally::SpanMetricsProfile;
pub use defaults::*;
pub(crate) use resolve::{BatchConfig, Config, ExporterConfig, LogsConfig};
pub use table::vars;
pub(crate) use table::{key, Settings};

/// Where spans go (`OTEL_TRACES_EXPORTER`).
///
/// ```
/// use tracing_observer::{Observer, config::TracesExporter};
/// let builder = Observer::builder().traces_exporter(TracesExporter::Console);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracesExporter {
    /// OTLP to a collector, the default.
    #[default]
    Otlp,
    /// OTLP/JSON lines on standard error (standard output stays the program's own).
    Console,
    /// Nowhere: spans are counted as dropped with reason `no_exporter`.
    None,
}

/// Where log records go (`OTEL_LOGS_EXPORTER`). Unset, logs follow the traces: OTLP
/// (to the traces' collector) when spans go over OTLP, the console when they go
/// there, nowhere when spans go nowhere or to a custom exporter.
///
/// ```
/// use tracing_observer::{Observer, config::LogsExporter};
/// let builder = Observer::builder().logs_exporter(LogsExporter::None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogsExporter {
    /// OTLP to a collector (`/v1/logs`, `LogsService/Export`).
    Otlp,
    /// One line per record on standard error.
    Console,
    /// Off: events are not captured as log records.
    None,
}

/// Where the observer's metrics go besides `/metrics` (`OTEL_METRICS_EXPORTER`).
///
/// The default is [`None`](Self::None), where the OpenTelemetry spec says `otlp`:
/// the registry is always readable as Prometheus text (`/metrics`,
/// [`Observer::metrics_text`](crate::Observer::metrics_text)), many deployments
/// scrape that or derive span metrics in the collector already, and pushing by
/// default would duplicate those series and send metrics to collectors that have no
/// metrics pipeline. With [`Otlp`](Self::Otlp), every series of the registry (span
/// metrics, self-metrics, process metrics) is also pushed to the collector, every
/// `metric_export_interval`.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{config::MetricsExporter, Observer};
/// let builder = Observer::builder()
///     .metrics_exporter(MetricsExporter::Otlp)
///     .metric_export_interval(Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsExporter {
    /// Metrics stay in the observer's Prometheus registry, the default.
    #[default]
    None,
    /// Metrics are also exported as OTLP metrics to the collector.
    Otlp,
}
