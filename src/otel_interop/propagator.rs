//! [`ObserverPropagator`]: the observer's header formats as an `opentelemetry`
//! [`TextMapPropagator`], over any [`Extractor`] and [`Injector`].

use super::convert::{context_baggage, otel_span_context};
use crate::propagation::{propagators, Carrier, Propagator, Propagators, SpanContext};
use opentelemetry::baggage::{Baggage as OtelBaggage, BaggageExt};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::propagation::{text_map_propagator::FieldIter, Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

/// A [`TextMapPropagator`] that reads and writes the observer's header formats
/// (`OTEL_PROPAGATORS`: `tracecontext`, `baggage`, `b3`, `b3multi`, `jaeger`), so that
/// code written against `opentelemetry::global::get_text_map_propagator` and
/// `opentelemetry-http`'s `HeaderExtractor` / `HeaderInjector` keeps working.
///
/// [`new`](Self::new) follows the process-wide formats
/// ([`context::propagators`](crate::context::propagators), set by building an
/// [`Observer`](crate::Observer)) at each call, whenever it was made;
/// [`with_propagators`](Self::with_propagators) fixes them.
///
/// Extraction behaves as [`http::extract`](crate::http::extract): each format is
/// tried in order and the first valid trace context wins, as a remote span of the
/// returned [`Context`]; baggage of every baggage format (`baggage`, `uberctx-*`)
/// replaces the context's baggage. Injection writes the span context the given
/// [`Context`] carries, with the context's baggage, in every format; a context with
/// baggage but no valid span writes the `baggage` header alone (with `baggage`
/// configured). An [`Injector`] cannot remove headers: a stale `tracestate` or
/// `baggage` is left as it was.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use tracing_observer::otel::ObserverPropagator;
///
/// let propagator = ObserverPropagator::with_propagators("b3,tracecontext".parse().unwrap());
/// let incoming = HashMap::from([(
///     "b3".to_owned(),
///     "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1".to_owned(),
/// )]);
/// let cx = propagator.extract(&incoming);
/// assert_eq!(cx.span().span_context().trace_id().to_string(), "80f198ee56343ba864fe8b2a57d3eff7");
///
/// let mut outgoing = HashMap::new();
/// propagator.inject_context(&cx, &mut outgoing);
/// assert_eq!(outgoing["traceparent"], "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01");
/// ```
///
/// Installed process-wide:
///
/// ```
/// opentelemetry::global::set_text_map_propagator(tracing_observer::otel::ObserverPropagator::new());
/// ```
#[derive(Clone, Debug)]
pub struct ObserverPropagator {
    /// `None`: the process-wide formats at each call.
    formats: Option<Propagators>,
    /// The header names [`fields`](TextMapPropagator::fields) lists.
    fields: Vec<String>,
}

impl ObserverPropagator {
    /// A propagator in the process-wide formats, read at each call; its
    /// [`fields`](TextMapPropagator::fields) are those of every format it may use.
    ///
    /// ```
    /// use opentelemetry::propagation::TextMapPropagator;
    /// let propagator = tracing_observer::otel::ObserverPropagator::new();
    /// assert!(propagator.fields().any(|f| f == "traceparent"));
    /// assert!(propagator.fields().any(|f| f == "uber-trace-id"));
    /// ```
    pub fn new() -> Self {
        Self {
            formats: None,
            fields: fields(Propagator::ALL),
        }
    }

    /// A propagator in these formats, whatever the process-wide ones are.
    ///
    /// ```
    /// use opentelemetry::propagation::TextMapPropagator;
    /// use tracing_observer::otel::ObserverPropagator;
    /// let b3 = ObserverPropagator::with_propagators("b3multi".parse().unwrap());
    /// assert_eq!(b3.fields().collect::<Vec<_>>(), ["x-b3-traceid", "x-b3-spanid", "x-b3-sampled"]);
    /// ```
    pub fn with_propagators(propagators: Propagators) -> Self {
        Self {
            formats: Some(propagators),
            fields: fields(propagators.iter()),
        }
    }

    fn propagators(&self) -> Propagators {
        self.formats.unwrap_or_else(propagators)
    }
}

impl Default for ObserverPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for ObserverPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let propagators = self.propagators();
        let mut carrier = InjectorCarrier(injector);
        let baggage = context_baggage(cx);
        match SpanContext::try_from(cx.span().span_context()) {
            Ok(span) => {
                let span = match baggage {
                    Some(baggage) => span.with_baggage(baggage),
                    None => span,
                };
                propagators.inject(&span, &mut carrier);
            }
            Err(_) => {
                if let Some(baggage) = baggage {
                    propagators.inject_baggage(&baggage, &mut carrier);
                }
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let found = self.propagators().extract(&ExtractorCarrier(extractor));
        let cx = match found.context {
            Some(span) => cx.with_remote_span_context(otel_span_context(&span, true)),
            None => cx.clone(),
        };
        match found.baggage {
            Some(baggage) => cx.with_baggage(OtelBaggage::from(&baggage)),
            None => cx,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// The header names these formats inject, in order.
fn fields(formats: impl IntoIterator<Item = Propagator>) -> Vec<String> {
    formats
        .into_iter()
        .flat_map(Propagator::injected_headers)
        .map(|name| (*name).to_owned())
        .collect()
}

/// An [`Extractor`] read as a header carrier.
struct ExtractorCarrier<'a>(&'a dyn Extractor);

impl Carrier for ExtractorCarrier<'_> {
    fn values(&self, name: &str) -> Vec<Option<&str>> {
        self.0
            .get_all(name)
            .unwrap_or_default()
            .into_iter()
            .map(|value| value.bytes().all(is_visible_ascii).then_some(value))
            .collect()
    }

    fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.0
            .keys()
            .into_iter()
            .filter(|name| {
                name.get(..prefix.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
            })
            .map(str::to_ascii_lowercase)
            .collect()
    }

    // Extraction only reads.
    fn set(&mut self, _name: &'static str, _value: String) {}
    fn set_named(&mut self, _name: &str, _value: String) {}
    fn remove(&mut self, _name: &'static str) {}
}

/// What a header value may hold (as `http::HeaderValue::to_str` accepts it).
fn is_visible_ascii(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b)
}

/// An [`Injector`] written as a header carrier; it cannot remove a header.
struct InjectorCarrier<'a>(&'a mut dyn Injector);

impl Carrier for InjectorCarrier<'_> {
    // Injection only writes.
    fn values(&self, _name: &str) -> Vec<Option<&str>> {
        Vec::new()
    }

    fn names_with_prefix(&self, _prefix: &str) -> Vec<String> {
        Vec::new()
    }

    fn set(&mut self, name: &'static str, value: String) {
        self.0.set(name, value);
    }

    fn set_named(&mut self, name: &str, value: String) {
        self.0.set(name, value);
    }

    fn remove(&mut self, _name: &'static str) {}
}
