//! A real Prometheus scrapes the `loadgen` example's `/metrics` on loopback; its
//! HTTP API must show the RED series with the spanmetrics labels, and counts equal
//! to the spans produced. `promtool check metrics` judges the exposition.
//!
//! Needs `prometheus` and `promtool` (`scripts/test` installs them and sets
//! `$PROMETHEUS` / `$PROMTOOL`).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{builder, loadgen_path, observe, WAIT};
use integration_tests::{http_get, promtool_check_metrics, Prometheus};
use serde_json::Value;
use tracing_observer::{config::SpanMetricsProfile, config::TracesExporter};

/// 500 ops of depth 3, a fifth of them failing in their innermost span.
const OPS: u64 = 500;
const DEPTH: u64 = 3;
const FAILING: u64 = 100;
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(60);

/// The loadgen child, killed on drop.
struct Loadgen(Child);

impl Drop for Loadgen {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The sum of the samples of `name` in an exposition.
fn exposition_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn value(sample: &Value) -> f64 {
    sample["value"][1].as_str().unwrap().parse().unwrap()
}

#[test]
#[ignore = "needs prometheus and promtool; run scripts/test"]
fn prometheus_scrapes_red_metrics_that_count_every_span() {
    let addr = free_addr();
    let mut child = Command::new(loadgen_path())
        .args(["--ops", "500", "--threads", "2", "--depth", "3"])
        .args(["--error-rate", "0.2", "--linger", "90"])
        .env_clear()
        .env("OBSERVER_HTTP_ADDR", addr.to_string())
        .env("OTEL_TRACES_EXPORTER", "none")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start loadgen");
    let produced = OPS * DEPTH;

    // The exposition, once every span is counted.
    let deadline = Instant::now() + SCRAPE_TIMEOUT;
    let exposition = loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("loadgen exited early: {status}");
        }
        if let Ok(response) = http_get(addr, "/metrics") {
            if exposition_sum(&response.body, "traces_span_metrics_calls_total") == produced as f64
            {
                break response.body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "loadgen's /metrics never counted {produced} spans"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let _loadgen = Loadgen(child);

    // promtool: the only complaint allowed is the Collector's own histogram name,
    // which dashboards expect in milliseconds.
    let (_, output) = promtool_check_metrics(&exposition);
    let problems: Vec<&str> = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !l.starts_with("traces_span_metrics_duration_milliseconds use base unit \"seconds\"")
        })
        .collect();
    assert!(problems.is_empty(), "promtool check metrics: {output}");

    let prometheus = Prometheus::start(&[addr]);
    let total = prometheus.query_until(
        "sum(traces_span_metrics_calls_total{service_name=\"loadgen\"})",
        SCRAPE_TIMEOUT,
        |r| r.len() == 1 && value(&r[0]) == produced as f64,
    );
    assert_eq!(
        total.len(),
        1,
        "no RED series scraped; log:\n{}",
        prometheus.logs()
    );
    assert_eq!(value(&total[0]), produced as f64);

    // Labels: span names, kind, status; failures only on the leaves.
    let by_series = prometheus
        .query("sum by (span_name, span_kind, status_code) (traces_span_metrics_calls_total)");
    let mut series: Vec<(String, String, String, f64)> = by_series
        .iter()
        .map(|s| {
            let m = &s["metric"];
            let label = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (
                label("span_name"),
                label("span_kind"),
                label("status_code"),
                value(s),
            )
        })
        .collect();
    series.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let expected = vec![
        (
            "leaf".into(),
            "SPAN_KIND_INTERNAL".into(),
            "STATUS_CODE_ERROR".into(),
            FAILING as f64,
        ),
        (
            "leaf".into(),
            "SPAN_KIND_INTERNAL".into(),
            "STATUS_CODE_UNSET".into(),
            (OPS - FAILING) as f64,
        ),
        (
            "node".into(),
            "SPAN_KIND_INTERNAL".into(),
            "STATUS_CODE_UNSET".into(),
            (OPS * (DEPTH - 1)) as f64,
        ),
    ];
    assert_eq!(series, expected);

    // The histogram counts every span too, and the self-metrics agree.
    let counted = prometheus.query("sum(traces_span_metrics_duration_milliseconds_count)");
    assert_eq!(value(&counted[0]), produced as f64);
    let buckets =
        prometheus.query("count(count by (le) (traces_span_metrics_duration_milliseconds_bucket))");
    assert_eq!(value(&buckets[0]), 17.0, "16 bounds and +Inf");
    let recorded = prometheus.query("tracing_observer_spans_recorded_total");
    assert_eq!(value(&recorded[0]), produced as f64);
    let memory = prometheus.query("process_memory_usage_bytes");
    assert!(value(&memory[0]) > 0.0);
}

#[test]
#[ignore = "needs prometheus and promtool; run scripts/test"]
fn the_tempo_profile_passes_promtool() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .span_metrics_profile(SpanMetricsProfile::Tempo)
        .span_metrics_dimensions(["code.module.name"])
        .build()
        .expect("observer builds");
    observe(&observer, || {
        tracing::info_span!("work").in_scope(|| tracing::error!("failed"));
        tracing::info_span!("work").in_scope(|| {});
    });
    observer.force_flush(WAIT).expect("flush");
    let exposition = observer.metrics_text();
    assert!(
        exposition.contains("traces_spanmetrics_calls_total{"),
        "{exposition}"
    );
    let (passed, output) = promtool_check_metrics(&exposition);
    assert!(passed, "promtool check metrics:\n{output}\n{exposition}");
}
