//! Event metrics through a running observer: events with `monotonic_counter.`,
//! `counter.`, `histogram.` and `gauge.` fields become series on `/metrics` and in
//! the OTLP metrics push (to the in-process receiver), whatever the sampling.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{builder, builder_for, observe, WAIT};
use integration_tests::{attr_str, http_get, OtlpReceiver};
use tracing_observer::config::{MetricsExporter, Protocol, TracesExporter};
use tracing_observer::proto::metrics::v1::{metric, number_data_point};
use tracing_observer::{Observer, Sampler};

/// Each kind once or more, with labels, inside a span and outside any.
fn emit_metrics() {
    let span = tracing::info_span!("checkout");
    span.in_scope(|| {
        for _ in 0..3 {
            tracing::info!(
                monotonic_counter.orders = 1_u64,
                region = "eu",
                "order placed"
            );
        }
        tracing::info!(counter.carts.open = 2_i64, region = "eu");
        tracing::info!(counter.carts.open = -1_i64, region = "eu");
        tracing::info!(histogram.order.value = 42.5_f64, region = "eu");
        tracing::info!(histogram.order.value = 7_u64, region = "eu");
    });
    tracing::info!(gauge.stock = 17_i64, item = "widget");
    // No metric field: no series.
    tracing::info!(orders = 5_u64, "just a log line");
}

/// The value of the sample line `series value` in a Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn assert_emitted(text: &str) {
    assert_eq!(
        sample(text, "orders_total{region=\"eu\"}"),
        Some(3.0),
        "{text}"
    );
    assert!(text.contains("# TYPE orders_total counter\n"), "{text}");
    assert_eq!(
        sample(text, "carts_open{region=\"eu\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# TYPE carts_open gauge\n"), "{text}");
    assert_eq!(
        sample(text, "order_value_count{region=\"eu\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(text, "order_value_sum{region=\"eu\"}"),
        Some(49.5),
        "{text}"
    );
    assert_eq!(
        sample(text, "order_value_bucket{region=\"eu\",le=\"10\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(text, "stock{item=\"widget\"}"), Some(17.0), "{text}");
    assert!(
        !text.contains("message="),
        "the message is no label: {text}"
    );
    assert!(!text.contains("\norders "), "{text}");
}

/// `/metrics` until `done` accepts it, or the last answer after `WAIT`.
fn scrape_until(addr: SocketAddr, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let body = http_get(addr, "/metrics").expect("GET /metrics").body;
        if done(&body) || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn event_metrics_are_served_on_metrics() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let addr = observer.http_addr().unwrap();
    observe(&observer, emit_metrics);
    let text = scrape_until(addr, |t| t.contains("stock{"));
    assert_emitted(&text);
    assert!(
        text.contains("tracing_observer_event_metrics_dropped_total{reason=\"queue_full\"} 0\n"),
        "{text}"
    );
    observer.shutdown(WAIT);
}

#[test]
fn events_in_sampled_out_spans_still_count() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .sampler(Sampler::AlwaysOff)
        .build()
        .unwrap();
    observe(&observer, emit_metrics);
    let text = observer.metrics_text();
    assert_emitted(&text);
    let report = observer.shutdown(WAIT);
    assert_eq!(report.stats.recorded, 0, "the span was sampled out");
}

#[test]
fn event_metrics_cap_label_sets_and_count_the_overflow() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .event_metrics_max_series(3)
        .build()
        .unwrap();
    observe(&observer, || {
        for user in 0..10_u64 {
            tracing::info!(monotonic_counter.logins = 1_u64, user);
        }
    });
    let text = observer.metrics_text();
    let series = text
        .lines()
        .filter(|l| l.starts_with("logins_total{user="))
        .count();
    assert_eq!(series, 3, "{text}");
    assert_eq!(
        sample(&text, "logins_total{otel_metric_overflow=\"true\"}"),
        Some(7.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tracing_observer_event_metrics_overflow_total"),
        Some(7.0),
        "{text}"
    );
    observer.shutdown(WAIT);
}

#[test]
fn event_metrics_off_makes_no_series() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .event_metrics(false)
        .build()
        .unwrap();
    observe(&observer, emit_metrics);
    let text = observer.metrics_text();
    assert!(!text.contains("orders_total"), "{text}");
    observer.shutdown(WAIT);
}

#[test]
fn event_metrics_arrive_in_the_otlp_push() {
    let receiver = OtlpReceiver::start();
    let observer: Observer = builder_for(&receiver, Protocol::Grpc)
        .metrics_exporter(MetricsExporter::Otlp)
        .metric_export_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    observe(&observer, emit_metrics);
    let metrics = receiver
        .wait_for_metrics(WAIT, |m| m.metric("stock").is_some())
        .unwrap_or_else(|| panic!("no export with event metrics: {:#?}", receiver.metrics()));
    // A counter: a monotonic Sum of doubles, named without `_total`.
    let orders = metrics.metric("orders").expect("orders");
    let Some(metric::Data::Sum(sum)) = &orders.data else {
        panic!("{orders:?}")
    };
    assert!(sum.is_monotonic);
    let point = &sum.data_points[0];
    assert_eq!(attr_str(&point.attributes, "region").as_deref(), Some("eu"));
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(3.0)));
    // An up-down counter and a gauge: gauges.
    for (name, value) in [("carts_open", 1.0), ("stock", 17.0)] {
        let m = metrics.metric(name).expect(name);
        let Some(metric::Data::Gauge(gauge)) = &m.data else {
            panic!("{m:?}")
        };
        assert_eq!(
            gauge.data_points[0].value,
            Some(number_data_point::Value::AsDouble(value))
        );
    }
    let histogram = metrics.metric("order_value").expect("order_value");
    let Some(metric::Data::Histogram(h)) = &histogram.data else {
        panic!("{histogram:?}")
    };
    assert_eq!(h.data_points[0].count, 2);
    assert_eq!(h.data_points[0].sum, Some(49.5));
    assert_eq!(h.data_points[0].explicit_bounds.len(), 15);
    observer.shutdown(WAIT);
}
