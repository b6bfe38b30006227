//! The observer works in whatever host it lands in: a plain synchronous program
//! without any runtime, a current-thread tokio runtime (shutdown and flush called
//! from async code must not deadlock), and a multi-thread runtime. An observer
//! built inside a runtime and dropped inside it must not panic (the classic
//! "Cannot drop a runtime in a context where blocking is not allowed").

mod common;

use std::time::{Duration, Instant};

use common::{builder_for, observe, observer_for, shutdown_complete, Watchdog, SHUTDOWN};
use integration_tests::OtlpReceiver;
use tracing::instrument::WithSubscriber;
use tracing::Instrument;
use tracing_observer::{config::Protocol, Observer};

/// How long a whole host test may take before the watchdog ends the process.
const DEADLOCK_LIMIT: Duration = Duration::from_secs(60);

#[tracing::instrument]
async fn handle(request: u64) -> u64 {
    tokio::task::yield_now().await;
    tracing::info!("handled");
    request * 2
}

/// An observer for `receiver` whose drop-time shutdown may take up to [`SHUTDOWN`].
fn observer_with_drop_timeout(receiver: &OtlpReceiver, protocol: Protocol) -> Observer {
    builder_for(receiver, protocol)
        .shutdown_timeout(SHUTDOWN)
        .build()
        .expect("observer builds")
}

#[test]
fn plain_sync_program_without_a_runtime() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "this test must run outside any runtime"
    );
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    observe(&observer, || {
        tracing::info_span!("main").in_scope(|| {
            tracing::info_span!("step").in_scope(|| tracing::info!("work"));
        });
    });
    observer
        .force_flush(SHUTDOWN)
        .expect("flush from sync code");
    assert_eq!(receiver.span_count(), 2, "flush exported the closed spans");
    let report = shutdown_complete(&observer);
    assert_eq!(report.stats.exported, 2);
    assert_eq!(receiver.span_count(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_runtime_flush_and_shutdown_from_async_code() {
    let _watchdog = Watchdog::arm(DEADLOCK_LIMIT, "current_thread host");
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let _default = tracing::dispatcher::set_default(&common::dispatch(&observer));

    let doubled = handle(21).await;
    assert_eq!(doubled, 42);
    let task = tokio::spawn(handle(1).in_current_span());
    task.await.expect("task");

    observer
        .force_flush(SHUTDOWN)
        .expect("flush from async code");
    assert_eq!(receiver.span_count(), 2);

    let started = Instant::now();
    let report = shutdown_complete(&observer);
    assert!(started.elapsed() < SHUTDOWN, "{report}");
    assert_eq!(report.stats.exported, 2);
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(|s| s.name() == "handle"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runtime_spans_from_many_tasks() {
    let _watchdog = Watchdog::arm(DEADLOCK_LIMIT, "multi_thread host");
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let dispatch = common::dispatch(&observer);

    let tasks: Vec<_> = (0..20)
        .map(|i| tokio::spawn(handle(i).with_subscriber(dispatch.clone())))
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    // Blocking shutdown from a runtime worker thread.
    let report = shutdown_complete(&observer);
    assert_eq!(report.stats.exported, 20);
    assert_eq!(receiver.span_count(), 20);
}

#[tokio::test(flavor = "current_thread")]
async fn built_and_dropped_inside_current_thread_runtime_grpc() {
    built_and_dropped_inside_runtime(Protocol::Grpc).await;
}

#[tokio::test(flavor = "current_thread")]
async fn built_and_dropped_inside_current_thread_runtime_http() {
    built_and_dropped_inside_runtime(Protocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_and_dropped_inside_multi_thread_runtime_grpc() {
    built_and_dropped_inside_runtime(Protocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_and_dropped_inside_multi_thread_runtime_http() {
    built_and_dropped_inside_runtime(Protocol::HttpJson).await;
}

/// Builds, uses and drops the observer (no explicit shutdown: `Drop` does it)
/// inside async code; the drop-time shutdown must deliver the spans, and
/// nothing may panic.
async fn built_and_dropped_inside_runtime(protocol: Protocol) {
    let _watchdog = Watchdog::arm(DEADLOCK_LIMIT, "drop inside runtime");
    let receiver = OtlpReceiver::start();
    let observer = observer_with_drop_timeout(&receiver, protocol);
    let dispatch = common::dispatch(&observer);
    handle(1).with_subscriber(dispatch.clone()).await;
    tokio::spawn(handle(2).with_subscriber(dispatch.clone()))
        .await
        .expect("task");
    drop(dispatch);
    drop(observer);
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "the drop-time shutdown exported the spans");
    assert!(spans.iter().all(|s| s.name() == "handle"));
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_inside_runtime_while_the_collector_hangs() {
    let _watchdog = Watchdog::arm(DEADLOCK_LIMIT, "drop with hanging collector");
    let receiver = OtlpReceiver::start_with(integration_tests::Behavior::Hang);
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let observer = builder_for(&receiver, protocol)
            .shutdown_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        handle(1).with_subscriber(common::dispatch(&observer)).await;
        let started = Instant::now();
        drop(observer);
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(2500),
            "{protocol:?}: drop took {elapsed:?} with a 1 s shutdown timeout"
        );
    }
    assert!(
        receiver.attempts() >= 2,
        "both exports reached the collector"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn built_inside_runtime_and_dropped_unused() {
    let _watchdog = Watchdog::arm(DEADLOCK_LIMIT, "unused observer");
    let receiver = OtlpReceiver::start();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let observer = observer_with_drop_timeout(&receiver, protocol);
        let _layer = observer.layer();
        drop(observer);
    }
    assert_eq!(receiver.attempts(), 0, "nothing to export, nothing sent");
}

#[test]
fn built_in_one_runtime_used_in_another_dropped_outside() {
    let receiver = OtlpReceiver::start();
    let observer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { observer_with_drop_timeout(&receiver, Protocol::Grpc) });
    let dispatch = common::dispatch(&observer);
    let runtime = common::multi_thread_runtime(&dispatch, 2);
    runtime.block_on(async {
        tokio::spawn(handle(3)).await.expect("task");
    });
    drop(runtime);
    drop(dispatch);
    drop(observer);
    assert_eq!(receiver.span_count(), 1);
}
