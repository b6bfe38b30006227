//! What one exported span looks like on the wire (in-process OTLP/gRPC receiver):
//! the `otel.*` fields, `code.*` and `thread.*` attributes, fields recorded later,
//! typed field values, events with their attributes, and errors turned into a
//! status and `exception` events.

mod common;

use std::error::Error;
use std::fmt;

use common::{attr_str_array, events_named, observe, observer_for, only, shutdown_complete};
use integration_tests::{attr, attr_bool, attr_f64, attr_i64, attr_str, OtlpReceiver};
use tracing::field::Empty;
use tracing_observer::proto::trace::v1::{span::SpanKind, status::StatusCode};

/// An error with a `source()`, as applications build them.
#[derive(Debug)]
struct PaymentError {
    source: std::io::Error,
}

impl PaymentError {
    fn declined() -> Self {
        Self {
            source: std::io::Error::other("card reader offline"),
        }
    }
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment declined")
    }
}

impl Error for PaymentError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[tracing::instrument]
fn instrumented_fn(order: u64) {
    tracing::info!("inside");
}

#[tracing::instrument(err)]
fn charge(order: u64) -> Result<(), PaymentError> {
    Err(PaymentError::declined())
}

#[test]
fn otel_fields_set_name_kind_and_status() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        let server = tracing::info_span!(
            "handler",
            otel.name = "GET /orders/{id}",
            otel.kind = "server",
            otel.status_code = "ok",
        );
        server.in_scope(|| {
            tracing::info_span!(
                "query",
                otel.kind = "client",
                otel.status_code = "error",
                otel.status_description = "deadlock detected",
            )
            .in_scope(|| {});
        });
        tracing::info_span!("producer", otel.kind = "producer").in_scope(|| {});
        tracing::info_span!("consumer", otel.kind = "CONSUMER").in_scope(|| {});
        tracing::info_span!("plain").in_scope(|| {});
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 5, "{:?}", common::names(&spans));
    let server = only(&spans, "GET /orders/{id}");
    assert_eq!(server.span.kind, SpanKind::Server as i32);
    assert_eq!(
        server.span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Ok as i32)
    );
    for key in ["otel.name", "otel.kind", "otel.status_code"] {
        assert!(attr(server, key).is_none(), "{key} left as an attribute");
    }

    let query = only(&spans, "query");
    assert_eq!(query.span.kind, SpanKind::Client as i32);
    let status = query.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "deadlock detected");
    assert_eq!(query.span.parent_span_id, server.span.span_id);

    assert_eq!(
        only(&spans, "producer").span.kind,
        SpanKind::Producer as i32
    );
    assert_eq!(
        only(&spans, "consumer").span.kind,
        SpanKind::Consumer as i32
    );
    let plain = only(&spans, "plain");
    assert_eq!(plain.span.kind, SpanKind::Internal as i32);
    assert_eq!(
        plain.span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Unset as i32)
    );
}

#[test]
fn code_thread_and_timing_attributes() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let dispatch = common::dispatch(&observer);
    let before = unix_nanos();
    let line = std::thread::Builder::new()
        .name("shape-worker".into())
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                instrumented_fn(7);
                let line = line!() + 1;
                let span = tracing::warn_span!("manual");
                span.in_scope(|| {});
                line
            })
        })
        .expect("spawn")
        .join()
        .expect("worker thread");
    let after = unix_nanos();
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "{:?}", common::names(&spans));
    let module = module_path!();

    let func = only(&spans, "instrumented_fn");
    assert_eq!(
        attr_str(func, "code.function.name"),
        Some(format!("{module}::instrumented_fn"))
    );
    assert_eq!(attr_str(func, "code.module.name").as_deref(), Some(module));
    assert_eq!(attr_i64(func, "order"), Some(7));
    assert_eq!(attr_str(func, "level").as_deref(), Some("INFO"));

    let manual = only(&spans, "manual");
    let file = attr_str(manual, "code.file.path").unwrap_or_default();
    assert!(file.ends_with("span_shape.rs"), "code.file.path = {file:?}");
    assert_eq!(attr_i64(manual, "code.line.number"), Some(i64::from(line)));
    assert_eq!(attr_str(manual, "level").as_deref(), Some("WARN"));

    for span in [func, manual] {
        assert_eq!(
            attr_str(span, "thread.name").as_deref(),
            Some("shape-worker"),
            "{}",
            span.name()
        );
        assert!(attr_i64(span, "thread.id").is_some());
        let busy = attr_i64(span, "busy_ns").expect("busy_ns");
        let idle = attr_i64(span, "idle_ns").expect("idle_ns");
        assert!(busy >= 0 && idle >= 0);
        let wall = span.span.end_time_unix_nano - span.span.start_time_unix_nano;
        assert!(
            u64::try_from(busy + idle).unwrap() <= wall + 1_000,
            "busy {busy} + idle {idle} > duration {wall}"
        );
        assert!(
            before <= span.span.start_time_unix_nano
                && span.span.start_time_unix_nano <= span.span.end_time_unix_nano
                && span.span.end_time_unix_nano <= after,
            "{}: [{}, {}] outside the test's [{before}, {after}]",
            span.name(),
            span.span.start_time_unix_nano,
            span.span.end_time_unix_nano
        );
    }
    assert_eq!(
        attr_i64(func, "thread.id"),
        attr_i64(manual, "thread.id"),
        "same thread, same id"
    );
}

fn unix_nanos() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    u64::try_from(since_epoch.as_nanos()).expect("fits u64")
}

#[test]
fn per_layer_filter_skips_spans_and_events_in_the_parent_chain() {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;

    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let subscriber =
        tracing_subscriber::registry().with(observer.layer().with_filter(LevelFilter::INFO));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("outer").in_scope(|| {
            tracing::debug_span!("hidden").in_scope(|| {
                tracing::info_span!("inner").in_scope(|| {
                    tracing::debug!("hidden event");
                    tracing::info!("kept event");
                });
            });
        });
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(common::names(&spans), ["inner", "outer"]);
    let outer = only(&spans, "outer");
    let inner = only(&spans, "inner");
    assert_eq!(inner.span.parent_span_id, outer.span.span_id);
    assert_eq!(inner.span.trace_id, outer.span.trace_id);
    let events: Vec<_> = inner.span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["kept event"]);
}

#[test]
fn field_types_and_fields_recorded_later() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        let span = tracing::info_span!(
            "job",
            count = 3_u64,
            delta = -2_i64,
            ratio = 0.5_f64,
            flag = true,
            name = "nightly",
            shown = %"display text",
            list = ?vec![1, 2],
            big = u64::MAX,
            user = Empty,
            attempts = Empty,
            never = Empty,
        );
        span.record("user", "alice");
        span.record("attempts", 1);
        span.in_scope(|| tracing::info!("working"));
        span.record("attempts", 2);
        span.record("flag", false);
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    let job = only(&spans, "job");
    assert_eq!(attr_i64(job, "count"), Some(3));
    assert_eq!(attr_i64(job, "delta"), Some(-2));
    assert_eq!(attr_f64(job, "ratio"), Some(0.5));
    assert_eq!(attr_str(job, "name").as_deref(), Some("nightly"));
    assert_eq!(attr_str(job, "shown").as_deref(), Some("display text"));
    assert_eq!(attr_str(job, "list").as_deref(), Some("[1, 2]"));
    assert_eq!(
        attr_str(job, "big"),
        Some(u64::MAX.to_string()),
        "u64 beyond i64 kept exactly, as text"
    );
    // Recorded after creation; the last value wins, and there is one attribute per key.
    assert_eq!(attr_str(job, "user").as_deref(), Some("alice"));
    assert_eq!(attr_i64(job, "attempts"), Some(2));
    assert_eq!(attr_bool(job, "flag"), Some(false));
    for key in ["attempts", "flag", "user"] {
        let n = job
            .span
            .attributes
            .iter()
            .filter(|kv| kv.key == key)
            .count();
        assert_eq!(n, 1, "{key} appears {n} times");
    }
    assert!(
        attr(job, "never").is_none(),
        "unrecorded Empty field exported"
    );
    assert_eq!(job.span.dropped_attributes_count, 0);
}

#[test]
fn events_become_span_events_with_attributes() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        tracing::info!("outside any span: not part of a span, no crash");
        let span = tracing::info_span!("order");
        span.in_scope(|| {
            tracing::info!(order = 7, paid = true, amount = 9.5, "order placed");
            tracing::debug!(target: "billing", code = "A1", "invoice queued");
        });
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    let order = only(&spans, "order");
    assert_eq!(order.span.events.len(), 2, "{:?}", order.span.events);

    let placed = events_named(order, "order placed");
    assert_eq!(placed.len(), 1);
    let placed = placed[0];
    assert_eq!(attr_i64(placed, "order"), Some(7));
    assert_eq!(attr_bool(placed, "paid"), Some(true));
    assert_eq!(attr_f64(placed, "amount"), Some(9.5));
    assert_eq!(attr_str(placed, "level").as_deref(), Some("INFO"));
    assert_eq!(attr_str(placed, "target").as_deref(), Some(module_path!()));
    assert!(placed.time_unix_nano >= order.span.start_time_unix_nano);
    assert!(placed.time_unix_nano <= order.span.end_time_unix_nano);

    let queued = events_named(order, "invoice queued");
    assert_eq!(queued.len(), 1);
    assert_eq!(attr_str(queued[0], "code").as_deref(), Some("A1"));
    assert_eq!(attr_str(queued[0], "target").as_deref(), Some("billing"));
    assert_eq!(attr_str(queued[0], "level").as_deref(), Some("DEBUG"));

    assert_eq!(
        order.span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Unset as i32),
        "non-error events leave the status alone"
    );
}

#[test]
fn instrument_err_marks_the_span_failed() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let result = observe(&observer, || charge(42));
    assert!(result.is_err());
    shutdown_complete(&observer);

    let spans = receiver.spans();
    let span = only(&spans, "charge");
    assert_eq!(
        span.span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );
    let exceptions = events_named(span, "exception");
    assert_eq!(exceptions.len(), 1, "{:?}", span.span.events);
    let exception = exceptions[0];
    assert_eq!(
        attr_str(exception, "exception.type").as_deref(),
        Some(module_path!()),
        "exception.type is the event target"
    );
    assert_eq!(
        attr_str(exception, "exception.message").as_deref(),
        Some("payment declined")
    );
    assert_eq!(attr_str(exception, "level").as_deref(), Some("ERROR"));
}

#[test]
fn error_values_keep_their_source_chain() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        let err = PaymentError::declined();
        tracing::info_span!("event_error").in_scope(|| {
            tracing::warn!(
                error = &err as &dyn Error,
                exception.type = "PaymentError",
                "charging failed"
            );
        });
        tracing::info_span!("field_error", error = &err as &dyn Error).in_scope(|| {});
        tracing::info_span!("text_error").in_scope(|| tracing::error!("disk full"));
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 3);
    for name in ["event_error", "field_error", "text_error"] {
        let span = only(&spans, name);
        let status = span.span.status.clone().unwrap_or_default();
        // An error field on a WARN event is an exception, not a failure of the span.
        let expected = match name {
            "event_error" => StatusCode::Unset,
            _ => StatusCode::Error,
        };
        assert_eq!(status.code, expected as i32, "{name}");
        assert_eq!(events_named(span, "exception").len(), 1, "{name}");
    }

    let event_error = only(&spans, "event_error");
    let exception = events_named(event_error, "exception")[0];
    assert_eq!(
        attr_str(exception, "exception.type").as_deref(),
        Some("PaymentError"),
        "an exception.type field wins over the target"
    );
    assert_eq!(
        attr_str(exception, "exception.message").as_deref(),
        Some("payment declined")
    );
    assert_eq!(
        attr_str_array(exception, "exception.source_chain"),
        Some(vec!["card reader offline".to_owned()])
    );
    assert_eq!(
        attr_str(exception, "message").as_deref(),
        Some("charging failed"),
        "the event's message is kept next to the error"
    );

    let field_error = only(&spans, "field_error");
    let exception = events_named(field_error, "exception")[0];
    assert_eq!(
        attr_str(exception, "exception.message").as_deref(),
        Some("payment declined")
    );
    assert_eq!(
        attr_str_array(exception, "exception.source_chain"),
        Some(vec!["card reader offline".to_owned()])
    );

    let text_error = only(&spans, "text_error");
    let exception = events_named(text_error, "exception")[0];
    assert_eq!(
        attr_str(exception, "exception.message").as_deref(),
        Some("disk full")
    );
    assert_eq!(attr_str_array(exception, "exception.source_chain"), None);
}
