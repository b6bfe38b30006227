//! The background pipeline: a named thread with its own runtime that batches and exports.
//!
//! The host's threads only push finished records into the [`SpanQueue`]. Everything
//! else — conversion to OTLP, encoding, I/O — runs on one thread called
//! `tracing-observer`, which owns a current-thread tokio runtime (so it works whether
//! the host runs tokio or not) and has tracing switched off (so the observer never
//! records its own exports).
//!
//! The worker also aggregates span metrics, samples process resources, and serves the
//! HTTP endpoints when they are enabled. It runs under a supervisor: a panic is
//! caught and counted and the worker restarts with backoff; after
//! `max_worker_restarts` failures in a row the observer disables itself (the layer
//! turns into a no-op, health says why) and the host runs on untouched.

mod supervisor;
mod worker;

use crate::config::{BatchConfig, DeliveryConfig};
use crate::delivery::{breakers, BreakerState, CircuitBreaker, Delivery, EXPORT_BREAKER};
use crate::diagnostics::Diagnostics;
use crate::export::convert::RequestBuilder;
use crate::export::metrics::{unix_nanos, MetricsExport, MetricsTarget};
use crate::export::SpanExporter;
use crate::health::HealthRegistry;
use crate::metrics::otlp::MetricsContext;
use crate::metrics::pipeline::{PipelineGauges, PipelineMetrics};
use crate::tally::SampledOutTally;
use crate::metrics::span::SpanMetricsConfig;
use crate::metrics::MetricsRegistry;
use crate::queue::SpanQueue;
use crate::record::fields::Rules;
use crate::ids::SpanId;
use crate::record::policy::FieldPolicy;
use crate::record::{Limits, Lineage, SpanRecord};
use crate::report::PipelineStats;
use crate::resources::ResourceMonitor;
use crate::sampling::Sampling;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tracing_core::Metadata;

use crate::stats::Stats;

/// Records kept for reuse at most.
const RECYCLED_RECORDS: usize = 4096;

/// The worker thread's name.
pub(crate) const THREAD_NAME: &str = "tracing-observer";

/// Sampled-out spans waiting at most in the shared queue behind the threads' own
/// span-metrics tallies (16 bytes each plus the queue's stamp: 1.5 MiB, allocated
/// only when sampling may drop spans): it takes what a thread's tally cannot (a
/// callsite without a free slot, a thread tearing down).
const MAX_SAMPLED_OUT_QUEUE: usize = 65_536;

/// State shared by the layer (producer) and the worker (consumer).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) queue: SpanQueue,
    pub(crate) stats: Arc<Stats>,
    pub(crate) limits: Limits,
    pub(crate) policy: FieldPolicy,
    pub(crate) sampling: Sampling,
    pub(crate) diagnostics: Diagnostics,
    /// Records the worker is done with, handed back so the host's threads reuse
    /// them instead of allocating (and so memory is not freed across threads).
    recycled: ArrayQueue<Box<SpanRecord>>,
    /// Span metrics of sampled-out spans, tallied on the host's threads.
    pub(crate) sampled_out: SampledOutTally,
    /// Whether sampled-out spans are tallied for span metrics (metrics on and
    /// sampling that may drop).
    pub(crate) tally_sampled_out: bool,
    /// This observer's metrics (not the global `metrics` recorder).
    pub(crate) metrics: MetricsRegistry,
    pub(crate) pipeline_metrics: PipelineMetrics,
    /// Application health checks.
    pub(crate) health: HealthRegistry,
    queue_capacity: usize,
    /// Where the endpoints listen, when they are on.
    pub(crate) http_addr: Option<std::net::SocketAddr>,
    accepting: AtomicBool,
    started: AtomicBool,
    worker_restarts: AtomicU64,
    /// Why the observer disabled itself, once it did.
    disabled_reason: OnceLock<String>,
}

impl Shared {
    /// Whether new spans should be recorded (false once shutdown began, or once the
    /// observer disabled itself).
    #[inline]
    pub(crate) fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::Relaxed)
    }

    /// The pipeline's counters now, with the measured overhead.
    pub(crate) fn snapshot(&self) -> PipelineStats {
        let mut stats = self.stats.snapshot(&self.queue);
        stats.overhead_ratio = self.sampling.overhead.ratio();
        stats.sampling_factor = self.sampling.overhead.factor();
        stats.sampled_out_evictions = self.sampling.table.evictions();
        stats
    }

    /// A record for a new span: a recycled one when available.
    pub(crate) fn new_record(
        &self,
        metadata: &'static Metadata<'static>,
        lineage: Lineage,
        span_id: SpanId,
        start: crate::clock::Nanos,
    ) -> Box<SpanRecord> {
        match self.recycled.pop() {
            Some(mut record) => {
                record.reuse(metadata, lineage, span_id, start);
                record
            }
            None => Box::new(SpanRecord::new(metadata, lineage, span_id, start)),
        }
    }

    /// Hands an exported record back for reuse; its values are dropped here, on the worker.
    pub(crate) fn recycle(&self, mut record: Box<SpanRecord>) {
        record.clear();
        let _ = self.recycled.push(record);
    }

    /// Turns the observer off for good after repeated worker failures: the layer
    /// stops recording (it checks [`is_accepting`](Self::is_accepting)) and health
    /// reports `reason`.
    pub(crate) fn disable(&self, reason: String) {
        self.accepting.store(false, Ordering::Relaxed);
        let _ = self.disabled_reason.set(reason);
    }

    /// Why the observer disabled itself, if it did.
    pub(crate) fn disabled_reason(&self) -> Option<&str> {
        self.disabled_reason.get().map(String::as_str)
    }

    /// Whether the worker has started (its exporter is built and its loop runs).
    pub(crate) fn has_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// Spans the queue holds at most.
    pub(crate) fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// Copies the pipeline's counters into the metrics and renders them as Prometheus text.
    pub(crate) fn render_metrics(&self) -> String {
        self.update_metrics();
        for breaker in breakers().list() {
            let state = match breaker.state {
                BreakerState::Closed => 0.0,
                BreakerState::Open => 1.0,
                BreakerState::HalfOpen => 2.0,
            };
            self.metrics
                .gauge(
                    crate::metrics::pipeline::BREAKER_STATE,
                    vec![metrics::Label::new("breaker", breaker.name)],
                )
                .set(state);
        }
        self.metrics.render()
    }

    /// Copies the pipeline's counters into the self-metrics.
    pub(crate) fn update_metrics(&self) {
        self.pipeline_metrics.update(
            &self.snapshot(),
            PipelineGauges {
                queue_spans: self.queue.len(),
                queue_capacity: self.queue_capacity,
                summaries_dropped: self.sampled_out.dropped(),
                worker_restarts: self.worker_restarts.load(Ordering::Relaxed),
                disabled: self.disabled_reason.get().is_some(),
            },
        );
    }

    /// Whether a hook can skip this span at once: it is in the sampled-out table (a
    /// slot read; the table is empty when nothing can be sampled out).
    #[inline]
    pub(crate) fn skips(&self, id: &tracing_core::span::Id) -> bool {
        self.sampling.may_drop() && self.sampling.table.contains(id.into_u64())
    }

    /// The calling thread's CPU clock, when per-span CPU time is on.
    pub(crate) fn thread_cpu_time(&self) -> Option<std::time::Duration> {
        if self.limits.thread_cpu_time {
            crate::resources::thread_cpu_time()
        } else {
            None
        }
    }

    /// The bounds and field policy for capturing values.
    pub(crate) fn rules(&self) -> Rules<'_> {
        Rules {
            limits: &self.limits,
            policy: &self.policy,
        }
    }
}

/// Builds the exporter on the worker thread, inside its runtime.
pub(crate) type ExporterFactory = Box<dyn FnOnce() -> Option<Box<dyn SpanExporter>> + Send>;

/// A request from the [`Observer`](crate::Observer) to the worker, answered on `reply`.
pub(crate) enum Control {
    Flush {
        reply: mpsc::SyncSender<()>,
    },
    Shutdown {
        deadline: Instant,
        reply: mpsc::SyncSender<()>,
    },
}

/// What the worker does besides batching, configured: delivery (retry, breaker,
/// spool), span metrics, resource sampling, endpoints, supervision.
pub(crate) struct Operations {
    pub(crate) delivery: DeliveryConfig,
    pub(crate) service_name: String,
    pub(crate) span_metrics: SpanMetricsConfig,
    pub(crate) resource_monitor: Box<dyn ResourceMonitor>,
    pub(crate) resource_interval: Duration,
    /// The endpoints' listener, bound by `build()`.
    pub(crate) listener: Option<std::net::TcpListener>,
    pub(crate) max_worker_restarts: usize,
    pub(crate) health: HealthRegistry,
    /// Where OTLP metrics go, when they are exported.
    pub(crate) metrics_export: Option<MetricsTarget>,
}

/// Flushes a pipeline from anywhere (the panic hook) without keeping it alive.
#[derive(Clone)]
pub(crate) struct FlushHandle {
    shared: Weak<Shared>,
    control: UnboundedSender<Control>,
}

impl FlushHandle {
    /// Exports what has closed so far; waits at most `timeout`. Does nothing once the
    /// observer is gone or shut down, or when called on the worker's own thread.
    pub(crate) fn flush(&self, timeout: Duration) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if !shared.is_accepting() || std::thread::current().name() == Some(THREAD_NAME) {
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
    shared: Arc<Shared>,
    control: UnboundedSender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The counters as shutdown left them; an abandoned export cannot change them later.
    final_stats: Mutex<Option<PipelineStats>>,
}

impl Pipeline {
    /// Starts the worker thread.
    pub(crate) fn start(
        batch: BatchConfig,
        limits: Limits,
        policy: FieldPolicy,
        sampling: Sampling,
        requests: RequestBuilder,
        exporter: ExporterFactory,
        operations: Operations,
    ) -> std::io::Result<Self> {
        crate::clock::start();
        let profile = operations.span_metrics.profile;
        let metrics = MetricsRegistry::new(&[
            (profile.duration_name(), profile.buckets()),
            (
                crate::metrics::span::CPU_TIME,
                crate::metrics::span::CPU_TIME_BUCKETS_S,
            ),
        ]);
        // Sampled-out spans exist only when sampling (head or overhead budget) may drop.
        let tally_sampled_out = operations.span_metrics.enabled && sampling.may_drop();
        let sampled_out_queue = if sampling.may_drop() {
            batch.max_queue_size.min(MAX_SAMPLED_OUT_QUEUE)
        } else {
            1
        };
        let shared = Arc::new(Shared {
            queue: SpanQueue::new(
                batch.max_queue_size,
                batch.max_queue_bytes,
                batch.max_export_batch_size,
            ),
            stats: Arc::new(Stats::default()),
            limits,
            policy,
            sampling,
            diagnostics: Diagnostics::default(),
            recycled: ArrayQueue::new(RECYCLED_RECORDS),
            sampled_out: SampledOutTally::new(sampled_out_queue, profile),
            tally_sampled_out,
            pipeline_metrics: PipelineMetrics::new(&metrics),
            metrics,
            health: operations.health.clone(),
            queue_capacity: batch.max_queue_size,
            http_addr: operations
                .listener
                .as_ref()
                .and_then(|l| l.local_addr().ok()),
            accepting: AtomicBool::new(true),
            started: AtomicBool::new(false),
            worker_restarts: AtomicU64::new(0),
            disabled_reason: OnceLock::new(),
        });
        let (control, commands) = unbounded_channel();
        let worker_shared = Arc::clone(&shared);
        let metrics_context = MetricsContext {
            resource: requests.resource().clone(),
            scope: requests.scope().clone(),
            start_unix_nanos: unix_nanos(SystemTime::now()),
        };
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                // The observer must not observe its own exports (tonic, hyper and h2
                // trace). `Dispatch::none()` is not registered with tracing's callsite
                // registry: a registered no-op subscriber would turn every callsite of
                // the host from "always" into "sometimes" enabled, and each span and
                // event would then ask the dispatcher again (~50 instructions).
                let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    // Without a runtime the worker cannot run; dropping `commands` makes
                    // every flush and shutdown return at once instead of waiting.
                    Err(_) => return,
                };
                runtime.block_on(async move {
                    let exporter = exporter();
                    if let Some(listener) = operations.listener {
                        tokio::spawn(crate::server::serve(listener, Arc::clone(&worker_shared)));
                    }
                    let delivery = operations.delivery;
                    let stats = Arc::clone(&worker_shared.stats);
                    let cleanup = delivery
                        .spool
                        .as_ref()
                        .map(|s| (s.sync_interval, s.cleanup_interval));
                    let spool = delivery.spool.and_then(|config| {
                        crate::spool::Spool::open(config, Arc::clone(stats.spool()))
                            .map_err(|e| stats.spool().error("opening the spool", &e))
                            .ok()
                    });
                    let breaker = CircuitBreaker::new(EXPORT_BREAKER, delivery.breaker);
                    breakers().register(breaker.clone());
                    let delivery = Delivery::new(
                        exporter,
                        breaker,
                        delivery.retry,
                        batch.export_timeout,
                        spool,
                        stats,
                    );
                    let metrics_export = operations.metrics_export.map(|target| {
                        let interval = target.interval();
                        let export = MetricsExport::start(target, metrics_context, &worker_shared);
                        (export, interval)
                    });
                    let duties = worker::Duties::new(
                        &worker_shared,
                        operations.service_name.as_str(),
                        operations.span_metrics,
                        operations.resource_monitor,
                        operations.resource_interval,
                        metrics_export,
                    );
                    let mut worker = worker::Worker::new(
                        Arc::clone(&worker_shared),
                        delivery,
                        cleanup,
                        requests,
                        batch,
                        commands,
                        duties,
                    );
                    worker_shared.started.store(true, Ordering::Relaxed);
                    supervisor::supervise(
                        &mut worker,
                        &worker_shared,
                        operations.max_worker_restarts,
                    )
                    .await;
                });
                // Health checks still running on blocking threads must not hold up the exit.
                runtime.shutdown_background();
            })?;
        Ok(Self {
            shared,
            control,
            thread: Mutex::new(Some(thread)),
            final_stats: Mutex::new(None),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A handle that flushes this pipeline without keeping it alive.
    pub(crate) fn flush_handle(&self) -> FlushHandle {
        FlushHandle {
            shared: Arc::downgrade(&self.shared),
            control: self.control.clone(),
        }
    }

    pub(crate) fn stats(&self) -> PipelineStats {
        if let Some(stats) = self.final_stats.lock().ok().and_then(|s| s.clone()) {
            return stats;
        }
        self.shared.snapshot()
    }

    /// Exports everything queued now; waits at most `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), crate::FlushError> {
        if !self.shared.is_accepting() {
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
        self.shared.accepting.store(false, Ordering::Relaxed);
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
        let mut stats = self.shared.snapshot();
        // Whatever the worker could not finish is lost: count it, never hide it.
        stats.dropped.shutdown += stats.pending;
        stats.pending = 0;
        if let Ok(mut slot) = self.final_stats.lock() {
            *slot = Some(stats.clone());
        }
        ShutdownOutcome {
            timed_out: !finished || self.shared.stats.was_cut() || stats.dropped.shutdown > 0,
            stats,
        }
    }
}
