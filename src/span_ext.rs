//! [`ObserverSpanExt`]: read and set a `tracing::Span`'s trace context.

use crate::layer::{ObserverLayer, SpanBaggage};
#[cfg(feature = "opentelemetry")]
use crate::otel_interop::{context_baggage, otel_context};
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
    /// `parent` is a [`SpanContext`] (or a reference to one); with the
    /// `opentelemetry` feature, an `opentelemetry::Context` (or a reference to one) as
    /// `tracing-opentelemetry`'s `OpenTelemetrySpanExt::set_parent` takes it: its
    /// span's context becomes the parent and its baggage the span's baggage (a context
    /// with baggage but no valid span gives the baggage alone, and returns `false`).
    ///
    /// Call it right after creating the span, before it has children: children
    /// created earlier keep the trace they started in. Returns whether the parent was
    /// set (the span is recorded by an observer and `parent` has a valid context).
    ///
    /// ```
    /// use tracing_observer::{ObserverSpanExt, SpanContext};
    /// let remote = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// let span = tracing::info_span!("request");
    /// span.set_parent(&remote);
    /// // The same, giving the context away:
    /// tracing::info_span!("retry").set_parent(remote);
    /// ```
    fn set_parent(&self, parent: impl IntoParent) -> bool;

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

    /// The span's context as an `opentelemetry::Context`, as
    /// `tracing-opentelemetry`'s `OpenTelemetrySpanExt::context` gives it: a local
    /// span context (not remote) with the span's baggage, for an `opentelemetry`
    /// propagator's `inject_context`. An empty context outside an observed span.
    ///
    /// ```
    /// use opentelemetry::trace::TraceContextExt;
    /// use tracing_observer::ObserverSpanExt;
    /// let span = tracing::info_span!("request");
    /// // With an observer's layer installed: the span's ids; here, none.
    /// assert!(!span.context().span().span_context().is_valid());
    /// ```
    #[cfg(feature = "opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
    fn context(&self) -> opentelemetry::Context {
        self.span_context()
            .map_or_else(opentelemetry::Context::new, |cx| otel_context(&cx, false))
    }
}

/// A remote parent [`ObserverSpanExt::set_parent`] accepts: a [`SpanContext`], or
/// with the `opentelemetry` feature an `opentelemetry::Context`, owned or borrowed.
///
/// ```
/// fn continue_from(span: &tracing::Span, parent: impl tracing_observer::IntoParent) -> bool {
///     use tracing_observer::ObserverSpanExt;
///     span.set_parent(parent)
/// }
/// ```
pub trait IntoParent: sealed::Sealed {
    /// The parent's context, and baggage that comes without one.
    #[doc(hidden)]
    fn into_parent(self) -> (Option<SpanContext>, Option<Baggage>);
}

mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for SpanContext {}
impl sealed::Sealed for &SpanContext {}

impl IntoParent for SpanContext {
    fn into_parent(self) -> (Option<SpanContext>, Option<Baggage>) {
        (Some(self), None)
    }
}

impl IntoParent for &SpanContext {
    fn into_parent(self) -> (Option<SpanContext>, Option<Baggage>) {
        (Some(self.clone()), None)
    }
}

#[cfg(feature = "opentelemetry")]
impl sealed::Sealed for opentelemetry::Context {}
#[cfg(feature = "opentelemetry")]
impl sealed::Sealed for &opentelemetry::Context {}

#[cfg(feature = "opentelemetry")]
impl IntoParent for &opentelemetry::Context {
    fn into_parent(self) -> (Option<SpanContext>, Option<Baggage>) {
        match SpanContext::try_from(self) {
            Ok(cx) => (Some(cx), None),
            Err(_) => (None, context_baggage(self)),
        }
    }
}

#[cfg(feature = "opentelemetry")]
impl IntoParent for opentelemetry::Context {
    fn into_parent(self) -> (Option<SpanContext>, Option<Baggage>) {
        (&self).into_parent()
    }
}

/// Makes `parent` the remote parent of `span`'s record, and its baggage the span's.
fn set_remote_parent(span: &tracing::Span, parent: &SpanContext) -> bool {
    let set = with_record(span, |record| {
        record.trace_id = parent.trace_id();
        record.parent_span_id = Some(parent.span_id());
        record.parent_is_remote = true;
        record.trace_flags = parent.trace_flags();
        record.trace_state = parent.trace_state().map(str::to_owned);
    })
    .is_some();
    if let Some(baggage) = parent.baggage() {
        span.set_baggage(baggage.clone());
    }
    set
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

    fn set_parent(&self, parent: impl IntoParent) -> bool {
        match parent.into_parent() {
            (Some(parent), _) => set_remote_parent(self, &parent),
            (None, baggage) => {
                if let Some(baggage) = baggage {
                    self.set_baggage(baggage);
                }
                false
            }
        }
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
