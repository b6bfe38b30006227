//! The `tracing` workloads and the baselines that `span_overhead` (times) and
//! `instructions` (instruction counts) both measure, so that both measure the same code.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing::Subscriber;
use tracing_subscriber::Layer;

/// `info_span!("op", a = 1, b = "two")` entered and closed.
#[inline(never)]
pub fn simple() {
    let span = tracing::info_span!("op", a = 1, b = "two").entered();
    drop(span);
}

/// A root span, a child span inside it, one `info!` event in the child.
#[inline(never)]
pub fn nested() {
    let root = tracing::info_span!("root").entered();
    {
        let child = tracing::info_span!("child").entered();
        tracing::info!("inside the child");
        drop(child);
    }
    drop(root);
}

/// The floor's layer: the registry with a layer that does nothing.
pub struct NoopLayer;

impl<S: Subscriber> Layer<S> for NoopLayer {}

/// An `opentelemetry_sdk` exporter that counts spans and keeps nothing.
#[derive(Clone, Debug, Default)]
pub struct CountingSpanExporter {
    pub spans: Arc<AtomicU64>,
}

impl opentelemetry_sdk::trace::SpanExporter for CountingSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.spans.fetch_add(batch.len() as u64, Ordering::Relaxed);
        std::future::ready(Ok(()))
    }
}
