//! The layer's recording rules, checked against the in-memory exporter (no network).

use std::time::Duration;
use tracing::instrument;
use tracing_observer::proto::common::v1::any_value::Value;
use tracing_observer::proto::trace::v1::{status::StatusCode, Span};
use tracing_observer::{export::InMemoryExporter, Observer};
use tracing_subscriber::prelude::*;

/// Runs `f` under a fresh observer and returns what it exported, with the report.
fn record(
    builder: tracing_observer::ObserverBuilder,
    f: impl FnOnce(),
) -> (Vec<Span>, tracing_observer::ShutdownReport) {
    let exporter = InMemoryExporter::new();
    // No disk spool: these tests look at the layer, not at delivery.
    let observer = builder
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, f);
    let report = observer.shutdown(Duration::from_secs(5));
    (exporter.spans(), report)
}

fn attr<'a>(
    attributes: &'a [tracing_observer::proto::common::v1::KeyValue],
    key: &str,
) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn named<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[derive(Debug)]
struct Inner;
impl std::fmt::Display for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for Inner {}

#[derive(Debug)]
struct Outer(Inner);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot save order")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[instrument(err)]
fn save(order: u64) -> Result<(), Outer> {
    Err(Outer(Inner))
}

#[test]
fn one_record_per_span_however_often_entered() {
    let (spans, report) = record(Observer::builder(), || {
        let span = tracing::info_span!("polled");
        for _ in 0..100 {
            let _entered = span.enter();
        }
        let clone = span.clone();
        drop(span);
        drop(clone);
        let _never_entered = tracing::info_span!("idle");
    });
    assert_eq!(spans.len(), 2);
    assert_eq!(report.stats.recorded, 2);
    assert!(report.is_complete());
}

#[test]
fn parents_links_and_fields() {
    let (spans, _) = record(Observer::builder(), || {
        let cause = tracing::info_span!("cause");
        let root = tracing::info_span!("root", user = "ada", late = tracing::field::Empty);
        root.record("late", 7);
        let _root = root.enter();
        let child = tracing::info_span!("child");
        child.follows_from(&cause);
        child.in_scope(|| tracing::info!(items = 3, "loaded"));
    });
    let root = named(&spans, "root");
    let child = named(&spans, "child");
    let cause = named(&spans, "cause");
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(child.trace_id, root.trace_id);
    assert!(root.parent_span_id.is_empty());
    assert_eq!(child.links.len(), 1);
    assert_eq!(child.links[0].span_id, cause.span_id);
    assert_eq!(
        attr(&root.attributes, "user"),
        Some(&Value::StringValue("ada".into()))
    );
    assert_eq!(attr(&root.attributes, "late"), Some(&Value::IntValue(7)));
    let event = &child.events[0];
    assert_eq!(event.name, "loaded");
    assert_eq!(attr(&event.attributes, "items"), Some(&Value::IntValue(3)));
    assert_eq!(
        attr(&event.attributes, "level"),
        Some(&Value::StringValue("INFO".into()))
    );
}

#[test]
fn instrument_err_marks_the_span_and_records_the_source_chain() {
    let (spans, _) = record(Observer::builder(), || {
        let _ = save(42);
    });
    let span = named(&spans, "save");
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "cannot save order");
    let exception = &span.events[0];
    assert_eq!(exception.name, "exception");
    assert_eq!(
        attr(&exception.attributes, "exception.message"),
        Some(&Value::StringValue("cannot save order".into()))
    );
    assert_eq!(
        attr(&exception.attributes, "exception.type"),
        Some(&Value::StringValue("layer".into())),
        "the event target stands in for the type name"
    );
    // `#[instrument(err)]` records the error with Display: there is no chain to walk.
    assert!(attr(&exception.attributes, "exception.source_chain").is_none());
}

#[test]
fn dyn_error_values_carry_their_source_chain() {
    let (spans, _) = record(Observer::builder(), || {
        let _span = tracing::info_span!("store").entered();
        let err = Outer(Inner);
        tracing::warn!(error = &err as &dyn std::error::Error, "save failed");
    });
    let span = &spans[0];
    assert_eq!(
        span.status.as_ref().unwrap().code,
        StatusCode::Error as i32,
        "an error field marks the span at any level"
    );
    let exception = &span.events[0];
    let Some(Value::ArrayValue(chain)) = attr(&exception.attributes, "exception.source_chain")
    else {
        panic!("no source chain in {:?}", exception.attributes);
    };
    let chain: Vec<_> = chain.values.iter().map(|v| v.value.clone()).collect();
    assert_eq!(chain, vec![Some(Value::StringValue("disk full".into()))]);
    assert_eq!(
        attr(&exception.attributes, "message"),
        Some(&Value::StringValue("save failed".into()))
    );
}

#[test]
fn otel_fields_work_as_in_tracing_opentelemetry() {
    let (spans, _) = record(Observer::builder(), || {
        let _span = tracing::info_span!(
            "GET",
            otel.name = "GET /orders",
            otel.kind = "server",
            otel.status_code = "error",
            otel.status_description = "upstream failed"
        )
        .entered();
    });
    let span = &spans[0];
    assert_eq!(span.name, "GET /orders");
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "upstream failed");
    assert!(attr(&span.attributes, "otel.name").is_none());
}

#[test]
fn limits_cut_and_count() {
    let builder = Observer::builder()
        .max_events_per_span(2)
        .max_attribute_value_bytes(16);
    let (spans, report) = record(builder, || {
        let _span = tracing::info_span!("busy", big = "x".repeat(1000).as_str()).entered();
        for i in 0..5 {
            tracing::info!(i, "tick");
        }
        tracing::error!("still kept");
    });
    let span = &spans[0];
    assert_eq!(
        span.events.len(),
        3,
        "two ticks and the error from its reserve"
    );
    assert_eq!(span.dropped_events_count, 3);
    assert_eq!(span.events[2].name, "exception");
    let Some(Value::StringValue(big)) = attr(&span.attributes, "big") else {
        panic!()
    };
    assert!(
        big.len() <= 16 + '…'.len_utf8() && big.ends_with('…'),
        "{big}"
    );
    assert_eq!(report.stats.events_dropped, 3);
    assert_eq!(report.stats.values_truncated, 1);
}

#[test]
fn a_panicking_debug_never_reaches_the_host() {
    struct Hostile;
    impl std::fmt::Debug for Hostile {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("hostile Debug")
        }
    }
    let (spans, _) = record(Observer::builder(), || {
        let _span = tracing::info_span!("guarded", value = ?Hostile).entered();
    });
    assert_eq!(
        attr(&spans[0].attributes, "value"),
        Some(&Value::StringValue("<value formatting panicked>".into()))
    );
}

#[test]
fn no_exporter_counts_every_span_as_dropped() {
    let (_, report) = record(
        Observer::builder().traces_exporter(tracing_observer::config::TracesExporter::None),
        || {
            for _ in 0..10 {
                let _span = tracing::info_span!("nowhere").entered();
            }
        },
    );
    assert_eq!(report.stats.recorded, 10);
    // A custom exporter wins over the traces_exporter setting.
    assert_eq!(report.stats.exported, 10);
    let observer = Observer::builder()
        .traces_exporter(tracing_observer::config::TracesExporter::None)
        .spool(false)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        let _span = tracing::info_span!("nowhere").entered();
    });
    let report = observer.shutdown(Duration::from_secs(5));
    assert_eq!(report.stats.dropped.no_exporter, 1);
    assert_eq!(report.stats.recorded, 1);
}

#[test]
fn a_full_queue_drops_and_counts() {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .max_queue_size(4)
        .scheduled_delay(Duration::from_secs(3600))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..1000 {
            let _span = tracing::info_span!("burst").entered();
        }
    });
    let report = observer.shutdown(Duration::from_secs(5));
    assert_eq!(report.stats.recorded, 1000);
    assert!(report.stats.dropped.queue_full > 0);
    assert_eq!(
        report.stats.exported + report.stats.dropped.total(),
        1000,
        "{report}"
    );
    assert_eq!(exporter.span_count() as u64, report.stats.exported);
}

#[test]
fn shutdown_is_idempotent_and_stops_recording() {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("before").in_scope(|| {});
        let first = observer.shutdown(Duration::from_secs(5));
        tracing::info_span!("after").in_scope(|| {});
        let second = observer.shutdown(Duration::from_secs(5));
        assert_eq!(first, second);
        assert_eq!(first.stats.exported, 1);
        assert!(observer.force_flush(Duration::from_secs(1)).is_err());
    });
    assert_eq!(exporter.span_count(), 1);
}

fn kept_by(span: &Span) -> Option<&Value> {
    attr(&span.attributes, "observer.sampling.kept_by")
}

#[instrument(err)]
fn innermost(fail: bool) -> Result<(), Outer> {
    if fail {
        Err(Outer(Inner))
    } else {
        Ok(())
    }
}

#[instrument(fields(password = "hunter2", order_id = 7))]
fn middle(fail: bool) {
    let _ = innermost(fail);
}

#[instrument]
fn outer_op(fail: bool) {
    middle(fail);
}

#[test]
fn errors_are_kept_with_their_ancestors_when_sampled_out() {
    let builder = Observer::builder().sampler(tracing_observer::Sampler::AlwaysOff);
    let (spans, report) = record(builder, || {
        for i in 0..10 {
            outer_op(i == 3);
        }
    });
    assert_eq!(spans.len(), 3, "only the failing op's path: {spans:#?}");
    let inner = named(&spans, "innermost");
    let middle = named(&spans, "middle");
    let outer = named(&spans, "outer_op");
    assert_eq!(inner.parent_span_id, middle.span_id);
    assert_eq!(middle.parent_span_id, outer.span_id);
    assert!(outer.parent_span_id.is_empty());
    assert!(spans.iter().all(|s| s.trace_id == outer.trace_id));
    assert_eq!(
        inner.status.as_ref().unwrap().code,
        StatusCode::Error as i32
    );
    assert_eq!(
        middle.status.as_ref().unwrap().code,
        StatusCode::Unset as i32
    );
    for span in &spans {
        assert_eq!(kept_by(span), Some(&Value::StringValue("error".into())));
        assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
    }
    assert!(outer.start_time_unix_nano <= middle.start_time_unix_nano);
    assert!(middle.start_time_unix_nano <= inner.start_time_unix_nano);
    assert_eq!(inner.events[0].name, "exception");
    assert_eq!(report.stats.recorded, 3);
    assert_eq!(
        report.stats.sampled_out_evictions, 0,
        "a few live spans fit the table"
    );
}

#[test]
fn an_error_status_recorded_later_keeps_a_sampled_out_span() {
    // What HTTP middleware does for a 5xx: `otel.status_code` recorded after creation.
    let builder = Observer::builder().sampler(tracing_observer::Sampler::AlwaysOff);
    let (spans, report) = record(builder, || {
        for status in ["ok", "ERROR", "unset"] {
            let span =
                tracing::info_span!("request", status, otel.status_code = tracing::field::Empty);
            span.in_scope(|| {});
            span.record("otel.status_code", status);
        }
        // A status given as an enum's `Debug` (as with tracing-opentelemetry).
        #[derive(Debug)]
        enum Status {
            Error,
        }
        let debug = tracing::info_span!("debug_status", otel.status_code = tracing::field::Empty);
        debug.record("otel.status_code", tracing::field::debug(Status::Error));
    });
    assert_eq!(spans.len(), 2, "only the failed ones: {spans:#?} {report}");
    for span in &spans {
        assert_eq!(kept_by(span), Some(&Value::StringValue("error".into())));
        assert_eq!(
            span.status.as_ref().unwrap().code,
            StatusCode::Error as i32,
            "{}",
            span.name
        );
    }
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["debug_status", "request"]);
}

#[test]
fn a_sampled_out_span_propagates_unsampled_ids_that_a_promotion_keeps() {
    use tracing_observer::{ObserverSpanExt, SpanContext};
    let builder = Observer::builder().sampler(tracing_observer::Sampler::AlwaysOff);
    let mut seen = Vec::new();
    let (spans, _) = record(builder, || {
        let outer = tracing::info_span!("outer");
        let inner = outer.in_scope(|| tracing::info_span!("inner"));
        let (outer_cx, inner_cx) = (outer.span_context().unwrap(), inner.span_context().unwrap());
        assert!(!outer_cx.is_sampled() && !inner_cx.is_sampled());
        assert_eq!(outer_cx.trace_id(), inner_cx.trace_id());
        assert_ne!(outer_cx.span_id(), inner_cx.span_id());
        assert_eq!(outer.span_context(), Some(outer_cx.clone()), "stable");
        inner.in_scope(|| tracing::error!("failed after propagating"));
        seen = vec![outer_cx, inner_cx];
        // A sampled-out root continuing a remote unsampled trace keeps its trace id.
        let remote = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        let continued = tracing::info_span!("continued", traceparent = remote);
        let cx = continued.span_context().unwrap();
        assert_eq!(
            cx.trace_id(),
            SpanContext::from_traceparent(remote).unwrap().trace_id()
        );
        assert!(!cx.is_sampled());
    });
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (outer, inner) = (named(&spans, "outer"), named(&spans, "inner"));
    for (span, cx) in [(outer, &seen[0]), (inner, &seen[1])] {
        assert_eq!(span.trace_id, cx.trace_id().to_bytes());
        assert_eq!(span.span_id, cx.span_id().to_bytes());
    }
    assert_eq!(inner.parent_span_id, outer.span_id);
}

#[test]
fn keep_errors_can_be_turned_off() {
    let builder = Observer::builder()
        .sampler(tracing_observer::Sampler::AlwaysOff)
        .keep_errors(false);
    let (spans, _) = record(builder, || outer_op(true));
    assert!(spans.is_empty());
}

#[test]
fn ratio_sampling_keeps_whole_traces() {
    let builder = Observer::builder().sampler(tracing_observer::Sampler::TraceIdRatio(0.3));
    let (spans, _) = record(builder, || {
        for _ in 0..2000 {
            outer_op(false);
        }
    });
    let roots = spans.iter().filter(|s| s.name == "outer_op").count();
    assert!(
        (450..750).contains(&roots),
        "{roots} of 2000 roots at ratio 0.3"
    );
    assert_eq!(spans.len(), roots * 3, "children follow their root");
    let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert!(spans
        .iter()
        .all(|s| s.parent_span_id.is_empty() || ids.contains(&s.parent_span_id)));
}

#[test]
fn children_follow_their_root_across_spans_a_per_layer_filter_hides() {
    use tracing_subscriber::filter::LevelFilter;

    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .sampler(tracing_observer::Sampler::TraceIdRatio(0.5))
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    // Another layer sees every level, so `hidden` exists in the registry.
    let subscriber = tracing_subscriber::registry()
        .with(observer.layer().with_filter(LevelFilter::INFO))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..400 {
            tracing::info_span!("root").in_scope(|| {
                tracing::debug_span!("hidden").in_scope(|| {
                    tracing::info_span!("child").in_scope(|| {});
                });
            });
        }
    });
    observer.shutdown(Duration::from_secs(5));
    let spans = exporter.spans();
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "root").collect();
    assert!((120..280).contains(&roots.len()), "{} of 400", roots.len());
    // The child's local root decided for it: no child of a sampled-out root is
    // exported, and every exported child hangs under its exported root.
    assert_eq!(spans.len(), roots.len() * 2, "{spans:#?}");
    for child in spans.iter().filter(|s| s.name == "child") {
        let parent = roots.iter().find(|r| r.span_id == child.parent_span_id);
        assert!(parent.is_some_and(|p| p.trace_id == child.trace_id));
    }
}

#[test]
fn rules_pick_ratios_per_module_and_name() {
    let builder = Observer::builder()
        .sampler(tracing_observer::Sampler::AlwaysOn)
        .sampling_rule(tracing_observer::SamplingRule::name("outer_op").ratio(0.0))
        .keep_errors(false);
    let (spans, _) = record(builder, || {
        outer_op(false);
        let _other = tracing::info_span!("other").entered();
    });
    let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["other"]);
}

#[test]
fn remote_parent_flag_is_respected_by_parent_based_sampling() {
    let (spans, _) = record(Observer::builder(), || {
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        tracing::info_span!("dropped", traceparent = unsampled).in_scope(|| {
            tracing::info_span!("child").in_scope(|| {});
        });
        let sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        tracing::info_span!("kept", traceparent = sampled).in_scope(|| {});
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "kept");
    assert_eq!(
        spans[0].parent_span_id,
        vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
    );
    assert_eq!(spans[0].flags & 0x300, 0x300, "parent marked remote");
}

#[test]
fn slow_spans_are_kept_when_sampled_out() {
    let builder = Observer::builder()
        .sampler(tracing_observer::Sampler::AlwaysOff)
        .slow_span_threshold(Duration::from_millis(20));
    let (spans, _) = record(builder, || {
        tracing::info_span!("fast").in_scope(|| {});
        tracing::info_span!("slow_parent").in_scope(|| {
            tracing::info_span!("slow").in_scope(|| std::thread::sleep(Duration::from_millis(30)));
        });
    });
    let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["slow", "slow_parent"]);
    assert!(spans
        .iter()
        .all(|s| kept_by(s) == Some(&Value::StringValue("slow".into()))));
}

#[test]
fn secrets_are_redacted_before_export() {
    let (spans, _) = record(Observer::builder(), || outer_op(false));
    let middle = named(&spans, "middle");
    assert_eq!(
        attr(&middle.attributes, "password"),
        Some(&Value::StringValue("[REDACTED]".into()))
    );
    assert_eq!(
        attr(&middle.attributes, "order_id"),
        Some(&Value::IntValue(7))
    );
    let (spans, _) = record(Observer::builder().allow_fields(["fail"]), || {
        outer_op(false)
    });
    let middle = named(&spans, "middle");
    assert!(attr(&middle.attributes, "order_id").is_none());
    assert!(attr(&middle.attributes, "password").is_none());
    assert_eq!(
        attr(&middle.attributes, "fail"),
        Some(&Value::BoolValue(false))
    );
}

/// Holds every export until opened, so the queue fills deterministically.
#[derive(Clone, Default)]
struct Gate {
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    inner: InMemoryExporter,
}

impl tracing_observer::SpanExporter for Gate {
    fn export(
        &self,
        batch: tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest,
    ) -> futures_util::future::BoxFuture<'static, Result<(), tracing_observer::ExportError>> {
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

/// Counts the observer's own warnings.
#[derive(Clone, Default)]
struct Warnings(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "tracing_observer"
            && *event.metadata().level() == tracing::Level::WARN
        {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

struct Failing;

impl tracing_observer::SpanExporter for Failing {
    fn export(
        &self,
        _: tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest,
    ) -> futures_util::future::BoxFuture<'static, Result<(), tracing_observer::ExportError>> {
        Box::pin(async {
            Err(tracing_observer::ExportError::new(
                tracing_observer::ExportErrorKind::Unavailable,
                "collector down",
            ))
        })
    }
}

#[test]
fn drops_and_failures_are_announced_once_not_flooded() {
    let warnings = Warnings::default();
    let observer = Observer::builder()
        .exporter(Failing)
        // Without a spool failed batches are dropped (with one, they would be spooled).
        .spool(false)
        .scheduled_delay(Duration::from_millis(20))
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(observer.layer())
            .with(warnings.clone()),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..100 {
            tracing::info_span!("lost").in_scope(|| {});
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while warnings.0.load(std::sync::atomic::Ordering::SeqCst) == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        warnings.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one warning, not one per batch"
    );
    let report = observer.shutdown(Duration::from_secs(5));
    assert_eq!(report.stats.dropped.export_failed, 100);
}

#[test]
fn the_overhead_budget_lowers_sampling_and_keeps_errors() {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .overhead_budget(0.02)
        .scheduled_delay(Duration::from_millis(100))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    let started = std::time::Instant::now();
    let mut errors = 0;
    tracing::subscriber::with_default(subscriber, || {
        // Empty spans: the observer costs far more than the host's 2 % budget.
        while started.elapsed() < Duration::from_millis(3500) {
            for _ in 0..1000 {
                tracing::info_span!("tiny").in_scope(|| {});
            }
            tracing::info_span!("failing").in_scope(|| tracing::error!("boom"));
            errors += 1;
        }
    });
    let stats = observer.stats();
    let report = observer.shutdown(Duration::from_secs(10));
    assert!(
        stats.overhead_ratio > 0.02,
        "measured {}",
        stats.overhead_ratio
    );
    assert!(
        stats.sampling_factor < 1.0,
        "factor {}",
        stats.sampling_factor
    );
    let spans = exporter.spans();
    let failing = spans.iter().filter(|s| s.name == "failing").count();
    assert_eq!(failing, errors, "every error kept: {report}");
    let tiny = spans.iter().filter(|s| s.name == "tiny").count();
    assert!(
        tiny < errors * 1000,
        "sampling was lowered: {tiny} of {}",
        errors * 1000
    );
}

/// Runs `work` spans, each spinning for `each`, for `total`.
fn busy_spans(observer: &Observer, total: Duration, each: Duration) {
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        while started.elapsed() < total {
            tracing::info_span!("work").in_scope(|| {
                let work = std::time::Instant::now();
                while work.elapsed() < each {
                    std::hint::spin_loop();
                }
            });
        }
    });
}

/// Sampled-out roots' durations are the host time the overhead ratio divides by:
/// handed to the worker with the span-metrics summary, or added on the host's thread
/// when span metrics are off. Without them the ratio would stay 0 (no host time).
#[test]
fn overhead_of_sampled_out_spans_is_measured_against_their_duration() {
    for span_metrics in [true, false] {
        let observer = Observer::builder()
            .spool(false)
            .sampler(tracing_observer::Sampler::AlwaysOff)
            .span_metrics(span_metrics)
            .traces_exporter(tracing_observer::config::TracesExporter::None)
            .build()
            .unwrap();
        busy_spans(
            &observer,
            Duration::from_millis(1500),
            Duration::from_micros(100),
        );
        let stats = observer.stats();
        assert_eq!(stats.recorded, 0);
        // A few µs of hooks (debug build) against 100 µs spans.
        assert!(
            stats.overhead_ratio > 0.0 && stats.overhead_ratio < 0.5,
            "span metrics {span_metrics}: {stats:?}"
        );
    }
}

#[test]
fn overhead_is_measured_without_a_budget() {
    let observer = Observer::builder()
        .spool(false)
        .traces_exporter(tracing_observer::config::TracesExporter::None)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        while started.elapsed() < Duration::from_millis(1500) {
            tracing::info_span!("work").in_scope(|| std::hint::black_box((0..2_000).sum::<u64>()));
        }
    });
    let stats = observer.stats();
    assert!(stats.overhead_ratio > 0.0, "{stats:?}");
    assert_eq!(stats.sampling_factor, 1.0);
}

#[test]
fn a_million_events_in_one_span_stay_bounded() {
    let (spans, report) = record(Observer::builder(), || {
        let _span = tracing::info_span!("chatty").entered();
        for i in 0..1_000_000u32 {
            tracing::debug!(i, "tick");
        }
    });
    assert_eq!(spans[0].events.len(), 128);
    assert_eq!(spans[0].dropped_events_count, 1_000_000 - 128);
    assert_eq!(report.stats.events_dropped, 1_000_000 - 128);
}

#[test]
fn ten_thousand_deep_nesting_and_a_failure_at_the_bottom() {
    let builder = Observer::builder().sampler(tracing_observer::Sampler::AlwaysOff);
    let (spans, _) = record(builder, || {
        let mut guards = Vec::with_capacity(10_000);
        for depth in 0..10_000u32 {
            guards.push(tracing::info_span!("deep", depth).entered());
        }
        tracing::error!("bottom failed");
        while let Some(guard) = guards.pop() {
            drop(guard);
        }
    });
    // The error rule keeps the whole path, each span parented by the one above.
    assert_eq!(spans.len(), 10_000);
    let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(
        spans.iter().filter(|s| s.parent_span_id.is_empty()).count(),
        1
    );
    assert!(spans
        .iter()
        .all(|s| s.parent_span_id.is_empty() || ids.contains(&s.parent_span_id)));
}

#[test]
fn span_metrics_count_sampled_out_spans_too() {
    let observer = Observer::builder()
        .sampler(tracing_observer::Sampler::TraceIdRatio(0.1))
        .spool(false)
        .traces_exporter(tracing_observer::config::TracesExporter::None)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..1000 {
            tracing::info_span!("counted").in_scope(|| {});
        }
    });
    observer.force_flush(Duration::from_secs(5)).unwrap();
    let text = observer.metrics_text();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("traces_span_metrics_calls_total") && l.contains("span_name=\"counted\"")
        })
        .unwrap_or_else(|| panic!("no calls series in:\n{text}"));
    let calls: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(calls, 1000.0, "every span counted at ratio 0.1: {line}");
}

#[test]
fn span_metrics_stay_exact_for_a_flood_of_sampled_out_spans() {
    // Far more sampled-out spans than the summary queue holds, as fast as one thread
    // makes them: the worker must drain the summaries as they come, not on its timer.
    const SPANS: u64 = 200_000;
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .sampler(tracing_observer::Sampler::AlwaysOff)
        .spool(false)
        .traces_exporter(tracing_observer::config::TracesExporter::None)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..SPANS {
            tracing::info_span!("flood").in_scope(|| {});
        }
    });
    observer.force_flush(Duration::from_secs(5)).unwrap();
    let text = observer.metrics_text();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
    };
    assert_eq!(value("tracing_observer_span_summaries_dropped_total"), 0.0);
    assert_eq!(
        value("traces_span_metrics_calls_total{service_name"),
        SPANS as f64
    );
}

#[test]
fn thread_cpu_time_follows_work_not_sleep() {
    let builder = Observer::builder().cpu_time(true);
    let (spans, _) = record(builder, || {
        tracing::info_span!("busy").in_scope(|| {
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_millis(50) {
                std::hint::black_box((0..1000u64).sum::<u64>());
            }
        });
        tracing::info_span!("sleepy").in_scope(|| std::thread::sleep(Duration::from_millis(50)));
    });
    let cpu = |name: &str| match attr(&named(&spans, name).attributes, "thread.cpu_time_ns") {
        Some(Value::IntValue(ns)) => *ns,
        other => panic!("{name}: {other:?}"),
    };
    let busy_ns = match attr(&named(&spans, "busy").attributes, "busy_ns") {
        Some(Value::IntValue(ns)) => *ns,
        other => panic!("{other:?}"),
    };
    // Other tests share the two cores: the busy loop gets a share of its 50 ms, the
    // sleeper next to nothing. The loop timed itself with `Instant`, the observer with
    // its calibrated time-stamp counter: they agree to well within 1 %.
    assert!(busy_ns >= 49_500_000, "{busy_ns}");
    assert!(cpu("busy") >= 2_000_000, "busy cpu {}", cpu("busy"));
    assert!(
        cpu("sleepy") * 4 < cpu("busy"),
        "sleepy cpu {} vs busy {}",
        cpu("sleepy"),
        cpu("busy")
    );
    let (spans, _) = record(Observer::builder(), || {
        tracing::info_span!("plain").in_scope(|| {})
    });
    assert!(
        attr(&spans[0].attributes, "thread.cpu_time_ns").is_none(),
        "off by default"
    );
}

/// An exporter that takes 500 ms per batch: far slower than the host produces.
struct Slow;

impl tracing_observer::SpanExporter for Slow {
    fn export(
        &self,
        _batch: tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<(), tracing_observer::ExportError>>
                + Send
                + 'static,
        >,
    > {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok(())
        })
    }
}

#[test]
fn spans_refused_by_a_full_queue_still_count_as_host_time() {
    let observer = Observer::builder()
        .spool(false)
        .exporter(Slow)
        .max_queue_size(16)
        .max_export_batch_size(8)
        .max_concurrent_exports(1)
        .build()
        .unwrap();
    busy_spans(
        &observer,
        Duration::from_millis(2500),
        Duration::from_micros(200),
    );
    let stats = observer.stats();
    let _ = observer.shutdown(Duration::from_millis(200));
    assert!(
        stats.dropped.queue_full > 1000,
        "the queue was full: {stats:?}"
    );
    // The hooks cost a few µs against 200 µs of work per span (≈ 0.02 in a debug
    // build); counting only the ~16 spans a second the worker receives as host time
    // (not the thousands refused) would put the ratio above 1.
    assert!(
        stats.overhead_ratio > 0.0 && stats.overhead_ratio < 0.5,
        "{stats:?}"
    );
}
