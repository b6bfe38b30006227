//! OTLP protobuf written directly from [`SpanRecord`]s, on the worker.
//!
//! A batch becomes one `ExportTraceServiceRequest`: one `ResourceSpans` with the
//! service's resource, one `ScopeSpans` with the crate's scope, one `Span` per
//! record. The resource and scope are encoded once (with prost), what a callsite
//! fixes (the span name, `code.*`, `level`) once per callsite, what a thread fixes
//! (`thread.id`, `thread.name`) once per thread; the rest is written field by field
//! into one buffer per batch (allocated once, at the size of the last request),
//! without building any prost message.
//!
//! Nested messages whose size is known before they are written (attributes, links,
//! status) get their exact length. Spans, events and the two outer messages get a
//! fixed-width length placeholder, a varint padded with continuation bytes (which
//! protobuf decoders accept), patched once the message is written; a length too
//! large for its placeholder widens it, moving what was written after it.
//!
//! Decoded with prost, the output is exactly the message the reference conversion
//! ([`reference`], into prost structs) builds; `encode/tests.rs` compares them over
//! generated records and records captured through the layer.

use super::request::EncodedRequest;
use super::resource::{callsite_attributes, ClockAnchor, ServiceResource};
use crate::propagation::SpanContext;
use crate::record::{
    thread, Attribute, EventName, EventRecord, SpanKind, SpanRecord, StatusCode, Value, KEPT_BY_KEY,
};
use prost::Message;
use rustc_hash::FxHashMap;
use std::ops::Range;
use tracing_core::Metadata;

/// OTLP span flag: the `is_remote` bit below is meaningful.
pub(crate) const FLAG_HAS_IS_REMOTE: u32 = 0x100;
/// OTLP span flag: the parent is in another process.
pub(crate) const FLAG_IS_REMOTE: u32 = 0x200;

/// Entries kept per cache before it is cleared (callsites and threads are few).
const MAX_CACHED: usize = 8192;
/// Width of a span's or an event's length placeholder: lengths below 16 KiB fit.
const INNER_WIDTH: usize = 2;
/// Width of the `ResourceSpans` and `ScopeSpans` length placeholders: below 32 GiB.
const OUTER_WIDTH: usize = 5;
/// Bytes reserved per span for the first batch, before sizes are known.
const FIRST_GUESS_PER_SPAN: usize = 256;

// Protobuf wire types.
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// A field's tag, for field numbers below 16 (one byte).
const fn tag(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

/// The tag of `Span.flags` (field 16, fixed32): two bytes.
const SPAN_FLAGS_TAG: [u8; 2] = [0x85, 0x01];

/// Writes export requests for one resource; lives on the worker.
#[derive(Debug)]
pub(crate) struct RequestEncoder {
    envelope: Envelope,
    callsites: FxHashMap<usize, Callsite>,
    threads: FxHashMap<u64, ThreadPart>,
}

/// What wraps the records of a request, whatever its signal: the request's one
/// `Resource{Spans,Logs}` (field 1) with the resource (its field 1, encoded once) and
/// one `Scope{Spans,Logs}` (field 2) with the scope (field 1, encoded once); the records
/// are the scope message's field 2.
#[derive(Debug)]
struct Envelope {
    resource_field: Vec<u8>,
    scope_field: Vec<u8>,
    /// The size of the last request, to reserve for the next.
    last_len: usize,
}

/// Where an open envelope's two length placeholders are.
struct Opened {
    resource: usize,
    scope: usize,
}

impl Envelope {
    fn new(resource: &ServiceResource) -> Self {
        let mut resource_field = Vec::new();
        length_delimited_field(&mut resource_field, 1, resource.resource());
        let mut scope_field = Vec::new();
        length_delimited_field(&mut scope_field, 1, resource.scope());
        Self {
            resource_field,
            scope_field,
            last_len: 0,
        }
    }

    /// A buffer for `records` records, reserved at the last request's size (or
    /// `per_record` bytes each the first time), with the envelope written up to them.
    fn open(&self, records: usize, per_record: usize) -> (Vec<u8>, Opened) {
        let guess = (self.last_len).max(records * per_record + self.resource_field.len() + 64);
        let mut buf = Vec::with_capacity(guess);
        buf.push(tag(1, LEN));
        let resource = placeholder(&mut buf, OUTER_WIDTH);
        buf.extend_from_slice(&self.resource_field);
        buf.push(tag(2, LEN));
        let scope = placeholder(&mut buf, OUTER_WIDTH);
        buf.extend_from_slice(&self.scope_field);
        (buf, Opened { resource, scope })
    }

    /// Writes the envelope's lengths once the records are in.
    fn close(&mut self, buf: &mut Vec<u8>, opened: Opened) {
        patch(buf, opened.scope, OUTER_WIDTH);
        patch(buf, opened.resource, OUTER_WIDTH);
        self.last_len = buf.len();
    }
}

/// What a callsite fixes, encoded once.
#[derive(Debug)]
struct Callsite {
    /// The `Span.name` field with the callsite's name (empty for an empty name).
    name: Vec<u8>,
    /// The callsite's attributes as `Span.attributes` fields, in order.
    attributes: Vec<u8>,
    /// Each of those attributes' key and bytes, for a user field of the same name to replace.
    entries: Vec<(String, Range<usize>)>,
}

/// `thread.id` and, when the thread has a name, `thread.name`, encoded once per thread.
#[derive(Debug)]
struct ThreadPart {
    bytes: Vec<u8>,
    /// Where `thread.id` ends (and `thread.name`, if any, starts).
    id_end: usize,
}

impl RequestEncoder {
    /// An encoder for requests under `resource`.
    pub(crate) fn new(resource: &ServiceResource) -> Self {
        Self {
            envelope: Envelope::new(resource),
            callsites: FxHashMap::default(),
            threads: FxHashMap::default(),
        }
    }

    /// One request holding every record of the batch, timed against `clock`.
    pub(crate) fn encode(
        &mut self,
        records: &[Box<SpanRecord>],
        clock: &ClockAnchor,
    ) -> EncodedRequest {
        // ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans.
        let (mut out, opened) = self.envelope.open(records.len(), FIRST_GUESS_PER_SPAN);
        let buf = &mut out;
        let Self {
            callsites, threads, ..
        } = self;
        let mut has_errors = false;
        for record in records {
            has_errors |= record.status == StatusCode::Error;
            if callsites.len() >= MAX_CACHED {
                callsites.clear();
            }
            let callsite = callsites
                .entry(record.metadata as *const Metadata<'static> as usize)
                .or_insert_with(|| Callsite::new(record.metadata));
            if threads.len() >= MAX_CACHED {
                threads.clear();
            }
            let thread = threads
                .entry(record.thread_id)
                .or_insert_with(|| ThreadPart::new(record.thread_id));
            span(buf, record, clock, callsite, thread);
        }
        self.envelope.close(&mut out, opened);
        EncodedRequest::new(out.into(), records.len()).with_errors(has_errors)
    }
}

impl Callsite {
    fn new(metadata: &'static Metadata<'static>) -> Self {
        let mut name = Vec::new();
        str_field(&mut name, 5, metadata.name());
        let mut attributes = Vec::new();
        let mut entries = Vec::new();
        for kv in callsite_attributes(metadata) {
            let start = attributes.len();
            length_delimited_field(&mut attributes, 9, &kv);
            entries.push((kv.key, start..attributes.len()));
        }
        Self {
            name,
            attributes,
            entries,
        }
    }
}

impl ThreadPart {
    fn new(id: u64) -> Self {
        let mut bytes = Vec::new();
        key_value(&mut bytes, 9, "thread.id", Val::Int(clamp(id)));
        let id_end = bytes.len();
        if let Some(name) = thread::name_of(id) {
            key_value(&mut bytes, 9, "thread.name", Val::Str(&name));
        }
        Self { bytes, id_end }
    }
}

/// Keys of the attributes the worker adds to every span (besides `observer.sampling.kept_by`):
/// a user field of one of these names replaces the built-in value, in its place.
fn is_builtin_key(key: &str) -> bool {
    matches!(
        key,
        "code.function.name"
            | "code.module.name"
            | "code.file.path"
            | "code.line.number"
            | "level"
            | "thread.id"
            | "thread.name"
            | "busy_ns"
            | "idle_ns"
            | "thread.cpu_time_ns"
            | "thread.alloc_bytes"
            | "thread.alloc_count"
    )
}

/// A value as written: a record's [`Value`], or one the worker adds.
#[derive(Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Array(&'a [String]),
}

impl<'a> From<&'a Value> for Val<'a> {
    fn from(value: &'a Value) -> Self {
        match value {
            Value::Bool(b) => Val::Bool(*b),
            Value::I64(i) => Val::Int(*i),
            Value::F64(f) => Val::Double(*f),
            Value::Str(s) => Val::Str(s.as_str()),
            Value::Static(s) => Val::Str(s),
            Value::StrArray(items) => Val::Array(items),
        }
    }
}

fn span(
    buf: &mut Vec<u8>,
    record: &SpanRecord,
    clock: &ClockAnchor,
    callsite: &Callsite,
    thread: &ThreadPart,
) {
    buf.push(tag(2, LEN)); // ScopeSpans.spans
    let at = placeholder(buf, INNER_WIDTH);
    bytes_field(buf, 1, &record.trace_id.to_bytes());
    bytes_field(buf, 2, &record.span_id.to_bytes());
    if let Some(state) = &record.trace_state {
        str_field(buf, 3, state);
    }
    if let Some(parent) = record.parent_span_id {
        bytes_field(buf, 4, &parent.to_bytes());
    }
    match &record.name {
        Some(name) => str_field(buf, 5, name),
        None => buf.extend_from_slice(&callsite.name),
    }
    buf.push(tag(6, VARINT));
    buf.push(span_kind(record.kind));
    fixed64_field(buf, 7, clock.unix_nanos(record.timing.start));
    fixed64_field(buf, 8, clock.unix_nanos(record.timing.end));
    attributes(buf, record, callsite, thread);
    uint32_field(buf, 10, record.dropped_attributes);
    for event in &record.events {
        self::event(buf, event, clock);
    }
    uint32_field(buf, 12, record.dropped_events);
    for link in &record.links {
        self::link(buf, link);
    }
    uint32_field(buf, 14, record.dropped_links);
    status(buf, record);
    let mut flags = u32::from(record.trace_flags) | FLAG_HAS_IS_REMOTE;
    if record.parent_is_remote {
        flags |= FLAG_IS_REMOTE;
    }
    buf.extend_from_slice(&SPAN_FLAGS_TAG);
    buf.extend_from_slice(&flags.to_le_bytes());
    patch(buf, at, INNER_WIDTH);
}

/// The built-in attributes, then the user's (one named like a built-in takes its
/// place: OTLP forbids duplicate keys), then `observer.sampling.kept_by`.
fn attributes(buf: &mut Vec<u8>, record: &SpanRecord, callsite: &Callsite, thread: &ThreadPart) {
    let timing = &record.timing;
    let cpu = timing
        .cpu
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let allocations = timing.allocations;
    if !record.attributes.iter().any(|a| is_builtin_key(a.key)) {
        buf.extend_from_slice(&callsite.attributes);
        buf.extend_from_slice(&thread.bytes);
        key_value(buf, 9, "busy_ns", Val::Int(clamp(timing.busy)));
        key_value(buf, 9, "idle_ns", Val::Int(clamp(timing.idle)));
        if let Some(cpu) = cpu {
            key_value(buf, 9, "thread.cpu_time_ns", Val::Int(cpu));
        }
        if let Some(allocations) = allocations {
            key_value(
                buf,
                9,
                "thread.alloc_bytes",
                Val::Int(clamp(allocations.bytes)),
            );
            key_value(
                buf,
                9,
                "thread.alloc_count",
                Val::Int(clamp(allocations.count)),
            );
        }
        for attribute in &record.attributes {
            key_value(buf, 9, attribute.key, (&attribute.value).into());
        }
    } else {
        let user = |key: &str| record.attributes.iter().find(|a| a.key == key);
        let mut present: Vec<&str> = Vec::with_capacity(12);
        let mut builtin = |buf: &mut Vec<u8>, key: &'static str, bytes: &[u8]| {
            match user(key) {
                Some(a) => key_value(buf, 9, a.key, (&a.value).into()),
                None => buf.extend_from_slice(bytes),
            }
            present.push(key);
        };
        for (key, range) in &callsite.entries {
            match user(key) {
                Some(a) => key_value(buf, 9, a.key, (&a.value).into()),
                None => buf.extend_from_slice(&callsite.attributes[range.clone()]),
            }
        }
        builtin(buf, "thread.id", &thread.bytes[..thread.id_end]);
        if thread.bytes.len() > thread.id_end {
            builtin(buf, "thread.name", &thread.bytes[thread.id_end..]);
        }
        let mut scratch = Vec::new();
        let mut int = |buf: &mut Vec<u8>, key: &'static str, value: i64| {
            scratch.clear();
            key_value(&mut scratch, 9, key, Val::Int(value));
            builtin(buf, key, &scratch);
        };
        int(buf, "busy_ns", clamp(timing.busy));
        int(buf, "idle_ns", clamp(timing.idle));
        if let Some(cpu) = cpu {
            int(buf, "thread.cpu_time_ns", cpu);
        }
        if let Some(allocations) = allocations {
            int(buf, "thread.alloc_bytes", clamp(allocations.bytes));
            int(buf, "thread.alloc_count", clamp(allocations.count));
        }
        let in_callsite = |key: &str| callsite.entries.iter().any(|(k, _)| k == key);
        for attribute in &record.attributes {
            if !present.contains(&attribute.key) && !in_callsite(attribute.key) {
                key_value(buf, 9, attribute.key, (&attribute.value).into());
            }
        }
    }
    if let Some(reason) = record.kept_by {
        key_value(buf, 9, KEPT_BY_KEY, Val::Str(reason));
    }
}

fn event(buf: &mut Vec<u8>, event: &EventRecord, clock: &ClockAnchor) {
    buf.push(tag(11, LEN)); // Span.events
    let at = placeholder(buf, INNER_WIDTH);
    fixed64_field(buf, 1, clock.unix_nanos(event.time));
    let name = match &event.name {
        EventName::Static(name) => name,
        EventName::Message(message) => message.as_str(),
    };
    str_field(buf, 2, name);
    write_event_attributes(buf, &event.attributes, event.metadata);
    patch(buf, at, INNER_WIDTH);
}

/// An event's attributes, then its callsite's `level` and `target` unless a field has the name.
fn write_event_attributes(
    buf: &mut Vec<u8>,
    attributes: &[Attribute],
    metadata: Option<&'static Metadata<'static>>,
) {
    for attribute in attributes {
        key_value(buf, 3, attribute.key, (&attribute.value).into());
    }
    if let Some(metadata) = metadata {
        for (key, value) in [
            ("level", metadata.level().as_str()),
            ("target", metadata.target()),
        ] {
            if !attributes.iter().any(|a| a.key == key) {
                key_value(buf, 3, key, Val::Str(value));
            }
        }
    }
}

fn link(buf: &mut Vec<u8>, link: &SpanContext) {
    let state = link.trace_state().unwrap_or_default();
    let len = 18 + 10 + str_field_len(state) + 5;
    buf.push(tag(13, LEN)); // Span.links
    put_varint(buf, len as u64);
    bytes_field(buf, 1, &link.trace_id().to_bytes());
    bytes_field(buf, 2, &link.span_id().to_bytes());
    str_field(buf, 3, state);
    buf.push(tag(6, I32));
    buf.extend_from_slice(&(u32::from(link.trace_flags()) | FLAG_HAS_IS_REMOTE).to_le_bytes());
}

fn status(buf: &mut Vec<u8>, record: &SpanRecord) {
    let message = record.status_description.as_deref().unwrap_or_default();
    let code = match record.status {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    };
    let len = str_field_len(message) + if code == 0 { 0 } else { 2 };
    buf.push(tag(15, LEN)); // Span.status
    put_varint(buf, len as u64);
    str_field(buf, 2, message);
    if code != 0 {
        buf.push(tag(3, VARINT));
        buf.push(code);
    }
}

fn span_kind(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// === protobuf primitives ===

/// A `KeyValue` as field `field` of the enclosing message.
fn key_value(buf: &mut Vec<u8>, field: u8, key: &str, value: Val<'_>) {
    let value_len = any_value_len(value);
    let len = str_field_len(key) + 1 + varint_len(value_len as u64) + value_len;
    buf.push(tag(field, LEN));
    put_varint(buf, len as u64);
    str_field(buf, 1, key);
    buf.push(tag(2, LEN)); // KeyValue.value
    put_varint(buf, value_len as u64);
    any_value(buf, value);
}

/// The encoded size of an `AnyValue` holding `value`.
fn any_value_len(value: Val<'_>) -> usize {
    match value {
        Val::Str(s) => 1 + varint_len(s.len() as u64) + s.len(),
        Val::Bool(_) => 2,
        Val::Int(i) => 1 + varint_len(i as u64),
        Val::Double(_) => 9,
        Val::Array(items) => {
            let len = array_len(items);
            1 + varint_len(len as u64) + len
        }
    }
}

/// The encoded size of an `ArrayValue` of strings.
fn array_len(items: &[String]) -> usize {
    items
        .iter()
        .map(|s| {
            let item = 1 + varint_len(s.len() as u64) + s.len();
            1 + varint_len(item as u64) + item
        })
        .sum()
}

/// An `AnyValue`'s one field (always written: it is a `oneof`).
fn any_value(buf: &mut Vec<u8>, value: Val<'_>) {
    match value {
        Val::Str(s) => {
            buf.push(tag(1, LEN));
            put_varint(buf, s.len() as u64);
            buf.extend_from_slice(s.as_bytes());
        }
        Val::Bool(b) => {
            buf.push(tag(2, VARINT));
            buf.push(u8::from(b));
        }
        Val::Int(i) => {
            buf.push(tag(3, VARINT));
            put_varint(buf, i as u64);
        }
        Val::Double(f) => {
            buf.push(tag(4, I64));
            buf.extend_from_slice(&f.to_le_bytes());
        }
        Val::Array(items) => {
            buf.push(tag(5, LEN));
            put_varint(buf, array_len(items) as u64);
            for item in items {
                buf.push(tag(1, LEN)); // ArrayValue.values
                put_varint(buf, (1 + varint_len(item.len() as u64) + item.len()) as u64);
                any_value(buf, Val::Str(item));
            }
        }
    }
}

/// A prost message as field `field` of the enclosing message.
fn length_delimited_field(buf: &mut Vec<u8>, field: u8, message: &impl Message) {
    buf.push(tag(field, LEN));
    put_varint(buf, message.encoded_len() as u64);
    message.encode_raw(buf);
}

/// A string field; an empty one is not written (proto3's default).
fn str_field(buf: &mut Vec<u8>, field: u8, value: &str) {
    bytes_field(buf, field, value.as_bytes());
}

fn str_field_len(value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        1 + varint_len(value.len() as u64) + value.len()
    }
}

/// A bytes field; an empty one is not written.
fn bytes_field(buf: &mut Vec<u8>, field: u8, value: &[u8]) {
    if !value.is_empty() {
        buf.push(tag(field, LEN));
        put_varint(buf, value.len() as u64);
        buf.extend_from_slice(value);
    }
}

/// A fixed64 field; zero is not written.
fn fixed64_field(buf: &mut Vec<u8>, field: u8, value: u64) {
    if value != 0 {
        buf.push(tag(field, I64));
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

/// A uint32 field; zero is not written.
fn uint32_field(buf: &mut Vec<u8>, field: u8, value: u32) {
    if value != 0 {
        buf.push(tag(field, VARINT));
        put_varint(buf, u64::from(value));
    }
}

fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    // 1 byte per started 7 bits; 0 takes one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reserves a `width`-byte length placeholder; returns where it is.
fn placeholder(buf: &mut Vec<u8>, width: usize) -> usize {
    let at = buf.len();
    buf.resize(at + width, 0);
    at
}

/// Writes the length of what follows the placeholder at `at`, as a varint padded to
/// `width` bytes, or wider (moving what follows) when the length needs more.
fn patch(buf: &mut Vec<u8>, at: usize, width: usize) {
    let len = buf.len() - at - width;
    let needed = varint_len(len as u64);
    let width = if needed > width {
        let end = buf.len();
        buf.resize(end + needed - width, 0);
        buf.copy_within(at + width..end, at + needed);
        needed
    } else {
        width
    };
    let mut value = len;
    for byte in &mut buf[at..at + width - 1] {
        *byte = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
    }
    buf[at + width - 1] = value as u8;
}

pub(crate) mod logs;
#[cfg(any(test, feature = "bench-support"))]
pub(crate) mod reference;
#[cfg(test)]
mod tests;
