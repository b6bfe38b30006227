//! `tracing-opentelemetry`-style propagation code, unchanged but for the imports:
//! `opentelemetry::global::set_text_map_propagator(ObserverPropagator::new())`,
//! `opentelemetry-http`'s `HeaderExtractor` / `HeaderInjector` over an
//! `http::HeaderMap`, `span.set_parent(cx)` and `Span::current().context()`. Its own
//! binary with one test: building an observer installs its propagators process-wide.
#![cfg(feature = "opentelemetry")]

use opentelemetry::baggage::BaggageExt;
use opentelemetry::global;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use std::time::Duration;
use tracing_observer::export::InMemoryExporter;
use tracing_observer::otel::{current_context, ObserverPropagator};
use tracing_observer::{Observer, ObserverSpanExt};
use tracing_subscriber::prelude::*;

#[test]
fn global_propagator_with_opentelemetry_http_headers() {
    // Made before the observer: it follows the formats the observer installs.
    global::set_text_map_propagator(ObserverPropagator::new());
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .environment([("OTEL_PROPAGATORS", "b3multi,tracecontext,baggage")])
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();

    let mut incoming = http::HeaderMap::new();
    incoming.insert(
        "x-b3-traceid",
        "80f198ee56343ba864fe8b2a57d3eff7".parse().unwrap(),
    );
    incoming.insert("x-b3-spanid", "e457b5a2e4d86bd1".parse().unwrap());
    incoming.insert("x-b3-sampled", "1".parse().unwrap());
    incoming.insert("baggage", "tenant=acme".parse().unwrap());

    let subscriber = tracing_subscriber::registry().with(observer.layer());
    let (outgoing, own_span_id) = tracing::subscriber::with_default(subscriber, || {
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(&incoming)));
        assert!(parent.span().span_context().is_remote());
        let span = tracing::info_span!("request");
        assert!(span.set_parent(parent), "the parent took");
        let _entered = span.enter();
        let cx = tracing::Span::current().context();
        assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
        assert!(!cx.span().span_context().is_remote(), "a local span");
        assert_eq!(
            current_context().span().span_context(),
            cx.span().span_context()
        );
        let mut outgoing = http::HeaderMap::new();
        global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(&mut outgoing))
        });
        (outgoing, span.span_context().unwrap().span_id().to_string())
    });

    assert_eq!(outgoing["x-b3-traceid"], "80f198ee56343ba864fe8b2a57d3eff7");
    assert_eq!(outgoing["x-b3-spanid"], own_span_id.as_str());
    assert_eq!(outgoing["x-b3-sampled"], "1");
    assert_eq!(
        outgoing["traceparent"],
        format!("00-80f198ee56343ba864fe8b2a57d3eff7-{own_span_id}-01").as_str()
    );
    assert_eq!(outgoing["baggage"], "tenant=acme");
    assert_eq!(outgoing.len(), 5, "{outgoing:?}");

    let report = observer.shutdown(Duration::from_secs(5));
    assert!(report.is_complete(), "{report}");
    let spans = exporter.spans();
    assert_eq!(spans.len(), 1);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(&spans[0].trace_id), "80f198ee56343ba864fe8b2a57d3eff7");
    assert_eq!(hex(&spans[0].parent_span_id), "e457b5a2e4d86bd1");
    assert_eq!(hex(&spans[0].span_id), own_span_id);
}
