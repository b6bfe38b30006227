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

use std::ffi::CString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{dispatch, spool_builder, SHUTDOWN};
use tracing_observer::{Observer, RetryPolicy};

const CHILD_DIR: &str = "SPOOL_READONLY_CHILD_DIR";
const BATCH: u64 = 100;

fn mount(dir: &Path, read_only: bool, remount: bool) {
    let target = CString::new(dir.to_str().unwrap()).unwrap();
    let tmpfs = CString::new("tmpfs").unwrap();
    let options = CString::new("size=16m").unwrap();
    let mut flags = libc::MS_NOSUID | libc::MS_NODEV;
    if remount {
        flags |= libc::MS_REMOUNT;
    }
    if read_only {
        flags |= libc::MS_RDONLY;
    }
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            tmpfs.as_ptr(),
            target.as_ptr(),
            tmpfs.as_ptr(),
            flags,
            options.as_ptr().cast(),
        )
    };
    assert_eq!(rc, 0, "mount: {}", std::io::Error::last_os_error());
}

fn produce(observer: &Observer, batch: u64) {
    tracing::dispatcher::with_default(&dispatch(observer), || {
        for i in 0..BATCH {
            let _span = tracing::info_span!("op", batch, i).entered();
        }
    });
}

/// Waits until `done` holds for the observer's stats, at most `limit`.
fn wait_for(
    observer: &Observer,
    limit: Duration,
    done: impl Fn(&tracing_observer::PipelineStats) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(&observer.stats()) && Instant::now() < deadline {
        let _ = observer.force_flush(Duration::from_millis(200));
    }
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
    mount(dir, false, false);
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).unwrap();
    mount(dir, true, true);
    let observer = spool_builder(&spool)
        .endpoint("http://127.0.0.1:9") // nothing listens: every export fails
        .retry_policy(RetryPolicy::default().max_elapsed_time(Duration::from_millis(50)))
        .scheduled_delay(Duration::from_millis(20))
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("a read-only spool is not a build error");
    produce(&observer, 0);
    wait_for(&observer, Duration::from_secs(10), |s| {
        s.dropped.total() == BATCH
    });
    let health = integration_tests::http_get(observer.http_addr().unwrap(), "/health")
        .unwrap()
        .json();
    let component = health["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "spool")
        .cloned()
        .unwrap_or_default();
    println!("HEALTH {component}");
    let report = observer.shutdown(SHUTDOWN);
    println!("REPORT {}", serde_json::to_string(&report).unwrap());
}

#[test]
#[ignore = "needs root and util-linux unshare (mount namespaces); run scripts/test"]
fn a_read_only_spool_disk_is_reported_and_its_spans_counted() {
    let dir = std::env::temp_dir().join(format!("tracing-observer-ro-{}", std::process::id()));
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "spool_readonly_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &dir)
        .stdin(Stdio::null())
        .output()
        .expect("unshare runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json = stdout
        .lines()
        .find_map(|line| Some(line.split_once("REPORT ")?.1))
        .unwrap_or_else(|| panic!("no report from the child:\n{stdout}"));
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
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
    let health = stdout
        .lines()
        .find_map(|line| Some(line.split_once("HEALTH ")?.1))
        .map(|json| serde_json::from_str::<serde_json::Value>(json).unwrap())
        .unwrap_or_default();
    assert_eq!(health["status"], "UNHEALTHY", "{health}");
    assert_eq!(health["critical"], false, "{health}");
    let message = health["message"].as_str().unwrap_or_default();
    assert!(message.contains("Read-only file system"), "{health}");
}
