//! [`SdkExporter`]: any `opentelemetry_sdk` span exporter as the observer's
//! exporter (the `opentelemetry` feature).

mod span_data;
#[cfg(test)]
mod tests;

use super::{Accepted, EncodedRequest, SpanExporter};
use crate::error::{ExportError, ExportErrorKind};
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_sdk::error::OTelSdkError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long the SDK exporter's `shutdown_with_timeout` may take: it is synchronous
/// and runs on the worker, inside the observer's shutdown deadline.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Makes an `opentelemetry_sdk` [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter)
/// (stdout, Zipkin, a vendor's) the observer's exporter, behind the observer's
/// retry, circuit breaker and spool.
///
/// Each batch is decoded from its OTLP protobuf into SDK
/// [`SpanData`](opentelemetry_sdk::trace::SpanData) (names, ids, parent ids and
/// their remote flag, kind, times, attributes, events, links, status, scope) and
/// handed to the SDK exporter's `export`, awaited on the worker's runtime. The
/// batch's resource is given to the exporter with `set_resource` whenever it
/// changes. Exports are made one at a time, as the SDK's contract asks, whatever
/// `max_concurrent_exports` is.
///
/// An SDK error carries no reason a retry policy can read, so
/// `InternalFailure` counts as the collector being unavailable (retried, then
/// spooled), `Timeout` as a timeout, and `AlreadyShutdown` as a rejection (not
/// retried). Spans with an id of the wrong length (never written by the observer)
/// are rejected and counted as dropped. Attribute values the SDK has no type for
/// (key/value lists, bytes, mixed arrays) are given as their OTLP/JSON text.
///
/// ```
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
/// use tracing_observer::{otel::SdkExporter, Observer};
///
/// let spans = InMemorySpanExporter::default();
/// let builder = Observer::builder().exporter(SdkExporter::new(spans.clone()));
/// ```
pub struct SdkExporter<E> {
    state: Arc<tokio::sync::Mutex<State<E>>>,
}

/// The SDK exporter and the resource it was last given.
struct State<E> {
    exporter: E,
    resource: Option<(Option<ProtoResource>, String)>,
}

impl<E: opentelemetry_sdk::trace::SpanExporter + 'static> SdkExporter<E> {
    /// Wraps `exporter`.
    ///
    /// ```
    /// let exporter = tracing_observer::otel::SdkExporter::new(
    ///     opentelemetry_sdk::trace::InMemorySpanExporter::default(),
    /// );
    /// ```
    pub fn new(exporter: E) -> Self {
        Self {
            state: Arc::new(tokio::sync::Mutex::new(State {
                exporter,
                resource: None,
            })),
        }
    }
}

impl<E> fmt::Debug for SdkExporter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkExporter").finish_non_exhaustive()
    }
}

impl<E: opentelemetry_sdk::trace::SpanExporter + 'static> SpanExporter for SdkExporter<E> {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let request = batch.decode()?;
            let mut state = state.lock().await;
            let mut malformed = 0;
            for resource_spans in request.resource_spans {
                let batch = span_data::resource_batch(resource_spans);
                malformed += batch.malformed;
                if batch.spans.is_empty() {
                    continue;
                }
                if state.resource.as_ref() != Some(&batch.resource) {
                    let (resource, schema_url) = &batch.resource;
                    state
                        .exporter
                        .set_resource(&span_data::resource(resource, schema_url));
                    state.resource = Some(batch.resource);
                }
                state
                    .exporter
                    .export(batch.spans)
                    .await
                    .map_err(export_error)?;
            }
            Ok(match malformed {
                0 => Accepted::all(),
                n => Accepted::partial(n, "spans with an id of the wrong length"),
            })
        })
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let state = state.lock().await;
            let _ = state.exporter.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
        })
    }
}

/// The observer's error for an SDK exporter's.
fn export_error(error: OTelSdkError) -> ExportError {
    let kind = match &error {
        OTelSdkError::Timeout(_) => ExportErrorKind::Timeout,
        OTelSdkError::AlreadyShutdown => ExportErrorKind::Rejected,
        _ => ExportErrorKind::Unavailable,
    };
    ExportError::new(kind, format!("SDK exporter: {error}"))
}
