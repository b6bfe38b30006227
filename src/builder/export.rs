//! [`ObserverBuilder`] setters: what is exported and where: the resource, the OTLP transport of traces and metrics.

use super::ObserverBuilder;
use crate::config::key;
use crate::config::parse;
use crate::config::Compression;
use crate::config::MetricsExporter;
use crate::config::Protocol;
use crate::config::TracesExporter;
use std::path::PathBuf;
use std::time::Duration;

impl ObserverBuilder {
    /// The `service.name` resource attribute.
    ///
    /// Environment: `OTEL_SERVICE_NAME`. Default: `unknown_service:<executable>`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().service_name("checkout");
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
    /// use tracing_observer::{config::vars, export::InMemoryExporter, Observer};
    /// // The service is `checkout` unless OTEL_SERVICE_NAME (or the config file) renames it.
    /// let builder = Observer::builder().default_service_name("checkout");
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
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().service_version("1.4.2");
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
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().resource_attribute("deployment.environment.name", "prod");
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
    /// use tracing_observer::{Observer, config::TracesExporter};
    /// let builder = Observer::builder().traces_exporter(TracesExporter::Console);
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
    /// let builder = Observer::builder().endpoint("https://collector.example.com:4317");
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
    /// use tracing_observer::{Observer, config::Protocol};
    /// let builder = Observer::builder().protocol(Protocol::HttpJson).endpoint("http://127.0.0.1:4318");
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
    /// let builder = Observer::builder().header("authorization", "Bearer secret-token");
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
    /// use tracing_observer::{config::Compression, Observer};
    /// let builder = Observer::builder().compression(Compression::Gzip);
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
    /// let builder = Observer::builder().request_timeout(Duration::from_secs(2));
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

    /// A PEM file of the client certificate (chain) presented to the collector (mTLS);
    /// needs [`client_key`](Self::client_key).
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}CLIENT_CERTIFICATE`. Default: none.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let err = Observer::builder().client_certificate("/etc/otel/client.pem").build().unwrap_err();
    /// assert!(err.to_string().contains("needs client_key"), "{err}");
    /// ```
    pub fn client_certificate(self, path: impl Into<PathBuf>) -> Self {
        self.set::<key::client_certificate>(path.into())
    }

    /// A PEM file of the private key of [`client_certificate`](Self::client_certificate).
    ///
    /// Environment: `OTEL_EXPORTER_OTLP_{TRACES_,}CLIENT_KEY`. Default: none.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// // Both files are read by build(): a missing one is an error naming the setting.
    /// let err = Observer::builder()
    ///     .client_certificate("/nonexistent/client.pem")
    ///     .client_key("/nonexistent/client.key")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("ObserverBuilder::client_certificate=/nonexistent/client.pem"), "{err}");
    /// ```
    pub fn client_key(self, path: impl Into<PathBuf>) -> Self {
        self.set::<key::client_key>(path.into())
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
    /// use tracing_observer::{config::MetricsExporter, Observer};
    /// let builder = Observer::builder()
    ///     .metrics_exporter(MetricsExporter::Otlp)
    ///     .endpoint("http://127.0.0.1:4317");
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
    /// use tracing_observer::{config::MetricsExporter, Observer};
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
    /// use tracing_observer::{Observer, config::Protocol};
    /// let builder = Observer::builder().metrics_protocol(Protocol::HttpProtobuf);
    /// ```
    pub fn metrics_protocol(self, protocol: Protocol) -> Self {
        self.set::<key::metrics_protocol>(protocol)
    }
}
