//! The reference the direct encoder is held to: records converted into
//! `opentelemetry-proto` structs, for prost to encode. The tests compare the
//! encoder's output with it, and `benches/encode.rs` measures both.

use crate::export::encode::{FLAG_HAS_IS_REMOTE, FLAG_IS_REMOTE};
use crate::export::resource::{callsite_attributes, kv, kv_str, ClockAnchor, ServiceResource};
use crate::propagation::SpanContext;
use crate::record::KEPT_BY_KEY;
use crate::record::{
    thread, Attribute, EventName, EventRecord, SpanKind, SpanRecord, StatusCode, Value,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use std::collections::HashMap;
use std::sync::Arc;
use tracing_core::Metadata;

/// One request holding every record of the batch.
pub(crate) fn request(
    resource: &ServiceResource,
    records: &[Box<SpanRecord>],
    clock: &ClockAnchor,
    caches: &mut Caches,
) -> ExportTraceServiceRequest {
    let spans = records.iter().map(|r| span(r, clock, caches)).collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource.resource().clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(resource.scope().clone()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// What the worker remembers between batches: per-callsite attributes and thread names.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    callsites: HashMap<usize, Vec<KeyValue>>,
    threads: HashMap<u64, Option<Arc<str>>>,
}

/// Entries kept per cache before it is cleared (callsites and threads are few).
const MAX_CACHED: usize = 8192;

impl Caches {
    fn callsite(&mut self, metadata: &'static Metadata<'static>) -> &[KeyValue] {
        if self.callsites.len() >= MAX_CACHED {
            self.callsites.clear();
        }
        let key = metadata as *const Metadata<'static> as usize;
        self.callsites
            .entry(key)
            .or_insert_with(|| callsite_attributes(metadata))
    }

    fn thread_name(&mut self, id: u64) -> Option<Arc<str>> {
        if self.threads.len() >= MAX_CACHED {
            self.threads.clear();
        }
        self.threads
            .entry(id)
            .or_insert_with(|| thread::name_of(id))
            .clone()
    }
}

fn span(record: &SpanRecord, clock: &ClockAnchor, caches: &mut Caches) -> Span {
    let mut attributes = Vec::with_capacity(record.attributes.len() + 10);
    attributes.extend_from_slice(caches.callsite(record.metadata));
    attributes.push(kv(
        "thread.id",
        any_value::Value::IntValue(i64::try_from(record.thread_id).unwrap_or(i64::MAX)),
    ));
    if let Some(name) = caches.thread_name(record.thread_id) {
        attributes.push(kv_str("thread.name", &name));
    }
    attributes.push(kv("busy_ns", int_value(record.timing.busy)));
    attributes.push(kv("idle_ns", int_value(record.timing.idle)));
    if let Some(cpu) = record.timing.cpu {
        attributes.push(kv("thread.cpu_time_ns", nanos_value(cpu)));
    }
    if let Some(allocations) = record.timing.allocations {
        let int = |n: u64| any_value::Value::IntValue(i64::try_from(n).unwrap_or(i64::MAX));
        attributes.push(kv("thread.alloc_bytes", int(allocations.bytes)));
        attributes.push(kv("thread.alloc_count", int(allocations.count)));
    }
    // A user field named like a built-in attribute (`level`, `thread.id`, …) wins:
    // OTLP forbids duplicate keys.
    let builtin = attributes.len();
    for user in &record.attributes {
        let kv = attribute(user);
        match attributes[..builtin].iter_mut().find(|a| a.key == kv.key) {
            Some(slot) => *slot = kv,
            None => attributes.push(kv),
        }
    }
    if let Some(reason) = record.kept_by {
        attributes.push(kv_str(KEPT_BY_KEY, reason));
    }

    let mut flags = u32::from(record.trace_flags) | FLAG_HAS_IS_REMOTE;
    if record.parent_is_remote {
        flags |= FLAG_IS_REMOTE;
    }
    Span {
        trace_id: record.trace_id.to_bytes().to_vec(),
        span_id: record.span_id.to_bytes().to_vec(),
        trace_state: record.trace_state.clone().unwrap_or_default(),
        parent_span_id: record
            .parent_span_id
            .map(|id| id.to_bytes().to_vec())
            .unwrap_or_default(),
        flags,
        name: record.name().to_owned(),
        kind: span_kind(record.kind) as i32,
        start_time_unix_nano: clock.unix_nanos(record.timing.start),
        end_time_unix_nano: clock.unix_nanos(record.timing.end),
        attributes,
        dropped_attributes_count: record.dropped_attributes,
        events: record.events.iter().map(|e| event(e, clock)).collect(),
        dropped_events_count: record.dropped_events,
        links: record.links.iter().map(link).collect(),
        dropped_links_count: record.dropped_links,
        status: Some(Status {
            message: record.status_description.clone().unwrap_or_default(),
            code: status_code(record.status) as i32,
        }),
    }
}

fn event(event: &EventRecord, clock: &ClockAnchor) -> span::Event {
    span::Event {
        time_unix_nano: clock.unix_nanos(event.time),
        name: match &event.name {
            EventName::Static(name) => (*name).to_owned(),
            EventName::Message(message) => message.as_str().to_owned(),
        },
        attributes: {
            let mut attributes: Vec<KeyValue> = event.attributes.iter().map(attribute).collect();
            if let Some(metadata) = event.metadata {
                // `level` and `target` describe the event unless a field has the name.
                for (key, value) in [
                    ("level", metadata.level().as_str()),
                    ("target", metadata.target()),
                ] {
                    if !attributes.iter().any(|a| a.key == key) {
                        attributes.push(kv_str(key, value));
                    }
                }
            }
            attributes
        },
        dropped_attributes_count: 0,
    }
}

fn link(link: &SpanContext) -> span::Link {
    span::Link {
        trace_id: link.trace_id().to_bytes().to_vec(),
        span_id: link.span_id().to_bytes().to_vec(),
        trace_state: link.trace_state().unwrap_or_default().to_owned(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        flags: u32::from(link.trace_flags()) | FLAG_HAS_IS_REMOTE,
    }
}

fn span_kind(kind: SpanKind) -> span::SpanKind {
    match kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    }
}

fn status_code(code: StatusCode) -> status::StatusCode {
    match code {
        StatusCode::Unset => status::StatusCode::Unset,
        StatusCode::Ok => status::StatusCode::Ok,
        StatusCode::Error => status::StatusCode::Error,
    }
}

fn nanos_value(d: std::time::Duration) -> any_value::Value {
    any_value::Value::IntValue(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn int_value(n: u64) -> any_value::Value {
    any_value::Value::IntValue(i64::try_from(n).unwrap_or(i64::MAX))
}

fn attribute(attribute: &Attribute) -> KeyValue {
    let value = match &attribute.value {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::I64(i) => any_value::Value::IntValue(*i),
        Value::F64(f) => any_value::Value::DoubleValue(*f),
        Value::Str(s) => any_value::Value::StringValue(s.as_str().to_owned()),
        Value::Static(s) => any_value::Value::StringValue((*s).to_owned()),
        Value::StrArray(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items
                .iter()
                .map(|s| AnyValue {
                    value: Some(any_value::Value::StringValue(s.clone())),
                })
                .collect(),
        }),
    };
    kv(attribute.key, value)
}
