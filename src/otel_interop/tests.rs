use crate::context::{Baggage, Propagators};
use crate::otel_interop::{InvalidSpanContext, ObserverPropagator};
use crate::SpanContext;
use opentelemetry::baggage::{Baggage as OtelBaggage, BaggageExt};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    SpanContext as OtelSpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use std::collections::HashMap;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn ours() -> SpanContext {
    SpanContext::from_traceparent(TRACEPARENT).unwrap()
}

fn fixed(propagators: &str) -> ObserverPropagator {
    ObserverPropagator::with_propagators(propagators.parse::<Propagators>().unwrap())
}

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn span_context_converts_both_ways_with_flags_and_state() {
    for flags in [0x00, 0x01, 0x03] {
        let cx = ours()
            .with_trace_flags(flags)
            .with_trace_state("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        let otel = OtelSpanContext::from(&cx);
        assert_eq!(
            otel.trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        assert_eq!(
            otel.span_id(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap()
        );
        assert_eq!(otel.trace_flags().to_u8(), flags);
        assert_eq!(otel.is_sampled(), flags & 1 == 1);
        assert!(otel.is_remote(), "a SpanContext is the far side's");
        assert_eq!(otel.trace_state().get("rojo"), Some("00f067aa0ba902b7"));
        assert_eq!(SpanContext::try_from(&otel), Ok(cx.clone()));
        assert_eq!(SpanContext::try_from(otel), Ok(cx));
    }
}

#[test]
fn a_local_otel_span_context_converts_too() {
    let otel = OtelSpanContext::new(
        TraceId::from(7),
        SpanId::from(9),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let cx = SpanContext::try_from(&otel).unwrap();
    assert_eq!(cx.trace_id().to_u128(), 7);
    assert_eq!(cx.span_id().to_u64(), 9);
    assert_eq!(cx.trace_state(), None);
}

#[test]
fn invalid_otel_contexts_are_refused() {
    assert_eq!(
        SpanContext::try_from(&OtelSpanContext::NONE),
        Err(InvalidSpanContext)
    );
    let zero_span = OtelSpanContext::new(
        TraceId::from(7),
        SpanId::INVALID,
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    assert_eq!(SpanContext::try_from(&zero_span), Err(InvalidSpanContext));
    assert_eq!(
        SpanContext::try_from(&Context::new()),
        Err(InvalidSpanContext)
    );
    let baggage_only = Context::new().with_baggage([KeyValue::new("tenant", "acme")]);
    assert_eq!(
        SpanContext::try_from(&baggage_only),
        Err(InvalidSpanContext)
    );
}

#[test]
fn a_tracestate_opentelemetry_refuses_is_dropped() {
    // Valid for this crate (printable, short), not a valid W3C list for `opentelemetry`.
    let cx = ours().with_trace_state("not a list");
    assert_eq!(cx.trace_state(), Some("not a list"));
    assert_eq!(OtelSpanContext::from(&cx).trace_state(), &TraceState::NONE);
}

#[test]
fn context_carries_span_and_baggage_both_ways() {
    let cx = ours().with_baggage(Baggage::from_header("tenant=acme;ttl=60,region=eu"));
    let otel = Context::from(&cx);
    assert_eq!(otel.span().span_context(), &OtelSpanContext::from(&cx));
    assert_eq!(otel.baggage().len(), 2);
    let (value, metadata) = otel.baggage().get_with_metadata("tenant").unwrap();
    assert_eq!((value.as_str(), metadata.as_str()), ("acme", "ttl=60"));
    let back = SpanContext::try_from(&otel).unwrap();
    assert_eq!(back.trace_id(), cx.trace_id());
    assert_eq!(back.span_id(), cx.span_id());
    // Sorted by key: the opentelemetry baggage has no order.
    assert_eq!(
        back.baggage().unwrap().to_header(),
        "region=eu,tenant=acme;ttl=60"
    );
    assert_eq!(Context::from(&ours()).baggage().len(), 0);
}

#[test]
fn baggage_converts_within_each_side_s_limits() {
    let mut many = Baggage::new();
    for i in 0..100 {
        many.insert(format!("k{i:03}"), "v").unwrap();
    }
    let otel = OtelBaggage::from(&many);
    assert_eq!(otel.len(), 64, "opentelemetry keeps 64 entries");
    assert!(otel.get("k000").is_some() && otel.get("k063").is_some());

    let mut theirs = OtelBaggage::new();
    theirs.insert_with_metadata("fine", "a b,c", "p=1;flag");
    theirs.insert_with_metadata("bad-metadata", "v", "p=\"quoted\"");
    let back = Baggage::from(&theirs);
    assert_eq!(back.len(), 1, "malformed properties are refused: {back:?}");
    assert_eq!(back.get("fine"), Some("a b,c"));
    assert_eq!(back.to_header(), "fine=a%20b%2Cc;p=1;flag");
}

#[test]
fn extracts_each_format_as_a_remote_span() {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        (
            "tracecontext",
            &[
                ("traceparent", TRACEPARENT),
                ("tracestate", "congo=t61rcWkgMzE"),
            ],
        ),
        (
            "b3",
            &[("b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")],
        ),
        (
            "b3multi",
            &[
                ("x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736"),
                ("x-b3-spanid", "00f067aa0ba902b7"),
                ("x-b3-sampled", "1"),
            ],
        ),
        (
            "jaeger",
            &[(
                "uber-trace-id",
                "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
            )],
        ),
    ];
    for (format, carrier) in cases {
        let cx = fixed(format).extract(&headers(carrier));
        let span = cx.span().span_context().clone();
        assert!(
            span.is_valid() && span.is_remote() && span.is_sampled(),
            "{format}"
        );
        assert_eq!(
            SpanContext::try_from(&span).unwrap().trace_id(),
            ours().trace_id()
        );
        assert_eq!(
            span.span_id(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            "{format}"
        );
    }
}

#[test]
fn extraction_merges_baggage_and_keeps_the_given_context_otherwise() {
    let carrier = headers(&[
        ("traceparent", TRACEPARENT),
        ("baggage", "tenant=acme"),
        ("uberctx-region", "eu%2Dwest"),
    ]);
    let cx = fixed("tracecontext,baggage,jaeger").extract(&carrier);
    assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
    assert_eq!(
        cx.baggage().get("region").map(|v| v.as_str()),
        Some("eu-west")
    );

    #[derive(Debug, PartialEq)]
    struct Marker(u8);
    let given = Context::new()
        .with_value(Marker(7))
        .with_baggage([KeyValue::new("kept", "yes")]);
    let unchanged = fixed("tracecontext,baggage").extract_with_context(&given, &headers(&[]));
    assert_eq!(unchanged.get::<Marker>(), Some(&Marker(7)));
    assert!(!unchanged.span().span_context().is_valid());
    assert_eq!(
        unchanged.baggage().get("kept").map(|v| v.as_str()),
        Some("yes")
    );

    let invalid = headers(&[(
        "traceparent",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    )]);
    let cx = fixed("tracecontext").extract(&invalid);
    assert!(
        !cx.span().span_context().is_valid(),
        "invalid headers are ignored"
    );
}

#[test]
fn injects_the_context_s_span_in_every_format() {
    let cx = Context::from(&ours().with_trace_state("congo=t61rcWkgMzE"))
        .with_baggage([KeyValue::new("tenant", "acme")]);
    let mut carrier = HashMap::new();
    fixed("tracecontext,baggage,b3,b3multi,jaeger").inject_context(&cx, &mut carrier);
    assert_eq!(carrier["traceparent"], TRACEPARENT);
    assert_eq!(carrier["tracestate"], "congo=t61rcWkgMzE");
    assert_eq!(carrier["baggage"], "tenant=acme");
    assert_eq!(
        carrier["b3"],
        "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"
    );
    assert_eq!(carrier["x-b3-traceid"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(carrier["x-b3-spanid"], "00f067aa0ba902b7");
    assert_eq!(carrier["x-b3-sampled"], "1");
    assert_eq!(
        carrier["uber-trace-id"],
        "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:01"
    );
    assert_eq!(carrier["uberctx-tenant"], "acme");
    assert_eq!(carrier.len(), 9, "{carrier:?}");
}

#[test]
fn a_context_without_a_span_injects_its_baggage_alone() {
    let cx = Context::new().with_baggage([KeyValue::new("tenant", "acme")]);
    let mut carrier = HashMap::new();
    fixed("tracecontext,baggage,jaeger").inject_context(&cx, &mut carrier);
    assert_eq!(carrier, headers(&[("baggage", "tenant=acme")]));
    let mut carrier = HashMap::new();
    fixed("tracecontext,baggage").inject_context(&Context::new(), &mut carrier);
    assert!(carrier.is_empty());
}

#[test]
fn fields_are_the_injected_headers() {
    let w3c = fixed("tracecontext,baggage");
    let fields: Vec<&str> = w3c.fields().collect();
    assert_eq!(fields, ["traceparent", "tracestate", "baggage"]);
    assert_eq!(fixed("none").fields().count(), 0);
    let every = ObserverPropagator::new();
    let all: Vec<&str> = every.fields().collect();
    for name in [
        "traceparent",
        "baggage",
        "b3",
        "x-b3-sampled",
        "uber-trace-id",
    ] {
        assert!(all.contains(&name), "{name} in {all:?}");
    }
}

/// Both directions against the `opentelemetry_sdk` W3C propagators.
#[test]
fn interoperates_with_the_sdk_w3c_propagators() {
    let ours_p = fixed("tracecontext,baggage");
    let sent = Context::from(&ours().with_trace_state("congo=t61rcWkgMzE"))
        .with_baggage([KeyValue::new("tenant", "acme corp")]);

    let mut carrier = HashMap::new();
    ours_p.inject_context(&sent, &mut carrier);
    let theirs_tc = TraceContextPropagator::new().extract(&carrier);
    let theirs = BaggagePropagator::new().extract_with_context(&theirs_tc, &carrier);
    assert_eq!(theirs.span().span_context(), sent.span().span_context());
    assert_eq!(
        theirs.baggage().get("tenant").map(|v| v.as_str()),
        Some("acme corp")
    );

    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&sent, &mut carrier);
    BaggagePropagator::new().inject_context(&sent, &mut carrier);
    let back = ours_p.extract(&carrier);
    assert_eq!(back.span().span_context(), sent.span().span_context());
    assert_eq!(
        back.baggage().get("tenant").map(|v| v.as_str()),
        Some("acme corp")
    );
}

#[test]
fn set_parent_takes_an_opentelemetry_context_as_tracing_opentelemetry_does() {
    use crate::{export::InMemoryExporter, ObserverSpanExt};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = crate::Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        let parent = Context::from(&ours()).with_baggage([KeyValue::new("tenant", "acme")]);
        let by_ref = tracing::info_span!("by_ref");
        assert!(by_ref.set_parent(&parent));
        assert_eq!(by_ref.span_context().unwrap().trace_id(), ours().trace_id());
        assert_eq!(by_ref.baggage().unwrap().get("tenant"), Some("acme"));
        let local = by_ref.context();
        assert_eq!(
            local.span().span_context().span_id().to_bytes(),
            by_ref.span_context().unwrap().span_id().to_bytes()
        );
        assert_eq!(
            local.baggage().get("tenant").map(|v| v.as_str()),
            Some("acme")
        );

        let baggage_only = tracing::info_span!("baggage_only");
        let cx = Context::new().with_baggage([KeyValue::new("region", "eu")]);
        assert!(!baggage_only.set_parent(cx), "no span context, no parent");
        assert_ne!(
            baggage_only.span_context().unwrap().trace_id(),
            ours().trace_id()
        );
        assert_eq!(baggage_only.baggage().unwrap().get("region"), Some("eu"));
    });
    let outside = tracing::info_span!("unobserved");
    assert!(!outside.set_parent(Context::from(&ours())));
    assert!(!outside.context().span().span_context().is_valid());
    let report = observer.shutdown(std::time::Duration::from_secs(5));
    assert!(report.is_complete(), "{report}");
    let spans = exporter.spans();
    let by_ref = spans.iter().find(|s| s.name == "by_ref").unwrap();
    assert_eq!(by_ref.parent_span_id, ours().span_id().to_bytes());
    assert_eq!(by_ref.trace_id, ours().trace_id().to_bytes());
}
