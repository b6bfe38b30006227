//! What the doc examples of `Observer`, its reports, the in-memory exporter, the
//! current-span functions and the span extension promise, checked against a running
//! observer (the examples themselves only show the calls).

use std::time::Duration;
use tracing_observer::{
    config::TracesExporter, export::InMemoryExporter, Observer, ObserverBuilder, ObserverSpanExt,
    SamplingRule, SpanContext,
};
use tracing_subscriber::prelude::*;

/// The builder these tests start from: no disk spool, so that observers running at
/// once in this process do not share one.
fn builder() -> ObserverBuilder {
    Observer::builder().spool(false)
}

/// Runs one span named `work` under `observer`.
fn one_span(observer: &Observer) {
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("work").in_scope(|| {});
    });
}

#[test]
fn a_built_observer_is_enabled_and_has_not_disabled_itself() {
    let observer = builder().service_name("checkout").build().unwrap();
    assert!(!observer.is_disabled());
    assert_eq!(observer.disabled_reason(), None);
}

#[test]
fn the_layer_records_each_closed_span() {
    let observer = builder().build().unwrap();
    one_span(&observer);
    assert_eq!(observer.stats().recorded, 1);
}

#[test]
fn http_endpoints_asked_for_port_0_report_the_actual_port() {
    let observer = builder()
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    assert_ne!(observer.http_addr().unwrap().port(), 0);
}

#[test]
fn metrics_text_describes_the_self_metrics() {
    let observer = builder().build().unwrap();
    assert!(observer
        .metrics_text()
        .contains("# TYPE tracing_observer_spans_exported_total counter"));
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .build()
        .unwrap();
    assert!(observer
        .metrics_text()
        .contains("tracing_observer_spans_recorded_total"));
}

#[test]
fn a_new_observer_counts_nothing_and_its_counts_add_up() {
    let observer = builder().build().unwrap();
    let stats = observer.stats();
    assert_eq!((stats.recorded, stats.exported), (0, 0));
    assert_eq!(
        stats.recorded,
        stats.exported + stats.spooled + stats.dropped.total() + stats.pending
    );
    assert!(!stats.spool.enabled);
    assert_eq!(stats.spool.pending_spans, 0);
}

#[test]
fn force_flush_exports_every_closed_span() {
    let exporter = InMemoryExporter::new();
    let observer = builder().exporter(exporter.clone()).build().unwrap();
    one_span(&observer);
    observer.force_flush(Duration::from_secs(5)).unwrap();
    assert_eq!(exporter.span_count(), 1);
}

#[test]
fn shutdown_reports_once_and_later_calls_return_that_report() {
    let observer = builder().build().unwrap();
    let report = observer.shutdown(Duration::from_secs(5));
    assert!(!report.timed_out);
    assert_eq!(observer.shutdown(Duration::ZERO), report);
}

#[test]
fn a_report_with_nothing_dropped_serialises_a_zero_total() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .build()
        .unwrap();
    let report = observer.shutdown(Duration::from_secs(1));
    assert!(!report.timed_out);
    assert!(!report.to_string().is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["dropped"]["total"], 0);
}

#[test]
fn a_report_is_complete_when_every_span_was_exported() {
    let observer = builder().exporter(InMemoryExporter::new()).build().unwrap();
    one_span(&observer);
    assert!(observer.shutdown(Duration::from_secs(5)).is_complete());
}

#[test]
fn without_exporter_or_spool_a_span_is_lost() {
    let observer = builder()
        .traces_exporter(TracesExporter::None)
        .build()
        .unwrap();
    one_span(&observer);
    let report = observer.shutdown(Duration::from_secs(5));
    assert!(
        !report.is_lossless(),
        "no exporter and no spool: the span was dropped"
    );
}

#[test]
fn the_in_memory_exporter_keeps_spans_or_only_counts_them() {
    let exporter = InMemoryExporter::new();
    let observer = builder().exporter(exporter.clone()).build().unwrap();
    one_span(&observer);
    observer.shutdown(Duration::from_secs(5));
    assert_eq!(exporter.spans()[0].name, "work");

    let counting = InMemoryExporter::counting();
    let observer = builder().exporter(counting.clone()).build().unwrap();
    one_span(&observer);
    observer.shutdown(Duration::from_secs(5));
    assert_eq!(counting.span_count(), 1);
}

#[test]
fn the_current_span_context_is_the_entered_spans() {
    let observer = builder().build().unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(
            tracing_observer::context::current_trace_id(),
            None,
            "outside any span"
        );
        let _entered = tracing::info_span!("work").entered();
        let cx = tracing_observer::context::current_span_context().unwrap();
        assert!(cx.is_sampled());
        let trace_id = tracing_observer::context::current_trace_id().unwrap();
        assert_eq!(trace_id, cx.trace_id());
        assert_eq!(trace_id.to_string().len(), 32);
        let span_id = tracing_observer::context::current_span_id().unwrap();
        assert_eq!(span_id, cx.span_id());
        assert_eq!(span_id.to_string().len(), 16);
    });
}

#[test]
fn set_parent_continues_a_remote_trace() {
    let observer = builder().build().unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        let remote = SpanContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .unwrap();
        let span = tracing::info_span!("request");
        assert!(span.set_parent(&remote));
        assert_eq!(span.span_context().unwrap().trace_id(), remote.trace_id());
    });
}

#[test]
fn valid_sampling_rules_build() {
    let rules = [
        SamplingRule::target("checkout::pricing").ratio(0.001),
        SamplingRule::target("checkout::http").ratio(1.0),
        SamplingRule::name("refresh_cache")
            .ratio(0.2)
            .rate_limit(10.0),
        SamplingRule::target("my_app::db").ratio(0.1),
        SamplingRule::name("health_check").ratio(0.0),
        SamplingRule::target("my_app::cache")
            .with_name("refresh")
            .ratio(0.01),
        SamplingRule::target("my_app").rate_limit(100.0),
    ];
    let observer = rules
        .into_iter()
        .fold(builder(), ObserverBuilder::sampling_rule)
        .build()
        .unwrap();
    assert!(!observer.is_disabled());
}

#[test]
fn a_spool_left_by_an_observer_can_be_summarised() {
    let dir = std::env::temp_dir().join(format!(
        "tracing-observer-documented-spool-{}",
        std::process::id()
    ));
    let observer = Observer::builder().spool_dir(&dir).build().unwrap();
    drop(observer);
    let summary = tracing_observer::spool::summary(&dir).unwrap();
    assert_eq!((summary.batches, summary.spans), (0, 0));
    let _ = std::fs::remove_dir_all(&dir);
}
