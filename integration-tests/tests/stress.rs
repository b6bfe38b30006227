//! Stress through a real collector: many producers at once, and a sustained rate,
//! with nothing lost.
//!
//! - 20 producers × 1000 ops (× `STRESS_SCALE`), each op a chain of 3 nested
//!   `#[instrument]` spans whose innermost one fails in 20 % of the ops, mixed
//!   sync and async: 10 OS threads, 5 producers as tasks on a multi-thread tokio
//!   runtime, 5 OS threads each driving its own current-thread tokio runtime. Every
//!   span reaches the in-process receiver behind rotel exactly once, every failing
//!   op's ERROR span is there, and no span misses its parent.
//! - 100 000 spans/s from 2 threads for 1 s (× `STRESS_SCALE`): every span reaches
//!   the receiver behind rotel; the rate achieved is printed, not asserted.
//!
//! `STRESS_SCALE` (default 1; e.g. `STRESS_SCALE=10` for a long run) scales the ops
//! and the duration. Timings are printed, never asserted.
//!
//! Needs `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`).
//! Collector outages, hangs, kills and spool cases: see `delivery.rs` and
//! `shutdown.rs`; hostile fields: `hostile_input.rs`; host-side faults:
//! `host_faults.rs`; memory under a burst: `stress_memory.rs`.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{builder, multi_thread_runtime};
use integration_tests::{attr_i64, OtlpReceiver, ReceivedSpan, Rotel};
use tracing::{instrument, Dispatch};
use tracing_observer::{config::Protocol, Observer, ShutdownReport};
use tracing_subscriber::prelude::*;

/// Longest the backend behind rotel may take to receive every span.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest shutdown may take (a bound, not a measurement).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// The multiplier of ops and durations (`STRESS_SCALE`, default 1).
fn scale() -> f64 {
    std::env::var("STRESS_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// An observer exporting to `rotel` over gRPC, with a queue large enough that a
/// burst of the test's size is never dropped by count or bytes (the test is
/// about delivery, not back-pressure: see `stress_memory.rs` for that).
fn observer_through(rotel: &Rotel, spans: u64) -> Observer {
    builder()
        .service_name("stress")
        .endpoint(rotel.grpc_endpoint())
        .protocol(Protocol::Grpc)
        .scheduled_delay(Duration::from_millis(50))
        .max_queue_size(usize::try_from(spans).unwrap_or(usize::MAX).max(65_536))
        .max_queue_bytes(1 << 30)
        .build()
        .expect("observer builds")
}

fn assert_all_exported(report: &ShutdownReport, produced: u64) {
    let s = &report.stats;
    assert!(!report.timed_out, "{report}");
    assert_eq!(s.recorded, produced, "{report}");
    assert_eq!(s.dropped.total(), 0, "{report}");
    assert_eq!(s.exported, produced, "{report}");
    assert_eq!(s.pending, 0, "{report}");
}

/// Waits until the receiver holds `n` spans, then a moment more for duplicates.
fn received(receiver: &OtlpReceiver, rotel: &Rotel, n: u64) -> Vec<ReceivedSpan> {
    let n = usize::try_from(n).expect("fits");
    receiver.wait_for_spans(n, DELIVERY_TIMEOUT);
    std::thread::sleep(Duration::from_millis(500));
    let spans = receiver.spans();
    assert_eq!(
        spans.len(),
        n,
        "spans behind rotel; rotel output:\n{}",
        rotel.logs()
    );
    let unique: HashSet<(&[u8], &[u8])> = spans
        .iter()
        .map(|s| (&s.span.trace_id[..], &s.span.span_id[..]))
        .collect();
    assert_eq!(unique.len(), n, "duplicate span ids");
    spans
}

// === 20 producers, mixed sync and async ===

const PRODUCERS: u64 = 20;
const DEPTH: u64 = 3;

#[derive(Debug)]
struct StressError;

impl std::fmt::Display for StressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected failure")
    }
}

impl std::error::Error for StressError {}

/// Op `i` of a producer fails when `i % 5 == 0`: exactly 20 % of each producer's ops.
fn fails(i: u64) -> bool {
    i.is_multiple_of(5)
}

#[instrument]
fn outer(op: u64, fail: bool) -> Result<(), StressError> {
    middle(op, fail)
}

#[instrument]
fn middle(op: u64, fail: bool) -> Result<(), StressError> {
    inner(op, fail)
}

#[instrument(err)]
fn inner(op: u64, fail: bool) -> Result<(), StressError> {
    if fail {
        return Err(StressError);
    }
    std::hint::black_box(op);
    Ok(())
}

#[instrument]
async fn outer_async(op: u64, fail: bool) -> Result<(), StressError> {
    middle_async(op, fail).await
}

#[instrument]
async fn middle_async(op: u64, fail: bool) -> Result<(), StressError> {
    tokio::task::yield_now().await;
    inner_async(op, fail).await
}

#[instrument(err)]
async fn inner_async(op: u64, fail: bool) -> Result<(), StressError> {
    // Suspend, so that the spans are left and re-entered (on another worker, maybe).
    tokio::task::yield_now().await;
    if fail {
        return Err(StressError);
    }
    Ok(())
}

fn op_id(producer: u64, i: u64) -> u64 {
    producer * 1_000_000 + i
}

fn sync_producer(dispatch: &Dispatch, producer: u64, ops: u64) {
    tracing::dispatcher::with_default(dispatch, || {
        for i in 0..ops {
            let _ = outer(op_id(producer, i), fails(i));
        }
    });
}

async fn async_producer(producer: u64, ops: u64) {
    for i in 0..ops {
        let _ = outer_async(op_id(producer, i), fails(i)).await;
    }
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn twenty_mixed_producers_deliver_every_span_and_error_with_whole_trees() {
    let ops = ((1000.0 * scale()).round() as u64).max(5);
    let produced = PRODUCERS * ops * DEPTH;
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let observer = observer_through(&rotel, produced);
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(observer.layer()));

    let started = Instant::now();
    // Producers 10..15: tasks on one multi-thread runtime (2 workers).
    let runtime = multi_thread_runtime(&dispatch, 2);
    let tasks: Vec<_> = (10..15)
        .map(|p| runtime.spawn(async_producer(p, ops)))
        .collect();
    std::thread::scope(|scope| {
        // Producers 0..10: plain OS threads.
        for p in 0..10 {
            let dispatch = &dispatch;
            scope.spawn(move || sync_producer(dispatch, p, ops));
        }
        // Producers 15..20: OS threads, each with its own current-thread runtime.
        for p in 15..20 {
            let dispatch = &dispatch;
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("current-thread runtime");
                tracing::dispatcher::with_default(dispatch, || {
                    rt.block_on(async_producer(p, ops));
                });
            });
        }
    });
    runtime.block_on(async {
        for task in tasks {
            task.await.expect("producer task");
        }
    });
    drop(runtime);
    let production = started.elapsed();

    let report = observer.shutdown(SHUTDOWN_TIMEOUT);
    eprintln!(
        "20 producers x {ops} ops: {produced} spans produced in {production:?} \
         ({:.0} spans/s, shared machine), shutdown {:?}\n{report}",
        produced as f64 / production.as_secs_f64(),
        report.elapsed
    );
    assert_all_exported(&report, produced);

    let spans = received(&receiver, &rotel, produced);

    // Every op is one whole trace of 3 spans: outer > middle > inner.
    let ids: HashSet<(&[u8], &[u8])> = spans
        .iter()
        .map(|s| (&s.span.trace_id[..], &s.span.span_id[..]))
        .collect();
    let mut per_op: HashMap<i64, Vec<&ReceivedSpan>> = HashMap::new();
    for span in &spans {
        let parent = &span.span.parent_span_id[..];
        assert!(
            parent.is_empty() || ids.contains(&(&span.span.trace_id[..], parent)),
            "a span whose parent is missing: {span:?}"
        );
        let op = attr_i64(span, "op").expect("every span has its op");
        per_op.entry(op).or_default().push(span);
    }
    assert_eq!(per_op.len() as u64, PRODUCERS * ops, "ops seen");
    for (op, spans) in &per_op {
        let mut names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        assert!(
            names == ["inner", "middle", "outer"]
                || names == ["inner_async", "middle_async", "outer_async"],
            "op {op}: {names:?}"
        );
        let traces: HashSet<&[u8]> = spans.iter().map(|s| &s.span.trace_id[..]).collect();
        assert_eq!(traces.len(), 1, "op {op} is one trace");
        assert_eq!(
            spans
                .iter()
                .filter(|s| s.span.parent_span_id.is_empty())
                .count(),
            1,
            "op {op} has one root"
        );
    }

    // Every failing op's innermost span, and nothing else, is ERROR.
    let expected: HashSet<i64> = (0..PRODUCERS)
        .flat_map(|p| {
            (0..ops)
                .filter(|i| fails(*i))
                .map(move |i| op_id(p, i) as i64)
        })
        .collect();
    let errors: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.is_error()).collect();
    let failed: HashSet<i64> = errors
        .iter()
        .map(|s| {
            assert!(
                s.name().starts_with("inner"),
                "only innermost spans fail: {s:?}"
            );
            attr_i64(*s, "op").expect("op")
        })
        .collect();
    assert_eq!(
        errors.len(),
        expected.len(),
        "one ERROR span per failing op"
    );
    assert_eq!(failed, expected, "the failing ops");
}

// === sustained rate ===

const RATE: u64 = 100_000;
const RATE_THREADS: u64 = 2;

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn sustained_hundred_thousand_spans_per_second_through_rotel_loses_nothing() {
    let duration = Duration::from_secs_f64(scale());
    let per_thread = (RATE / RATE_THREADS) as f64 * duration.as_secs_f64();
    let per_thread = per_thread.round() as u64;
    let produced = per_thread * RATE_THREADS;
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let observer = observer_through(&rotel, produced);
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(observer.layer()));

    let interval = Duration::from_secs(1).as_secs_f64() / (RATE / RATE_THREADS) as f64;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..RATE_THREADS {
            let dispatch = &dispatch;
            scope.spawn(move || {
                tracing::dispatcher::with_default(dispatch, || {
                    let start = Instant::now();
                    for i in 0..per_thread {
                        // Paced: span i starts no earlier than i intervals in (1 ms steps).
                        let due = Duration::from_secs_f64(i as f64 * interval);
                        let now = start.elapsed();
                        if due > now + Duration::from_millis(1) {
                            std::thread::sleep(due - now);
                        }
                        let _span = tracing::info_span!("tick", thread = t, i).entered();
                    }
                });
            });
        }
    });
    let production = started.elapsed();
    let report = observer.shutdown(SHUTDOWN_TIMEOUT);
    eprintln!(
        "sustained: {produced} spans in {production:?} = {:.0} spans/s achieved (target {RATE}/s, \
         shared machine), shutdown {:?}\n{report}",
        produced as f64 / production.as_secs_f64(),
        report.elapsed
    );
    assert_all_exported(&report, produced);
    let spans = received(&receiver, &rotel, produced);
    let ticks: HashSet<(i64, i64)> = spans
        .iter()
        .map(|s| {
            (
                attr_i64(s, "thread").expect("thread"),
                attr_i64(s, "i").expect("i"),
            )
        })
        .collect();
    assert_eq!(ticks.len() as u64, produced, "every (thread, i) once");
}
