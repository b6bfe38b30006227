//! A spool directory on a read-only file system while the collector is down: the
//! observer builds and the host runs on, the spool reports why it is not open
//! (error kind `read_only`, on `/health` too), and the spans that could be neither
//! exported nor spooled are dropped and counted. Every span is accounted for.
//!
//! The file system is a real one: a tmpfs mounted, then remounted read-only, by a
//! child process in its own mount namespace (`unshare -m`), so nothing outlives it.
//! (A mid-run remount is refused while the spool holds files open for writing, so
//! the case tested is a disk that is read-only when the process starts.)
//! Needs root (mount) and util-linux's `unshare`; `scripts/test` runs it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::mount::{mount_tmpfs, report_to_parent, run_in_mount_namespace};
use common::{dispatch, spool_builder, wait_for_stats};
use tracing_observer::{config::RetryPolicy, Observer};

const CHILD_DIR: &str = "SPOOL_READONLY_CHILD_DIR";
const BATCH: u64 = 100;

fn produce(observer: &Observer, batch: u64) {
    tracing::dispatcher::with_default(&dispatch(observer), || {
        for i in 0..BATCH {
            let _span = tracing::info_span!("op", batch, i).entered();
        }
    });
}

/// The child: a spool directory on a read-only tmpfs, no collector; prints its
/// shutdown report and the `/health` spool component as JSON.
#[test]
fn spool_readonly_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return; // Only meaningful as the child of the test below.
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    mount_tmpfs(dir, "size=16m", false, false);
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).unwrap();
    mount_tmpfs(dir, "size=16m", true, true);
    let observer = spool_builder(&spool)
        .endpoint("http://127.0.0.1:9") // nothing listens: every export fails
        .retry_policy(RetryPolicy::default().max_elapsed_time(Duration::from_millis(50)))
        .scheduled_delay(Duration::from_millis(20))
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("a read-only spool is not a build error");
    produce(&observer, 0);
    wait_for_stats(&observer, Duration::from_secs(10), |s| {
        s.dropped.total() == BATCH
    });
    report_to_parent(observer);
}

#[test]
#[ignore = "needs root and util-linux unshare (mount namespaces); run scripts/test"]
fn a_read_only_spool_disk_is_reported_and_its_spans_counted() {
    let dir = std::env::temp_dir().join(format!("tracing-observer-ro-{}", std::process::id()));
    let child = run_in_mount_namespace(
        "spool_readonly_child",
        CHILD_DIR,
        &dir,
        Duration::from_secs(60),
    );
    let report = child.json_after("REPORT ");
    let stats = &report; // the report's JSON is flat: the stats' fields and its own
    let n = |path: &str| {
        stats
            .pointer(path)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("{path} in {report}"))
    };
    eprintln!(
        "read-only spool: recorded={} dropped={} errors={} last_error={}",
        n("/recorded"),
        stats["dropped"],
        stats["spool"]["errors"],
        stats["spool"]["last_error"]
    );
    assert_eq!(n("/recorded"), BATCH, "{report}");
    assert_eq!(n("/exported") + n("/spooled"), 0, "{report}");
    // Neither exported nor spooled: counted as failed exports.
    assert_eq!(
        n("/dropped/export_failed"),
        BATCH,
        "every span counted: {report}"
    );
    assert_eq!(stats["spool"]["enabled"], false, "{report}");
    assert!(n("/spool/errors/read_only") >= 1, "{report}");
    let health = child.json_after("HEALTH ");
    assert_eq!(health["status"], "UNHEALTHY", "{health}");
    assert_eq!(health["critical"], false, "{health}");
    let message = health["message"].as_str().unwrap_or_default();
    assert!(message.contains("Read-only file system"), "{health}");
}
