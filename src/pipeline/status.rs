//! [`Status`]: what the worker reports and the endpoints read.
//!
//! The worker's counters, whether it started, how often it restarted and why it
//! disabled itself, this observer's export breaker, its metrics registry and the
//! application's health checks. The hot path never reads it; the [`Observer`],
//! the HTTP endpoints and the OTLP metrics push do.
//!
//! [`Observer`]: crate::Observer

use crate::delivery::{breakers, BreakerSnapshot, BreakerState, CircuitBreaker};
use crate::error::ExportError;
use crate::health::components::{self, PipelineView};
use crate::health::{ComponentHealth, HealthRegistry};
use crate::metrics::events::{EventMetrics, EventMetricsConfig};
use crate::metrics::logs::LogMetrics;
use crate::metrics::openmetrics;
use crate::metrics::pipeline::{PipelineGauges, PipelineMetrics, BREAKER_STATE};
use crate::metrics::push::MetricsSource;
use crate::metrics::MetricsRegistry;
use crate::recorder::Recorder;
use crate::report::PipelineStats;
use crate::server::Endpoints;
use crate::stats::Stats;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// One observer's status, shared by its worker, its endpoints and the `Observer`.
#[derive(Debug)]
pub(crate) struct Status {
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) stats: Arc<Stats>,
    /// This observer's metrics (not the global `metrics` recorder).
    pub(crate) metrics: MetricsRegistry,
    pub(crate) pipeline_metrics: PipelineMetrics,
    /// The logs pipeline's series, when it is on.
    log_metrics: Option<LogMetrics>,
    /// Aggregates the metric events the host's threads hand over: on the worker, and
    /// before each rendering (so what was emitted before a scrape is in it).
    event_metrics: Mutex<EventMetrics>,
    /// Application health checks.
    pub(crate) health: HealthRegistry,
    /// This observer's export breaker (never in the process-wide registry).
    pub(crate) export_breaker: CircuitBreaker,
    /// The logs lane's counters (its delivery's).
    pub(crate) log_stats: Arc<Stats>,
    /// The logs export breaker, when the logs pipeline is on.
    pub(crate) logs_breaker: Option<CircuitBreaker>,
    /// Where the endpoints listen, when they are on.
    pub(crate) http_addr: Option<SocketAddr>,
    started: AtomicBool,
    worker_restarts: AtomicU64,
    /// Why the observer disabled itself, once it did.
    disabled_reason: OnceLock<String>,
}

impl Status {
    pub(crate) fn new(
        recorder: Arc<Recorder>,
        metrics: MetricsRegistry,
        health: HealthRegistry,
        export_breaker: CircuitBreaker,
        logs_breaker: Option<CircuitBreaker>,
        http_addr: Option<SocketAddr>,
        event_metrics: EventMetricsConfig,
    ) -> Self {
        Self {
            log_metrics: (recorder.logs.as_ref()).map(|_| LogMetrics::new(&metrics)),
            recorder,
            stats: Arc::new(Stats::default()),
            pipeline_metrics: PipelineMetrics::new(&metrics),
            event_metrics: Mutex::new(EventMetrics::new(event_metrics, &metrics)),
            metrics,
            health,
            export_breaker,
            log_stats: Arc::new(Stats::default()),
            logs_breaker,
            http_addr,
            started: AtomicBool::new(false),
            worker_restarts: AtomicU64::new(0),
            disabled_reason: OnceLock::new(),
        }
    }

    /// The pipeline's counters now, with the measured overhead.
    pub(crate) fn snapshot(&self) -> PipelineStats {
        let recorder = &self.recorder;
        let mut stats = self.stats.snapshot(&recorder.queue);
        stats.overhead_ratio = recorder.sampling.overhead.ratio();
        stats.sampling_factor = recorder.sampling.overhead.factor();
        stats.sampled_out_evictions = recorder.sampling.table.evictions();
        if let Some(logs) = &recorder.logs {
            stats.logs = self.log_stats.log_snapshot(logs);
        }
        stats
    }

    /// Turns the observer off for good after repeated worker failures: the layer
    /// stops recording and health reports `reason`.
    pub(crate) fn disable(&self, reason: String) {
        self.recorder.stop_accepting();
        let _ = self.disabled_reason.set(reason);
    }

    /// Why the observer disabled itself, if it did.
    pub(crate) fn disabled_reason(&self) -> Option<&str> {
        self.disabled_reason.get().map(String::as_str)
    }

    /// Marks the worker as started: its exporter is built and its loop runs.
    pub(crate) fn set_started(&self) {
        self.started.store(true, Ordering::Relaxed);
    }

    /// Counts one restart of the worker after a panic.
    pub(crate) fn count_restart(&self) {
        self.worker_restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// This observer's export breaker, then the application's breakers (one the
    /// application named like the export breaker is left out: names must be unique).
    pub(crate) fn breaker_snapshots(&self) -> Vec<BreakerSnapshot> {
        let mut all = vec![self.export_breaker.snapshot()];
        all.extend(self.logs_breaker.as_ref().map(CircuitBreaker::snapshot));
        let apps = breakers().list();
        let own = |name: &str| all.iter().any(|b| b.name == name);
        let apps: Vec<_> = apps.into_iter().filter(|b| !own(&b.name)).collect();
        all.extend(apps);
        all
    }

    /// Aggregates the metric events handed over since the last time.
    pub(crate) fn observe_events(&self) {
        let mut events = self
            .event_metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        events.observe(&self.recorder.event_metrics, &self.metrics);
    }

    /// Copies the pipeline's counters into the metrics and renders them as Prometheus text.
    pub(crate) fn render_metrics(&self) -> String {
        self.observe_events();
        self.update_metrics();
        for breaker in self.breaker_snapshots() {
            let state = match breaker.state {
                BreakerState::Closed => 0.0,
                BreakerState::Open => 1.0,
                BreakerState::HalfOpen => 2.0,
            };
            self.metrics
                .gauge(
                    BREAKER_STATE,
                    vec![metrics::Label::new("breaker", breaker.name)],
                )
                .set(state);
        }
        self.metrics.render()
    }

    /// Copies the pipeline's counters into the self-metrics.
    pub(crate) fn update_metrics(&self) {
        let stats = self.snapshot();
        if let Some(logs) = &self.log_metrics {
            logs.update(&stats.logs);
        }
        self.pipeline_metrics.update(
            &stats,
            PipelineGauges {
                queue_spans: self.recorder.queue.len(),
                queue_capacity: self.recorder.queue_capacity(),
                summaries_dropped: self.recorder.sampled_out.dropped(),
                worker_restarts: self.worker_restarts.load(Ordering::Relaxed),
                disabled: self.disabled_reason.get().is_some(),
            },
        );
    }
}

impl Endpoints for Status {
    fn has_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    fn components(&self) -> Vec<ComponentHealth> {
        let stats = self.snapshot();
        let breakers = self.breaker_snapshots();
        components::builtin(&PipelineView {
            disabled_reason: self.disabled_reason(),
            accepting: self.recorder.is_accepting(),
            queue_len: self.recorder.queue.len(),
            queue_capacity: self.recorder.queue_capacity(),
            last_export_failure: self.stats.last_export_failure(),
            logs_export_failure: (self.recorder.logs.as_ref())
                .map(|_| self.log_stats.last_export_failure()),
            stats: &stats,
            overhead_budget: self.recorder.sampling.overhead.budget(),
            breakers: &breakers,
        })
    }

    fn checks(&self) -> &HealthRegistry {
        &self.health
    }

    fn metrics_text(&self) -> String {
        self.render_metrics()
    }

    fn metrics_openmetrics(&self) -> String {
        let text = self.render_metrics();
        openmetrics::from_prometheus(&text, &self.metrics.exemplars)
    }

    fn breakers(&self) -> Vec<BreakerSnapshot> {
        self.breaker_snapshots()
    }
}

impl MetricsSource for Status {
    fn registry(&self) -> &MetricsRegistry {
        &self.metrics
    }

    fn render(&self) -> String {
        self.render_metrics()
    }

    fn export_failed(&self, error: &ExportError) {
        self.recorder.diagnostics.metric_export_failed(error);
    }
}
