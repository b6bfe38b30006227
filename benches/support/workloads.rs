//! The `tracing` workloads and the baselines that `span_overhead` (times) and
//! `instructions` (instruction counts) both measure, so that both measure the same code.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
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

/// A span with four `info!` events inside it (an event's cost: this less `simple`, over 4).
#[inline(never)]
pub fn events() {
    let span = tracing::info_span!("op", a = 1, b = "two").entered();
    for i in 0..4_u64 {
        tracing::info!(i, kind = "step", "an event in a recorded span");
    }
    drop(span);
}

/// The floor's layer: the registry with a layer that does nothing.
pub struct NoopLayer;

impl<S: Subscriber> Layer<S> for NoopLayer {}

/// The least a layer measuring durations does: reads the monotonic clock at creation
/// and close, keeps the start in a fixed table and adds the duration to a total.
pub struct MinimalLayer {
    starts: Box<[AtomicU64]>,
    total_ns: AtomicU64,
}

const MINIMAL_SLOTS: usize = 1 << 16;

impl Default for MinimalLayer {
    fn default() -> Self {
        Self {
            starts: (0..MINIMAL_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            total_ns: AtomicU64::new(0),
        }
    }
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000) + ts.tv_nsec as u64
}

impl MinimalLayer {
    fn slot(&self, id: &tracing::span::Id) -> &AtomicU64 {
        &self.starts[id.into_u64() as usize % MINIMAL_SLOTS]
    }
}

impl<S: Subscriber> Layer<S> for MinimalLayer {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        self.slot(id).store(monotonic_ns(), Ordering::Relaxed);
    }

    fn on_close(&self, id: tracing::span::Id, _: Context<'_, S>) {
        let start = self.slot(&id).load(Ordering::Relaxed);
        let took = monotonic_ns().wrapping_sub(start);
        self.total_ns.fetch_add(took, Ordering::Relaxed);
    }
}

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
