//! Logs through a real collector: `tracing` events become OTLP log records that the
//! `rotel` agent receives (over OTLP/gRPC and OTLP/HTTP) and forwards to the
//! in-process receiver, correlated with their traces; errors outside spans arrive;
//! sampling, redaction, a collector outage (spool, then replay) and a flood are
//! accounted for in the report.
//!
//! Needs `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`).

mod common;

use common::{builder, observe, spool_builder, spool_dir, WAIT};
use integration_tests::{OtlpReceiver, ReceivedLog, Rotel};
use std::time::Duration;
use tracing_observer::config::{LogsExporter, Protocol};
use tracing_observer::{ObserverSpanExt, Sampler};

const SERVICE: &str = "logs-e2e";

fn by_body<'a>(logs: &'a [ReceivedLog], body: &str) -> &'a ReceivedLog {
    let found: Vec<_> = logs.iter().filter(|l| l.body() == Some(body)).collect();
    assert_eq!(found.len(), 1, "one log {body:?} in {logs:#?}");
    found[0]
}

fn logs_through_rotel(protocol: Protocol) {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let endpoint = match protocol {
        Protocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let observer = builder()
        .service_name(SERVICE)
        .endpoint(endpoint)
        .protocol(protocol)
        .logs_scheduled_delay(Duration::from_millis(50))
        .build()
        .expect("observer builds");
    let mut request_context = None;
    observe(&observer, || {
        tracing::error!(component = "startup", "config file missing");
        let request = tracing::info_span!("request", order = 7_u64);
        let _entered = request.enter();
        request_context = request.span_context();
        tracing::info!(items = 3_i64, password = "hunter2", "cart loaded");
        tracing::warn!(error = "card declined", "order rejected");
        tracing::debug!("below the logs level");
    });
    let report = observer.shutdown(common::SHUTDOWN);
    let logs = &report.stats.logs;
    assert!(logs.enabled, "{report}");
    assert_eq!(logs.recorded, 3, "{report}");
    assert_eq!(logs.exported, 3, "{report}");
    assert_eq!(logs.dropped.total(), 0, "{report}");

    let arrived = receiver.wait_for_logs(3, WAIT).len();
    assert!(rotel.terminate().is_some(), "rotel was not running");
    let received = receiver.logs();
    assert_eq!(
        received.len(),
        3,
        "{arrived} arrived; rotel:\n{}",
        rotel.logs()
    );
    let cx = request_context.expect("the request span has a context");

    let startup = by_body(&received, "config file missing");
    assert_eq!(startup.service_name, SERVICE);
    assert_eq!(startup.record.severity_number, 17);
    assert_eq!(startup.record.severity_text, "ERROR");
    assert_eq!(startup.attribute("component"), Some("startup"));
    assert_eq!(startup.trace_id_hex(), "", "outside any span");
    assert!(startup.attribute("exception.type").is_some());

    let cart = by_body(&received, "cart loaded");
    assert_eq!(cart.record.severity_number, 9);
    assert_eq!(cart.attribute("password"), Some("[REDACTED]"));
    assert_eq!(cart.trace_id_hex(), cx.trace_id().to_string());
    assert_eq!(cart.span_id_hex(), cx.span_id().to_string());
    assert!(cart
        .attribute("code.file.path")
        .is_some_and(|f| f.ends_with("logs_rotel.rs")));

    let rejected = by_body(&received, "order rejected");
    assert_eq!(rejected.record.severity_text, "WARN");
    assert_eq!(
        rejected.attribute("exception.message"),
        Some("card declined")
    );

    // The span: its events are there, and the handled WARN error left its status unset.
    let spans = receiver.spans();
    let request = spans
        .iter()
        .find(|s| s.name() == "request")
        .expect("request span");
    assert!(
        !request.is_error(),
        "a WARN with an error field leaves the status alone"
    );
    let events: Vec<_> = request
        .span
        .events
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert!(
        events.contains(&"cart loaded") && events.contains(&"exception"),
        "{events:?}"
    );
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn logs_arrive_over_grpc_with_severity_body_attributes_and_trace_ids() {
    logs_through_rotel(Protocol::Grpc);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn logs_arrive_over_http() {
    logs_through_rotel(Protocol::HttpProtobuf);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn in_a_sampled_out_trace_the_info_log_is_dropped_and_the_error_arrives_with_its_ids() {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let observer = builder()
        .service_name(SERVICE)
        .endpoint(rotel.grpc_endpoint())
        .sampler(Sampler::AlwaysOff)
        .keep_errors(false)
        .build()
        .expect("observer builds");
    let mut propagated = None;
    observe(&observer, || {
        let span = tracing::info_span!("sampled out");
        let _entered = span.enter();
        propagated = span.span_context();
        tracing::info!("routine");
        tracing::error!("payment service down");
    });
    let report = observer.shutdown(common::SHUTDOWN);
    assert_eq!(report.stats.logs.sampled_out, 1, "{report}");
    assert_eq!(report.stats.logs.exported, 1, "{report}");
    let logs = receiver.wait_for_logs(1, WAIT);
    assert!(rotel.terminate().is_some());
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let propagated = propagated.expect("a sampled-out span propagates a context");
    assert!(!propagated.is_sampled());
    assert_eq!(logs[0].body(), Some("payment service down"));
    assert_eq!(logs[0].trace_id_hex(), propagated.trace_id().to_string());
    assert_eq!(logs[0].span_id_hex(), propagated.span_id().to_string());
    assert_eq!(logs[0].record.flags & 0xff, 0, "not sampled");
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_collector_outage_spools_logs_and_the_next_run_replays_them() {
    let dir = spool_dir("logs-outage");
    // Nothing listens here: every export fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let down = format!("http://{}", closed.local_addr().expect("its address"));
    drop(closed);
    let observer = spool_builder(&dir)
        .service_name(SERVICE)
        .endpoint(&down)
        .traces_exporter(tracing_observer::config::TracesExporter::None)
        .logs_exporter(LogsExporter::Otlp)
        .build()
        .expect("observer builds");
    observe(&observer, || {
        for i in 0..20 {
            tracing::warn!(i, "written while the collector is down");
        }
    });
    let report = observer.shutdown(Duration::from_secs(5));
    assert_eq!(report.stats.logs.recorded, 20, "{report}");
    assert_eq!(report.stats.logs.spooled, 20, "{report}");
    assert_eq!(report.stats.logs.exported, 0, "{report}");
    assert!(
        dir.join("logs").is_dir(),
        "the logs spool lives in the spool's logs/"
    );
    // The spool tool reads span spools: it refuses this one with a clear error.
    let error = tracing_observer::spool::summary(&dir.join("logs")).unwrap_err();
    assert!(error.to_string().contains("is a logs spool"), "{error}");
    let spans = tracing_observer::spool::summary(&dir).map(|s| s.spans).ok();
    assert_eq!(spans, Some(0), "the spans' spool beside it is readable");

    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let observer = spool_builder(&dir)
        .service_name(SERVICE)
        .endpoint(rotel.grpc_endpoint())
        .build()
        .expect("observer builds");
    let logs = receiver.wait_for_logs(20, WAIT);
    let report = observer.shutdown(common::SHUTDOWN);
    assert!(rotel.terminate().is_some());
    assert_eq!(logs.len(), 20, "{report}");
    assert_eq!(report.stats.logs.replayed, 20, "{report}");
    assert!(logs
        .iter()
        .all(|l| l.body() == Some("written while the collector is down")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = (statm.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_flood_of_a_million_events_keeps_memory_bounded_and_counts_what_it_drops() {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let observer = builder()
        .service_name(SERVICE)
        .endpoint(rotel.grpc_endpoint())
        .build()
        .expect("observer builds");
    let before = rss();
    let mut peak = before;
    observe(&observer, || {
        for i in 0..1_000_000_u64 {
            tracing::info!(
                i,
                payload = "some text to make the record non-trivial",
                "flood"
            );
            if i % 100_000 == 0 {
                peak = peak.max(rss());
            }
        }
    });
    let metrics = observer.metrics_text();
    let report = observer.shutdown(common::SHUTDOWN);
    assert!(rotel.terminate().is_some());
    let logs = &report.stats.logs;
    assert_eq!(logs.recorded, 1_000_000, "{report}");
    let limited = (metrics.lines())
        .find_map(|l| {
            l.strip_prefix("tracing_observer_logs_dropped_total{reason=\"rate_limited\"} ")
        })
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        limited.is_some_and(|n| n > 900_000),
        "/metrics counts them: {limited:?}"
    );
    assert_eq!(
        logs.recorded,
        logs.exported + logs.spooled + logs.dropped.total() + logs.pending,
        "{report}"
    );
    assert!(
        logs.dropped.rate_limited > 900_000,
        "one callsite is rate-limited: {report}"
    );
    assert!(
        logs.exported >= 1000,
        "a second's worth got through: {report}"
    );
    assert!(
        peak.saturating_sub(before) < 64 << 20,
        "memory grew by {} MiB",
        (peak - before) >> 20
    );
}
