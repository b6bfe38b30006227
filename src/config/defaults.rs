//! The defaults of the settings that have a number for one.

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
/// Event-metrics label sets at most (`OBSERVER_EVENT_METRICS_MAX_SERIES`), over all
/// event metrics; further measurements go to each metric's `otel_metric_overflow="true"` series.
///
/// ```
/// use tracing_observer::config::DEFAULT_EVENT_METRICS_MAX_SERIES;
/// assert_eq!(DEFAULT_EVENT_METRICS_MAX_SERIES, 1000);
/// let builder = tracing_observer::Observer::builder().event_metrics_max_series(DEFAULT_EVENT_METRICS_MAX_SERIES * 5);
/// ```
pub const DEFAULT_EVENT_METRICS_MAX_SERIES: usize = 1000;
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
///     .protocol(tracing_observer::config::Protocol::HttpProtobuf)
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
/// The OTLP/HTTP logs endpoint when none is set (`OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`).
///
/// ```
/// use tracing_observer::config::DEFAULT_HTTP_LOGS_ENDPOINT;
/// assert_eq!(DEFAULT_HTTP_LOGS_ENDPOINT, "http://localhost:4318/v1/logs");
/// let builder = tracing_observer::Observer::builder().logs_endpoint(DEFAULT_HTTP_LOGS_ENDPOINT);
/// ```
pub const DEFAULT_HTTP_LOGS_ENDPOINT: &str = "http://localhost:4318/v1/logs";
/// Log records held in the logs queue at most (`OTEL_BLRP_MAX_QUEUE_SIZE`), the spec's.
///
/// ```
/// use tracing_observer::config::DEFAULT_LOGS_MAX_QUEUE_SIZE;
/// assert_eq!(DEFAULT_LOGS_MAX_QUEUE_SIZE, 2048);
/// let builder = tracing_observer::Observer::builder().logs_max_queue_size(DEFAULT_LOGS_MAX_QUEUE_SIZE * 4);
/// ```
pub const DEFAULT_LOGS_MAX_QUEUE_SIZE: usize = 2048;
/// Longest wait before a partial log batch is exported (`OTEL_BLRP_SCHEDULE_DELAY`), the spec's.
///
/// ```
/// use tracing_observer::config::DEFAULT_LOGS_SCHEDULED_DELAY;
/// assert_eq!(DEFAULT_LOGS_SCHEDULED_DELAY, std::time::Duration::from_secs(1));
/// ```
pub const DEFAULT_LOGS_SCHEDULED_DELAY: Duration = Duration::from_millis(1_000);
/// Log records per second one callsite may send (`OBSERVER_LOGS_RATE_LIMIT`), with a
/// burst of one second's worth.
///
/// ```
/// use tracing_observer::config::DEFAULT_LOGS_RATE_LIMIT;
/// assert_eq!(DEFAULT_LOGS_RATE_LIMIT, 1000);
/// let builder = tracing_observer::Observer::builder().logs_rate_limit(DEFAULT_LOGS_RATE_LIMIT * 10);
/// ```
pub const DEFAULT_LOGS_RATE_LIMIT: usize = 1000;
