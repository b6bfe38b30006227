//! Helpers shared by the integration test binaries: observers wired to a test
//! receiver with the process environment shut out, per-test subscribers,
//! runtimes whose threads see the subscriber, and time bounds.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use integration_tests::{attr, OtlpReceiver, ReceivedSpan};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use tracing::Dispatch;
use tracing_observer::{Observer, ObserverBuilder, Protocol, ShutdownReport};
use tracing_subscriber::prelude::*;

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// The shutdown timeout of tests that expect everything to be exported.
pub const SHUTDOWN: Duration = Duration::from_secs(10);

/// A builder that reads no process environment variables, so that a developer's
/// `OTEL_*` settings cannot leak into a test. Calling `.environment(..)` again
/// replaces this empty map. The disk spool is off (tests of delivery turn it on
/// with a directory of their own, see [`spool_builder`]), so that tests never share
/// a spool or replay each other's batches.
pub fn builder() -> ObserverBuilder {
    Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
}

/// A fresh, empty spool directory for one test.
pub fn spool_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tracing-observer-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A builder with the spool on in `dir`, environment shut out.
pub fn spool_builder(dir: &Path) -> ObserverBuilder {
    Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("delivery-tests")
        .spool_dir(dir)
}

/// The receiver's endpoint for `protocol` (HTTP gets `/v1/traces` appended by the crate).
pub fn endpoint_for(receiver: &OtlpReceiver, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => receiver.endpoint(),
        _ => receiver.http_endpoint(),
    }
}

/// A builder exporting to `receiver` over `protocol`, environment shut out.
pub fn builder_for(receiver: &OtlpReceiver, protocol: Protocol) -> ObserverBuilder {
    builder()
        .service_name("integration-tests")
        .endpoint(endpoint_for(receiver, protocol))
        .protocol(protocol)
}

/// An observer exporting to `receiver` over gRPC.
pub fn observer_for(receiver: &OtlpReceiver) -> Observer {
    builder_for(receiver, Protocol::Grpc)
        .build()
        .expect("observer builds")
}

/// A `Dispatch` of a fresh registry with the observer's layer.
pub fn dispatch(observer: &Observer) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(observer.layer()))
}

/// Runs `f` with the observer's layer as this thread's default subscriber.
pub fn observe<T>(observer: &Observer, f: impl FnOnce() -> T) -> T {
    tracing::dispatcher::with_default(&dispatch(observer), f)
}

/// A multi-thread tokio runtime whose every thread (workers and blocking pool)
/// has `dispatch` as its default subscriber, as a global subscriber would.
pub fn multi_thread_runtime(dispatch: &Dispatch, workers: usize) -> tokio::runtime::Runtime {
    use std::cell::RefCell;
    thread_local! {
        static GUARD: RefCell<Option<tracing::dispatcher::DefaultGuard>> =
            const { RefCell::new(None) };
    }
    let dispatch = dispatch.clone();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .on_thread_start(move || {
            let guard = tracing::dispatcher::set_default(&dispatch);
            GUARD.with(|slot| *slot.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| {
            GUARD.with(|slot| slot.borrow_mut().take());
        })
        .build()
        .expect("tokio runtime")
}

/// Checks the report's accounting identity and returns the report.
pub fn assert_accounted(report: &ShutdownReport) {
    let s = &report.stats;
    assert_eq!(
        s.recorded,
        s.exported + s.dropped.total() + s.pending,
        "recorded != exported + dropped + pending:\n{report}"
    );
}

/// Shuts down and asserts that every recorded span was exported, none dropped.
pub fn shutdown_complete(observer: &Observer) -> ShutdownReport {
    let report = observer.shutdown(SHUTDOWN);
    assert_accounted(&report);
    assert!(!report.timed_out, "shutdown timed out:\n{report}");
    assert_eq!(report.stats.dropped.total(), 0, "spans dropped:\n{report}");
    assert!(report.is_complete(), "not everything exported:\n{report}");
    report
}

/// An `http://127.0.0.1:PORT` endpoint where nothing listens (the port was free a moment ago).
pub fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    format!("http://{addr}")
}

/// The span named `name`, which must be the only one of that name.
pub fn only<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let named: Vec<_> = spans.iter().filter(|s| s.name() == name).collect();
    assert_eq!(
        named.len(),
        1,
        "expected exactly one span named {name:?}; got names {:?}",
        names(spans)
    );
    named[0]
}

/// The names of the spans, in order.
pub fn names(spans: &[ReceivedSpan]) -> Vec<&str> {
    spans.iter().map(ReceivedSpan::name).collect()
}

/// The span's events named `name`.
pub fn events_named<'a>(span: &'a ReceivedSpan, name: &str) -> Vec<&'a Event> {
    span.span.events.iter().filter(|e| e.name == name).collect()
}

/// Attribute `key` if it is an array of strings.
pub fn attr_str_array<T: integration_tests::Attributes + ?Sized>(
    item: &T,
    key: &str,
) -> Option<Vec<String>> {
    match attr(item, key)? {
        Value::ArrayValue(array) => array
            .values
            .iter()
            .map(|v| match &v.value {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Ends the test process if it is still alive when the limit passes: the only
/// way to bound a test whose failure mode is a deadlock of the test thread.
/// Disarmed when dropped.
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    pub fn arm(limit: Duration, what: &'static str) -> Self {
        let (disarm, disarmed) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(limit) {
                    eprintln!(
                        "watchdog: `{what}` did not finish within {limit:?} (deadlock?); \
                         ending the test process"
                    );
                    std::process::exit(102);
                }
            })
            .expect("spawn watchdog");
        Self { _disarm: disarm }
    }
}

/// `observer.toml` with the given contents, in a directory of its own under
/// the system temp directory (unique per process and file); both are deleted on drop.
pub struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    pub fn new(contents: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tracing-observer-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join("observer.toml");
        std::fs::write(&path, contents).expect("write temp config file");
        Self { dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `loadgen` example binary, next to this test binary's profile directory, or
/// in `$CARGO_TARGET_DIR/debug/examples`, or in the workspace's `target/debug/examples`.
pub fn loadgen_path() -> PathBuf {
    let name = format!("loadgen{}", std::env::consts::EXE_SUFFIX);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut candidates = Vec::new();
    // This binary is <target>/<profile>/deps/loadgen-<hash>.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join("examples").join(&name));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        // A relative target dir is relative to where cargo ran, most likely the workspace.
        let dir = workspace.join(dir);
        candidates.push(dir.join("debug/examples").join(&name));
    }
    candidates.push(workspace.join("target/debug/examples").join(&name));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the loadgen example is not built (looked for {candidates:?}); run \
                 `cargo build --example loadgen` (`cargo test --workspace` builds it too)"
            )
        })
}
