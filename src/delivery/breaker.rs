//! Circuit breakers: stop calling something that keeps failing, probe it now and then.
//!
//! A [`CircuitBreaker`] is `Closed` (calls pass) until it sees `failure_threshold`
//! consecutive failures, or a failure rate of at least `failure_rate` over
//! `window` (with at least `min_calls` calls); it then goes `Open` (calls are
//! refused at once) for `open_timeout`, then `HalfOpen`: up to `half_open_max_calls`
//! probes pass, `success_threshold` successes close it, any failure opens it again.
//! With a `probe_interval` it stays open that long at first, twice as long after each
//! failed probe, up to `open_timeout`.
//!
//! Breakers are cheap clones of one shared state, usable from any thread. Named
//! breakers can be kept in a [`BreakerRegistry`]; [`breakers()`] is the process-wide
//! one, for the application's breakers. Each observer's export breaker is its own
//! and in no registry; the observer's endpoints list it before the registry's.
//!
//! ```
//! use std::time::Duration;
//! use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
//!
//! let breaker = CircuitBreaker::new("payments", BreakerConfig::default().failure_threshold(2));
//! for _ in 0..2 {
//!     let _ = breaker.call(|| Err::<(), _>("timeout"));
//! }
//! assert_eq!(breaker.state(), BreakerState::Open);
//! let refused = breaker.call(|| Ok::<_, &str>(1)).unwrap_err();
//! assert!(refused.is_open());
//! breaker.reset();
//! assert_eq!(breaker.call(|| Ok::<_, &str>(1)).unwrap(), 1);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

mod config;

pub use config::{BreakerConfig, DEFAULT_FAILURE_THRESHOLD, DEFAULT_OPEN_TIMEOUT, DEFAULT_WINDOW};

/// Where a breaker stands.
///
/// ```
/// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
/// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// breaker.trip();
/// assert_eq!(breaker.state(), BreakerState::Open);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused until the open timeout passes.
    Open,
    /// A few probe calls pass; their outcome closes or reopens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// `CLOSED`, `OPEN` or `HALF_OPEN`.
    ///
    /// ```
    /// use tracing_observer::breaker::BreakerState;
    /// assert_eq!(BreakerState::HalfOpen.as_str(), "HALF_OPEN");
    /// assert_eq!(BreakerState::Open.to_string(), "OPEN");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "CLOSED",
            Self::Open => "OPEN",
            Self::HalfOpen => "HALF_OPEN",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A breaker's state and counters, as `/circuit-breakers` shows them.
///
/// ```
/// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
/// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
/// let _ = breaker.call(|| Err::<(), _>("timeout"));
/// let snapshot = breaker.snapshot();
/// assert_eq!((snapshot.state, snapshot.failures, snapshot.failure_count), (BreakerState::Closed, 1, 1));
/// assert!(snapshot.last_failure.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The breaker's name.
    pub name: String,
    /// Its state now.
    pub state: BreakerState,
    /// Consecutive failures (reset by a success).
    pub failure_count: u32,
    /// Calls allowed through.
    pub calls: u64,
    /// Calls that succeeded.
    pub successes: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Calls refused while open.
    pub rejected: u64,
    /// Times it opened.
    pub opened: u64,
    /// When the last failure happened.
    #[serde(serialize_with = "as_unix_secs")]
    pub last_failure: Option<SystemTime>,
    /// While open: how long until a probe may pass.
    #[serde(serialize_with = "as_opt_secs")]
    pub retry_in: Option<Duration>,
}

fn as_unix_secs<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()) {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

fn as_opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Why a protected call did not return its own result.
///
/// ```
/// use tracing_observer::{breaker::BreakerError, CircuitBreaker, breaker::BreakerConfig};
/// let breaker = CircuitBreaker::new("db", BreakerConfig::default());
/// breaker.trip();
/// let err = breaker.call(|| Ok::<(), std::io::Error>(())).unwrap_err();
/// assert!(err.to_string().starts_with("circuit breaker db is OPEN"));
/// ```
#[derive(Debug)]
pub enum BreakerError<E> {
    /// The breaker refused the call.
    Open {
        /// The breaker's name.
        name: String,
        /// How long until a probe may pass.
        retry_in: Duration,
    },
    /// The call ran and failed.
    Inner(E),
}

impl<E> BreakerError<E> {
    /// Whether the breaker refused the call.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
    /// assert!(!breaker.call(|| Err::<(), _>("timeout")).unwrap_err().is_open());
    /// breaker.trip();
    /// assert!(breaker.call(|| Ok::<_, &str>(())).unwrap_err().is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open { .. })
    }
}

impl<E: fmt::Display> fmt::Display for BreakerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { name, retry_in } => write!(
                f,
                "circuit breaker {name} is OPEN - {:.1}s until retry",
                retry_in.as_secs_f64()
            ),
            Self::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for BreakerError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Open { .. } => None,
            Self::Inner(e) => Some(e),
        }
    }
}

/// A permission to make one call; report its outcome with [`Permit::success`]
/// or [`Permit::failure`]. Dropping it unreported frees its probe slot.
///
/// ```
/// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
/// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
/// let permit = breaker.try_acquire().expect("a closed breaker lets calls through");
/// permit.success();
/// assert_eq!(breaker.snapshot().successes, 1);
/// ```
#[derive(Debug)]
#[must_use = "report the call's outcome"]
pub struct Permit {
    breaker: CircuitBreaker,
    probe: bool,
    reported: bool,
}

impl Permit {
    /// The call succeeded.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
    /// breaker.try_acquire().unwrap().success();
    /// assert_eq!(breaker.snapshot().successes, 1);
    /// ```
    pub fn success(self) {
        self.finish_at(true, Instant::now());
    }

    /// The call failed.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default().failure_threshold(1));
    /// breaker.try_acquire().unwrap().failure();
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// ```
    pub fn failure(self) {
        self.finish_at(false, Instant::now());
    }

    pub(crate) fn finish_at(mut self, ok: bool, now: Instant) {
        self.reported = true;
        self.breaker.record(ok, self.probe, now);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            let mut inner = self.breaker.lock();
            inner.probes = inner.probes.saturating_sub(1);
        }
    }
}

/// A named circuit breaker; clones share state. [`breakers`](crate::breaker::breakers) lists
/// the process's breakers.
///
/// ```
/// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
/// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
/// let clone = breaker.clone();
/// clone.trip();
/// assert_eq!(breaker.state(), BreakerState::Open, "clones share one state");
/// ```
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    name: Arc<str>,
    config: Arc<BreakerConfig>,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    opened_at: Instant,
    /// How long this opening lasts.
    open_for: Duration,
    /// Probes that failed since the breaker was last closed.
    failed_probes: u32,
    consecutive_failures: u32,
    half_open_successes: u32,
    probes: u32,
    window: VecDeque<(Instant, bool)>,
    calls: u64,
    successes: u64,
    failures: u64,
    rejected: u64,
    opened: u64,
    last_failure: Option<SystemTime>,
}

// === impl CircuitBreaker ===

impl CircuitBreaker {
    /// A closed breaker. It is not registered anywhere; see [`BreakerRegistry`](crate::breaker::BreakerRegistry).
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn new(name: impl Into<String>, config: BreakerConfig) -> Self {
        Self {
            name: Arc::from(name.into()),
            inner: Arc::new(Mutex::new(Inner {
                state: BreakerState::Closed,
                opened_at: Instant::now(),
                open_for: config.open_timeout,
                failed_probes: 0,
                consecutive_failures: 0,
                half_open_successes: 0,
                probes: 0,
                window: VecDeque::new(),
                calls: 0,
                successes: 0,
                failures: 0,
                rejected: 0,
                opened: 0,
                last_failure: None,
            })),
            config: Arc::new(config),
        }
    }

    /// Its name.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// assert_eq!(CircuitBreaker::new("payments", BreakerConfig::default()).name(), "payments");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its configuration.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default().open_timeout(Duration::from_secs(5)));
    /// assert_eq!(breaker.config().timeout(), Duration::from_secs(5));
    /// ```
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Its state now (an open breaker whose timeout passed reads `HalfOpen`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default().open_timeout(Duration::ZERO));
    /// breaker.trip();
    /// assert_eq!(breaker.state(), BreakerState::HalfOpen, "the zero open timeout has passed");
    /// ```
    pub fn state(&self) -> BreakerState {
        self.state_at(Instant::now())
    }

    pub(crate) fn state_at(&self, now: Instant) -> BreakerState {
        let mut inner = self.lock();
        self.advance(&mut inner, now);
        inner.state
    }

    /// Asks to make a call: a [`Permit`], or the time until a probe may pass.
    ///
    /// # Errors
    /// The remaining open time when the breaker refuses the call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
    /// breaker.try_acquire().unwrap().success();
    /// breaker.trip();
    /// let retry_in = breaker.try_acquire().unwrap_err();
    /// assert!(retry_in <= Duration::from_secs(30));
    /// ```
    pub fn try_acquire(&self) -> Result<Permit, Duration> {
        self.try_acquire_at(Instant::now())
    }

    pub(crate) fn try_acquire_at(&self, now: Instant) -> Result<Permit, Duration> {
        let mut inner = self.lock();
        self.advance(&mut inner, now);
        let probe = match inner.state {
            BreakerState::Closed => false,
            BreakerState::HalfOpen if inner.probes < self.config.half_open_max_calls => {
                inner.probes += 1;
                true
            }
            BreakerState::HalfOpen => {
                inner.rejected += 1;
                return Err(Duration::ZERO);
            }
            BreakerState::Open => {
                inner.rejected += 1;
                let until = inner.opened_at + inner.open_for;
                return Err(until.saturating_duration_since(now));
            }
        };
        inner.calls += 1;
        drop(inner);
        Ok(Permit {
            breaker: self.clone(),
            probe,
            reported: false,
        })
    }

    /// Runs `f` if the breaker lets it; its `Err` counts as a failure.
    ///
    /// # Errors
    /// [`BreakerError::Open`] when refused, [`BreakerError::Inner`] when `f` failed.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerError, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
    /// assert_eq!(breaker.call(|| Ok::<_, String>(42)).unwrap(), 42);
    /// let err = breaker.call(|| Err::<u32, _>("declined".to_owned())).unwrap_err();
    /// assert!(matches!(err, BreakerError::Inner(reason) if reason == "declined"));
    /// ```
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, BreakerError<E>> {
        let permit = self.admit()?;
        Self::settle(permit, f())
    }

    /// Awaits `f()` if the breaker lets it; its `Err` counts as a failure.
    ///
    /// ```
    /// # use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// # futures_util::FutureExt::now_or_never(async {
    /// let breaker = CircuitBreaker::new("api", BreakerConfig::default());
    /// let value = breaker.call_async(|| async { Ok::<_, String>(7) }).await.unwrap();
    /// assert_eq!(value, 7);
    /// # });
    /// ```
    ///
    /// # Errors
    /// [`BreakerError::Open`] when refused, [`BreakerError::Inner`] when the future failed.
    pub async fn call_async<T, E, F, Fut>(&self, f: F) -> Result<T, BreakerError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let permit = self.admit()?;
        Self::settle(permit, f().await)
    }

    /// A permit, or the error `call` and `call_async` return while the breaker refuses.
    fn admit<E>(&self) -> Result<Permit, BreakerError<E>> {
        self.try_acquire()
            .map_err(|retry_in| self.open_error(retry_in))
    }

    /// Counts `result` on `permit`: an `Err` is a failure.
    fn settle<T, E>(permit: Permit, result: Result<T, E>) -> Result<T, BreakerError<E>> {
        match result {
            Ok(value) => {
                permit.success();
                Ok(value)
            }
            Err(e) => {
                permit.failure();
                Err(BreakerError::Inner(e))
            }
        }
    }

    /// Opens the breaker now, whatever its state.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
    /// breaker.trip();
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// ```
    pub fn trip(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        self.open(&mut inner, now);
    }

    /// An open breaker lets a probe through now (what it protects looks reachable again).
    pub(crate) fn allow_probe(&self) {
        let mut inner = self.lock();
        if inner.state == BreakerState::Open {
            inner.state = BreakerState::HalfOpen;
            inner.half_open_successes = 0;
            inner.probes = 0;
        }
    }

    /// While open: how long until a probe may pass.
    pub(crate) fn open_left(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut inner = self.lock();
        self.advance(&mut inner, now);
        (inner.state == BreakerState::Open)
            .then(|| (inner.opened_at + inner.open_for).saturating_duration_since(now))
    }

    /// Closes the breaker now and forgets recent failures.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
    /// breaker.trip();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.state = BreakerState::Closed;
        inner.consecutive_failures = 0;
        inner.failed_probes = 0;
        inner.half_open_successes = 0;
        inner.probes = 0;
        inner.window.clear();
    }

    /// Its state and counters.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, CircuitBreaker};
    /// let breaker = CircuitBreaker::new("payments", BreakerConfig::default());
    /// let _ = breaker.call(|| Ok::<_, ()>(()));
    /// let snapshot = breaker.snapshot();
    /// assert_eq!((snapshot.name.as_str(), snapshot.calls, snapshot.successes), ("payments", 1, 1));
    /// ```
    pub fn snapshot(&self) -> BreakerSnapshot {
        let now = Instant::now();
        let mut inner = self.lock();
        self.advance(&mut inner, now);
        BreakerSnapshot {
            name: self.name.to_string(),
            state: inner.state,
            failure_count: inner.consecutive_failures,
            calls: inner.calls,
            successes: inner.successes,
            failures: inner.failures,
            rejected: inner.rejected,
            opened: inner.opened,
            last_failure: inner.last_failure,
            retry_in: (inner.state == BreakerState::Open)
                .then(|| (inner.opened_at + inner.open_for).saturating_duration_since(now)),
        }
    }

    fn open_error<E>(&self, retry_in: Duration) -> BreakerError<E> {
        BreakerError::Open {
            name: self.name.to_string(),
            retry_in,
        }
    }

    fn record(&self, ok: bool, probe: bool, now: Instant) {
        let config = &self.config;
        let mut inner = self.lock();
        if probe {
            inner.probes = inner.probes.saturating_sub(1);
        }
        inner.window.push_back((now, ok));
        while inner
            .window
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > config.window)
        {
            inner.window.pop_front();
        }
        if ok {
            inner.successes += 1;
            inner.consecutive_failures = 0;
            if inner.state == BreakerState::HalfOpen {
                inner.half_open_successes += 1;
                if inner.half_open_successes >= config.success_threshold {
                    inner.state = BreakerState::Closed;
                    inner.failed_probes = 0;
                    inner.window.clear();
                }
            }
            return;
        }
        inner.failures += 1;
        inner.consecutive_failures += 1;
        inner.last_failure = Some(SystemTime::now());
        let rate_exceeded = config.failure_rate.is_some_and(|(rate, min_calls)| {
            let total = inner.window.len();
            let failed = inner.window.iter().filter(|(_, ok)| !ok).count();
            total >= min_calls as usize && failed as f64 >= rate * total as f64
        });
        let should_open = match inner.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => {
                inner.consecutive_failures >= config.failure_threshold || rate_exceeded
            }
            BreakerState::Open => false,
        };
        if should_open {
            self.open(&mut inner, now);
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        if inner.state != BreakerState::Open {
            inner.opened += 1;
        }
        if inner.state == BreakerState::HalfOpen {
            inner.failed_probes = inner.failed_probes.saturating_add(1);
        }
        inner.open_for = self.config.open_for(inner.failed_probes);
        inner.state = BreakerState::Open;
        inner.opened_at = now;
        inner.half_open_successes = 0;
        inner.probes = 0;
    }

    fn advance(&self, inner: &mut Inner, now: Instant) {
        if inner.state == BreakerState::Open
            && now.saturating_duration_since(inner.opened_at) >= inner.open_for
        {
            inner.state = BreakerState::HalfOpen;
            inner.half_open_successes = 0;
            inner.probes = 0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent counters: keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
