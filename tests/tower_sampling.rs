//! The server middleware under head sampling: a sampled-out request that answers
//! 5xx is still exported (the error rule keeps it), one that answers 2xx is not.
#![cfg(feature = "tower")]

use std::convert::Infallible;
use std::time::Duration;

use tokio::runtime::Runtime;
use tower::{service_fn, Layer, ServiceExt};
use tracing_observer::proto::common::v1::any_value::Value;
use tracing_observer::proto::trace::v1::status::StatusCode;
use tracing_observer::tower::TraceServerLayer;
use tracing_observer::{export::InMemoryExporter, Observer, Sampler};
use tracing_subscriber::prelude::*;

/// An observer that samples every trace out, exporting to `exporter`; its subscriber;
/// a runtime to drive the services.
fn sampled_out(exporter: &InMemoryExporter) -> (Observer, impl tracing::Subscriber, Runtime) {
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
        .sampler(Sampler::AlwaysOff)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    (observer, subscriber, runtime)
}

#[test]
fn a_sampled_out_5xx_is_kept_and_a_2xx_is_not() {
    let exporter = InMemoryExporter::new();
    let (observer, subscriber, runtime) = sampled_out(&exporter);
    tracing::subscriber::with_default(subscriber, || {
        let handler = service_fn(|request: http::Request<String>| async move {
            let status = if request.uri().path() == "/fail" {
                500
            } else {
                200
            };
            let response = http::Response::builder().status(status).body(String::new());
            Ok::<_, Infallible>(response.unwrap())
        });
        let service = TraceServerLayer::new().layer(handler);
        for path in ["/ok", "/fail", "/ok"] {
            let request = http::Request::builder().uri(path).body(String::new());
            let response = runtime
                .block_on(service.clone().oneshot(request.unwrap()))
                .unwrap();
            assert_eq!(response.status() == 500, path == "/fail");
        }
    });
    let report = observer.shutdown(Duration::from_secs(5));
    let spans = exporter.spans();
    assert_eq!(
        spans.len(),
        1,
        "only the failed request: {spans:#?} {report}"
    );
    let span = &spans[0];
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Error as i32);
    let attribute = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.clone())
    };
    // Recorded after the promotion, so present; the creation fields of a sampled-out
    // span (`url.path`, `http.request.method`) are not (a documented limitation).
    assert_eq!(
        attribute("http.response.status_code"),
        Some(Value::IntValue(500))
    );
    assert_eq!(
        attribute("observer.sampling.kept_by"),
        Some(Value::StringValue("error".into()))
    );
}

#[test]
fn a_sampled_out_caller_tells_the_next_service_not_to_record() {
    use tracing::Instrument as _;
    use tracing_observer::tower::TraceClientLayer;
    use tracing_observer::{ObserverSpanExt, SpanContext};
    let (observer, subscriber, runtime) = sampled_out(&InMemoryExporter::counting());
    tracing::subscriber::with_default(subscriber, || {
        // The "next service": answers with the traceparent it received.
        let next = service_fn(|request: http::Request<String>| async move {
            let header = request.headers().get("traceparent").cloned();
            let body = header.map(|h| h.to_str().unwrap().to_owned());
            Ok::<_, Infallible>(http::Response::new(body.unwrap_or_default()))
        });
        let client = TraceClientLayer::new().layer(next);
        let caller = tracing::info_span!("checkout");
        let caller_cx = caller.span_context().unwrap();
        let request = http::Request::builder()
            .uri("http://payments/charge")
            .body(String::new())
            .unwrap();
        let response = runtime
            .block_on(client.oneshot(request).instrument(caller.clone()))
            .unwrap();
        let sent = SpanContext::from_traceparent(response.body())
            .unwrap_or_else(|| panic!("no traceparent sent: {:?}", response.body()));
        assert!(!sent.is_sampled(), "{}", response.body());
        assert_eq!(sent.trace_id(), caller_cx.trace_id());
        assert_ne!(sent.span_id(), caller_cx.span_id(), "the CLIENT span's id");
    });
    observer.shutdown(Duration::from_secs(5));
}
