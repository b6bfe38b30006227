//! Chaos: the disk spool fills up during a collector outage. Nothing goes
//! unaccounted: every span is exported, in the spool, or counted (evicted from the
//! spool with the oldest batches without errors first, or dropped with its
//! reason); every batch with a failed span survives and is replayed at the next
//! start.
//!
//! Covered elsewhere (see `delivery.rs`): collector down from the start, killed
//! (SIGKILL) and restarted, hanging, replay at the next start, a second process on
//! the same spool, the host killed while spooling; `shutdown.rs`: unreachable,
//! hanging and UNAVAILABLE collectors at shutdown. A read-only disk and a full disk
//! (the file system, not the budget) are `spool_readonly.rs` and `spool_disk_full.rs`;
//! write errors in general are covered at the spool's level (`src/spool/tests.rs`,
//! `write_errors_are_counted_not_raised`).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{dispatch, spool_builder, spool_dir, SHUTDOWN};
use integration_tests::{attr_i64, Behavior, OtlpReceiver};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use tracing_observer::{config::RetryPolicy, ObserverBuilder};

const SPANS: u64 = 2000;
/// One span in this many fails (an ERROR event): their batches are priority batches.
const ERROR_EVERY: u64 = 500;
/// Far less than the ~100 batches of 20 spans the outage spools.
const SPOOL_BYTES: u64 = 32 << 10;

fn builder(dir: &std::path::Path, endpoint: &str) -> ObserverBuilder {
    spool_builder(dir)
        .endpoint(endpoint)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(50))
                .max_elapsed_time(Duration::from_millis(100)),
        )
        .circuit_breaker_threshold(2)
        .circuit_breaker_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_millis(500))
        .scheduled_delay(Duration::from_millis(50))
        .max_export_batch_size(20)
        .spool_max_bytes(SPOOL_BYTES)
        .spool_sync_interval(Duration::from_millis(20))
}

#[test]
fn a_full_spool_evicts_and_counts_and_keeps_every_failed_batch() {
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let dir = spool_dir("full");
    let observer = builder(&dir, &receiver.endpoint()).build().unwrap();
    tracing::dispatcher::with_default(&dispatch(&observer), || {
        for i in 0..SPANS {
            let _span = tracing::info_span!("op", i).entered();
            if i % ERROR_EVERY == 0 {
                tracing::error!("failed during the outage");
            }
        }
    });
    let first = observer.shutdown(SHUTDOWN);
    let s = &first.stats;
    let spool = &s.spool;
    eprintln!("spool full: {first}\n{spool:?}");
    assert!(!first.timed_out, "{first}");
    assert_eq!(s.recorded, SPANS, "{first}");
    assert_eq!(s.exported, 0, "{first}");
    assert_eq!(
        s.recorded,
        s.exported + s.spooled + s.dropped.total() + s.pending,
        "accounting: {first}"
    );
    assert!(
        spool.evicted_spans + s.dropped.spool_full > 0,
        "the spool overflowed: {spool:?}"
    );
    assert!(spool.bytes <= SPOOL_BYTES, "{spool:?}");
    assert_eq!(
        s.spooled,
        spool.pending_spans + spool.evicted_spans + spool.expired_spans,
        "every spooled span is still there or counted out: {spool:?}"
    );
    assert_eq!(s.dropped.total(), s.dropped.spool_full, "{first}");

    // The collector is back: the next start replays exactly what the spool holds.
    receiver.set_behavior(Behavior::Accept);
    let observer = builder(&dir, &receiver.endpoint()).build().unwrap();
    let held = spool.pending_spans as usize;
    let spans = receiver.wait_for_spans(held, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    let second = observer.shutdown(SHUTDOWN);
    let spans = if spans.len() < receiver.span_count() {
        receiver.spans()
    } else {
        spans
    };
    let ids: HashSet<String> = spans.iter().map(|s| s.span_id_hex()).collect();
    assert_eq!(ids.len(), held, "replayed: {second}");
    assert_eq!(second.stats.replayed, held as u64, "{second}");
    let failed: HashSet<i64> = spans
        .iter()
        .filter(|s| {
            s.span
                .status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        })
        .map(|s| attr_i64(s, "i").expect("i"))
        .collect();
    let expected: HashSet<i64> = (0..SPANS)
        .filter(|i| i.is_multiple_of(ERROR_EVERY))
        .map(|i| i as i64)
        .collect();
    assert_eq!(
        failed, expected,
        "every failed span survived the full spool"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
