//! OTLP metrics export: the observer's registry (span metrics, self-metrics, process
//! metrics) pushed to the in-process receiver over gRPC and HTTP, and through the
//! real rotel collector; counts match the spans produced.

mod common;

use std::time::Duration;

use common::{builder_for, closed_endpoint, observe, WAIT};
use integration_tests::{attr_str, OtlpReceiver, ReceivedMetrics, Rotel, Transport};
use tracing_observer::proto::metrics::v1::metric;
use tracing_observer::{config::MetricsExporter, config::Protocol, Observer};

const CALLS: &str = "traces_span_metrics_calls";
const DURATION: &str = "traces_span_metrics_duration_milliseconds";

/// `spans` spans: one root per iteration with a child, every third child failing.
fn program(spans: usize) {
    for i in 0..spans / 2 {
        let root = tracing::info_span!("handle", i);
        root.in_scope(|| {
            let child = tracing::info_span!("query");
            child.in_scope(|| {
                if i % 3 == 0 {
                    tracing::error!("query failed");
                }
            });
        });
    }
}

fn has_calls(expected: i64) -> impl Fn(&ReceivedMetrics) -> bool {
    move |m| m.sum_total(CALLS) == Some(expected)
}

/// What every export of `spans` spans must say about them.
fn assert_span_metrics(metrics: &ReceivedMetrics, spans: u64) {
    assert_eq!(metrics.sum_total(CALLS), Some(spans as i64));
    assert_eq!(metrics.histogram_count(DURATION), Some(spans));
    assert_eq!(
        metrics.sum_total("tracing_observer_spans_recorded"),
        Some(spans as i64)
    );
    let calls = metrics.metric(CALLS).unwrap();
    let Some(metric::Data::Sum(sum)) = &calls.data else {
        panic!("{calls:?}")
    };
    assert!(sum.is_monotonic);
    // handle/query × OK-or-UNSET/ERROR.
    let errors: i64 = sum
        .data_points
        .iter()
        .filter(|p| attr_str(&p.attributes, "status_code").as_deref() == Some("STATUS_CODE_ERROR"))
        .map(|p| match p.value {
            Some(tracing_observer::proto::metrics::v1::number_data_point::Value::AsInt(v)) => v,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(errors, (spans as i64 / 2 + 2) / 3);
    assert_eq!(metrics.metric(DURATION).unwrap().unit, "ms");
    let resource = metrics.request.resource_metrics[0]
        .resource
        .as_ref()
        .unwrap();
    assert_eq!(
        attr_str(&resource.attributes, "service.name").as_deref(),
        Some("integration-tests")
    );
}

fn observer(receiver: &OtlpReceiver, protocol: Protocol, interval: Duration) -> Observer {
    builder_for(receiver, protocol)
        .metrics_exporter(MetricsExporter::Otlp)
        .metric_export_interval(interval)
        .build()
        .expect("observer builds")
}

#[test]
fn span_metrics_arrive_over_grpc_every_interval() {
    let receiver = OtlpReceiver::start();
    let observer = observer(&receiver, Protocol::Grpc, Duration::from_millis(200));
    observe(&observer, || program(40));
    observer.force_flush(WAIT).unwrap();
    let metrics = receiver
        .wait_for_metrics(WAIT, has_calls(40))
        .unwrap_or_else(|| panic!("no export with 40 calls: {:#?}", receiver.metrics()));
    assert_eq!(metrics.transport, Transport::Grpc);
    assert_span_metrics(&metrics, 40);
    assert!(
        metrics.metric("process_memory_usage_bytes").is_some(),
        "process metrics are exported too"
    );
    let report = observer.shutdown(WAIT);
    assert_eq!(report.stats.exported, 40);
    // The last export, at shutdown, counts the earlier successful ones.
    let last = receiver.metrics().pop().unwrap();
    assert_span_metrics(&last, 40);
    let exports = last.metric("tracing_observer_metric_exports").unwrap();
    let Some(metric::Data::Sum(sum)) = &exports.data else {
        panic!("{exports:?}")
    };
    let success = sum
        .data_points
        .iter()
        .find(|p| attr_str(&p.attributes, "result").as_deref() == Some("success"))
        .unwrap();
    assert!(
        matches!(success.value, Some(tracing_observer::proto::metrics::v1::number_data_point::Value::AsInt(n)) if n >= 1),
        "{success:?}"
    );
}

#[test]
fn the_last_export_runs_at_shutdown_over_http() {
    let receiver = OtlpReceiver::start();
    // Far longer than the test: only the shutdown export can deliver.
    let observer = observer(&receiver, Protocol::HttpProtobuf, Duration::from_secs(3600));
    observe(&observer, || program(30));
    let report = observer.shutdown(WAIT);
    assert_eq!(report.stats.exported, 30);
    assert_eq!(receiver.span_count(), 30);
    let metrics = receiver.metrics();
    assert_eq!(metrics.len(), 1, "{metrics:#?}");
    assert_eq!(metrics[0].transport, Transport::HttpProtobuf);
    assert_span_metrics(&metrics[0], 30);
}

#[test]
fn failed_exports_are_counted_and_spans_still_flow() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .metrics_exporter(MetricsExporter::Otlp)
        .metrics_endpoint(closed_endpoint())
        .metric_export_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let failures = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| {
                l.strip_prefix("tracing_observer_metric_exports_total{result=\"failure\"} ")
            })
            .map_or(0, |n| n.parse().unwrap())
    };
    let deadline = std::time::Instant::now() + WAIT;
    while failures(&observer.metrics_text()) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        failures(&observer.metrics_text()) >= 2,
        "{}",
        observer.metrics_text()
    );
    observe(&observer, || program(10));
    observer.force_flush(WAIT).unwrap();
    assert_eq!(receiver.span_count(), 10);
    assert!(receiver.metrics().is_empty());
    let started = std::time::Instant::now();
    let report = observer.shutdown(Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(report.stats.exported, 10);
}

fn through_rotel(protocol: Protocol) {
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let endpoint = match protocol {
        Protocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let observer = common::builder()
        .service_name("integration-tests")
        .endpoint(endpoint)
        .protocol(protocol)
        .metrics_exporter(MetricsExporter::Otlp)
        .metric_export_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    observe(&observer, || program(24));
    observer.force_flush(WAIT).unwrap();
    let metrics = receiver.wait_for_metrics(WAIT, has_calls(24));
    let report = observer.shutdown(WAIT);
    let metrics = metrics.unwrap_or_else(|| {
        panic!(
            "rotel forwarded no export with 24 calls: {:#?}\nrotel: {}",
            receiver.metrics(),
            rotel.logs()
        )
    });
    assert_span_metrics(&metrics, 24);
    assert_eq!(report.stats.exported, 24);
    assert_eq!(receiver.wait_for_spans(24, WAIT).len(), 24);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn span_metrics_arrive_through_rotel_over_grpc() {
    through_rotel(Protocol::Grpc);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn span_metrics_arrive_through_rotel_over_http() {
    through_rotel(Protocol::HttpProtobuf);
}
