//! Export: the seam between the worker and the wire.
//!
//! The worker writes each batch as an OTLP `ExportTraceServiceRequest` in protobuf
//! ([`encode`], straight from the records) and hands the bytes, an
//! [`EncodedRequest`], to a [`SpanExporter`]. The built-in exporters send them over
//! gRPC (tonic) and HTTP (reqwest) as they are, or decode them to print OTLP/JSON;
//! tests and benchmarks use [`InMemoryExporter`]; retry, circuit breaking and
//! spooling wrap this trait.

pub(crate) mod console;
pub(crate) mod encode;
pub(crate) mod endpoint;
pub(crate) mod grpc;
pub(crate) mod http;
mod memory;
pub(crate) mod metrics;
mod request;
pub(crate) mod resource;
#[cfg(feature = "opentelemetry")]
pub(crate) mod sdk;
mod tls_probe;

pub(crate) use endpoint::Protocol;
pub use memory::InMemoryExporter;
pub use request::EncodedRequest;

use crate::error::ExportError;
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

/// What the collector accepted of a batch: all of it, or all but `rejected_spans`
/// (OTLP partial success). Rejected spans are counted as dropped, reason `rejected`,
/// and not retried.
///
/// ```
/// use tracing_observer::export::Accepted;
/// assert_eq!(Accepted::all().rejected_spans, 0);
/// let partly = Accepted::partial(3, "attributes too long");
/// assert_eq!((partly.rejected_spans, partly.message.as_deref()), (3, Some("attributes too long")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// Spans the collector did not keep (`partial_success.rejected_spans`).
    pub rejected_spans: u64,
    /// The collector's `partial_success.error_message`, when not empty.
    pub message: Option<String>,
}

impl Accepted {
    /// The whole batch was accepted.
    ///
    /// ```
    /// assert_eq!(tracing_observer::export::Accepted::all(), Default::default());
    /// ```
    pub fn all() -> Self {
        Self::default()
    }

    /// All but `rejected_spans` spans were accepted; `message` says why (may be empty).
    ///
    /// ```
    /// let accepted = tracing_observer::export::Accepted::partial(2, "");
    /// assert_eq!((accepted.rejected_spans, accepted.message), (2, None));
    /// ```
    pub fn partial(rejected_spans: u64, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            rejected_spans,
            message: (!message.is_empty()).then_some(message),
        }
    }

    /// From an OTLP response's `partial_success` (absent: all accepted; a negative
    /// count reads as none).
    pub(crate) fn from_partial_success(partial: Option<ExportTracePartialSuccess>) -> Self {
        partial.map_or_else(Self::all, |p| {
            Self::partial(
                u64::try_from(p.rejected_spans).unwrap_or(0),
                p.error_message,
            )
        })
    }
}

/// Something that delivers batches of spans, driven by the observer's worker.
///
/// A batch arrives encoded ([`EncodedRequest`]): an exporter that writes to the wire
/// sends [`EncodedRequest::bytes`]; one that wants the OTLP structs calls
/// [`EncodedRequest::decode`] (at the price of building them).
///
/// Implementations run on the worker's own current-thread tokio runtime, so they may
/// use tokio I/O and timers. The worker runs up to `max_concurrent_exports` exports at
/// once (each future owns what it needs, hence `'static`) and bounds each by the
/// export timeout.
///
/// ```
/// use futures_util::future::BoxFuture;
/// use tracing_observer::export::{Accepted, EncodedRequest};
/// use tracing_observer::{ExportError, SpanExporter};
///
/// struct Discard;
///
/// impl SpanExporter for Discard {
///     fn export(&self, _batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
///         Box::pin(async { Ok(Accepted::all()) })
///     }
/// }
///
/// let builder = tracing_observer::Observer::builder().exporter(Discard);
/// ```
pub trait SpanExporter: Send + 'static {
    /// Delivers one batch. An error counts the batch's spans as failed; spans the
    /// collector rejected in a partial success are counted as dropped (`rejected`).
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>>;

    /// Releases resources at shutdown; the default does nothing.
    fn shutdown(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl SpanExporter for Box<dyn SpanExporter> {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        (**self).export(batch)
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        (**self).shutdown()
    }
}

/// An OTLP exporter to `endpoint` over `protocol`, without headers, compression or
/// a custom CA; must be called inside a runtime.
pub(crate) fn otlp_exporter(
    endpoint: &str,
    protocol: Protocol,
    timeout: std::time::Duration,
) -> Result<Box<dyn SpanExporter>, crate::error::BuildError> {
    use endpoint::{complete_endpoint, EndpointPath, EndpointSetting, OtlpConfig, Signal};
    let url = endpoint::parse(endpoint)
        .map_err(|reason| crate::error::BuildError::invalid("endpoint", endpoint, reason))?;
    let setting = EndpointSetting {
        url,
        path: EndpointPath::AppendIfEmpty,
    };
    let config = OtlpConfig {
        protocol,
        endpoint: complete_endpoint(&setting, protocol, Signal::Traces),
        headers: Vec::new(),
        compression: endpoint::Compression::None,
        timeout,
        certificate: None,
        client_identity: None,
    };
    Ok(match protocol {
        Protocol::Grpc => Box::new(grpc::GrpcTarget::new(&config)?.connect(Signal::Traces)),
        _ => Box::new(http::HttpExporter::new(&config)?),
    })
}
