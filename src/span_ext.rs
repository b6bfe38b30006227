//! [`ObserverSpanExt`]: read and set a `tracing::Span`'s trace context.

use crate::layer::{ObserverLayer, SpanBaggage};
use crate::propagation::{Baggage, SpanContext};
use crate::record::SpanRecord;
use std::sync::Arc;
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

    /// Makes `parent`, from another process, the span's parent, and its
    /// [`baggage`](SpanContext::baggage) the span's baggage.
    ///
    /// Call it right after creating the span, before it has children: children
    /// created earlier keep the trace they started in. Returns whether it took effect.
    fn set_parent(&self, parent: &SpanContext) -> bool;

    /// The baggage of the span: given to it or to an ancestor (with
    /// [`set_parent`](Self::set_parent), [`set_baggage`](Self::set_baggage), or by
    /// [`TraceServerLayer`](crate::tower) from the request), and what
    /// [`span_context`](Self::span_context) carries to downstream calls.
    ///
    /// ```
    /// use tracing_observer::{context::Baggage, ObserverSpanExt};
    /// let span = tracing::info_span!("request");
    /// span.set_baggage(Baggage::from_header("tenant=acme"));
    /// // With an observer's layer installed: Some(tenant=acme).
    /// let tenant = span.baggage().and_then(|b| b.get("tenant").map(str::to_owned));
    /// ```
    fn baggage(&self) -> Option<Baggage>;

    /// Gives the span `baggage` (an empty one removes it), for the span and the spans
    /// created in it afterwards; with `OBSERVER_BAGGAGE_ATTRIBUTES`, the chosen keys
    /// become attributes of this span. Returns whether it took effect (the span is
    /// known to an observer).
    ///
    /// ```
    /// use tracing_observer::{context::Baggage, ObserverSpanExt};
    /// let mut baggage = Baggage::new();
    /// baggage.insert("tenant", "acme").unwrap();
    /// let span = tracing::info_span!("job");
    /// span.set_baggage(baggage);
    /// ```
    fn set_baggage(&self, baggage: Baggage) -> bool;

    /// Records `error` as the span's failure: an ERROR event in the span with
    /// `exception.type` set to the error's Rust type name (where a plain `error!`
    /// can only name its target), `exception.message` and `exception.source_chain`.
    /// The span's status becomes ERROR (a sampled-out span is promoted, as for any
    /// error), and the event is a log record too. Its `code.*` attributes name this
    /// method's callsite.
    ///
    /// ```
    /// use tracing_observer::ObserverSpanExt;
    /// let span = tracing::info_span!("load");
    /// if let Err(e) = std::fs::read("/no/such/file") {
    ///     span.record_error(&e); // exception.type = "std::io::error::Error"
    /// }
    /// ```
    fn record_error<E: std::error::Error + 'static>(&self, error: &E);
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
        let set = with_record(self, |record| {
            record.trace_id = parent.trace_id();
            record.parent_span_id = Some(parent.span_id());
            record.parent_is_remote = true;
            record.trace_flags = parent.trace_flags();
            record.trace_state = parent.trace_state().map(str::to_owned);
        })
        .is_some();
        if let Some(baggage) = parent.baggage() {
            self.set_baggage(baggage.clone());
        }
        set
    }

    fn baggage(&self) -> Option<Baggage> {
        self.span_context()?.baggage().cloned()
    }

    fn record_error<E: std::error::Error + 'static>(&self, error: &E) {
        tracing::error!(
            parent: self,
            exception.type = std::any::type_name::<E>(),
            error = error as &(dyn std::error::Error + 'static),
        );
    }

    fn set_baggage(&self, baggage: Baggage) -> bool {
        self.with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let layer = dispatch.downcast_ref::<ObserverLayer>()?;
            let span = registry.span(id)?;
            let shared = (!baggage.is_empty()).then(|| Arc::new(baggage));
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<Box<SpanRecord>>() {
                Some(record) => {
                    if let Some(baggage) = &shared {
                        layer.record_baggage(record, baggage);
                    }
                    record.baggage = shared;
                }
                None => {
                    // The previous baggage, if any, is dropped here.
                    let _previous = match shared {
                        Some(baggage) => extensions.replace(SpanBaggage(baggage)),
                        None => extensions.remove::<SpanBaggage>(),
                    };
                }
            }
            Some(())
        })
        .flatten()
        .is_some()
    }
}
