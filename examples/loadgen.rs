//! A load generator for `tracing-observer`, driven by users, tests and benchmarks.
//!
//! ```sh
//! cargo run --release --example loadgen -- --ops 10000 --threads 4 --depth 3 --error-rate 0.2
//! ```
//!
//! Each op is a chain of `--depth` nested `#[instrument]` spans (`node` spans
//! around one innermost `leaf`). A deterministic `--error-rate` share of the ops
//! fail: their `leaf` returns an error through `#[instrument(err)]`, which marks that
//! span alone ERROR (its ancestors pass the error on without recording it).
//!
//! The observer is configured by the `OTEL_*` / `OBSERVER_*` environment as usual;
//! the service name is `loadgen` unless the environment or config file names one.
//! At exit the observer is shut down and exactly one JSON line is printed on stdout:
//!
//! ```text
//! {"ops":..,"produced_spans":..,"error_spans":..,"elapsed_s":..,"pending_at_shutdown":..,"report":{..ShutdownReport..}}
//! ```
//!
//! With `OBSERVER_HTTP_ADDR=127.0.0.1:9464` the observer serves `/metrics` and the
//! health endpoints; `--linger S` flushes after the ops and keeps the process up S
//! seconds so they can be scraped (stderr says `loadgen: serving on ADDR` when the
//! flush is done).
//!
//! `--sdk tracing-opentelemetry` runs the same ops under `tracing-opentelemetry` and
//! `opentelemetry-otlp` instead (gRPC to `OTEL_EXPORTER_OTLP_ENDPOINT`, the SDK's
//! `BatchSpanProcessor` with its defaults), for side-by-side cost measurements; its
//! line has `"sdk":"tracing-opentelemetry"`, `"exported"` (spans the exporter had
//! acknowledged when the provider shut down) and `"report":null`.
//!
//! `elapsed_s` is the wall time of the production phase (shutdown excluded; see
//! `report.elapsed_s`); `pending_at_shutdown` the spans still queued when
//! shutdown began. Everything else goes to stderr. Exit status: 0 when it ran
//! (whatever the report says), 1 when the observer could not be built, 2 for bad
//! arguments.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tracing::instrument;
use tracing_observer::{Observer, ShutdownReport};
use tracing_subscriber::prelude::*;

/// Generates instrumented load and prints the observer's shutdown report as one JSON line.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    after_help = "Export is configured by the OTEL_* / OBSERVER_* environment variables \
                  (e.g. OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER=none).\n\
                  stdout: {\"ops\":..,\"produced_spans\":..,\"error_spans\":..,\"elapsed_s\":..,\"pending_at_shutdown\":..,\"report\":{..}}"
)]
struct Args {
    /// Number of ops to run [default: 10000]
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    ops: Option<u64>,

    /// Run for S seconds instead of a number of ops
    #[arg(long, value_name = "S", value_parser = positive_secs)]
    duration: Option<Duration>,

    /// Producer threads (with --async: tokio worker threads)
    #[arg(long, value_name = "T", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,

    /// Nested spans per op
    #[arg(long, value_name = "D", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    depth: u32,

    /// Fraction of ops whose innermost span fails (0 to 1)
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    error_rate: f64,

    /// Ops per second across all threads; 0 = as fast as possible
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = ops_per_sec)]
    rate: f64,

    /// Run ops as tokio tasks (4 per worker thread) on a multi-thread runtime, async fns instrumented
    #[arg(long = "async")]
    run_async: bool,

    /// Shutdown timeout in seconds [default: $OBSERVER_SHUTDOWN_TIMEOUT, else 30]
    #[arg(long, value_name = "S", value_parser = non_negative_secs)]
    shutdown_timeout: Option<Duration>,

    /// After the ops, flush and keep the process (and its OBSERVER_HTTP_ADDR endpoints) up S seconds
    #[arg(long, value_name = "S", default_value = "0", value_parser = non_negative_secs)]
    linger: Duration,

    /// Which instrumentation pipeline records the spans
    #[arg(long, value_enum, default_value_t = Sdk::Observer)]
    sdk: Sdk,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Sdk {
    /// tracing-observer, configured by the environment
    Observer,
    /// tracing-opentelemetry + opentelemetry-otlp (gRPC), for comparison
    TracingOpentelemetry,
}

/// The JSON line printed on stdout.
#[derive(serde::Serialize)]
struct Summary<'a> {
    ops: u64,
    produced_spans: u64,
    error_spans: u64,
    elapsed_s: f64,
    /// Spans still queued (not yet exported or dropped) when shutdown began.
    pending_at_shutdown: u64,
    report: Option<&'a ShutdownReport>,
    /// Which pipeline recorded the spans (only with `--sdk tracing-opentelemetry`).
    #[serde(skip_serializing_if = "Option::is_none")]
    sdk: Option<&'static str>,
    /// Spans acknowledged by the collector (only with `--sdk tracing-opentelemetry`).
    #[serde(skip_serializing_if = "Option::is_none")]
    exported: Option<u64>,
}

const DEFAULT_OPS: u64 = 10_000;
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent tasks per worker thread with `--async`, so that spans interleave.
const TASKS_PER_THREAD: usize = 4;

fn main() -> ExitCode {
    let args = Args::parse(); // exits with status 2 (and a message) on bad arguments
    if args.sdk == Sdk::TracingOpentelemetry {
        return otel::main(&args);
    }

    let observer = match Observer::builder().default_service_name("loadgen").build() {
        Ok(observer) => observer,
        Err(e) => {
            eprintln!("loadgen: cannot start the observer: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = tracing_subscriber::registry()
        .with(observer.layer())
        .try_init()
    {
        eprintln!("loadgen: cannot install the subscriber: {e}");
        return ExitCode::from(1);
    }
    // The builder accepted OBSERVER_SHUTDOWN_TIMEOUT, so it parses.
    let shutdown_timeout = args
        .shutdown_timeout
        .or_else(|| env_duration("OBSERVER_SHUTDOWN_TIMEOUT"))
        .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT);

    let plan = plan(&args);
    let (ops, elapsed) = match run(&plan, &args) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("loadgen: {e}");
            observer.shutdown(shutdown_timeout);
            return ExitCode::from(1);
        }
    };
    let (error_spans, produced_spans, secs) = produced(&plan, &args, ops, elapsed);

    if !args.linger.is_zero() {
        if let Err(e) = observer.force_flush(shutdown_timeout) {
            eprintln!("loadgen: flush before lingering: {e}");
        }
        match observer.http_addr() {
            Some(addr) => eprintln!("loadgen: serving on {addr} for {:?}", args.linger),
            None => eprintln!("loadgen: lingering for {:?}", args.linger),
        }
        std::thread::sleep(args.linger);
    }

    let pending_at_shutdown = observer.stats().pending;
    let report = observer.shutdown(shutdown_timeout);
    eprintln!("{report}");
    print_summary(&Summary {
        ops,
        produced_spans,
        error_spans,
        elapsed_s: secs,
        pending_at_shutdown,
        report: Some(&report),
        sdk: None,
        exported: None,
    })
}

/// Prints the JSON line on stdout.
fn print_summary(summary: &Summary<'_>) -> ExitCode {
    match serde_json::to_string(summary) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("loadgen: cannot serialise the report: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

/// The plan the arguments describe, announced on stderr.
fn plan(args: &Args) -> Arc<Plan> {
    let plan = Arc::new(Plan {
        limit: match args.duration {
            Some(duration) => Limit::Duration(duration),
            None => Limit::Ops(args.ops.unwrap_or(DEFAULT_OPS)),
        },
        depth: args.depth,
        error_rate: args.error_rate,
        interval: (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate)),
        next: AtomicU64::new(0),
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        start: Instant::now(),
    });
    eprintln!(
        "loadgen: {}, depth {}, error rate {}, {}, threads {}{}",
        plan.limit,
        args.depth,
        args.error_rate,
        if args.rate > 0.0 {
            format!("{} ops/s", args.rate)
        } else {
            "flat out".to_owned()
        },
        args.threads,
        if args.run_async { " (tokio)" } else { "" },
    );

    plan
}

/// Runs the plan; returns the ops run and the wall time.
fn run(plan: &Arc<Plan>, args: &Args) -> Result<(u64, Duration), String> {
    if args.run_async {
        run_async(plan, usize::from(args.threads))
    } else {
        run_threads(plan, usize::from(args.threads))
    }
}

/// Failed and produced spans and the seconds taken, announced on stderr.
fn produced(plan: &Plan, args: &Args, ops: u64, elapsed: Duration) -> (u64, u64, f64) {
    let error_spans = plan.failed.load(Ordering::Relaxed);
    let produced_spans = ops * u64::from(args.depth);
    let secs = elapsed.as_secs_f64();
    eprintln!(
        "loadgen: {ops} ops, {produced_spans} spans ({error_spans} failed) in {secs:.3}s: {:.0} spans/s produced",
        produced_spans as f64 / secs.max(1e-9)
    );
    (error_spans, produced_spans, secs)
}

// === the work ===

#[derive(Debug)]
enum Limit {
    Ops(u64),
    Duration(Duration),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ops(n) => write!(f, "{n} ops"),
            Self::Duration(d) => write!(f, "ops for {d:?}"),
        }
    }
}

/// What to run, shared by all producers; ops are numbered by `next`.
struct Plan {
    limit: Limit,
    depth: u32,
    error_rate: f64,
    /// Time between consecutive ops' start times, when rate-limited.
    interval: Option<Duration>,
    next: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    start: Instant,
}

impl Plan {
    /// Claims the next op and returns it with its start time, or `None` when the
    /// run is over.
    fn claim(&self) -> Option<(u64, Option<Instant>)> {
        let op = self.next.fetch_add(1, Ordering::Relaxed);
        let at = self.start_of(op);
        let go = match self.limit {
            Limit::Ops(total) => op < total,
            Limit::Duration(duration) => at.unwrap_or_else(Instant::now) < self.start + duration,
        };
        go.then_some((op, at))
    }

    /// When op `op` may start (rate limiting), if it must wait.
    fn start_of(&self, op: u64) -> Option<Instant> {
        let interval = self.interval?;
        Some(self.start + interval.mul_f64(op as f64))
    }

    /// Whether op `op` fails: exactly `floor(n * error_rate)` of the ops `0..n` do,
    /// spread evenly (the count steps up by one at each failing op).
    fn fails(&self, op: u64) -> bool {
        let steps = |n: u64| (n as f64 * self.error_rate).floor();
        steps(op + 1) > steps(op)
    }

    fn record(&self, result: Result<u64, OpError>) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The error the innermost span of a failing op returns.
#[derive(Debug)]
struct OpError {
    op: u64,
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "op {} failed (injected)", self.op)
    }
}

impl std::error::Error for OpError {}

/// An outer span (fields `op`, `nesting` from 0 = outermost, `depth`): passes
/// the leaf's error on without recording it.
#[instrument(skip(fail))]
fn node(op: u64, nesting: u32, depth: u32, fail: bool) -> Result<u64, OpError> {
    if nesting + 2 >= depth {
        leaf(op, nesting + 1, fail)
    } else {
        node(op, nesting + 1, depth, fail)
    }
}

/// The innermost span: the only one marked ERROR when the op fails.
#[instrument(err, skip(fail))]
fn leaf(op: u64, nesting: u32, fail: bool) -> Result<u64, OpError> {
    if fail {
        return Err(OpError { op });
    }
    Ok(std::hint::black_box(op.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

fn run_op(op: u64, depth: u32, fail: bool) -> Result<u64, OpError> {
    if depth == 1 {
        leaf(op, 0, fail)
    } else {
        node(op, 0, depth, fail)
    }
}

#[instrument(skip(fail))]
async fn node_async(op: u64, nesting: u32, depth: u32, fail: bool) -> Result<u64, OpError> {
    if nesting + 2 >= depth {
        leaf_async(op, nesting + 1, fail).await
    } else {
        Box::pin(node_async(op, nesting + 1, depth, fail)).await
    }
}

#[instrument(err, skip(fail))]
async fn leaf_async(op: u64, nesting: u32, fail: bool) -> Result<u64, OpError> {
    // Suspend once, so spans are left and re-entered (possibly on another thread).
    tokio::task::yield_now().await;
    if fail {
        return Err(OpError { op });
    }
    Ok(std::hint::black_box(op.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

async fn run_op_async(op: u64, depth: u32, fail: bool) -> Result<u64, OpError> {
    if depth == 1 {
        leaf_async(op, 0, fail).await
    } else {
        node_async(op, 0, depth, fail).await
    }
}

// === the producers ===

/// Runs the plan on `threads` OS threads; returns the ops run and the wall time.
fn run_threads(plan: &Arc<Plan>, threads: usize) -> Result<(u64, Duration), String> {
    let handles = (0..threads)
        .map(|i| {
            let plan = Arc::clone(plan);
            std::thread::Builder::new()
                .name(format!("loadgen-{i}"))
                .spawn(move || {
                    while let Some((op, at)) = plan.claim() {
                        if let Some(at) = at {
                            std::thread::sleep(at.saturating_duration_since(Instant::now()));
                        }
                        plan.record(run_op(op, plan.depth, plan.fails(op)));
                    }
                })
                .map_err(|e| format!("cannot start a producer thread: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for handle in handles {
        handle
            .join()
            .map_err(|_| "a producer thread panicked".to_owned())?;
    }
    Ok((plan.done.load(Ordering::Relaxed), plan.start.elapsed()))
}

/// Runs the plan as tokio tasks on a multi-thread runtime with `threads` workers.
fn run_async(plan: &Arc<Plan>, threads: usize) -> Result<(u64, Duration), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("loadgen-worker")
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    runtime.block_on(async {
        let tasks: Vec<_> = (0..threads * TASKS_PER_THREAD)
            .map(|_| {
                let plan = Arc::clone(plan);
                tokio::spawn(async move {
                    while let Some((op, at)) = plan.claim() {
                        if let Some(at) = at {
                            tokio::time::sleep_until(at.into()).await;
                        }
                        plan.record(run_op_async(op, plan.depth, plan.fails(op)).await);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await
                .map_err(|e| format!("a producer task failed: {e}"))?;
        }
        Ok::<_, String>(())
    })?;
    Ok((plan.done.load(Ordering::Relaxed), plan.start.elapsed()))
}

// === configuration ===

/// A duration variable in the crate's syntax (`250ms`, `5s`, `2m`, `1h`; bare = ms).
fn env_duration(name: &str) -> Option<Duration> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let unit = match unit.trim() {
        "" | "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return None,
    };
    unit.checked_mul(u32::try_from(n).ok()?)
}

fn parse_f64(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{value:?} is not a number"))
}

fn fraction(value: &str) -> Result<f64, String> {
    let x = parse_f64(value)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is not between 0 and 1"))
    }
}

fn non_negative(value: &str) -> Result<f64, String> {
    let x = parse_f64(value)?;
    if x >= 0.0 {
        Ok(x)
    } else {
        Err(format!("{x} is negative"))
    }
}

fn ops_per_sec(value: &str) -> Result<f64, String> {
    let rate = non_negative(value)?;
    if rate > 0.0 && Duration::try_from_secs_f64(1.0 / rate).is_err() {
        return Err(format!("{rate} is too small (use 0 for no limit)"));
    }
    Ok(rate)
}

fn non_negative_secs(value: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(non_negative(value)?).map_err(|e| format!("{value}: {e}"))
}

fn positive_secs(value: &str) -> Result<Duration, String> {
    let duration = non_negative_secs(value)?;
    if duration.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(duration)
}

// === the tracing-opentelemetry pipeline, for comparison ===

mod otel {
    use super::{plan, print_summary, produced, run, Args, Summary};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData};
    use opentelemetry_sdk::Resource;
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use tracing_subscriber::prelude::*;

    /// The OTLP exporter, counting the spans the collector acknowledged.
    #[derive(Debug)]
    struct Counted {
        inner: opentelemetry_otlp::SpanExporter,
        exported: Arc<AtomicU64>,
    }

    impl opentelemetry_sdk::trace::SpanExporter for Counted {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let n = batch.len() as u64;
            self.inner.export(batch).await?;
            self.exported.fetch_add(n, Ordering::Relaxed);
            Ok(())
        }

        fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
            self.inner.shutdown_with_timeout(timeout)
        }

        fn set_resource(&mut self, resource: &Resource) {
            self.inner.set_resource(resource);
        }
    }

    /// The ops under tracing-opentelemetry, exporting over gRPC with the SDK's batch processor.
    pub(super) fn main(args: &Args) -> ExitCode {
        // tonic's channel runs on a runtime; the batch processor's own thread drives exports.
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("loadgen: cannot start the tokio runtime: {e}");
                return ExitCode::from(1);
            }
        };
        let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .unwrap_or_else(|_| "http://127.0.0.1:4317".into());
        let exporter = {
            let _entered = runtime.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
        };
        let exporter = match exporter {
            Ok(inner) => inner,
            Err(e) => {
                eprintln!("loadgen: cannot build the OTLP exporter: {e}");
                return ExitCode::from(1);
            }
        };
        let exported = Arc::new(AtomicU64::new(0));
        let provider = SdkTracerProvider::builder()
            .with_resource(Resource::builder().with_service_name("loadgen").build())
            .with_span_processor(
                BatchSpanProcessor::builder(Counted {
                    inner: exporter,
                    exported: Arc::clone(&exported),
                })
                .build(),
            )
            .build();
        // Only the ops' spans: the exporter's own (tonic, h2, hyper) would otherwise be
        // recorded and exported too, as opentelemetry-otlp's examples warn.
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("loadgen"))
            .with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
                metadata.target().starts_with("loadgen")
            }));
        if let Err(e) = tracing_subscriber::registry().with(layer).try_init() {
            eprintln!("loadgen: cannot install the subscriber: {e}");
            return ExitCode::from(1);
        }
        let plan = plan(args);
        let result = run(&plan, args);
        if let Err(e) = provider.shutdown() {
            eprintln!("loadgen: provider shutdown: {e}");
        }
        let (ops, elapsed) = match result {
            Ok(done) => done,
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::from(1);
            }
        };
        let (error_spans, produced_spans, secs) = produced(&plan, args, ops, elapsed);
        print_summary(&Summary {
            ops,
            produced_spans,
            error_spans,
            elapsed_s: secs,
            pending_at_shutdown: 0,
            report: None,
            sdk: Some("tracing-opentelemetry"),
            exported: Some(exported.load(Ordering::Relaxed)),
        })
    }
}
