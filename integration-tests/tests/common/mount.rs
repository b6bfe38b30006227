//! Real file-system faults for the spool: a test re-runs its own binary, limited to
//! one child test, in a mount namespace of its own (`unshare --mount`), where the
//! child mounts a small or read-only tmpfs that disappears with it.
//!
//! Needs root (mount) and util-linux's `unshare`; tests using this carry
//! `#[ignore = "needs root and util-linux unshare (mount namespaces); run scripts/test"]`,
//! and `scripts/test` runs them.

use std::ffi::CString;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tracing_observer::Observer;

/// Mounts a tmpfs with `options` (e.g. `size=256k`) at `dir`; with `remount`, changes
/// the tmpfs already there. Only meaningful inside the mount namespace of
/// [`run_in_mount_namespace`].
///
/// # Panics
/// When `mount(2)` fails.
pub fn mount_tmpfs(dir: &Path, options: &str, read_only: bool, remount: bool) {
    let target = CString::new(dir.to_str().expect("a UTF-8 path")).expect("no NUL");
    let tmpfs = CString::new("tmpfs").expect("no NUL");
    let options = CString::new(options).expect("no NUL");
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

/// What a child test that succeeded printed.
pub struct ChildRun {
    pub stdout: String,
}

impl ChildRun {
    /// The rest of the first stdout line containing `tag` (e.g. `"REPORT "`), parsed as JSON.
    ///
    /// # Panics
    /// When there is no such line or it is not JSON.
    pub fn json_after(&self, tag: &str) -> serde_json::Value {
        let text = self
            .stdout
            .lines()
            .find_map(|line| Some(line.split_once(tag)?.1))
            .unwrap_or_else(|| panic!("no {tag:?} line from the child:\n{}", self.stdout));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{tag}{text}: {e}"))
    }
}

/// Ends a child test: prints the observer's spool health (`HEALTH `) and, once it is
/// shut down, its report (`REPORT `), for the parent to read with
/// [`ChildRun::json_after`].
///
/// # Panics
/// When the observer serves no `/health`.
pub fn report_to_parent(observer: Observer) {
    println!("HEALTH {}", super::spool_health(&observer));
    let report = observer.shutdown(super::SHUTDOWN);
    let report = serde_json::to_string(&report).expect("a report serialises");
    println!("REPORT {report}");
}

/// Runs this test binary's test `child` (exactly that one) in a new mount namespace,
/// with `var` set to `dir` (which the child creates and this removes once it has
/// ended). Kills it if it has not finished within `limit`.
///
/// # Panics
/// When `unshare` cannot be started, the child outlives `limit` (a hang) or fails
/// (a panic in it).
pub fn run_in_mount_namespace(child: &str, var: &str, dir: &Path, limit: Duration) -> ChildRun {
    let mut process = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().expect("the test binary"))
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(var, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux unshare runs");
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = reader(process.stdout.take().map(|p| Box::new(p) as _));
    let stderr = reader(process.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = process.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = process.kill();
            let _ = process.wait();
            panic!(
                "{child} did not finish within {limit:?} (a hang); stdout:\n{}",
                stdout.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    );
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        status.success(),
        "{child} failed (a panic?): {status}\n{stdout}\n{stderr}"
    );
    ChildRun { stdout }
}
