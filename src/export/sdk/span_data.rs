//! OTLP protobuf spans as `opentelemetry_sdk` [`SpanData`], for an SDK exporter.

use crate::export::encode::FLAG_IS_REMOTE;
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, InstrumentationScope as ProtoScope, KeyValue as ProtoKeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::span::{Event as ProtoEvent, Link as ProtoLink};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, Span};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The spans of one `ResourceSpans`, with the resource they share.
pub(super) struct ResourceBatch {
    /// The resource as OTLP carries it (compared to know when it changes).
    pub(super) resource: (Option<ProtoResource>, String),
    pub(super) spans: Vec<SpanData>,
    /// Spans left out because an id has the wrong length.
    pub(super) malformed: u64,
}

/// The spans of `resource_spans` as SDK span data.
pub(super) fn resource_batch(resource_spans: ResourceSpans) -> ResourceBatch {
    let mut spans = Vec::new();
    let mut malformed = 0;
    for scope_spans in resource_spans.scope_spans {
        let scope = scope(scope_spans.scope, scope_spans.schema_url);
        for proto in scope_spans.spans {
            match span_data(proto, &scope) {
                Some(span) => spans.push(span),
                None => malformed += 1,
            }
        }
    }
    ResourceBatch {
        resource: (resource_spans.resource, resource_spans.schema_url),
        spans,
        malformed,
    }
}

/// The SDK resource of an OTLP resource and its schema URL.
pub(super) fn resource(proto: &Option<ProtoResource>, schema_url: &str) -> Resource {
    let attributes = proto
        .as_ref()
        .map(|r| key_values(r.attributes.clone()).0)
        .unwrap_or_default();
    let builder = Resource::builder_empty();
    if schema_url.is_empty() {
        builder.with_attributes(attributes).build()
    } else {
        builder
            .with_schema_url(attributes, schema_url.to_owned())
            .build()
    }
}

fn scope(proto: Option<ProtoScope>, schema_url: String) -> InstrumentationScope {
    let proto = proto.unwrap_or_default();
    let mut builder =
        InstrumentationScope::builder(proto.name).with_attributes(key_values(proto.attributes).0);
    if !proto.version.is_empty() {
        builder = builder.with_version(proto.version);
    }
    if !schema_url.is_empty() {
        builder = builder.with_schema_url(schema_url);
    }
    builder.build()
}

/// `None` when an id has the wrong length.
fn span_data(proto: Span, scope: &InstrumentationScope) -> Option<SpanData> {
    let parent_span_id = match proto.parent_span_id.as_slice() {
        [] => SpanId::INVALID,
        bytes => SpanId::from_bytes(bytes.try_into().ok()?),
    };
    let span_context = span_context(
        &proto.trace_id,
        &proto.span_id,
        proto.flags,
        &proto.trace_state,
        false,
    )?;
    let (attributes, unconverted) = key_values(proto.attributes);
    let mut events = SpanEvents::default();
    events.events = proto.events.into_iter().map(event).collect();
    events.dropped_count = proto.dropped_events_count;
    let mut links = SpanLinks::default();
    let link_count = proto.links.len();
    links.links = proto.links.into_iter().filter_map(link).collect();
    links.dropped_count = proto.dropped_links_count + (link_count - links.links.len()) as u32;
    Some(SpanData {
        span_context,
        parent_span_id,
        parent_span_is_remote: proto.flags & FLAG_IS_REMOTE != 0,
        span_kind: kind(proto.kind),
        name: Cow::Owned(proto.name),
        start_time: time(proto.start_time_unix_nano),
        end_time: time(proto.end_time_unix_nano),
        attributes,
        dropped_attributes_count: proto.dropped_attributes_count + unconverted,
        events,
        links,
        status: status(proto.status),
        instrumentation_scope: scope.clone(),
    })
}

/// `None` when an id has the wrong length.
fn span_context(
    trace_id: &[u8],
    span_id: &[u8],
    flags: u32,
    trace_state: &str,
    is_remote: bool,
) -> Option<SpanContext> {
    Some(SpanContext::new(
        TraceId::from_bytes(trace_id.try_into().ok()?),
        SpanId::from_bytes(span_id.try_into().ok()?),
        TraceFlags::new((flags & 0xff) as u8),
        is_remote,
        trace_state.parse::<TraceState>().unwrap_or_default(),
    ))
}

fn event(proto: ProtoEvent) -> Event {
    let (attributes, unconverted) = key_values(proto.attributes);
    Event::new(
        proto.name,
        time(proto.time_unix_nano),
        attributes,
        proto.dropped_attributes_count + unconverted,
    )
}

/// `None` when an id has the wrong length.
fn link(proto: ProtoLink) -> Option<Link> {
    let context = span_context(
        &proto.trace_id,
        &proto.span_id,
        proto.flags,
        &proto.trace_state,
        proto.flags & FLAG_IS_REMOTE != 0,
    )?;
    let (attributes, unconverted) = key_values(proto.attributes);
    Some(Link::new(
        context,
        attributes,
        proto.dropped_attributes_count + unconverted,
    ))
}

fn kind(proto: i32) -> SpanKind {
    match span::SpanKind::try_from(proto) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

fn status(proto: Option<opentelemetry_proto::tonic::trace::v1::Status>) -> Status {
    match proto {
        Some(s) if s.code == StatusCode::Error as i32 => Status::error(s.message),
        Some(s) if s.code == StatusCode::Ok as i32 => Status::Ok,
        _ => Status::Unset,
    }
}

fn time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

/// The attributes, and how many had no value the SDK can hold (left out).
fn key_values(proto: Vec<ProtoKeyValue>) -> (Vec<KeyValue>, u32) {
    let total = proto.len();
    let converted: Vec<KeyValue> = proto
        .into_iter()
        .filter_map(|kv| Some(KeyValue::new(kv.key, value(kv.value?)?)))
        .collect();
    let unconverted = (total - converted.len()) as u32;
    (converted, unconverted)
}

/// The SDK value: scalars as they are, a homogeneous array of scalars as an array;
/// anything else (mixed or nested arrays, key/value lists, bytes) as its OTLP/JSON text.
fn value(proto: AnyValue) -> Option<Value> {
    Some(match proto.value.as_ref()? {
        any_value::Value::StringValue(s) => Value::String(s.clone().into()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::I64(*i),
        any_value::Value::DoubleValue(d) => Value::F64(*d),
        any_value::Value::ArrayValue(array) => match scalar_array(&array.values) {
            Some(array) => Value::Array(array),
            None => Value::String(json(&proto)),
        },
        any_value::Value::KvlistValue(_) | any_value::Value::BytesValue(_) => {
            Value::String(json(&proto))
        }
        // An index into a string table that span requests do not have.
        any_value::Value::StringValueStrindex(_) => return None,
    })
}

fn json(proto: &AnyValue) -> StringValue {
    serde_json::to_string(proto).unwrap_or_default().into()
}

/// The array when all its values are scalars of one type.
fn scalar_array(values: &[AnyValue]) -> Option<Array> {
    let scalars = values
        .iter()
        .map(|v| match v.value.as_ref()? {
            any_value::Value::ArrayValue(_)
            | any_value::Value::KvlistValue(_)
            | any_value::Value::BytesValue(_) => None,
            _ => value(v.clone()),
        })
        .collect::<Option<Vec<Value>>>()?;
    match scalars.first()? {
        Value::String(_) => scalars
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect::<Option<_>>()
            .map(Array::String),
        Value::Bool(_) => scalars
            .into_iter()
            .map(|v| match v {
                Value::Bool(b) => Some(b),
                _ => None,
            })
            .collect::<Option<_>>()
            .map(Array::Bool),
        Value::I64(_) => scalars
            .into_iter()
            .map(|v| match v {
                Value::I64(i) => Some(i),
                _ => None,
            })
            .collect::<Option<_>>()
            .map(Array::I64),
        Value::F64(_) => scalars
            .into_iter()
            .map(|v| match v {
                Value::F64(d) => Some(d),
                _ => None,
            })
            .collect::<Option<_>>()
            .map(Array::F64),
        _ => None,
    }
}
