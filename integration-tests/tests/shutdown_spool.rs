//! Shutdown never drops what it could spool: with the collector down, a batch waiting
//! out a retry backoff (with the default retry policy, whose later backoffs are longer
//! than a shutdown timeout) is woken by the shutdown deadline and spooled, and a
//! program like the quickstart with nothing listening spools its spans at once, and a
//! batch whose export the collector never answers is spooled by the deadline.

mod common;

use std::time::{Duration, Instant};

use common::{closed_endpoint, observe, spool_builder, spool_dir, WAIT};
use integration_tests::{Behavior, OtlpReceiver};
use tracing_observer::ShutdownReport;

const SPANS: u64 = 30;

fn record_spans() {
    for i in 0..SPANS {
        tracing::info_span!("work", i).in_scope(|| {});
    }
}

fn assert_all_spooled(report: &ShutdownReport) {
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.spooled, SPANS, "every span is in the spool: {report}");
    assert_eq!(s.dropped.total(), 0, "nothing dropped: {report}");
    assert_eq!(s.exported + s.pending, 0, "{report}");
    assert!(report.is_lossless(), "{report}");
}

/// 30 spans recorded with the collector down; the program runs on while their batch is
/// retried with the default policy; `shutdown(5s)` comes during the fifth backoff
/// (8–16 s long): the batch is woken and spooled, not cut off by the deadline.
#[test]
fn a_batch_in_a_long_retry_backoff_is_spooled_at_shutdown() {
    let dir = spool_dir("linger");
    let observer = spool_builder(&dir)
        .endpoint(closed_endpoint())
        .build()
        .unwrap();
    observe(&observer, record_spans);
    // The first export comes after the default 5 s schedule; then backoffs of about
    // 1, 2, 4 and 8 s (halved at most by jitter).
    let deadline = Instant::now() + Duration::from_secs(25);
    while observer.stats().export_retries < 5 {
        assert!(Instant::now() < deadline, "{:?}", observer.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = observer.stats();
    assert_eq!((stats.spooled, stats.exported), (0, 0), "{stats:?}");
    let report = observer.shutdown(Duration::from_secs(5));
    eprintln!("linger: {report}");
    assert_all_spooled(&report);
    assert!(!report.timed_out, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Built as the quickstart builds its observer (defaults, nothing listening): the
/// spans recorded just before `shutdown` go to the spool at once.
#[test]
fn with_nothing_listening_shutdown_spools_at_once() {
    let dir = spool_dir("quickstart");
    let observer = spool_builder(&dir)
        .service_name("quickstart")
        .endpoint(closed_endpoint())
        .build()
        .unwrap();
    observe(&observer, record_spans);
    let started = Instant::now();
    let report = observer.shutdown(Duration::from_secs(5));
    eprintln!(
        "quickstart-like shutdown took {:?}: {report}",
        started.elapsed()
    );
    assert_all_spooled(&report);
    assert!(report.stats.export_failures >= 1, "{report}");
    assert_eq!(
        report.stats.export_retries, 0,
        "no retry once shutdown began: {report}"
    );
    assert!(!report.timed_out, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The collector accepts the connection and never answers; the export (timeout 10 s)
/// is under way when `shutdown(2s)` comes: its batch is spooled by the deadline, not
/// dropped.
#[test]
fn an_export_in_flight_at_shutdown_is_spooled_by_the_deadline() {
    let receiver = OtlpReceiver::start_with(Behavior::Hang);
    let dir = spool_dir("in-flight");
    let observer = spool_builder(&dir)
        .endpoint(receiver.endpoint())
        .scheduled_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    observe(&observer, record_spans);
    let deadline = Instant::now() + WAIT;
    while receiver.attempts() < 1 {
        assert!(Instant::now() < deadline, "the batch was never sent");
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    let report = observer.shutdown(Duration::from_secs(2));
    let took = started.elapsed();
    eprintln!("in-flight shutdown took {took:?}: {report}");
    assert_all_spooled(&report);
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
