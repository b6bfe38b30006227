//! [`SpanRecord`]s into OTLP protobuf messages, on the worker.
//!
//! This is where the span's `'static` metadata becomes semantic-convention
//! attributes, so the host's threads never pay for them.

use crate::clock::{self, Nanos};
use crate::propagation::SpanContext;
use crate::record::KEPT_BY_KEY;
use crate::record::{
    thread, Attribute, EventName, EventRecord, SpanKind, SpanRecord, StatusCode, Value,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_core::Metadata;

/// The instrumentation scope every span is exported under.
pub(crate) const SCOPE_NAME: &str = "tracing-observer";
/// The crate's version, exported as `telemetry.sdk.version` and the scope version.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// OTLP span flag: the `is_remote` bit below is meaningful.
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
/// OTLP span flag: the parent is in another process.
const FLAG_IS_REMOTE: u32 = 0x200;

/// Maps readings of the crate's monotonic clock to Unix time, from one reading of both clocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClockAnchor {
    monotonic: Nanos,
    unix_nanos: u64,
}

impl ClockAnchor {
    /// Reads both clocks now; take a fresh anchor per batch so clock steps do not accumulate.
    pub(crate) fn now() -> Self {
        let unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self {
            monotonic: clock::now_nanos(),
            unix_nanos,
        }
    }

    pub(crate) fn unix_nanos(&self, at: Nanos) -> u64 {
        if at >= self.monotonic {
            self.unix_nanos.saturating_add(at - self.monotonic)
        } else {
            self.unix_nanos.saturating_sub(self.monotonic - at)
        }
    }
}

/// Builds export requests for one resource.
#[derive(Debug)]
pub(crate) struct RequestBuilder {
    resource: Resource,
    scope: InstrumentationScope,
    caches: Caches,
}

impl RequestBuilder {
    /// A builder for the service's resource: `service.name`, the configured attributes,
    /// `service.instance.id`, `telemetry.sdk.*` and `process.*`.
    pub(crate) fn new(service_name: &str, attributes: &[(String, String)]) -> Self {
        let mut kvs = vec![kv_str("service.name", service_name)];
        kvs.extend(attributes.iter().map(|(k, v)| kv_str(k, v)));
        let has = |key: &str| attributes.iter().any(|(k, _)| k == key);
        if !has("service.instance.id") {
            kvs.push(kv_str("service.instance.id", &instance_id()));
        }
        kvs.push(kv_str("telemetry.sdk.name", SCOPE_NAME));
        kvs.push(kv_str("telemetry.sdk.language", "rust"));
        kvs.push(kv_str("telemetry.sdk.version", VERSION));
        if !has("process.pid") {
            kvs.push(kv(
                "process.pid",
                any_value::Value::IntValue(i64::from(std::process::id())),
            ));
        }
        if let Some(exe) = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            if !has("process.executable.name") {
                kvs.push(kv_str("process.executable.name", &exe));
            }
        }
        Self {
            resource: Resource {
                attributes: kvs,
                ..Default::default()
            },
            scope: InstrumentationScope {
                name: SCOPE_NAME.into(),
                version: VERSION.into(),
                ..Default::default()
            },
            caches: Caches::default(),
        }
    }

    /// The resource every request is sent under (OTLP metrics use it too).
    pub(crate) fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The instrumentation scope every request is sent under.
    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// One request holding every record of the batch.
    pub(crate) fn request(&mut self, records: &[Box<SpanRecord>]) -> ExportTraceServiceRequest {
        let clock = ClockAnchor::now();
        let caches = &mut self.caches;
        let spans = records.iter().map(|r| span(r, &clock, caches)).collect();
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(self.scope.clone()),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

/// A random version-4 UUID naming this process, stable for its lifetime.
fn instance_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let bits = crate::ids::TraceId::random().to_u128();
        let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    })
    .clone()
}

/// Attributes that depend only on the callsite (`code.*`, `level`), built once each.
fn callsite_attributes(metadata: &Metadata<'static>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(5);
    if let Some(module) = metadata.module_path() {
        attributes.push(kv_str(
            "code.function.name",
            &format!("{module}::{}", metadata.name()),
        ));
        attributes.push(kv_str("code.module.name", module));
    } else {
        attributes.push(kv_str("code.function.name", metadata.name()));
    }
    if let Some(file) = metadata.file() {
        attributes.push(kv_str("code.file.path", file));
    }
    if let Some(line) = metadata.line() {
        attributes.push(kv(
            "code.line.number",
            any_value::Value::IntValue(i64::from(line)),
        ));
    }
    attributes.push(kv_str("level", metadata.level().as_str()));
    attributes
}

/// What the worker remembers between batches: per-callsite attributes and thread names.
#[derive(Debug, Default)]
struct Caches {
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

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(crate) fn kv_str(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_anchor_maps_both_directions() {
        let anchor = ClockAnchor::now();
        let later = anchor.monotonic + 5_000_000;
        assert_eq!(anchor.unix_nanos(later) - anchor.unix_nanos, 5_000_000);
        if let Some(earlier) = anchor.monotonic.checked_sub(3_000_000) {
            assert_eq!(anchor.unix_nanos - anchor.unix_nanos(earlier), 3_000_000);
        }
    }

    #[test]
    fn instance_id_is_a_v4_uuid() {
        let id = instance_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(id, instance_id());
    }

    #[test]
    fn resource_has_service_and_sdk_attributes() {
        let builder = RequestBuilder::new(
            "checkout",
            &[("deployment.environment.name".into(), "test".into())],
        );
        let keys: Vec<_> = builder
            .resource
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        for key in [
            "service.name",
            "deployment.environment.name",
            "service.instance.id",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version",
            "process.pid",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
    }
}
