//! Baggage in a running observer: it reaches the application, travels to calls made
//! inside the span (recorded or sampled out), the chosen keys become attributes of
//! the span it arrives with, and the tower layers carry it.

use std::time::Duration;
use tracing_observer::context::Baggage;
use tracing_observer::proto::common::v1::any_value::Value;
use tracing_observer::proto::trace::v1::Span;
use tracing_observer::{export::InMemoryExporter, Observer, ObserverSpanExt, Sampler, SpanContext};
use tracing_subscriber::prelude::*;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn observer(exporter: &InMemoryExporter, sampler: Sampler) -> Observer {
    Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
        .sampler(sampler)
        .baggage_attributes(["tenant", "password"])
        .exporter(exporter.clone())
        .build()
        .unwrap()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key == key).map(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => s.clone(),
            other => format!("{other:?}"),
        }
    })
}

#[test]
fn incoming_baggage_reaches_the_application_and_travels_downstream() {
    let exporter = InMemoryExporter::new();
    let observer = observer(&exporter, Sampler::AlwaysOn);
    let remote = SpanContext::from_traceparent(PARENT)
        .unwrap()
        .with_baggage(Baggage::from_header("tenant=acme,password=hunter2,other=x"));
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            let request = tracing::info_span!("request");
            assert!(request.set_parent(&remote));
            request.in_scope(|| {
                let baggage = tracing_observer::context::baggage().expect("in the request");
                assert_eq!(baggage.get("tenant"), Some("acme"));
                let call = tracing::info_span!("call");
                let cx = call.span_context().unwrap();
                assert_eq!(cx.trace_id(), remote.trace_id());
                let mut headers = http::HeaderMap::new();
                tracing_observer::http::inject(&cx, &mut headers);
                assert_eq!(headers["baggage"], "tenant=acme,password=hunter2,other=x");
                // The application adds an entry for the calls it makes from here.
                let mut more = call.baggage().unwrap();
                more.insert("step", "2").unwrap();
                assert!(call.set_baggage(more));
                let inner = call.in_scope(|| tracing::info_span!("inner"));
                assert_eq!(inner.baggage().unwrap().get("step"), Some("2"));
                assert_eq!(request.baggage().unwrap().get("step"), None);
            });
        },
    );
    observer.shutdown(Duration::from_secs(5));
    let spans = exporter.spans();
    let request = spans.iter().find(|s| s.name == "request").unwrap();
    assert_eq!(attribute(request, "tenant").as_deref(), Some("acme"));
    assert_eq!(
        attribute(request, "password").as_deref(),
        Some("[REDACTED]"),
        "the field policy applies"
    );
    assert_eq!(attribute(request, "other"), None, "not chosen");
    let call = spans.iter().find(|s| s.name == "call").unwrap();
    assert_eq!(
        attribute(call, "tenant").as_deref(),
        Some("acme"),
        "set_baggage records too"
    );
    let inner = spans.iter().find(|s| s.name == "inner").unwrap();
    assert_eq!(attribute(inner, "tenant"), None, "only where it arrives");
}

#[test]
fn sampled_out_spans_carry_baggage_too() {
    let exporter = InMemoryExporter::new();
    let observer = observer(&exporter, Sampler::AlwaysOff);
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            let job = tracing::info_span!("job");
            assert!(job.set_baggage(Baggage::from_header("tenant=acme")));
            let call = job.in_scope(|| tracing::info_span!("call"));
            let cx = call.span_context().unwrap();
            assert!(!cx.is_sampled());
            assert_eq!(cx.baggage().unwrap().get("tenant"), Some("acme"));
            // An error promotes the chain: the job's record keeps the baggage.
            call.in_scope(|| tracing::error!("failed"));
            let promoted = call.span_context().unwrap();
            assert!(promoted.is_sampled());
            assert_eq!(promoted.baggage().unwrap().get("tenant"), Some("acme"));
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert_eq!(exporter.spans().len(), 2, "{:#?}", exporter.spans());
}

#[test]
fn no_observer_no_baggage() {
    let span = tracing::info_span!("plain");
    assert!(!span.set_baggage(Baggage::from_header("tenant=acme")));
    assert_eq!(span.baggage(), None);
}

#[cfg(feature = "tower")]
#[test]
fn the_tower_layers_carry_baggage() {
    use tower::{service_fn, Layer, ServiceExt};
    use tracing_observer::tower::{TraceClientLayer, TraceServerLayer};

    let exporter = InMemoryExporter::new();
    let observer = observer(&exporter, Sampler::AlwaysOn);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            // The handler calls a downstream service through the client layer.
            let handler = service_fn(|_: http::Request<()>| async {
                let seen = tracing_observer::context::baggage().unwrap();
                let client = TraceClientLayer::new().layer(service_fn(
                    |request: http::Request<()>| async move {
                        let sent = request.headers()["baggage"].to_str().unwrap().to_owned();
                        Ok::<_, std::convert::Infallible>(http::Response::new(sent))
                    },
                ));
                let sent = client.oneshot(http::Request::new(())).await?;
                assert_eq!(seen.get("tenant"), Some("acme"));
                Ok::<_, std::convert::Infallible>(http::Response::new(sent.into_body()))
            });
            let server = TraceServerLayer::new().layer(handler);
            // Baggage without a trace context still arrives.
            let request = http::Request::builder()
                .header("baggage", "tenant=acme")
                .body(())
                .unwrap();
            let response = runtime.block_on(server.oneshot(request)).unwrap();
            assert_eq!(response.body(), "tenant=acme");
        },
    );
    observer.shutdown(Duration::from_secs(5));
    let spans = exporter.spans();
    let server = spans.iter().find(|s| s.kind == 2).expect("a SERVER span");
    assert_eq!(attribute(server, "tenant").as_deref(), Some("acme"));
}
