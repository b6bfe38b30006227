//! The background pipeline: a named thread with its own runtime that batches and exports.
//!
//! The host's threads only push finished records into the [`Recorder`]'s queue.
//! Everything else — conversion to OTLP, encoding, I/O — runs on one thread called
//! `tracing-observer`, which owns a current-thread tokio runtime (so it works whether
//! the host runs tokio or not) and has tracing switched off (so the observer never
//! records its own exports).
//!
//! The worker also aggregates span metrics, samples process resources, pushes OTLP
//! metrics and serves the HTTP endpoints when they are enabled; what it reports lives
//! in its [`Status`]. It runs under a supervisor: a panic is caught and counted and
//! the worker restarts with backoff; after `max_worker_restarts` failures in a row
//! the observer disables itself (the layer turns into a no-op, health says why) and
//! the host runs on untouched.
//!
//! This module wires the others together; none of them imports it.

mod duties;
mod logs;
mod replays;
mod status;
mod supervisor;
mod worker;

use crate::config::origin::Origin;
use crate::config::{BatchConfig, Config, ExporterConfig, LogsConfig};
use crate::delivery::{
    CircuitBreaker, Delivery, DeliveryConfig, Reach, EXPORT_BREAKER, LOGS_BREAKER,
};
use crate::error::BuildError;
use crate::export::console::ConsoleExporter;
use crate::export::encode::logs::LogEncoder;
use crate::export::encode::RequestEncoder;
use crate::export::endpoint::Signal;
use crate::export::grpc::GrpcTarget;
use crate::export::http::HttpExporter;
use crate::export::metrics::MetricsTarget;
use crate::export::resource::ServiceResource;
use crate::export::{Protocol, SpanExporter};
use crate::health::HealthRegistry;
use crate::logs::LogCapture;
use crate::metrics::otlp::MetricsContext;
use crate::metrics::process::ProcessMetrics;
use crate::metrics::push::MetricsPush;
use crate::metrics::span::{SpanMetrics, SpanMetricsConfig, CPU_TIME, CPU_TIME_BUCKETS_S};
use crate::metrics::MetricsRegistry;
use crate::record::policy::FieldPolicy;
use crate::recorder::{QueueBounds, Recorder};
use crate::report::PipelineStats;
use crate::resources::{ResourceMonitor, SysinfoMonitor};
use crate::sampling::{HeadSampler, OverheadMeter, SampledOutTable, Sampling};
use crate::spool::Spool;
use crate::stats::Stats;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

pub(crate) use status::Status;

/// The worker thread's name.
const THREAD_NAME: &str = "tracing-observer";

/// The logs spool's directory, inside the spool's.
const LOGS_SPOOL_DIR: &str = "logs";

/// Builds the exporter on the worker thread, inside its runtime.
type ExporterFactory = Box<dyn FnOnce() -> Option<Box<dyn SpanExporter>> + Send>;

/// A request from the [`Observer`](crate::Observer) to the worker, answered on `reply`.
enum Control {
    Flush {
        reply: mpsc::SyncSender<()>,
    },
    Shutdown {
        deadline: Instant,
        reply: mpsc::SyncSender<()>,
    },
}

/// What the builder hands over besides the resolved configuration: the parts set in code.
pub(crate) struct Custom {
    /// Replaces the configured exporter.
    pub(crate) exporter: Option<Box<dyn SpanExporter>>,
    /// Replaces the sysinfo reader of process resources.
    pub(crate) resource_monitor: Option<Box<dyn ResourceMonitor>>,
}

/// The logs lane's parts, as `start` prepares them.
struct LogsSetup {
    exporter: ExporterFactory,
    delivery: DeliveryConfig,
    reach: Reach,
    batch: BatchConfig,
    /// The logs export breaker (the status holds a clone).
    breaker: CircuitBreaker,
}

/// What the worker thread starts from.
struct WorkerSetup {
    batch: BatchConfig,
    resource: ServiceResource,
    exporter: ExporterFactory,
    delivery: DeliveryConfig,
    /// Where the configured OTLP exporter connects, for the connection check.
    reach: Reach,
    service_name: String,
    span_metrics: SpanMetricsConfig,
    resource_monitor: Box<dyn ResourceMonitor>,
    resource_interval: Duration,
    /// The endpoints' listener, bound by `start`.
    listener: Option<std::net::TcpListener>,
    max_worker_restarts: usize,
    /// Where OTLP metrics are pushed, when they are.
    metrics_target: Option<MetricsTarget>,
    logs: Option<LogsSetup>,
}

/// Flushes a pipeline from anywhere (the panic hook) without keeping it alive.
#[derive(Clone)]
struct FlushHandle {
    recorder: Weak<Recorder>,
    control: UnboundedSender<Control>,
}

impl FlushHandle {
    /// Exports what has closed so far; waits at most `timeout`. Does nothing once the
    /// observer is gone or shut down, or when called on the worker's own thread.
    fn flush(&self, timeout: Duration) {
        let Some(recorder) = self.recorder.upgrade() else {
            return;
        };
        if !recorder.is_accepting() || std::thread::current().name() == Some(THREAD_NAME) {
            return;
        }
        let (reply, done) = mpsc::sync_channel(1);
        if self.control.send(Control::Flush { reply }).is_ok() {
            let _ = done.recv_timeout(timeout);
        }
    }
}

/// How a shutdown ended, as seen by the caller.
pub(crate) struct ShutdownOutcome {
    pub(crate) stats: PipelineStats,
    pub(crate) timed_out: bool,
}

/// The handle to a running pipeline.
pub(crate) struct Pipeline {
    status: Arc<Status>,
    control: UnboundedSender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The counters as shutdown left them; an abandoned export cannot change them later.
    final_stats: Mutex<Option<PipelineStats>>,
}

impl Pipeline {
    /// Builds every part from `config` and starts the worker thread.
    ///
    /// Targets are validated and the endpoints' listener bound here, so that a bad
    /// certificate or a port in use is a build error.
    pub(crate) fn start(config: Config, custom: Custom) -> Result<Self, BuildError> {
        crate::clock::start();
        let listener = (config.http_addr.as_ref())
            .map(|(addr, origin)| listen(*addr, origin))
            .transpose()?;
        let custom_exporter = custom.exporter.is_some();
        let exporter = exporter_factory(custom.exporter, &config.exporter, Signal::Traces)?;
        // A custom span exporter takes no logs: unless set, they are off with it.
        let logs_config = (config.logs.clone()).filter(|l| !(custom_exporter && l.follows_traces));
        let logs_setup = logs_config
            .as_ref()
            .map(|logs| logs_setup(logs, &config.delivery, &config.service_name))
            .transpose()?;
        let metrics_target = (config.metrics_export.as_ref())
            .map(MetricsTarget::new)
            .transpose()?;
        let span_metrics = &config.span_metrics;
        let recorder = Recorder::new(
            QueueBounds {
                max_spans: config.batch.max_queue_size,
                max_bytes: config.batch.max_queue_bytes,
                batch_size: config.batch.max_export_batch_size,
            },
            config.limits,
            FieldPolicy::new(&config.redact_fields, config.allow_fields.as_deref()),
            Sampling {
                head: HeadSampler::new(&config.sampler, &config.sampling_rules),
                table: SampledOutTable::new(),
                keep_errors: config.keep_errors,
                slow_span_threshold: config.slow_span_threshold,
                overhead: OverheadMeter::new(config.overhead_budget),
            },
            span_metrics.enabled.then_some(span_metrics.profile),
            config.event_metrics.enabled,
        )
        .with_events(
            (logs_config.as_ref()).map(|logs| LogCapture::new(&logs.capture, &config.limits)),
            config.span_events,
        );
        let metrics = MetricsRegistry::new(&[
            (
                span_metrics.profile.duration_name(),
                span_metrics.profile.buckets(),
            ),
            (CPU_TIME, CPU_TIME_BUCKETS_S),
        ]);
        let breaker_name = format!("{EXPORT_BREAKER}:{}", config.service_name);
        let logs_breaker = logs_setup.as_ref().map(|setup| setup.breaker.clone());
        let status = Arc::new(Status::new(
            Arc::new(recorder),
            metrics,
            HealthRegistry::default(),
            CircuitBreaker::new(breaker_name, config.delivery.breaker.clone()),
            logs_breaker,
            listener.as_ref().and_then(|l| l.local_addr().ok()),
            config.event_metrics.clone(),
        ));
        let setup = WorkerSetup {
            batch: config.batch,
            resource: ServiceResource::new(&config.service_name, &config.resource_attributes),
            exporter,
            delivery: config.delivery,
            reach: match (&custom_exporter, &config.exporter) {
                (false, ExporterConfig::Otlp(otlp)) => reach(&otlp.endpoint),
                _ => None,
            },
            service_name: config.service_name,
            span_metrics: config.span_metrics,
            resource_monitor: (custom.resource_monitor)
                .unwrap_or_else(|| Box::new(SysinfoMonitor::new())),
            resource_interval: config.resource_interval,
            listener,
            max_worker_restarts: config.max_worker_restarts,
            metrics_target,
            logs: logs_setup,
        };
        let (control, commands) = unbounded_channel();
        let worker_status = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || run_worker(worker_status, setup, commands))
            .map_err(BuildError::WorkerSpawn)?;
        let pipeline = Self {
            status,
            control,
            thread: Mutex::new(Some(thread)),
            final_stats: Mutex::new(None),
        };
        if config.panic_hook {
            let handle = pipeline.flush_handle();
            crate::panic_hook::install(move |timeout| handle.flush(timeout));
        }
        Ok(pipeline)
    }

    /// What the layer records into.
    pub(crate) fn recorder(&self) -> &Arc<Recorder> {
        &self.status.recorder
    }

    /// What the worker reports.
    pub(crate) fn status(&self) -> &Status {
        &self.status
    }

    /// A handle that flushes this pipeline without keeping it alive.
    fn flush_handle(&self) -> FlushHandle {
        FlushHandle {
            recorder: Arc::downgrade(&self.status.recorder),
            control: self.control.clone(),
        }
    }

    pub(crate) fn stats(&self) -> PipelineStats {
        if let Some(stats) = self.final_stats.lock().ok().and_then(|s| s.clone()) {
            return stats;
        }
        self.status.snapshot()
    }

    /// Exports everything queued now; waits at most `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), crate::FlushError> {
        if !self.status.recorder.is_accepting() {
            return Err(crate::FlushError::ShutDown);
        }
        let (reply, done) = mpsc::sync_channel(1);
        if self.control.send(Control::Flush { reply }).is_err() {
            return Err(crate::FlushError::ShutDown);
        }
        match done.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(crate::FlushError::Timeout(timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(crate::FlushError::ShutDown),
        }
    }

    /// Stops recording, drains the queue and stops the worker, within `timeout`.
    ///
    /// The worker gets a deadline slightly inside the timeout so that it can count
    /// what it could not deliver before the caller stops waiting.
    pub(crate) fn shutdown(&self, timeout: Duration) -> ShutdownOutcome {
        self.status.recorder.stop_accepting();
        let margin = (timeout / 10).min(Duration::from_millis(100));
        let deadline = Instant::now() + timeout.saturating_sub(margin);
        let (reply, done) = mpsc::sync_channel(1);
        let sent = self
            .control
            .send(Control::Shutdown { deadline, reply })
            .is_ok();
        let finished = sent && done.recv_timeout(timeout).is_ok();
        if finished {
            if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
                // The worker replied as its last act; joining is immediate.
                let _ = thread.join();
            }
        }
        let mut stats = self.status.snapshot();
        // Whatever the worker could not finish is lost: count it, never hide it.
        stats.dropped.shutdown += stats.pending;
        stats.pending = 0;
        stats.logs.dropped.shutdown += stats.logs.pending;
        stats.logs.pending = 0;
        if let Ok(mut slot) = self.final_stats.lock() {
            *slot = Some(stats.clone());
        }
        ShutdownOutcome {
            timed_out: !finished
                || self.status.stats.was_cut()
                || stats.dropped.shutdown > 0
                || stats.logs.dropped.shutdown > 0,
            stats,
        }
    }
}

/// The worker thread's body: its runtime, its parts, and the supervised loop.
fn run_worker(status: Arc<Status>, setup: WorkerSetup, commands: UnboundedReceiver<Control>) {
    // The observer must not observe its own exports (tonic, hyper and h2 trace).
    // `Dispatch::none()` is not registered with tracing's callsite registry: a
    // registered no-op subscriber would turn every callsite of the host from "always"
    // into "sometimes" enabled, and each span and event would then ask the dispatcher
    // again (~50 instructions).
    let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        // Without a runtime the worker cannot run; dropping `commands` makes every
        // flush and shutdown return at once instead of waiting.
        Err(_) => return,
    };
    runtime.block_on(async move {
        let (batch, resource) = (setup.batch, setup.resource);
        let exporter = (setup.exporter)();
        if let Some(listener) = setup.listener {
            tokio::spawn(crate::server::serve(listener, Arc::clone(&status)));
        }
        let spool_upkeep = (setup.delivery.spool.as_ref())
            .map(|spool| (spool.sync_interval, spool.cleanup_interval));
        let delivery = open_delivery(
            &status,
            setup.delivery,
            setup.reach,
            exporter,
            &batch,
            status.export_breaker.clone(),
            &status.stats,
            Signal::Traces,
        );
        let metrics_push = setup.metrics_target.map(|target| {
            let interval = target.interval();
            let context = MetricsContext {
                resource: resource.resource().clone(),
                scope: resource.scope().clone(),
                start_unix_nanos: crate::clock::unix_nanos(SystemTime::now()),
            };
            (
                MetricsPush::start(target, context, &status.metrics),
                interval,
            )
        });
        let span_metrics =
            SpanMetrics::new(setup.span_metrics, &setup.service_name, &status.metrics);
        let logs = setup.logs.map(|logs| {
            let exporter = (logs.exporter)();
            let stats = Arc::clone(&status.log_stats);
            let delivery = open_delivery(
                &status,
                logs.delivery,
                logs.reach,
                exporter,
                &logs.batch,
                logs.breaker,
                &stats,
                Signal::Logs,
            );
            logs::LogLane::new(
                Arc::clone(&status.recorder),
                LogEncoder::new(&resource),
                delivery,
                stats,
                logs.batch,
            )
        });
        let parts = worker::Parts {
            status: Arc::clone(&status),
            requests: RequestEncoder::new(&resource),
            batch,
            commands,
            span_metrics,
            process_metrics: ProcessMetrics::new(setup.resource_monitor),
            resource_interval: setup.resource_interval,
            spool_upkeep,
            metrics_push,
            logs,
        };
        let mut worker = worker::Worker::new(parts, delivery);
        status.set_started();
        supervisor::supervise(&mut worker, &status, setup.max_worker_restarts).await;
    });
    // Health checks still running on blocking threads must not hold up the exit.
    runtime.shutdown_background();
}

/// Delivery with `breaker` and its spool (counted as failed when it cannot be opened:
/// batches then go without it), counting into `stats`; a spool of log batches is
/// marked as one.
#[allow(clippy::too_many_arguments, reason = "the parts of one delivery")]
fn open_delivery(
    status: &Status,
    config: DeliveryConfig,
    reach: Reach,
    exporter: Option<Box<dyn SpanExporter>>,
    batch: &BatchConfig,
    breaker: CircuitBreaker,
    stats: &Arc<Stats>,
    signal: Signal,
) -> Delivery {
    let stats = Arc::clone(stats);
    let spool = config.spool.and_then(|config| {
        let dir = config.dir.clone();
        let spool = Spool::open(config, Arc::clone(stats.spool()))
            .map_err(|e| stats.spool().error("opening the spool", &e))
            .ok();
        let open_mode = stats
            .spool()
            .dir_open_to_others
            .lock()
            .ok()
            .and_then(|m| *m);
        if let Some(mode) = open_mode {
            status.recorder.diagnostics.spool_not_private(&dir, mode);
        }
        if let (Some(spool), Signal::Logs) = (&spool, signal) {
            spool.mark_as_logs();
        }
        spool
    });
    Delivery::new(
        exporter,
        breaker,
        config.retry,
        batch.export_timeout,
        spool,
        stats,
        reach,
    )
}

/// The logs lane's exporter and delivery: the spans' retry and breaker settings, the
/// spool's in its `logs` subdirectory (a budget of its own).
fn logs_setup(
    logs: &LogsConfig,
    spans: &DeliveryConfig,
    service_name: &str,
) -> Result<LogsSetup, BuildError> {
    let mut delivery = spans.clone();
    let delivery_breaker = delivery.breaker.clone();
    if let Some(spool) = &mut delivery.spool {
        spool.dir = spool.dir.join(LOGS_SPOOL_DIR);
        spool.archive_dir = spool.archive_dir.as_ref().map(|d| d.join(LOGS_SPOOL_DIR));
    }
    Ok(LogsSetup {
        exporter: exporter_factory(None, &logs.exporter, Signal::Logs)?,
        delivery,
        reach: match &logs.exporter {
            ExporterConfig::Otlp(otlp) => reach(&otlp.endpoint),
            _ => None,
        },
        batch: logs.batch,
        breaker: CircuitBreaker::new(format!("{LOGS_BREAKER}:{service_name}"), delivery_breaker),
    })
}

/// `host:port` of an endpoint URL (an IPv6 host keeps its brackets).
fn reach(endpoint: &url::Url) -> Reach {
    let host = endpoint.host_str()?;
    let port = endpoint.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

/// The exporter of `signal`, built on the worker thread (a gRPC channel needs its runtime).
fn exporter_factory(
    custom: Option<Box<dyn SpanExporter>>,
    config: &ExporterConfig,
    signal: Signal,
) -> Result<ExporterFactory, BuildError> {
    Ok(match (custom, config) {
        (Some(custom), _) => Box::new(move || Some(custom)),
        (None, ExporterConfig::Otlp(otlp)) if otlp.protocol == Protocol::Grpc => {
            let target = GrpcTarget::new(otlp)?;
            Box::new(move || Some(Box::new(target.connect(signal)) as Box<dyn SpanExporter>))
        }
        (None, ExporterConfig::Otlp(otlp)) => {
            let exporter = HttpExporter::new(otlp)?.for_signal(signal);
            Box::new(move || Some(Box::new(exporter) as Box<dyn SpanExporter>))
        }
        (None, ExporterConfig::Console) => {
            Box::new(move || Some(Box::new(ConsoleExporter::new(signal)) as Box<dyn SpanExporter>))
        }
        (None, ExporterConfig::None) => Box::new(|| None),
    })
}

/// Binds the endpoints' listener, non-blocking, for the worker's runtime.
fn listen(addr: SocketAddr, origin: &Origin) -> Result<std::net::TcpListener, BuildError> {
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| {
            origin.error(
                addr.to_string(),
                format!("cannot listen on this address: {e}"),
            )
        })
}
