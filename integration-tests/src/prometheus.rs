//! A real Prometheus for tests: the `prometheus` binary as a child process that
//! scrapes loopback targets every second, queried through its HTTP API; and
//! `promtool check metrics` on an exposition.
//!
//! The binaries come from `$PROMETHEUS` and `$PROMTOOL` (set by `scripts/test`,
//! which installs Debian's `prometheus` package when they are missing), else from
//! `PATH`. Prometheus listens on a free `127.0.0.1` port, keeps its data in a
//! temporary directory, and is killed (and the directory removed) on drop; on Linux
//! it also dies with the test process (`PR_SET_PDEATHSIG`).

use crate::http::http_get;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variables naming the binaries.
pub const PROMETHEUS_ENV: &str = "PROMETHEUS";
pub const PROMTOOL_ENV: &str = "PROMTOOL";

/// How long Prometheus may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The binary named by `var`, or `name` on `PATH`.
///
/// # Panics
/// When neither exists, telling to run `scripts/test`.
fn binary(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found (${var} unset, not on PATH); run `scripts/test`, which installs it")
        })
}

/// A running Prometheus; see the [module docs](self).
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus scraping `http://TARGET/metrics` of each target every second
    /// (job `observer`), and waits until it is ready.
    ///
    /// # Panics
    /// When the binary is missing or Prometheus does not become ready in 30 s.
    pub fn start(targets: &[SocketAddr]) -> Self {
        Self::start_jobs(&[("observer", targets)])
    }

    /// Like [`start`](Self::start), with one scrape job per `(job name, targets)`.
    ///
    /// # Panics
    /// When the binary is missing or Prometheus does not become ready in 30 s.
    pub fn start_jobs(jobs: &[(&str, &[SocketAddr])]) -> Self {
        Self::start_with_flags(jobs, &[])
    }

    /// Like [`start_jobs`](Self::start_jobs), with extra command-line flags
    /// (`--enable-feature=exemplar-storage`).
    ///
    /// # Panics
    /// When the binary is missing or Prometheus does not become ready in 30 s.
    pub fn start_with_flags(jobs: &[(&str, &[SocketAddr])], flags: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tracing-observer-prometheus-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("create the Prometheus directory");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for (job, targets) in jobs {
            let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
            config += &format!(
                "  - job_name: {job}\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
                 \x20   static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            );
        }
        std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("create the log");
        let mut command = Command::new(binary(PROMETHEUS_ENV, "prometheus"));
        command
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        die_with_parent(&mut command);
        let child = command.spawn().expect("start prometheus");
        let prometheus = Self { child, addr, dir };
        let deadline = Instant::now() + READY_TIMEOUT;
        while !matches!(http_get(addr, "/-/ready"), Ok(r) if r.status == 200) {
            assert!(
                Instant::now() < deadline,
                "prometheus was not ready within {READY_TIMEOUT:?}; log:\n{}",
                prometheus.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus
    }

    /// Its HTTP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// The result vector of an instant query (`data.result`).
    ///
    /// # Panics
    /// When the query fails.
    pub fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        self.try_query(expr)
            .unwrap_or_else(|e| panic!("query {expr:?}: {e}"))
    }

    /// The result vector of an instant query, or why there is none (the request
    /// failed, or Prometheus refused the query: its answer).
    pub fn try_query(&self, expr: &str) -> Result<Vec<serde_json::Value>, String> {
        let response = http_get(self.addr, &format!("/api/v1/query?query={}", encode(expr)))
            .map_err(|e| e.to_string())?;
        let json = response.json();
        if json["status"] != "success" {
            return Err(response.body);
        }
        Ok(json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The `data` array of `/api/v1/query_exemplars` for `expr` over the last hour.
    ///
    /// # Panics
    /// When the query fails.
    pub fn query_exemplars(&self, expr: &str) -> Vec<serde_json::Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let path = format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            encode(expr),
            now - 3600,
            now + 60
        );
        let response = http_get(self.addr, &path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json = response.json();
        assert_eq!(json["status"], "success", "{path}: {}", response.body);
        json["data"].as_array().cloned().unwrap_or_default()
    }

    /// Queries until `done` accepts the result or `timeout` passes; returns the last result.
    pub fn query_until(
        &self,
        expr: &str,
        timeout: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(expr);
            if done(&result) || Instant::now() >= deadline {
                return result;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("prometheus log:\n{}", self.logs());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `promtool check metrics` on `exposition`: whether it passed, and its output.
///
/// # Panics
/// When promtool cannot be run.
pub fn promtool_check_metrics(exposition: &str) -> (bool, String) {
    let mut child = Command::new(binary(PROMTOOL_ENV, "promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Percent-encodes a query parameter.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}
