use super::*;
use crate::ids::{SpanId, TraceId};
use crate::metrics::exemplars::Exemplar;
use crate::metrics::MetricsRegistry;
use metrics::{Label, Unit};

#[test]
fn accept_headers_that_ask_for_openmetrics() {
    // What Prometheus 2.x sends.
    assert!(accepted("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
    assert!(accepted(
        "text/plain, application/openmetrics-text; version=1.0.0"
    ));
    assert!(!accepted("text/plain;version=0.0.4"));
    assert!(!accepted("*/*"));
    assert!(!accepted("application/openmetrics-text;q=0"));
}

#[test]
fn counters_lose_total_in_their_family_name_and_buckets_carry_exemplars() {
    let registry = MetricsRegistry::new(&[("latency", &[1.0, 10.0])]);
    registry.describe_counter(
        "calls_total",
        Unit::Count,
        "Calls under span_name=\"other\".",
    );
    registry
        .counter("calls_total", vec![Label::new("op", "a")])
        .increment(2);
    registry.gauge("depth", vec![]).set(3.0);
    let labels = vec![Label::new("op", "a\"b")];
    registry.histogram("latency", labels).record(5.0);
    let series = registry.exemplars.series(
        "latency",
        vec![("op".to_owned(), "a\"b".to_owned())],
        &[1.0, 10.0],
    );
    series.record(Exemplar {
        trace_id: TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        span_id: SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        value: 5.0,
        unix_nanos: 1_700_000_000_250_000_000,
    });
    registry.upkeep();
    let text = from_prometheus(&registry.render(), &registry.exemplars);
    assert!(
        text.contains("# HELP calls Calls under span_name=\\\"other\\\".\n# TYPE calls counter\ncalls_total{op=\"a\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("# TYPE depth gauge\ndepth 3\n"), "{text}");
    assert!(
        text.contains("latency_bucket{op=\"a\\\"b\",le=\"10\"} 1 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 5 1700000000.250\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_bucket{op=\"a\\\"b\",le=\"1\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_bucket{op=\"a\\\"b\",le=\"+Inf\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("\n\n"), "no blank line: {text}");
    assert!(text.ends_with("\n# EOF\n"), "{text}");
}
