//! [`ObserverBuilder`] setters: what happens to a batch that cannot be delivered: retries, the circuit breaker, the spool.

use super::ObserverBuilder;
use crate::config::key;
use std::path::PathBuf;
use std::time::Duration;

impl ObserverBuilder {
    /// Turns the disk spool on or off. With it, batches that cannot be delivered
    /// (collector down, breaker open, no exporter) are kept on disk and replayed later.
    ///
    /// Environment: `OBSERVER_SPOOL=off`. Default: on.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool(false);
    /// ```
    pub fn spool(self, enabled: bool) -> Self {
        self.set::<key::spool>(enabled)
    }

    /// The spool directory; one process per directory (a lock file enforces it).
    ///
    /// Environment: `OBSERVER_SPOOL_DIR`. Default:
    /// `$XDG_DATA_HOME/tracing-observer/<service>` (or `~/.local/share/…`).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool_dir(std::env::temp_dir().join("tracing-observer-doc-builder-spool"));
    /// ```
    pub fn spool_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.set::<key::spool_dir>(dir.into())
    }

    /// Bytes the spool may hold; beyond, the oldest batches without errors go first.
    ///
    /// Environment: `OBSERVER_SPOOL_MAX_BYTES` (`1073741824`, `512MiB`). Default: 1 GiB.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool_max_bytes(256 << 20);
    /// ```
    pub fn spool_max_bytes(self, bytes: u64) -> Self {
        self.set::<key::spool_max_bytes>(bytes)
    }

    /// How long spooled batches are kept before deletion (or archiving).
    ///
    /// Environment: `OBSERVER_SPOOL_RETENTION` (`6h`). Default: 6 h.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool_retention(Duration::from_secs(24 * 3600));
    /// ```
    pub fn spool_retention(self, retention: Duration) -> Self {
        self.set::<key::spool_retention>(retention)
    }

    /// Where expired and evicted segments are moved instead of being deleted.
    ///
    /// Environment: `OBSERVER_SPOOL_ARCHIVE_DIR`. Default: none (deleted).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool_archive_dir(std::env::temp_dir().join("tracing-observer-doc-archive"));
    /// ```
    pub fn spool_archive_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.set::<key::spool_archive_dir>(dir.into())
    }

    /// Whether segments moved to [`spool_archive_dir`](Self::spool_archive_dir) are
    /// gzipped (to `<segment>.gz`). The compression runs on the observer's thread, not
    /// the application's.
    ///
    /// Environment: `OBSERVER_SPOOL_ARCHIVE_COMPRESS` (`true`/`false`). Default: false.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder()
    ///     .spool_archive_dir(std::env::temp_dir().join("tracing-observer-doc-archive-gz"))
    ///     .spool_archive_compress(true);
    /// ```
    pub fn spool_archive_compress(self, compress: bool) -> Self {
        self.set::<key::spool_archive_compress>(compress)
    }

    /// How often retention and the byte budget are enforced. Default: 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool_cleanup_interval(Duration::from_secs(10));
    /// ```
    pub fn spool_cleanup_interval(self, interval: Duration) -> Self {
        self.set::<key::spool_cleanup_interval>(interval)
    }

    /// How often spooled data is `fsync`ed (it always is at shutdown). Default: 1 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().spool_sync_interval(Duration::from_millis(200));
    /// ```
    pub fn spool_sync_interval(self, interval: Duration) -> Self {
        self.set::<key::spool_sync_interval>(interval)
    }

    /// Consecutive export failures that open the circuit breaker; while open, batches
    /// go straight to the spool.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_THRESHOLD`. Default: 5.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().circuit_breaker_threshold(3);
    /// ```
    pub fn circuit_breaker_threshold(self, failures: u32) -> Self {
        self.set::<key::circuit_breaker_threshold>(failures)
    }

    /// The longest the open breaker waits before letting a probe export through: the
    /// first probe comes after 250 ms, each failed one doubles the wait up to this.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_TIMEOUT` (`30s`). Default: 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().circuit_breaker_timeout(Duration::from_secs(10));
    /// ```
    pub fn circuit_breaker_timeout(self, timeout: Duration) -> Self {
        self.set::<key::circuit_breaker_timeout>(timeout)
    }

    /// Also opens the circuit breaker when at least `rate` (above 0, at most 1) of the
    /// exports in the [window](Self::circuit_breaker_window) failed, once it holds
    /// `min_calls` exports — for a collector that fails often but not
    /// [`circuit_breaker_threshold`](Self::circuit_breaker_threshold) times in a row.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE` (`0.5/20`). Default: off
    /// (consecutive failures only).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().circuit_breaker_failure_rate(0.5, 20);
    /// ```
    pub fn circuit_breaker_failure_rate(self, rate: f64, min_calls: u32) -> Self {
        self.set::<key::circuit_breaker_failure_rate>((rate, min_calls))
    }

    /// The sliding window over which the breaker's
    /// [failure rate](Self::circuit_breaker_failure_rate) is computed.
    ///
    /// Environment: `OBSERVER_CIRCUIT_BREAKER_WINDOW` (`60s`). Default: 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder()
    ///     .circuit_breaker_failure_rate(0.5, 20)
    ///     .circuit_breaker_window(Duration::from_secs(30));
    /// ```
    pub fn circuit_breaker_window(self, window: Duration) -> Self {
        self.set::<key::circuit_breaker_window>(window)
    }

    /// The delay before the first retry of a failed export; each next one doubles, with
    /// jitter, up to [`retry_max_backoff`](Self::retry_max_backoff).
    ///
    /// Environment: `OBSERVER_RETRY_INITIAL_BACKOFF` (`1s`). Default: 1 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder()
    ///     .retry_initial_backoff(Duration::from_millis(200));
    /// ```
    pub fn retry_initial_backoff(self, delay: Duration) -> Self {
        self.set::<key::retry_initial_backoff>(delay)
    }

    /// The longest delay between two retries.
    ///
    /// Environment: `OBSERVER_RETRY_MAX_BACKOFF` (`30s`). Default: 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder().retry_max_backoff(Duration::from_secs(5));
    /// ```
    pub fn retry_max_backoff(self, delay: Duration) -> Self {
        self.set::<key::retry_max_backoff>(delay)
    }

    /// How long a failing batch is retried before it is spooled (or dropped without a
    /// spool); zero never retries.
    ///
    /// Environment: `OBSERVER_RETRY_MAX_ELAPSED_TIME` (`60s`). Default: 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tracing_observer::Observer::builder()
    ///     .retry_max_elapsed_time(Duration::from_secs(10));
    /// ```
    pub fn retry_max_elapsed_time(self, time: Duration) -> Self {
        self.set::<key::retry_max_elapsed_time>(time)
    }

    /// The three `retry_*` settings at once, from a [`RetryPolicy`](crate::config::RetryPolicy)
    /// (e.g. [`RetryPolicy::none()`](crate::config::RetryPolicy::none)).
    ///
    /// ```
    /// use tracing_observer::{Observer, config::RetryPolicy};
    /// let builder = Observer::builder().retry_policy(RetryPolicy::none());
    /// ```
    pub fn retry_policy(self, policy: crate::delivery::RetryPolicy) -> Self {
        self.set_as::<key::retry_initial_backoff>("retry_policy", policy.initial_backoff)
            .set_as::<key::retry_max_backoff>("retry_policy", policy.max_backoff)
            .set_as::<key::retry_max_elapsed_time>("retry_policy", policy.max_elapsed_time)
    }
}
