//! `ObserverBuilder::propagators` and `OTEL_PROPAGATORS` on a built observer. Its own
//! binary with one test: building any observer installs its propagators process-wide,
//! so no other test may build one meanwhile.

use std::error::Error;

#[test]
fn propagators() -> Result<(), Box<dyn Error>> {
    use tracing_observer::context::{propagators, Propagator};
    use tracing_observer::{export::InMemoryExporter, Observer, SpanContext};
    let _observer = Observer::builder()
        .environment([("OTEL_PROPAGATORS", "jaeger")])
        .exporter(InMemoryExporter::counting())
        .propagators([Propagator::B3Multi, Propagator::TraceContext])
        .build()?;
    assert_eq!(propagators().to_string(), "b3multi,tracecontext");
    let cx =
        SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .ok_or("valid")?;
    let mut headers = http::HeaderMap::new();
    tracing_observer::http::inject(&cx, &mut headers);
    assert_eq!(headers["x-b3-spanid"], "00f067aa0ba902b7");
    assert!(headers.contains_key("traceparent") && !headers.contains_key("uber-trace-id"));
    // The environment, when the builder does not set them.
    let _observer = Observer::builder()
        .environment([("OTEL_PROPAGATORS", "jaeger")])
        .exporter(InMemoryExporter::counting())
        .build()?;
    assert_eq!(propagators().to_string(), "jaeger");
    let err = Observer::builder()
        .environment([("OTEL_PROPAGATORS", "xray")])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("OTEL_PROPAGATORS"), "{err}");
    Ok(())
}
