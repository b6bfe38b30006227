//! `examples/axum_service.rs` as a black box: two instances, the frontend calling
//! the backend, exporting through a real collector (rotel) to the in-process
//! receiver. A request to the frontend's `/checkout` must come out as one trace
//! across both processes (SERVER → CLIENT in the frontend, SERVER in the backend),
//! `/fail` as a 500 whose SERVER span is ERROR; the health endpoint lists the
//! application's database check; SIGTERM shuts both down cleanly with a report.
//!
//! Needs `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`) and the
//! example binary (`cargo test --workspace --all-features` builds it).

mod common;

use common::{AxumService, WAIT};
use integration_tests::{
    attr_i64, attr_str, http_get, resource_attr_str, OtlpReceiver, ReceivedSpan, Rotel,
};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

/// Spans of one `/checkout` in one instance: the SERVER span, `load_cart` and
/// `reserve_stock` with a `db.query` each, and `price_cart`.
const CHECKOUT_SPANS: usize = 6;
/// Spans of one `/fail`: the SERVER span and `charge_card`.
const FAIL_SPANS: usize = 2;

/// The spans of service `service`.
fn of_service<'a>(spans: &'a [ReceivedSpan], service: &str) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| resource_attr_str(s, "service.name").as_deref() == Some(service))
        .collect()
}

/// The one span of `spans` named `name`.
fn the<'a>(spans: &[&'a ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let named: Vec<_> = spans.iter().filter(|s| s.name() == name).collect();
    assert_eq!(
        named.len(),
        1,
        "one {name:?} expected; names: {:?}",
        spans.iter().map(|s| s.name()).collect::<Vec<_>>()
    );
    named[0]
}

fn status(span: &ReceivedSpan) -> StatusCode {
    span.span
        .status
        .as_ref()
        .map_or(StatusCode::Unset, |s| s.code())
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_checkout_is_one_trace_across_two_services_and_fail_is_an_error_span() {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let endpoint = rotel.grpc_endpoint();
    let exporting = |service: &'static str| {
        [
            ("OTEL_SERVICE_NAME", service),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ]
    };
    let mut backend = AxumService::start(&[], &exporting("backend"));
    let mut frontend =
        AxumService::start(&["--downstream", &backend.url()], &exporting("frontend"));

    let checkout = frontend.get("/checkout");
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    assert!(
        checkout.body.contains("; downstream: order 1:"),
        "the backend answered through the frontend: {}",
        checkout.body
    );
    let fail = frontend.get("/fail");
    assert_eq!(fail.status, 500, "{}", fail.body);
    assert_eq!(frontend.get("/").body, "ok");

    // The application's database check is on the observer's health endpoint, critical.
    let health = http_get(frontend.observer_addr, "/health").expect("GET /health");
    assert_eq!(health.status, 200, "{}", health.body);
    let components = health.json()["components"].clone();
    let database = components
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "database")
        .unwrap_or_else(|| panic!("no database check in {}", health.body))
        .clone();
    assert_eq!(database["status"], "HEALTHY", "{database}");
    assert_eq!(database["critical"], true, "{database}");
    let ready = http_get(frontend.observer_addr, "/health/ready").expect("GET /health/ready");
    assert_eq!(ready.status, 200, "{}", ready.body);

    // SIGTERM: each drains and shuts its observer down, printing the report.
    for (name, service) in [("frontend", &mut frontend), ("backend", &mut backend)] {
        let (status, stdout) = service.terminate();
        assert!(
            status.success(),
            "{name} exited with {status}; stdout:\n{stdout}"
        );
        assert!(
            stdout.contains("spans recorded") && stdout.contains(" 0 dropped"),
            "{name}'s shutdown report: {stdout}"
        );
    }

    // frontend: /checkout (+ CLIENT), /fail, /; backend: /checkout.
    let expected = (CHECKOUT_SPANS + 1) + FAIL_SPANS + 1 + CHECKOUT_SPANS;
    receiver.wait_for_spans(expected, WAIT);
    assert!(rotel.terminate().is_some(), "rotel was not running");
    let spans = receiver.spans();
    assert_eq!(
        spans.len(),
        expected,
        "names: {:?}\nrotel:\n{}",
        common::names(&spans),
        rotel.logs()
    );
    let (front, back) = (
        of_service(&spans, "frontend"),
        of_service(&spans, "backend"),
    );
    assert_eq!(front.len() + back.len(), expected);

    // One trace: frontend SERVER → frontend CLIENT → backend SERVER → backend work.
    let front_server = the(&front, "GET /checkout");
    let client = the(&front, "GET");
    let back_server = the(&back, "GET /checkout");
    let trace_id = front_server.trace_id_hex();
    let in_trace: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id_hex() == trace_id)
        .collect();
    assert_eq!(
        in_trace.len(),
        2 * CHECKOUT_SPANS + 1,
        "one trace, both processes"
    );
    assert!(
        front_server.span.parent_span_id.is_empty(),
        "the frontend's request is a root"
    );
    assert_eq!(client.parent_span_id_hex(), front_server.span_id_hex());
    assert_eq!(client.trace_id_hex(), trace_id);
    assert_eq!(back_server.trace_id_hex(), trace_id);
    assert_eq!(
        back_server.parent_span_id_hex(),
        client.span_id_hex(),
        "the backend continues the frontend's CLIENT span"
    );
    for name in ["load_cart", "price_cart", "reserve_stock"] {
        assert_eq!(
            the(&back, name).parent_span_id_hex(),
            back_server.span_id_hex(),
            "{name}"
        );
        assert_eq!(
            the(&front, name).parent_span_id_hex(),
            front_server.span_id_hex(),
            "{name}"
        );
    }

    // Kinds and HTTP semantic-convention attributes.
    for server in [front_server, back_server] {
        assert_eq!(server.span.kind(), SpanKind::Server);
        assert_eq!(
            attr_str(server, "http.request.method").as_deref(),
            Some("GET")
        );
        assert_eq!(attr_str(server, "http.route").as_deref(), Some("/checkout"));
        assert_eq!(attr_str(server, "url.path").as_deref(), Some("/checkout"));
        assert_eq!(attr_i64(server, "http.response.status_code"), Some(200));
        assert_eq!(status(server), StatusCode::Unset);
    }
    assert_eq!(client.span.kind(), SpanKind::Client);
    assert_eq!(
        attr_str(client, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attr_str(client, "url.full"),
        Some(format!("{}/checkout", backend.url()))
    );
    assert_eq!(attr_i64(client, "http.response.status_code"), Some(200));

    // /fail: a 500, its SERVER span ERROR, the failing call below it too.
    let failed = the(&front, "GET /fail");
    assert_eq!(failed.span.kind(), SpanKind::Server);
    assert_eq!(status(failed), StatusCode::Error);
    assert_eq!(
        attr_str(failed, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(attr_str(failed, "http.route").as_deref(), Some("/fail"));
    assert_eq!(attr_str(failed, "url.path").as_deref(), Some("/fail"));
    assert_eq!(attr_i64(failed, "http.response.status_code"), Some(500));
    assert_eq!(attr_str(failed, "error.type").as_deref(), Some("500"));
    let charge = the(&front, "charge_card");
    assert_eq!(charge.parent_span_id_hex(), failed.span_id_hex());
    assert_eq!(status(charge), StatusCode::Error);
    assert!(
        charge.span.events.iter().any(|e| e.name == "exception"),
        "{:?}",
        charge.span.events
    );

    // `/` is a SERVER span of its own trace, not an error.
    let index = the(&front, "GET /");
    assert_eq!(index.span.kind(), SpanKind::Server);
    assert_eq!(status(index), StatusCode::Unset);
    assert_ne!(index.trace_id_hex(), trace_id);
}
