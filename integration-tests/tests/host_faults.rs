//! Faults on the host's side never hurt the host nor the pipeline: a panic inside
//! instrumented code, a thread that never closes its span, and a 10 000-deep
//! recursion of sampled `#[instrument]` functions.
//!
//! Already covered elsewhere: a panicking `Debug` (`hostile_input.rs`,
//! `tests/layer.rs`), 10 000 nested spans sampled out with a failure at the bottom
//! (`tests/layer.rs`), the panic hook's exception event (`operations_panic.rs`).

mod common;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use common::{assert_accounted, builder};
use tracing::{instrument, Dispatch};
use tracing_observer::{export::InMemoryExporter, Observer};
use tracing_subscriber::prelude::*;

const SHUTDOWN: Duration = Duration::from_secs(10);

fn in_memory() -> (Observer, InMemoryExporter, Dispatch) {
    let exporter = InMemoryExporter::new();
    let observer = builder()
        .service_name("host-faults")
        .exporter(exporter.clone())
        .build()
        .expect("observer builds");
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(observer.layer()));
    (observer, exporter, dispatch)
}

#[instrument]
fn explode(n: u64) {
    let _inner = tracing::info_span!("inner", n).entered();
    panic!("host bug #{n}");
}

#[test]
fn panics_in_instrumented_code_reach_the_host_unchanged_and_spans_close() {
    let (observer, exporter, dispatch) = in_memory();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..100 {
            // Keep the default hook from printing 100 expected panics.
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let caught = catch_unwind(AssertUnwindSafe(|| explode(n)));
            std::panic::set_hook(hook);
            let payload = caught.expect_err("the panic reaches the host");
            let message = payload
                .downcast_ref::<String>()
                .expect("the host's own payload");
            assert_eq!(message, &format!("host bug #{n}"));
        }
        // The pipeline still works after the panics.
        tracing::info_span!("after").in_scope(|| {});
    });
    let report = observer.shutdown(SHUTDOWN);
    assert_accounted(&report);
    assert!(!report.timed_out, "{report}");
    let spans = exporter.spans();
    assert_eq!(
        spans.len(),
        201,
        "100 x (explode + inner) + after: {report}"
    );
    assert_eq!(spans.iter().filter(|s| s.name == "explode").count(), 100);
    assert_eq!(spans.iter().filter(|s| s.name == "inner").count(), 100);
    assert!(spans.iter().any(|s| s.name == "after"));
    for span in &spans {
        assert!(
            span.end_time_unix_nano >= span.start_time_unix_nano,
            "closed by the unwind: {span:?}"
        );
    }
    let ids: HashSet<&[u8]> = spans.iter().map(|s| &s.span_id[..]).collect();
    assert_eq!(ids.len(), spans.len(), "each span once");
    assert!(spans
        .iter()
        .all(|s| s.parent_span_id.is_empty() || ids.contains(&s.parent_span_id[..])));
}

#[test]
fn a_thread_that_never_closes_its_span_does_not_hold_up_shutdown() {
    let (observer, exporter, dispatch) = in_memory();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let stuck = {
        let dispatch = dispatch.clone();
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let _forever = tracing::info_span!("never_closed").entered();
                tracing::info_span!("child_closed").in_scope(|| {});
                entered_tx.send(()).expect("test waits");
                // Blocks until after shutdown (or until the test is gone).
                let _ = release_rx.recv();
            });
        })
    };
    entered_rx.recv().expect("the thread entered its span");
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..1000 {
            tracing::info_span!("meanwhile", i).in_scope(|| {});
        }
    });

    let report = observer.shutdown(SHUTDOWN);
    assert!(!report.timed_out, "{report}");
    assert_accounted(&report);
    assert_eq!(report.stats.dropped.total(), 0, "{report}");
    let names: Vec<String> = exporter.spans().into_iter().map(|s| s.name).collect();
    assert_eq!(names.len(), 1001, "{names:?}");
    assert!(names.iter().any(|n| n == "child_closed"));
    assert!(!names.iter().any(|n| n == "never_closed"));

    // The span closes after shutdown: nothing is recorded, nothing breaks.
    release_tx.send(()).expect("thread waits");
    stuck.join().expect("the stuck thread ends cleanly");
    let after = observer.stats();
    assert_eq!(after.recorded, report.stats.recorded, "{after:?}");
}

#[instrument(skip(fail))]
fn recurse(depth: u32, fail: bool) -> u32 {
    if depth == 0 {
        if fail {
            tracing::error!("bottom of the recursion failed");
        }
        return 0;
    }
    1 + recurse(depth - 1, fail)
}

#[test]
fn ten_thousand_deep_sampled_recursion_is_whole() {
    const DEPTH: u32 = 10_000;
    let (observer, exporter, dispatch) = in_memory();
    // Deep recursion through `#[instrument]` needs a big stack (the host's choice).
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                assert_eq!(recurse(DEPTH, true), DEPTH);
            });
        })
        .expect("spawn")
        .join()
        .expect("the recursion completes");
    let report = observer.shutdown(SHUTDOWN);
    assert!(!report.timed_out, "{report}");
    assert_accounted(&report);
    assert_eq!(report.stats.dropped.total(), 0, "{report}");
    let spans = exporter.spans();
    assert_eq!(spans.len() as u32, DEPTH + 1);
    let ids: HashSet<&[u8]> = spans.iter().map(|s| &s.span_id[..]).collect();
    assert_eq!(ids.len(), spans.len());
    assert_eq!(
        spans.iter().filter(|s| s.parent_span_id.is_empty()).count(),
        1
    );
    assert!(spans
        .iter()
        .all(|s| s.parent_span_id.is_empty() || ids.contains(&s.parent_span_id[..])));
    let traces: HashSet<&[u8]> = spans.iter().map(|s| &s.trace_id[..]).collect();
    assert_eq!(traces.len(), 1, "one trace");
    // Only the innermost call saw the ERROR event.
    let errors = spans
        .iter()
        .filter(|s| s.status.as_ref().is_some_and(|st| st.code == 2))
        .count();
    assert_eq!(errors, 1);
}
