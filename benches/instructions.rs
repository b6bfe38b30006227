//! The workloads of `span_overhead`, run once under a chosen configuration, for an
//! instruction count: `scripts/callgrind` runs this binary under
//! `valgrind --tool=callgrind`, collecting only inside `run_ops` (the caller's
//! thread, after a warm-up), and divides by the number of operations. Instruction
//! counts do not drift with the machine's load as times do.
//!
//! ```text
//! cargo bench --bench instructions -- CONFIG WORKLOAD OPS
//! ```
//!
//! CONFIG: `floor` (`registry()` + an empty layer), `minimal` (a layer that only
//! reads the clock at creation and close and keeps the start in a fixed table: the
//! least a layer measuring durations does), `tracing_observer`, `tracing_observer_logs`
//! (events also as log records),
//! `tracing_observer_sampled_out`, `tracing_observer_sampled_out_no_span_metrics`,
//! `tracing_opentelemetry`. WORKLOAD: `simple`, `nested` or `events` (as in `span_overhead`);
//! `event` (an event with two fields outside any span), `metric_event` (the same with
//! a `monotonic_counter.` field: an event metric), `event_beside_metrics` (`event`
//! once a metric callsite exists, so its callsite check probes the table).
//! The observer's worker does not run during the ops (batches only at the flushes
//! between rounds), so its thread does not compete while valgrind serialises threads.
//! The binary prints `ops N`: every call of `run_ops` counted (warm-up included),
//! what the collected instructions are divided by.

#[path = "support/workloads.rs"]
mod workloads;

use opentelemetry::trace::TracerProvider as _;
use std::time::Duration;
use tracing_observer::config::LogsExporter;
use tracing_observer::config::RetryPolicy;
use tracing_observer::{export::InMemoryExporter, Observer, Sampler};
use tracing_subscriber::layer::SubscriberExt as _;
use workloads::{events, nested, simple, CountingSpanExporter, MinimalLayer, NoopLayer};

/// An event with two fields, outside any span.
fn event() {
    tracing::info!(orders = 1_u64, region = "eu");
}

/// The same event as a metric: `orders_total{region="eu"}`.
fn metric_event() {
    tracing::info!(monotonic_counter.orders = 1_u64, region = "eu");
}

/// The calling thread's CPU time.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The measured loop (callgrind collects inside this function only).
#[inline(never)]
fn run_ops(op: fn(), n: u64) {
    for _ in 0..n {
        op();
    }
}

fn observer(sampled_out: bool, span_metrics: bool, logs: bool) -> Observer {
    let logs_exporter = if logs {
        LogsExporter::Otlp
    } else {
        LogsExporter::None
    };
    Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("instructions")
        .sampler(if sampled_out {
            Sampler::AlwaysOff
        } else {
            Sampler::AlwaysOn
        })
        .span_metrics(span_metrics)
        .exporter(InMemoryExporter::counting())
        .spool(false)
        .max_queue_size(1 << 20)
        .max_export_batch_size(1 << 20)
        .scheduled_delay(Duration::from_secs(3600))
        // Events also as log records: every one captured and queued, exported (at the
        // flushes) to a port where nothing listens.
        .logs_exporter(logs_exporter)
        .endpoint("http://127.0.0.1:9")
        .logs_rate_limit(0)
        .logs_max_queue_size(1 << 20)
        .logs_max_export_batch_size(1 << 20)
        .logs_scheduled_delay(Duration::from_secs(3600))
        // A failed logs export is dropped at once: the flushes do not wait out retries.
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("the bench's configuration is valid")
}

fn main() {
    // `cargo bench` passes `--bench`; the rest are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let config = args.first().map_or("tracing_observer", String::as_str);
    let workload = args.get(1).map_or("simple", String::as_str);
    let op: fn() = match workload {
        "nested" => nested,
        "events" => events,
        "event" | "event_beside_metrics" => event,
        "metric_event" => metric_event,
        _ => simple,
    };
    let ops: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let mut watched = None;
    let mut provider = None;
    let dispatch = match config {
        "floor" => tracing::Dispatch::new(tracing_subscriber::registry().with(NoopLayer)),
        "minimal" => {
            tracing::Dispatch::new(tracing_subscriber::registry().with(MinimalLayer::default()))
        }
        "tracing_opentelemetry" => {
            let sdk = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_span_processor(
                    opentelemetry_sdk::trace::BatchSpanProcessor::builder(
                        CountingSpanExporter::default(),
                    )
                    .build(),
                )
                .build();
            let tracer = sdk.tracer("instructions");
            provider = Some(sdk);
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(tracing_opentelemetry::layer().with_tracer(tracer)),
            )
        }
        "tracing_observer"
        | "tracing_observer_logs"
        | "tracing_observer_sampled_out"
        | "tracing_observer_sampled_out_no_span_metrics" => {
            let observer = observer(
                config.contains("sampled_out"),
                !config.ends_with("no_span_metrics"),
                config == "tracing_observer_logs",
            );
            let dispatch =
                tracing::Dispatch::new(tracing_subscriber::registry().with(observer.layer()));
            watched = Some(observer);
            dispatch
        }
        other => {
            eprintln!("instructions: unknown configuration {other:?}");
            std::process::exit(2);
        }
    };
    // In rounds, each followed by a flush, so the observer's recycled records come
    // back as they do when its worker keeps up (the flush runs outside `run_ops`).
    let rounds = 20;
    let mut counted = 0;
    // The ops' CPU time on this thread, rounds after the first (outside valgrind, a
    // time per op with the worker idle: it runs only at the flushes).
    let mut cpu = Duration::ZERO;
    tracing::dispatcher::with_default(&dispatch, || {
        if workload == "event_beside_metrics" {
            metric_event();
        }
        for round in 0..=rounds {
            let n = if round == 0 { 1000 } else { ops / rounds };
            let start = thread_cpu_time();
            run_ops(op, n);
            if round > 0 {
                cpu += thread_cpu_time().saturating_sub(start);
            }
            counted += n;
            if let Some(observer) = &watched {
                let _ = observer.force_flush(Duration::from_secs(60));
            }
        }
    });
    let measured = counted - 1000;
    println!(
        "ops {counted} cpu_ns_per_op {:.1}",
        cpu.as_nanos() as f64 / measured.max(1) as f64
    );
    drop(dispatch);
    if let Some(observer) = watched {
        observer.shutdown(Duration::from_secs(60));
    }
    if let Some(provider) = provider {
        let _ = provider.shutdown();
    }
}
