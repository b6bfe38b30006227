//! Per-operation cost of recording spans, side by side with the alternatives.
//!
//! Workloads (one criterion group each):
//! - `simple`: `info_span!("op", a = 1, b = "two")` entered and closed (1 span per op);
//! - `nested`: a root span, a child span inside it and one `info!` event inside the
//!   child (2 spans + 1 event per op).
//!
//! Configurations (one benchmark each, in every group, each with its own dispatcher
//! installed with `tracing::dispatcher::with_default`):
//! - `no_subscriber`: no dispatcher at all;
//! - `floor`: `registry()` + an empty layer: what any registry-based layer pays;
//! - `tracing_opentelemetry`: registry + `tracing-opentelemetry` over an
//!   `opentelemetry_sdk` provider (AlwaysOn, `BatchSpanProcessor` with its default
//!   configuration, counting no-op exporter);
//! - `tracing_opentelemetry_always_off`: the same with the AlwaysOff sampler;
//! - `tracing_observer`: registry + this crate's layer (counting in-memory exporter,
//!   queue of 2^20 spans);
//! - `tracing_observer_sampled_out`: the same with the `always_off` head sampler (errors
//!   would still be kept: the cost of a span that is sampled out);
//! - `tracing_observer_ratio_0.01`: the same with `traceidratio` 0.01.
//!
//! After each configuration's measurement its pipeline is shut down and one line
//! starting with `delivery:` is printed on stderr: how many spans the benchmark
//! produced and how many reached the exporter. Peers drop silently when their queue
//! is full; we count. `scripts/bench` reads these lines into BENCHMARKS.md.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData};
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{Dispatch, Subscriber};
use tracing_observer::{InMemoryExporter, Observer, Sampler as ObserverSampler};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer;

/// How long a pipeline may take to drain after a measurement.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(120);

// === workloads ===

/// One workload: the operation measured and what one operation produces.
#[derive(Clone, Copy)]
struct Workload {
    name: &'static str,
    op: fn(),
    spans_per_op: u64,
}

#[inline(never)]
fn simple() {
    let span = tracing::info_span!("op", a = 1, b = "two").entered();
    drop(span);
}

#[inline(never)]
fn nested() {
    let root = tracing::info_span!("root").entered();
    {
        let child = tracing::info_span!("child").entered();
        tracing::info!("inside the child");
        drop(child);
    }
    drop(root);
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        name: "simple",
        op: simple,
        spans_per_op: 1,
    },
    Workload {
        name: "nested",
        op: nested,
        spans_per_op: 2,
    },
];

// === configurations ===

/// A layer that does nothing: the cost of the registry alone.
struct NoopLayer;

impl<S: Subscriber> Layer<S> for NoopLayer {}

/// An `opentelemetry_sdk` exporter that counts spans and keeps nothing.
#[derive(Clone, Debug, Default)]
struct CountingSpanExporter {
    spans: Arc<AtomicU64>,
}

impl opentelemetry_sdk::trace::SpanExporter for CountingSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.spans.fetch_add(batch.len() as u64, Ordering::Relaxed);
        std::future::ready(Ok(()))
    }
}

#[derive(Clone, Copy, Debug)]
enum Config {
    NoSubscriber,
    Floor,
    TracingOpentelemetry,
    TracingOpentelemetryAlwaysOff,
    TracingObserver,
    TracingObserverSampledOut,
    TracingObserverRatio,
}

const CONFIGS: [Config; 7] = [
    // First, before any dispatcher exists, so callsites see no subscriber at all.
    Config::NoSubscriber,
    Config::Floor,
    Config::TracingOpentelemetry,
    Config::TracingOpentelemetryAlwaysOff,
    Config::TracingObserver,
    Config::TracingObserverSampledOut,
    Config::TracingObserverRatio,
];

impl Config {
    fn name(self) -> &'static str {
        match self {
            Config::NoSubscriber => "no_subscriber",
            Config::Floor => "floor",
            Config::TracingOpentelemetry => "tracing_opentelemetry",
            Config::TracingOpentelemetryAlwaysOff => "tracing_opentelemetry_always_off",
            Config::TracingObserver => "tracing_observer",
            Config::TracingObserverSampledOut => "tracing_observer_sampled_out",
            Config::TracingObserverRatio => "tracing_observer_ratio_0.01",
        }
    }

    /// The dispatcher to measure under, and the pipeline behind it.
    fn build(self) -> (Option<Dispatch>, Sink) {
        match self {
            Config::NoSubscriber => (None, Sink::Nothing),
            Config::Floor => {
                let subscriber = tracing_subscriber::registry().with(NoopLayer);
                (Some(Dispatch::new(subscriber)), Sink::Nothing)
            }
            Config::TracingOpentelemetry | Config::TracingOpentelemetryAlwaysOff => {
                let always_on = matches!(self, Config::TracingOpentelemetry);
                let exporter = CountingSpanExporter::default();
                let spans = Arc::clone(&exporter.spans);
                let provider = SdkTracerProvider::builder()
                    .with_sampler(if always_on {
                        Sampler::AlwaysOn
                    } else {
                        Sampler::AlwaysOff
                    })
                    .with_span_processor(BatchSpanProcessor::builder(exporter).build())
                    .build();
                let tracer = provider.tracer("span_overhead");
                let subscriber = tracing_subscriber::registry()
                    .with(tracing_opentelemetry::layer().with_tracer(tracer));
                let sink = Sink::Otel {
                    provider,
                    spans,
                    always_on,
                };
                (Some(Dispatch::new(subscriber)), sink)
            }
            Config::TracingObserver
            | Config::TracingObserverSampledOut
            | Config::TracingObserverRatio => {
                let sampler = match self {
                    Config::TracingObserverSampledOut => ObserverSampler::AlwaysOff,
                    Config::TracingObserverRatio => ObserverSampler::TraceIdRatio(0.01),
                    _ => ObserverSampler::AlwaysOn,
                };
                let exporter = InMemoryExporter::counting();
                let observer = Observer::builder()
                    .sampler(sampler)
                    // Isolated from the process's OTEL_* / OBSERVER_* variables.
                    .environment(std::iter::empty::<(String, String)>())
                    .exporter(exporter.clone())
                    .spool(false)
                    .max_queue_size(1 << 20)
                    .build()
                    .expect("observer builds");
                let subscriber = tracing_subscriber::registry().with(observer.layer());
                let sink = Sink::Observer {
                    observer: Box::new(observer),
                    exporter,
                };
                (Some(Dispatch::new(subscriber)), sink)
            }
        }
    }
}

/// Where a configuration's spans go, to be shut down and counted after measuring.
enum Sink {
    Nothing,
    Otel {
        provider: SdkTracerProvider,
        spans: Arc<AtomicU64>,
        always_on: bool,
    },
    Observer {
        observer: Box<Observer>,
        exporter: InMemoryExporter,
    },
}

impl Sink {
    /// Shuts the pipeline down and prints what reached the exporter.
    fn shutdown_and_report(self, workload: Workload, config: Config, ops: u64) {
        if ops == 0 {
            // Filtered out on the command line: shut down quietly (Drop does it).
            return;
        }
        let produced = ops * workload.spans_per_op;
        let prefix = format!(
            "delivery: group={} config={} ops={ops} produced={produced}",
            workload.name,
            config.name()
        );
        match self {
            Sink::Nothing => eprintln!("{prefix} delivered=n/a fraction=n/a"),
            Sink::Otel {
                provider,
                spans,
                always_on,
            } => {
                let started = Instant::now();
                let result = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
                let elapsed = started.elapsed();
                let delivered = spans.load(Ordering::Relaxed);
                let fraction = if always_on {
                    format!("{:.6}", ratio(delivered, produced))
                } else {
                    // AlwaysOff samples everything out by design: nothing is expected.
                    "n/a".to_owned()
                };
                eprintln!(
                    "{prefix} delivered={delivered} fraction={fraction} sampler={} \
                     shutdown_ms={} shutdown_ok={}",
                    if always_on { "always_on" } else { "always_off" },
                    elapsed.as_millis(),
                    result.is_ok()
                );
            }
            Sink::Observer { observer, exporter } => {
                let report = observer.shutdown(SHUTDOWN_TIMEOUT);
                let delivered = exporter.span_count() as u64;
                let stats = &report.stats;
                let dropped = &stats.dropped;
                eprintln!(
                    "{prefix} delivered={delivered} fraction={:.6} recorded={} exported={} \
                     dropped_total={} queue_full={} export_failed={} no_exporter={} \
                     shutdown={} pending={} shutdown_ms={} timed_out={}",
                    ratio(delivered, produced),
                    stats.recorded,
                    stats.exported,
                    dropped.total(),
                    dropped.queue_full,
                    dropped.export_failed,
                    dropped.no_exporter,
                    dropped.shutdown,
                    stats.pending,
                    report.elapsed.as_millis(),
                    report.timed_out
                );
            }
        }
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

// === the benchmark ===

fn measure(group: &mut BenchmarkGroup<'_, WallTime>, workload: Workload, config: Config) {
    let (dispatch, sink) = config.build();
    let ops = Cell::new(0u64);
    let op = workload.op;
    let run = |b: &mut criterion::Bencher<'_>| {
        b.iter(|| {
            ops.set(ops.get() + 1);
            op();
        })
    };
    group.bench_function(config.name(), |b| match &dispatch {
        Some(dispatch) => tracing::dispatcher::with_default(dispatch, || run(b)),
        None => run(b),
    });
    // The subscriber (and the layer's handle on the pipeline) goes first, so that
    // callsites measured later see no stale dispatcher.
    drop(dispatch);
    sink.shutdown_and_report(workload, config, ops.get());
}

fn span_overhead(c: &mut Criterion) {
    for workload in WORKLOADS {
        let mut group = c.benchmark_group(workload.name);
        for config in CONFIGS {
            measure(&mut group, workload, config);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = span_overhead
}
criterion_main!(benches);
