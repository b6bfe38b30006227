//! Where and how OTLP requests go: the protocol, compression, endpoint and its
//! completion rules, and the resolved transport settings an exporter is built from.

use std::time::Duration;

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
///
/// ```
/// use tracing_observer::{Observer, config::Protocol};
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
/// use tracing_observer::{config::Compression, Observer};
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
    /// The client certificate and key for mTLS, read at build time.
    pub(crate) client_identity: Option<Box<ClientIdentity>>,
}

/// A client certificate (chain) and its private key, PEM.
#[derive(Clone)]
pub(crate) struct ClientIdentity {
    pub(crate) certificate: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of debug output.
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

/// What an export error says when a TLS server refused the handshake for want of a
/// client certificate: `None` when `message` is not such a refusal.
pub(crate) fn missing_client_certificate(message: &str, has_identity: bool) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let refused = lower.contains("certificaterequired") || lower.contains("certificate required");
    (refused && !has_identity).then(|| client_certificate_required(message))
}

/// The export error's message when the collector refused a client without certificate.
pub(crate) fn client_certificate_required(detail: &str) -> String {
    format!(
        "the collector requires a client certificate (mTLS) and none is configured: set \
         OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY ({detail})"
    )
}

/// OTLP metrics export, resolved: where, how often, and the bound of one export.
#[derive(Clone, Debug)]
pub(crate) struct MetricsExportConfig {
    /// The transport; its `timeout` is the smaller of the request and export timeouts.
    pub(crate) otlp: OtlpConfig,
    pub(crate) interval: Duration,
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

/// The kind of telemetry an endpoint is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// The OTLP/HTTP path of the signal.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
            Self::Logs => "/v1/logs",
        }
    }

    /// The OTLP/gRPC service and method an export of the signal calls.
    pub(crate) fn grpc_path(self) -> &'static str {
        match self {
            Self::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Self::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            Self::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        }
    }
}

/// Completes an endpoint for the protocol: gRPC uses scheme and authority only;
/// HTTP gets the signal's path (`/v1/traces`) by the endpoint's rule.
pub(crate) fn complete_endpoint(
    setting: &EndpointSetting,
    protocol: Protocol,
    signal: Signal,
) -> url::Url {
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

/// Checks an endpoint URL: it must parse and use http or https.
pub(crate) fn parse(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| {
        format!("not a URL ({e}); write it with a scheme, e.g. http://localhost:4317")
    })?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".into()),
        _ => Err(
            "the endpoint needs an http:// or https:// scheme, e.g. http://localhost:4317".into(),
        ),
    }
}
