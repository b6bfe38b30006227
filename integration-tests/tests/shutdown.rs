//! Shutdown is bounded and honest: whatever the collector does (nothing listens,
//! accepts but never answers, answers UNAVAILABLE / 503), `shutdown(timeout)`
//! returns within the timeout (plus a generous margin) and the report counts
//! every span as exported or dropped, with the export errors by kind. With a
//! collector that accepts, 100 000 queued spans are all exported.

mod common;

use std::time::{Duration, Instant};

use common::{assert_accounted, builder, builder_for, observe, shutdown_complete, SHUTDOWN};
use integration_tests::{Behavior, OtlpReceiver};
use tracing_observer::{config::Protocol, FlushError, Observer, ShutdownReport};

const TIMEOUT: Duration = Duration::from_secs(2);
/// Slack for a loaded 2-core machine: a bound, not a benchmark.
const MARGIN: Duration = Duration::from_millis(1500);
const SPANS: u64 = 10;

fn emit_spans(observer: &Observer, n: u64) {
    observe(observer, || {
        for i in 0..n {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
}

/// Shuts down with [`TIMEOUT`], asserting the bound; returns the report.
fn bounded_shutdown(observer: &Observer) -> ShutdownReport {
    let started = Instant::now();
    let report = observer.shutdown(TIMEOUT);
    let elapsed = started.elapsed();
    assert!(
        elapsed < TIMEOUT + MARGIN,
        "shutdown({TIMEOUT:?}) took {elapsed:?}\n{report}"
    );
    assert!(report.elapsed <= elapsed, "{report}");
    assert_accounted(&report);
    report
}

/// Every span was dropped (none exported, none left pending) and the report says why.
fn assert_all_dropped(report: &ShutdownReport) {
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.exported, 0, "{report}");
    assert_eq!(s.pending, 0, "{report}");
    assert_eq!(
        s.dropped.export_failed + s.dropped.shutdown,
        SPANS,
        "{report}"
    );
    assert!(!report.is_complete());
}

fn unreachable_collector(protocol: Protocol) {
    let observer = builder()
        .endpoint(common::closed_endpoint())
        .protocol(protocol)
        .build()
        .unwrap();
    emit_spans(&observer, SPANS);
    let report = bounded_shutdown(&observer);
    assert_all_dropped(&report);
    let s = &report.stats;
    assert!(!s.export_errors.is_empty(), "{report}");
    assert!(s.export_failures >= 1, "{report}");
    assert!(s.last_export_error.is_some(), "{report}");
    assert!(
        s.export_errors.contains_key("connect"),
        "a refused connection is a `connect` error: {:?}\n{report}",
        s.export_errors
    );
}

#[test]
fn unreachable_collector_grpc() {
    unreachable_collector(Protocol::Grpc);
}

#[test]
fn unreachable_collector_http() {
    unreachable_collector(Protocol::HttpProtobuf);
}

fn hanging_collector(protocol: Protocol) {
    let receiver = OtlpReceiver::start_with(Behavior::Hang);
    let observer = builder_for(&receiver, protocol).build().unwrap();
    emit_spans(&observer, SPANS);
    let report = bounded_shutdown(&observer);
    assert_all_dropped(&report);
    assert!(receiver.attempts() >= 1, "the export reached the receiver");
    assert_eq!(receiver.span_count(), 0);
    if report.stats.dropped.export_failed > 0 {
        assert!(
            report.stats.export_errors.contains_key("timeout"),
            "a request that never completes is a `timeout`: {report}"
        );
    }
}

#[test]
fn hanging_collector_grpc() {
    hanging_collector(Protocol::Grpc);
}

#[test]
fn hanging_collector_http() {
    hanging_collector(Protocol::HttpProtobuf);
}

/// The collector hangs while a scheduled export is already in flight when
/// shutdown starts: the worker is stuck in that request, and shutdown must
/// still return on time and count the undelivered spans.
fn hanging_collector_with_export_in_flight(protocol: Protocol) {
    let receiver = OtlpReceiver::start_with(Behavior::Hang);
    let observer = builder_for(&receiver, protocol)
        .scheduled_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    emit_spans(&observer, SPANS);
    assert!(
        receiver.wait_for_attempts(1, common::WAIT) >= 1,
        "the scheduled export did not start"
    );
    let report = bounded_shutdown(&observer);
    assert_all_dropped(&report);
    assert!(
        report.timed_out || report.stats.dropped.export_failed == SPANS,
        "{report}"
    );
}

#[test]
fn hanging_collector_with_export_in_flight_grpc() {
    hanging_collector_with_export_in_flight(Protocol::Grpc);
}

#[test]
fn hanging_collector_with_export_in_flight_http() {
    hanging_collector_with_export_in_flight(Protocol::HttpProtobuf);
}

/// After a shutdown that timed out with an export still in flight, that export
/// ends later in the background; the counters must not then count its spans a
/// second time (they were already counted as dropped by the shutdown).
#[test]
fn late_end_of_an_abandoned_export_is_not_counted_twice() {
    let receiver = OtlpReceiver::start_with(Behavior::Hang);
    let observer = builder_for(&receiver, Protocol::Grpc)
        .scheduled_delay(Duration::from_millis(50))
        .request_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    emit_spans(&observer, SPANS);
    assert!(receiver.wait_for_attempts(1, common::WAIT) >= 1);
    let report = observer.shutdown(Duration::from_millis(300));
    assert_all_dropped(&report);

    // Give the abandoned request time to end in the background (its timeout is 1 s):
    // the counters must still be those of the report.
    std::thread::sleep(Duration::from_millis(1500));
    let after = observer.stats();
    assert_eq!(after, report.stats, "counters changed after shutdown");
    assert_eq!(
        after.recorded, SPANS,
        "{SPANS} spans were recorded, the counters now say {}: {after:?}",
        after.recorded
    );
    assert_eq!(after.exported + after.dropped.total(), SPANS, "{after:?}");
}

fn unavailable_collector(protocol: Protocol) {
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let observer = builder_for(&receiver, protocol).build().unwrap();
    emit_spans(&observer, SPANS);
    let report = bounded_shutdown(&observer);
    let s = &report.stats;
    assert!(!report.timed_out, "{report}");
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.exported, 0, "{report}");
    assert_eq!(s.dropped.export_failed, SPANS, "{report}");
    assert!(
        s.export_errors.get("unavailable").is_some_and(|n| *n >= 1),
        "{report}"
    );
    assert_eq!(
        s.export_errors.values().sum::<u64>(),
        s.export_failures,
        "{report}"
    );
    assert!(receiver.attempts() >= 1);
}

#[test]
fn unavailable_collector_grpc() {
    unavailable_collector(Protocol::Grpc);
}

#[test]
fn unavailable_collector_http() {
    unavailable_collector(Protocol::HttpProtobuf);
}

#[test]
fn drop_with_unreachable_collector_is_bounded() {
    let observer = builder()
        .endpoint(common::closed_endpoint())
        .shutdown_timeout(TIMEOUT)
        .build()
        .unwrap();
    emit_spans(&observer, SPANS);
    let started = Instant::now();
    drop(observer);
    let elapsed = started.elapsed();
    assert!(elapsed < TIMEOUT + MARGIN, "drop took {elapsed:?}");
}

#[test]
fn shutdown_is_idempotent_and_stops_recording() {
    let receiver = OtlpReceiver::start();
    let observer = common::observer_for(&receiver);
    emit_spans(&observer, 3);
    let first = shutdown_complete(&observer);
    assert_eq!(first.stats.exported, 3);

    // Spans after shutdown are not recorded; a second shutdown returns the first report.
    emit_spans(&observer, 3);
    let second = observer.shutdown(SHUTDOWN);
    assert_eq!(second, first);
    assert_eq!(observer.stats().recorded, 3);
    assert_eq!(observer.force_flush(SHUTDOWN), Err(FlushError::ShutDown));
    assert_eq!(receiver.span_count(), 3);
}

#[test]
fn report_serialises_for_programs() {
    let observer = builder()
        .endpoint(common::closed_endpoint())
        .build()
        .unwrap();
    emit_spans(&observer, SPANS);
    let report = bounded_shutdown(&observer);
    let json = serde_json::to_value(&report).expect("report serialises");
    assert_eq!(json["recorded"], SPANS);
    assert_eq!(json["exported"], 0);
    assert_eq!(json["dropped"]["total"], SPANS);
    assert!(json["export_errors"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    assert!(json["elapsed_s"].as_f64().is_some());
    assert_eq!(json["disabled"], false);
    let text = report.to_string();
    assert!(text.contains(&format!("{SPANS} spans recorded")), "{text}");
}

#[test]
fn full_queue_drops_are_counted_not_blocking() {
    const BURST: u64 = 150;
    // The worker takes one batch of 10 into a request that never completes;
    // the queue then holds 10 more and the rest of the burst is dropped.
    let receiver = OtlpReceiver::start_with(Behavior::Hang);
    let observer = builder_for(&receiver, Protocol::Grpc)
        .max_queue_size(10)
        .max_export_batch_size(10)
        .build()
        .unwrap();
    let started = Instant::now();
    emit_spans(&observer, BURST);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "recording {BURST} spans took {:?}: a full queue must not block",
        started.elapsed()
    );
    let report = bounded_shutdown(&observer);
    let s = &report.stats;
    assert_eq!(s.recorded, BURST, "{report}");
    assert_eq!(s.exported, 0, "{report}");
    assert_eq!(s.dropped.total(), BURST, "{report}");
    assert!(s.dropped.queue_full >= BURST - 20, "{report}");
}

#[test]
fn no_exporter_counts_spans_as_dropped() {
    let observer = builder()
        .traces_exporter(tracing_observer::config::TracesExporter::None)
        .build()
        .unwrap();
    emit_spans(&observer, SPANS);
    let report = bounded_shutdown(&observer);
    assert_eq!(report.stats.recorded, SPANS, "{report}");
    assert_eq!(report.stats.dropped.no_exporter, SPANS, "{report}");
    assert!(!report.is_complete());
}

#[test]
fn hundred_thousand_queued_spans_are_all_exported() {
    const MANY: u64 = 100_000;
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .max_queue_size(131_072)
        .build()
        .unwrap();
    emit_spans(&observer, MANY);
    let started = Instant::now();
    let report = observer.shutdown(Duration::from_secs(60));
    assert_accounted(&report);
    assert!(!report.timed_out, "{report}");
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.stats.recorded, MANY, "{report}");
    assert_eq!(report.stats.exported, MANY, "{report}");
    assert_eq!(receiver.span_count() as u64, MANY);
    eprintln!(
        "100k spans: shutdown took {:?}\n{report}",
        started.elapsed()
    );
}
