//! Sampling: errors kept with their ancestors, ratios per trace and rule, remote parents, slow spans, redaction.

use super::*;

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
