//! OTLP log records written directly from [`LogRecord`]s, with the span encoder's
//! primitives.
//!
//! A batch becomes one `ExportLogsServiceRequest`: one `ResourceLogs` with the
//! service's resource, one `ScopeLogs` with the crate's scope, one `LogRecord` per
//! record. Severity comes from the level; the body from the `message` field (for an
//! error, the message, else the exception's); the event's fields are attributes,
//! then what its callsite fixes (`code.*`, `target`, encoded once per callsite) and
//! its thread (`thread.id`, `thread.name`, once per thread), each unless a field
//! has the same name.

use super::{
    clamp, fixed64_field, key_value, length_delimited_field, patch, placeholder, str_field, tag,
    uint32_field, Envelope, Val, I32, INNER_WIDTH, LEN, MAX_CACHED, VARINT,
};
use crate::export::request::EncodedRequest;
use crate::export::resource::{callsite_attributes, ClockAnchor, ServiceResource};
use crate::record::log::{severity_number, LogRecord};
use crate::record::{thread, Attribute, EventName, Value};
use rustc_hash::FxHashMap;
use tracing_core::{Level, Metadata};

/// `LogRecord.attributes`.
const ATTRIBUTES: u8 = 6;
/// The attribute that holds an error event's message (the body of its log record).
const MESSAGE: &str = "message";
/// Bytes reserved per record for the first batch, before sizes are known.
const FIRST_GUESS_PER_RECORD: usize = 256;

/// Writes logs export requests for one resource; lives on the worker.
#[derive(Debug)]
pub(crate) struct LogEncoder {
    envelope: Envelope,
    /// Per callsite: its attributes, encoded, with their keys.
    callsites: FxHashMap<usize, Vec<(String, Vec<u8>)>>,
    /// Per thread: `thread.id` and `thread.name`, encoded, with their keys.
    threads: FxHashMap<u64, Vec<(&'static str, Vec<u8>)>>,
}

impl LogEncoder {
    /// An encoder for requests under `resource`.
    pub(crate) fn new(resource: &ServiceResource) -> Self {
        Self {
            envelope: Envelope::new(resource),
            callsites: FxHashMap::default(),
            threads: FxHashMap::default(),
        }
    }

    /// One request holding every record of the batch, timed against `clock`.
    #[allow(clippy::vec_box, reason = "records arrive boxed from the queue")]
    pub(crate) fn encode(
        &mut self,
        records: &[Box<LogRecord>],
        clock: &ClockAnchor,
    ) -> EncodedRequest {
        // ExportLogsServiceRequest.resource_logs, ResourceLogs.scope_logs.
        let (mut out, opened) = self.envelope.open(records.len(), FIRST_GUESS_PER_RECORD);
        let buf = &mut out;
        let mut has_errors = false;
        for record in records {
            let Some(metadata) = record.metadata() else {
                continue;
            };
            has_errors |= *metadata.level() == Level::ERROR;
            if self.callsites.len() >= MAX_CACHED {
                self.callsites.clear();
            }
            let callsite = self
                .callsites
                .entry(std::ptr::from_ref(metadata) as usize)
                .or_insert_with(|| callsite_part(metadata));
            if self.threads.len() >= MAX_CACHED {
                self.threads.clear();
            }
            let thread = self
                .threads
                .entry(record.thread_id)
                .or_insert_with(|| thread_part(record.thread_id));
            log_record(buf, record, metadata, clock, callsite, thread);
        }
        self.envelope.close(&mut out, opened);
        EncodedRequest::new(out.into(), records.len()).with_errors(has_errors)
    }
}

/// `code.*` (without `level`: the severity says it) and `target`, as attributes.
fn callsite_part(metadata: &'static Metadata<'static>) -> Vec<(String, Vec<u8>)> {
    let mut parts: Vec<(String, Vec<u8>)> = callsite_attributes(metadata)
        .into_iter()
        .filter(|kv| kv.key != "level")
        .map(|kv| {
            let mut bytes = Vec::new();
            length_delimited_field(&mut bytes, ATTRIBUTES, &kv);
            (kv.key, bytes)
        })
        .collect();
    let mut target = Vec::new();
    key_value(
        &mut target,
        ATTRIBUTES,
        "target",
        Val::Str(metadata.target()),
    );
    parts.push(("target".to_owned(), target));
    parts
}

fn thread_part(id: u64) -> Vec<(&'static str, Vec<u8>)> {
    let mut parts = Vec::with_capacity(2);
    let mut bytes = Vec::new();
    key_value(&mut bytes, ATTRIBUTES, "thread.id", Val::Int(clamp(id)));
    parts.push(("thread.id", bytes));
    if let Some(name) = thread::name_of(id) {
        let mut bytes = Vec::new();
        key_value(&mut bytes, ATTRIBUTES, "thread.name", Val::Str(&name));
        parts.push(("thread.name", bytes));
    }
    parts
}

/// The body of a record: its message; for an error, the message given with it, else
/// the exception's.
fn body(record: &LogRecord) -> Option<&str> {
    fn text(a: &Attribute) -> Option<&str> {
        match &a.value {
            Value::Str(s) => Some(s.as_str()),
            Value::Static(s) => Some(*s),
            _ => None,
        }
    }
    match &record.event.name {
        EventName::Message(message) => Some(message.as_str()),
        EventName::Static(_) => {
            let attributes = &record.event.attributes;
            let find = |key: &str| attributes.iter().find(|a| a.key == key).and_then(text);
            find(MESSAGE).or_else(|| find(crate::record::fields::exception::MESSAGE))
        }
    }
}

fn log_record(
    buf: &mut Vec<u8>,
    record: &LogRecord,
    metadata: &'static Metadata<'static>,
    clock: &ClockAnchor,
    callsite: &[(String, Vec<u8>)],
    thread: &[(&'static str, Vec<u8>)],
) {
    buf.push(tag(2, LEN)); // ScopeLogs.log_records
    let at = placeholder(buf, INNER_WIDTH);
    let time = clock.unix_nanos(record.event.time);
    fixed64_field(buf, 1, time);
    let level = *metadata.level();
    buf.push(tag(2, VARINT));
    buf.push(severity_number(level));
    str_field(buf, 3, level.as_str());
    if let Some(body) = body(record) {
        buf.push(tag(5, LEN));
        let len = super::any_value_len(Val::Str(body));
        super::put_varint(buf, len as u64);
        super::any_value(buf, Val::Str(body));
    }
    let is_exception = matches!(record.event.name, EventName::Static(_));
    let attributes = &record.event.attributes;
    for attribute in attributes {
        if is_exception && attribute.key == MESSAGE {
            continue;
        }
        key_value(buf, ATTRIBUTES, attribute.key, (&attribute.value).into());
    }
    let given = |key: &str| attributes.iter().any(|a| a.key == key);
    for (key, bytes) in callsite {
        if !given(key) {
            buf.extend_from_slice(bytes);
        }
    }
    for (key, bytes) in thread {
        if !given(key) {
            buf.extend_from_slice(bytes);
        }
    }
    uint32_field(buf, 7, record.dropped_attributes);
    if let Some(cx) = &record.context {
        buf.push(tag(8, I32));
        buf.extend_from_slice(&u32::from(cx.trace_flags).to_le_bytes());
        super::bytes_field(buf, 9, &cx.trace_id.to_bytes());
        super::bytes_field(buf, 10, &cx.span_id.to_bytes());
    }
    fixed64_field(buf, 11, time);
    patch(buf, at, INNER_WIDTH);
}

#[cfg(test)]
mod tests;
