//! OTLP partial success: a collector that keeps a batch but rejects some of its spans.
//! Those spans are counted as dropped with reason `rejected` (report, `/metrics`,
//! health), not as exported and not retried, and the collector's message reaches a
//! warning. The in-process receiver rejects half of each request, over gRPC, HTTP
//! protobuf and HTTP JSON.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{assert_accounted, builder_for, SHUTDOWN};
use integration_tests::{
    http_get, metric_sample, rejected_by_partial_success, Behavior, OtlpReceiver,
    PARTIAL_SUCCESS_MESSAGE,
};
use tracing_observer::config::Protocol;
use tracing_subscriber::prelude::*;

const SPANS: u64 = 1000;

/// The observer's own warnings, as text.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "tracing_observer" {
            return;
        }
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={:?} ", field.name(), value));
            }
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        self.0.lock().unwrap().push(text.0);
    }
}

fn rejected_spans_are_counted_as_dropped(protocol: Protocol) {
    let receiver = OtlpReceiver::start_with(Behavior::PartialSuccess);
    let observer = builder_for(&receiver, protocol)
        .max_export_batch_size(100)
        .scheduled_delay(Duration::from_millis(50))
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let warnings = Warnings::default();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(observer.layer())
            .with(warnings.clone()),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..SPANS {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
    common::wait_for_stats(&observer, common::WAIT, |s| s.pending == 0);
    // The warning comes with the partial-batch duty after the exports.
    let deadline = std::time::Instant::now() + common::WAIT;
    while !warnings
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|w| w.contains("rejected"))
    {
        assert!(std::time::Instant::now() < deadline, "no warning");
        std::thread::sleep(Duration::from_millis(20));
    }
    let addr = observer.http_addr().unwrap();
    let metrics = http_get(addr, "/metrics").expect("GET /metrics").body;
    let health = http_get(addr, "/health").expect("GET /health").json();
    let report = observer.shutdown(SHUTDOWN);

    let requests = receiver.requests();
    let rejected: u64 = requests.iter().map(rejected_by_partial_success).sum();
    assert!(rejected > 0 && requests.len() > 1, "{report}");
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(
        receiver.span_count() as u64,
        SPANS,
        "each span was sent once"
    );
    assert_eq!(s.dropped.rejected, rejected, "{report}");
    assert_eq!(s.exported, SPANS - rejected, "{report}");
    assert_eq!(s.dropped.total(), rejected, "{report}");
    assert_eq!(
        s.export_retries, 0,
        "a partial success is not retried: {report}"
    );
    assert_eq!(s.last_rejection.as_deref(), Some(PARTIAL_SUCCESS_MESSAGE));
    assert_accounted(&report);
    let shown = report.to_string();
    assert!(shown.contains(&format!("rejected={rejected}")), "{shown}");
    assert!(shown.contains(PARTIAL_SUCCESS_MESSAGE), "{shown}");

    let series = "tracing_observer_spans_dropped_total{reason=\"rejected\"}";
    assert_eq!(
        metric_sample(&metrics, series),
        Some(rejected as f64),
        "{metrics}"
    );
    let exporter = health["components"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "exporter"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(exporter["status"], "DEGRADED", "{health}");
    let message = exporter["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("rejected") && message.contains(PARTIAL_SUCCESS_MESSAGE),
        "{health}"
    );
    let warnings = warnings.0.lock().unwrap().clone();
    let warning = warnings
        .iter()
        .find(|w| w.contains("rejected"))
        .expect("a warning");
    assert!(warning.contains(PARTIAL_SUCCESS_MESSAGE), "{warnings:?}");
    assert!(warnings.len() <= 2, "rate-limited: {warnings:?}");
}

#[test]
fn rejected_spans_are_counted_as_dropped_grpc() {
    rejected_spans_are_counted_as_dropped(Protocol::Grpc);
}

#[test]
fn rejected_spans_are_counted_as_dropped_http_protobuf() {
    rejected_spans_are_counted_as_dropped(Protocol::HttpProtobuf);
}

#[test]
fn rejected_spans_are_counted_as_dropped_http_json() {
    rejected_spans_are_counted_as_dropped(Protocol::HttpJson);
}
