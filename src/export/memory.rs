use super::{Accepted, EncodedRequest, SpanExporter};
use crate::error::ExportError;
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// An exporter that keeps batches in memory, for tests and benchmarks.
///
/// It decodes each request into OTLP structs (prost), except when made with
/// [`counting`](Self::counting), which only counts.
///
/// Clones share the same storage, so keep one clone to inspect what the observer exported.
///
/// ```
/// use std::time::Duration;
/// use tracing_subscriber::prelude::*;
/// use tracing_observer::{export::InMemoryExporter, Observer};
///
/// let exporter = InMemoryExporter::new();
/// let observer = Observer::builder()
/// #     .spool(false)
///     .exporter(exporter.clone()).build().unwrap();
/// let subscriber = tracing_subscriber::registry().with(observer.layer());
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("work").entered();
/// });
/// observer.shutdown(Duration::from_secs(5));
/// assert_eq!(exporter.spans()[0].name, "work");
/// ```
#[derive(Clone, Debug, Default)]
pub struct InMemoryExporter {
    requests: Option<Arc<Mutex<Vec<ExportTraceServiceRequest>>>>,
    spans: Arc<AtomicUsize>,
}

impl InMemoryExporter {
    /// An exporter that keeps every request.
    ///
    /// ```
    /// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
    /// use tracing_observer::export::{EncodedRequest, InMemoryExporter};
    /// use tracing_observer::SpanExporter;
    /// let exporter = InMemoryExporter::new();
    /// futures_util::FutureExt::now_or_never(exporter.export(EncodedRequest::from_request(&ExportTraceServiceRequest::default()))).unwrap()?;
    /// assert_eq!(exporter.requests().len(), 1);
    /// # Ok::<(), tracing_observer::ExportError>(())
    /// ```
    pub fn new() -> Self {
        Self {
            requests: Some(Arc::default()),
            spans: Arc::default(),
        }
    }

    /// An exporter that only counts spans and keeps nothing (for benchmarks).
    ///
    /// ```
    /// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
    /// use tracing_observer::export::{EncodedRequest, InMemoryExporter};
    /// use tracing_observer::SpanExporter;
    /// let exporter = InMemoryExporter::counting();
    /// futures_util::FutureExt::now_or_never(exporter.export(EncodedRequest::from_request(&ExportTraceServiceRequest::default()))).unwrap()?;
    /// assert!(exporter.requests().is_empty(), "a counting exporter keeps nothing");
    /// # Ok::<(), tracing_observer::ExportError>(())
    /// ```
    pub fn counting() -> Self {
        Self::default()
    }

    /// Every request exported so far (empty for a counting exporter).
    ///
    /// ```
    /// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
    /// use tracing_observer::export::{EncodedRequest, InMemoryExporter};
    /// use tracing_observer::SpanExporter;
    /// let exporter = InMemoryExporter::new();
    /// assert!(exporter.requests().is_empty());
    /// futures_util::FutureExt::now_or_never(exporter.export(EncodedRequest::from_request(&ExportTraceServiceRequest::default()))).unwrap()?;
    /// assert_eq!(exporter.requests()[0], ExportTraceServiceRequest::default());
    /// # Ok::<(), tracing_observer::ExportError>(())
    /// ```
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.requests
            .as_ref()
            .and_then(|r| r.lock().ok().map(|r| r.clone()))
            .unwrap_or_default()
    }

    /// Every span exported so far, in export order (empty for a counting exporter).
    ///
    /// ```
    /// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
    /// use tracing_observer::export::{EncodedRequest, InMemoryExporter};
    /// use tracing_observer::SpanExporter;
    /// let exporter = InMemoryExporter::new();
    /// futures_util::FutureExt::now_or_never(exporter.export(EncodedRequest::from_request(&ExportTraceServiceRequest::default()))).unwrap()?;
    /// assert!(exporter.spans().is_empty(), "the request held no span");
    /// # Ok::<(), tracing_observer::ExportError>(())
    /// ```
    pub fn spans(&self) -> Vec<Span> {
        self.requests()
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }

    /// How many spans were exported so far.
    ///
    /// ```
    /// use tracing_observer::export::InMemoryExporter;
    /// let exporter = InMemoryExporter::counting();
    /// assert_eq!(exporter.span_count(), 0);
    /// ```
    pub fn span_count(&self) -> usize {
        self.spans.load(Ordering::Acquire)
    }
}

impl SpanExporter for InMemoryExporter {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        if let Some(requests) = &self.requests {
            let request = match batch.decode() {
                Ok(request) => request,
                Err(error) => return Box::pin(async { Err(error) }),
            };
            if let Ok(mut requests) = requests.lock() {
                requests.push(request);
            }
        }
        self.spans.fetch_add(batch.spans(), Ordering::AcqRel);
        Box::pin(async { Ok(Accepted::all()) })
    }
}
