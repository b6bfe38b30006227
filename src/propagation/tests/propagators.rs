//! `OTEL_PROPAGATORS`: parsing, extraction order, injection of every format.

use super::super::{Baggage, Propagator, Propagators, SpanContext};
use http::{HeaderMap, HeaderValue};
use tonic::metadata::MetadataMap;

const W3C: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const B3: &str = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";
const JAEGER: &str = "aaf198ee56343ba864fe8b2a57d3eff7:a457b5a2e4d86bd1:0:1";

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn set(text: &str) -> Propagators {
    text.parse().unwrap()
}

#[test]
fn parses_the_variable() {
    assert_eq!(set("tracecontext,baggage"), Propagators::default());
    assert_eq!(set(" b3 , jaeger,b3 ").to_string(), "b3,jaeger");
    assert_eq!(set("none"), Propagators::none());
    assert_eq!(Propagators::none().to_string(), "none");
    let all = set("tracecontext,baggage,b3,b3multi,jaeger");
    assert_eq!(all.iter().count(), 5);
    assert!(all.contains(Propagator::B3Multi));
    for bad in ["", ",", "xray", "b3,ottrace", "none,b3"] {
        assert!(bad.parse::<Propagators>().is_err(), "{bad:?}");
    }
}

#[test]
fn extraction_keeps_the_first_valid_context_in_order() {
    let map = headers(&[("traceparent", W3C), ("b3", B3), ("uber-trace-id", JAEGER)]);
    let trace = |text: &str| {
        set(text)
            .extract(&map)
            .context
            .map(|cx| cx.trace_id().to_string())
    };
    assert_eq!(trace("tracecontext,b3,jaeger").unwrap(), &W3C[3..35]);
    assert_eq!(trace("b3,tracecontext").unwrap(), &B3[..32]);
    assert_eq!(trace("jaeger,b3").unwrap(), &JAEGER[..32]);
    assert_eq!(trace("baggage"), None);
    assert_eq!(trace("none"), None);
    // An invalid first format falls through to the next.
    let broken = headers(&[("traceparent", "garbage"), ("b3", B3)]);
    let cx = set("tracecontext,b3multi")
        .extract(&broken)
        .context
        .unwrap();
    assert_eq!(
        cx.trace_id().to_string(),
        &B3[..32],
        "b3multi reads the single header too"
    );
}

#[test]
fn b3_reads_the_multi_headers_and_refuses_repeats() {
    let multi = headers(&[
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
        ("x-b3-spanid", "e457b5a2e4d86bd1"),
        ("x-b3-sampled", "1"),
        ("x-b3-parentspanid", "05e3ac9a4f6e3b90"),
    ]);
    let cx = set("b3").extract(&multi).context.unwrap();
    assert!(cx.is_sampled());
    assert_eq!(cx.span_id().to_string(), "e457b5a2e4d86bd1");
    let mut twice = multi.clone();
    twice.append("x-b3-spanid", HeaderValue::from_static("e457b5a2e4d86bd2"));
    assert!(set("b3multi").extract(&twice).context.is_none());
    let two_singles = headers(&[("b3", B3), ("b3", B3)]);
    assert!(set("b3").extract(&two_singles).context.is_none());
    let two_jaeger = headers(&[("uber-trace-id", JAEGER), ("uber-trace-id", JAEGER)]);
    assert!(set("jaeger").extract(&two_jaeger).context.is_none());
}

#[test]
fn baggage_of_every_format_is_merged() {
    let map = headers(&[
        ("traceparent", W3C),
        ("baggage", "tenant=acme,region=eu"),
        ("uber-trace-id", JAEGER),
        ("uberctx-region", "us%20east"),
        ("uberctx-user", "bob"),
    ]);
    let mut map = map;
    // A value that is not visible ASCII is skipped.
    map.insert("uberctx-binary", HeaderValue::from_bytes(b"\xff").unwrap());
    let found = set("tracecontext,baggage,jaeger").extract(&map);
    let baggage = found.baggage.unwrap();
    assert_eq!(baggage.get("tenant"), Some("acme"));
    assert_eq!(
        baggage.get("region"),
        Some("us east"),
        "the later format wins"
    );
    assert_eq!(baggage.get("user"), Some("bob"));
    assert_eq!(baggage.len(), 3);
    let baggage = set("tracecontext").extract(&map).baggage;
    assert!(baggage.is_none(), "no baggage format configured");
    // Baggage without a trace context is still found.
    let alone = headers(&[("baggage", "tenant=acme")]);
    let found = set("tracecontext,baggage").extract(&alone);
    assert!(found.context.is_none());
    assert_eq!(found.baggage.unwrap().get("tenant"), Some("acme"));
}

#[test]
fn hostile_baggage_is_refused() {
    let huge = "k=v,".repeat(5000);
    let map = headers(&[("traceparent", W3C), ("baggage", &huge)]);
    let found = set("tracecontext,baggage").extract(&map);
    assert!(found.context.is_some(), "the trace context is kept");
    assert!(found.baggage.is_none());
    let mut many = headers(&[("uber-trace-id", JAEGER)]);
    for i in 0..500 {
        let name = http::HeaderName::try_from(format!("uberctx-k{i}")).unwrap();
        many.insert(name, HeaderValue::from_static("v"));
    }
    let baggage = set("jaeger").extract(&many).baggage.unwrap();
    assert!(baggage.len() <= Baggage::MAX_ENTRIES);
}

#[test]
fn injection_writes_every_format() {
    let cx = SpanContext::from_traceparent(W3C)
        .unwrap()
        .with_trace_state("congo=t61rcWkgMzE")
        .with_baggage(Baggage::from_header("tenant=acme,note=a%20b"));
    let mut map = HeaderMap::new();
    set("tracecontext,baggage,b3,b3multi,jaeger").inject(&cx, &mut map);
    let get = |name: &str| map.get(name).map(|v| v.to_str().unwrap().to_owned());
    let (trace, span) = (&W3C[3..35], &W3C[36..52]);
    assert_eq!(get("traceparent").unwrap(), W3C);
    assert_eq!(get("tracestate").unwrap(), "congo=t61rcWkgMzE");
    assert_eq!(get("baggage").unwrap(), "tenant=acme,note=a%20b");
    assert_eq!(get("b3").unwrap(), format!("{trace}-{span}-1"));
    assert_eq!(get("x-b3-traceid").unwrap(), trace);
    assert_eq!(get("x-b3-spanid").unwrap(), span);
    assert_eq!(get("x-b3-sampled").unwrap(), "1");
    assert_eq!(
        get("uber-trace-id").unwrap(),
        format!("{trace}:{span}:0:01")
    );
    assert_eq!(get("uberctx-tenant").unwrap(), "acme");
    assert_eq!(get("uberctx-note").unwrap(), "a%20b");
    // What was injected is read back the same by every format.
    for text in ["tracecontext,baggage", "b3", "b3multi", "jaeger"] {
        let back = set(text).extract(&map);
        let back = back.context.unwrap();
        assert_eq!(
            (back.trace_id(), back.span_id()),
            (cx.trace_id(), cx.span_id()),
            "{text}"
        );
        assert!(back.is_sampled());
    }
    let found = set("jaeger").extract(&map).baggage.unwrap();
    assert_eq!(found.get("note"), Some("a b"));
}

#[test]
fn injection_removes_stale_state_and_baggage() {
    let mut map = headers(&[("tracestate", "stale=1"), ("baggage", "stale=1")]);
    let cx = SpanContext::from_traceparent(W3C).unwrap();
    Propagators::default().inject(&cx, &mut map);
    assert!(map.get("tracestate").is_none() && map.get("baggage").is_none());
    let mut untouched = HeaderMap::new();
    Propagators::none().inject(&cx, &mut untouched);
    assert!(untouched.is_empty());
}

#[test]
fn metadata_carries_every_format() {
    let cx = SpanContext::from_traceparent(W3C)
        .unwrap()
        .with_baggage(Baggage::from_header("tenant=acme"));
    let all = set("b3multi,jaeger,baggage");
    let mut metadata = MetadataMap::new();
    all.inject(&cx, &mut metadata);
    assert_eq!(metadata.get("uberctx-tenant").unwrap(), "acme");
    let found = all.extract(&metadata);
    assert_eq!(found.context.unwrap().trace_id(), cx.trace_id());
    assert_eq!(found.baggage.unwrap().get("tenant"), Some("acme"));
}
