//! Conversions between this crate's [`SpanContext`] and [`Baggage`] and the
//! `opentelemetry` API's span context, baggage and [`Context`].

use crate::ids::{SpanId, TraceId};
use crate::propagation::{Baggage, SpanContext};
use opentelemetry::baggage::{Baggage as OtelBaggage, BaggageExt};
use opentelemetry::trace::{
    SpanContext as OtelSpanContext, TraceContextExt, TraceFlags, TraceState,
};
use opentelemetry::Context;
use std::fmt;

/// An `opentelemetry` span context (or a [`Context`] without one) that has no valid
/// trace id or span id, hence no [`SpanContext`].
///
/// ```
/// use tracing_observer::{otel::InvalidSpanContext, SpanContext};
/// let none = opentelemetry::trace::SpanContext::empty_context();
/// assert_eq!(SpanContext::try_from(&none), Err(InvalidSpanContext));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSpanContext;

impl fmt::Display for InvalidSpanContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the OpenTelemetry span context has no valid trace id and span id")
    }
}

impl std::error::Error for InvalidSpanContext {}

/// `cx` as an `opentelemetry` span context, marked remote or local.
pub(crate) fn otel_span_context(cx: &SpanContext, is_remote: bool) -> OtelSpanContext {
    let trace_state = cx
        .trace_state()
        .and_then(|state| state.parse::<TraceState>().ok())
        .unwrap_or_default();
    OtelSpanContext::new(
        opentelemetry::TraceId::from_bytes(cx.trace_id().to_bytes()),
        opentelemetry::SpanId::from_bytes(cx.span_id().to_bytes()),
        TraceFlags::new(cx.trace_flags()),
        is_remote,
        trace_state,
    )
}

/// A [`Context`] carrying `cx` (marked remote or local) and its baggage.
pub(crate) fn otel_context(cx: &SpanContext, is_remote: bool) -> Context {
    let context = Context::new().with_remote_span_context(otel_span_context(cx, is_remote));
    match cx.baggage() {
        Some(baggage) => context.with_baggage(OtelBaggage::from(baggage)),
        None => context,
    }
}

/// The baggage a [`Context`] carries, if any.
pub(crate) fn context_baggage(cx: &Context) -> Option<Baggage> {
    let baggage = Baggage::from(cx.baggage());
    (!baggage.is_empty()).then_some(baggage)
}

/// A remote span context, as extraction gives it: this crate's [`SpanContext`] is
/// what crosses process boundaries. The trace flags are kept; a `tracestate` that
/// the `opentelemetry` crate finds invalid is dropped; baggage is not part of a span
/// context (convert to a [`Context`] to keep it).
///
/// ```
/// use tracing_observer::SpanContext;
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
///     .unwrap()
///     .with_trace_state("congo=t61rcWkgMzE");
/// let otel = opentelemetry::trace::SpanContext::from(&cx);
/// assert_eq!(otel.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(otel.is_sampled() && otel.is_remote());
/// assert_eq!(otel.trace_state().header(), "congo=t61rcWkgMzE");
/// ```
impl From<&SpanContext> for OtelSpanContext {
    fn from(cx: &SpanContext) -> Self {
        otel_span_context(cx, true)
    }
}

/// As `From<&SpanContext>`: a remote span context.
///
/// ```
/// use tracing_observer::SpanContext;
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
/// let otel: opentelemetry::trace::SpanContext = cx.into();
/// assert!(!otel.is_sampled());
/// ```
impl From<SpanContext> for OtelSpanContext {
    fn from(cx: SpanContext) -> Self {
        otel_span_context(&cx, true)
    }
}

/// The ids, trace flags and `tracestate` of a valid `opentelemetry` span context
/// (whether it is remote is not kept: a [`SpanContext`] is always the far side's).
///
/// ```
/// use opentelemetry::trace::{SpanContext as OtelSpanContext, SpanId, TraceFlags, TraceId, TraceState};
/// use tracing_observer::SpanContext;
/// let otel = OtelSpanContext::new(
///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
///     TraceFlags::SAMPLED,
///     true,
///     "congo=t61rcWkgMzE".parse::<TraceState>().unwrap(),
/// );
/// let cx = SpanContext::try_from(&otel).unwrap();
/// assert_eq!(cx.to_traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert_eq!(cx.trace_state(), Some("congo=t61rcWkgMzE"));
/// ```
impl TryFrom<&OtelSpanContext> for SpanContext {
    type Error = InvalidSpanContext;

    fn try_from(otel: &OtelSpanContext) -> Result<Self, InvalidSpanContext> {
        if !otel.is_valid() {
            return Err(InvalidSpanContext);
        }
        let trace_id = TraceId::from_u128(u128::from_be_bytes(otel.trace_id().to_bytes()));
        let span_id = SpanId::from_u64(u64::from_be_bytes(otel.span_id().to_bytes()));
        Ok(SpanContext::new(trace_id, span_id)
            .with_trace_flags(otel.trace_flags().to_u8())
            .with_trace_state(&otel.trace_state().header()))
    }
}

/// As `TryFrom<&opentelemetry::trace::SpanContext>`.
///
/// ```
/// use tracing_observer::SpanContext;
/// assert!(SpanContext::try_from(opentelemetry::trace::SpanContext::NONE).is_err());
/// ```
impl TryFrom<OtelSpanContext> for SpanContext {
    type Error = InvalidSpanContext;

    fn try_from(otel: OtelSpanContext) -> Result<Self, InvalidSpanContext> {
        SpanContext::try_from(&otel)
    }
}

/// A [`Context`] whose span is this remote span context, with its baggage: what
/// `TextMapPropagator::extract` returns for it, and what `inject_context` writes.
///
/// ```
/// use opentelemetry::{baggage::BaggageExt, trace::TraceContextExt, Context};
/// use tracing_observer::{context::Baggage, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
///     .unwrap()
///     .with_baggage(Baggage::from_header("tenant=acme"));
/// let otel = Context::from(&cx);
/// assert_eq!(otel.span().span_context().span_id().to_string(), "00f067aa0ba902b7");
/// assert_eq!(otel.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
/// ```
impl From<&SpanContext> for Context {
    fn from(cx: &SpanContext) -> Self {
        otel_context(cx, true)
    }
}

/// The span context of the [`Context`]'s span, with the context's baggage.
///
/// ```
/// use opentelemetry::{baggage::BaggageExt, Context, KeyValue};
/// use tracing_observer::SpanContext;
/// let remote = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let otel = Context::from(&remote).with_baggage([KeyValue::new("tenant", "acme")]);
/// let cx = SpanContext::try_from(&otel).unwrap();
/// assert_eq!(cx.baggage().unwrap().get("tenant"), Some("acme"));
/// assert!(SpanContext::try_from(&Context::new()).is_err(), "no span");
/// ```
impl TryFrom<&Context> for SpanContext {
    type Error = InvalidSpanContext;

    fn try_from(otel: &Context) -> Result<Self, InvalidSpanContext> {
        let cx = SpanContext::try_from(otel.span().span_context())?;
        Ok(match context_baggage(otel) {
            Some(baggage) => cx.with_baggage(baggage),
            None => cx,
        })
    }
}

/// The same entries with their properties (as `opentelemetry` metadata). The
/// `opentelemetry` baggage keeps at most 64 entries: those past it are left out.
///
/// ```
/// use tracing_observer::context::Baggage;
/// let ours = Baggage::from_header("tenant=acme;ttl=60,region=eu");
/// let theirs = opentelemetry::baggage::Baggage::from(&ours);
/// let (value, metadata) = theirs.get_with_metadata("tenant").unwrap();
/// assert_eq!((value.as_str(), metadata.as_str()), ("acme", "ttl=60"));
/// ```
impl From<&Baggage> for OtelBaggage {
    fn from(baggage: &Baggage) -> Self {
        let mut otel = OtelBaggage::new();
        for (key, value, properties) in baggage.iter_with_properties() {
            otel.insert_with_metadata(
                key.to_owned(),
                value.to_owned(),
                properties.unwrap_or_default().to_owned(),
            );
        }
        otel
    }
}

/// The same entries with their metadata as properties, sorted by key (the
/// `opentelemetry` baggage has no order). Entries this crate's [`Baggage`] refuses (a
/// key that is not a token, malformed metadata, over the W3C limits) are left out.
///
/// ```
/// use opentelemetry::KeyValue;
/// use tracing_observer::context::Baggage;
/// let theirs = opentelemetry::baggage::Baggage::from_iter([
///     KeyValue::new("tenant", "acme"),
///     KeyValue::new("region", "eu"),
/// ]);
/// let ours = Baggage::from(&theirs);
/// assert_eq!(ours.to_header(), "region=eu,tenant=acme");
/// ```
impl From<&OtelBaggage> for Baggage {
    fn from(otel: &OtelBaggage) -> Self {
        let mut entries: Vec<_> = otel.iter().collect();
        entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let mut baggage = Baggage::new();
        for (key, (value, metadata)) in entries {
            let properties = Some(metadata.as_str()).filter(|m| !m.is_empty());
            let _ = baggage.insert_with_properties(key.as_str(), value.as_str(), properties);
        }
        baggage
    }
}
