//! The trace context of the current span, for log correlation and other layers.
//!
//! A JSON log layer, an error reporter or a response header can read the ids of
//! the span the code is in without depending on the observer's internals:
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let observer = tracing_observer::Observer::builder().build()?;
//! tracing_subscriber::registry().with(observer.layer()).init();
//!
//! tracing::info_span!("request").in_scope(|| {
//!     if let Some(trace_id) = tracing_observer::context::current_trace_id() {
//!         tracing::info!(%trace_id, "correlated log line");
//!     }
//! });
//! # Ok::<(), tracing_observer::BuildError>(())
//! ```
//!
//! Outside a span, or under a subscriber without an
//! [`ObserverLayer`](crate::ObserverLayer), these functions return `None`. In a trace
//! the head sampler dropped they return its unsampled context (sampled flag off): the
//! ids the spans would be exported with if an error kept them.

use crate::ids::{SpanId, TraceId};
use crate::propagation::{Baggage, SpanContext};
use crate::span_ext::ObserverSpanExt;

/// The context (trace id, span id, flags, `tracestate`) of [`tracing::Span::current`].
///
/// ```
/// let _entered = tracing::info_span!("work").entered();
/// if let Some(cx) = tracing_observer::context::current_span_context() {
///     println!("traceparent: {}", cx.to_traceparent());
/// }
/// ```
pub fn current_span_context() -> Option<SpanContext> {
    tracing::Span::current().span_context()
}

/// The trace id of the current span, as [`current_span_context`] sees it.
///
/// ```
/// let _entered = tracing::info_span!("work").entered();
/// if let Some(trace_id) = tracing_observer::context::current_trace_id() {
///     tracing::info!(%trace_id, "correlated log line");
/// }
/// ```
pub fn current_trace_id() -> Option<TraceId> {
    current_span_context().map(|cx| cx.trace_id())
}

/// The span id of the current span, as [`current_span_context`] sees it.
///
/// ```
/// let _entered = tracing::info_span!("work").entered();
/// if let Some(span_id) = tracing_observer::context::current_span_id() {
///     tracing::info!(%span_id, "correlated log line");
/// }
/// ```
pub fn current_span_id() -> Option<SpanId> {
    current_span_context().map(|cx| cx.span_id())
}

/// The baggage of the current span: what the request brought (the `baggage` header,
/// Jaeger's `uberctx-*`) or the application set, and what calls made here carry on.
///
/// ```
/// let _entered = tracing::info_span!("work").entered();
/// if let Some(tenant) = tracing_observer::context::baggage().and_then(|b| b.get("tenant").map(str::to_owned)) {
///     tracing::info!(%tenant, "for a tenant");
/// }
/// ```
pub fn baggage() -> Option<Baggage> {
    tracing::Span::current().baggage()
}

/// The context of [`tracing::Span::current`] as an `opentelemetry::Context`: what
/// `tracing-opentelemetry` users write as `Span::current().context()` (which
/// [`ObserverSpanExt::context`] also gives), for an `opentelemetry` propagator.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use tracing_observer::otel::{current_context, ObserverPropagator};
///
/// let mut headers = std::collections::HashMap::new();
/// let _entered = tracing::info_span!("call").entered();
/// ObserverPropagator::new().inject_context(&current_context(), &mut headers);
/// // With an observer's layer installed, `headers` now holds a `traceparent`.
/// ```
#[cfg(feature = "opentelemetry")]
pub fn current_context() -> opentelemetry::Context {
    tracing::Span::current().context()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn follows_the_entered_span() {
        let observer = crate::Observer::builder()
            .environment(std::iter::empty::<(String, String)>())
            .exporter(crate::export::InMemoryExporter::counting())
            .build()
            .unwrap();
        let subscriber = tracing_subscriber::registry().with(observer.layer());
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(current_span_context(), None);
            let outer = tracing::info_span!("outer");
            let outer_cx = outer.span_context().unwrap();
            outer.in_scope(|| {
                assert_eq!(current_span_context(), Some(outer_cx.clone()));
                tracing::info_span!("inner").in_scope(|| {
                    assert_eq!(current_trace_id(), Some(outer_cx.trace_id()));
                    assert_ne!(current_span_id(), Some(outer_cx.span_id()));
                });
            });
        });
    }
}
