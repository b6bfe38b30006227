use super::*;
use crate::event_metrics::EventSample;

fn metrics(max_series: usize) -> (EventMetrics, MetricsRegistry) {
    let registry = MetricsRegistry::new(&[]);
    let config = EventMetricsConfig {
        enabled: true,
        max_series,
    };
    (EventMetrics::new(config, &registry), registry)
}

fn sample(fields: &[(&'static str, FieldValue)]) -> EventSample {
    EventSample {
        fields: fields.iter().cloned().collect(),
    }
}

fn str(s: &str) -> FieldValue {
    FieldValue::Str(s.into())
}

/// Applies the samples and renders the registry.
fn render(
    metrics: &mut EventMetrics,
    registry: &MetricsRegistry,
    samples: &[EventSample],
) -> String {
    registry.with_event_families(|families| {
        for sample in samples {
            metrics.apply(sample, families);
        }
    });
    for (counter, &n) in metrics.dropped.iter().zip(&metrics.dropped_here).skip(1) {
        counter.absolute(n);
    }
    registry.render()
}

#[test]
fn a_monotonic_counter_is_a_counter_named_total() {
    let (mut metrics, registry) = metrics(10);
    let text = render(
        &mut metrics,
        &registry,
        &[
            sample(&[
                ("monotonic_counter.http.requests", FieldValue::U64(1)),
                ("route", str("/cart")),
            ]),
            sample(&[
                ("monotonic_counter.http.requests", FieldValue::F64(2.5)),
                ("route", str("/cart")),
            ]),
            sample(&[
                ("monotonic_counter.http.requests", FieldValue::I64(1)),
                ("route", str("/pay")),
            ]),
        ],
    );
    assert!(
        text.contains("# TYPE http_requests_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP http_requests_total Event metric from the `monotonic_counter.http.requests` field"),
        "{text}"
    );
    assert!(
        text.contains("http_requests_total{route=\"/cart\"} 3.5\n"),
        "{text}"
    );
    assert!(
        text.contains("http_requests_total{route=\"/pay\"} 1\n"),
        "{text}"
    );
    assert!(registry.is_float_counter("http_requests_total"));
}

#[test]
fn a_counter_is_an_up_down_gauge() {
    let (mut metrics, registry) = metrics(10);
    let text = render(
        &mut metrics,
        &registry,
        &[
            sample(&[("counter.queue.depth", FieldValue::I64(5))]),
            sample(&[("counter.queue.depth", FieldValue::I64(-2))]),
            sample(&[("counter.queue.depth", FieldValue::F64(0.5))]),
        ],
    );
    assert!(
        text.contains("# TYPE queue_depth gauge\nqueue_depth 3.5\n"),
        "{text}"
    );
}

#[test]
fn a_gauge_is_set() {
    let (mut metrics, registry) = metrics(10);
    let text = render(
        &mut metrics,
        &registry,
        &[
            sample(&[
                ("gauge.temperature", FieldValue::F64(21.5)),
                ("room", str("a")),
            ]),
            sample(&[
                ("gauge.temperature", FieldValue::I64(-3)),
                ("room", str("a")),
            ]),
        ],
    );
    assert!(
        text.contains("# TYPE temperature gauge\ntemperature{room=\"a\"} -3\n"),
        "{text}"
    );
}

#[test]
fn a_histogram_records_into_the_sdk_default_buckets() {
    let (mut metrics, registry) = metrics(10);
    let text = render(
        &mut metrics,
        &registry,
        &[
            sample(&[
                ("histogram.payload", FieldValue::U64(3)),
                ("kind", str("x")),
            ]),
            sample(&[
                ("histogram.payload", FieldValue::F64(7.5)),
                ("kind", str("x")),
            ]),
            sample(&[
                ("histogram.payload", FieldValue::U64(20_000)),
                ("kind", str("x")),
            ]),
        ],
    );
    assert!(text.contains("# TYPE payload histogram\n"), "{text}");
    assert!(
        text.contains("payload_bucket{kind=\"x\",le=\"0\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("payload_bucket{kind=\"x\",le=\"5\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("payload_bucket{kind=\"x\",le=\"10\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("payload_bucket{kind=\"x\",le=\"10000\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("payload_bucket{kind=\"x\",le=\"+Inf\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("payload_sum{kind=\"x\"} 20010.5\n"), "{text}");
    assert!(text.contains("payload_count{kind=\"x\"} 3\n"), "{text}");
}

#[test]
fn labels_are_sanitized_sorted_escaped_and_shared_by_every_measurement() {
    let (mut metrics, registry) = metrics(10);
    let text = render(
        &mut metrics,
        &registry,
        &[sample(&[
            ("zone", str("eu\"1\"")),
            ("monotonic_counter.hits", FieldValue::U64(1)),
            ("http.route", str("/a")),
            ("ok", FieldValue::Bool(true)),
            ("le", FieldValue::U64(4)),
            ("histogram.size", FieldValue::U64(1)),
        ])],
    );
    let labels = r#"exported_le="4",http_route="/a",ok="true",zone="eu\"1\"""#;
    assert!(
        text.contains(&format!("hits_total{{{labels}}} 1\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("size_bucket{{{labels},le=\"+Inf\"}} 1\n")),
        "{text}"
    );
}

#[test]
fn label_sets_past_the_cap_go_to_the_overflow_series_and_are_counted() {
    let (mut metrics, registry) = metrics(2);
    let samples: Vec<EventSample> = ["a", "b", "c", "d", "a"]
        .into_iter()
        .map(|user| {
            sample(&[
                ("monotonic_counter.logins", FieldValue::U64(1)),
                ("user", str(user)),
            ])
        })
        .collect();
    let text = render(&mut metrics, &registry, &samples);
    assert!(text.contains("logins_total{user=\"a\"} 2\n"), "{text}");
    assert!(text.contains("logins_total{user=\"b\"} 1\n"), "{text}");
    assert!(!text.contains("user=\"c\""), "{text}");
    assert!(
        text.contains("logins_total{otel_metric_overflow=\"true\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("tracing_observer_event_metrics_overflow_total 2\n"),
        "{text}"
    );
}

#[test]
fn bad_values_conflicts_and_reserved_names_are_counted_not_taken() {
    let (mut metrics, registry) = metrics(10);
    let text = render(
        &mut metrics,
        &registry,
        &[
            sample(&[("monotonic_counter.jobs", FieldValue::U64(2))]),
            sample(&[("monotonic_counter.jobs", FieldValue::I64(-1))]),
            sample(&[("histogram.jobs_seconds", FieldValue::F64(f64::NAN))]),
            sample(&[("gauge.jobs_label", str("not a number"))]),
            sample(&[("gauge.jobs_total", FieldValue::U64(1))]),
            sample(&[("gauge.process_cpu", FieldValue::U64(1))]),
        ],
    );
    assert!(text.contains("jobs_total 2\n"), "{text}");
    assert!(!text.contains("jobs_seconds"), "{text}");
    assert!(!text.contains("jobs_label"), "{text}");
    assert!(!text.contains("process_cpu"), "{text}");
    let dropped = |reason: &str| {
        format!("tracing_observer_event_metrics_dropped_total{{reason=\"{reason}\"}}")
    };
    assert!(
        text.contains(&format!("{} 3\n", dropped("invalid_value"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 1\n", dropped("kind_conflict"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 1\n", dropped("reserved_name"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 0\n", dropped("queue_full"))),
        "{text}"
    );
}
