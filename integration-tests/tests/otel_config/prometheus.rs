//! The configs and dashboards with Prometheus' own tools: `promtool`, and a real
//! Prometheus that runs every panel's query.

use super::*;

/// `$VAR` if set, else `name` on the PATH.
fn tool(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[test]
#[ignore = "needs promtool; run scripts/test"]
fn promtool_accepts_the_prometheus_config() {
    let promtool = tool("PROMTOOL", "promtool").expect("promtool on PATH or $PROMTOOL");
    let output = Command::new(promtool)
        .args(["check", "config"])
        .arg(config_dir().join("prometheus.yml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Serves a Prometheus exposition of every documented metric on loopback; counters
/// and histogram counts grow with each scrape so rates and quantiles have data.
struct Exposition {
    addr: std::net::SocketAddr,
    scrapes: Arc<AtomicU64>,
}

impl Exposition {
    fn start(documented: BTreeSet<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let scrapes = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&scrapes);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = respond(stream, &exposition(&documented, n));
            }
        });
        Self { addr, scrapes }
    }
}

fn respond(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The exposition text after `n` scrapes: both span-metric profiles (on the
/// `service_name` and `service` labels), the self-metrics and process metrics.
fn exposition(documented: &BTreeSet<String>, n: u64) -> String {
    let mut out = String::new();
    let n = n as f64;
    for (span, kind) in [
        ("GET /checkout", "SPAN_KIND_SERVER"),
        ("load_cart", "SPAN_KIND_INTERNAL"),
    ] {
        for (status, share) in [("STATUS_CODE_UNSET", 3.0), ("STATUS_CODE_ERROR", 1.0)] {
            for (prefix, service, buckets, scale) in [
                (
                    "traces_span_metrics",
                    "service_name",
                    &[2.0, 10.0, 100.0, 1000.0][..],
                    1.0,
                ),
                (
                    "traces_spanmetrics",
                    "service",
                    &[0.002, 0.01, 0.1, 1.0][..],
                    0.001,
                ),
            ] {
                let labels = format!(
                    r#"{service}="shop",span_name="{span}",span_kind="{kind}",status_code="{status}""#
                );
                let calls = share * n;
                out += &format!("{prefix}_calls_total{{{labels}}} {calls}\n");
                let histogram = if prefix == "traces_span_metrics" {
                    "traces_span_metrics_duration_milliseconds"
                } else {
                    "traces_spanmetrics_latency"
                };
                for (i, le) in buckets.iter().enumerate() {
                    let cumulative = calls * (i + 1) as f64 / buckets.len() as f64;
                    out += &format!("{histogram}_bucket{{{labels},le=\"{le}\"}} {cumulative}\n");
                }
                out += &format!("{histogram}_bucket{{{labels},le=\"+Inf\"}} {calls}\n");
                out += &format!("{histogram}_sum{{{labels}}} {}\n", calls * 50.0 * scale);
                out += &format!("{histogram}_count{{{labels}}} {calls}\n");
            }
        }
    }
    for name in documented
        .iter()
        .filter(|m| m.starts_with("tracing_observer_") || m.starts_with("process_"))
    {
        let labels = match name.as_str() {
            "tracing_observer_spans_dropped_total" => r#"{reason="queue_full"}"#,
            "tracing_observer_export_failures_total" => r#"{kind="connect"}"#,
            "tracing_observer_breaker_state" => r#"{breaker="otlp"}"#,
            "tracing_observer_limit_cuts_total" => r#"{limit="attributes"}"#,
            _ => "",
        };
        if let Some(base) = name.strip_suffix("_bucket") {
            for (le, share) in [("0.01", 0.5), ("0.1", 0.9), ("+Inf", 1.0)] {
                out += &format!("{base}_bucket{{le=\"{le}\"}} {}\n", share * n);
            }
        } else if name.ends_with("_count") {
            out += &format!("{name}{labels} {n}\n");
        } else if name.ends_with("_total") {
            out += &format!("{name}{labels} {}\n", 10.0 * n);
        } else if name.ends_with("_sum") {
            out += &format!("{name}{labels} {}\n", 0.02 * n);
        } else {
            out += &format!("{name}{labels} 0.5\n");
        }
    }
    out
}

/// Grafana's variables, as a dashboard with everything selected would send them.
fn substitute(expr: &str, job: &str) -> String {
    expr.replace("$__rate_interval", "20s")
        .replace("$job", job)
        .replace("$service", ".*")
}

/// The span-metric profiles a RED query reads, `(collector) or (Tempo)`.
#[derive(Clone, Copy, Debug)]
enum Profile {
    Collector,
    Tempo,
}

/// `expr` with the other profile's selectors matching nothing, so that the `or`
/// can only answer from `profile`.
fn only_profile(expr: &str, profile: Profile) -> String {
    let other: &[&str] = match profile {
        Profile::Tempo => &[
            "traces_span_metrics_calls_total",
            "traces_span_metrics_duration_milliseconds_bucket",
            "traces_span_metrics_duration_milliseconds_sum",
            "traces_span_metrics_duration_milliseconds_count",
        ],
        Profile::Collector => &[
            "traces_spanmetrics_calls_total",
            "traces_spanmetrics_latency_bucket",
            "traces_spanmetrics_latency_sum",
            "traces_spanmetrics_latency_count",
        ],
    };
    other.iter().fold(expr.to_owned(), |expr, name| {
        expr.replace(&format!("{name}{{"), &format!("{name}{{absent=\"x\","))
    })
}

fn has_value(result: &[Json]) -> bool {
    result.iter().any(|series| {
        series["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    })
}

#[test]
#[ignore = "needs prometheus; run scripts/test"]
fn every_panel_query_returns_data_from_a_real_prometheus() {
    let documented = documented_metrics();
    let app = Exposition::start(documented.clone());
    let prometheus = Prometheus::start_jobs(&[("tracing-observer", &[app.addr])]);

    // Enough scrapes that 20 s rates have two samples or more.
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.scrapes.load(Ordering::SeqCst) < 6 {
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape; log:\n{}",
            prometheus.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));

    let mut failures = Vec::new();
    for (name, title, expr) in panel_exprs().into_iter().chain(variable_exprs()) {
        let query = substitute(&expr, "tracing-observer");
        match prometheus.try_query(&query) {
            Ok(result) if has_value(&result) => {}
            Ok(result) => failures.push(format!(
                "{name}: {title}: no finite value from {query}: {result:?}"
            )),
            Err(e) => failures.push(format!("{name}: {title}: {query}: {e}")),
        }
    }
    // The Tempo half of each RED query answers on its own too.
    for (_, title, expr) in panel_exprs()
        .into_iter()
        .filter(|(n, ..)| n == "service-red.json")
    {
        let tempo_half = only_profile(&substitute(&expr, "tracing-observer"), Profile::Tempo);
        match prometheus.try_query(&tempo_half) {
            Ok(result) if has_value(&result) => {}
            other => failures.push(format!(
                "service-red.json: {title} (Tempo profile): {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// === against the example service ===

/// `(name, value)` pairs as `&str`s.
fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Stops [`drive_traffic`] when dropped, also when the test panics.
struct StopOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// How long the dashboard test drives traffic at most.
const TRAFFIC_LIMIT: Duration = Duration::from_secs(120);

/// Requests `/`, `/checkout` and `/fail` on the frontend and `/` and `/fail` on
/// the backend every 50 ms until `stop` is set (or [`TRAFFIC_LIMIT`] passes); the statuses
/// that were not the expected ones.
fn drive_traffic(
    frontend: std::net::SocketAddr,
    backend: std::net::SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut unexpected = Vec::new();
        let deadline = Instant::now() + TRAFFIC_LIMIT;
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            for (addr, path, expected) in [
                (frontend, "/", 200),
                (frontend, "/checkout", 200),
                (frontend, "/fail", 500),
                (backend, "/", 200),
                (backend, "/fail", 500),
            ] {
                match integration_tests::http_get(addr, path) {
                    Ok(response) if response.status == expected => {}
                    Ok(response) => unexpected.push(format!("{path}: {}", response.status)),
                    Err(e) => unexpected.push(format!("{path}: {e}")),
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        unexpected
    })
}

#[test]
#[ignore = "needs prometheus and the axum_service example; run scripts/test"]
fn every_panel_query_returns_data_from_the_example_service() {
    // Exports succeed (export latency, requests); the spool is on, in a directory of its own.
    let receiver = integration_tests::OtlpReceiver::start();
    let endpoint = receiver.endpoint();
    let spool = common::spool_dir("dashboards");
    let env = |service: &'static str, profile: &'static str| {
        vec![
            ("OTEL_SERVICE_NAME", service.to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
            ("OBSERVER_RESOURCE_INTERVAL", "1s".to_owned()),
            ("OBSERVER_SPAN_METRICS_PROFILE", profile.to_owned()),
            ("OBSERVER_SPOOL", "on".to_owned()),
            (
                "OBSERVER_SPOOL_DIR",
                spool.join(service).to_string_lossy().into_owned(),
            ),
        ]
    };
    // The backend speaks Tempo's profile, the frontend the collector's: between them
    // every half of every RED query has data.
    let backend = common::AxumService::start(&[], &borrowed(&env("backend", "tempo")));
    let frontend = common::AxumService::start(
        &["--downstream", &backend.url()],
        &borrowed(&env("frontend", "collector")),
    );

    let stop = StopOnDrop(Arc::new(std::sync::atomic::AtomicBool::new(false)));
    let traffic = drive_traffic(frontend.addr, backend.addr, Arc::clone(&stop.0));
    let observers = [frontend.observer_addr, backend.observer_addr];
    let prometheus = Prometheus::start_jobs(&[("tracing-observer", &observers)]);

    // Both targets up, and scraped often enough that 20 s rates have several samples.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scraped = r#"min(count_over_time(up{job="tracing-observer"}[20s])) >= 8 and count(up{job="tracing-observer"} == 1) == 2"#;
    while !prometheus.try_query(scraped).is_ok_and(|r| has_value(&r)) {
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape both services; log:\n{}",
            prometheus.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    let red = panel_exprs()
        .into_iter()
        .filter(|(n, ..)| n == "service-red.json")
        .flat_map(|(name, title, expr)| {
            [Profile::Collector, Profile::Tempo].map(|profile| {
                let title = format!("{title} ({profile:?} profile only)");
                (name.clone(), title, only_profile(&expr, profile))
            })
        });
    for (name, title, expr) in panel_exprs().into_iter().chain(variable_exprs()).chain(red) {
        let query = substitute(&expr, "tracing-observer");
        checked += 1;
        let missing = match prometheus.try_query(&query) {
            Ok(result) if has_value(&result) => continue,
            Ok(result) => format!("no finite value: {result:?}"),
            Err(e) => e,
        };
        failures.push(format!("{name}: {title}: {query}: {missing}"));
    }
    drop(stop);
    let unexpected = traffic.join().expect("traffic thread");
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    assert!(checked > 40, "only {checked} queries checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} dashboard queries returned no data:\n{}",
        failures.len(),
        failures.join("\n")
    );
    drop((frontend, backend, prometheus));
    let _ = std::fs::remove_dir_all(&spool);
}
