//! Which header formats carry trace context and baggage (`OTEL_PROPAGATORS`), the
//! process-wide choice, and extraction and injection over any header carrier.

use super::baggage::{is_token, Baggage};
use super::formats;
use super::SpanContext;
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

/// A header format, as named in `OTEL_PROPAGATORS`.
///
/// ```
/// use tracing_observer::context::Propagator;
/// assert_eq!("b3multi".parse::<Propagator>(), Ok(Propagator::B3Multi));
/// assert_eq!(Propagator::Jaeger.to_string(), "jaeger");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Propagator {
    /// W3C Trace Context: `traceparent`, `tracestate` (`tracecontext`).
    TraceContext,
    /// W3C Baggage: `baggage` (`baggage`).
    Baggage,
    /// B3 single header: `b3` (`b3`); extracts the multi headers too.
    B3,
    /// B3 multiple headers: `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (`b3multi`);
    /// extracts the single header too.
    B3Multi,
    /// Jaeger: `uber-trace-id`, baggage in `uberctx-{key}` (`jaeger`).
    Jaeger,
}

const ALL: [Propagator; 5] = [
    Propagator::TraceContext,
    Propagator::Baggage,
    Propagator::B3,
    Propagator::B3Multi,
    Propagator::Jaeger,
];

impl Propagator {
    /// The `OTEL_PROPAGATORS` name.
    fn name(self) -> &'static str {
        match self {
            Self::TraceContext => "tracecontext",
            Self::Baggage => "baggage",
            Self::B3 => "b3",
            Self::B3Multi => "b3multi",
            Self::Jaeger => "jaeger",
        }
    }

    /// Every format, in the order of [`Propagator`].
    #[cfg(feature = "opentelemetry")]
    pub(crate) const ALL: [Propagator; 5] = ALL;

    /// The headers injection writes in this format (Jaeger's `uberctx-{key}` aside).
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn injected_headers(self) -> &'static [&'static str] {
        match self {
            Self::TraceContext => &[TRACEPARENT, TRACESTATE],
            Self::Baggage => &[BAGGAGE],
            Self::B3 => &[B3],
            Self::B3Multi => &[B3_TRACE_ID, B3_SPAN_ID, B3_SAMPLED],
            Self::Jaeger => &[UBER_TRACE_ID],
        }
    }

    /// 1-based, so that a packed list ends at the first zero nibble.
    fn code(self) -> u32 {
        ALL.iter().position(|p| *p == self).expect("listed") as u32 + 1
    }
}

impl fmt::Display for Propagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Propagator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            format!("unknown propagator {s:?} (expected tracecontext, baggage, b3, b3multi, jaeger or none)")
        })
    }
}

/// An ordered set of [`Propagator`]s: extraction tries each in order (the first
/// trace context found wins; baggage from every baggage format is merged), injection
/// writes all of them. The default is `tracecontext,baggage`, as in OpenTelemetry.
///
/// ```
/// use tracing_observer::context::{Propagator, Propagators};
/// let propagators: Propagators = "b3multi,tracecontext".parse().unwrap();
/// assert_eq!(propagators.iter().collect::<Vec<_>>(), [Propagator::B3Multi, Propagator::TraceContext]);
/// assert_eq!(Propagators::default().to_string(), "tracecontext,baggage");
/// assert!("none".parse::<Propagators>().unwrap().is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Propagators {
    /// Codes in 4-bit nibbles, first in the lowest; a zero nibble ends the list.
    packed: u32,
}

impl Propagators {
    /// No propagation: nothing is extracted or injected (`none`).
    ///
    /// ```
    /// assert!(tracing_observer::context::Propagators::none().is_empty());
    /// ```
    pub const fn none() -> Self {
        Self { packed: 0 }
    }

    /// These propagators, in order; a repeated one counts once.
    ///
    /// ```
    /// use tracing_observer::context::{Propagator, Propagators};
    /// let set = Propagators::new([Propagator::B3, Propagator::TraceContext, Propagator::B3]);
    /// assert_eq!(set.to_string(), "b3,tracecontext");
    /// ```
    pub fn new(propagators: impl IntoIterator<Item = Propagator>) -> Self {
        let mut set = Self::none();
        for propagator in propagators {
            if !set.contains(propagator) {
                let shift = 4 * set.iter().count() as u32;
                set.packed |= propagator.code() << shift;
            }
        }
        set
    }

    /// The propagators, in order.
    ///
    /// ```
    /// use tracing_observer::context::{Propagator, Propagators};
    /// assert_eq!(Propagators::default().iter().next(), Some(Propagator::TraceContext));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Propagator> {
        let packed = self.packed;
        (0..8)
            .map(move |i| (packed >> (4 * i)) & 0xf)
            .take_while(|code| *code != 0)
            .map(|code| ALL[code as usize - 1])
    }

    /// Whether `propagator` is one of them.
    ///
    /// ```
    /// use tracing_observer::context::{Propagator, Propagators};
    /// assert!(Propagators::default().contains(Propagator::Baggage));
    /// ```
    pub fn contains(&self, propagator: Propagator) -> bool {
        self.iter().any(|p| p == propagator)
    }

    /// Whether there is none (`none`).
    ///
    /// ```
    /// assert!(!tracing_observer::context::Propagators::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.packed == 0
    }

    /// Reads the context and baggage `carrier` holds in these formats.
    pub(crate) fn extract(&self, carrier: &impl Carrier) -> Extracted {
        let mut found = Extracted::default();
        for propagator in self.iter() {
            match propagator {
                Propagator::Baggage => {
                    if let Some(header) = carrier.joined(BAGGAGE) {
                        found.add_baggage(Baggage::from_header(&header));
                    }
                }
                Propagator::Jaeger => {
                    if found.context.is_none() {
                        found.context = carrier
                            .single(UBER_TRACE_ID)
                            .and_then(formats::parse_jaeger);
                    }
                    found.add_baggage(jaeger_baggage(carrier));
                }
                _ if found.context.is_some() => {}
                Propagator::TraceContext => found.context = extract_trace_context(carrier),
                Propagator::B3 | Propagator::B3Multi => found.context = extract_b3(carrier),
            }
        }
        found
    }

    /// Writes `cx` (and its baggage) into `carrier` in these formats.
    pub(crate) fn inject(&self, cx: &SpanContext, carrier: &mut impl Carrier) {
        for propagator in self.iter() {
            match propagator {
                Propagator::TraceContext => {
                    carrier.set(TRACEPARENT, cx.to_traceparent());
                    match cx.trace_state() {
                        Some(state) => carrier.set(TRACESTATE, state.to_owned()),
                        None => carrier.remove(TRACESTATE),
                    }
                }
                Propagator::Baggage => match cx.baggage().filter(|b| !b.is_empty()) {
                    Some(baggage) => carrier.set(BAGGAGE, baggage.to_header()),
                    None => carrier.remove(BAGGAGE),
                },
                Propagator::B3 => carrier.set(B3, formats::format_b3_single(cx)),
                Propagator::B3Multi => {
                    carrier.set(B3_TRACE_ID, cx.trace_id().to_string());
                    carrier.set(B3_SPAN_ID, cx.span_id().to_string());
                    carrier.set(B3_SAMPLED, formats::b3_flag(cx.is_sampled()).to_owned());
                }
                Propagator::Jaeger => {
                    carrier.set(UBER_TRACE_ID, formats::format_jaeger(cx));
                    for (key, value) in cx.baggage().into_iter().flat_map(Baggage::iter) {
                        let value = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
                        carrier.set_named(&format!("{UBER_BAGGAGE_PREFIX}{key}"), value);
                    }
                }
            }
        }
    }

    /// Writes baggage without a trace context: the `baggage` header, when it is one
    /// of these formats (Jaeger carries baggage only beside a trace id).
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn inject_baggage(&self, baggage: &Baggage, carrier: &mut impl Carrier) {
        if self.contains(Propagator::Baggage) && !baggage.is_empty() {
            carrier.set(BAGGAGE, baggage.to_header());
        }
    }
}

impl Default for Propagators {
    fn default() -> Self {
        Self::new([Propagator::TraceContext, Propagator::Baggage])
    }
}

impl fmt::Debug for Propagators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for Propagators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, propagator) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(propagator.name())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Propagators {
    type Err = String;

    /// The `OTEL_PROPAGATORS` syntax: names separated by commas; `none` alone for none.
    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names == ["none"] {
            return Ok(Self::none());
        }
        if names.is_empty() {
            return Err("expected a comma-separated list of propagators, or none".to_owned());
        }
        Ok(Self::new(
            names
                .into_iter()
                .map(str::parse)
                .collect::<Result<Vec<Propagator>, String>>()?,
        ))
    }
}

/// The process-wide propagators: a packed [`Propagators`] with [`INSTALLED`] set, or
/// zero for the default.
static GLOBAL: AtomicU32 = AtomicU32::new(0);
/// Marks [`GLOBAL`] as set (so that `none` differs from "never set").
const INSTALLED: u32 = 1 << 31;

/// Makes `propagators` the formats [`http::extract`](crate::http::extract),
/// [`http::inject`](crate::http::inject), the tonic metadata helpers and the tower
/// layers use, for the whole process.
///
/// Building an [`Observer`](crate::Observer) installs its configured propagators
/// (`OTEL_PROPAGATORS`, `ObserverBuilder::propagators`; the last observer built
/// wins); without one the default `tracecontext,baggage` applies. Reading the
/// setting is one atomic load.
///
/// ```
/// use tracing_observer::context::{propagators, set_propagators, Propagator, Propagators};
/// set_propagators(Propagators::new([Propagator::B3, Propagator::TraceContext]));
/// assert!(propagators().contains(Propagator::B3));
/// ```
pub fn set_propagators(propagators: Propagators) {
    GLOBAL.store(propagators.packed | INSTALLED, Ordering::Relaxed);
}

/// The process-wide propagators (see [`set_propagators`]).
///
/// ```
/// use tracing_observer::context::{propagators, Propagators};
/// // Before any observer is built or any `set_propagators` call:
/// assert_eq!(propagators(), Propagators::default());
/// ```
pub fn propagators() -> Propagators {
    match GLOBAL.load(Ordering::Relaxed) {
        0 => Propagators::default(),
        packed => Propagators {
            packed: packed & !INSTALLED,
        },
    }
}

/// What extraction found: a remote parent, baggage, both or neither.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    pub(crate) context: Option<SpanContext>,
    pub(crate) baggage: Option<Baggage>,
}

impl Extracted {
    fn add_baggage(&mut self, more: Baggage) {
        if more.is_empty() {
            return;
        }
        match &mut self.baggage {
            Some(baggage) => baggage.merge(more),
            None => self.baggage = Some(more),
        }
    }

    /// The remote parent with the baggage attached.
    pub(crate) fn into_context(self) -> Option<SpanContext> {
        let cx = self.context?;
        Some(match self.baggage {
            Some(baggage) => cx.with_baggage(baggage),
            None => cx,
        })
    }
}

/// Header (or gRPC metadata) access for extraction and injection. Names are lowercase.
pub(crate) trait Carrier {
    /// The values of `name`, each `None` when it is not visible ASCII.
    fn values(&self, name: &str) -> Vec<Option<&str>>;
    /// The names that start with `prefix`.
    fn names_with_prefix(&self, prefix: &str) -> Vec<String>;
    /// Sets `name` to `value`, replacing other values; an invalid value is not written.
    fn set(&mut self, name: &'static str, value: String);
    /// [`set`](Self::set) for a name made at run time; an invalid name is not written.
    fn set_named(&mut self, name: &str, value: String);
    fn remove(&mut self, name: &'static str);

    /// The one value of `name`, if there is exactly one and it is visible ASCII.
    fn single(&self, name: &str) -> Option<&str> {
        match self.values(name).as_slice() {
            [Some(value)] => Some(value),
            _ => None,
        }
    }

    /// The values of a list header joined with commas (RFC 9110 §5.3); `None` when
    /// there is none or one is not visible ASCII.
    fn joined(&self, name: &str) -> Option<String> {
        let values = self.values(name);
        if values.is_empty() {
            return None;
        }
        let values: Option<Vec<&str>> = values.into_iter().collect();
        Some(values?.join(","))
    }
}

/// The W3C `traceparent` header name.
pub(crate) const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header name.
pub(crate) const TRACESTATE: &str = "tracestate";
/// The W3C `baggage` header name.
pub(crate) const BAGGAGE: &str = "baggage";
const B3: &str = "b3";
const B3_TRACE_ID: &str = "x-b3-traceid";
const B3_SPAN_ID: &str = "x-b3-spanid";
const B3_SAMPLED: &str = "x-b3-sampled";
const B3_FLAGS: &str = "x-b3-flags";
const UBER_TRACE_ID: &str = "uber-trace-id";
const UBER_BAGGAGE_PREFIX: &str = "uberctx-";
/// The most `tracestate` list members the W3C spec allows.
const MAX_TRACE_STATE_MEMBERS: usize = 32;

/// `traceparent` (exactly one) and `tracestate` (a malformed one is dropped).
fn extract_trace_context(carrier: &impl Carrier) -> Option<SpanContext> {
    let cx = SpanContext::from_traceparent(carrier.single(TRACEPARENT)?)?;
    Some(
        match carrier.joined(TRACESTATE).and_then(|s| trace_state(&s)) {
            Some(state) => cx.with_trace_state(&state),
            None => cx,
        },
    )
}

/// A `tracestate` list without empty members, or `None` when a member is malformed
/// or there are too many.
fn trace_state(list: &str) -> Option<String> {
    let mut members = Vec::new();
    for member in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (key, value) = member.split_once('=')?;
        if key.is_empty() || value.is_empty() {
            return None;
        }
        members.push(member);
    }
    (!members.is_empty() && members.len() <= MAX_TRACE_STATE_MEMBERS).then(|| members.join(","))
}

/// The B3 single header, else the multi headers (each exactly once).
fn extract_b3(carrier: &impl Carrier) -> Option<SpanContext> {
    if !carrier.values(B3).is_empty() {
        return formats::parse_b3_single(carrier.single(B3)?);
    }
    let optional = |name| match carrier.values(name).as_slice() {
        [] => Some(None),
        [Some(value)] => Some(Some(*value)),
        _ => None,
    };
    formats::parse_b3_multi(
        carrier.single(B3_TRACE_ID)?,
        carrier.single(B3_SPAN_ID)?,
        optional(B3_SAMPLED)?,
        optional(B3_FLAGS)?,
    )
}

/// The `uberctx-{key}` headers as baggage (percent-decoded values), within the limits.
fn jaeger_baggage(carrier: &impl Carrier) -> Baggage {
    let mut baggage = Baggage::new();
    // The limit bounds the names inspected, not only the entries kept.
    let names = carrier.names_with_prefix(UBER_BAGGAGE_PREFIX);
    for name in names.into_iter().take(Baggage::MAX_ENTRIES) {
        let key = &name[UBER_BAGGAGE_PREFIX.len()..];
        let Some(raw) = carrier.single(&name) else {
            continue;
        };
        if !is_token(key) || raw.len() > Baggage::MAX_BYTES {
            continue;
        }
        if let Ok(value) = percent_decode_str(raw).decode_utf8() {
            let _ = baggage.insert(key, value.trim());
        }
    }
    baggage
}
