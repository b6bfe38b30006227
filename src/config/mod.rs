//! Configuration: defaults, the config file, environment variables and the builder.
//!
//! Sources are layered, each overriding the one before it:
//! defaults < config file (`OBSERVER_CONFIG`) < environment variables < builder methods.
//! Every source is parsed into one layer of settings (all optional), the layers are
//! merged, and the result is resolved into a validated configuration. This module
//! exposes the defaults, the environment variable names ([`vars`]) and the enums the
//! builder takes.
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

pub(crate) mod env;
pub(crate) mod file;
pub(crate) mod parse;

pub use crate::delivery::{
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_ELAPSED_TIME, DEFAULT_OPEN_TIMEOUT, DEFAULT_WINDOW,
};
pub use env::vars;

use crate::error::BuildError;
use crate::metrics::span::SpanMetricsConfig;
use crate::metrics::SpanMetricsProfile;
use crate::record::Limits;
use crate::sampling::{Sampler, SamplingRule};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Spans held in the queue at most (`OTEL_BSP_MAX_QUEUE_SIZE`).
///
/// Larger than the spec's 2048: this observer never blocks the host, so the queue is
/// what absorbs bursts, and records are compact.
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_QUEUE_SIZE;
/// assert_eq!(DEFAULT_MAX_QUEUE_SIZE, 65_536);
/// let builder = tracing_observer::Observer::builder().max_queue_size(DEFAULT_MAX_QUEUE_SIZE / 4);
/// ```
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 65_536;
/// Bytes the queue holds at most, both lanes together (`OBSERVER_MAX_QUEUE_BYTES`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_QUEUE_BYTES;
/// assert_eq!(DEFAULT_MAX_QUEUE_BYTES, 64 * 1024 * 1024);
/// let builder = tracing_observer::Observer::builder().max_queue_bytes(DEFAULT_MAX_QUEUE_BYTES / 4);
/// ```
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Spans per export request at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_EXPORT_BATCH_SIZE;
/// assert_eq!(DEFAULT_MAX_EXPORT_BATCH_SIZE, 512);
/// let builder = tracing_observer::Observer::builder().max_export_batch_size(DEFAULT_MAX_EXPORT_BATCH_SIZE * 2);
/// ```
pub const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;
/// Longest wait before a partial batch is exported (`OTEL_BSP_SCHEDULE_DELAY`).
///
/// ```
/// use tracing_observer::config::DEFAULT_SCHEDULED_DELAY;
/// assert_eq!(DEFAULT_SCHEDULED_DELAY, std::time::Duration::from_secs(5));
/// let builder = tracing_observer::Observer::builder().scheduled_delay(DEFAULT_SCHEDULED_DELAY / 10);
/// ```
pub const DEFAULT_SCHEDULED_DELAY: Duration = Duration::from_millis(5_000);
/// Export requests in flight at once (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_CONCURRENT_EXPORTS;
/// assert_eq!(DEFAULT_MAX_CONCURRENT_EXPORTS, 4);
/// let builder = tracing_observer::Observer::builder().max_concurrent_exports(DEFAULT_MAX_CONCURRENT_EXPORTS * 2);
/// ```
pub const DEFAULT_MAX_CONCURRENT_EXPORTS: usize = 4;
/// Longest time one batch export may take (`OTEL_BSP_EXPORT_TIMEOUT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_EXPORT_TIMEOUT;
/// assert_eq!(DEFAULT_EXPORT_TIMEOUT, std::time::Duration::from_secs(30));
/// let builder = tracing_observer::Observer::builder().export_timeout(DEFAULT_EXPORT_TIMEOUT / 3);
/// ```
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_millis(30_000);
/// Longest time one OTLP request may take (`OTEL_EXPORTER_OTLP_TIMEOUT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_REQUEST_TIMEOUT;
/// assert_eq!(DEFAULT_REQUEST_TIMEOUT, std::time::Duration::from_secs(10));
/// let builder = tracing_observer::Observer::builder().request_timeout(DEFAULT_REQUEST_TIMEOUT / 5);
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(10_000);
/// The shutdown timeout used when the [`Observer`](crate::Observer) is dropped (`OBSERVER_SHUTDOWN_TIMEOUT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_SHUTDOWN_TIMEOUT;
/// assert_eq!(DEFAULT_SHUTDOWN_TIMEOUT, std::time::Duration::from_secs(5));
/// let builder = tracing_observer::Observer::builder().shutdown_timeout(DEFAULT_SHUTDOWN_TIMEOUT * 2);
/// ```
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Attributes kept per span (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_ATTRIBUTES_PER_SPAN;
/// assert_eq!(DEFAULT_MAX_ATTRIBUTES_PER_SPAN, 128);
/// let builder = tracing_observer::Observer::builder().max_attributes_per_span(DEFAULT_MAX_ATTRIBUTES_PER_SPAN / 2);
/// ```
pub const DEFAULT_MAX_ATTRIBUTES_PER_SPAN: usize = 128;
/// Attributes kept per event (`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_ATTRIBUTES_PER_EVENT;
/// assert_eq!(DEFAULT_MAX_ATTRIBUTES_PER_EVENT, 128);
/// let builder = tracing_observer::Observer::builder().max_attributes_per_event(DEFAULT_MAX_ATTRIBUTES_PER_EVENT / 2);
/// ```
pub const DEFAULT_MAX_ATTRIBUTES_PER_EVENT: usize = 128;
/// Events kept per span (`OTEL_SPAN_EVENT_COUNT_LIMIT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_EVENTS_PER_SPAN;
/// assert_eq!(DEFAULT_MAX_EVENTS_PER_SPAN, 128);
/// let builder = tracing_observer::Observer::builder().max_events_per_span(DEFAULT_MAX_EVENTS_PER_SPAN * 2);
/// ```
pub const DEFAULT_MAX_EVENTS_PER_SPAN: usize = 128;
/// Links kept per span (`OTEL_SPAN_LINK_COUNT_LIMIT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_LINKS_PER_SPAN;
/// assert_eq!(DEFAULT_MAX_LINKS_PER_SPAN, 128);
/// let builder = tracing_observer::Observer::builder().max_links_per_span(DEFAULT_MAX_LINKS_PER_SPAN / 2);
/// ```
pub const DEFAULT_MAX_LINKS_PER_SPAN: usize = 128;
/// Bytes kept of one attribute value (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`); the spec has no
/// default limit, this crate bounds values so a hostile field cannot blow memory.
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES;
/// assert_eq!(DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, 4096);
/// let builder = tracing_observer::Observer::builder().max_attribute_value_bytes(DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES * 4);
/// ```
pub const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES: usize = 4096;
/// Span-metrics label sets at most (`OBSERVER_SPAN_METRICS_MAX_SERIES`); further spans
/// are counted under `span_name="other"`.
///
/// ```
/// use tracing_observer::config::DEFAULT_SPAN_METRICS_MAX_SERIES;
/// assert_eq!(DEFAULT_SPAN_METRICS_MAX_SERIES, 1000);
/// let builder = tracing_observer::Observer::builder().span_metrics_max_series(DEFAULT_SPAN_METRICS_MAX_SERIES * 5);
/// ```
pub const DEFAULT_SPAN_METRICS_MAX_SERIES: usize = 1000;
/// How often process resources are sampled (`OBSERVER_RESOURCE_INTERVAL`).
///
/// ```
/// use tracing_observer::config::DEFAULT_RESOURCE_INTERVAL;
/// assert_eq!(DEFAULT_RESOURCE_INTERVAL, std::time::Duration::from_secs(5));
/// let builder = tracing_observer::Observer::builder().resource_interval(DEFAULT_RESOURCE_INTERVAL * 6);
/// ```
pub const DEFAULT_RESOURCE_INTERVAL: Duration = Duration::from_secs(5);
/// Worker failures in a row before the observer disables itself (`OBSERVER_MAX_WORKER_RESTARTS`).
///
/// ```
/// use tracing_observer::config::DEFAULT_MAX_WORKER_RESTARTS;
/// assert_eq!(DEFAULT_MAX_WORKER_RESTARTS, 3);
/// let builder = tracing_observer::Observer::builder().max_worker_restarts(DEFAULT_MAX_WORKER_RESTARTS + 2);
/// ```
pub const DEFAULT_MAX_WORKER_RESTARTS: usize = 3;
/// The gRPC endpoint used when none is configured.
///
/// ```
/// use tracing_observer::config::DEFAULT_GRPC_ENDPOINT;
/// assert_eq!(DEFAULT_GRPC_ENDPOINT, "http://localhost:4317");
/// let builder = tracing_observer::Observer::builder().endpoint(DEFAULT_GRPC_ENDPOINT);
/// ```
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// The HTTP endpoint used when none is configured.
///
/// ```
/// use tracing_observer::config::DEFAULT_HTTP_ENDPOINT;
/// assert_eq!(DEFAULT_HTTP_ENDPOINT, "http://localhost:4318/v1/traces");
/// let builder = tracing_observer::Observer::builder()
///     .protocol(tracing_observer::Protocol::HttpProtobuf)
///     .endpoint(DEFAULT_HTTP_ENDPOINT);
/// ```
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// The OTLP/HTTP metrics endpoint used when no endpoint is configured (gRPC metrics
/// use [`DEFAULT_GRPC_ENDPOINT`]).
///
/// ```
/// use tracing_observer::config::DEFAULT_HTTP_METRICS_ENDPOINT;
/// assert_eq!(DEFAULT_HTTP_METRICS_ENDPOINT, "http://localhost:4318/v1/metrics");
/// let builder = tracing_observer::Observer::builder().metrics_endpoint(DEFAULT_HTTP_METRICS_ENDPOINT);
/// ```
pub const DEFAULT_HTTP_METRICS_ENDPOINT: &str = "http://localhost:4318/v1/metrics";
/// How often metrics are exported over OTLP, when they are (`OTEL_METRIC_EXPORT_INTERVAL`).
///
/// ```
/// use tracing_observer::config::DEFAULT_METRIC_EXPORT_INTERVAL;
/// assert_eq!(DEFAULT_METRIC_EXPORT_INTERVAL.as_secs(), 60);
/// let builder = tracing_observer::Observer::builder().metric_export_interval(DEFAULT_METRIC_EXPORT_INTERVAL);
/// ```
pub const DEFAULT_METRIC_EXPORT_INTERVAL: Duration = Duration::from_millis(60_000);
/// Longest time one OTLP metrics export may take (`OTEL_METRIC_EXPORT_TIMEOUT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_METRIC_EXPORT_TIMEOUT;
/// assert_eq!(DEFAULT_METRIC_EXPORT_TIMEOUT.as_secs(), 30);
/// let builder = tracing_observer::Observer::builder().metric_export_timeout(DEFAULT_METRIC_EXPORT_TIMEOUT);
/// ```
pub const DEFAULT_METRIC_EXPORT_TIMEOUT: Duration = Duration::from_millis(30_000);

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
///
/// ```
/// use tracing_observer::{Observer, Protocol};
/// let builder = Observer::builder().protocol(Protocol::HttpProtobuf);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over gRPC (`grpc`), the default.
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP over HTTP with JSON bodies (`http/json`).
    #[serde(rename = "http/json")]
    HttpJson,
}

/// Compression of export requests (`OTEL_EXPORTER_OTLP_COMPRESSION`).
///
/// ```
/// use tracing_observer::{Compression, Observer};
/// let builder = Observer::builder().compression(Compression::Gzip);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression, the default.
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// Where spans go (`OTEL_TRACES_EXPORTER`).
///
/// ```
/// use tracing_observer::{Observer, TracesExporter};
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
/// use tracing_observer::{MetricsExporter, Observer};
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

/// How an endpoint's path is completed for OTLP/HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndpointPath {
    /// Used as given (`OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`).
    Exact,
    /// A base URL: `v1/traces` (`v1/metrics`) is appended (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    Base,
    /// `/v1/traces` (`/v1/metrics`) is appended only when the URL has no path (builder, config file).
    AppendIfEmpty,
}

/// A configured endpoint with where it came from.
#[derive(Clone, Debug)]
pub(crate) struct EndpointSetting {
    pub(crate) url: url::Url,
    pub(crate) path: EndpointPath,
}

/// One layer of configuration: every field optional, later layers win.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    pub(crate) service_name: Option<String>,
    /// The service name when no layer names one (builder only).
    pub(crate) default_service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) traces_exporter: Option<TracesExporter>,
    pub(crate) endpoint: Option<EndpointSetting>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: Option<Compression>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) insecure: Option<(bool, String)>,
    pub(crate) certificate: Option<(PathBuf, String)>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) max_queue_bytes: Option<usize>,
    pub(crate) max_concurrent_exports: Option<usize>,
    pub(crate) scheduled_delay: Option<Duration>,
    pub(crate) export_timeout: Option<Duration>,
    pub(crate) max_attributes_per_span: Option<usize>,
    pub(crate) max_events_per_span: Option<usize>,
    pub(crate) max_attributes_per_event: Option<usize>,
    pub(crate) max_links_per_span: Option<usize>,
    pub(crate) max_attribute_value_bytes: Option<usize>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) disabled: Option<bool>,
    pub(crate) redact_fields: Option<Vec<String>>,
    pub(crate) allow_fields: Option<Vec<String>>,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) sampling_rules: Option<(Vec<SamplingRule>, String)>,
    pub(crate) keep_errors: Option<bool>,
    pub(crate) slow_span_threshold: Option<Duration>,
    pub(crate) overhead_budget: Option<f64>,
    pub(crate) spool: Option<bool>,
    pub(crate) spool_dir: Option<PathBuf>,
    pub(crate) spool_max_bytes: Option<u64>,
    pub(crate) spool_retention: Option<Duration>,
    pub(crate) spool_archive_dir: Option<PathBuf>,
    pub(crate) spool_archive_compress: Option<bool>,
    pub(crate) spool_cleanup_interval: Option<Duration>,
    pub(crate) spool_sync_interval: Option<Duration>,
    pub(crate) circuit_breaker_threshold: Option<u32>,
    pub(crate) circuit_breaker_timeout: Option<Duration>,
    /// The failure-rate rule: rate and minimum calls in the window.
    pub(crate) circuit_breaker_failure_rate: Option<(f64, u32)>,
    pub(crate) circuit_breaker_window: Option<Duration>,
    pub(crate) retry_initial_backoff: Option<Duration>,
    pub(crate) retry_max_backoff: Option<Duration>,
    pub(crate) retry_max_elapsed_time: Option<Duration>,
    /// Where the default spool directory is: `XDG_DATA_HOME` or `HOME` (environment only).
    pub(crate) data_home: Option<PathBuf>,
    pub(crate) span_metrics: Option<bool>,
    pub(crate) span_metrics_profile: Option<SpanMetricsProfile>,
    pub(crate) span_metrics_dimensions: Option<Vec<String>>,
    pub(crate) span_metrics_max_series: Option<usize>,
    /// The endpoints' address, and where it was set (for the bind error).
    pub(crate) http_addr: Option<(SocketAddr, String)>,
    pub(crate) resource_interval: Option<Duration>,
    pub(crate) panic_hook: Option<bool>,
    pub(crate) cpu_time: Option<bool>,
    pub(crate) max_worker_restarts: Option<usize>,
    pub(crate) metrics_exporter: Option<MetricsExporter>,
    pub(crate) metric_export_interval: Option<Duration>,
    pub(crate) metric_export_timeout: Option<Duration>,
    /// The metrics endpoint; without it, the traces endpoint's.
    pub(crate) metrics_endpoint: Option<EndpointSetting>,
    /// The metrics protocol; without it, the traces'.
    pub(crate) metrics_protocol: Option<Protocol>,
}

/// The export destination, resolved.
#[derive(Clone, Debug)]
pub(crate) enum ExporterConfig {
    Otlp(OtlpConfig),
    Console,
    None,
}

/// OTLP export settings, resolved and validated.
#[derive(Clone, Debug)]
pub(crate) struct OtlpConfig {
    pub(crate) protocol: Protocol,
    pub(crate) endpoint: url::Url,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: Compression,
    pub(crate) timeout: Duration,
    /// PEM bytes of the CA certificate to trust, read at build time.
    pub(crate) certificate: Option<Vec<u8>>,
}

/// OTLP metrics export, resolved: where, how often, and the bound of one export.
#[derive(Clone, Debug)]
pub(crate) struct MetricsExportConfig {
    /// The transport; its `timeout` is the smaller of the request and export timeouts.
    pub(crate) otlp: OtlpConfig,
    pub(crate) interval: Duration,
}

/// Batching settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchConfig {
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) max_concurrent_exports: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) export_timeout: Duration,
}

/// The complete, validated configuration.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) service_name: String,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) exporter: ExporterConfig,
    pub(crate) batch: BatchConfig,
    pub(crate) limits: Limits,
    pub(crate) redact_fields: Vec<String>,
    pub(crate) allow_fields: Option<Vec<String>>,
    pub(crate) sampler: Sampler,
    pub(crate) sampling_rules: Vec<SamplingRule>,
    pub(crate) keep_errors: bool,
    pub(crate) slow_span_threshold: Option<Duration>,
    pub(crate) overhead_budget: Option<f64>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) disabled: bool,
    pub(crate) span_metrics: SpanMetricsConfig,
    pub(crate) http_addr: Option<(SocketAddr, String)>,
    pub(crate) resource_interval: Duration,
    pub(crate) panic_hook: bool,
    pub(crate) max_worker_restarts: usize,
    pub(crate) delivery: DeliveryConfig,
    /// OTLP metrics export, when on.
    pub(crate) metrics_export: Option<MetricsExportConfig>,
}

/// Retry, circuit breaker and spool settings, resolved.
#[derive(Clone, Debug)]
pub(crate) struct DeliveryConfig {
    pub(crate) retry: crate::delivery::RetryPolicy,
    pub(crate) breaker: crate::delivery::BreakerConfig,
    pub(crate) spool: Option<crate::spool::SpoolConfig>,
}

// === impl Settings ===

impl Settings {
    /// This layer with `over` on top: every value `over` sets wins.
    pub(crate) fn overlay(self, over: Settings) -> Settings {
        fn merge(
            mut base: Vec<(String, String)>,
            over: Vec<(String, String)>,
        ) -> Vec<(String, String)> {
            for (key, value) in over {
                match base.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => base.push((key, value)),
                }
            }
            base
        }
        Settings {
            service_name: over.service_name.or(self.service_name),
            default_service_name: over.default_service_name.or(self.default_service_name),
            service_version: over.service_version.or(self.service_version),
            resource_attributes: merge(self.resource_attributes, over.resource_attributes),
            traces_exporter: over.traces_exporter.or(self.traces_exporter),
            endpoint: over.endpoint.or(self.endpoint),
            protocol: over.protocol.or(self.protocol),
            headers: merge(self.headers, over.headers),
            compression: over.compression.or(self.compression),
            request_timeout: over.request_timeout.or(self.request_timeout),
            insecure: over.insecure.or(self.insecure),
            certificate: over.certificate.or(self.certificate),
            max_queue_size: over.max_queue_size.or(self.max_queue_size),
            max_export_batch_size: over.max_export_batch_size.or(self.max_export_batch_size),
            max_concurrent_exports: over.max_concurrent_exports.or(self.max_concurrent_exports),
            max_queue_bytes: over.max_queue_bytes.or(self.max_queue_bytes),
            scheduled_delay: over.scheduled_delay.or(self.scheduled_delay),
            export_timeout: over.export_timeout.or(self.export_timeout),
            max_attributes_per_span: over
                .max_attributes_per_span
                .or(self.max_attributes_per_span),
            max_events_per_span: over.max_events_per_span.or(self.max_events_per_span),
            max_attributes_per_event: over
                .max_attributes_per_event
                .or(self.max_attributes_per_event),
            max_links_per_span: over.max_links_per_span.or(self.max_links_per_span),
            max_attribute_value_bytes: over
                .max_attribute_value_bytes
                .or(self.max_attribute_value_bytes),
            shutdown_timeout: over.shutdown_timeout.or(self.shutdown_timeout),
            disabled: over.disabled.or(self.disabled),
            redact_fields: over.redact_fields.or(self.redact_fields),
            allow_fields: over.allow_fields.or(self.allow_fields),
            sampler: over.sampler.or(self.sampler),
            sampling_rules: over.sampling_rules.or(self.sampling_rules),
            keep_errors: over.keep_errors.or(self.keep_errors),
            slow_span_threshold: over.slow_span_threshold.or(self.slow_span_threshold),
            overhead_budget: over.overhead_budget.or(self.overhead_budget),
            spool: over.spool.or(self.spool),
            spool_dir: over.spool_dir.or(self.spool_dir),
            spool_max_bytes: over.spool_max_bytes.or(self.spool_max_bytes),
            spool_retention: over.spool_retention.or(self.spool_retention),
            spool_archive_dir: over.spool_archive_dir.or(self.spool_archive_dir),
            spool_archive_compress: over.spool_archive_compress.or(self.spool_archive_compress),
            spool_cleanup_interval: over.spool_cleanup_interval.or(self.spool_cleanup_interval),
            spool_sync_interval: over.spool_sync_interval.or(self.spool_sync_interval),
            circuit_breaker_threshold: over
                .circuit_breaker_threshold
                .or(self.circuit_breaker_threshold),
            circuit_breaker_timeout: over
                .circuit_breaker_timeout
                .or(self.circuit_breaker_timeout),
            circuit_breaker_failure_rate: over
                .circuit_breaker_failure_rate
                .or(self.circuit_breaker_failure_rate),
            circuit_breaker_window: over.circuit_breaker_window.or(self.circuit_breaker_window),
            retry_initial_backoff: over.retry_initial_backoff.or(self.retry_initial_backoff),
            retry_max_backoff: over.retry_max_backoff.or(self.retry_max_backoff),
            retry_max_elapsed_time: over.retry_max_elapsed_time.or(self.retry_max_elapsed_time),
            data_home: over.data_home.or(self.data_home),
            span_metrics: over.span_metrics.or(self.span_metrics),
            span_metrics_profile: over.span_metrics_profile.or(self.span_metrics_profile),
            span_metrics_dimensions: over
                .span_metrics_dimensions
                .or(self.span_metrics_dimensions),
            span_metrics_max_series: over
                .span_metrics_max_series
                .or(self.span_metrics_max_series),
            http_addr: over.http_addr.or(self.http_addr),
            resource_interval: over.resource_interval.or(self.resource_interval),
            cpu_time: over.cpu_time.or(self.cpu_time),
            panic_hook: over.panic_hook.or(self.panic_hook),
            max_worker_restarts: over.max_worker_restarts.or(self.max_worker_restarts),
            metrics_exporter: over.metrics_exporter.or(self.metrics_exporter),
            metric_export_interval: over.metric_export_interval.or(self.metric_export_interval),
            metric_export_timeout: over.metric_export_timeout.or(self.metric_export_timeout),
            metrics_endpoint: over.metrics_endpoint.or(self.metrics_endpoint),
            metrics_protocol: over.metrics_protocol.or(self.metrics_protocol),
        }
    }

    /// Applies defaults and validates the combination.
    pub(crate) fn resolve(mut self) -> Result<Config, BuildError> {
        let max_queue_size = self.max_queue_size.unwrap_or(DEFAULT_MAX_QUEUE_SIZE);
        let batch = BatchConfig {
            max_queue_size,
            // The spec requires batch <= queue; like the SDKs we clamp rather than refuse.
            max_export_batch_size: self
                .max_export_batch_size
                .unwrap_or(DEFAULT_MAX_EXPORT_BATCH_SIZE)
                .min(max_queue_size),
            max_queue_bytes: self.max_queue_bytes.unwrap_or(DEFAULT_MAX_QUEUE_BYTES),
            max_concurrent_exports: self
                .max_concurrent_exports
                .unwrap_or(DEFAULT_MAX_CONCURRENT_EXPORTS),
            scheduled_delay: self.scheduled_delay.unwrap_or(DEFAULT_SCHEDULED_DELAY),
            export_timeout: self.export_timeout.unwrap_or(DEFAULT_EXPORT_TIMEOUT),
        };
        let limits = Limits {
            max_attributes: self
                .max_attributes_per_span
                .unwrap_or(DEFAULT_MAX_ATTRIBUTES_PER_SPAN),
            max_events: self
                .max_events_per_span
                .unwrap_or(DEFAULT_MAX_EVENTS_PER_SPAN),
            max_event_attributes: self
                .max_attributes_per_event
                .unwrap_or(DEFAULT_MAX_ATTRIBUTES_PER_EVENT),
            max_links: self
                .max_links_per_span
                .unwrap_or(DEFAULT_MAX_LINKS_PER_SPAN),
            max_value_bytes: self
                .max_attribute_value_bytes
                .unwrap_or(DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES),
            thread_cpu_time: self.cpu_time.unwrap_or(false),
        };
        let exporter = match self.traces_exporter.unwrap_or_default() {
            TracesExporter::Otlp => ExporterConfig::Otlp(resolve_otlp(&self)?),
            TracesExporter::Console => ExporterConfig::Console,
            TracesExporter::None => ExporterConfig::None,
        };
        let mut resource_attributes = std::mem::take(&mut self.resource_attributes);
        if let Some(version) = self.service_version.take() {
            resource_attributes.retain(|(k, _)| k != "service.version");
            resource_attributes.push(("service.version".into(), version));
        }
        let service_name = self
            .service_name
            .clone()
            .or_else(|| {
                resource_attributes
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .or_else(|| self.default_service_name.clone())
            .unwrap_or_else(default_service_name);
        resource_attributes.retain(|(k, _)| k != "service.name");
        let delivery = self.delivery(&service_name);
        let metrics_export = resolve_metrics(&self)?;
        Ok(Config {
            delivery,
            metrics_export,
            service_name,
            resource_attributes,
            exporter,
            batch,
            limits,
            redact_fields: self.redact_fields.unwrap_or_else(|| {
                crate::record::policy::DEFAULT_REDACT_PATTERNS
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect()
            }),
            allow_fields: self.allow_fields,
            sampler: self.sampler.unwrap_or_default(),
            sampling_rules: match self.sampling_rules {
                None => Vec::new(),
                Some((rules, origin)) => {
                    for rule in &rules {
                        rule.validate().map_err(|reason| {
                            BuildError::invalid(&origin, format!("{rule:?}"), reason)
                        })?;
                    }
                    rules
                }
            },
            keep_errors: self.keep_errors.unwrap_or(true),
            slow_span_threshold: self.slow_span_threshold,
            overhead_budget: self.overhead_budget,
            shutdown_timeout: self.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            disabled: self.disabled.unwrap_or(false),
            span_metrics: SpanMetricsConfig {
                enabled: self.span_metrics.unwrap_or(true),
                profile: self.span_metrics_profile.unwrap_or_default(),
                dimensions: self.span_metrics_dimensions.unwrap_or_default(),
                max_series: self
                    .span_metrics_max_series
                    .unwrap_or(DEFAULT_SPAN_METRICS_MAX_SERIES),
                cpu_time: self.cpu_time.unwrap_or(false),
            },
            http_addr: self.http_addr,
            resource_interval: match self.resource_interval {
                Some(interval) if interval.is_zero() => {
                    return Err(BuildError::invalid(
                        "resource_interval",
                        "0s",
                        "must be greater than zero",
                    ))
                }
                Some(interval) => interval,
                None => DEFAULT_RESOURCE_INTERVAL,
            },
            panic_hook: self.panic_hook.unwrap_or(false),
            max_worker_restarts: self
                .max_worker_restarts
                .unwrap_or(DEFAULT_MAX_WORKER_RESTARTS),
        })
    }
}

impl Settings {
    fn delivery(&self, service_name: &str) -> DeliveryConfig {
        use crate::delivery::{BreakerConfig, RetryPolicy};
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy::default()
            .initial_backoff(
                self.retry_initial_backoff
                    .unwrap_or(defaults.initial_backoff),
            )
            .max_backoff(self.retry_max_backoff.unwrap_or(defaults.max_backoff))
            .max_elapsed_time(
                self.retry_max_elapsed_time
                    .unwrap_or(defaults.max_elapsed_time),
            );
        let mut breaker = BreakerConfig::default();
        if let Some(n) = self.circuit_breaker_threshold {
            breaker = breaker.failure_threshold(n);
        }
        if let Some(t) = self.circuit_breaker_timeout {
            breaker = breaker.open_timeout(t);
        }
        if let Some((rate, min_calls)) = self.circuit_breaker_failure_rate {
            breaker = breaker.failure_rate(rate, min_calls);
        }
        if let Some(window) = self.circuit_breaker_window {
            breaker = breaker.window(window);
        }
        let spool =
            self.spool
                .unwrap_or(true)
                .then(|| crate::spool::SpoolConfig {
                    dir: self.spool_dir.clone().unwrap_or_else(|| {
                        default_spool_dir(self.data_home.as_deref(), service_name)
                    }),
                    max_bytes: self
                        .spool_max_bytes
                        .unwrap_or(crate::spool::DEFAULT_MAX_BYTES),
                    retention: self
                        .spool_retention
                        .unwrap_or(crate::spool::DEFAULT_RETENTION),
                    archive_dir: self.spool_archive_dir.clone(),
                    archive_compress: self.spool_archive_compress.unwrap_or(false),
                    cleanup_interval: self
                        .spool_cleanup_interval
                        .unwrap_or(crate::spool::DEFAULT_CLEANUP_INTERVAL),
                    sync_interval: self
                        .spool_sync_interval
                        .unwrap_or(crate::spool::DEFAULT_SYNC_INTERVAL),
                });
        DeliveryConfig {
            retry,
            breaker,
            spool,
        }
    }
}

/// `DATA_HOME/tracing-observer/<service>`, the service name made file-name safe;
/// without a data home, under the temporary directory.
fn default_spool_dir(data_home: Option<&std::path::Path>, service_name: &str) -> PathBuf {
    let safe: String = service_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_home
        .map_or_else(std::env::temp_dir, std::path::Path::to_path_buf)
        .join("tracing-observer")
        .join(safe)
}

fn resolve_otlp(settings: &Settings) -> Result<OtlpConfig, BuildError> {
    let protocol = settings.protocol.unwrap_or_default();
    let endpoint = match &settings.endpoint {
        None if protocol == Protocol::Grpc => url::Url::parse(DEFAULT_GRPC_ENDPOINT),
        None => url::Url::parse(DEFAULT_HTTP_ENDPOINT),
        Some(setting) => Ok(complete_endpoint(setting, protocol, Signal::Traces)),
    }
    .expect("default endpoints are valid URLs");
    otlp_config(settings, protocol, endpoint)
}

/// The OTLP metrics export, when `metrics_exporter` is `otlp`: the metrics endpoint and
/// protocol when set, else the traces'; headers, compression and TLS are the traces'.
fn resolve_metrics(settings: &Settings) -> Result<Option<MetricsExportConfig>, BuildError> {
    if settings.metrics_exporter.unwrap_or_default() == MetricsExporter::None {
        return Ok(None);
    }
    // Zero is refused where each value is read (builder, file, environment).
    let interval = settings
        .metric_export_interval
        .unwrap_or(DEFAULT_METRIC_EXPORT_INTERVAL);
    let export_timeout = settings
        .metric_export_timeout
        .unwrap_or(DEFAULT_METRIC_EXPORT_TIMEOUT);
    let protocol = settings
        .metrics_protocol
        .or(settings.protocol)
        .unwrap_or_default();
    let endpoint = match (&settings.metrics_endpoint, &settings.endpoint) {
        (Some(setting), _) => complete_endpoint(setting, protocol, Signal::Metrics),
        (None, Some(traces)) => metrics_from_traces(traces, protocol)?,
        (None, None) if protocol == Protocol::Grpc => {
            url::Url::parse(DEFAULT_GRPC_ENDPOINT).expect("a valid URL")
        }
        (None, None) => url::Url::parse(DEFAULT_HTTP_METRICS_ENDPOINT).expect("a valid URL"),
    };
    let mut otlp = otlp_config(settings, protocol, endpoint)?;
    // One request per export, never retried: the export's bound is the request's.
    otlp.timeout = otlp.timeout.min(export_timeout);
    Ok(Some(MetricsExportConfig { otlp, interval }))
}

/// The metrics URL that goes with the traces endpoint: for HTTP, `/v1/metrics` where
/// the traces get `/v1/traces`. A traces URL with a path of its own says nothing about
/// where metrics go: that is an error naming the setting to use.
fn metrics_from_traces(
    traces: &EndpointSetting,
    protocol: Protocol,
) -> Result<url::Url, BuildError> {
    let mut url = complete_endpoint(traces, protocol, Signal::Traces);
    if protocol == Protocol::Grpc || traces.path == EndpointPath::Base {
        return Ok(complete_endpoint(traces, protocol, Signal::Metrics));
    }
    let path = url.path().to_owned();
    match path.strip_suffix(Signal::Traces.path()) {
        Some(base) => {
            url.set_path(&format!("{base}{}", Signal::Metrics.path()));
            Ok(url)
        }
        None => Err(BuildError::invalid(
            "metrics_endpoint",
            url.as_str(),
            "the traces endpoint has its own path, so the metrics URL cannot be derived \
             from it; set metrics_endpoint or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        )),
    }
}

/// The transport settings shared by traces and metrics, for `endpoint`.
fn otlp_config(
    settings: &Settings,
    protocol: Protocol,
    endpoint: url::Url,
) -> Result<OtlpConfig, BuildError> {
    if let Some((true, origin)) = &settings.insecure {
        if endpoint.scheme() == "https" {
            return Err(BuildError::invalid(
                origin,
                "true",
                format!("conflicts with the https endpoint {endpoint}; use an http:// endpoint for plaintext"),
            ));
        }
    }
    let certificate = match &settings.certificate {
        None => None,
        Some((path, origin)) => Some(std::fs::read(path).map_err(|e| {
            BuildError::invalid(
                origin,
                path.display().to_string(),
                format!("cannot read the certificate: {e}"),
            )
        })?),
    };
    Ok(OtlpConfig {
        protocol,
        endpoint,
        headers: settings.headers.clone(),
        compression: settings.compression.unwrap_or_default(),
        timeout: settings.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
        certificate,
    })
}

/// The kind of telemetry an endpoint is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

impl Signal {
    /// The OTLP/HTTP path of the signal.
    fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
        }
    }
}

/// Completes an endpoint for the protocol: gRPC uses scheme and authority only;
/// HTTP gets the signal's path (`/v1/traces`) by the endpoint's rule.
fn complete_endpoint(setting: &EndpointSetting, protocol: Protocol, signal: Signal) -> url::Url {
    let mut url = setting.url.clone();
    if protocol == Protocol::Grpc {
        url.set_path("");
        return url;
    }
    let path = url.path().to_owned();
    match setting.path {
        EndpointPath::Exact => {}
        EndpointPath::Base => {
            url.set_path(&format!("{}{}", path.trim_end_matches('/'), signal.path()));
        }
        EndpointPath::AppendIfEmpty if path.is_empty() || path == "/" => {
            url.set_path(signal.path());
        }
        EndpointPath::AppendIfEmpty => {}
    }
    url
}

/// `unknown_service:<executable name>`, as the resource semantic conventions say.
fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    match exe {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str, path: EndpointPath) -> EndpointSetting {
        EndpointSetting {
            url: url::Url::parse(url).unwrap(),
            path,
        }
    }

    #[test]
    fn http_endpoints_follow_the_spec() {
        let http = Protocol::HttpProtobuf;
        let base = endpoint("http://c:4318", EndpointPath::Base);
        assert_eq!(
            complete_endpoint(&base, http, Signal::Traces).as_str(),
            "http://c:4318/v1/traces"
        );
        let base = endpoint("http://c:4318/otlp/", EndpointPath::Base);
        assert_eq!(
            complete_endpoint(&base, http, Signal::Traces).as_str(),
            "http://c:4318/otlp/v1/traces"
        );
        let exact = endpoint("http://c:4318/custom", EndpointPath::Exact);
        assert_eq!(
            complete_endpoint(&exact, http, Signal::Traces).as_str(),
            "http://c:4318/custom"
        );
        let builder = endpoint("http://c:4318", EndpointPath::AppendIfEmpty);
        assert_eq!(
            complete_endpoint(&builder, http, Signal::Traces).as_str(),
            "http://c:4318/v1/traces"
        );
        let grpc = endpoint("http://c:4317/ignored", EndpointPath::Exact);
        assert_eq!(
            complete_endpoint(&grpc, Protocol::Grpc, Signal::Traces).as_str(),
            "http://c:4317/"
        );
    }

    fn metrics_url(settings: Settings) -> Result<String, BuildError> {
        let settings = Settings {
            metrics_exporter: Some(MetricsExporter::Otlp),
            ..settings
        };
        let config = settings
            .resolve()?
            .metrics_export
            .expect("metrics export on");
        Ok(config.otlp.endpoint.to_string())
    }

    #[test]
    fn metrics_endpoints_follow_the_traces_endpoint() {
        let http = Some(Protocol::HttpProtobuf);
        let with = |url: &str, path, protocol| Settings {
            endpoint: Some(endpoint(url, path)),
            protocol,
            ..Settings::default()
        };
        let cases = [
            (
                with("http://c:4318", EndpointPath::Base, http),
                "http://c:4318/v1/metrics",
            ),
            (
                with("http://c:4318/otlp", EndpointPath::Base, http),
                "http://c:4318/otlp/v1/metrics",
            ),
            (
                with("http://c:4318", EndpointPath::AppendIfEmpty, http),
                "http://c:4318/v1/metrics",
            ),
            (
                with("http://c:4318/x/v1/traces", EndpointPath::Exact, http),
                "http://c:4318/x/v1/metrics",
            ),
            (
                with("http://c:4317/any", EndpointPath::Exact, None),
                "http://c:4317/",
            ),
            (
                Settings {
                    protocol: http,
                    ..Settings::default()
                },
                DEFAULT_HTTP_METRICS_ENDPOINT,
            ),
            (Settings::default(), "http://localhost:4317/"),
        ];
        for (settings, expected) in cases {
            assert_eq!(metrics_url(settings).unwrap(), expected);
        }
        let custom = with("http://c:4318/custom", EndpointPath::Exact, http);
        let error = metrics_url(custom).unwrap_err().to_string();
        assert!(
            error.starts_with("metrics_endpoint=http://c:4318/custom: "),
            "{error}"
        );
        assert!(
            error.contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            "{error}"
        );
        // Its own endpoint and protocol win; with HTTP, `/v1/metrics` is appended to a bare URL.
        let own = Settings {
            metrics_endpoint: Some(endpoint("http://m:4318", EndpointPath::AppendIfEmpty)),
            metrics_protocol: http,
            ..with("http://c:4317", EndpointPath::Base, None)
        };
        assert_eq!(metrics_url(own).unwrap(), "http://m:4318/v1/metrics");
    }

    #[test]
    fn metrics_export_is_off_by_default_and_bounded() {
        assert!(Settings::default()
            .resolve()
            .unwrap()
            .metrics_export
            .is_none());
        let config = Settings {
            metrics_exporter: Some(MetricsExporter::Otlp),
            metric_export_timeout: Some(Duration::from_secs(2)),
            ..Settings::default()
        }
        .resolve()
        .unwrap()
        .metrics_export
        .unwrap();
        assert_eq!(config.interval, DEFAULT_METRIC_EXPORT_INTERVAL);
        assert_eq!(config.otlp.timeout, Duration::from_secs(2));
    }

    #[test]
    fn later_layers_win_and_lists_merge_by_key() {
        let file = Settings {
            service_name: Some("file".into()),
            max_queue_size: Some(10),
            headers: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            ..Settings::default()
        };
        let env = Settings {
            service_name: Some("env".into()),
            headers: vec![("b".into(), "3".into())],
            ..Settings::default()
        };
        let merged = file.overlay(env);
        assert_eq!(merged.service_name.as_deref(), Some("env"));
        assert_eq!(merged.max_queue_size, Some(10));
        assert_eq!(
            merged.headers,
            vec![("a".into(), "1".into()), ("b".into(), "3".into())]
        );
    }

    #[test]
    fn spool_is_on_by_default_under_the_data_home() {
        let config = Settings {
            service_name: Some("check out".into()),
            data_home: Some(PathBuf::from("/data")),
            ..Settings::default()
        }
        .resolve()
        .unwrap();
        let spool = config.delivery.spool.unwrap();
        assert_eq!(spool.dir, PathBuf::from("/data/tracing-observer/check_out"));
        assert_eq!(spool.max_bytes, 1 << 30);
        assert_eq!(spool.retention, Duration::from_secs(6 * 3600));
        let off = Settings {
            spool: Some(false),
            ..Settings::default()
        };
        assert!(off.resolve().unwrap().delivery.spool.is_none());
    }

    #[test]
    fn the_export_breaker_opens_on_the_failure_rate() {
        use crate::delivery::{BreakerState, CircuitBreaker, EXPORT_BREAKER};
        // Every other export fails: never two failures in a row.
        let alternate = |breaker: &CircuitBreaker, calls: usize| {
            for i in 0..calls {
                let permit = breaker.try_acquire().expect("closed");
                if i % 2 == 0 {
                    permit.success();
                } else {
                    permit.failure();
                }
            }
        };
        let resolve = |settings: Settings| {
            let config = settings.resolve().unwrap();
            CircuitBreaker::new(EXPORT_BREAKER, config.delivery.breaker)
        };
        let consecutive_only = resolve(Settings {
            circuit_breaker_threshold: Some(2),
            ..Settings::default()
        });
        alternate(&consecutive_only, 40);
        assert_eq!(consecutive_only.state(), BreakerState::Closed);

        let with_rate = resolve(Settings {
            circuit_breaker_threshold: Some(2),
            circuit_breaker_failure_rate: Some((0.5, 10)),
            circuit_breaker_window: Some(Duration::from_secs(30)),
            ..Settings::default()
        });
        assert_eq!(
            with_rate.config(),
            &crate::delivery::BreakerConfig::default()
                .failure_threshold(2)
                .failure_rate(0.5, 10)
                .window(Duration::from_secs(30))
        );
        alternate(&with_rate, 8);
        assert_eq!(
            with_rate.state(),
            BreakerState::Closed,
            "fewer than 10 calls"
        );
        alternate(&with_rate, 2);
        assert_eq!(with_rate.state(), BreakerState::Open, "5 of 10 failed");
    }

    #[test]
    fn batch_size_is_clamped_to_the_queue() {
        let config = Settings {
            max_queue_size: Some(100),
            ..Settings::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(config.batch.max_export_batch_size, 100);
    }

    #[test]
    fn service_name_falls_back_to_resource_then_executable() {
        let config = Settings {
            resource_attributes: vec![("service.name".into(), "from-resource".into())],
            ..Settings::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(config.service_name, "from-resource");
        assert!(config.resource_attributes.is_empty());
        let config = Settings::default().resolve().unwrap();
        assert!(config.service_name.starts_with("unknown_service:"));
    }
}
