//! Errors: building the observer, flushing it, and exporting a batch.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Why [`ObserverBuilder::build`](crate::ObserverBuilder::build) refused a configuration.
///
/// Every variant names the setting (environment variable, config-file key or
/// builder method) and the offending value, so the message alone says what to fix.
///
/// ```
/// let err = tracing_observer::Observer::builder()
///     .environment([("OTEL_BSP_MAX_QUEUE_SIZE", "abc")])
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "OTEL_BSP_MAX_QUEUE_SIZE=abc (environment): expected a positive integer"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting has a value that cannot be used.
    #[error("{setting}={value}{}: {reason}", parenthesized(origin))]
    InvalidSetting {
        /// The name the value was given under: an environment variable, a config-file key
        /// or a builder method.
        setting: String,
        /// The value as given.
        value: String,
        /// The source: `environment`, `config file <path>` or `builder`; empty for a
        /// value checked after the sources were merged.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigFileUnreadable {
        /// The file's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("invalid config file {path}: {message}")]
    ConfigFileInvalid {
        /// The file's path.
        path: PathBuf,
        /// The parser's message, with the line and the key.
        message: String,
    },
    /// The worker thread could not be started.
    #[error("cannot start the tracing-observer worker thread: {0}")]
    WorkerSpawn(#[source] std::io::Error),
}

impl BuildError {
    pub(crate) fn invalid(
        setting: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidSetting {
            setting: setting.into(),
            value: value.into(),
            origin: String::new(),
            reason: reason.into(),
        }
    }
}

/// ` (origin)`, or nothing for an empty origin.
fn parenthesized(origin: &str) -> String {
    if origin.is_empty() {
        String::new()
    } else {
        format!(" ({origin})")
    }
}

/// Why [`Observer::force_flush`](crate::Observer::force_flush) did not complete.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{FlushError, Observer};
/// let observer = Observer::builder().disabled(true).build()?;
/// assert_eq!(observer.force_flush(Duration::from_secs(1)), Err(FlushError::ShutDown));
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// The timeout passed before every queued span was exported or dropped.
    #[error("flush did not complete within {0:?}")]
    Timeout(Duration),
    /// The observer was already shut down (or disabled): there is nothing to flush.
    #[error("the observer is shut down")]
    ShutDown,
}

/// What kind of failure an export met; the delivery layer decides on retries from it.
///
/// ```
/// use tracing_observer::{ExportError, ExportErrorKind};
/// let err = ExportError::new(ExportErrorKind::Throttled, "slow down");
/// assert_eq!(err.kind(), ExportErrorKind::Throttled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExportErrorKind {
    /// No connection could be made to the collector.
    Connect,
    /// The request did not complete within its timeout.
    Timeout,
    /// The collector said it is unavailable (gRPC UNAVAILABLE, HTTP 502/503/504).
    Unavailable,
    /// The collector asked us to slow down (gRPC RESOURCE_EXHAUSTED, HTTP 429).
    Throttled,
    /// The collector refused the request for good (bad request, unauthenticated, …).
    Rejected,
    /// The request could not be encoded or written.
    Encode,
    /// Anything else.
    Other,
}

impl ExportErrorKind {
    /// A short snake_case name, used as a key in reports and metric labels.
    ///
    /// ```
    /// use tracing_observer::ExportErrorKind;
    /// assert_eq!(ExportErrorKind::Unavailable.as_str(), "unavailable");
    /// assert_eq!(ExportErrorKind::Throttled.to_string(), "throttled");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Throttled => "throttled",
            Self::Rejected => "rejected",
            Self::Encode => "encode",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ExportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed export of one batch.
///
/// ```
/// use tracing_observer::{ExportError, ExportErrorKind};
/// let err = ExportError::new(ExportErrorKind::Unavailable, "collector restarting");
/// assert_eq!(err.to_string(), "unavailable: collector restarting");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ExportError {
    kind: ExportErrorKind,
    message: String,
    retry_after: Option<Duration>,
}

impl ExportError {
    /// An error of `kind` with a human-readable message.
    ///
    /// ```
    /// use tracing_observer::{ExportError, ExportErrorKind};
    /// let err = ExportError::new(ExportErrorKind::Rejected, "unauthenticated");
    /// assert_eq!(err.to_string(), "rejected: unauthenticated");
    /// ```
    pub fn new(kind: ExportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds the delay the collector asked for before the next attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{ExportError, ExportErrorKind};
    /// let err = ExportError::new(ExportErrorKind::Throttled, "429").with_retry_after(Duration::from_secs(3));
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    /// ```
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The kind of failure.
    ///
    /// ```
    /// use tracing_observer::{ExportError, ExportErrorKind};
    /// assert_eq!(ExportError::new(ExportErrorKind::Connect, "refused").kind(), ExportErrorKind::Connect);
    /// ```
    pub fn kind(&self) -> ExportErrorKind {
        self.kind
    }

    /// The message.
    ///
    /// ```
    /// use tracing_observer::{ExportError, ExportErrorKind};
    /// assert_eq!(ExportError::new(ExportErrorKind::Connect, "refused").message(), "refused");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The delay the collector asked for (`Retry-After`, gRPC `RetryInfo`), if any.
    ///
    /// ```
    /// use tracing_observer::{ExportError, ExportErrorKind};
    /// assert_eq!(ExportError::new(ExportErrorKind::Timeout, "deadline").retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}
