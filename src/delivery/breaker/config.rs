//! When a breaker opens and closes again: [`BreakerConfig`] and its defaults.

use std::time::Duration;

/// Consecutive failures that open a breaker (`OBSERVER_CIRCUIT_BREAKER_THRESHOLD`).
///
/// ```
/// use tracing_observer::{config::DEFAULT_FAILURE_THRESHOLD, breaker::BreakerConfig};
/// assert_eq!(DEFAULT_FAILURE_THRESHOLD, 5);
/// assert_eq!(BreakerConfig::default(), BreakerConfig::default().failure_threshold(DEFAULT_FAILURE_THRESHOLD));
/// ```
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 5;
/// How long an open breaker refuses calls before probing (`OBSERVER_CIRCUIT_BREAKER_TIMEOUT`).
///
/// ```
/// use tracing_observer::{config::DEFAULT_OPEN_TIMEOUT, breaker::BreakerConfig};
/// assert_eq!(DEFAULT_OPEN_TIMEOUT, std::time::Duration::from_secs(30));
/// assert_eq!(BreakerConfig::default().timeout(), DEFAULT_OPEN_TIMEOUT);
/// ```
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The shortest probe interval: a shorter one (zero included) is raised to this, so
/// that an open breaker never lets a probe through on every call.
const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(10);
/// The sliding window of the failure rate (`OBSERVER_CIRCUIT_BREAKER_WINDOW`).
///
/// ```
/// use tracing_observer::{config::DEFAULT_WINDOW, breaker::BreakerConfig};
/// assert_eq!(DEFAULT_WINDOW, std::time::Duration::from_secs(60));
/// assert_eq!(BreakerConfig::default(), BreakerConfig::default().window(DEFAULT_WINDOW));
/// ```
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// When a breaker opens and closes again.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::breaker::BreakerConfig;
/// let config = BreakerConfig::default()
///     .failure_threshold(3)
///     .open_timeout(Duration::from_secs(10))
///     .failure_rate(0.5, 20);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    pub(super) failure_threshold: u32,
    pub(super) failure_rate: Option<(f64, u32)>,
    pub(super) window: Duration,
    pub(super) open_timeout: Duration,
    pub(super) probe_interval: Option<Duration>,
    pub(super) success_threshold: u32,
    pub(super) half_open_max_calls: u32,
}

impl Default for BreakerConfig {
    /// 5 consecutive failures, no rate rule, 60 s window, 30 s open, 1 success closes,
    /// 1 probe at a time.
    fn default() -> Self {
        Self {
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            failure_rate: None,
            window: DEFAULT_WINDOW,
            open_timeout: DEFAULT_OPEN_TIMEOUT,
            probe_interval: None,
            success_threshold: 1,
            half_open_max_calls: 1,
        }
    }
}

impl BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default().failure_threshold(2));
    /// let _ = breaker.call(|| Err::<(), _>("timeout"));
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// let _ = breaker.call(|| Err::<(), _>("timeout"));
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// ```
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures.max(1);
        self
    }

    /// Also open when at least `rate` (0..=1) of the calls in the window failed,
    /// once the window holds `min_calls` calls.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let config = BreakerConfig::default().failure_threshold(100).failure_rate(0.5, 4);
    /// let breaker = CircuitBreaker::new("search", config);
    /// for ok in [true, true, false, false] {
    ///     let _ = breaker.call(|| if ok { Ok(()) } else { Err("timeout") });
    /// }
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// ```
    pub fn failure_rate(mut self, rate: f64, min_calls: u32) -> Self {
        self.failure_rate = Some((rate.clamp(0.0, 1.0), min_calls.max(1)));
        self
    }

    /// The sliding window the failure rate is computed over.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::breaker::BreakerConfig;
    /// let config = BreakerConfig::default().failure_rate(0.5, 10).window(Duration::from_secs(10));
    /// assert_ne!(config, BreakerConfig::default().failure_rate(0.5, 10));
    /// ```
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How long the breaker stays open before letting a probe through.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::breaker::BreakerConfig;
    /// let config = BreakerConfig::default().open_timeout(Duration::from_secs(5));
    /// assert_eq!(config.timeout(), Duration::from_secs(5));
    /// ```
    pub fn open_timeout(mut self, timeout: Duration) -> Self {
        self.open_timeout = timeout;
        self
    }

    /// Probe soon after opening: the first probe after `interval` (at least 10 ms: a
    /// shorter one, zero included, is raised to 10 ms), each failed probe doubling the
    /// wait, up to the open timeout (without it: the open timeout each time).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let config = BreakerConfig::default().probe_interval(Duration::from_millis(250));
    /// let breaker = CircuitBreaker::new("search", config);
    /// breaker.trip();
    /// assert!(breaker.try_acquire().unwrap_err() <= Duration::from_millis(250));
    ///
    /// let ten_ms = BreakerConfig::default().probe_interval(Duration::from_millis(10));
    /// assert_eq!(BreakerConfig::default().probe_interval(Duration::ZERO), ten_ms);
    /// ```
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = Some(interval.max(MIN_PROBE_INTERVAL));
        self
    }

    /// How long the breaker stays open after `failed_probes` failed probes in a row.
    pub(super) fn open_for(&self, failed_probes: u32) -> Duration {
        self.probe_interval.map_or(self.open_timeout, |first| {
            let factor = 1u32.checked_shl(failed_probes).unwrap_or(u32::MAX);
            first.saturating_mul(factor).min(self.open_timeout)
        })
    }

    /// Successful probes that close a half-open breaker (at least 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let config = BreakerConfig::default().open_timeout(Duration::ZERO).success_threshold(2);
    /// let breaker = CircuitBreaker::new("search", config);
    /// breaker.trip(); // open, and half-open at once (zero open timeout)
    /// breaker.call(|| Ok::<_, ()>(())).unwrap();
    /// assert_eq!(breaker.state(), BreakerState::HalfOpen);
    /// breaker.call(|| Ok::<_, ()>(())).unwrap();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn success_threshold(mut self, successes: u32) -> Self {
        self.success_threshold = successes.max(1);
        self
    }

    /// Probes allowed at once while half-open (at least 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let config = BreakerConfig::default().open_timeout(Duration::ZERO).half_open_max_calls(2);
    /// let breaker = CircuitBreaker::new("search", config);
    /// breaker.trip();
    /// let (first, second) = (breaker.try_acquire().unwrap(), breaker.try_acquire().unwrap());
    /// assert!(breaker.try_acquire().is_err(), "a third probe waits");
    /// first.success();
    /// second.success();
    /// ```
    pub fn half_open_max_calls(mut self, calls: u32) -> Self {
        self.half_open_max_calls = calls.max(1);
        self
    }

    /// The open timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::default().timeout(), Duration::from_secs(30));
    /// ```
    pub fn timeout(&self) -> Duration {
        self.open_timeout
    }
}
