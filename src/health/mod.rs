//! Health: application checks and the observer's own components, aggregated.
//!
//! Each component is `HEALTHY`, `DEGRADED` or `UNHEALTHY`, and critical or not. The
//! aggregate: any critical component unhealthy → `UNHEALTHY`
//! (HTTP 503); otherwise any component not healthy → `DEGRADED` (HTTP 200); else
//! `HEALTHY`. The observer's own components (worker, queue, exporter, spool, overhead,
//! breakers) are never critical: a collector outage must not take the host out of its
//! load balancer.
//!
//! ```no_run
//! use std::time::Duration;
//! use tracing_observer::health::HealthCheck;
//!
//! let observer = tracing_observer::Observer::builder().build()?;
//! observer.health().register(
//!     HealthCheck::new("database", || Err("connection refused".to_owned()))
//!         .critical(true)
//!         .timeout(Duration::from_millis(500)),
//! );
//! observer.health().register(HealthCheck::new_async("cache", || async { Ok(()) }));
//! # Ok::<(), tracing_observer::BuildError>(())
//! ```

pub(crate) mod components;

use futures_util::future::{join_all, BoxFuture};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an application check may take unless it says otherwise.
///
/// ```
/// use tracing_observer::health::{HealthCheck, DEFAULT_CHECK_TIMEOUT};
/// assert_eq!(DEFAULT_CHECK_TIMEOUT, std::time::Duration::from_secs(1));
/// let slow = HealthCheck::new("backup", || Ok(())).timeout(DEFAULT_CHECK_TIMEOUT * 5);
/// ```
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The state of one component, or of the whole.
///
/// ```
/// use tracing_observer::health::HealthStatus;
/// assert!(HealthStatus::Unhealthy > HealthStatus::Degraded);
/// assert_eq!(serde_json::to_string(&HealthStatus::Healthy).unwrap(), "\"HEALTHY\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    /// Working.
    Healthy,
    /// Working with reduced function (only non-critical components are unhealthy).
    Degraded,
    /// Not working.
    Unhealthy,
}

impl HealthStatus {
    /// `HEALTHY`, `DEGRADED` or `UNHEALTHY`.
    ///
    /// ```
    /// assert_eq!(tracing_observer::health::HealthStatus::Degraded.as_str(), "DEGRADED");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Degraded => "DEGRADED",
            Self::Unhealthy => "UNHEALTHY",
        }
    }

    /// The HTTP status of a probe in this state: 503 when unhealthy, else 200.
    ///
    /// ```
    /// use tracing_observer::health::HealthStatus;
    /// assert_eq!(HealthStatus::Unhealthy.http_status(), 503);
    /// assert_eq!(HealthStatus::Degraded.http_status(), 200);
    /// ```
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unhealthy => 503,
            Self::Healthy | Self::Degraded => 200,
        }
    }
}

type SyncCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;
type AsyncCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone)]
enum Probe {
    Sync(SyncCheck),
    Async(AsyncCheck),
}

/// An application check: a closure returning `Ok(())` when healthy or `Err(reason)`.
///
/// Synchronous checks run on a blocking thread, asynchronous ones on the observer's
/// runtime; both are bounded by their timeout (a check that times out is unhealthy).
/// Not critical unless [`critical(true)`](Self::critical).
///
/// ```
/// use tracing_observer::health::{HealthCheck, HealthRegistry};
/// let registry = HealthRegistry::default();
/// registry.register(HealthCheck::new("config", || Ok(())).critical(true));
/// assert_eq!(registry.names(), ["config"]);
/// ```
#[derive(Clone)]
pub struct HealthCheck {
    name: String,
    critical: bool,
    timeout: Duration,
    probe: Probe,
}

impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck")
            .field("name", &self.name)
            .field("critical", &self.critical)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// A synchronous check (it may block: it runs on a blocking thread).
    ///
    /// ```
    /// let check = tracing_observer::health::HealthCheck::new("disk", || Ok(()));
    /// ```
    pub fn new<F>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Result<(), String> + Send + Sync + 'static,
    {
        Self {
            name: name.into(),
            critical: false,
            timeout: DEFAULT_CHECK_TIMEOUT,
            probe: Probe::Sync(Arc::new(check)),
        }
    }

    /// An asynchronous check, e.g. a database ping.
    ///
    /// ```
    /// let check = tracing_observer::health::HealthCheck::new_async("db", || async {
    ///     Err::<(), _>("timeout talking to db".to_owned())
    /// });
    /// ```
    pub fn new_async<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name: name.into(),
            critical: false,
            timeout: DEFAULT_CHECK_TIMEOUT,
            probe: Probe::Async(Arc::new(move || Box::pin(check()))),
        }
    }

    /// Whether this check failing makes the whole `UNHEALTHY` (503). Default: false.
    ///
    /// ```
    /// use tracing_observer::health::HealthCheck;
    /// let check = HealthCheck::new("database", || Ok(())).critical(true);
    /// assert!(format!("{check:?}").contains("critical: true"));
    /// ```
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// The longest the check may take. Default: [`DEFAULT_CHECK_TIMEOUT`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::health::HealthCheck;
    /// let check = HealthCheck::new("database", || Ok(())).timeout(Duration::from_millis(250));
    /// assert!(format!("{check:?}").contains("timeout: 250ms"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn run(self) -> ComponentHealth {
        let started = Instant::now();
        let outcome = match self.probe {
            Probe::Async(check) => tokio::time::timeout(self.timeout, check()).await,
            Probe::Sync(check) => {
                tokio::time::timeout(self.timeout, tokio::task::spawn_blocking(move || check()))
                    .await
                    .map(|joined| joined.unwrap_or_else(|_| Err("the check panicked".into())))
            }
        };
        let (status, message) = match outcome {
            Ok(Ok(())) => (HealthStatus::Healthy, None),
            Ok(Err(reason)) => (HealthStatus::Unhealthy, Some(reason)),
            Err(_) => (
                HealthStatus::Unhealthy,
                Some(format!("timed out after {:?}", self.timeout)),
            ),
        };
        ComponentHealth {
            name: self.name,
            status,
            critical: self.critical,
            message,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// The application checks of one observer; clones share the same list.
///
/// Get it from [`Observer::health`](crate::Observer::health).
///
/// ```
/// use tracing_observer::health::{HealthCheck, HealthRegistry};
/// let registry = HealthRegistry::default();
/// let shared = registry.clone();
/// shared.register(HealthCheck::new("cache", || Ok(())));
/// assert_eq!(registry.names(), ["cache"], "clones share the list");
/// ```
#[derive(Clone, Debug, Default)]
pub struct HealthRegistry {
    checks: Arc<Mutex<Vec<HealthCheck>>>,
}

impl HealthRegistry {
    /// Adds a check; a check of the same name is replaced.
    ///
    /// ```
    /// use tracing_observer::health::{HealthCheck, HealthRegistry};
    /// let registry = HealthRegistry::default();
    /// registry.register(HealthCheck::new("queue", || Ok(())));
    /// registry.register(HealthCheck::new("queue", || Err("full".into())));
    /// assert_eq!(registry.names(), ["queue"]);
    /// ```
    pub fn register(&self, check: HealthCheck) {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        checks.retain(|c| c.name != check.name);
        checks.push(check);
    }

    /// The names of the registered checks, in registration order.
    ///
    /// ```
    /// use tracing_observer::health::{HealthCheck, HealthRegistry};
    /// let registry = HealthRegistry::default();
    /// registry.register(HealthCheck::new("database", || Ok(())));
    /// registry.register(HealthCheck::new("cache", || Ok(())));
    /// assert_eq!(registry.names(), ["database", "cache"]);
    /// ```
    pub fn names(&self) -> Vec<String> {
        let checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        checks.iter().map(|c| c.name.clone()).collect()
    }

    /// Runs every check concurrently, each within its timeout.
    pub(crate) async fn run(&self) -> Vec<ComponentHealth> {
        let checks = self
            .checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        join_all(checks.into_iter().map(HealthCheck::run)).await
    }
}

/// The health of one component.
///
/// ```
/// use tracing_observer::health::{ComponentHealth, HealthReport, HealthStatus};
/// fn failing(report: &HealthReport) -> Vec<&ComponentHealth> {
///     report.components.iter().filter(|c| c.status != HealthStatus::Healthy).collect()
/// }
/// assert!(failing(&HealthReport::aggregate(Vec::new())).is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ComponentHealth {
    /// The check's or built-in component's name (`worker`, `queue`, `exporter`, …).
    pub name: String,
    /// Its state.
    pub status: HealthStatus,
    /// Whether it being unhealthy makes the whole unhealthy.
    pub critical: bool,
    /// Why it is not healthy, or a detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long the check took.
    pub duration_ms: f64,
}

impl ComponentHealth {
    /// A built-in (non-critical) component's state.
    pub(crate) fn builtin(name: &str, status: HealthStatus, message: Option<String>) -> Self {
        Self {
            name: name.to_owned(),
            status,
            critical: false,
            message,
            duration_ms: 0.0,
        }
    }
}

/// The aggregate health and its components, as `/health` returns it.
///
/// ```
/// use tracing_observer::health::HealthReport;
/// let report = HealthReport::aggregate(Vec::new());
/// assert_eq!(serde_json::to_string(&report).unwrap(), r#"{"status":"HEALTHY","components":[]}"#);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// The aggregate.
    pub status: HealthStatus,
    /// Every component, built-in ones first.
    pub components: Vec<ComponentHealth>,
}

impl HealthReport {
    /// Aggregates components: any critical one unhealthy → `Unhealthy`; otherwise any
    /// one not healthy → `Degraded`; else (and with none) `Healthy`.
    ///
    /// ```
    /// use tracing_observer::health::{HealthReport, HealthStatus};
    /// assert_eq!(HealthReport::aggregate(Vec::new()).status, HealthStatus::Healthy);
    /// ```
    pub fn aggregate(components: Vec<ComponentHealth>) -> Self {
        let status = components
            .iter()
            .map(|c| match c.status {
                HealthStatus::Unhealthy if c.critical => HealthStatus::Unhealthy,
                HealthStatus::Healthy => HealthStatus::Healthy,
                _ => HealthStatus::Degraded,
            })
            .max()
            .unwrap_or(HealthStatus::Healthy);
        Self { status, components }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(status: HealthStatus, critical: bool) -> ComponentHealth {
        ComponentHealth {
            name: "c".into(),
            status,
            critical,
            message: None,
            duration_ms: 0.0,
        }
    }

    #[test]
    fn unhealthy_only_when_a_critical_component_is_others_degrade() {
        use HealthStatus::*;
        let agg = |cs: Vec<ComponentHealth>| HealthReport::aggregate(cs).status;
        assert_eq!(agg(vec![component(Healthy, true)]), Healthy);
        assert_eq!(agg(vec![component(Unhealthy, false)]), Degraded);
        assert_eq!(agg(vec![component(Degraded, true)]), Degraded);
        assert_eq!(
            agg(vec![
                component(Unhealthy, false),
                component(Unhealthy, true)
            ]),
            Unhealthy
        );
        assert_eq!(Unhealthy.http_status(), 503);
        assert_eq!(Degraded.http_status(), 200);
    }

    #[test]
    fn checks_run_with_timeouts() {
        let registry = HealthRegistry::default();
        registry.register(HealthCheck::new("ok", || Ok(())));
        registry.register(HealthCheck::new("down", || Err("refused".into())).critical(true));
        registry.register(
            HealthCheck::new("slow", || {
                std::thread::sleep(Duration::from_millis(500));
                Ok(())
            })
            .timeout(Duration::from_millis(50)),
        );
        registry.register(
            HealthCheck::new_async("slow-async", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .timeout(Duration::from_millis(50)),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let results = runtime.block_on(registry.run());
        assert!(started.elapsed() < Duration::from_millis(400));
        let by_name = |n: &str| results.iter().find(|c| c.name == n).unwrap();
        assert_eq!(by_name("ok").status, HealthStatus::Healthy);
        assert_eq!(by_name("down").message.as_deref(), Some("refused"));
        for slow in ["slow", "slow-async"] {
            assert_eq!(by_name(slow).status, HealthStatus::Unhealthy);
            assert!(by_name(slow)
                .message
                .as_ref()
                .unwrap()
                .starts_with("timed out"));
        }
        let json = serde_json::to_value(HealthReport::aggregate(results)).unwrap();
        assert_eq!(json["status"], "UNHEALTHY");
    }
}
