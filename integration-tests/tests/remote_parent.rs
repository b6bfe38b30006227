//! Continuing a trace started in another process (W3C trace context): a
//! `traceparent` field or `ObserverSpanExt::set_parent` gives the exported span
//! the caller's trace id and parent span id and marks the parent remote (flag
//! 0x200); children inherit the trace with a local parent; `tracestate` is
//! carried; an invalid header starts a fresh trace.

mod common;

use common::{observe, observer_for, only, shutdown_complete};
use integration_tests::{OtlpReceiver, ReceivedSpan};
use tracing_observer::{ObserverSpanExt, SpanContext};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// OTLP span flags: the is-remote bit is meaningful / the parent is remote.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;
/// W3C trace flags occupy the low byte; 0x01 = sampled.
const SAMPLED: u32 = 0x01;

fn assert_remote_child(span: &ReceivedSpan) {
    assert_eq!(span.trace_id_hex(), TRACE_ID, "{}", span.name());
    assert_eq!(span.parent_span_id_hex(), PARENT_ID, "{}", span.name());
    assert_eq!(
        span.span.flags & (HAS_IS_REMOTE | IS_REMOTE),
        HAS_IS_REMOTE | IS_REMOTE,
        "flags {:#x}",
        span.span.flags
    );
    assert_eq!(
        span.span.flags & 0xff,
        SAMPLED,
        "flags {:#x}",
        span.span.flags
    );
}

fn assert_local_child(child: &ReceivedSpan, parent: &ReceivedSpan) {
    assert_eq!(child.trace_id_hex(), TRACE_ID, "{}", child.name());
    assert_eq!(child.span.parent_span_id, parent.span.span_id);
    assert_eq!(
        child.span.flags & (HAS_IS_REMOTE | IS_REMOTE),
        HAS_IS_REMOTE,
        "{} has a local parent; flags {:#x}",
        child.name(),
        child.span.flags
    );
    assert_eq!(child.span.flags & 0xff, SAMPLED);
}

#[test]
fn traceparent_field_continues_the_remote_trace() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let seen = observe(&observer, || {
        let request = tracing::info_span!("request", traceparent = TRACEPARENT);
        request.in_scope(|| {
            tracing::info_span!("child").in_scope(|| {
                tracing::info_span!("grandchild").in_scope(|| {});
            });
        });
        request.span_context().expect("recorded")
    });
    shutdown_complete(&observer);

    assert_eq!(seen.trace_id().to_string(), TRACE_ID);
    assert_ne!(seen.span_id().to_string(), PARENT_ID, "a new span id");
    let spans = receiver.spans();
    assert_eq!(spans.len(), 3);
    let request = only(&spans, "request");
    let child = only(&spans, "child");
    assert_remote_child(request);
    assert_eq!(request.span_id_hex(), seen.span_id().to_string());
    assert_local_child(child, request);
    assert_local_child(only(&spans, "grandchild"), child);
}

#[test]
fn set_parent_continues_the_remote_trace() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let remote = SpanContext::from_traceparent(TRACEPARENT).expect("valid header");
    observe(&observer, || {
        let request = tracing::info_span!("request");
        assert!(request.set_parent(&remote), "set_parent took effect");
        assert_eq!(
            request.span_context().map(|cx| cx.trace_id()),
            Some(remote.trace_id())
        );
        request.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 2);
    let request = only(&spans, "request");
    assert_remote_child(request);
    assert_local_child(only(&spans, "child"), request);
}

#[test]
fn instrumented_fn_with_traceparent_field() {
    #[tracing::instrument(fields(traceparent = header))]
    fn handle(header: &str) {
        tracing::info_span!("inner").in_scope(|| {});
    }

    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || handle(TRACEPARENT));
    shutdown_complete(&observer);

    let spans = receiver.spans();
    let handle = only(&spans, "handle");
    assert_remote_child(handle);
    assert_local_child(only(&spans, "inner"), handle);
}

#[test]
fn tracestate_is_carried_to_the_trace() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        let request = tracing::info_span!(
            "request",
            traceparent = TRACEPARENT,
            tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        );
        request.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    for name in ["request", "child"] {
        assert_eq!(
            only(&spans, name).span.trace_state,
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            "{name}"
        );
    }
    assert_remote_child(only(&spans, "request"));
}

#[test]
fn invalid_traceparent_starts_a_new_trace() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        let zero_trace = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        tracing::info_span!("zero", traceparent = zero_trace).in_scope(|| {});
        tracing::info_span!("garbage", traceparent = "not a header").in_scope(|| {});
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert!(span.span.parent_span_id.is_empty(), "{}", span.name());
        assert_eq!(span.span.trace_id.len(), 16);
        assert!(
            span.span.trace_id.iter().any(|b| *b != 0),
            "{}",
            span.name()
        );
        assert_eq!(span.span.flags & IS_REMOTE, 0, "{}", span.name());
    }
    assert_ne!(spans[0].span.trace_id, spans[1].span.trace_id);
}
