//! The observer's own cost and bounds: warnings, the overhead budget, huge and deep
//! spans, span metrics of sampled-out spans, per-span CPU time.

use super::*;

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
        _: tracing_observer::export::EncodedRequest,
    ) -> futures_util::future::BoxFuture<
        'static,
        Result<tracing_observer::export::Accepted, tracing_observer::ExportError>,
    > {
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
        _batch: tracing_observer::export::EncodedRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        tracing_observer::export::Accepted,
                        tracing_observer::ExportError,
                    >,
                > + Send
                + 'static,
        >,
    > {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok(tracing_observer::export::Accepted::all())
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
