//! Per-operation cost of recording spans, side by side with the alternatives.
//!
//! Workloads (one criterion group each):
//! - `simple`: `info_span!("op", a = 1, b = "two")` entered and closed (1 span per op);
//! - `nested`: a root span, a child span inside it and one `info!` event inside the
//!   child (2 spans + 1 event per op);
//! - `cpu_50us`: a function doing ~50 µs of CPU work (a calibrated xorshift loop),
//!   wrapped in `#[instrument]` (1 span per op): the overhead an instrumented
//!   function of realistic size pays, as a percentage of `no_subscriber`;
//! - `threads_1`, `threads_2`, `threads_4`: the `simple` op run by 1, 2 and 4
//!   producer threads at once (`iter_custom`: long-lived producer threads, started
//!   per configuration, each run `iters` ops after a barrier; the time is from the
//!   first thread's start to the last one's end, so ns/op is the time *each* thread
//!   takes per op while N threads produce; on a 2-CPU machine 4 threads share 2
//!   CPUs, so compare with `floor` in the same group).
//!
//! Configurations (one benchmark each, in every group; the `tracing` ones with their
//! own dispatcher installed with `tracing::dispatcher::with_default` on every
//! producer thread):
//! - `no_subscriber`: no dispatcher at all;
//! - `floor`: `registry()` + an empty layer: what any registry-based layer pays;
//! - `minimal`: registry + a layer that only reads `CLOCK_MONOTONIC` at creation and
//!   close and keeps the start in a table (the least a layer measuring durations pays);
//! - `tracing_opentelemetry`: registry + `tracing-opentelemetry` over an
//!   `opentelemetry_sdk` provider (AlwaysOn, `BatchSpanProcessor` with its default
//!   configuration, counting no-op exporter);
//! - `tracing_opentelemetry_always_off`: the same with the AlwaysOff sampler;
//! - `fastrace`: fastrace's own API (not through `tracing`: its bridge,
//!   `fastrace-tracing`, turns `tracing` spans into fastrace spans behind a
//!   registry layer, which measures the bridge rather than fastrace), with the
//!   `enable` feature and a counting `Reporter` (`fastrace::set_reporter`, default
//!   `Config`). Each op is written as a fastrace user would: `Span::root` with the
//!   same properties, `set_local_parent` + `LocalSpan::enter_with_local_parent` for
//!   the child, `LocalSpan::add_event` for the event;
//! - `tracing_observer`: registry + this crate's layer with its defaults (span
//!   metrics on, CPU time off), a counting in-memory exporter and a queue of 2^20 spans;
//! - `tracing_observer_sampled_out`: the same with the `always_off` head sampler (errors
//!   would still be kept: the cost of a span that is sampled out);
//! - `tracing_observer_ratio_0.01`: the same with `traceidratio` 0.01;
//! - `tracing_observer_no_span_metrics` and `tracing_observer_sampled_out_no_span_metrics`:
//!   the same two with span metrics off (what span metrics cost the host's thread);
//! - `tracing_observer_cpu_time`: `tracing_observer` with per-span thread CPU time.
//!
//! After each configuration's measurement its pipeline is shut down and one line
//! starting with `delivery:` is printed on stderr: how many spans the benchmark
//! produced, how many reached the exporter / reporter, the observer's self-reported
//! overhead ratio (read before shutdown), and the peak RSS growth of the process
//! during the configuration (`peak_rss_kb`: `VmHWM` at the end minus `VmRSS` at the
//! start, after `malloc_trim(0)` and a `VmHWM` reset through `/proc/self/clear_refs`;
//! Linux only, else `n/a`). Peers drop silently when their queue is full; we count.
//! `scripts/bench` reads these lines into BENCHMARKS.md.
//!
//! Criterion times come from `BENCH_WARMUP_MS`, `BENCH_MEASURE_MS` and
//! `BENCH_SAMPLES` (defaults 1000, 3000, 30). The interleaved measurement runs
//! `BENCH_PAIRED_ROUNDS` rounds (default 1000; 0 skips it) of the workloads named in
//! `BENCH_PAIRED_WORKLOADS` (comma-separated: `simple`, `nested`, `cpu_50us`, `events`; default
//! all) — a quick check of one change is
//! `BENCH_PAIRED_WORKLOADS=simple BENCH_PAIRED_ROUNDS=600 cargo bench --bench span_overhead -- no-criterion-match`.

#[path = "support/paired.rs"]
mod paired;
mod support;
#[path = "support/workloads.rs"]
mod workloads;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use fastrace::collector::{Config as FastraceConfig, Reporter, SpanContext, SpanRecord};
use fastrace::local::LocalSpan;
use fastrace::prelude::Event as FastraceEvent;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier, Once};
use std::time::{Duration, Instant};
use tracing::Dispatch;
use tracing_observer::config::LogsExporter;
use tracing_observer::{export::InMemoryExporter, Observer, Sampler as ObserverSampler};
use tracing_subscriber::layer::SubscriberExt as _;
use workloads::{events, nested, simple, CountingSpanExporter, MinimalLayer, NoopLayer};

/// How long a pipeline may take to drain after a measurement.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(120);

// === workloads ===

/// One workload: the operation measured (in `tracing` and in fastrace's API), how
/// many producer threads run it, and what one operation produces.
#[derive(Clone, Copy)]
struct Workload {
    name: &'static str,
    op: fn(),
    fastrace_op: fn(),
    spans_per_op: u64,
    threads: usize,
}

#[inline(never)]
fn simple_fastrace() {
    let span = fastrace::Span::root("op", SpanContext::random())
        .with_properties(|| [("a", "1"), ("b", "two")]);
    drop(span);
}

#[inline(never)]
fn events_fastrace() {
    let root = fastrace::Span::root("op", SpanContext::random())
        .with_properties(|| [("a", "1"), ("b", "two")]);
    {
        let _parent = root.set_local_parent();
        for _ in 0..4 {
            LocalSpan::add_event(FastraceEvent::new("an event in a recorded span"));
        }
    }
    drop(root);
}

#[inline(never)]
fn nested_fastrace() {
    let root = fastrace::Span::root("root", SpanContext::random());
    {
        let _parent = root.set_local_parent();
        let child = LocalSpan::enter_with_local_parent("child");
        LocalSpan::add_event(FastraceEvent::new("inside the child"));
        drop(child);
    }
    drop(root);
}

/// Iterations of [`spin`] that take about 50 µs here (set by [`calibrate`]).
static CPU_ITERS: AtomicU64 = AtomicU64::new(0);

/// CPU work: `n` rounds of xorshift, not optimised away.
#[inline(never)]
fn spin(n: u64) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..black_box(n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// Finds how many [`spin`] rounds take 50 µs (median of a few 5 ms runs).
fn calibrate() {
    let rounds: u64 = 1 << 16;
    let mut per_round: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let mut n = 0;
            while start.elapsed() < Duration::from_millis(5) {
                spin(rounds);
                n += rounds;
            }
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    per_round.sort_by(f64::total_cmp);
    let iters = (50_000.0 / per_round[per_round.len() / 2]).round() as u64;
    CPU_ITERS.store(iters.max(1), Ordering::Relaxed);
}

#[tracing::instrument]
#[inline(never)]
fn cpu_50us(n: u64) -> u64 {
    spin(n)
}

#[inline(never)]
fn cpu() {
    black_box(cpu_50us(CPU_ITERS.load(Ordering::Relaxed)));
}

#[inline(never)]
fn cpu_fastrace() {
    let n = CPU_ITERS.load(Ordering::Relaxed);
    let root = fastrace::Span::root("cpu_50us", SpanContext::random())
        .with_property(|| ("n", n.to_string()));
    let _parent = root.set_local_parent();
    black_box(spin(n));
}

const fn threads(name: &'static str, threads: usize) -> Workload {
    Workload {
        name,
        op: simple,
        fastrace_op: simple_fastrace,
        spans_per_op: 1,
        threads,
    }
}

const WORKLOADS: [Workload; 7] = [
    Workload {
        name: "simple",
        op: simple,
        fastrace_op: simple_fastrace,
        spans_per_op: 1,
        threads: 1,
    },
    Workload {
        name: "nested",
        op: nested,
        fastrace_op: nested_fastrace,
        spans_per_op: 2,
        threads: 1,
    },
    Workload {
        name: "cpu_50us",
        op: cpu,
        fastrace_op: cpu_fastrace,
        spans_per_op: 1,
        threads: 1,
    },
    Workload {
        name: "events",
        op: events,
        fastrace_op: events_fastrace,
        spans_per_op: 1,
        threads: 1,
    },
    threads("threads_1", 1),
    threads("threads_2", 2),
    threads("threads_4", 4),
];

// === configurations ===

/// A layer that does nothing: the cost of the registry alone.
/// Spans fastrace reported (all configurations share fastrace's global collector).
static FASTRACE_SPANS: AtomicU64 = AtomicU64::new(0);

/// Name of the spans emitted after a measurement only to push out what fastrace's
/// thread-local overflow queue still holds; not counted.
const FASTRACE_NUDGE: &str = "__bench_nudge";

/// A fastrace reporter that counts spans and keeps nothing.
struct CountingReporter;

impl Reporter for CountingReporter {
    fn report(&mut self, spans: Vec<SpanRecord>) {
        let n = spans.iter().filter(|s| s.name != FASTRACE_NUDGE).count();
        FASTRACE_SPANS.fetch_add(n as u64, Ordering::Relaxed);
    }
}

fn fastrace_reporter() {
    static SET: Once = Once::new();
    SET.call_once(|| fastrace::set_reporter(CountingReporter, FastraceConfig::default()));
}

#[derive(Clone, Copy, Debug)]
enum Config {
    NoSubscriber,
    Floor,
    Minimal,
    TracingOpentelemetry,
    TracingOpentelemetryAlwaysOff,
    Fastrace,
    TracingObserver,
    TracingObserverSampledOut,
    TracingObserverRatio,
    TracingObserverNoSpanMetrics,
    TracingObserverSampledOutNoSpanMetrics,
    TracingObserverCpuTime,
    TracingObserverLogs,
}

const CONFIGS: [Config; 13] = [
    // First, before any dispatcher exists, so callsites see no subscriber at all.
    Config::NoSubscriber,
    Config::Floor,
    Config::Minimal,
    Config::TracingOpentelemetry,
    Config::TracingOpentelemetryAlwaysOff,
    Config::Fastrace,
    Config::TracingObserver,
    Config::TracingObserverSampledOut,
    Config::TracingObserverRatio,
    Config::TracingObserverNoSpanMetrics,
    Config::TracingObserverSampledOutNoSpanMetrics,
    Config::TracingObserverCpuTime,
    Config::TracingObserverLogs,
];

impl Config {
    fn name(self) -> &'static str {
        match self {
            Config::NoSubscriber => "no_subscriber",
            Config::Floor => "floor",
            Config::Minimal => "minimal",
            Config::TracingOpentelemetry => "tracing_opentelemetry",
            Config::TracingOpentelemetryAlwaysOff => "tracing_opentelemetry_always_off",
            Config::Fastrace => "fastrace",
            Config::TracingObserver => "tracing_observer",
            Config::TracingObserverSampledOut => "tracing_observer_sampled_out",
            Config::TracingObserverRatio => "tracing_observer_ratio_0.01",
            Config::TracingObserverNoSpanMetrics => "tracing_observer_no_span_metrics",
            Config::TracingObserverSampledOutNoSpanMetrics => {
                "tracing_observer_sampled_out_no_span_metrics"
            }
            Config::TracingObserverCpuTime => "tracing_observer_cpu_time",
            Config::TracingObserverLogs => "tracing_observer_logs",
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
            Config::Minimal => {
                let subscriber = tracing_subscriber::registry().with(MinimalLayer::default());
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
            Config::Fastrace => {
                fastrace_reporter();
                fastrace::flush();
                let baseline = FASTRACE_SPANS.load(Ordering::Relaxed);
                (None, Sink::Fastrace { baseline })
            }
            Config::TracingObserver
            | Config::TracingObserverSampledOut
            | Config::TracingObserverRatio
            | Config::TracingObserverNoSpanMetrics
            | Config::TracingObserverSampledOutNoSpanMetrics
            | Config::TracingObserverCpuTime
            | Config::TracingObserverLogs => {
                let sampler = match self {
                    Config::TracingObserverSampledOut
                    | Config::TracingObserverSampledOutNoSpanMetrics => ObserverSampler::AlwaysOff,
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
                    .span_metrics(!matches!(
                        self,
                        Config::TracingObserverNoSpanMetrics
                            | Config::TracingObserverSampledOutNoSpanMetrics
                    ))
                    .cpu_time(matches!(self, Config::TracingObserverCpuTime))
                    // Events as log records too (logs are off with a custom span
                    // exporter unless asked for): exported to a port where nothing
                    // listens, what the host thread pays is the same.
                    .logs_exporter(if matches!(self, Config::TracingObserverLogs) {
                        LogsExporter::Otlp
                    } else {
                        LogsExporter::None
                    })
                    .endpoint("http://127.0.0.1:9")
                    // Every event captured and queued: no rate limit, room for all.
                    .logs_rate_limit(0)
                    .logs_max_queue_size(1 << 20)
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
    Fastrace {
        baseline: u64,
    },
    Observer {
        observer: Box<Observer>,
        exporter: InMemoryExporter,
    },
}

/// What was measured besides time.
struct Extra {
    ops: u64,
    base_rss_kb: Option<u64>,
    overhead_ratio: Option<f64>,
}

impl Sink {
    /// The observer's self-reported overhead ratio (last one-second window).
    fn overhead_ratio(&self) -> Option<f64> {
        match self {
            Sink::Observer { observer, .. } => Some(observer.stats().overhead_ratio),
            _ => None,
        }
    }

    /// Shuts the pipeline down and prints what reached the exporter.
    fn shutdown_and_report(self, workload: Workload, config: Config, extra: Extra) {
        let ops = extra.ops;
        if ops == 0 {
            // Filtered out on the command line: shut down quietly (Drop does it).
            return;
        }
        let produced = ops * workload.spans_per_op;
        let mut line = format!(
            "delivery: group={} config={} ops={ops} produced={produced}",
            workload.name,
            config.name()
        );
        match self {
            Sink::Nothing => line.push_str(" delivered=n/a fraction=n/a"),
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
                line.push_str(&format!(
                    " delivered={delivered} fraction={fraction} sampler={} \
                     shutdown_ms={} shutdown_ok={}",
                    if always_on { "always_on" } else { "always_off" },
                    elapsed.as_millis(),
                    result.is_ok()
                ));
            }
            Sink::Fastrace { baseline } => {
                let started = Instant::now();
                let delivered = drain_fastrace(baseline, produced);
                line.push_str(&format!(
                    " delivered={delivered} fraction={:.6} shutdown_ms={}",
                    ratio(delivered, produced),
                    started.elapsed().as_millis()
                ));
            }
            Sink::Observer { observer, exporter } => {
                let report = observer.shutdown(SHUTDOWN_TIMEOUT);
                let delivered = exporter.span_count() as u64;
                let stats = &report.stats;
                let dropped = &stats.dropped;
                line.push_str(&format!(
                    " delivered={delivered} fraction={:.6} recorded={} exported={} \
                     dropped_total={} queue_full={} error_lane_full={} span_too_large={} \
                     export_failed={} no_exporter={} shutdown={} pending={} shutdown_ms={} \
                     timed_out={}",
                    ratio(delivered, produced),
                    stats.recorded,
                    stats.exported,
                    dropped.total(),
                    dropped.queue_full,
                    dropped.error_lane_full,
                    dropped.span_too_large,
                    dropped.export_failed,
                    dropped.no_exporter,
                    dropped.shutdown,
                    stats.pending,
                    report.elapsed.as_millis(),
                    report.timed_out
                ));
            }
        }
        if let Some(r) = extra.overhead_ratio {
            line.push_str(&format!(" overhead_ratio={r:.6}"));
        }
        match (extra.base_rss_kb, rss::peak_kb()) {
            (Some(base), Some(peak)) => line.push_str(&format!(
                " base_rss_kb={base} peak_rss_kb={}",
                peak.saturating_sub(base)
            )),
            _ => line.push_str(" peak_rss_kb=n/a"),
        }
        eprintln!("{line}");
    }
}

/// Waits until fastrace reported `produced` spans since `baseline` (or gives up
/// after 10 s); returns how many it reported.
///
/// fastrace sends spans through a per-thread ring of 10 240 commands; what does not
/// fit waits in an unbounded per-thread overflow queue that only moves when that
/// thread sends again (or exits). So after each flush, this thread emits one
/// uncounted span to push its overflow out.
fn drain_fastrace(baseline: u64, produced: u64) -> u64 {
    // A flat-out run leaves fastrace a backlog of millions of spans (it never drops);
    // wait as long as the observer's shutdown may take, so the next configuration's
    // baseline does not count this one's late reports.
    let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
    loop {
        fastrace::flush();
        let delivered = FASTRACE_SPANS.load(Ordering::Relaxed) - baseline;
        if delivered >= produced || Instant::now() >= deadline {
            return delivered;
        }
        drop(fastrace::Span::root(FASTRACE_NUDGE, SpanContext::random()));
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Peak resident memory of a configuration: `VmHWM` reset at its start.
mod rss {
    fn status_kb(key: &str) -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    }

    /// Returns freed heap to the system, resets the peak to the current RSS and
    /// returns that RSS; `None` where this is not possible.
    pub(crate) fn reset() -> Option<u64> {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of glibc's allocator.
        unsafe {
            libc::malloc_trim(0);
        }
        std::fs::write("/proc/self/clear_refs", "5").ok()?;
        status_kb("VmRSS")
    }

    pub(crate) fn peak_kb() -> Option<u64> {
        status_kb("VmHWM")
    }
}

// === the benchmark ===

/// Runs `iters` ops on this thread (under `dispatch`) and returns the time taken.
fn run_here(dispatch: Option<&Dispatch>, op: fn(), iters: u64) -> Duration {
    let body = || {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        start.elapsed()
    };
    match dispatch {
        Some(dispatch) => tracing::dispatcher::with_default(dispatch, body),
        None => body(),
    }
}

/// Producer threads that live as long as one configuration's measurement (as a
/// host's worker threads would), each with the configuration's dispatcher.
struct Pool {
    commands: Vec<mpsc::Sender<Command>>,
    results: mpsc::Receiver<(Instant, Instant)>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// What a [`Pool`] thread is told.
enum Command {
    /// Run this many ops after the barrier and report the start and end times.
    Run(u64),
    /// Exit; for fastrace, first nudge its overflow out until fastrace reported this
    /// many spans in total.
    Stop { fastrace_target: Option<u64> },
}

impl Pool {
    fn start(dispatch: Option<&Dispatch>, op: fn(), threads: usize) -> Self {
        let barrier = Arc::new(Barrier::new(threads));
        let (result_tx, results) = mpsc::channel();
        let mut commands = Vec::new();
        let mut handles = Vec::new();
        for i in 0..threads {
            let (tx, rx) = mpsc::channel::<Command>();
            commands.push(tx);
            let barrier = Arc::clone(&barrier);
            let result_tx = result_tx.clone();
            let dispatch = dispatch.cloned();
            let handle = std::thread::Builder::new()
                .name(format!("producer-{i}"))
                .spawn(move || {
                    let body = || loop {
                        match rx.recv() {
                            Ok(Command::Run(iters)) => {
                                barrier.wait();
                                let start = Instant::now();
                                for _ in 0..iters {
                                    op();
                                }
                                let _ = result_tx.send((start, Instant::now()));
                            }
                            Ok(Command::Stop { fastrace_target }) => {
                                if let Some(target) = fastrace_target {
                                    nudge_fastrace(target);
                                }
                                return;
                            }
                            Err(_) => return,
                        }
                    };
                    match &dispatch {
                        Some(dispatch) => tracing::dispatcher::with_default(dispatch, body),
                        None => body(),
                    }
                })
                .expect("spawn a producer thread");
            handles.push(handle);
        }
        Self {
            commands,
            results,
            handles,
        }
    }

    /// Runs `iters` ops on every thread at once; returns the time from the first
    /// start to the last end.
    fn run(&self, iters: u64) -> Duration {
        for command in &self.commands {
            command.send(Command::Run(iters)).expect("producer alive");
        }
        let spans: Vec<(Instant, Instant)> = (0..self.commands.len())
            .map(|_| self.results.recv().expect("producer alive"))
            .collect();
        let start = spans
            .iter()
            .map(|s| s.0)
            .min()
            .expect("one thread at least");
        let end = spans
            .iter()
            .map(|s| s.1)
            .max()
            .expect("one thread at least");
        end - start
    }

    /// Stops the threads (dropping their dispatchers).
    fn stop(self, fastrace_target: Option<u64>) {
        for command in &self.commands {
            let _ = command.send(Command::Stop { fastrace_target });
        }
        for handle in self.handles {
            handle.join().expect("producer thread panicked");
        }
    }
}

/// Before a fastrace producer thread exits: emits uncounted spans for up to 10 s so
/// that what its overflow queue still holds moves into its ring, which a
/// concurrent `fastrace::flush` loop empties (else it would be lost with the thread).
fn nudge_fastrace(target: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while FASTRACE_SPANS.load(Ordering::Relaxed) < target && Instant::now() < deadline {
        drop(fastrace::Span::root(FASTRACE_NUDGE, SpanContext::random()));
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn measure(group: &mut BenchmarkGroup<'_, WallTime>, workload: Workload, config: Config) {
    let base_rss_kb = rss::reset();
    let (dispatch, sink) = config.build();
    let ops = AtomicU64::new(0);
    let op = match config {
        Config::Fastrace => workload.fastrace_op,
        _ => workload.op,
    };
    let pool = workload
        .name
        .starts_with("threads_")
        .then(|| Pool::start(dispatch.as_ref(), op, workload.threads));
    group.bench_function(config.name(), |b| {
        b.iter_custom(|iters| {
            ops.fetch_add(iters * workload.threads as u64, Ordering::Relaxed);
            match &pool {
                Some(pool) => pool.run(iters),
                None => run_here(dispatch.as_ref(), op, iters),
            }
        })
    });
    let overhead_ratio = sink.overhead_ratio();
    let ops = ops.load(Ordering::Relaxed);
    if let Some(pool) = pool {
        match &sink {
            Sink::Fastrace { baseline } => {
                // The producers push their fastrace overflow out while this thread flushes.
                let target = baseline + ops * workload.spans_per_op;
                std::thread::scope(|scope| {
                    scope.spawn(|| pool.stop(Some(target)));
                    let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
                    while FASTRACE_SPANS.load(Ordering::Relaxed) < target
                        && Instant::now() < deadline
                    {
                        fastrace::flush();
                        std::thread::sleep(Duration::from_millis(1));
                    }
                });
            }
            _ => pool.stop(None),
        }
    }
    // The subscriber (and the layer's handle on the pipeline) goes first, so that
    // callsites measured later see no stale dispatcher.
    drop(dispatch);
    let extra = Extra {
        ops,
        base_rss_kb,
        overhead_ratio,
    };
    sink.shutdown_and_report(workload, config, extra);
}

/// The thread's CPU time (Linux: `CLOCK_THREAD_CPUTIME_ID`), else wall time.
fn thread_cpu_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn span_overhead(c: &mut Criterion) {
    calibrate();
    eprintln!(
        "calibration: cpu_50us spin iterations={}",
        CPU_ITERS.load(Ordering::Relaxed)
    );
    for workload in WORKLOADS {
        let mut group = c.benchmark_group(workload.name);
        for config in CONFIGS {
            measure(&mut group, workload, config);
        }
        group.finish();
    }
    if std::env::var("BENCH_PAIRED_ROUNDS").as_deref() != Ok("0") {
        paired::paired_all();
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = span_overhead
}
criterion_main!(benches);
