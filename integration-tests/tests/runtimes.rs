//! One span, exactly once, whatever the span's life looks like: an instrumented
//! async fn that yields many times on a multi-thread runtime, a span created,
//! entered and closed on three different threads, a span never entered, and a
//! span cloned into many tasks.

mod common;

use std::time::{Duration, Instant};

use common::{dispatch, multi_thread_runtime, observe, observer_for, only, shutdown_complete};
use integration_tests::{attr_i64, attr_str, OtlpReceiver};
use tracing::Instrument;

const CALLS: u64 = 16;
const YIELDS: usize = 200;

#[tracing::instrument]
async fn yields_often(call: u64) {
    tracing::info!("started");
    for i in 0..YIELDS {
        tokio::task::yield_now().await;
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    tracing::info!("finished");
}

/// Keeps the thread busy (not asleep) for at least `at_least`.
fn spin(at_least: Duration) {
    let start = Instant::now();
    while start.elapsed() < at_least {
        std::hint::spin_loop();
    }
}

#[test]
fn async_fn_reentered_many_times_is_one_span_per_call() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let dispatch = dispatch(&observer);
    let runtime = multi_thread_runtime(&dispatch, 4);
    tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async {
            let batch = tracing::info_span!("batch");
            let tasks: Vec<_> = batch.in_scope(|| {
                (0..CALLS)
                    .map(|call| tokio::spawn(yields_often(call).in_current_span()))
                    .collect()
            });
            drop(batch);
            for task in tasks {
                task.await.expect("task");
            }
        });
    });
    drop(runtime);
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(
        spans.len(),
        CALLS as usize + 1,
        "{:?}",
        common::names(&spans)
    );
    let batch = only(&spans, "batch");
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "yields_often")
        .collect();
    assert_eq!(calls.len(), CALLS as usize);
    let mut seen: Vec<i64> = calls
        .iter()
        .map(|s| attr_i64(*s, "call").expect("call field"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..CALLS as i64).collect::<Vec<_>>(), "one per call");
    for call in calls {
        assert_eq!(call.span.parent_span_id, batch.span.span_id);
        assert_eq!(call.span.trace_id, batch.span.trace_id);
        let events: Vec<_> = call.span.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(events, ["started", "finished"]);
        assert!(attr_i64(call, "busy_ns").unwrap() > 0);
        assert!(
            attr_i64(call, "idle_ns").unwrap() > 0,
            "it slept while not polled"
        );
    }
}

#[test]
fn span_created_entered_and_closed_on_three_threads_is_one_span() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let dispatch = dispatch(&observer);

    let on_thread = |name: &str, f: Box<dyn FnOnce() -> Option<tracing::Span> + Send>| {
        let dispatch = dispatch.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || tracing::dispatcher::with_default(&dispatch, f))
            .expect("spawn")
            .join()
            .expect("thread")
    };
    let span = on_thread(
        "creator",
        Box::new(|| Some(tracing::info_span!("travelling", hops = 0))),
    )
    .unwrap();
    let span = on_thread(
        "enterer",
        Box::new(move || {
            span.in_scope(|| {
                tracing::info!("entered elsewhere");
                spin(Duration::from_millis(2));
            });
            span.record("hops", 1);
            Some(span)
        }),
    )
    .unwrap();
    on_thread(
        "closer",
        Box::new(move || {
            span.record("hops", 2);
            drop(span);
            None
        }),
    );
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1, "{:?}", common::names(&spans));
    let span = only(&spans, "travelling");
    assert_eq!(attr_i64(span, "hops"), Some(2));
    assert_eq!(span.span.events.len(), 1);
    let busy = attr_i64(span, "busy_ns").unwrap();
    assert!(
        busy >= 2_000_000,
        "busy_ns = {busy}, spun 2 ms while entered"
    );
    assert_eq!(
        attr_str(span, "thread.name").as_deref(),
        Some("creator"),
        "thread.* names the creating thread"
    );
}

#[test]
fn span_never_entered_is_exported_once() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        let span = tracing::info_span!("never_entered", reason = "skipped");
        drop(span);
        // A closed span handle that is cloned and dropped again changes nothing.
        let parked = tracing::info_span!("parked");
        let copies: Vec<_> = (0..4).map(|_| parked.clone()).collect();
        drop(parked);
        drop(copies);
    });
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "{:?}", common::names(&spans));
    for name in ["never_entered", "parked"] {
        let span = only(&spans, name);
        assert_eq!(attr_i64(span, "busy_ns"), Some(0), "{name} never entered");
    }
    assert_eq!(
        attr_str(only(&spans, "never_entered"), "reason").as_deref(),
        Some("skipped")
    );
}

#[test]
fn span_cloned_into_many_tasks_is_one_span() {
    const TASKS: i64 = 8;
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let dispatch = dispatch(&observer);
    let runtime = multi_thread_runtime(&dispatch, 4);
    tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async {
            let shared = tracing::info_span!("shared_work");
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    tokio::spawn(
                        async move {
                            for _ in 0..10 {
                                tokio::task::yield_now().await;
                            }
                            tracing::info!(task, "task ran");
                        }
                        .instrument(shared.clone()),
                    )
                })
                .collect();
            drop(shared);
            for task in tasks {
                task.await.expect("task");
            }
        });
    });
    drop(runtime);
    shutdown_complete(&observer);

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1, "{:?}", common::names(&spans));
    let span = only(&spans, "shared_work");
    let mut tasks: Vec<i64> = span
        .span
        .events
        .iter()
        .map(|e| attr_i64(e, "task").expect("task field"))
        .collect();
    tasks.sort_unstable();
    assert_eq!(tasks, (0..TASKS).collect::<Vec<_>>());
    assert!(attr_i64(span, "busy_ns").unwrap() > 0);
}
