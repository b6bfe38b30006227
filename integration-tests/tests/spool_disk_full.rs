//! The spool's disk fills up while the collector is down: the observer and the host
//! run on, the spool counts the failed writes as `disk_full` (in the report and on
//! `/health`), and every span is accounted for: spooled while there was room, then
//! dropped as `spool_error` (or `spool_full`), never lost silently, no panic, no hang.
//!
//! The disk is a real one: a tmpfs of 256 KiB, mounted by a child process in its own
//! mount namespace (`unshare -m`), so nothing outlives it. The spool's own budget
//! (1 GiB by default) is far away: the file system runs out first.
//! Needs root (mount) and util-linux's `unshare`; `scripts/test` runs it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::mount::{mount_tmpfs, report_to_parent, run_in_mount_namespace};
use common::{dispatch, spool_builder, wait_for_stats};
use tracing_observer::{config::RetryPolicy, Observer};

const CHILD_DIR: &str = "SPOOL_DISK_FULL_CHILD_DIR";
/// The file system: a few rounds of spans fill it.
const TMPFS: &str = "size=256k";
/// Spans per round, each with a ~500-byte field: about 100 KiB spooled a round.
const BATCH: u64 = 200;
/// Rounds at most; the child stops two rounds after the disk is full.
const MAX_ROUNDS: u64 = 20;

fn produce(observer: &Observer, round: u64) {
    let payload = "x".repeat(500);
    tracing::dispatcher::with_default(&dispatch(observer), || {
        for i in 0..BATCH {
            let _span = tracing::info_span!("op", round, i, payload = payload.as_str()).entered();
        }
    });
}

/// The child: a spool on a small tmpfs, no collector; produces until the disk is full
/// and a little beyond, then prints how many spans it produced, the `/health` spool
/// component and its shutdown report.
#[test]
fn spool_disk_full_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return; // Only meaningful as the child of the test below.
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    mount_tmpfs(dir, TMPFS, false, false);
    let observer = spool_builder(&dir.join("spool"))
        .endpoint("http://127.0.0.1:9") // nothing listens: every export fails
        .retry_policy(RetryPolicy::none())
        .scheduled_delay(Duration::from_millis(20))
        .max_export_batch_size(50)
        .spool_sync_interval(Duration::from_millis(20))
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let mut produced = 0;
    let mut rounds_after_full = 0;
    for round in 0..MAX_ROUNDS {
        produce(&observer, round);
        produced += BATCH;
        wait_for_stats(&observer, Duration::from_secs(10), |s| s.pending == 0);
        if observer.stats().spool.errors.contains_key("disk_full") {
            rounds_after_full += 1;
            if rounds_after_full > 2 {
                break;
            }
        }
    }
    println!("PRODUCED {produced}");
    report_to_parent(observer);
}

#[test]
#[ignore = "needs root and util-linux unshare (mount namespaces); run scripts/test"]
fn a_full_spool_disk_is_reported_and_every_span_counted() {
    let dir = std::env::temp_dir().join(format!("tracing-observer-enospc-{}", std::process::id()));
    let child = run_in_mount_namespace(
        "spool_disk_full_child",
        CHILD_DIR,
        &dir,
        Duration::from_secs(120),
    );
    let produced = child.json_after("PRODUCED ").as_u64().expect("a count");
    let report = child.json_after("REPORT ");
    let n = |path: &str| {
        report
            .pointer(path)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("{path} in {report}"))
    };
    eprintln!(
        "disk full: produced={produced} spooled={} dropped={} errors={} last_error={}",
        n("/spooled"),
        report["dropped"],
        report["spool"]["errors"],
        report["spool"]["last_error"]
    );
    assert_eq!(report["timed_out"], false, "{report}");
    assert_eq!(n("/recorded"), produced, "{report}");
    assert_eq!(n("/pending"), 0, "{report}");
    // Every span: spooled while there was room, then dropped for the spool's sake.
    assert_eq!(n("/exported"), 0, "{report}");
    assert_eq!(
        n("/spooled") + n("/dropped/spool_error") + n("/dropped/spool_full"),
        produced,
        "every span accounted for: {report}"
    );
    assert_eq!(
        n("/dropped/total"),
        n("/dropped/spool_error") + n("/dropped/spool_full"),
        "{report}"
    );
    assert!(n("/spooled") > 0, "some spans fit: {report}");
    assert!(n("/dropped/spool_error") > 0, "{report}");
    assert!(n("/spool/errors/disk_full") >= 1, "{report}");
    assert_eq!(report["spool"]["enabled"], true, "still open: {report}");
    let last_error = report["spool"]["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("No space left on device"), "{report}");
    let health = child.json_after("HEALTH ");
    eprintln!("disk full: /health spool component {health}");
    let message = health["message"].as_str().unwrap_or_default();
    assert!(message.contains("No space left on device"), "{health}");
    assert_eq!(
        health["status"], "UNHEALTHY",
        "writes are failing: {health}"
    );
    assert_eq!(report["spool"]["writes_failing"], true, "{report}");
}
