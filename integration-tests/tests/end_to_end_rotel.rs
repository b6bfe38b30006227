//! End to end through a real collector: an instrumented program exports to the
//! `rotel` agent (over OTLP/gRPC and over OTLP/HTTP-protobuf), which forwards to
//! the in-process receiver. What arrives downstream is exactly the program's
//! spans, with their parentage, the failure and its exception event, the
//! follows-from link and the resource; the shutdown report accounts for every span.
//!
//! Needs `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`).

mod common;

use std::error::Error;
use std::fmt;

use common::{attr_str_array, builder, events_named, observe, only, WAIT};
use integration_tests::{attr_i64, attr_str, resource_attr_str, OtlpReceiver, Rotel};
use tracing_observer::config::Protocol;
use tracing_observer::proto::trace::v1::status::StatusCode;

const SERVICE: &str = "checkout-e2e";
const VERSION: &str = "1.2.3";

/// An error with a `source()`.
#[derive(Debug)]
struct PaymentError {
    source: std::io::Error,
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment declined")
    }
}

impl Error for PaymentError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[tracing::instrument]
fn checkout(order: u64) {
    let items = load_cart(order);
    if charge(order, items).is_err() {
        tracing::info!("checkout aborted");
    }
}

#[tracing::instrument]
fn load_cart(order: u64) -> usize {
    for item in 0..2 {
        price_item(item);
    }
    2
}

#[tracing::instrument]
fn price_item(item: usize) {
    tracing::debug!(item, "priced");
}

#[tracing::instrument(err)]
fn charge(order: u64, items: usize) -> Result<(), PaymentError> {
    let err = PaymentError {
        source: std::io::Error::other("card reader offline"),
    };
    // `#[instrument(err)]` records the error as text (`error = %e`), which has no
    // `source()`; recording the error value itself keeps the chain.
    tracing::warn!(error = &err as &dyn Error, "charge failed");
    Err(err)
}

/// The program: 7 spans, one failure, one link.
fn program() {
    let request = tracing::info_span!("request", order = 7_u64);
    request.in_scope(|| checkout(7));
    let receipt = tracing::info_span!("send_receipt");
    receipt.follows_from(&request);
    receipt.in_scope(|| tracing::info!("receipt sent"));
}

const PROGRAM_SPANS: usize = 7;

fn run_through_rotel(protocol: Protocol) {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let endpoint = match protocol {
        Protocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let observer = builder()
        .environment([(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=e2e,team=observability",
        )])
        .service_name(SERVICE)
        .service_version(VERSION)
        .endpoint(endpoint)
        .protocol(protocol)
        .build()
        .expect("observer builds");

    observe(&observer, program);
    let report = observer.shutdown(common::SHUTDOWN);

    // The report: everything recorded was exported to the collector.
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.stats.recorded, PROGRAM_SPANS as u64, "{report}");
    assert_eq!(report.stats.exported, report.stats.recorded, "{report}");
    assert_eq!(report.stats.dropped.total(), 0, "{report}");
    assert_eq!(report.stats.pending, 0, "{report}");
    assert!(report.is_complete(), "{report}");

    // Downstream: wait for the forwarded spans, then stop rotel gracefully (it
    // flushes what it holds) so that the count below is final.
    let arrived = receiver.wait_for_spans(PROGRAM_SPANS, WAIT).len();
    assert!(rotel.terminate().is_some(), "rotel was not running");
    let spans = receiver.spans();
    assert_eq!(
        spans.len(),
        PROGRAM_SPANS,
        "{arrived} spans had arrived before rotel stopped; names: {:?}\nrotel output:\n{}",
        common::names(&spans),
        rotel.logs()
    );

    // Parentage: one trace for the request, ids consistent.
    let request = only(&spans, "request");
    let checkout = only(&spans, "checkout");
    let load_cart = only(&spans, "load_cart");
    let charge = only(&spans, "charge");
    let receipt = only(&spans, "send_receipt");
    let prices: Vec<_> = spans.iter().filter(|s| s.name() == "price_item").collect();
    assert_eq!(prices.len(), 2);

    assert!(request.span.parent_span_id.is_empty(), "request is a root");
    assert_eq!(request.span.trace_id.len(), 16);
    assert_eq!(request.span.span_id.len(), 8);
    let parent_of = [
        (checkout, request),
        (load_cart, checkout),
        (prices[0], load_cart),
        (prices[1], load_cart),
        (charge, checkout),
    ];
    for (child, parent) in parent_of {
        assert_eq!(
            child.span.parent_span_id,
            parent.span.span_id,
            "{} should be a child of {}",
            child.name(),
            parent.name()
        );
        assert_eq!(
            child.span.trace_id,
            request.span.trace_id,
            "{}",
            child.name()
        );
    }
    let mut ids: Vec<_> = spans.iter().map(|s| s.span.span_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), PROGRAM_SPANS, "span ids are unique");
    assert_eq!(attr_i64(checkout, "order"), Some(7));

    // The follows-from link: a new trace that points at the request.
    assert!(receipt.span.parent_span_id.is_empty());
    assert_ne!(receipt.span.trace_id, request.span.trace_id);
    assert_eq!(receipt.span.links.len(), 1);
    let link = &receipt.span.links[0];
    assert_eq!(link.trace_id, request.span.trace_id);
    assert_eq!(link.span_id, request.span.span_id);

    // The failure.
    let status = charge.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, StatusCode::Error as i32, "{status:?}");
    let exceptions = events_named(charge, "exception");
    assert_eq!(exceptions.len(), 2, "{:?}", charge.span.events);
    for exception in &exceptions {
        assert_eq!(
            attr_str(*exception, "exception.type").as_deref(),
            Some(module_path!())
        );
        assert_eq!(
            attr_str(*exception, "exception.message").as_deref(),
            Some("payment declined")
        );
    }
    let chains: Vec<_> = exceptions
        .iter()
        .filter_map(|e| attr_str_array(*e, "exception.source_chain"))
        .collect();
    assert_eq!(chains, vec![vec!["card reader offline".to_owned()]]);
    for span in [request, checkout, load_cart, prices[0], receipt] {
        let code = span.span.status.as_ref().map_or(0, |s| s.code);
        assert_ne!(code, StatusCode::Error as i32, "{} failed", span.name());
    }

    // The resource.
    for span in &spans {
        let resource = |key| resource_attr_str(span, key);
        assert_eq!(resource("service.name").as_deref(), Some(SERVICE));
        assert_eq!(resource("service.version").as_deref(), Some(VERSION));
        assert!(resource("service.instance.id").is_some_and(|id| !id.is_empty()));
        assert_eq!(
            resource("telemetry.sdk.name").as_deref(),
            Some("tracing-observer")
        );
        assert_eq!(resource("telemetry.sdk.language").as_deref(), Some("rust"));
        assert!(resource("telemetry.sdk.version").is_some_and(|v| v.contains('.')));
        assert_eq!(
            resource("deployment.environment.name").as_deref(),
            Some("e2e")
        );
        assert_eq!(resource("team").as_deref(), Some("observability"));
    }
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn through_rotel_over_grpc() {
    run_through_rotel(Protocol::Grpc);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn through_rotel_over_http_protobuf() {
    run_through_rotel(Protocol::HttpProtobuf);
}
