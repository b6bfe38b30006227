//! The HTTP endpoints (`OBSERVER_HTTP_ADDR`): span metrics and self-metrics on
//! `/metrics`, the health probes and their aggregation, `/circuit-breakers`, 404s,
//! and a port in use as a build error. Loopback only, no collector needed.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::{builder, closed_endpoint, observe, WAIT};
use integration_tests::{http_get, metric_sample, HttpResponse};
use tracing_observer::health::HealthCheck;
use tracing_observer::{
    config::SpanMetricsProfile, config::TracesExporter, Observer, ObserverBuilder,
};

const SERVICE: &str = "ops-endpoints";

fn with_http() -> ObserverBuilder {
    builder()
        .service_name(SERVICE)
        .traces_exporter(TracesExporter::None)
        .http_addr("127.0.0.1:0".parse().unwrap())
}

fn addr(observer: &Observer) -> SocketAddr {
    observer.http_addr().expect("the endpoints are on")
}

fn get(observer: &Observer, path: &str) -> HttpResponse {
    http_get(addr(observer), path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

#[tracing::instrument(fields(otel.kind = "server"))]
fn handle(request: u64) -> Result<(), String> {
    if request.is_multiple_of(4) {
        tracing::error!("request {request} failed");
        return Err("failed".into());
    }
    Ok(())
}

#[test]
fn red_metrics_count_every_span_with_collector_labels() {
    let observer = with_http()
        .span_metrics_dimensions(["code.module.name"])
        .build()
        .expect("observer builds");
    observe(&observer, || {
        for request in 1..=12 {
            let _ = handle(request);
        }
    });
    observer.force_flush(WAIT).expect("flush");

    let response = get(&observer, "/metrics");
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let text = &response.body;
    let labels = |status: &str| {
        format!(
            "service_name=\"{SERVICE}\",span_name=\"handle\",span_kind=\"SPAN_KIND_SERVER\",\
             status_code=\"{status}\",code_module_name=\"operations_endpoints\""
        )
    };
    let calls = |status: &str| {
        metric_sample(
            text,
            &format!("traces_span_metrics_calls_total{{{}}}", labels(status)),
        )
    };
    assert_eq!(calls("STATUS_CODE_UNSET"), Some(9.0), "{text}");
    assert_eq!(calls("STATUS_CODE_ERROR"), Some(3.0), "{text}");
    let count = metric_sample(
        text,
        &format!(
            "traces_span_metrics_duration_milliseconds_count{{{}}}",
            labels("STATUS_CODE_UNSET")
        ),
    );
    assert_eq!(count, Some(9.0), "{text}");
    let inf_bucket = format!(
        "traces_span_metrics_duration_milliseconds_bucket{{{},le=\"+Inf\"}}",
        labels("STATUS_CODE_ERROR")
    );
    assert_eq!(metric_sample(text, &inf_bucket), Some(3.0), "{text}");
    for le in ["2", "4", "6", "8", "10", "50", "100", "15000"] {
        assert!(
            text.contains(&format!("le=\"{le}\"")),
            "bucket {le} missing"
        );
    }

    // Self-metrics agree with the report.
    assert_eq!(
        metric_sample(text, "tracing_observer_spans_recorded_total"),
        Some(12.0)
    );
    assert_eq!(
        metric_sample(
            text,
            "tracing_observer_spans_dropped_total{reason=\"no_exporter\"}"
        ),
        Some(12.0)
    );
    assert!(text.contains("# TYPE tracing_observer_export_duration_seconds histogram"));
    assert!(text.contains("# HELP tracing_observer_queue_spans "));
    assert!(text.contains("process_memory_usage_bytes"), "{text}");
    observer.shutdown(WAIT);
}

#[test]
fn tempo_profile_is_served_in_seconds() {
    let observer = with_http()
        .span_metrics_profile(SpanMetricsProfile::Tempo)
        .build()
        .expect("observer builds");
    observe(&observer, || {
        let _ = handle(1);
    });
    observer.force_flush(WAIT).expect("flush");
    let text = get(&observer, "/metrics").body;
    let series = format!(
        "traces_spanmetrics_calls_total{{service=\"{SERVICE}\",span_name=\"handle\",\
         span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"}}"
    );
    assert_eq!(metric_sample(&text, &series), Some(1.0), "{text}");
    assert!(text.contains("traces_spanmetrics_latency_bucket{"));
    assert!(text.contains("le=\"4.1\""), "Tempo's buckets: {text}");
    assert!(!text.contains("traces_span_metrics_calls_total"));
}

#[test]
fn probes_breakers_and_unknown_paths() {
    let observer = with_http().build().expect("observer builds");
    for path in ["/health/live", "/health/startup", "/health/ready"] {
        let response = get(&observer, path);
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        assert_eq!(response.json()["status"], "HEALTHY", "{path}");
    }
    let health = get(&observer, "/health").json();
    assert_eq!(health["status"], "HEALTHY", "{health}");
    let names: Vec<&str> = health["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The spool is off here, so it has no component; the observer's export breaker
    // makes the circuit_breakers component.
    assert_eq!(
        names,
        [
            "worker",
            "queue",
            "exporter",
            "overhead",
            "circuit_breakers"
        ]
    );
    assert!(health["components"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["critical"] == false));

    let breakers = get(&observer, "/circuit-breakers");
    assert_eq!(breakers.status, 200);
    let list = breakers.json();
    let export = list
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == format!("otlp-export:{SERVICE}"))
        .unwrap_or_else(|| panic!("the export breaker is listed: {list}"))
        .clone();
    assert_eq!(export["state"], "CLOSED");
    let metrics = get(&observer, "/metrics").body;
    assert!(
        metrics.contains(&format!(
            "tracing_observer_breaker_state{{breaker=\"otlp-export:{SERVICE}\"}} 0"
        )),
        "{metrics}"
    );
    assert_eq!(get(&observer, "/nope").status, 404);
    assert_eq!(get(&observer, "/health/other").status, 404);
    observer.shutdown(WAIT);
}

/// `/circuit-breakers` as (name, state) pairs, in its order.
fn breaker_list(observer: &Observer) -> Vec<(String, String)> {
    let list = get(observer, "/circuit-breakers").json();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    (list
        .as_array()
        .unwrap_or_else(|| panic!("a JSON list: {list}")))
    .iter()
    .map(|b| (text(&b["name"]), text(&b["state"])))
    .collect()
}

fn state_of<'a>(list: &'a [(String, String)], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|(n, _)| n == name)
        .map(|(_, state)| state.as_str())
}

#[test]
fn each_observer_lists_its_own_export_breaker_and_the_applications() {
    let app = tracing_observer::breaker::breakers().get_or_create(
        "endpoints-test-inventory",
        tracing_observer::breaker::BreakerConfig::default(),
    );
    let failing = builder()
        .service_name("endpoints-failing")
        .endpoint(closed_endpoint())
        .circuit_breaker_threshold(1)
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("observer builds");
    let idle = with_http().build().expect("observer builds");
    let (failing_export, idle_export) = (
        "otlp-export:endpoints-failing",
        format!("otlp-export:{SERVICE}"),
    );
    observe(&failing, || tracing::info_span!("lost").in_scope(|| {}));
    let deadline = Instant::now() + WAIT;
    while state_of(&breaker_list(&failing), failing_export) == Some("CLOSED")
        && Instant::now() < deadline
    {
        let _ = failing.force_flush(Duration::from_millis(200));
    }

    let list = breaker_list(&failing);
    assert_eq!(
        list[0].0, failing_export,
        "its own export breaker first: {list:?}"
    );
    assert_ne!(list[0].1, "CLOSED", "failed exports open it: {list:?}");
    assert_eq!(
        state_of(&list, "endpoints-test-inventory"),
        Some("CLOSED"),
        "{list:?}"
    );
    assert_eq!(
        state_of(&list, &idle_export),
        None,
        "not the other observer's: {list:?}"
    );

    // The other observer in the same process is told apart and unaffected.
    let list = breaker_list(&idle);
    assert_eq!(
        list[0],
        (idle_export.clone(), "CLOSED".to_owned()),
        "{list:?}"
    );
    assert_eq!(state_of(&list, failing_export), None, "{list:?}");
    assert_eq!(
        state_of(&list, "endpoints-test-inventory"),
        Some("CLOSED"),
        "{list:?}"
    );
    let health = get(&idle, "/health").json();
    assert_eq!(health["status"], "HEALTHY", "{health}");
    let metrics = get(&idle, "/metrics").body;
    assert!(!metrics.contains(failing_export), "{metrics}");

    app.reset();
    failing.shutdown(WAIT);
    idle.shutdown(WAIT);
}

#[test]
fn critical_check_failing_is_unhealthy_503() {
    let observer = with_http().build().expect("observer builds");
    observer
        .health()
        .register(HealthCheck::new("database", || Err("connection refused".into())).critical(true));
    let ready = get(&observer, "/health/ready");
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.json()["status"], "UNHEALTHY");
    let health = get(&observer, "/health");
    assert_eq!(health.status, 503);
    let json = health.json();
    let database = json["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "database")
        .expect("the app check is listed")
        .clone();
    assert_eq!(database["status"], "UNHEALTHY");
    assert_eq!(database["critical"], true);
    assert_eq!(database["message"], "connection refused");
    // Liveness does not depend on checks.
    assert_eq!(get(&observer, "/health/live").status, 200);
    observer.shutdown(WAIT);
}

#[test]
fn non_critical_check_failing_is_degraded_200() {
    let observer = with_http().build().expect("observer builds");
    observer
        .health()
        .register(HealthCheck::new_async("cache", || async {
            Err("cold".to_owned())
        }));
    let ready = get(&observer, "/health/ready");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "DEGRADED");
    observer.shutdown(WAIT);
}

#[test]
fn slow_check_times_out() {
    let observer = with_http().build().expect("observer builds");
    observer.health().register(
        HealthCheck::new_async("slow", || async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        })
        .critical(true)
        .timeout(Duration::from_millis(200)),
    );
    let started = Instant::now();
    let health = get(&observer, "/health");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(health.status, 503);
    let slow = health.json()["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "slow")
        .cloned()
        .unwrap();
    assert!(
        slow["message"].as_str().unwrap().starts_with("timed out"),
        "{slow}"
    );
    observer.shutdown(WAIT);
}

#[test]
fn a_collector_outage_degrades_but_keeps_the_host_ready() {
    let observer = builder()
        .service_name(SERVICE)
        .endpoint(closed_endpoint())
        .request_timeout(Duration::from_millis(500))
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("observer builds");
    observe(&observer, || {
        let _ = handle(1);
    });
    // Retries go on in the background; one failed attempt is enough here.
    let _ = observer.force_flush(Duration::from_secs(2));
    let health = get(&observer, "/health/ready");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "DEGRADED");
    let metrics = get(&observer, "/metrics").body;
    let failures = metric_sample(
        &metrics,
        "tracing_observer_export_failures_total{kind=\"connect\"}",
    );
    assert!(failures.is_some_and(|n| n >= 1.0), "{metrics}");
    observer.shutdown(Duration::from_secs(1));
}

#[test]
fn a_port_in_use_is_a_build_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = builder()
        .environment([("OBSERVER_HTTP_ADDR", addr.as_str())])
        .build()
        .expect_err("the port is taken");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "OBSERVER_HTTP_ADDR={addr} (environment): cannot listen on this address"
        )),
        "{message}"
    );
}

#[test]
fn endpoints_are_off_by_default() {
    let observer = builder().build().expect("observer builds");
    assert_eq!(observer.http_addr(), None);
    assert!(observer
        .metrics_text()
        .contains("tracing_observer_spans_recorded_total 0"));
}
