//! [`ObserverBuilder`] setters: events as OTLP log records, and as span events.

use super::ObserverBuilder;
use crate::config::{key, parse, Compression, LogsExporter, Protocol};
use std::time::Duration;
use tracing_core::Level;

impl ObserverBuilder {
    /// Where log records go. Unset, they follow the spans: OTLP to the traces'
    /// collector, the console, or nowhere (also with a custom span exporter).
    ///
    /// Environment: `OTEL_LOGS_EXPORTER=otlp|console|none`.
    ///
    /// ```
    /// use tracing_observer::{config::LogsExporter, Observer};
    /// let builder = Observer::builder().logs_exporter(LogsExporter::None);
    /// ```
    pub fn logs_exporter(self, exporter: LogsExporter) -> Self {
        self.set::<key::logs_exporter>(exporter)
    }

    /// The OTLP logs endpoint. Default: derived from the traces endpoint (`/v1/logs`
    /// for `/v1/traces` over HTTP).
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (used as is).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().logs_endpoint("http://logs-collector:4318/v1/logs");
    /// ```
    pub fn logs_endpoint(self, url: impl AsRef<str>) -> Self {
        let url = url.as_ref();
        let parsed = parse::completed_endpoint(url);
        self.parsed::<key::logs_endpoint>(url, parsed)
    }

    /// The OTLP transport of logs, when not the traces'.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`.
    ///
    /// ```
    /// use tracing_observer::{config::Protocol, Observer};
    /// let builder = Observer::builder().logs_protocol(Protocol::HttpProtobuf);
    /// ```
    pub fn logs_protocol(self, protocol: Protocol) -> Self {
        self.set::<key::logs_protocol>(protocol)
    }

    /// Adds a header to every logs export request; once one is set, the traces'
    /// headers are not used for logs.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_LOGS_HEADERS=key=value,…`.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().logs_header("x-scope-orgid", "tenant-1");
    /// ```
    pub fn logs_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let mut headers = self.overrides.logs_headers.take().unwrap_or_default();
        headers.push((key.into(), value.into()));
        self.set_as::<key::logs_headers>("logs_header", headers)
    }

    /// Compression of logs export requests, when not the traces'.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=gzip|none`.
    ///
    /// ```
    /// use tracing_observer::{config::Compression, Observer};
    /// let builder = Observer::builder().logs_compression(Compression::Gzip);
    /// ```
    pub fn logs_compression(self, compression: Compression) -> Self {
        self.set::<key::logs_compression>(compression)
    }

    /// Timeout of one OTLP logs request, when not the traces'.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_LOGS_TIMEOUT` (milliseconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder().logs_request_timeout(Duration::from_secs(2));
    /// ```
    pub fn logs_request_timeout(self, timeout: Duration) -> Self {
        self.set::<key::logs_request_timeout>(timeout)
    }

    /// Longest wait before a partial log batch is exported. Default: 1 s.
    ///
    /// Environment: `OTEL_BLRP_SCHEDULE_DELAY` (milliseconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder().logs_scheduled_delay(Duration::from_millis(200));
    /// ```
    pub fn logs_scheduled_delay(self, delay: Duration) -> Self {
        self.set::<key::logs_scheduled_delay>(delay)
    }

    /// Longest time one log batch export may take, retries included. Default: 30 s.
    ///
    /// Environment: `OTEL_BLRP_EXPORT_TIMEOUT` (milliseconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder().logs_export_timeout(Duration::from_secs(5));
    /// ```
    pub fn logs_export_timeout(self, timeout: Duration) -> Self {
        self.set::<key::logs_export_timeout>(timeout)
    }

    /// Log records held in the logs queue at most. Default: 2048.
    ///
    /// Environment: `OTEL_BLRP_MAX_QUEUE_SIZE`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().logs_max_queue_size(16_384);
    /// ```
    pub fn logs_max_queue_size(self, records: usize) -> Self {
        self.set::<key::logs_max_queue_size>(records)
    }

    /// Log records per export request at most. Default: 512.
    ///
    /// Environment: `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().logs_max_export_batch_size(256);
    /// ```
    pub fn logs_max_export_batch_size(self, records: usize) -> Self {
        self.set::<key::logs_max_export_batch_size>(records)
    }

    /// Attributes kept per log record; the rest are counted. Default: 128.
    ///
    /// Environment: `OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().max_attributes_per_log(32);
    /// ```
    pub fn max_attributes_per_log(self, attributes: usize) -> Self {
        self.set::<key::max_attributes_per_log>(attributes)
    }

    /// Bytes kept of one log attribute value. Default: `max_attribute_value_bytes`.
    /// An event that is also a span event is captured once, with the span's limit.
    ///
    /// Environment: `OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().max_log_attribute_value_bytes(1024);
    /// ```
    pub fn max_log_attribute_value_bytes(self, bytes: usize) -> Self {
        self.set::<key::max_log_attribute_value_bytes>(bytes)
    }

    /// The least severe level exported as logs. Default: INFO.
    ///
    /// Environment: `OBSERVER_LOGS_LEVEL=trace|debug|info|warn|error`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().logs_level(tracing::Level::WARN);
    /// ```
    pub fn logs_level(self, level: Level) -> Self {
        self.set::<key::logs_level>(level)
    }

    /// Log records per second one callsite may send (a burst of one second's worth);
    /// the rest are dropped and counted as `rate_limited`. 0: no limit. Default: 1000.
    ///
    /// Environment: `OBSERVER_LOGS_RATE_LIMIT`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().logs_rate_limit(100);
    /// ```
    pub fn logs_rate_limit(self, per_second: usize) -> Self {
        self.set::<key::logs_rate_limit>(per_second)
    }

    /// Whether events inside recorded spans also become span events. Default: true.
    ///
    /// Environment: `OBSERVER_SPAN_EVENTS=true|false`.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().span_events(false);
    /// ```
    pub fn span_events(self, on: bool) -> Self {
        self.set::<key::span_events>(on)
    }
}
