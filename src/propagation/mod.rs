//! Trace context across processes: [`SpanContext`] (W3C `traceparent` /
//! `tracestate`), [`Baggage`], and the header formats ([`Propagators`]: W3C, B3,
//! Jaeger) that carry them.
//!
//! A span continues a trace started in another process when it is given a remote
//! parent, either with a `traceparent` field at creation:
//!
//! ```
//! let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
//! let span = tracing::info_span!("request", traceparent = header);
//! ```
//!
//! or afterwards, before the span has children, with
//! [`ObserverSpanExt::set_parent`](crate::ObserverSpanExt::set_parent).

mod baggage;
mod formats;
mod propagators;
#[cfg(test)]
mod tests;

pub(crate) use baggage::is_token as is_baggage_key;
pub use baggage::{Baggage, BaggageError};
pub use propagators::{propagators, set_propagators, Propagator, Propagators};
pub(crate) use propagators::{Carrier, BAGGAGE, TRACEPARENT, TRACESTATE};

use crate::ids::{SpanId, TraceId};
use std::fmt;
use std::sync::Arc;

/// The W3C trace-flags bit that says the caller sampled the trace.
const FLAG_SAMPLED: u8 = 0x01;
/// The longest `tracestate` we carry; longer values are ignored, as the spec allows.
const MAX_TRACE_STATE_LEN: usize = 512;

/// The identity of a span as seen across process boundaries.
///
/// ```
/// use tracing_observer::SpanContext;
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert!(cx.is_sampled());
/// assert_eq!(cx.to_traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpanContext {
    trace_id: TraceId,
    span_id: SpanId,
    trace_flags: u8,
    trace_state: Option<String>,
    /// Shared: every span of the request holds the same baggage.
    baggage: Option<Arc<Baggage>>,
}

impl SpanContext {
    /// A context with the given ids and the sampled flag set.
    ///
    /// ```
    /// use tracing_observer::{SpanContext, context::SpanId, context::TraceId};
    /// let cx = SpanContext::new(TraceId::from_u128(1), SpanId::from_u64(2));
    /// assert!(cx.is_sampled());
    /// assert_eq!(cx.to_traceparent(), "00-00000000000000000000000000000001-0000000000000002-01");
    /// ```
    pub fn new(trace_id: TraceId, span_id: SpanId) -> Self {
        Self {
            trace_id,
            span_id,
            trace_flags: FLAG_SAMPLED,
            trace_state: None,
            baggage: None,
        }
    }

    /// Parses a `traceparent` header value.
    ///
    /// Returns `None` for anything the W3C spec says to ignore: a wrong length, version `ff`,
    /// uppercase or non-hex digits, all-zero ids, or a version-00 header with trailing data.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.span_id().to_string(), "00f067aa0ba902b7");
    /// assert!(SpanContext::from_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").is_none());
    /// ```
    pub fn from_traceparent(value: &str) -> Option<Self> {
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        let bytes = value.as_bytes();
        if bytes.len() < 55 || !value.is_ascii() {
            return None;
        }
        let version = u8::from_str_radix(lower_hex(&value[0..2])?, 16).ok()?;
        if version == 0xff
            || (version == 0 && bytes.len() != 55)
            || (bytes.len() > 55 && bytes[55] != b'-')
            || bytes[2] != b'-'
            || bytes[35] != b'-'
            || bytes[52] != b'-'
        {
            return None;
        }
        let trace_id = TraceId::from_hex(&value[3..35])?;
        let span_id = SpanId::from_hex(&value[36..52])?;
        let trace_flags = u8::from_str_radix(lower_hex(&value[53..55])?, 16).ok()?;
        Some(Self {
            trace_id,
            span_id,
            trace_flags,
            trace_state: None,
            baggage: None,
        })
    }

    /// Sets the W3C trace flags byte (bit 0: sampled).
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// let unsampled = cx.with_trace_flags(0);
    /// assert!(!unsampled.is_sampled());
    /// assert!(unsampled.to_traceparent().ends_with("-00"));
    /// ```
    pub fn with_trace_flags(mut self, flags: u8) -> Self {
        self.trace_flags = flags;
        self
    }

    /// Adds a `tracestate` header value; values longer than 512 bytes or with
    /// non-printable characters are ignored.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.clone().with_trace_state("congo=t61rcWkgMzE").trace_state(), Some("congo=t61rcWkgMzE"));
    /// assert_eq!(cx.with_trace_state("bad\nvalue").trace_state(), None);
    /// ```
    pub fn with_trace_state(mut self, value: &str) -> Self {
        let valid =
            value.len() <= MAX_TRACE_STATE_LEN && value.bytes().all(|b| (0x20..0x7f).contains(&b));
        self.trace_state = (valid && !value.is_empty()).then(|| value.to_owned());
        self
    }

    /// Attaches baggage, which [`inject`](crate::http::inject) writes with the
    /// context; an empty baggage removes it.
    ///
    /// ```
    /// use tracing_observer::{context::Baggage, SpanContext};
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// let cx = cx.with_baggage(Baggage::from_header("tenant=acme"));
    /// assert_eq!(cx.baggage().unwrap().get("tenant"), Some("acme"));
    /// ```
    pub fn with_baggage(mut self, baggage: Baggage) -> Self {
        self.baggage = (!baggage.is_empty()).then(|| Arc::new(baggage));
        self
    }

    /// The baggage carried with this context, if any.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert!(cx.baggage().is_none());
    /// ```
    pub fn baggage(&self) -> Option<&Baggage> {
        self.baggage.as_deref()
    }

    /// The shared baggage, for records and lineages (a reference count, no copy).
    pub(crate) fn shared_baggage(&self) -> Option<Arc<Baggage>> {
        self.baggage.clone()
    }

    /// Attaches already shared baggage.
    pub(crate) fn with_shared_baggage(mut self, baggage: Option<Arc<Baggage>>) -> Self {
        self.baggage = baggage;
        self
    }

    /// Formats the context as a version-00 `traceparent` header value.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.to_traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    /// assert_eq!(cx.to_string(), cx.to_traceparent());
    /// ```
    pub fn to_traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id, self.span_id, self.trace_flags
        )
    }

    /// The trace id.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// ```
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span id.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.span_id().to_u64(), 0x00f0_67aa_0ba9_02b7);
    /// ```
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The W3C trace flags byte.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.trace_flags(), 0x01);
    /// ```
    pub fn trace_flags(&self) -> u8 {
        self.trace_flags
    }

    /// Whether the caller sampled this trace.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    /// assert!(!SpanContext::from_traceparent(header).unwrap().is_sampled());
    /// ```
    pub fn is_sampled(&self) -> bool {
        self.trace_flags & FLAG_SAMPLED != 0
    }

    /// The `tracestate` carried with this context, if any.
    ///
    /// ```
    /// use tracing_observer::SpanContext;
    /// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(cx.trace_state(), None, "a traceparent carries no tracestate");
    /// ```
    pub fn trace_state(&self) -> Option<&str> {
        self.trace_state.as_deref()
    }
}

impl fmt::Display for SpanContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_traceparent())
    }
}

fn lower_hex(s: &str) -> Option<&str> {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        .then_some(s)
}
