//! `OTEL_SDK_DISABLED=true` turns the observer off: it says so, records
//! nothing, sends nothing to the collector, and its report says it was disabled.

mod common;

use common::{builder_for, observe, SHUTDOWN};
use integration_tests::OtlpReceiver;
use tracing_observer::{config::Protocol, FlushError, ObserverSpanExt};

#[test]
fn otel_sdk_disabled_records_and_sends_nothing() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .environment([("OTEL_SDK_DISABLED", "true")])
        .build()
        .expect("a disabled observer builds");
    assert!(observer.is_disabled());

    observe(&observer, || {
        let span = tracing::info_span!("ignored", answer = 42);
        span.in_scope(|| tracing::error!("not recorded either"));
        assert_eq!(
            span.span_context(),
            None,
            "a disabled observer has no context"
        );
    });
    assert_eq!(observer.force_flush(SHUTDOWN), Err(FlushError::ShutDown));
    assert_eq!(observer.stats().recorded, 0);

    let report = observer.shutdown(SHUTDOWN);
    assert!(report.disabled, "{report}");
    assert!(!report.timed_out);
    assert_eq!(report.stats.recorded, 0);
    assert_eq!(report.stats.exported, 0);
    assert_eq!(report.stats.export_requests, 0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["disabled"], true);
    assert!(report.to_string().contains("disabled"), "{report}");

    // A disabled observer has no worker: nothing is in flight that could still arrive.
    drop(observer);
    assert_eq!(receiver.attempts(), 0);
    assert_eq!(receiver.span_count(), 0);
}

#[test]
fn disabled_accepts_any_case_and_the_builder_can_override_it() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .environment([("OTEL_SDK_DISABLED", "TRUE")])
        .build()
        .unwrap();
    assert!(observer.is_disabled());

    let observer = builder_for(&receiver, Protocol::Grpc)
        .environment([("OTEL_SDK_DISABLED", "true")])
        .disabled(false)
        .build()
        .unwrap();
    assert!(!observer.is_disabled(), "builder wins over the environment");
    observe(&observer, || {
        tracing::info_span!("recorded").in_scope(|| {})
    });
    let report = common::shutdown_complete(&observer);
    assert!(!report.disabled);
    assert_eq!(receiver.span_count(), 1);

    let observer = builder_for(&receiver, Protocol::Grpc)
        .environment([("OTEL_SDK_DISABLED", "false")])
        .build()
        .unwrap();
    assert!(!observer.is_disabled());
}
