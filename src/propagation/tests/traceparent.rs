//! `traceparent` and `tracestate` parsing.

use super::super::*;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn parses_a_valid_header() {
    let cx = SpanContext::from_traceparent(VALID).unwrap();
    assert_eq!(
        cx.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(cx.span_id().to_string(), "00f067aa0ba902b7");
    assert!(cx.is_sampled());
    assert_eq!(cx.to_traceparent(), VALID);
}

#[test]
fn ignores_invalid_headers() {
    let cases = [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é1",
    ];
    for case in cases {
        assert_eq!(SpanContext::from_traceparent(case), None, "{case:?}");
    }
}

#[test]
fn accepts_future_versions_with_extra_fields() {
    let header = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future";
    let cx = SpanContext::from_traceparent(header).unwrap();
    assert!(!cx.is_sampled());
}

#[test]
fn bounds_trace_state() {
    let cx = SpanContext::from_traceparent(VALID).unwrap();
    assert_eq!(
        cx.clone()
            .with_trace_state("congo=t61rcWkgMzE")
            .trace_state(),
        Some("congo=t61rcWkgMzE")
    );
    assert_eq!(cx.with_trace_state(&"a".repeat(600)).trace_state(), None);
}
