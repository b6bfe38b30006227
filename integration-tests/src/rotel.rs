//! A real OTLP collector for tests: the `rotel-agent` binary, run as a child process.
//!
//! [`Rotel`] starts `$ROTEL_AGENT` in the foreground, receiving OTLP/gRPC and
//! OTLP/HTTP on free `127.0.0.1` ports and forwarding traces over OTLP/gRPC to a
//! downstream endpoint (typically an [`OtlpReceiver`](crate::OtlpReceiver)). The
//! command line is:
//!
//! ```text
//! rotel-agent start \
//!   --otlp-grpc-endpoint 127.0.0.1:G --otlp-http-endpoint 127.0.0.1:H \
//!   --exporter otlp --otlp-exporter-endpoint http://127.0.0.1:D --otlp-exporter-protocol grpc \
//!   --batch-timeout 10ms \
//!   --otlp-exporter-retry-initial-backoff 100ms --otlp-exporter-retry-max-backoff 1s \
//!   --otlp-exporter-request-timeout 2s \
//!   --pid-file <tmp> --log-file <tmp>
//! ```
//!
//! It is ready once it has logged `Starting Rotel.` (printed only after both
//! listeners are bound; a failed bind exits with status 1 instead) and both ports
//! accept connections. Its stdout and stderr are captured ([`Rotel::logs`]) and
//! printed if a test panics while it runs.
//!
//! The child is killed and reaped on drop, also when a test panics; on Linux it
//! is also killed by the kernel if the test process dies (`PR_SET_PDEATHSIG`).

use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Environment variable naming the `rotel-agent` binary.
pub const ROTEL_AGENT_ENV: &str = "ROTEL_AGENT";

/// The line rotel logs once its receivers are bound.
const READY_LINE: &str = "Starting Rotel.";

/// How long [`Rotel`] waits for the agent to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a graceful [`Rotel::terminate`] may take before the agent is killed.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of the `rotel-agent` binary.
///
/// Taken from `$ROTEL_AGENT`; if unset, from the venv that `scripts/test`
/// installs under `target/test-tools/venv`, if present.
///
/// # Panics
/// If neither is available, telling to run `scripts/test`.
pub fn rotel_agent_path() -> PathBuf {
    if let Some(path) = std::env::var_os(ROTEL_AGENT_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{ROTEL_AGENT_ENV}={} does not exist; run `scripts/test` to install rotel",
            path.display()
        );
        return path;
    }
    installed_rotel_agent().unwrap_or_else(|| {
        panic!(
            "{ROTEL_AGENT_ENV} is not set. Run the tests through `scripts/test` (it installs \
             rotel into target/test-tools and sets {ROTEL_AGENT_ENV}), or set \
             {ROTEL_AGENT_ENV}=/path/to/rotel-agent"
        )
    })
}

/// The agent installed by `scripts/test` in this workspace, if any.
fn installed_rotel_agent() -> Option<PathBuf> {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages/rotel/rotel-agent"))
        .find(|path| path.is_file())
}

/// Settings for a [`Rotel`]; made by [`Rotel::builder`].
#[derive(Debug, Clone)]
pub struct RotelBuilder {
    downstream: String,
    batch_timeout: Duration,
    retry_initial_backoff: Duration,
    retry_max_backoff: Duration,
    request_timeout: Duration,
    extra_args: Vec<String>,
}

impl RotelBuilder {
    /// How long rotel batches spans before forwarding them (default 10 ms;
    /// rotel's own default is 200 ms).
    pub fn batch_timeout(mut self, timeout: Duration) -> Self {
        self.batch_timeout = timeout;
        self
    }

    /// Backoff before rotel's first retry of a failed forward (default 100 ms;
    /// rotel's own default is 5 s). Retries are jittered.
    pub fn retry_initial_backoff(mut self, backoff: Duration) -> Self {
        self.retry_initial_backoff = backoff;
        self
    }

    /// Upper bound of rotel's retry backoff (default 1 s; rotel's own is 30 s).
    pub fn retry_max_backoff(mut self, backoff: Duration) -> Self {
        self.retry_max_backoff = backoff;
        self
    }

    /// Timeout of one forward request (default 2 s; rotel's own is 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Appends a raw argument to `rotel-agent start` (see `rotel-agent start --help`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Starts the agent and waits until it is ready.
    ///
    /// # Panics
    /// If the binary is missing or the agent does not become ready within
    /// [`READY_TIMEOUT`]; the message includes its output.
    pub fn start(self) -> Rotel {
        self.try_start()
            .unwrap_or_else(|e| panic!("failed to start rotel: {e}"))
    }

    /// Like [`start`](Self::start), but returns an error instead of panicking
    /// when the agent does not come up (still panics if the binary is missing).
    pub fn try_start(self) -> io::Result<Rotel> {
        let binary = rotel_agent_path();
        let mut last_error = None;
        // A port chosen as free may be taken before rotel binds it; then rotel
        // exits and we try again with other ports.
        for _ in 0..3 {
            let grpc_addr = free_local_addr()?;
            let http_addr = free_local_addr()?;
            let mut rotel = Rotel {
                binary: binary.clone(),
                settings: self.clone(),
                grpc_addr,
                http_addr,
                child: None,
                log: Arc::new(Mutex::new(String::new())),
                log_threads: Vec::new(),
            };
            match rotel.launch() {
                Ok(()) => return Ok(rotel),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("rotel did not start")))
    }
}

/// A running (or stopped) `rotel-agent`; see the [module docs](self).
#[derive(Debug)]
pub struct Rotel {
    binary: PathBuf,
    settings: RotelBuilder,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    log_threads: Vec<JoinHandle<()>>,
}

impl Rotel {
    /// Starts rotel forwarding traces to the OTLP/gRPC endpoint `downstream`
    /// (e.g. [`OtlpReceiver::endpoint`](crate::OtlpReceiver::endpoint)) with the
    /// default settings, and waits until it is ready.
    ///
    /// # Panics
    /// See [`RotelBuilder::start`].
    pub fn start(downstream: &str) -> Self {
        Self::builder(downstream).start()
    }

    /// Settings for a rotel forwarding traces to the OTLP/gRPC endpoint `downstream`.
    pub fn builder(downstream: &str) -> RotelBuilder {
        RotelBuilder {
            downstream: downstream.to_owned(),
            batch_timeout: Duration::from_millis(10),
            retry_initial_backoff: Duration::from_millis(100),
            retry_max_backoff: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            extra_args: Vec::new(),
        }
    }

    /// Its OTLP/gRPC endpoint, `http://127.0.0.1:PORT`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Its OTLP/HTTP base endpoint, `http://127.0.0.1:PORT` (traces: `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Its OTLP/HTTP traces URL, `http://127.0.0.1:PORT/v1/traces`.
    pub fn http_traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.http_addr)
    }

    /// Its OTLP/gRPC listening address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Its OTLP/HTTP listening address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the agent process is still alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The full command line used to start the agent.
    pub fn command_line(&self) -> Vec<String> {
        let mut line = vec![self.binary.display().to_string()];
        line.extend(self.args());
        line
    }

    /// Everything the agent printed so far (stdout and stderr, across restarts).
    pub fn logs(&self) -> String {
        lock(&self.log).clone()
    }

    /// Kills the agent at once (SIGKILL), losing whatever it buffered, and waits
    /// for it. Its ports refuse connections afterwards. No-op if not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Fails only if it already exited, which is fine.
            let _ = child.kill();
            let _ = child.wait();
        }
        self.join_log_threads();
    }

    /// Stops the agent gracefully (SIGTERM: it flushes what it holds), waiting at
    /// most 10 s before killing it. Returns its exit status, if it was running.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let status = match libc::pid_t::try_from(child.id()) {
            // SAFETY: plain kill(2) on our own, not yet reaped, child.
            Ok(pid) if unsafe { libc::kill(pid, libc::SIGTERM) } == 0 => {
                wait_timeout(&mut child, TERMINATE_TIMEOUT)
            }
            _ => None,
        };
        let status = status.or_else(|| {
            let _ = child.kill();
            child.wait().ok()
        });
        self.join_log_threads();
        status
    }

    /// Starts the agent again on the same ports (stopping it first if it runs),
    /// and waits until it is ready.
    ///
    /// # Panics
    /// If it does not become ready within [`READY_TIMEOUT`].
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.launch() {
                Ok(()) => return,
                // The old ports may be briefly unavailable; keep trying.
                Err(e) if Instant::now() < deadline => {
                    lock(&self.log).push_str(&format!("[harness] restart failed, retrying: {e}\n"));
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("failed to restart rotel: {e}"),
            }
        }
    }

    fn args(&self) -> Vec<String> {
        let s = &self.settings;
        let scratch = std::env::temp_dir().join(format!(
            "rotel-test-{}-{}",
            std::process::id(),
            self.grpc_addr.port()
        ));
        let mut args: Vec<String> = vec![
            "start".into(),
            "--otlp-grpc-endpoint".into(),
            self.grpc_addr.to_string(),
            "--otlp-http-endpoint".into(),
            self.http_addr.to_string(),
            "--exporter".into(),
            "otlp".into(),
            "--otlp-exporter-endpoint".into(),
            s.downstream.clone(),
            "--otlp-exporter-protocol".into(),
            "grpc".into(),
            "--batch-timeout".into(),
            millis(s.batch_timeout),
            "--otlp-exporter-retry-initial-backoff".into(),
            millis(s.retry_initial_backoff),
            "--otlp-exporter-retry-max-backoff".into(),
            millis(s.retry_max_backoff),
            "--otlp-exporter-request-timeout".into(),
            millis(s.request_timeout),
            // Only used with --daemon, but keep parallel agents off the shared defaults.
            "--pid-file".into(),
            scratch.with_extension("pid").display().to_string(),
            "--log-file".into(),
            scratch.with_extension("log").display().to_string(),
        ];
        args.extend(s.extra_args.iter().cloned());
        args
    }

    /// Spawns the agent and waits until it is ready; on failure it is stopped again.
    fn launch(&mut self) -> io::Result<()> {
        let mut command = Command::new(&self.binary);
        command
            .args(self.args())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROTEL_") {
                command.env_remove(key);
            }
        }
        let log_start = {
            let mut log = lock(&self.log);
            log.push_str(&format!("[harness] $ {}\n", self.command_line().join(" ")));
            log.len()
        };

        let mut child = spawn_tied_to_process(command)?;
        if let Some(stdout) = child.stdout.take() {
            self.log_threads
                .push(capture(stdout, Arc::clone(&self.log))?);
        }
        if let Some(stderr) = child.stderr.take() {
            self.log_threads
                .push(capture(stderr, Arc::clone(&self.log))?);
        }
        self.child = Some(child);

        match self.wait_ready(log_start) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.stop();
                let output = lock(&self.log)[log_start..].to_owned();
                Err(io::Error::new(
                    e.kind(),
                    format!("{e}; rotel output:\n{output}"),
                ))
            }
        }
    }

    fn wait_ready(&mut self, log_start: usize) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    return Err(io::Error::other(format!("rotel exited early ({status})")));
                }
            }
            let logged_ready = lock(&self.log)[log_start..].contains(READY_LINE);
            if logged_ready && accepts(self.grpc_addr) && accepts(self.http_addr) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("rotel not ready after {READY_TIMEOUT:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn join_log_threads(&mut self) {
        for thread in self.log_threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "---- rotel output (grpc {}, http {}) ----\n{}---- end of rotel output ----",
                self.grpc_addr,
                self.http_addr,
                self.logs()
            );
        }
    }
}

fn lock(log: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

/// A `127.0.0.1` address with a port that was free a moment ago.
fn free_local_addr() -> io::Result<SocketAddr> {
    TcpListener::bind(("127.0.0.1", 0))?.local_addr()
}

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// Copies a child's output, line by line, into `log` until it closes.
fn capture(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rotel-log".into())
        .spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let mut log = lock(&log);
                log.push_str(&String::from_utf8_lossy(&line));
                if !line.ends_with(b"\n") {
                    log.push('\n');
                }
                line.clear();
            }
        })
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` so that it dies with this process, even if the process is
/// killed without running destructors.
///
/// On Linux this uses `PR_SET_PDEATHSIG`, which fires when the *thread* that
/// forked the child exits. Test threads end with their test, while a `Rotel` may
/// outlive one (e.g. in a `static`), so all children are forked by one
/// long-lived thread.
fn spawn_tied_to_process(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<SpawnRequest>();
        let started = std::thread::Builder::new()
            .name("rotel-spawner".into())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    tie_to_parent(&mut command);
                    let _ = reply.send(command.spawn());
                }
            });
        if let Err(e) = started {
            panic!("cannot start the rotel spawner thread: {e}");
        }
        requests
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .send((command, reply))
        .map_err(|_| io::Error::other("the rotel spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the rotel spawner thread is gone"))?
}

#[cfg(target_os = "linux")]
fn tie_to_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid is async-signal-safe.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec and only calls
    // async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn tie_to_parent(_command: &mut Command) {}
