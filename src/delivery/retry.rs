//! Retry: which failures are worth another attempt, and how long to wait.
//!
//! Exponential backoff with full jitter between `initial_backoff` and
//! `max_backoff`, given up after `max_elapsed_time`; a collector's throttling hint
//! (`Retry-After`, gRPC `RetryInfo`) replaces the computed delay.

use crate::error::{ExportError, ExportErrorKind};
use std::time::Duration;

/// First retry delay (before jitter).
///
/// ```
/// use tracing_observer::{config::DEFAULT_INITIAL_BACKOFF, config::RetryPolicy};
/// assert_eq!(DEFAULT_INITIAL_BACKOFF, std::time::Duration::from_secs(1));
/// assert_eq!(RetryPolicy::default(), RetryPolicy::default().initial_backoff(DEFAULT_INITIAL_BACKOFF));
/// ```
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest retry delay.
///
/// ```
/// use tracing_observer::{config::DEFAULT_MAX_BACKOFF, config::RetryPolicy};
/// assert_eq!(DEFAULT_MAX_BACKOFF, std::time::Duration::from_secs(30));
/// assert_eq!(RetryPolicy::default(), RetryPolicy::default().max_backoff(DEFAULT_MAX_BACKOFF));
/// ```
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Time after which a batch stops being retried (and goes to the spool).
///
/// ```
/// use tracing_observer::{config::DEFAULT_MAX_ELAPSED_TIME, config::RetryPolicy};
/// assert_eq!(DEFAULT_MAX_ELAPSED_TIME, std::time::Duration::from_secs(60));
/// assert_eq!(RetryPolicy::default(), RetryPolicy::default().max_elapsed_time(DEFAULT_MAX_ELAPSED_TIME));
/// ```
pub const DEFAULT_MAX_ELAPSED_TIME: Duration = Duration::from_secs(60);

/// How failed exports are retried.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{Observer, config::RetryPolicy};
/// let policy = RetryPolicy::default()
///     .initial_backoff(Duration::from_millis(200))
///     .max_elapsed_time(Duration::from_secs(10));
/// let builder = Observer::builder().retry_policy(policy);
/// let no_retries = RetryPolicy::none();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_elapsed_time: Duration,
}

impl Default for RetryPolicy {
    /// 1 s initial, 30 s max, 60 s in all.
    fn default() -> Self {
        Self {
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_elapsed_time: DEFAULT_MAX_ELAPSED_TIME,
        }
    }
}

impl RetryPolicy {
    /// No retries: a failed export goes to the spool at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, config::RetryPolicy};
    /// assert_eq!(RetryPolicy::none(), RetryPolicy::default().max_elapsed_time(Duration::ZERO));
    /// let builder = Observer::builder().retry_policy(RetryPolicy::none());
    /// ```
    pub fn none() -> Self {
        Self {
            max_elapsed_time: Duration::ZERO,
            ..Self::default()
        }
    }

    /// The first delay (before jitter).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, config::RetryPolicy};
    /// let policy = RetryPolicy::default().initial_backoff(Duration::from_millis(100));
    /// assert_ne!(policy, RetryPolicy::default());
    /// let builder = Observer::builder().retry_policy(policy);
    /// ```
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// The longest delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, config::RetryPolicy};
    /// let policy = RetryPolicy::default().max_backoff(Duration::from_secs(5));
    /// assert_ne!(policy, RetryPolicy::default());
    /// let builder = Observer::builder().retry_policy(policy);
    /// ```
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Total time after the first attempt during which retries are made.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, config::RetryPolicy};
    /// let policy = RetryPolicy::default().max_elapsed_time(Duration::from_secs(10));
    /// assert_ne!(policy, RetryPolicy::default());
    /// let builder = Observer::builder().retry_policy(policy);
    /// ```
    pub fn max_elapsed_time(mut self, limit: Duration) -> Self {
        self.max_elapsed_time = limit;
        self
    }

    /// The delay before retry number `attempt` (1-based): full jitter over the
    /// exponential bound, `seed` providing the randomness.
    pub(crate) fn backoff(&self, attempt: u32, seed: u64) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let bound = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        // Full jitter, but never less than half the bound so retries do not bunch up.
        let fraction = 0.5 + (splitmix(seed) >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
        bound.mul_f64(fraction)
    }
}

/// Whether an error is worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryClass {
    /// Retrying cannot help (bad request, unauthenticated, …).
    NonRetryable,
    /// Transient: retry with backoff.
    Retryable,
    /// The collector asked for this delay.
    Throttled(Duration),
}

/// Classifies per the OTLP rules; the exporters already mapped gRPC codes and HTTP
/// statuses to kinds (gRPC `RESOURCE_EXHAUSTED` without `RetryInfo` is `Rejected`).
pub(crate) fn classify(error: &ExportError) -> RetryClass {
    if let Some(delay) = error.retry_after() {
        return RetryClass::Throttled(delay);
    }
    match error.kind() {
        ExportErrorKind::Connect
        | ExportErrorKind::Timeout
        | ExportErrorKind::Unavailable
        | ExportErrorKind::Throttled => RetryClass::Retryable,
        _ => RetryClass::NonRetryable,
    }
}

/// A fast, well-mixed 64-bit hash (splitmix64), enough for jitter.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(1000));
        for seed in 0..100 {
            let d1 = p.backoff(1, seed);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.backoff(3, seed);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d20 = p.backoff(40, seed);
            assert!(d20 <= Duration::from_millis(1000));
        }
        assert_ne!(p.backoff(2, 1), p.backoff(2, 2), "jitter differs by seed");
    }

    #[test]
    fn only_transient_errors_are_retried_and_hints_win() {
        let e = |kind| ExportError::new(kind, "x");
        assert_eq!(
            classify(&e(ExportErrorKind::Unavailable)),
            RetryClass::Retryable
        );
        assert_eq!(
            classify(&e(ExportErrorKind::Connect)),
            RetryClass::Retryable
        );
        assert_eq!(
            classify(&e(ExportErrorKind::Timeout)),
            RetryClass::Retryable
        );
        assert_eq!(
            classify(&e(ExportErrorKind::Rejected)),
            RetryClass::NonRetryable
        );
        assert_eq!(
            classify(&e(ExportErrorKind::Encode)),
            RetryClass::NonRetryable
        );
        let throttled = e(ExportErrorKind::Throttled).with_retry_after(Duration::from_secs(3));
        assert_eq!(
            classify(&throttled),
            RetryClass::Throttled(Duration::from_secs(3))
        );
    }
}
