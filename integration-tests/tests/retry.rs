//! Retry over the wire, against the in-process receiver, over gRPC and HTTP:
//!
//! - a collector that refuses batches for good (gRPC `INVALID_ARGUMENT`, HTTP 400):
//!   each batch is tried once, counted as `rejected`, kept in the spool's rejected
//!   segments, and neither retried nor replayed (not even at the next start);
//! - a collector that throttles (gRPC `RESOURCE_EXHAUSTED` with `RetryInfo`, HTTP 429
//!   with `Retry-After`): the retry waits at least the delay asked for, then succeeds.
//!
//! The backoff is shrunk to tens of milliseconds, far below the throttling hint, so
//! that a retry that ignored the hint would show.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{dispatch, endpoint_for, spool_builder, spool_dir, SHUTDOWN, WAIT};
use integration_tests::{Behavior, OtlpReceiver};
use tracing_observer::{config::Protocol, config::RetryPolicy, Observer, ObserverBuilder};

/// Quick retries with plenty of time left for them; small batches.
fn builder(dir: &Path, receiver: &OtlpReceiver, protocol: Protocol) -> ObserverBuilder {
    spool_builder(dir)
        .endpoint(endpoint_for(receiver, protocol))
        .protocol(protocol)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(50))
                .max_elapsed_time(Duration::from_secs(10)),
        )
        .circuit_breaker_threshold(2)
        .circuit_breaker_timeout(Duration::from_millis(100))
        .scheduled_delay(Duration::from_millis(50))
        .max_export_batch_size(20)
        .spool_sync_interval(Duration::from_millis(20))
}

fn produce(observer: &Observer, spans: u64) {
    tracing::dispatcher::with_default(&dispatch(observer), || {
        for i in 0..spans {
            let _span = tracing::info_span!("op", i).entered();
        }
    });
}

fn rejected_batches_are_kept_and_never_retried(protocol: Protocol, name: &str) {
    const SPANS: u64 = 100;
    let receiver = OtlpReceiver::start_with(Behavior::Reject);
    let dir = spool_dir(name);
    let observer = builder(&dir, &receiver, protocol).build().unwrap();
    produce(&observer, SPANS);
    observer.force_flush(WAIT).unwrap();
    let tried = receiver.attempts();
    assert!(tried >= 1, "the batches reached the collector");
    // Several breaker timeouts and replay rounds: a retry loop would show here.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(receiver.attempts(), tried, "no batch was tried again");
    let report = observer.shutdown(SHUTDOWN);
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.exported, 0, "{report}");
    assert_eq!(s.spooled, SPANS, "every refused span is kept: {report}");
    assert_eq!(s.dropped.total(), 0, "{report}");
    assert_eq!(s.export_retries, 0, "{report}");
    assert_eq!(s.replayed, 0, "{report}");
    assert_eq!(
        s.export_errors.get("rejected").copied(),
        Some(tried as u64),
        "each refusal counted by kind: {report}"
    );
    assert_eq!(s.export_failures, tried as u64, "{report}");
    assert_eq!(
        s.spool.pending_spans, 0,
        "nothing waits for replay: {report}"
    );
    let summary = tracing_observer::spool::summary(&dir).unwrap();
    assert_eq!(summary.rejected_batches, tried as u64, "{summary:?}");
    assert_eq!(summary.spans, SPANS, "{summary:?}");

    // Not replayed at the next start either, even to a collector that accepts.
    receiver.set_behavior(Behavior::Accept);
    let observer = builder(&dir, &receiver, protocol).build().unwrap();
    observer.force_flush(WAIT).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let second = observer.shutdown(SHUTDOWN);
    assert_eq!(receiver.attempts(), tried, "{second}");
    assert_eq!(second.stats.replayed, 0, "{second}");
    let summary = tracing_observer::spool::summary(&dir).unwrap();
    assert_eq!(
        summary.rejected_batches, tried as u64,
        "still kept: {summary:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rejected_batches_are_kept_and_never_retried_grpc() {
    rejected_batches_are_kept_and_never_retried(Protocol::Grpc, "rejected-grpc");
}

#[test]
fn rejected_batches_are_kept_and_never_retried_http() {
    rejected_batches_are_kept_and_never_retried(Protocol::HttpProtobuf, "rejected-http");
}

fn a_throttled_export_waits_for_the_hint_then_succeeds(protocol: Protocol, name: &str) {
    const SPANS: u64 = 10;
    // Whole seconds: HTTP's Retry-After has no finer unit.
    let retry_after = Duration::from_secs(1);
    let receiver = OtlpReceiver::start();
    receiver.answer_next([Behavior::Throttle { retry_after }]);
    let dir = spool_dir(name);
    let observer = builder(&dir, &receiver, protocol)
        // No timer flush while producing: the flush below sends one batch.
        .scheduled_delay(Duration::from_secs(60))
        .build()
        .unwrap();
    produce(&observer, SPANS);
    observer.force_flush(WAIT).unwrap();
    let log = receiver.attempt_log();
    let answers: Vec<Behavior> = log.iter().map(|a| a.answer).collect();
    assert_eq!(
        answers,
        [Behavior::Throttle { retry_after }, Behavior::Accept],
        "one throttled call, then one retry"
    );
    let waited = log[1].at.duration_since(log[0].at);
    // A lower bound only, with a little slack for the clocks; the backoff alone
    // would have retried after at most 50 ms.
    assert!(
        waited >= retry_after - Duration::from_millis(50),
        "retried after {waited:?}, asked for {retry_after:?}"
    );
    assert_eq!(receiver.span_count(), SPANS as usize);
    let report = observer.shutdown(SHUTDOWN);
    let s = &report.stats;
    assert_eq!(s.exported, SPANS, "{report}");
    assert_eq!(s.spooled, 0, "{report}");
    assert_eq!(s.export_retries, 1, "{report}");
    assert_eq!(
        s.export_errors.get("throttled").copied(),
        Some(1),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_throttled_export_waits_for_the_hint_then_succeeds_grpc() {
    a_throttled_export_waits_for_the_hint_then_succeeds(Protocol::Grpc, "throttled-grpc");
}

#[test]
fn a_throttled_export_waits_for_the_hint_then_succeeds_http() {
    a_throttled_export_waits_for_the_hint_then_succeeds(Protocol::HttpProtobuf, "throttled-http");
}
