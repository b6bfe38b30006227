//! The OTLP transports against the in-process receiver: gRPC, HTTP/protobuf and
//! HTTP/JSON each deliver the spans intact (ids, parentage, typed attributes, the
//! resource), with gzip compression and the configured headers on the request;
//! the endpoint, protocol, headers and compression are also taken from the
//! `OTEL_EXPORTER_OTLP_*` variables.

mod common;

use common::{builder, builder_for, observe, only, shutdown_complete};
use integration_tests::{
    attr_f64, attr_i64, attr_str, resource_attr_str, OtlpReceiver, ReceivedRequest, Transport,
};
use tracing_observer::{
    config::Compression, config::Protocol, Observer, ObserverSpanExt, SpanContext,
};

/// Emits a parent with a child; returns their contexts as the host saw them.
fn emit(observer: &Observer) -> (SpanContext, SpanContext) {
    observe(observer, || {
        let parent = tracing::info_span!("parent", answer = 42_i64, ratio = 0.25, tag = "t");
        let child = parent.in_scope(|| tracing::info_span!("child"));
        child.in_scope(|| tracing::info!(step = 1, "child ran"));
        let contexts = (
            parent.span_context().expect("parent recorded"),
            child.span_context().expect("child recorded"),
        );
        drop(child);
        drop(parent);
        contexts
    })
}

/// Checks that the receiver got exactly those two spans, intact.
fn assert_delivered(receiver: &OtlpReceiver, parent_cx: &SpanContext, child_cx: &SpanContext) {
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "{:?}", common::names(&spans));
    let parent = only(&spans, "parent");
    let child = only(&spans, "child");
    assert_eq!(parent.trace_id_hex(), parent_cx.trace_id().to_string());
    assert_eq!(parent.span_id_hex(), parent_cx.span_id().to_string());
    assert_eq!(parent.parent_span_id_hex(), "");
    assert_eq!(child.trace_id_hex(), parent_cx.trace_id().to_string());
    assert_eq!(child.span_id_hex(), child_cx.span_id().to_string());
    assert_eq!(child.parent_span_id_hex(), parent.span_id_hex());
    assert_eq!(attr_i64(parent, "answer"), Some(42));
    assert_eq!(attr_f64(parent, "ratio"), Some(0.25));
    assert_eq!(attr_str(parent, "tag").as_deref(), Some("t"));
    assert_eq!(child.span.events.len(), 1);
    assert_eq!(attr_i64(&child.span.events[0], "step"), Some(1));
    assert_eq!(
        resource_attr_str(parent, "service.name").as_deref(),
        Some("integration-tests")
    );
    assert_eq!(parent.scope_name(), "tracing-observer");
}

fn only_request(receiver: &OtlpReceiver) -> ReceivedRequest {
    let received = receiver.received();
    assert_eq!(received.len(), 1, "expected one export request");
    received.into_iter().next().unwrap()
}

#[test]
fn grpc_with_gzip_and_headers() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .compression(Compression::Gzip)
        .header("x-api-key", "secret-1")
        .header("X-Mixed-Case", "v")
        .build()
        .unwrap();
    let (parent, child) = emit(&observer);
    shutdown_complete(&observer);

    assert_delivered(&receiver, &parent, &child);
    let request = only_request(&receiver);
    assert_eq!(request.transport, Transport::Grpc);
    assert_eq!(request.header("grpc-encoding"), Some("gzip"));
    assert_eq!(request.header("x-api-key"), Some("secret-1"));
    assert_eq!(request.header("x-mixed-case"), Some("v"));
}

#[test]
fn http_protobuf_with_gzip_and_headers() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::HttpProtobuf)
        .compression(Compression::Gzip)
        .header("x-api-key", "secret-2")
        .build()
        .unwrap();
    let (parent, child) = emit(&observer);
    shutdown_complete(&observer);

    assert_delivered(&receiver, &parent, &child);
    let request = only_request(&receiver);
    assert_eq!(request.transport, Transport::HttpProtobuf);
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(request.header("x-api-key"), Some("secret-2"));
}

#[test]
fn http_json_round_trips() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::HttpJson).build().unwrap();
    let (parent, child) = emit(&observer);
    shutdown_complete(&observer);

    assert_delivered(&receiver, &parent, &child);
    let request = only_request(&receiver);
    assert_eq!(request.transport, Transport::HttpJson);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("content-encoding"), None, "not compressed");
}

#[test]
fn http_json_with_gzip() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::HttpJson)
        .compression(Compression::Gzip)
        .build()
        .unwrap();
    let (parent, child) = emit(&observer);
    shutdown_complete(&observer);

    assert_delivered(&receiver, &parent, &child);
    let request = only_request(&receiver);
    assert_eq!(request.transport, Transport::HttpJson);
    assert_eq!(request.header("content-encoding"), Some("gzip"));
}

#[test]
fn otlp_environment_variables_configure_the_export() {
    let receiver = OtlpReceiver::start();
    let observer = builder()
        .environment([
            ("OTEL_SERVICE_NAME", "integration-tests".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-tenant=acme,x-api-key=from%20env".to_owned(),
            ),
        ])
        // Builder headers are added to the environment's; same key: the builder wins.
        .header("x-api-key", "from-builder")
        .build()
        .unwrap();
    let (parent, child) = emit(&observer);
    shutdown_complete(&observer);

    assert_delivered(&receiver, &parent, &child);
    let request = only_request(&receiver);
    assert_eq!(request.transport, Transport::HttpProtobuf);
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.header("x-tenant"), Some("acme"));
    assert_eq!(request.header("x-api-key"), Some("from-builder"));
}

#[test]
fn traces_endpoint_variable_is_used_as_is() {
    let receiver = OtlpReceiver::start();
    let observer = builder()
        .environment([
            ("OTEL_SERVICE_NAME", "integration-tests".to_owned()),
            // The generic variable points nowhere; the traces-specific one wins.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", common::closed_endpoint()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                receiver.http_traces_url(),
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json".to_owned()),
        ])
        .build()
        .unwrap();
    let (parent, child) = emit(&observer);
    shutdown_complete(&observer);

    assert_delivered(&receiver, &parent, &child);
    assert_eq!(only_request(&receiver).transport, Transport::HttpJson);
}
