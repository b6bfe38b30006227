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

pub(crate) use endpoint::Protocol;
pub use memory::InMemoryExporter;
pub use request::EncodedRequest;

use crate::error::ExportError;
use futures_util::future::BoxFuture;

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
/// use tracing_observer::export::EncodedRequest;
/// use tracing_observer::{ExportError, SpanExporter};
///
/// struct Discard;
///
/// impl SpanExporter for Discard {
///     fn export(&self, _batch: EncodedRequest) -> BoxFuture<'static, Result<(), ExportError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// let builder = tracing_observer::Observer::builder().exporter(Discard);
/// ```
pub trait SpanExporter: Send + 'static {
    /// Delivers one batch. An error counts the batch's spans as failed.
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<(), ExportError>>;

    /// Releases resources at shutdown; the default does nothing.
    fn shutdown(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl SpanExporter for Box<dyn SpanExporter> {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<(), ExportError>> {
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
    };
    Ok(match protocol {
        Protocol::Grpc => Box::new(grpc::GrpcTarget::new(&config)?.connect()),
        _ => Box::new(http::HttpExporter::new(&config)?),
    })
}
