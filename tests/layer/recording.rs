//! What a span records: one record per span, fields, links, errors and limits;
//! what no exporter, a full queue and shutdown do.

use super::*;

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
        Some(&Value::StringValue(module_path!().into())),
        "the event target (this module) stands in for the type name"
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
        span.status.as_ref().map_or(0, |s| s.code),
        StatusCode::Unset as i32,
        "a handled error logged at WARN leaves the status alone (only ERROR events set it)"
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
fn record_error_names_the_error_type_and_fails_the_span() {
    use tracing_observer::ObserverSpanExt;
    let (spans, _) = record(Observer::builder(), || {
        let span = tracing::info_span!("store");
        span.record_error(&Outer(Inner));
    });
    let span = &spans[0];
    assert_eq!(
        span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );
    let exception = &span.events[0];
    assert_eq!(exception.name, "exception");
    assert_eq!(
        attr(&exception.attributes, "exception.type"),
        Some(&Value::StringValue(std::any::type_name::<Outer>().into())),
        "the Rust type name, not the target"
    );
    assert_eq!(
        attr(&exception.attributes, "exception.message"),
        Some(&Value::StringValue("cannot save order".into()))
    );
    assert!(attr(&exception.attributes, "exception.source_chain").is_some());
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
