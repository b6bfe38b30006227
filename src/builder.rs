//! [`ObserverBuilder`]: code-level configuration, layered over the file and the environment.

use crate::config::env::Environment;
use crate::config::origin::Origin;
use crate::config::table::Key;
use crate::config::{
    file, key, parse, Compression, ExporterConfig, MetricsExporter, Protocol, Settings,
    TracesExporter,
};
use crate::error::BuildError;
use crate::export::console::ConsoleExporter;
use crate::export::convert::RequestBuilder;
use crate::export::grpc::GrpcTarget;
use crate::export::http::HttpExporter;
use crate::export::metrics::MetricsTarget;
use crate::export::SpanExporter;
use crate::health::HealthRegistry;
use crate::metrics::SpanMetricsProfile;
use crate::pipeline::{ExporterFactory, Operations, Pipeline};
use crate::record::policy::FieldPolicy;
use crate::resources::{ResourceMonitor, SysinfoMonitor};
use crate::sampling::{HeadSampler, OverheadMeter, Sampler, Sampling, SamplingRule, SkeletonTable};
use crate::Observer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Configures and starts an [`Observer`].
///
/// Settings come from, in increasing precedence: defaults, the config file
/// (`OBSERVER_CONFIG` or [`config_file`](Self::config_file)), environment variables
/// (`OTEL_*`, `OBSERVER_*`), and the methods called on this builder.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{Observer, Protocol};
///
/// let observer = Observer::builder()
///     .service_name("checkout")
///     .endpoint("http://127.0.0.1:4317")
///     .protocol(Protocol::Grpc)
///     .scheduled_delay(Duration::from_millis(500))
///     .build()?;
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[must_use = "call .build() to start the observer"]
pub struct ObserverBuilder {
    overrides: Settings,
    errors: Vec<BuildError>,
    config_file: Option<PathBuf>,
    environment: Environment,
    exporter: Option<Box<dyn SpanExporter>>,
    resource_monitor: Option<Box<dyn ResourceMonitor>>,
}

impl std::fmt::Debug for ObserverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverBuilder")
            .field("overrides", &self.overrides)
            .field("config_file", &self.config_file)
            .field("custom_exporter", &self.exporter.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for ObserverBuilder {
    fn default() -> Self {
        Self {
            overrides: Settings::default(),
            errors: Vec::new(),
            config_file: None,
            environment: Environment::Process,
            exporter: None,
            resource_monitor: None,
        }
    }
}

impl ObserverBuilder {
    /// The `service.name` resource attribute.
    ///
    /// Environment: `OTEL_SERVICE_NAME`. Default: `unknown_service:<executable>`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder().exporter(exporter.clone()).service_name("checkout").build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// let resource = format!("{:?}", exporter.requests()[0].resource_spans[0].resource);
    /// assert!(resource.contains("service.name") && resource.contains("\"checkout\""));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn service_name(self, name: impl Into<String>) -> Self {
        self.set::<key::service_name>(name.into())
    }

    /// The service name to use when neither [`service_name`](Self::service_name), the
    /// environment (`OTEL_SERVICE_NAME`, `service.name` in `OTEL_RESOURCE_ATTRIBUTES`)
    /// nor the config file names one — instead of `unknown_service:<executable>`. For
    /// programs that know what they are but let their operators rename them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{config::vars, InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let service = |env: &[(&str, &str)]| -> String {
    ///     let exporter = InMemoryExporter::new();
    ///     let observer = Observer::builder()
    ///         .environment(env.iter().copied())
    ///         .default_service_name("checkout")
    ///         .exporter(exporter.clone())
    /// #       .spool(false)
    ///         .build()
    ///         .unwrap();
    ///     let subscriber = tracing_subscriber::registry().with(observer.layer());
    ///     tracing::subscriber::with_default(subscriber, || tracing::info_span!("work").in_scope(|| {}));
    ///     observer.shutdown(Duration::from_secs(5));
    ///     format!("{:?}", exporter.requests()[0].resource_spans[0].resource)
    /// };
    /// assert!(service(&[]).contains("\"checkout\""));
    /// assert!(service(&[(vars::OTEL_SERVICE_NAME, "checkout-eu")]).contains("\"checkout-eu\""));
    /// ```
    pub fn default_service_name(self, name: impl Into<String>) -> Self {
        self.set::<key::default_service_name>(name.into())
    }

    /// The `service.version` resource attribute.
    ///
    /// Environment: `service.version` in `OTEL_RESOURCE_ATTRIBUTES`. Default: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder().exporter(exporter.clone()).service_version("1.4.2").build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// let resource = format!("{:?}", exporter.requests()[0].resource_spans[0].resource);
    /// assert!(resource.contains("service.version") && resource.contains("\"1.4.2\""));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn service_version(self, version: impl Into<String>) -> Self {
        self.set::<key::service_version>(version.into())
    }

    /// Adds a resource attribute (e.g. `deployment.environment.name`).
    ///
    /// Environment: `OTEL_RESOURCE_ATTRIBUTES=key=value,…`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder().exporter(exporter.clone()).resource_attribute("deployment.environment.name", "prod").build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// let resource = format!("{:?}", exporter.requests()[0].resource_spans[0].resource);
    /// assert!(resource.contains("deployment.environment.name") && resource.contains("\"prod\""));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let mut attributes = self
            .overrides
            .resource_attributes
            .take()
            .unwrap_or_default();
        attributes.push((key.into(), value.into()));
        self.set_as::<key::resource_attributes>("resource_attribute", attributes)
    }

    /// Where spans go: OTLP, the console (OTLP/JSON on stderr) or nowhere.
    ///
    /// Environment: `OTEL_TRACES_EXPORTER=otlp|console|none`. Default: OTLP.
    ///
    /// ```
    /// use tracing_observer::{Observer, TracesExporter};
    /// let observer = Observer::builder().traces_exporter(TracesExporter::Console).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn traces_exporter(self, exporter: TracesExporter) -> Self {
        self.set::<key::traces_exporter>(exporter)
    }

    /// The collector's OTLP endpoint, with scheme (`http://` or `https://`).
    ///
    /// For HTTP, `/v1/traces` is appended when the URL has no path.
    /// Environment: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL). Default: `http://localhost:4317`
    /// for gRPC, `http://localhost:4318/v1/traces` for HTTP.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().endpoint("https://collector.example.com:4317").build()?;
    /// let err = Observer::builder().endpoint("collector:4317").build().unwrap_err();
    /// assert!(err.to_string().starts_with("ObserverBuilder::endpoint=collector:4317 (builder):"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn endpoint(self, url: impl AsRef<str>) -> Self {
        let url = url.as_ref();
        let parsed = parse::completed_endpoint(url);
        self.parsed::<key::endpoint>(url, parsed)
    }

    /// The OTLP transport.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}PROTOCOL=grpc|http/protobuf|http/json`. Default: gRPC.
    ///
    /// ```
    /// use tracing_observer::{Observer, Protocol};
    /// let observer = Observer::builder().protocol(Protocol::HttpJson).endpoint("http://127.0.0.1:4318").build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn protocol(self, protocol: Protocol) -> Self {
        self.set::<key::protocol>(protocol)
    }

    /// Adds a header (gRPC metadata) to every export request, e.g. an API key.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}HEADERS=key=value,…`.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().header("authorization", "Bearer secret-token").build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let mut headers = self.overrides.headers.take().unwrap_or_default();
        headers.push((key.into(), value.into()));
        self.set_as::<key::headers>("header", headers)
    }

    /// Compression of export requests.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}COMPRESSION=gzip|none`. Default: none.
    ///
    /// ```
    /// use tracing_observer::{Compression, Observer};
    /// let observer = Observer::builder().compression(Compression::Gzip).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn compression(self, compression: Compression) -> Self {
        self.set::<key::compression>(compression)
    }

    /// Timeout of one OTLP request.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}TIMEOUT` (milliseconds). Default: 10 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().request_timeout(Duration::from_secs(2)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.set::<key::request_timeout>(timeout)
    }

    /// A PEM file of the CA certificate that signs the collector's TLS certificate.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}CERTIFICATE`. Default: the system's roots.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// // The file is read by build(): a missing one is an error naming the setting.
    /// let err = Observer::builder().certificate("/nonexistent/ca.pem").build().unwrap_err();
    /// assert!(err.to_string().starts_with("ObserverBuilder::certificate=/nonexistent/ca.pem (builder):"));
    /// ```
    pub fn certificate(self, path: impl Into<PathBuf>) -> Self {
        self.set::<key::certificate>(path.into())
    }

    /// Spans the queue holds at most; when it is full new spans are dropped and counted.
    ///
    /// Environment: `OTEL_BSP_MAX_QUEUE_SIZE`.
    /// Default: [`DEFAULT_MAX_QUEUE_SIZE`](crate::config::DEFAULT_MAX_QUEUE_SIZE).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_queue_size(10_000).build()?;
    /// let err = Observer::builder().max_queue_size(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_queue_size=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_queue_size(self, spans: usize) -> Self {
        self.set::<key::max_queue_size>(spans)
    }

    /// Bytes the queue holds at most (an estimate of the records' memory), so huge
    /// spans cannot blow memory. One eighth is reserved for failed spans.
    ///
    /// Environment: `OBSERVER_MAX_QUEUE_BYTES` (`64MiB`). Default: 64 MiB.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_queue_bytes(16 << 20).build()?;
    /// let err = Observer::builder().max_queue_bytes(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_queue_bytes=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_queue_bytes(self, bytes: usize) -> Self {
        self.set::<key::max_queue_bytes>(bytes)
    }

    /// Spans per export request at most (clamped to the queue size).
    ///
    /// Environment: `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. Default: 512.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_export_batch_size(256).build()?;
    /// let err = Observer::builder().max_export_batch_size(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_export_batch_size=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_export_batch_size(self, spans: usize) -> Self {
        self.set::<key::max_export_batch_size>(spans)
    }

    /// Export requests in flight at once, so that the collector's latency does not
    /// cap throughput.
    ///
    /// Environment: `OTEL_BSP_MAX_CONCURRENT_EXPORTS`.
    /// Default: 4.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_concurrent_exports(2).build()?;
    /// let err = Observer::builder().max_concurrent_exports(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_concurrent_exports=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_concurrent_exports(self, n: usize) -> Self {
        self.set::<key::max_concurrent_exports>(n)
    }

    /// Longest wait before a partial batch is exported.
    ///
    /// Environment: `OTEL_BSP_SCHEDULE_DELAY` (milliseconds). Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().scheduled_delay(Duration::from_millis(500)).build()?;
    /// let err = Observer::builder().scheduled_delay(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::scheduled_delay=0s (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn scheduled_delay(self, delay: Duration) -> Self {
        self.set::<key::scheduled_delay>(delay)
    }

    /// Longest time one batch export may take.
    ///
    /// Environment: `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds). Default: 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().export_timeout(Duration::from_secs(10)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn export_timeout(self, timeout: Duration) -> Self {
        self.set::<key::export_timeout>(timeout)
    }

    /// Attributes kept per span; further ones are counted in `attributes_dropped`.
    ///
    /// Environment: `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).max_attributes_per_span(1).build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work", a = 1, b = 2).in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// assert_eq!(exporter.spans()[0].dropped_attributes_count, 1);
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_attributes_per_span(self, n: usize) -> Self {
        self.set::<key::max_attributes_per_span>(n)
    }

    /// Events kept per span (errors get the same again as reserve); further ones are counted.
    ///
    /// Environment: `OTEL_SPAN_EVENT_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).max_events_per_span(1).build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work").in_scope(|| { tracing::info!("one"); tracing::info!("two") });
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// assert_eq!(exporter.spans()[0].events.len(), 1);
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_events_per_span(self, n: usize) -> Self {
        self.set::<key::max_events_per_span>(n)
    }

    /// Attributes kept per event; further ones are left out.
    ///
    /// Environment: `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_attributes_per_event(16).build()?;
    /// let err = Observer::builder().max_attributes_per_event(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_attributes_per_event=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_attributes_per_event(self, n: usize) -> Self {
        self.set::<key::max_attributes_per_event>(n)
    }

    /// Links kept per span; further ones are counted.
    ///
    /// Environment: `OTEL_SPAN_LINK_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_links_per_span(16).build()?;
    /// let err = Observer::builder().max_links_per_span(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_links_per_span=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_links_per_span(self, n: usize) -> Self {
        self.set::<key::max_links_per_span>(n)
    }

    /// Bytes kept of one formatted value; longer values are cut and marked with `…`.
    ///
    /// Environment: `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`. Default: 4096.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).max_attribute_value_bytes(8).build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work", sql = "SELECT * FROM orders").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// assert!(!format!("{:?}", exporter.spans()[0].attributes).contains("SELECT * FROM orders"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_attribute_value_bytes(self, bytes: usize) -> Self {
        self.set::<key::max_attribute_value_bytes>(bytes)
    }

    /// Field-name patterns (case-insensitive substrings) whose values are replaced by
    /// `[REDACTED]` before they leave the caller's thread; replaces the default list.
    ///
    /// Environment: `OBSERVER_REDACT_FIELDS=a,b` (`none` for no redaction).
    /// Default: `password`, `secret`, `token`, `authorization`, `api_key`, `cookie`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).redact_fields(["card"]).build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("pay", card_number = "4111 1111").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// assert!(format!("{:?}", exporter.spans()[0].attributes).contains("[REDACTED]"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn redact_fields<I, T>(self, patterns: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::redact_fields>(patterns.into_iter().map(Into::into).collect())
    }

    /// Exports only these fields (by exact name, case-insensitive); all others are left
    /// out. `otel.*`, `message` and `error` keep their meaning regardless.
    ///
    /// Environment: `OBSERVER_ALLOW_FIELDS=a,b`. Default: every field.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).allow_fields(["order_id"]).build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("pay", order_id = 7, user_email = "a@b.c").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// let attributes = format!("{:?}", exporter.spans()[0].attributes);
    /// assert!(attributes.contains("order_id") && !attributes.contains("user_email"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn allow_fields<I, T>(self, names: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::allow_fields>(names.into_iter().map(Into::into).collect())
    }

    /// The head sampler.
    ///
    /// Environment: `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    /// Default: `parentbased_always_on`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer, Sampler};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).sampler(Sampler::AlwaysOff).keep_errors(false).build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// assert!(exporter.spans().is_empty());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn sampler(self, sampler: Sampler) -> Self {
        self.set::<key::sampler>(sampler)
    }

    /// Adds a sampling rule; rules are tried in order, the first match decides.
    /// Rules given here replace those from the environment or the config file.
    ///
    /// Environment: `OBSERVER_SAMPLING_RULES=TARGET[/NAME]=RATIO[@RATE],…`. Default: none.
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let observer = Observer::builder().sampling_rule(SamplingRule::target("my_app::db").ratio(0.1)).build()?;
    /// let err = Observer::builder().sampling_rule(SamplingRule::target("my_app").ratio(2.0)).build().unwrap_err();
    /// assert!(err.to_string().contains("ratio 2 is outside 0.0..=1.0"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn sampling_rule(mut self, rule: SamplingRule) -> Self {
        let mut rules = self.overrides.sampling_rules.take().unwrap_or_default();
        rules.push(rule);
        self.set_as::<key::sampling_rules>("sampling_rule", rules)
    }

    /// Keeps spans that fail although head sampling dropped them, with their local
    /// ancestors (marked `observer.sampling.kept_by=error`).
    ///
    /// Environment: `OBSERVER_KEEP_ERRORS`. Default: true.
    ///
    /// ```
    /// use tracing_observer::{Observer, Sampler};
    /// let observer = Observer::builder().sampler(Sampler::TraceIdRatio(0.01)).keep_errors(true).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn keep_errors(self, keep: bool) -> Self {
        self.set::<key::keep_errors>(keep)
    }

    /// Keeps spans at least this slow although head sampling dropped them, with
    /// their local ancestors (marked `observer.sampling.kept_by=slow`).
    ///
    /// Environment: `OBSERVER_SLOW_SPAN_THRESHOLD` (`500ms`). Default: off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, Sampler};
    /// let observer = Observer::builder().sampler(Sampler::TraceIdRatio(0.01)).slow_span_threshold(Duration::from_millis(500)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn slow_span_threshold(self, threshold: Duration) -> Self {
        self.set::<key::slow_span_threshold>(threshold)
    }

    /// Keeps the observer's own cost under this fraction of the host's traced time
    /// (e.g. `0.02`): above it the head-sampling ratio of non-error traces is halved
    /// each second, below half of it doubled back (never above the configured ratio).
    /// The measured ratio is always in [`PipelineStats::overhead_ratio`](crate::PipelineStats).
    ///
    /// Environment: `OBSERVER_OVERHEAD_BUDGET` (`0.02` or `2%`; the former name
    /// `OBSERVER_OVERHEAD_THRESHOLD` is still read). Default: off.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().overhead_budget(0.02).build()?;
    /// let err = Observer::builder().overhead_budget(-1.0).build().unwrap_err();
    /// assert!(err.to_string().starts_with("ObserverBuilder::overhead_budget=-1 (builder):"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn overhead_budget(self, fraction: f64) -> Self {
        self.set::<key::overhead_budget>(fraction)
    }

    /// Turns the disk spool on or off. With it, batches that cannot be delivered
    /// (collector down, breaker open, no exporter) are kept on disk and replayed later.
    ///
    /// Environment: `OBSERVER_SPOOL=off`. Default: on.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool(false).build()?;
    /// assert!(!observer.stats().spool.enabled);
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool(self, enabled: bool) -> Self {
        self.set::<key::spool>(enabled)
    }

    /// The spool directory; one process per directory (a lock file enforces it).
    ///
    /// Environment: `OBSERVER_SPOOL_DIR`. Default:
    /// `$XDG_DATA_HOME/tracing-observer/<service>` (or `~/.local/share/…`).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool_dir(std::env::temp_dir().join("tracing-observer-doc-builder-spool")).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.set::<key::spool_dir>(dir.into())
    }

    /// Bytes the spool may hold; beyond, the oldest batches without errors go first.
    ///
    /// Environment: `OBSERVER_SPOOL_MAX_BYTES` (`1073741824`, `512MiB`). Default: 1 GiB.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool_max_bytes(256 << 20).build()?;
    /// let err = Observer::builder().spool_max_bytes(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::spool_max_bytes=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_max_bytes(self, bytes: u64) -> Self {
        self.set::<key::spool_max_bytes>(bytes)
    }

    /// How long spooled batches are kept before deletion (or archiving).
    ///
    /// Environment: `OBSERVER_SPOOL_RETENTION` (`6h`). Default: 6 h.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool_retention(Duration::from_secs(24 * 3600)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_retention(self, retention: Duration) -> Self {
        self.set::<key::spool_retention>(retention)
    }

    /// Where expired and evicted segments are moved instead of being deleted.
    ///
    /// Environment: `OBSERVER_SPOOL_ARCHIVE_DIR`. Default: none (deleted).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool_archive_dir(std::env::temp_dir().join("tracing-observer-doc-archive")).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_archive_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.set::<key::spool_archive_dir>(dir.into())
    }

    /// Whether segments moved to [`spool_archive_dir`](Self::spool_archive_dir) are
    /// gzipped (to `<segment>.gz`). The compression runs on the observer's thread, not
    /// the application's.
    ///
    /// Environment: `OBSERVER_SPOOL_ARCHIVE_COMPRESS` (`true`/`false`). Default: false.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder()
    ///     .spool_archive_dir(std::env::temp_dir().join("tracing-observer-doc-archive-gz"))
    ///     .spool_archive_compress(true)
    ///     .build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_archive_compress(self, compress: bool) -> Self {
        self.set::<key::spool_archive_compress>(compress)
    }

    /// How often retention and the byte budget are enforced. Default: 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool_cleanup_interval(Duration::from_secs(10)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_cleanup_interval(self, interval: Duration) -> Self {
        self.set::<key::spool_cleanup_interval>(interval)
    }

    /// How often spooled data is `fsync`ed (it always is at shutdown). Default: 1 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().spool_sync_interval(Duration::from_millis(200)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn spool_sync_interval(self, interval: Duration) -> Self {
        self.set::<key::spool_sync_interval>(interval)
    }

    /// Consecutive export failures that open the circuit breaker; while open, batches
    /// go straight to the spool.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_THRESHOLD`. Default: 5.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().circuit_breaker_threshold(3).build()?;
    /// let err = Observer::builder().circuit_breaker_threshold(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::circuit_breaker_threshold=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn circuit_breaker_threshold(self, failures: u32) -> Self {
        self.set::<key::circuit_breaker_threshold>(failures)
    }

    /// How long the open breaker waits before letting a probe export through.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_TIMEOUT` (`30s`). Default: 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().circuit_breaker_timeout(Duration::from_secs(10)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn circuit_breaker_timeout(self, timeout: Duration) -> Self {
        self.set::<key::circuit_breaker_timeout>(timeout)
    }

    /// Also opens the circuit breaker when at least `rate` (above 0, at most 1) of the
    /// exports in the [window](Self::circuit_breaker_window) failed, once it holds
    /// `min_calls` exports — for a collector that fails often but not
    /// [`circuit_breaker_threshold`](Self::circuit_breaker_threshold) times in a row.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE` (`0.5/20`). Default: off
    /// (consecutive failures only).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().circuit_breaker_failure_rate(0.5, 20).build()?;
    /// let err = Observer::builder().circuit_breaker_failure_rate(1.5, 20).build().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "ObserverBuilder::circuit_breaker_failure_rate=1.5/20 (builder): the rate must be above 0 and at most 1, e.g. 0.5/20"
    /// );
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn circuit_breaker_failure_rate(self, rate: f64, min_calls: u32) -> Self {
        self.set::<key::circuit_breaker_failure_rate>((rate, min_calls))
    }

    /// The sliding window over which the breaker's
    /// [failure rate](Self::circuit_breaker_failure_rate) is computed.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_WINDOW` (`60s`). Default: 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder()
    ///     .circuit_breaker_failure_rate(0.5, 20)
    ///     .circuit_breaker_window(Duration::from_secs(30))
    ///     .build()?;
    /// let err = Observer::builder().circuit_breaker_window(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::circuit_breaker_window=0s (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn circuit_breaker_window(self, window: Duration) -> Self {
        self.set::<key::circuit_breaker_window>(window)
    }

    /// How failed exports are retried before the batch is spooled.
    ///
    /// Environment: `OBSERVER_RETRY_INITIAL_BACKOFF`, `OBSERVER_RETRY_MAX_BACKOFF`,
    /// `OBSERVER_RETRY_MAX_ELAPSED_TIME`. Default: 1 s, 30 s, 60 s.
    ///
    /// ```
    /// use tracing_observer::{Observer, RetryPolicy};
    /// let observer = Observer::builder().retry_policy(RetryPolicy::none()).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn retry_policy(self, policy: crate::delivery::RetryPolicy) -> Self {
        self.set_as::<key::retry_initial_backoff>("retry_policy", policy.initial_backoff)
            .set_as::<key::retry_max_backoff>("retry_policy", policy.max_backoff)
            .set_as::<key::retry_max_elapsed_time>("retry_policy", policy.max_elapsed_time)
    }

    /// Measures the thread CPU time each span consumes while entered and exports it
    /// as `thread.cpu_time_ns`. Off by default: the thread CPU clock is a system call
    /// (measured at ~660 ns on this project's CI machine, twice per enter/exit pair),
    /// several times the cost of the rest of a span. With span metrics on, recorded
    /// spans' CPU time also feeds the `tracing_observer_span_cpu_time_seconds`
    /// histogram, labelled like the span metrics.
    ///
    /// Environment: `OBSERVER_CPU_TIME`. Default: false.
    ///
    /// ```
    /// let observer = tracing_observer::Observer::builder().cpu_time(true).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn cpu_time(self, on: bool) -> Self {
        self.set::<key::cpu_time>(on)
    }

    /// The timeout of the shutdown that runs when the [`Observer`] is dropped.
    ///
    /// Environment: `OBSERVER_SHUTDOWN_TIMEOUT` (`5s`, `500ms`). Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().shutdown_timeout(Duration::from_secs(1)).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) -> Self {
        self.set::<key::shutdown_timeout>(timeout)
    }

    /// Span metrics (RED: calls, errors, duration) from every span, whatever the sampling.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS`. Default: true.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().span_metrics(false).build()?;
    /// assert!(!observer.metrics_text().contains("traces_span_metrics_calls_total"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn span_metrics(self, enabled: bool) -> Self {
        self.set::<key::span_metrics>(enabled)
    }

    /// The span metrics' names and labels: the OpenTelemetry Collector's spanmetrics
    /// connector, or Tempo's metrics-generator.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS_PROFILE=collector|tempo`. Default: collector.
    ///
    /// ```
    /// use tracing_observer::{Observer, SpanMetricsProfile};
    /// let observer = Observer::builder().span_metrics_profile(SpanMetricsProfile::Tempo).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn span_metrics_profile(self, profile: SpanMetricsProfile) -> Self {
        self.set::<key::span_metrics_profile>(profile)
    }

    /// Extra span-metrics labels: span attributes by key, or `code.module.name`,
    /// `code.function.name`, `code.file.path`, `level` from the callsite (dots become
    /// underscores in label names). Replaces the environment's list.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS_DIMENSIONS=a,b`. Default: none.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().span_metrics_dimensions(["http.route", "code.module.name"]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn span_metrics_dimensions<I, T>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::span_metrics_dimensions>(keys.into_iter().map(Into::into).collect())
    }

    /// Span-metrics label sets at most; spans beyond are counted under
    /// `span_name="other"` and in `tracing_observer_span_metrics_overflow_total`.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS_MAX_SERIES`.
    /// Default: [`DEFAULT_SPAN_METRICS_MAX_SERIES`](crate::config::DEFAULT_SPAN_METRICS_MAX_SERIES).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().span_metrics_max_series(500).build()?;
    /// let err = Observer::builder().span_metrics_max_series(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::span_metrics_max_series=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn span_metrics_max_series(self, n: usize) -> Self {
        self.set::<key::span_metrics_max_series>(n)
    }

    /// Also pushes every series of the observer's registry (span metrics, self-metrics,
    /// process metrics) to the collector as OTLP metrics, every
    /// [`metric_export_interval`](Self::metric_export_interval), from the observer's
    /// thread. Off by default, where the OpenTelemetry spec says `otlp`: see
    /// [`MetricsExporter`] for why.
    ///
    /// Environment: `OTEL_METRICS_EXPORTER=none|otlp`. Default: none.
    ///
    /// ```
    /// use tracing_observer::{MetricsExporter, Observer};
    /// let observer = Observer::builder()
    ///     .metrics_exporter(MetricsExporter::Otlp)
    ///     .endpoint("http://127.0.0.1:4317")
    ///     .build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn metrics_exporter(self, exporter: MetricsExporter) -> Self {
        self.set::<key::metrics_exporter>(exporter)
    }

    /// Time between two OTLP metrics exports (a last one runs at shutdown).
    ///
    /// Environment: `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds).
    /// Default: [`DEFAULT_METRIC_EXPORT_INTERVAL`](crate::config::DEFAULT_METRIC_EXPORT_INTERVAL).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder()
    ///     .metric_export_interval(Duration::from_secs(15));
    /// ```
    pub fn metric_export_interval(self, interval: Duration) -> Self {
        self.set::<key::metric_export_interval>(interval)
    }

    /// Longest time one OTLP metrics export may take; a failed export is counted in
    /// `tracing_observer_metric_exports_total{result="failure"}` and not retried (the
    /// next one carries the same cumulative values).
    ///
    /// Environment: `OTEL_METRIC_EXPORT_TIMEOUT` (milliseconds).
    /// Default: [`DEFAULT_METRIC_EXPORT_TIMEOUT`](crate::config::DEFAULT_METRIC_EXPORT_TIMEOUT).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder()
    ///     .metric_export_timeout(Duration::from_secs(5));
    /// ```
    pub fn metric_export_timeout(self, timeout: Duration) -> Self {
        self.set::<key::metric_export_timeout>(timeout)
    }

    /// Where OTLP metrics go, when not where the traces go. For HTTP, `/v1/metrics` is
    /// appended when the URL has no path.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is). Default: the
    /// traces endpoint, with `/v1/metrics` for `/v1/traces` over HTTP
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics` when only the traces endpoint is
    /// traces-specific).
    ///
    /// ```
    /// use tracing_observer::{MetricsExporter, Observer};
    /// let builder = Observer::builder()
    ///     .metrics_exporter(MetricsExporter::Otlp)
    ///     .metrics_endpoint("http://metrics-collector:4317");
    /// ```
    pub fn metrics_endpoint(self, url: impl AsRef<str>) -> Self {
        let url = url.as_ref();
        let parsed = parse::completed_endpoint(url);
        self.parsed::<key::metrics_endpoint>(url, parsed)
    }

    /// The OTLP transport of metrics, when not the traces'. Headers, compression and
    /// TLS settings are the traces'.
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`. Default: the traces' protocol.
    ///
    /// ```
    /// use tracing_observer::{Observer, Protocol};
    /// let builder = Observer::builder().metrics_protocol(Protocol::HttpProtobuf);
    /// ```
    pub fn metrics_protocol(self, protocol: Protocol) -> Self {
        self.set::<key::metrics_protocol>(protocol)
    }

    /// Serves `/health/*`, `/health`, `/metrics` and `/circuit-breakers` on this
    /// address, from the observer's thread. `build()` fails if it cannot listen there.
    ///
    /// Environment: `OBSERVER_HTTP_ADDR` (`127.0.0.1:9464`). Default: off.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().http_addr("127.0.0.1:0".parse()?).build()?;
    /// assert!(observer.http_addr().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_addr(self, addr: SocketAddr) -> Self {
        self.set::<key::http_addr>(addr)
    }

    /// How often the process's CPU, memory, threads and file descriptors are sampled.
    ///
    /// Environment: `OBSERVER_RESOURCE_INTERVAL` (`5s`). Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().resource_interval(Duration::from_secs(30)).build()?;
    /// let err = Observer::builder().resource_interval(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::resource_interval=0s (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn resource_interval(self, interval: Duration) -> Self {
        self.set::<key::resource_interval>(interval)
    }

    /// Where process metrics come from; [`NullMonitor`](crate::resources::NullMonitor)
    /// turns them off (no `process_*` series at all). Default: [`SysinfoMonitor`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{resources::NullMonitor, Observer};
    /// let observer = Observer::builder().resource_monitor(NullMonitor).build()?;
    /// // The worker is running: it answered the flush.
    /// observer.force_flush(Duration::from_secs(5)).unwrap();
    /// assert!(!observer.metrics_text().contains("process_"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn resource_monitor(mut self, monitor: impl ResourceMonitor) -> Self {
        self.resource_monitor = Some(Box::new(monitor));
        self
    }

    /// Installs a panic hook (in front of the current one) that records a panic as an
    /// `exception` event on the current span, marks it ERROR and flushes (1 s at most).
    ///
    /// Environment: `OBSERVER_PANIC_HOOK`. Default: false.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().panic_hook(true).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn panic_hook(self, install: bool) -> Self {
        self.set::<key::panic_hook>(install)
    }

    /// Worker failures (panics) in a row after which the observer disables itself;
    /// the worker restarts with backoff until then.
    ///
    /// Environment: `OBSERVER_MAX_WORKER_RESTARTS`. Default: 3.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().max_worker_restarts(5).build()?;
    /// let err = Observer::builder().max_worker_restarts(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "ObserverBuilder::max_worker_restarts=0 (builder): must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn max_worker_restarts(self, n: usize) -> Self {
        self.set::<key::max_worker_restarts>(n)
    }

    /// Turns the observer off: the layer records nothing and costs almost nothing.
    ///
    /// Environment: `OTEL_SDK_DISABLED=true`. Default: false.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().disabled(true).build()?;
    /// assert!(observer.is_disabled());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn disabled(self, disabled: bool) -> Self {
        self.set::<key::disabled>(disabled)
    }

    /// A TOML config file with this builder's method names as keys.
    ///
    /// Environment: `OBSERVER_CONFIG`. Unknown keys are errors.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let path = std::env::temp_dir().join("tracing-observer-doc-builder.toml");
    /// std::fs::write(&path, "service_name = \"checkout\"\nmax_queue_size = 4096\n").unwrap();
    /// let observer = Observer::builder().config_file(&path).build()?;
    /// std::fs::write(&path, "no_such_key = 1\n").unwrap();
    /// assert!(Observer::builder().config_file(&path).build().is_err());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Sends spans to a custom exporter instead of the one `traces_exporter` names.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{InMemoryExporter, Observer};
    /// use tracing_subscriber::prelude::*;
    /// let exporter = InMemoryExporter::new();
    /// let observer = Observer::builder()
    /// #     .spool(false)
    ///     .exporter(exporter.clone()).service_name("checkout").build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), || {
    ///     tracing::info_span!("work").in_scope(|| {});
    /// });
    /// observer.shutdown(Duration::from_secs(5));
    /// assert_eq!(exporter.span_count(), 1);
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn exporter(mut self, exporter: impl SpanExporter) -> Self {
        self.exporter = Some(Box::new(exporter));
        self
    }

    /// Reads settings from these variables instead of the process environment
    /// (for tests, or to configure from another source).
    ///
    /// ```
    /// let observer = tracing_observer::Observer::builder()
    ///     .environment([("OTEL_SERVICE_NAME", "from-map")])
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn environment<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.environment = Environment::Map(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Sets the setting `K` of the same name as the calling method.
    fn set<K: Key>(self, value: K::Value) -> Self {
        self.set_as::<K>(K::NAME, value)
    }

    /// Sets the setting `K` from the builder method `method`; a value the setting's
    /// check refuses is kept as the error `build()` returns.
    fn set_as<K: Key>(mut self, method: &str, value: K::Value) -> Self {
        if let Err(error) = self
            .overrides
            .set::<K>(value, Origin::builder(method), None)
        {
            self.errors.push(error);
        }
        self
    }

    /// Sets `K` from text the method parsed, or keeps the parse error.
    fn parsed<K: Key>(mut self, text: &str, parsed: Result<K::Value, String>) -> Self {
        match parsed {
            Ok(value) => self.set::<K>(value),
            Err(reason) => {
                self.errors
                    .push(Origin::builder(K::NAME).error(text, reason));
                self
            }
        }
    }

    /// Validates the configuration and starts the worker thread.
    ///
    /// Works with or without a tokio runtime: the worker has its own. An unreachable
    /// collector is not an error here: exports fail later and are counted.
    ///
    /// # Errors
    /// A [`BuildError`] naming the setting and value that cannot be used, an
    /// unreadable or invalid config file, or a failure to start the worker thread.
    ///
    /// ```
    /// use tracing_observer::{BuildError, Observer};
    /// let observer = Observer::builder().service_name("checkout").build()?;
    /// assert!(!observer.is_disabled());
    /// let err = Observer::builder().max_queue_size(0).build().unwrap_err();
    /// assert!(matches!(err, BuildError::InvalidSetting { .. }));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn build(mut self) -> Result<Observer, BuildError> {
        if !self.errors.is_empty() {
            return Err(self.errors.remove(0));
        }
        let from_file = match self.config_file.take() {
            Some(path) => file::load(&path)?,
            None => match self.environment.config_file()? {
                // Name the variable, so the user knows where the path came from.
                Some(path) => file::load(&path).map_err(|e| match e {
                    BuildError::ConfigFileUnreadable { path, source } => {
                        Origin::environment(crate::config::vars::OBSERVER_CONFIG).error(
                            path.display().to_string(),
                            format!("cannot read the config file: {source}"),
                        )
                    }
                    other => other,
                })?,
                None => Settings::default(),
            },
        };
        let from_env = self.environment.settings()?;
        let config = from_file
            .overlay(from_env)
            .overlay(self.overrides)
            .resolve()?;
        if config.disabled {
            return Ok(Observer::disabled());
        }
        // Bound here, so that a port in use is a build error.
        let listener = match &config.http_addr {
            Some((addr, origin)) => Some(listen(*addr, origin)?),
            None => None,
        };
        let factory: ExporterFactory = match (self.exporter, &config.exporter) {
            (Some(custom), _) => Box::new(move || Some(custom)),
            (None, ExporterConfig::Otlp(otlp)) if otlp.protocol == Protocol::Grpc => {
                let target = GrpcTarget::new(otlp)?;
                Box::new(move || Some(Box::new(target.connect()) as Box<dyn SpanExporter>))
            }
            (None, ExporterConfig::Otlp(otlp)) => {
                let exporter = HttpExporter::new(otlp)?;
                Box::new(move || Some(Box::new(exporter) as Box<dyn SpanExporter>))
            }
            (None, ExporterConfig::Console) => {
                Box::new(|| Some(Box::new(ConsoleExporter) as Box<dyn SpanExporter>))
            }
            (None, ExporterConfig::None) => Box::new(|| None),
        };
        let metrics_export = config
            .metrics_export
            .as_ref()
            .map(MetricsTarget::new)
            .transpose()?;
        let requests = RequestBuilder::new(&config.service_name, &config.resource_attributes);
        let pipeline = Pipeline::start(
            config.batch,
            config.limits,
            FieldPolicy::new(&config.redact_fields, config.allow_fields.as_deref()),
            Sampling {
                head: HeadSampler::new(&config.sampler, &config.sampling_rules),
                table: SkeletonTable::new(),
                keep_errors: config.keep_errors,
                slow_span_threshold: config.slow_span_threshold,
                overhead: OverheadMeter::new(config.overhead_budget),
            },
            requests,
            factory,
            Operations {
                delivery: config.delivery,
                service_name: config.service_name.clone(),
                span_metrics: config.span_metrics,
                resource_monitor: self
                    .resource_monitor
                    .unwrap_or_else(|| Box::new(SysinfoMonitor::new())),
                resource_interval: config.resource_interval,
                listener,
                max_worker_restarts: config.max_worker_restarts,
                health: HealthRegistry::default(),
                metrics_export,
            },
        )
        .map_err(BuildError::WorkerSpawn)?;
        if config.panic_hook {
            crate::panic_hook::install(pipeline.flush_handle());
        }
        Ok(Observer::running(pipeline, config.shutdown_timeout))
    }
}

/// Binds the endpoints' listener, non-blocking, for the worker's runtime.
fn listen(addr: SocketAddr, origin: &Origin) -> Result<std::net::TcpListener, BuildError> {
    let listener = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| {
            origin.error(
                addr.to_string(),
                format!("cannot listen on this address: {e}"),
            )
        })?;
    Ok(listener)
}
