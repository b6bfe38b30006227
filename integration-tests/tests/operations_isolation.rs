//! Failure isolation: faults injected through a panicking exporter (the public
//! seam every custom exporter uses). The worker restarts with backoff; after
//! repeated failures the observer disables itself, health says why, and the host
//! goes on untouched and shuts down promptly.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{builder, observe, WAIT};
use integration_tests::http_get;
use tracing_observer::export::{Accepted, EncodedRequest, InMemoryExporter};
use tracing_observer::{ExportError, SpanExporter};

/// Panics on the first `panics` exports, then forwards to an in-memory exporter.
#[derive(Clone)]
struct Faulty {
    panics: usize,
    calls: Arc<AtomicUsize>,
    inner: InMemoryExporter,
}

impl SpanExporter for Faulty {
    fn export(
        &self,
        batch: EncodedRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Accepted, ExportError>> + Send + 'static>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.panics {
            panic!("injected exporter fault");
        }
        self.inner.export(batch)
    }
}

fn faulty(panics: usize) -> Faulty {
    Faulty {
        panics,
        calls: Arc::default(),
        inner: InMemoryExporter::new(),
    }
}

/// Runs one span per iteration until `done` or the time is up.
fn spans_until(observer: &tracing_observer::Observer, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    observe(observer, || {
        while !done() && Instant::now() < deadline {
            tracing::info_span!("work").in_scope(|| tracing::info!("step"));
            let _ = observer.force_flush(Duration::from_millis(200));
        }
    });
}

#[test]
fn a_transient_fault_restarts_the_worker() {
    let exporter = faulty(1);
    let observer = builder()
        .exporter(exporter.clone())
        .scheduled_delay(Duration::from_millis(50))
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("observer builds");
    spans_until(&observer, || exporter.inner.span_count() >= 3);
    assert!(
        exporter.inner.span_count() >= 3,
        "exports resumed after the restart"
    );
    assert_eq!(observer.disabled_reason(), None);
    let metrics = observer.metrics_text();
    assert!(
        metrics.contains("tracing_observer_worker_restarts_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tracing_observer_disabled 0"));
    let report = observer.shutdown(WAIT);
    // The batch the panic cut short is counted, never lost silently.
    assert!(report.stats.dropped.export_failed >= 1, "{report}");
    assert_eq!(
        report.stats.recorded,
        report.stats.exported + report.stats.dropped.total() + report.stats.pending
    );
}

#[test]
fn repeated_faults_disable_the_observer_and_spare_the_host() {
    let exporter = faulty(usize::MAX);
    let observer = builder()
        .exporter(exporter.clone())
        .scheduled_delay(Duration::from_millis(50))
        .max_worker_restarts(2)
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .expect("observer builds");
    spans_until(&observer, || observer.disabled_reason().is_some());
    let reason = observer
        .disabled_reason()
        .expect("the observer disabled itself");
    assert!(reason.contains("failed 3 times in a row"), "{reason}");
    assert!(reason.contains("injected exporter fault"), "{reason}");

    // The layer is a no-op now: the host runs spans, nothing more is recorded.
    let recorded = observer.stats().recorded;
    observe(&observer, || {
        for _ in 0..100 {
            tracing::info_span!("after").in_scope(|| tracing::info!("still fine"));
        }
    });
    assert_eq!(observer.stats().recorded, recorded);

    // Health says why, without taking the host out of its load balancer.
    let addr = observer.http_addr().unwrap();
    let health = http_get(addr, "/health").unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
    let json = health.json();
    assert_eq!(json["status"], "DEGRADED");
    assert_eq!(json["components"][0]["name"], "worker");
    assert_eq!(json["components"][0]["status"], "UNHEALTHY");
    assert!(json["components"][0]["message"]
        .as_str()
        .unwrap()
        .contains("injected exporter fault"));
    let metrics = http_get(addr, "/metrics").unwrap().body;
    assert!(metrics.contains("tracing_observer_disabled 1"), "{metrics}");
    assert!(metrics.contains("tracing_observer_worker_restarts_total 3"));

    // Flush and shutdown answer at once.
    let started = Instant::now();
    let report = observer.shutdown(WAIT);
    assert!(started.elapsed() < Duration::from_secs(2), "{report}");
    assert_eq!(
        report.stats.recorded,
        report.stats.exported + report.stats.dropped.total() + report.stats.pending
    );
}
