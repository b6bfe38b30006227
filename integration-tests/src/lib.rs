//! Test harness for `tracing-observer`: real servers to export to, and helpers to
//! inspect what arrived.
//!
//! - [`OtlpReceiver`]: an in-process OTLP/gRPC + OTLP/HTTP trace receiver that
//!   records requests and when each call arrived ([`Attempt`]), and can be told to
//!   fail, refuse, throttle or hang ([`Behavior`]).
//! - [`Rotel`]: the `rotel-agent` collector as a child process, forwarding to a
//!   downstream endpoint; can be stopped and restarted on the same ports.
//!   Needs `$ROTEL_AGENT` (set by `scripts/test`).
//! - [`TcpProxy`]: a TCP proxy that forwards to a collector or refuses connections on
//!   a schedule (an outage with the collector running).
//! - [`http_get`]: a minimal HTTP/1.1 client for the observer's endpoints.
//! - [`Prometheus`]: a real Prometheus server as a child process, scraping loopback
//!   targets, queried through its HTTP API. Needs `$PROMETHEUS` (set by `scripts/test`).
//! - Attribute and span look-up helpers: [`attr_str`], [`attr_i64`],
//!   [`find_span`], ...

pub mod http;
pub mod prometheus;
pub mod proxy;
pub mod receiver;
pub mod rotel;

pub use http::{http_get, http_get_with, HttpResponse};
pub use prometheus::{promtool_check_metrics, Prometheus};
pub use proxy::TcpProxy;

pub use receiver::{
    flatten_spans, rejected_by_partial_success, Attempt, Behavior, OtlpReceiver, ReceivedLog,
    ReceivedMetrics, ReceivedRequest, ReceivedSpan, Transport, PARTIAL_SUCCESS_MESSAGE,
};
pub use rotel::{rotel_agent_path, Rotel, RotelBuilder};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span};

/// The value of the sample in a Prometheus text exposition whose line starts with
/// `series` (the name and, when given, its labels exactly as rendered).
pub fn metric_sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Anything that carries OTLP attributes.
pub trait Attributes {
    /// The attributes, in their original order.
    fn attributes(&self) -> &[KeyValue];
}

impl Attributes for [KeyValue] {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
}

impl Attributes for Vec<KeyValue> {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
}

impl Attributes for Span {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

/// The span's own attributes; for its resource's use `&span.resource_attributes`.
impl Attributes for ReceivedSpan {
    fn attributes(&self) -> &[KeyValue] {
        &self.span.attributes
    }
}

impl Attributes for span::Event {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

impl Attributes for span::Link {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

impl Attributes for Resource {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

impl Attributes for InstrumentationScope {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

/// The value of attribute `key` (the first one, if repeated).
pub fn attr<'a, T: Attributes + ?Sized>(item: &'a T, key: &str) -> Option<&'a Value> {
    item.attributes()
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())
}

/// Attribute `key` if it is a string.
pub fn attr_str<T: Attributes + ?Sized>(item: &T, key: &str) -> Option<String> {
    match attr(item, key)? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// Attribute `key` if it is an integer.
pub fn attr_i64<T: Attributes + ?Sized>(item: &T, key: &str) -> Option<i64> {
    match attr(item, key)? {
        Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// Attribute `key` if it is a double.
pub fn attr_f64<T: Attributes + ?Sized>(item: &T, key: &str) -> Option<f64> {
    match attr(item, key)? {
        Value::DoubleValue(f) => Some(*f),
        _ => None,
    }
}

/// Attribute `key` if it is a boolean.
pub fn attr_bool<T: Attributes + ?Sized>(item: &T, key: &str) -> Option<bool> {
    match attr(item, key)? {
        Value::BoolValue(b) => Some(*b),
        _ => None,
    }
}

/// Resource attribute `key` of a received span, if it is a string.
pub fn resource_attr_str(span: &ReceivedSpan, key: &str) -> Option<String> {
    attr_str(&span.resource_attributes, key)
}

/// The first span named `name`.
pub fn find_span<'a>(spans: &'a [ReceivedSpan], name: &str) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| s.span.name == name)
}

/// All spans named `name`, in order.
pub fn spans_named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.span.name == name).collect()
}

/// The spans whose parent is `parent` (same trace, parent id = its span id).
pub fn children_of<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| {
            s.span.trace_id == parent.span.trace_id && s.span.parent_span_id == parent.span.span_id
        })
        .collect()
}

/// Bytes as lower-case hex (as trace and span ids are usually written).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A string key-value attribute.
pub fn kv_str(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// A request holding one span, for tests that talk OTLP directly.
///
/// The resource has `service.name = service_name`, the scope is named
/// `integration-tests`, and the span has the given ids, a 1 ms duration ending
/// now, and a string attribute `test.attr = "value"`.
pub fn single_span_request(
    service_name: &str,
    span_name: &str,
    trace_id: [u8; 16],
    span_id: [u8; 8],
) -> ExportTraceServiceRequest {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv_str("service.name", service_name)],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "integration-tests".to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans: vec![Span {
                    trace_id: trace_id.to_vec(),
                    span_id: span_id.to_vec(),
                    name: span_name.to_owned(),
                    kind: span::SpanKind::Internal as i32,
                    start_time_unix_nano: now.saturating_sub(1_000_000),
                    end_time_unix_nano: now,
                    attributes: vec![kv_str("test.attr", "value")],
                    ..Span::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}
