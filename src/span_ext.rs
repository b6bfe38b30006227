//! [`ObserverSpanExt`]: read and set a `tracing::Span`'s trace context.

use crate::layer::ObserverLayer;
use crate::propagation::SpanContext;
use crate::record::SpanRecord;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Registry;

/// Trace-context access on [`tracing::Span`], for propagation and log correlation.
///
/// Works when the subscriber is built on [`tracing_subscriber::Registry`] (as
/// `tracing_subscriber::registry()` is) with an [`ObserverLayer`](crate::ObserverLayer).
///
/// ```
/// use tracing_observer::{ObserverSpanExt, SpanContext};
///
/// // The `traceparent` header of an incoming request.
/// let remote = SpanContext::from_traceparent(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
/// );
/// let span = tracing::info_span!("request");
/// if let Some(remote) = &remote {
///     span.set_parent(remote);
/// }
/// // The header for an outgoing call made inside `span`.
/// let traceparent = span.span_context().map(|cx| cx.to_traceparent());
/// ```
pub trait ObserverSpanExt {
    /// The span's context (trace id, span id, flags). For a span head sampling
    /// dropped it is a context whose sampled flag is off, so that propagation tells
    /// the next service not to record either; `None` outside an observed span.
    fn span_context(&self) -> Option<SpanContext>;

    /// Makes `parent`, from another process, the span's parent.
    ///
    /// Call it right after creating the span, before it has children: children
    /// created earlier keep the trace they started in. Returns whether it took effect.
    fn set_parent(&self, parent: &SpanContext) -> bool;
}

fn with_record<T>(span: &tracing::Span, f: impl FnOnce(&mut SpanRecord) -> T) -> Option<T> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(id)?;
        let mut extensions = data.extensions_mut();
        extensions
            .get_mut::<Box<SpanRecord>>()
            .map(|record| f(record))
    })
    .flatten()
}

impl ObserverSpanExt for tracing::Span {
    fn span_context(&self) -> Option<SpanContext> {
        self.with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let span = registry.span(id)?;
            if let Some(record) = span.extensions().get::<Box<SpanRecord>>() {
                return Some(record.context());
            }
            dispatch
                .downcast_ref::<ObserverLayer>()?
                .sampled_out_context(&span)
        })
        .flatten()
    }

    fn set_parent(&self, parent: &SpanContext) -> bool {
        with_record(self, |record| {
            record.trace_id = parent.trace_id();
            record.parent_span_id = Some(parent.span_id());
            record.parent_is_remote = true;
            record.trace_flags = parent.trace_flags();
            record.trace_state = parent.trace_state().map(str::to_owned);
        })
        .is_some()
    }
}
