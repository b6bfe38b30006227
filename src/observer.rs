//! [`Observer`]: owns the pipeline, hands out the layer, flushes and shuts down.

use crate::delivery::CircuitBreaker;
use crate::error::FlushError;
use crate::health::HealthRegistry;
use crate::layer::ObserverLayer;
use crate::pipeline::Pipeline;
use crate::report::{PipelineStats, ShutdownReport};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The observer pipeline of one process: create it once, add its
/// [`layer`](Self::layer) to the subscriber, and shut it down (or drop it) at exit.
///
/// ```no_run
/// use std::time::Duration;
/// use tracing_subscriber::prelude::*;
///
/// let observer = tracing_observer::Observer::builder().service_name("checkout").build()?;
/// let subscriber = tracing_subscriber::registry().with(observer.layer());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info_span!("request").in_scope(|| tracing::info!("handled"));
/// });
/// let report = observer.shutdown(Duration::from_secs(5));
/// eprintln!("{report}");
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
pub struct Observer {
    pipeline: Option<Pipeline>,
    /// The registry of a disabled observer, which has no pipeline to hold one.
    idle_health: HealthRegistry,
    shutdown_timeout: Duration,
    report: Mutex<Option<ShutdownReport>>,
    /// The baggage keys its layers record as attributes.
    baggage_attributes: Arc<[&'static str]>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("disabled", &self.pipeline.is_none())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

impl Observer {
    pub(crate) fn running(
        pipeline: Pipeline,
        shutdown_timeout: Duration,
        baggage_attributes: &[String],
    ) -> Self {
        Self {
            pipeline: Some(pipeline),
            idle_health: HealthRegistry::default(),
            shutdown_timeout,
            report: Mutex::new(None),
            baggage_attributes: baggage_attributes.iter().map(|k| intern(k)).collect(),
        }
    }

    pub(crate) fn disabled() -> Self {
        Self {
            pipeline: None,
            idle_health: HealthRegistry::default(),
            shutdown_timeout: Duration::ZERO,
            report: Mutex::new(None),
            baggage_attributes: Arc::new([]),
        }
    }

    /// The layer to add to a `tracing_subscriber` registry. Layers are cheap clones
    /// that all feed this observer.
    ///
    /// ```no_run
    /// use tracing_subscriber::prelude::*;
    /// let observer = tracing_observer::Observer::builder().build()?;
    /// tracing_subscriber::registry().with(observer.layer()).init();
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn layer(&self) -> ObserverLayer {
        ObserverLayer::new(
            self.pipeline.as_ref().map(|p| p.recorder().clone()),
            self.baggage_attributes.clone(),
        )
    }

    /// Whether the observer was disabled (`OTEL_SDK_DISABLED=true` or
    /// [`ObserverBuilder::disabled`](crate::ObserverBuilder::disabled)); a disabled observer records nothing.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// assert!(Observer::builder().disabled(true).build()?.is_disabled());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn is_disabled(&self) -> bool {
        self.pipeline.is_none()
    }

    /// Why the observer disabled itself (after repeated worker failures), if it did;
    /// `/health` reports the same. `None` while it works, and for
    /// [`is_disabled`](Self::is_disabled) observers, which were disabled by configuration.
    ///
    /// ```no_run
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// if let Some(reason) = observer.disabled_reason() {
    ///     eprintln!("tracing is off: {reason}");
    /// }
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn disabled_reason(&self) -> Option<String> {
        self.pipeline
            .as_ref()
            .and_then(|p| p.status().disabled_reason().map(str::to_owned))
    }

    /// This observer's export breaker, named `otlp-export:<service.name>`; `None`
    /// when the observer is disabled. It is this observer's alone: another observer
    /// in the process has its own, and neither is in [`breakers()`](crate::breaker::breakers).
    ///
    /// ```no_run
    /// # let observer = tracing_observer::Observer::builder().service_name("checkout").build()?;
    /// let breaker = observer.export_breaker().expect("enabled");
    /// assert_eq!(breaker.name(), "otlp-export:checkout");
    /// println!("exports are {}", breaker.state());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn export_breaker(&self) -> Option<&CircuitBreaker> {
        self.pipeline.as_ref().map(|p| &p.status().export_breaker)
    }

    /// The address the HTTP endpoints listen on (`OBSERVER_HTTP_ADDR`), with the
    /// actual port when port 0 was asked for; `None` when they are off.
    ///
    /// ```no_run
    /// let observer = tracing_observer::Observer::builder()
    ///     .http_addr("127.0.0.1:0".parse()?)
    ///     .build()?;
    /// let addr = observer.http_addr().expect("the endpoints are on");
    /// println!("metrics on http://{addr}/metrics");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_addr(&self) -> Option<std::net::SocketAddr> {
        self.pipeline.as_ref().and_then(|p| p.status().http_addr)
    }

    /// The application health checks served on `/health` and `/health/ready`.
    ///
    /// ```no_run
    /// use tracing_observer::health::HealthCheck;
    /// let observer = tracing_observer::Observer::builder().build()?;
    /// observer.health().register(HealthCheck::new("config", || Ok(())).critical(true));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn health(&self) -> &HealthRegistry {
        match &self.pipeline {
            Some(pipeline) => &pipeline.status().health,
            None => &self.idle_health,
        }
    }

    /// Every metric of this observer in the Prometheus text format, as `/metrics`
    /// serves it: span metrics, self-metrics and process metrics. Empty when disabled.
    ///
    /// ```no_run
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// print!("{}", observer.metrics_text());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn metrics_text(&self) -> String {
        self.pipeline
            .as_ref()
            .map(|p| p.status().render_metrics())
            .unwrap_or_default()
    }

    /// The pipeline's counters now.
    ///
    /// ```no_run
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// let stats = observer.stats();
    /// println!("{} of {} spans exported", stats.exported, stats.recorded);
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn stats(&self) -> PipelineStats {
        self.pipeline
            .as_ref()
            .map(Pipeline::stats)
            .unwrap_or_default()
    }

    /// Exports every span that has closed so far; waits at most `timeout`.
    ///
    /// Safe to call from any thread, inside or outside a tokio runtime (it blocks the
    /// calling thread, not the worker).
    ///
    /// # Errors
    /// [`FlushError::Timeout`] when the export did not finish in time (it goes on in
    /// the background), [`FlushError::ShutDown`] after shutdown or when disabled.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// if let Err(err) = observer.force_flush(Duration::from_secs(5)) {
    ///     eprintln!("spans not exported yet: {err}");
    /// }
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn force_flush(&self, timeout: Duration) -> Result<(), FlushError> {
        match &self.pipeline {
            Some(pipeline) => pipeline.flush(timeout),
            None => Err(FlushError::ShutDown),
        }
    }

    /// Stops recording, exports what is queued, and reports what happened; returns
    /// within `timeout` whatever the collector does, from sync or async code.
    ///
    /// Spans still undelivered at the timeout are counted in
    /// [`DroppedSpans::shutdown`](crate::DroppedSpans::shutdown). Later calls return
    /// the first call's report.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # let observer = tracing_observer::Observer::builder().build()?;
    /// let report = observer.shutdown(Duration::from_secs(5));
    /// eprintln!("{report}");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let mut slot = match self.report.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(report) = slot.as_ref() {
            return report.clone();
        }
        let started = Instant::now();
        let report = match &self.pipeline {
            Some(pipeline) => {
                let outcome = pipeline.shutdown(timeout);
                ShutdownReport {
                    stats: outcome.stats,
                    elapsed: started.elapsed(),
                    timed_out: outcome.timed_out,
                    disabled: false,
                }
            }
            None => ShutdownReport {
                stats: PipelineStats::default(),
                elapsed: started.elapsed(),
                timed_out: false,
                disabled: true,
            },
        };
        *slot = Some(report.clone());
        report
    }
}

impl Drop for Observer {
    /// Shuts down with the configured shutdown timeout unless shutdown already ran.
    fn drop(&mut self) {
        self.shutdown(self.shutdown_timeout);
    }
}

/// `key` as a `'static` attribute key: attribute keys are `'static` on the hot path.
/// Each distinct key is leaked once per process (keys come from configuration).
fn intern(key: &str) -> &'static str {
    static KEYS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut keys) = KEYS.lock() else {
        return Box::leak(key.into());
    };
    if let Some(known) = keys.iter().find(|k| **k == key) {
        return known;
    }
    let leaked: &'static str = Box::leak(key.into());
    keys.push(leaked);
    leaked
}
