//! Helpers shared by the integration test binaries: observers wired to a test
//! receiver with the process environment shut out, per-test subscribers,
//! runtimes whose threads see the subscriber, and time bounds.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod mount;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use integration_tests::{attr, http_get, HttpResponse, OtlpReceiver, ReceivedSpan};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use tracing::Dispatch;
use tracing_observer::{config::Protocol, Observer, ObserverBuilder, ShutdownReport};
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

/// Flushes until `done` holds for the observer's stats, at most `limit`.
pub fn wait_for_stats(
    observer: &Observer,
    limit: Duration,
    done: impl Fn(&tracing_observer::PipelineStats) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(&observer.stats()) && Instant::now() < deadline {
        let _ = observer.force_flush(Duration::from_millis(200));
    }
}

/// The `spool` component of the observer's `/health` (`null` when there is none).
///
/// # Panics
/// When the observer serves no endpoints or `/health` does not answer with JSON.
pub fn spool_health(observer: &Observer) -> serde_json::Value {
    let addr = observer.http_addr().expect("the observer serves /health");
    let health = http_get(addr, "/health").expect("GET /health").json();
    health["components"]
        .as_array()
        .and_then(|components| components.iter().find(|c| c["name"] == "spool"))
        .cloned()
        .unwrap_or_default()
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

/// The `loadgen` example binary; see [`example_path`].
pub fn loadgen_path() -> PathBuf {
    example_path("loadgen")
}

/// The example binary `name`, next to this test binary's profile directory, or
/// in `$CARGO_TARGET_DIR/debug/examples`, or in the workspace's `target/debug/examples`.
///
/// # Panics
/// When it is not built, telling how to build it.
pub fn example_path(name: &str) -> PathBuf {
    built_path(Some("examples"), name).unwrap_or_else(|candidates| {
        panic!(
            "the {name} example is not built (looked for {candidates:?}); run \
             `cargo build --all-features --example {name}` (`cargo test --workspace \
             --all-features` builds it too)"
        )
    })
}

/// The `tracing-observer` command-line tool (crate `tracing-observer-cli`), in this test
/// binary's profile directory, or in `$CARGO_TARGET_DIR/debug`, or in the workspace's
/// `target/debug`.
///
/// # Panics
/// When it is not built, telling how to build it.
pub fn cli_path() -> PathBuf {
    built_path(None, "tracing-observer").unwrap_or_else(|candidates| {
        panic!(
            "the tracing-observer binary is not built (looked for {candidates:?}); run \
             `cargo build -p tracing-observer-cli` (`cargo test --workspace --all-features` \
             builds it too)"
        )
    })
}

/// Where the workspace's binary `name` is built (in `subdir` of the profile
/// directory, if given); the places looked at when it is nowhere.
fn built_path(subdir: Option<&str>, name: &str) -> Result<PathBuf, Vec<PathBuf>> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let in_profile = |profile_dir: PathBuf| match subdir {
        Some(subdir) => profile_dir.join(subdir).join(&file),
        None => profile_dir.join(&file),
    };
    let mut candidates = Vec::new();
    // This binary is <target>/<profile>/deps/<test>-<hash>.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(in_profile(profile_dir.to_owned()));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        // A relative target dir is relative to where cargo ran, most likely the workspace.
        candidates.push(in_profile(workspace.join(dir).join("debug")));
    }
    candidates.push(in_profile(workspace.join("target/debug")));
    match candidates.iter().find(|path| path.is_file()) {
        Some(path) => Ok(path.clone()),
        None => Err(candidates),
    }
}

/// How long `axum_service` may take to start listening.
const SERVICE_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `axum_service` may take to shut down after SIGTERM.
const SERVICE_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `examples/axum_service.rs`, on free loopback ports, killed (and
/// reaped) on drop, also when the test panics.
pub struct AxumService {
    child: Child,
    /// Where the application listens.
    pub addr: SocketAddr,
    /// Where the observer serves `/metrics` and `/health` (`OBSERVER_HTTP_ADDR`).
    pub observer_addr: SocketAddr,
    stdout: Option<JoinHandle<String>>,
    stderr: Arc<Mutex<String>>,
}

impl AxumService {
    /// Starts the example with `args` (plus `--addr 127.0.0.1:0`), the observer's
    /// endpoints on a free port, no spool, and of the inherited `OTEL_*` /
    /// `OBSERVER_*` / `RUST_LOG` variables only `env`; waits until it listens.
    ///
    /// # Panics
    /// When it does not start listening within 30 s.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(example_path("axum_service"));
        command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        without_observer_env(&mut command);
        command
            .env_remove("RUST_LOG")
            .env("OBSERVER_HTTP_ADDR", "127.0.0.1:0")
            .env("OBSERVER_SPOOL", "off")
            .envs(env.iter().copied());
        let mut child = command.spawn().expect("start axum_service");
        let stdout = child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = out.read_to_string(&mut text);
                text
            })
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (listening, lines) = mpsc::channel();
        if let Some(err) = child.stderr.take() {
            let log = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if line.starts_with("axum_service: listening on ") {
                        let _ = listening.send(line.clone());
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut service = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            observer_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout,
            stderr,
        };
        let line = lines
            .recv_timeout(SERVICE_START_TIMEOUT)
            .unwrap_or_else(|_| {
                panic!(
                    "axum_service {args:?} did not start listening; stderr:\n{}",
                    service.stderr()
                )
            });
        // `axum_service: listening on http://ADDR, observer on http://ADDR`
        let addrs: Vec<SocketAddr> = line
            .split("http://")
            .skip(1)
            .map(|rest| rest.trim_end_matches(|c: char| !c.is_ascii_digit()))
            .map(|addr| addr.parse().unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect();
        assert_eq!(addrs.len(), 2, "{line}");
        (service.addr, service.observer_addr) = (addrs[0], addrs[1]);
        service
    }

    /// `GET path` from the application.
    ///
    /// # Panics
    /// When the request fails.
    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(self.addr, path).unwrap_or_else(|e| {
            panic!(
                "GET {path} from axum_service: {e}; stderr:\n{}",
                self.stderr()
            )
        })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends SIGTERM and waits for the exit: its status and its stdout.
    ///
    /// # Panics
    /// When it is still running 20 s later (it is then killed).
    pub fn terminate(&mut self) -> (ExitStatus, String) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill has no memory-safety preconditions; the pid is our unreaped child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + SERVICE_STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for axum_service") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "axum_service did not stop within {SERVICE_STOP_TIMEOUT:?} of SIGTERM; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = self
            .stdout
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        (status, stdout)
    }
}

impl Drop for AxumService {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("axum_service stderr:\n{}", self.stderr());
        }
    }
}

/// Keeps the developer's `OTEL_*` and `OBSERVER_*` variables (a collector endpoint, a
/// spool switch or directory) away from a child process: it runs with its own settings.
pub fn without_observer_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("OTEL_") || name.starts_with("OBSERVER_") {
            command.env_remove(&key);
        }
    }
}
