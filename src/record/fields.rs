//! Field capture: `tracing` values into bounded attributes.
//!
//! Values are formatted with a byte budget (formatting stops once the budget is
//! spent, so a huge value costs no more than the limit) and inside
//! `catch_unwind`, so a panicking `Debug` impl records a placeholder instead of
//! unwinding into the host. The `otel.*` fields and `error` are understood the
//! way tracing-opentelemetry understands them.

use super::policy::{FieldPolicy, Verdict, REDACTED};
use super::{
    Attribute, EventName, EventRecord, HeldEvent, Limits, SpanKind, SpanRecord, StatusCode, Value,
};
use crate::clock::Nanos;
use crate::propagation::SpanContext;
use compact_str::{CompactString, ToCompactString};
use std::error::Error;
use std::fmt::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Metadata};

/// Replaces a value whose `Debug` or `Display` impl panicked.
pub(crate) const PANICKED_VALUE: &str = "<value formatting panicked>";
/// Appended to a value cut at the byte limit.
const TRUNCATION_MARK: char = '…';

/// Field names with a meaning beyond an attribute.
mod reserved {
    pub(super) const OTEL_NAME: &str = "otel.name";
    pub(super) const OTEL_KIND: &str = "otel.kind";
    pub(super) const OTEL_STATUS_CODE: &str = "otel.status_code";
    pub(super) const OTEL_STATUS_DESCRIPTION: &str = "otel.status_description";
    pub(super) const TRACEPARENT: &str = "traceparent";
    pub(super) const TRACESTATE: &str = "tracestate";
    pub(super) const ERROR: &str = "error";
    pub(super) const MESSAGE: &str = "message";
    pub(super) const EXCEPTION_TYPE: &str = "exception.type";
    pub(super) const EXCEPTION_MESSAGE: &str = "exception.message";
}

/// Semantic-convention keys of an `exception` event.
pub(crate) mod exception {
    pub(crate) const EVENT_NAME: &str = "exception";
    pub(crate) const TYPE: &str = "exception.type";
    pub(crate) const MESSAGE: &str = "exception.message";
    /// The `source()` chain of an error value, outermost first, the error itself excluded.
    pub(crate) const SOURCE_CHAIN: &str = "exception.source_chain";
}

// === formatting ===

/// A `fmt::Write` that keeps at most `max` bytes and then refuses more.
struct BoundedWriter {
    buf: CompactString,
    max: usize,
    truncated: bool,
}

impl BoundedWriter {
    fn push_bounded(&mut self, s: &str) -> fmt::Result {
        let room = self.max.saturating_sub(self.buf.len());
        if s.len() <= room {
            self.buf.push_str(s);
            return Ok(());
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.buf.push_str(&s[..cut]);
        self.truncated = true;
        Err(fmt::Error)
    }
}

impl fmt::Write for BoundedWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !s.bytes().any(is_escaped) {
            return self.push_bounded(s);
        }
        // Control characters are escaped so a value can never forge log lines or terminals.
        let mut rest = s;
        while let Some(at) = rest.bytes().position(is_escaped) {
            self.push_bounded(&rest[..at])?;
            let mut escape = [0u8; 4];
            let code = rest.as_bytes()[at];
            let escaped = format_escape(code, &mut escape);
            self.push_bounded(escaped)?;
            rest = &rest[at + 1..];
        }
        self.push_bounded(rest)
    }
}

/// Control bytes that are escaped (tab and newline are kept). All are ASCII, so
/// skipping one byte never splits a character.
fn is_escaped(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f
}

fn format_escape(code: u8, buf: &mut [u8; 4]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    *buf = [
        b'\\',
        b'x',
        HEX[usize::from(code >> 4)],
        HEX[usize::from(code & 0xf)],
    ];
    std::str::from_utf8(buf).unwrap_or("?")
}

/// Formats `value` within `max` bytes; returns the text and whether it was cut or replaced.
pub(crate) fn format_bounded(max: usize, value: impl fmt::Display) -> (CompactString, bool) {
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        let mut w = BoundedWriter {
            buf: CompactString::default(),
            max,
            truncated: false,
        };
        // An error here is either our own refusal past the limit or a faulty impl:
        // in both cases we keep what was written.
        let _ = write!(w, "{value}");
        w
    }));
    match attempt {
        Ok(mut w) if w.truncated => {
            w.buf.push(TRUNCATION_MARK);
            (w.buf, true)
        }
        Ok(w) => (w.buf, false),
        Err(_) => (CompactString::const_new(PANICKED_VALUE), true),
    }
}

pub(crate) struct DebugAsDisplay<'a>(pub(crate) &'a dyn fmt::Debug);

impl fmt::Display for DebugAsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

pub(crate) fn cut_str(value: &str, max: usize) -> (CompactString, bool) {
    if value.len() <= max && !value.bytes().any(is_escaped) {
        return (CompactString::new(value), false);
    }
    format_bounded(max, value)
}

/// An error value's message and its `source()` chain, each bounded.
struct ErrorText {
    message: CompactString,
    chain: Vec<String>,
}

fn error_text(err: &(dyn Error + 'static), limits: &Limits, truncated: &mut u32) -> ErrorText {
    let (message, cut) = format_bounded(limits.max_value_bytes, err);
    *truncated += u32::from(cut);
    let mut chain = Vec::new();
    let mut source = err.source();
    while let Some(inner) = source {
        if chain.len() >= limits.max_attributes {
            break;
        }
        let (text, cut) = format_bounded(limits.max_value_bytes, inner);
        *truncated += u32::from(cut);
        chain.push(text.into_string());
        source = inner.source();
    }
    ErrorText { message, chain }
}

fn u64_value(value: u64) -> Value {
    i64::try_from(value).map_or_else(|_| Value::Str(value.to_compact_string()), Value::I64)
}

fn i128_value(value: i128) -> Value {
    i64::try_from(value).map_or_else(|_| Value::Str(value.to_compact_string()), Value::I64)
}

// === visiting ===

/// A field value as `tracing` hands it over, before any formatting.
enum Raw<'a> {
    F64(f64),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    Bool(bool),
    Str(&'a str),
    Error(&'a (dyn Error + 'static)),
    Debug(&'a dyn fmt::Debug),
}

/// Where captured fields go; [`Capture`] adapts it to `tracing`'s `Visit`.
trait FieldSink {
    fn rules(&self) -> &Rules<'_>;
    /// Reserved names handled here, before the policy; returns whether it took the field.
    fn special(&mut self, name: &'static str, raw: &Raw<'_>) -> bool;
    fn attribute(&mut self, key: &'static str, value: Value);
    fn count_truncated(&mut self);
}

/// The bounds and the field policy that apply to one capture.
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) limits: &'a Limits,
    pub(crate) policy: &'a FieldPolicy,
}

impl<'a> Rules<'a> {
    pub(crate) fn new(limits: &'a Limits, policy: &'a FieldPolicy) -> Self {
        Self { limits, policy }
    }
}

/// Turns each raw value into an attribute value, applying the policy and the byte limit.
struct Capture<T>(T);

impl<T: FieldSink> Capture<T> {
    fn field(&mut self, field: &Field, raw: Raw<'_>) {
        let name = field.name();
        if self.0.special(name, &raw) {
            return;
        }
        match self.0.rules().policy.verdict(name) {
            Verdict::Omit => return,
            Verdict::Redact => return self.0.attribute(name, Value::Static(REDACTED)),
            Verdict::Keep => {}
        }
        let max = self.0.rules().limits.max_value_bytes;
        let (value, cut) = match raw {
            Raw::F64(v) => (Value::F64(v), false),
            Raw::I64(v) => (Value::I64(v), false),
            Raw::U64(v) => (u64_value(v), false),
            Raw::I128(v) => (i128_value(v), false),
            Raw::U128(v) => (Value::Str(v.to_compact_string()), false),
            Raw::Bool(v) => (Value::Bool(v), false),
            Raw::Str(v) => text_value(cut_str(v, max)),
            Raw::Error(v) => text_value(format_bounded(max, v)),
            Raw::Debug(v) => text_value(format_bounded(max, DebugAsDisplay(v))),
        };
        if cut {
            self.0.count_truncated();
        }
        self.0.attribute(name, value);
    }
}

fn text_value((text, cut): (CompactString, bool)) -> (Value, bool) {
    (Value::Str(text), cut)
}

impl<T: FieldSink> Visit for Capture<T> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, Raw::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, Raw::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, Raw::U64(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.field(field, Raw::I128(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.field(field, Raw::U128(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, Raw::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, Raw::Str(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        self.field(field, Raw::Error(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, Raw::Debug(value));
    }
}

/// Formats a reserved field's value as text (for `otel.*`, `message`, `error`, …).
fn raw_text(raw: &Raw<'_>, rules: &Rules<'_>, truncated: &mut u32) -> CompactString {
    let max = rules.limits.max_value_bytes;
    let (text, cut) = match raw {
        Raw::Str(v) => cut_str(v, max),
        Raw::Error(v) => format_bounded(max, v),
        Raw::Debug(v) => format_bounded(max, DebugAsDisplay(*v)),
        Raw::F64(v) => (v.to_compact_string(), false),
        Raw::I64(v) => (v.to_compact_string(), false),
        Raw::U64(v) => (v.to_compact_string(), false),
        Raw::I128(v) => (v.to_compact_string(), false),
        Raw::U128(v) => (v.to_compact_string(), false),
        Raw::Bool(v) => (v.to_compact_string(), false),
    };
    *truncated += u32::from(cut);
    text
}

/// An `error` field's text: with its `source()` chain when it is a `&dyn Error`.
fn raw_error(raw: &Raw<'_>, rules: &Rules<'_>, truncated: &mut u32) -> ErrorText {
    match raw {
        Raw::Error(err) => error_text(*err, rules.limits, truncated),
        other => ErrorText {
            message: raw_text(other, rules, truncated),
            chain: Vec::new(),
        },
    }
}

// === span fields ===

/// What a span's fields said, captured without touching the span's stored record.
#[derive(Debug, Default)]
pub(crate) struct SpanFields {
    attributes: Vec<Attribute>,
    name: Option<String>,
    kind: Option<SpanKind>,
    status: Option<StatusCode>,
    status_description: Option<String>,
    error: Option<ErrorText>,
    dropped_attributes: u32,
    truncated: u32,
}

impl fmt::Debug for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorText")
            .field("message", &self.message)
            .finish()
    }
}

struct SpanSink<'a> {
    fields: SpanFields,
    rules: Rules<'a>,
}

impl FieldSink for SpanSink<'_> {
    fn rules(&self) -> &Rules<'_> {
        &self.rules
    }

    fn special(&mut self, name: &'static str, raw: &Raw<'_>) -> bool {
        let (rules, f) = (&self.rules, &mut self.fields);
        match name {
            reserved::OTEL_NAME => {
                f.name = Some(raw_text(raw, rules, &mut f.truncated).into_string())
            }
            reserved::OTEL_KIND => f.kind = parse_kind(&raw_text(raw, rules, &mut f.truncated)),
            reserved::OTEL_STATUS_CODE => {
                f.status = parse_status(&raw_text(raw, rules, &mut f.truncated))
            }
            reserved::OTEL_STATUS_DESCRIPTION => {
                f.status_description = Some(raw_text(raw, rules, &mut f.truncated).into_string())
            }
            // Read by `remote_parent` before sampling; not an attribute.
            reserved::TRACEPARENT | reserved::TRACESTATE => {}
            reserved::ERROR => f.error = Some(raw_error(raw, rules, &mut f.truncated)),
            _ => return false,
        }
        true
    }

    fn attribute(&mut self, key: &'static str, value: Value) {
        if self.fields.attributes.len() < self.rules.limits.max_attributes {
            self.fields.attributes.push(Attribute { key, value });
        } else {
            self.fields.dropped_attributes += 1;
        }
    }

    fn count_truncated(&mut self) {
        self.fields.truncated += 1;
    }
}

/// Captures a span's fields (at creation or on `record`) into `attributes` (empty,
/// but maybe with capacity from a recycled record).
pub(crate) fn capture_span_fields(
    values: impl FnOnce(&mut dyn Visit),
    rules: Rules<'_>,
    attributes: Vec<Attribute>,
) -> SpanFields {
    let mut capture = Capture(SpanSink {
        fields: SpanFields {
            attributes,
            ..SpanFields::default()
        },
        rules,
    });
    values(&mut capture);
    capture.0.fields
}

/// Whether a callsite declares a `traceparent` field (a span that may continue a
/// remote trace). Inline: spans without the field pay a few comparisons of name lengths.
#[inline]
pub(crate) fn names_remote_parent(metadata: &Metadata<'_>) -> bool {
    metadata
        .fields()
        .iter()
        .any(|field| field.name() == reserved::TRACEPARENT)
}

/// The remote parent named by a span's `traceparent` (and `tracestate`) fields:
/// reads and parses them. Ask [`names_remote_parent`] first.
#[inline(never)]
pub(crate) fn remote_parent(attrs: &tracing_core::span::Attributes<'_>) -> Option<SpanContext> {
    #[derive(Default)]
    struct Headers {
        traceparent: Option<String>,
        tracestate: Option<String>,
    }
    impl Visit for Headers {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.record_text(field, || value.to_owned());
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.record_text(field, || {
                format_bounded(1024, DebugAsDisplay(value)).0.into_string()
            });
        }
    }
    impl Headers {
        fn record_text(&mut self, field: &Field, text: impl FnOnce() -> String) {
            match field.name() {
                reserved::TRACEPARENT => self.traceparent = Some(text()),
                reserved::TRACESTATE => self.tracestate = Some(text()),
                _ => {}
            }
        }
    }
    let mut headers = Headers::default();
    attrs.record(&mut headers);
    let parent = SpanContext::from_traceparent(headers.traceparent.as_deref()?)?;
    Some(match headers.tracestate {
        Some(state) => parent.with_trace_state(&state),
        None => parent,
    })
}

/// Whether recorded values include an `error` field (which promotes a sampled-out span).
pub(crate) fn records_error(
    values: &tracing_core::span::Record<'_>,
    metadata: &Metadata<'_>,
) -> bool {
    let fields = metadata.fields();
    if fields
        .field(reserved::ERROR)
        .is_some_and(|field| values.contains(&field))
    {
        return true;
    }
    // `otel.status_code = "error"`, as HTTP middleware records a 5xx.
    let Some(status) = fields
        .field(reserved::OTEL_STATUS_CODE)
        .filter(|field| values.contains(field))
    else {
        return false;
    };
    struct StatusIsError<'a> {
        field: &'a Field,
        is_error: bool,
    }
    impl Visit for StatusIsError<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field == self.field {
                self.is_error = parse_status(value) == Some(StatusCode::Error);
            }
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            if field == self.field {
                let (text, _) = format_bounded(16, DebugAsDisplay(value));
                self.is_error = parse_status(&text) == Some(StatusCode::Error);
            }
        }
    }
    let mut visitor = StatusIsError {
        field: &status,
        is_error: false,
    };
    values.record(&mut visitor);
    visitor.is_error
}

impl SpanFields {
    /// Applies the fields to a record, replacing values of keys it already has.
    pub(crate) fn apply(self, record: &mut SpanRecord, limits: &Limits, now: Nanos) {
        if record.attributes.is_empty() {
            record.attributes = self.attributes;
        } else {
            for attribute in self.attributes {
                record.set_attribute(attribute, limits);
            }
        }
        record.dropped_attributes += self.dropped_attributes;
        record.truncated_values += self.truncated;
        if let Some(name) = self.name {
            record.name = Some(name);
        }
        if let Some(kind) = self.kind {
            record.kind = kind;
        }
        if let Some(description) = self.status_description {
            record.status_description = Some(description);
        }
        if let Some(status) = self.status {
            record.status = status;
        }
        if let Some(error) = self.error {
            record.mark_error(Some(&error.message));
            let event = exception_event(record.metadata.target(), error, now);
            record.push_event(event.into(), true, limits);
        }
    }
}

fn parse_kind(text: &str) -> Option<SpanKind> {
    match text.to_ascii_lowercase().as_str() {
        "server" => Some(SpanKind::Server),
        "client" => Some(SpanKind::Client),
        "producer" => Some(SpanKind::Producer),
        "consumer" => Some(SpanKind::Consumer),
        "internal" => Some(SpanKind::Internal),
        _ => None,
    }
}

fn parse_status(text: &str) -> Option<StatusCode> {
    match text.to_ascii_lowercase().as_str() {
        "ok" => Some(StatusCode::Ok),
        "error" => Some(StatusCode::Error),
        "unset" => Some(StatusCode::Unset),
        _ => None,
    }
}

fn exception_event(exception_type: &str, error: ErrorText, time: Nanos) -> EventRecord {
    let mut attributes = vec![
        Attribute {
            key: exception::TYPE,
            value: Value::Str(CompactString::new(exception_type)),
        },
        Attribute {
            key: exception::MESSAGE,
            value: Value::Str(error.message),
        },
    ];
    if !error.chain.is_empty() {
        attributes.push(Attribute {
            key: exception::SOURCE_CHAIN,
            value: Value::StrArray(error.chain),
        });
    }
    EventRecord {
        name: EventName::Static(exception::EVENT_NAME),
        metadata: None,
        time,
        attributes,
    }
}

// === events ===

/// A `tracing` event captured for its span.
pub(crate) struct CapturedEvent {
    pub(crate) record: HeldEvent,
    /// The error message when the event marks its span failed (ERROR level).
    pub(crate) error: Option<CompactString>,
    pub(crate) truncated: u32,
}

struct EventSink<'a> {
    attributes: Vec<Attribute>,
    message: Option<CompactString>,
    error: Option<ErrorText>,
    exception_type: Option<String>,
    rules: Rules<'a>,
    truncated: u32,
}

impl FieldSink for EventSink<'_> {
    fn rules(&self) -> &Rules<'_> {
        &self.rules
    }

    fn special(&mut self, name: &'static str, raw: &Raw<'_>) -> bool {
        let rules = &self.rules;
        match name {
            reserved::MESSAGE => self.message = Some(raw_text(raw, rules, &mut self.truncated)),
            reserved::ERROR | reserved::EXCEPTION_MESSAGE => {
                self.error = Some(raw_error(raw, rules, &mut self.truncated))
            }
            reserved::EXCEPTION_TYPE => {
                self.exception_type = Some(raw_text(raw, rules, &mut self.truncated).into_string())
            }
            _ => return false,
        }
        true
    }

    fn attribute(&mut self, key: &'static str, value: Value) {
        if self.attributes.len() < self.rules.limits.max_event_attributes {
            self.attributes.push(Attribute { key, value });
        }
    }

    fn count_truncated(&mut self) {
        self.truncated += 1;
    }
}

/// Whether an event marks its span failed: ERROR level only (a handled error logged
/// at WARN leaves the status alone, as in tracing-opentelemetry).
pub(crate) fn is_error_event(event: &Event<'_>) -> bool {
    *event.metadata().level() == Level::ERROR
}

/// Whether an event becomes an `exception` event: ERROR level, or an `error` or
/// `exception.message` field at any level.
pub(crate) fn is_exception_event(event: &Event<'_>) -> bool {
    let metadata = event.metadata();
    let fields = metadata.fields();
    *metadata.level() == Level::ERROR
        || fields.field(reserved::ERROR).is_some()
        || fields.field(reserved::EXCEPTION_MESSAGE).is_some()
}

/// Captures an event: its fields, level and target; errors become `exception` events.
///
/// `exception.type` is the `exception.type` field when there is one, else the
/// event's target; only an ERROR-level event marks its span failed.
pub(crate) fn capture_event(event: &Event<'_>, rules: Rules<'_>, now: Nanos) -> CapturedEvent {
    let attributes = Vec::with_capacity(event.metadata().fields().len());
    capture_event_into(event, rules, now, attributes)
}

/// [`capture_event`] into `attributes`, an empty buffer kept for reuse.
pub(crate) fn capture_event_into(
    event: &Event<'_>,
    rules: Rules<'_>,
    now: Nanos,
    attributes: Vec<Attribute>,
) -> CapturedEvent {
    let metadata = event.metadata();
    debug_assert!(attributes.is_empty());
    let mut capture = Capture(EventSink {
        attributes,
        message: None,
        error: None,
        exception_type: None,
        rules,
        truncated: 0,
    });
    event.record(&mut capture);
    let mut sink = capture.0;
    if !is_exception_event(event) {
        let attributes = sink.attributes;
        let name = sink
            .message
            .map_or(EventName::Static(metadata.name()), EventName::Message);
        return CapturedEvent {
            record: HeldEvent::Own(EventRecord {
                name,
                metadata: Some(metadata),
                time: now,
                attributes,
            }),
            error: None,
            truncated: sink.truncated,
        };
    }

    let error = match (sink.error, sink.message) {
        (Some(error), Some(message)) => {
            sink.attributes.push(Attribute {
                key: reserved::MESSAGE,
                value: Value::Str(message),
            });
            error
        }
        (Some(error), None) => error,
        (None, message) => ErrorText {
            message: message.unwrap_or_else(|| CompactString::new(metadata.name())),
            chain: Vec::new(),
        },
    };
    let exception_type = sink
        .exception_type
        .unwrap_or_else(|| metadata.target().to_owned());
    let failed = is_error_event(event).then(|| error.message.clone());
    let mut record = exception_event(&exception_type, error, now);
    record.attributes.extend(sink.attributes);
    record.metadata = Some(metadata);
    CapturedEvent {
        record: HeldEvent::Own(record),
        error: failed,
        truncated: sink.truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panics;
    impl fmt::Debug for Panics {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("boom in Debug")
        }
    }

    struct Endless;
    impl fmt::Display for Endless {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            loop {
                f.write_str("xxxxxxxx")?;
            }
        }
    }

    #[test]
    fn panicking_debug_becomes_a_placeholder() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let (text, cut) = format_bounded(64, DebugAsDisplay(&Panics));
        std::panic::set_hook(prev);
        assert_eq!(text, PANICKED_VALUE);
        assert!(cut);
    }

    #[test]
    fn endless_values_stop_at_the_limit() {
        let (text, cut) = format_bounded(100, Endless);
        assert!(cut);
        assert_eq!(text.len(), 100 + TRUNCATION_MARK.len_utf8());
    }

    #[test]
    fn cuts_on_char_boundaries() {
        let (text, cut) = cut_str("ééééé", 3);
        assert!(cut);
        assert_eq!(text, "é…");
    }

    #[test]
    fn control_characters_are_escaped() {
        let (text, cut) = cut_str("a\u{1b}[31mred\r\nok\tx", 100);
        assert!(!cut);
        assert_eq!(text, "a\\x1b[31mred\\x0d\nok\tx");
    }

    #[test]
    fn kinds_and_statuses_parse_like_tracing_opentelemetry() {
        assert_eq!(parse_kind("server"), Some(SpanKind::Server));
        assert_eq!(parse_kind("Client"), Some(SpanKind::Client));
        assert_eq!(parse_kind("bogus"), None);
        assert_eq!(parse_status("error"), Some(StatusCode::Error));
        assert_eq!(parse_status("OK"), Some(StatusCode::Ok));
    }
}
