//! The panic hook: a panicking task's span reaches the backend, through a real
//! collector (rotel), marked ERROR with an `exception` event that carries the
//! panic's type, message, location and backtrace.
//!
//! One test per binary: the panic hook is process-wide.
//! Needs `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`).

mod common;

use common::{builder, dispatch, events_named, only, WAIT};
use integration_tests::{attr_i64, attr_str, OtlpReceiver, Rotel};
use tracing_observer::proto::trace::v1::status::StatusCode;

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_panicking_tasks_span_arrives_with_the_exception() {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let observer = builder()
        .service_name("panic-hook")
        .endpoint(rotel.grpc_endpoint())
        .panic_hook(true)
        .build()
        .expect("observer builds");
    let dispatch = dispatch(&observer);

    let task = std::thread::Builder::new()
        .name("doomed".into())
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::info_span!("doomed_task", job = 42_u64).in_scope(|| {
                    let items: Vec<u32> = Vec::new();
                    if items.is_empty() {
                        panic!("no items to process");
                    }
                });
            });
        })
        .expect("spawn");
    assert!(task.join().is_err(), "the task panicked");
    let report = observer.shutdown(common::SHUTDOWN);
    assert_eq!(report.stats.exported, 1, "{report}");

    receiver.wait_for_spans(1, WAIT);
    assert!(rotel.terminate().is_some(), "rotel was running");
    let spans = receiver.spans();
    let span = only(&spans, "doomed_task");
    let status = span.span.status.as_ref().expect("a status");
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "no items to process");
    let exceptions = events_named(span, "exception");
    assert_eq!(exceptions.len(), 1, "{:?}", span.span.events);
    let exception = exceptions[0];
    assert_eq!(
        attr_str(exception, "exception.type").as_deref(),
        Some("panic")
    );
    assert_eq!(
        attr_str(exception, "exception.message").as_deref(),
        Some("no items to process")
    );
    assert!(attr_str(exception, "code.file.path")
        .unwrap()
        .ends_with("operations_panic.rs"));
    assert!(attr_i64(exception, "code.line.number").unwrap() > 0);
    let stacktrace = attr_str(exception, "exception.stacktrace").expect("a backtrace");
    assert!(
        stacktrace.contains("operations_panic"),
        "the backtrace names the test: {stacktrace}"
    );
}
