//! Under pressure: the queue's lanes and byte budget.

use super::*;

/// Holds every export until opened, so the queue fills deterministically.
#[derive(Clone, Default)]
struct Gate {
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    inner: InMemoryExporter,
}

impl tracing_observer::SpanExporter for Gate {
    fn export(
        &self,
        batch: tracing_observer::export::EncodedRequest,
    ) -> futures_util::future::BoxFuture<
        'static,
        Result<tracing_observer::export::Accepted, tracing_observer::ExportError>,
    > {
        let open = self.open.clone();
        let inner = self.inner.export(batch);
        Box::pin(async move {
            while !open.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            inner.await
        })
    }
}

#[test]
fn under_pressure_normal_spans_go_first_and_errors_are_kept() {
    let gate = Gate {
        inner: InMemoryExporter::new(),
        ..Gate::default()
    };
    let observer = Observer::builder()
        .spool(false)
        .exporter(gate.clone())
        .max_queue_size(64)
        .max_export_batch_size(8)
        .max_concurrent_exports(1)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..200 {
            tracing::info_span!("normal").in_scope(|| {});
        }
        for _ in 0..5 {
            tracing::info_span!("failing").in_scope(|| tracing::error!("boom"));
        }
    });
    gate.open.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = observer.shutdown(Duration::from_secs(5));
    let spans = gate.inner.spans();
    assert_eq!(
        spans.iter().filter(|s| s.name == "failing").count(),
        5,
        "{report}"
    );
    assert_eq!(report.stats.dropped.error_lane_full, 0, "{report}");
    // The worker holds at most two batches (one exporting, one waiting for a slot).
    assert!(report.stats.dropped.queue_full >= 200 - 64 - 16, "{report}");
    assert_eq!(report.stats.recorded, 205);
    assert_eq!(
        report.stats.exported + report.stats.dropped.total(),
        205,
        "{report}"
    );
}

#[test]
fn the_byte_budget_bounds_huge_spans() {
    let gate = Gate::default();
    let observer = Observer::builder()
        .spool(false)
        .exporter(gate.clone())
        .max_queue_bytes(2048)
        .max_export_batch_size(1)
        .max_concurrent_exports(1)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        let huge = "x".repeat(3000);
        tracing::info_span!("huge", payload = huge.as_str()).in_scope(|| {});
        for _ in 0..50 {
            tracing::info_span!("small").in_scope(|| {});
        }
    });
    gate.open.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = observer.shutdown(Duration::from_secs(5));
    let s = &report.stats;
    assert_eq!(s.dropped.span_too_large, 1, "{report}");
    assert!(
        s.dropped.queue_full > 0,
        "the budget holds only a few records: {report}"
    );
    assert!(s.exported > 0 && s.exported < 50, "{report}");
    assert_eq!(s.recorded, s.exported + s.dropped.total(), "{report}");
}
