use super::SdkExporter;
use crate::export::{EncodedRequest, SpanExporter};
use crate::ExportErrorKind;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue as ProtoKeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind as ProtoKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status as ProtoStatus,
};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use opentelemetry_sdk::trace::SpanData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

fn any(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn kv(key: &str, value: any_value::Value) -> ProtoKeyValue {
    ProtoKeyValue {
        key: key.into(),
        value: any(value),
        ..Default::default()
    }
}

fn string(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.into())
}

fn array(values: Vec<any_value::Value>) -> any_value::Value {
    any_value::Value::ArrayValue(ArrayValue {
        values: values
            .into_iter()
            .map(|v| AnyValue { value: Some(v) })
            .collect(),
    })
}

fn span(name: &str, span_id: u8) -> Span {
    Span {
        trace_id: vec![0x4b; 16],
        span_id: vec![span_id; 8],
        name: name.into(),
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_500_000_000,
        ..Default::default()
    }
}

fn request(resource: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", string(resource))],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "tracing-observer".into(),
                version: "0.1.0".into(),
                attributes: vec![kv("scope.kind", string("layer"))],
                dropped_attributes_count: 0,
            }),
            spans,
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
        schema_url: String::new(),
    }
}

fn export<E: opentelemetry_sdk::trace::SpanExporter + 'static>(
    exporter: &SdkExporter<E>,
    resource_spans: Vec<ResourceSpans>,
) -> Result<crate::export::Accepted, crate::ExportError> {
    let batch = EncodedRequest::from_request(&ExportTraceServiceRequest { resource_spans });
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(exporter.export(batch))
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn every_field_of_a_span_reaches_the_sdk_exporter() {
    let memory = InMemorySpanExporter::default();
    let exporter = SdkExporter::new(memory.clone());
    let mut full = span("charge", 2);
    full.parent_span_id = vec![1; 8];
    full.flags =
        0x01 | crate::export::encode::FLAG_HAS_IS_REMOTE | crate::export::encode::FLAG_IS_REMOTE;
    full.trace_state = "congo=t61rcWkgMzE".into();
    full.kind = ProtoKind::Client as i32;
    full.attributes = vec![
        kv("s", string("text")),
        kv("b", any_value::Value::BoolValue(true)),
        kv("i", any_value::Value::IntValue(-3)),
        kv("d", any_value::Value::DoubleValue(0.25)),
        kv("chain", array(vec![string("a"), string("b")])),
        kv(
            "mixed",
            array(vec![string("a"), any_value::Value::IntValue(1)]),
        ),
        kv(
            "map",
            any_value::Value::KvlistValue(KeyValueList {
                values: vec![kv("k", string("v"))],
            }),
        ),
        ProtoKeyValue {
            key: "empty".into(),
            ..Default::default()
        },
    ];
    full.dropped_attributes_count = 2;
    full.events = vec![Event {
        time_unix_nano: 1_200_000_000,
        name: "exception".into(),
        attributes: vec![kv("exception.message", string("declined"))],
        dropped_attributes_count: 1,
    }];
    full.dropped_events_count = 4;
    full.links = vec![
        Link {
            trace_id: vec![0x77; 16],
            span_id: vec![0x78; 8],
            flags: 0x01 | crate::export::encode::FLAG_HAS_IS_REMOTE,
            attributes: vec![kv("why", string("retry of"))],
            ..Default::default()
        },
        Link {
            trace_id: vec![0x77; 3],
            span_id: vec![0x78; 8],
            ..Default::default()
        },
    ];
    full.status = Some(ProtoStatus {
        message: "declined".into(),
        code: StatusCode::Error as i32,
    });
    let accepted = export(&exporter, vec![request("checkout", vec![full])]).unwrap();
    assert_eq!(accepted, crate::export::Accepted::all());

    let spans = memory.get_finished_spans().unwrap();
    let [span]: [SpanData; 1] = spans.try_into().unwrap();
    assert_eq!(span.name, "charge");
    assert_eq!(
        span.span_context.trace_id(),
        TraceId::from_bytes([0x4b; 16])
    );
    assert_eq!(span.span_context.span_id(), SpanId::from_bytes([2; 8]));
    assert!(span.span_context.is_sampled());
    assert!(!span.span_context.is_remote());
    assert_eq!(
        span.span_context.trace_state().header(),
        "congo=t61rcWkgMzE"
    );
    assert_eq!(span.parent_span_id, SpanId::from_bytes([1; 8]));
    assert!(span.parent_span_is_remote);
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.start_time, UNIX_EPOCH + Duration::from_secs(1));
    assert_eq!(span.end_time, UNIX_EPOCH + Duration::from_millis(1500));
    let attrs = &span.attributes;
    assert_eq!(attribute(attrs, "s"), Some(&Value::from("text")));
    assert_eq!(attribute(attrs, "b"), Some(&Value::Bool(true)));
    assert_eq!(attribute(attrs, "i"), Some(&Value::I64(-3)));
    assert_eq!(attribute(attrs, "d"), Some(&Value::F64(0.25)));
    assert_eq!(
        attribute(attrs, "chain"),
        Some(&Value::Array(Array::String(vec!["a".into(), "b".into()])))
    );
    assert_eq!(
        attribute(attrs, "mixed"),
        Some(&Value::from(
            r#"{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"}]}}"#
        )),
        "as OTLP/JSON"
    );
    assert!(matches!(attribute(attrs, "map"), Some(Value::String(_))));
    assert_eq!(attribute(attrs, "empty"), None);
    assert_eq!(
        span.dropped_attributes_count, 3,
        "2 dropped, 1 without value"
    );
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events.dropped_count, 4);
    let event = &span.events[0];
    assert_eq!(event.name, "exception");
    assert_eq!(event.timestamp, UNIX_EPOCH + Duration::from_millis(1200));
    assert_eq!(event.dropped_attributes_count, 1);
    assert_eq!(
        attribute(&event.attributes, "exception.message"),
        Some(&Value::from("declined"))
    );
    assert_eq!(
        span.links.len(),
        1,
        "the link with a short trace id is left out"
    );
    assert_eq!(span.links.dropped_count, 1);
    let link = &span.links[0];
    assert_eq!(link.span_context.span_id(), SpanId::from_bytes([0x78; 8]));
    assert!(!link.span_context.is_remote());
    assert_eq!(
        attribute(&link.attributes, "why"),
        Some(&Value::from("retry of"))
    );
    assert_eq!(span.status, Status::error("declined"));
    let scope = &span.instrumentation_scope;
    assert_eq!(scope.name(), "tracing-observer");
    assert_eq!(scope.version(), Some("0.1.0"));
    assert_eq!(
        scope.schema_url(),
        Some("https://opentelemetry.io/schemas/1.26.0")
    );
    assert_eq!(scope.attributes().count(), 1);
}

#[test]
fn kinds_and_statuses_map_one_to_one() {
    let memory = InMemorySpanExporter::default();
    let exporter = SdkExporter::new(memory.clone());
    let kinds = [
        (ProtoKind::Unspecified, SpanKind::Internal),
        (ProtoKind::Internal, SpanKind::Internal),
        (ProtoKind::Server, SpanKind::Server),
        (ProtoKind::Client, SpanKind::Client),
        (ProtoKind::Producer, SpanKind::Producer),
        (ProtoKind::Consumer, SpanKind::Consumer),
    ];
    let statuses = [
        (None, Status::Unset),
        (Some(StatusCode::Unset), Status::Unset),
        (Some(StatusCode::Ok), Status::Ok),
        (Some(StatusCode::Error), Status::error("")),
    ];
    let mut spans = Vec::new();
    for (i, (kind, _)) in kinds.iter().enumerate() {
        let mut s = span(&format!("kind{i}"), i as u8 + 1);
        s.kind = *kind as i32;
        spans.push(s);
    }
    for (i, (code, _)) in statuses.iter().enumerate() {
        let mut s = span(&format!("status{i}"), i as u8 + 10);
        s.status = code.map(|code| ProtoStatus {
            message: String::new(),
            code: code as i32,
        });
        spans.push(s);
    }
    export(&exporter, vec![request("checkout", spans)]).unwrap();
    let exported = memory.get_finished_spans().unwrap();
    let named = |name: String| exported.iter().find(|s| s.name == name).unwrap();
    for (i, (_, expected)) in kinds.iter().enumerate() {
        assert_eq!(&named(format!("kind{i}")).span_kind, expected);
    }
    for (i, (_, expected)) in statuses.iter().enumerate() {
        assert_eq!(&named(format!("status{i}")).status, expected);
    }
}

#[test]
fn spans_with_malformed_ids_are_rejected_and_counted() {
    let memory = InMemorySpanExporter::default();
    let exporter = SdkExporter::new(memory.clone());
    let mut short_trace = span("short-trace", 1);
    short_trace.trace_id.pop();
    let mut long_parent = span("long-parent", 2);
    long_parent.parent_span_id = vec![1; 9];
    let accepted = export(
        &exporter,
        vec![request(
            "checkout",
            vec![short_trace, span("fine", 3), long_parent],
        )],
    )
    .unwrap();
    assert_eq!(accepted.rejected_spans, 2);
    assert_eq!(
        accepted.message.as_deref(),
        Some("spans with an id of the wrong length")
    );
    let exported = memory.get_finished_spans().unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].name, "fine");
}

/// Makes the error an export fails with.
type MakeError = fn() -> OTelSdkError;

/// An SDK exporter that records its resources and fails while told to.
#[derive(Debug, Clone, Default)]
struct Scripted {
    resources: Arc<Mutex<Vec<opentelemetry_sdk::Resource>>>,
    batches: Arc<Mutex<Vec<usize>>>,
    fail_with: Arc<Mutex<Option<MakeError>>>,
}

impl opentelemetry_sdk::trace::SpanExporter for Scripted {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Some(error) = *self.fail_with.lock().unwrap() {
            return Err(error());
        }
        self.batches.lock().unwrap().push(batch.len());
        Ok(())
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resources.lock().unwrap().push(resource.clone());
    }
}

#[test]
fn the_resource_is_set_when_it_changes() {
    let scripted = Scripted::default();
    let exporter = SdkExporter::new(scripted.clone());
    export(&exporter, vec![request("a", vec![span("1", 1)])]).unwrap();
    export(&exporter, vec![request("a", vec![span("2", 2)])]).unwrap();
    export(
        &exporter,
        vec![
            request("b", vec![span("3", 3)]),
            request("a", vec![span("4", 4)]),
        ],
    )
    .unwrap();
    let names: Vec<String> = scripted
        .resources
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            r.get(&opentelemetry::Key::new("service.name"))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["a", "b", "a"]);
    assert_eq!(*scripted.batches.lock().unwrap(), [1, 1, 1, 1]);
}

#[test]
fn sdk_errors_map_to_export_error_kinds() {
    let cases: [(MakeError, ExportErrorKind); 3] = [
        (
            || OTelSdkError::InternalFailure("connection refused".into()),
            ExportErrorKind::Unavailable,
        ),
        (
            || OTelSdkError::Timeout(Duration::from_secs(1)),
            ExportErrorKind::Timeout,
        ),
        (|| OTelSdkError::AlreadyShutdown, ExportErrorKind::Rejected),
    ];
    for (error, kind) in cases {
        let scripted = Scripted::default();
        *scripted.fail_with.lock().unwrap() = Some(error);
        let exporter = SdkExporter::new(scripted);
        let err = export(&exporter, vec![request("a", vec![span("1", 1)])]).unwrap_err();
        assert_eq!(err.kind(), kind);
        assert!(err.message().starts_with("SDK exporter: "), "{err}");
    }
}

#[test]
fn a_request_that_is_not_otlp_is_an_encode_error() {
    let exporter = SdkExporter::new(InMemorySpanExporter::default());
    let garbage = EncodedRequest::new(bytes::Bytes::from_static(b"\xff"), 1);
    let err = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(exporter.export(garbage))
        .unwrap_err();
    assert_eq!(err.kind(), ExportErrorKind::Encode);
}

#[test]
fn shutdown_reaches_the_sdk_exporter() {
    let memory = InMemorySpanExporter::default();
    let exporter = SdkExporter::new(memory.clone());
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(exporter.shutdown());
    assert!(memory.is_shutdown_called());
}
