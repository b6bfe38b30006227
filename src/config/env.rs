//! Environment variables: the OpenTelemetry ones where they exist, `OBSERVER_*` for the rest.

use super::{parse, EndpointPath, EndpointSetting, Settings};
use crate::error::BuildError;
use std::collections::HashMap;
use std::path::PathBuf;

/// Names of the environment variables this crate reads.
///
/// ```
/// use tracing_observer::{config::vars, Observer};
/// let observer = Observer::builder()
///     .environment([(vars::OTEL_SERVICE_NAME, "checkout"), (vars::OTEL_SDK_DISABLED, "true")])
///     .build()?;
/// assert!(observer.is_disabled());
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
pub mod vars {
    /// Disables the observer: the layer becomes a no-op.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_SDK_DISABLED, "true")]).build()?;
    /// assert!(observer.is_disabled());
    /// let err = Observer::builder().environment([(vars::OTEL_SDK_DISABLED, "maybe")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_SDK_DISABLED=maybe:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
    /// The `service.name` resource attribute.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_SERVICE_NAME, "checkout")]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Extra resource attributes, `key=value,key=value`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_RESOURCE_ATTRIBUTES, "deployment.environment.name=prod,service.version=1.4.2")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_RESOURCE_ATTRIBUTES, "no-equals-sign")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_RESOURCE_ATTRIBUTES=no-equals-sign:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
    /// `otlp`, `console` or `none`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_TRACES_EXPORTER, "none")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_TRACES_EXPORTER, "jaeger")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_TRACES_EXPORTER=jaeger:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
    /// The spec's batch-processor and span-limit variables.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_BSP_SCHEDULE_DELAY, "500")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_BSP_SCHEDULE_DELAY, "soon")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_BSP_SCHEDULE_DELAY=soon:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
    /// Longest time one batch export may take, in milliseconds.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_BSP_EXPORT_TIMEOUT, "10000")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_BSP_EXPORT_TIMEOUT, "soon")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_BSP_EXPORT_TIMEOUT=soon:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
    /// Spans held in the queue at most.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_BSP_MAX_QUEUE_SIZE, "10000")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_BSP_MAX_QUEUE_SIZE, "lots")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_BSP_MAX_QUEUE_SIZE=lots:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
    /// Spans per export request at most.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "256")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
    /// Bytes the queue holds at most (`64MiB`, `1GiB`, or a number of bytes).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_MAX_QUEUE_BYTES, "16MiB")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_MAX_QUEUE_BYTES, "lots")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_MAX_QUEUE_BYTES=lots:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_MAX_QUEUE_BYTES: &str = "OBSERVER_MAX_QUEUE_BYTES";
    /// Export requests in flight at once.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_BSP_MAX_CONCURRENT_EXPORTS, "2")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_BSP_MAX_CONCURRENT_EXPORTS, "two")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_BSP_MAX_CONCURRENT_EXPORTS=two:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_BSP_MAX_CONCURRENT_EXPORTS: &str = "OTEL_BSP_MAX_CONCURRENT_EXPORTS";
    /// The seeds' name for concurrent exports; `OTEL_BSP_MAX_CONCURRENT_EXPORTS` wins when both are set.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_ASYNC_WORKER_THREADS, "2")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_ASYNC_WORKER_THREADS, "two")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_ASYNC_WORKER_THREADS=two:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_ASYNC_WORKER_THREADS: &str = "OBSERVER_ASYNC_WORKER_THREADS";
    /// Attributes kept per span.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, "64")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
    /// Events kept per span.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_SPAN_EVENT_COUNT_LIMIT, "32")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_SPAN_EVENT_COUNT_LIMIT, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_SPAN_EVENT_COUNT_LIMIT=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
    /// Links kept per span.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_SPAN_LINK_COUNT_LIMIT, "16")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_SPAN_LINK_COUNT_LIMIT, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_SPAN_LINK_COUNT_LIMIT=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
    /// Bytes kept of one attribute value.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, "1024")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, "long")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=long:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    /// Bytes kept of one span attribute value; wins over `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "2048")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "long")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=long:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str =
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    /// Attributes kept per event.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, "16")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
    /// Field-name patterns whose values are replaced by `[REDACTED]` (comma-separated, `none` for none).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_REDACT_FIELDS, "password,card_number")]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_REDACT_FIELDS: &str = "OBSERVER_REDACT_FIELDS";
    /// The head sampler: `always_on`, `always_off`, `traceidratio`, `parentbased_*`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder()
    ///     .environment([(vars::OTEL_TRACES_SAMPLER, "parentbased_traceidratio"), (vars::OTEL_TRACES_SAMPLER_ARG, "0.25")])
    ///     .build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_TRACES_SAMPLER, "sometimes")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_TRACES_SAMPLER=sometimes:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
    /// The ratio of the `traceidratio` samplers.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder()
    ///     .environment([(vars::OTEL_TRACES_SAMPLER, "traceidratio"), (vars::OTEL_TRACES_SAMPLER_ARG, "0.1")])
    ///     .build()?;
    /// let err = Observer::builder()
    ///     .environment([(vars::OTEL_TRACES_SAMPLER, "traceidratio"), (vars::OTEL_TRACES_SAMPLER_ARG, "half")])
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_TRACES_SAMPLER_ARG=half:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    /// Sampling rules: `TARGET[/NAME]=RATIO[@RATE],…`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SAMPLING_RULES, "checkout::pricing=0.01,checkout/refresh_cache=0.2@10")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SAMPLING_RULES, "checkout=2")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SAMPLING_RULES=checkout=2:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SAMPLING_RULES: &str = "OBSERVER_SAMPLING_RULES";
    /// Keep failing spans (and their local ancestors) that head sampling dropped: `true` or `false`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_KEEP_ERRORS, "false")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_KEEP_ERRORS, "maybe")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_KEEP_ERRORS=maybe:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_KEEP_ERRORS: &str = "OBSERVER_KEEP_ERRORS";
    /// Keep spans at least this slow that head sampling dropped (`500ms`, `2s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SLOW_SPAN_THRESHOLD, "500ms")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SLOW_SPAN_THRESHOLD, "slow")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SLOW_SPAN_THRESHOLD=slow:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SLOW_SPAN_THRESHOLD: &str = "OBSERVER_SLOW_SPAN_THRESHOLD";
    /// The overhead budget (`0.02` or `2%`): above it, head sampling is lowered.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_OVERHEAD_THRESHOLD, "2%")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_OVERHEAD_THRESHOLD, "lots")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_OVERHEAD_THRESHOLD=lots:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_OVERHEAD_THRESHOLD: &str = "OBSERVER_OVERHEAD_THRESHOLD";
    /// Measure each span's thread CPU time while entered: `true` or `false`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_CPU_TIME, "true")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_CPU_TIME, "maybe")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_CPU_TIME=maybe:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_CPU_TIME: &str = "OBSERVER_CPU_TIME";
    /// When set, only these field names are exported (comma-separated).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_ALLOW_FIELDS, "user_id,order_id")]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_ALLOW_FIELDS: &str = "OBSERVER_ALLOW_FIELDS";
    /// Path of a TOML config file with the builder's keys.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let path = std::env::temp_dir().join("tracing-observer-doc-config.toml");
    /// std::fs::write(&path, "service_name = \"checkout\"\n").unwrap();
    /// let observer = Observer::builder().environment([(vars::OBSERVER_CONFIG, path.to_str().unwrap())]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_CONFIG, "/nonexistent/observer.toml")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_CONFIG=/nonexistent/observer.toml:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_CONFIG: &str = "OBSERVER_CONFIG";
    /// Timeout of the shutdown run when the observer is dropped (`5s`, `500ms`, or milliseconds).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SHUTDOWN_TIMEOUT, "2s")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SHUTDOWN_TIMEOUT, "later")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SHUTDOWN_TIMEOUT=later:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SHUTDOWN_TIMEOUT: &str = "OBSERVER_SHUTDOWN_TIMEOUT";
    /// The seeds' name for the queue size; `OTEL_BSP_MAX_QUEUE_SIZE` wins when both are set.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_ASYNC_QUEUE_SIZE, "10000")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_ASYNC_QUEUE_SIZE, "big")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_ASYNC_QUEUE_SIZE=big:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_ASYNC_QUEUE_SIZE: &str = "OBSERVER_ASYNC_QUEUE_SIZE";
    /// `off` disables the disk spool (`on` is the default).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPOOL, "off")]).build()?;
    /// assert!(!observer.stats().spool.enabled);
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPOOL, "maybe")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPOOL=maybe:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPOOL: &str = "OBSERVER_SPOOL";
    /// The spool directory.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let dir = std::env::temp_dir().join("tracing-observer-doc-spool-dir");
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPOOL_DIR, dir.to_str().unwrap())]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPOOL_DIR: &str = "OBSERVER_SPOOL_DIR";
    /// Bytes the spool may hold (`1073741824`, `512MiB`, `1GiB`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPOOL_MAX_BYTES, "512MiB")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPOOL_MAX_BYTES, "huge")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPOOL_MAX_BYTES=huge:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPOOL_MAX_BYTES: &str = "OBSERVER_SPOOL_MAX_BYTES";
    /// How long spooled batches are kept (`6h`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPOOL_RETENTION, "24h")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPOOL_RETENTION, "forever")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPOOL_RETENTION=forever:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPOOL_RETENTION: &str = "OBSERVER_SPOOL_RETENTION";
    /// Where expired and evicted segments are moved instead of deleted.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let dir = std::env::temp_dir().join("tracing-observer-doc-spool-archive");
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPOOL_ARCHIVE_DIR, dir.to_str().unwrap())]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPOOL_ARCHIVE_DIR: &str = "OBSERVER_SPOOL_ARCHIVE_DIR";
    /// Whether archived segments are gzipped (`true`/`false`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPOOL_ARCHIVE_COMPRESS, "true")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPOOL_ARCHIVE_COMPRESS, "gzip")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPOOL_ARCHIVE_COMPRESS=gzip:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPOOL_ARCHIVE_COMPRESS: &str = "OBSERVER_SPOOL_ARCHIVE_COMPRESS";
    /// Consecutive export failures that open the circuit breaker.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_THRESHOLD, "3")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_THRESHOLD, "three")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_CIRCUIT_BREAKER_THRESHOLD=three:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_CIRCUIT_BREAKER_THRESHOLD: &str = "OBSERVER_CIRCUIT_BREAKER_THRESHOLD";
    /// How long the open breaker waits before a probe (`30s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_TIMEOUT, "10s")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_TIMEOUT, "soon")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_CIRCUIT_BREAKER_TIMEOUT=soon:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_CIRCUIT_BREAKER_TIMEOUT: &str = "OBSERVER_CIRCUIT_BREAKER_TIMEOUT";
    /// The breaker's failure-rate rule, `RATE/MIN_CALLS`: open when at least `RATE` of the
    /// calls in the window failed, once it holds `MIN_CALLS` calls (`0.5/20`). Unset: off.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE, "0.5/20")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE, "50")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE=50: expected RATE/MIN_CALLS"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE: &str = "OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE";
    /// The sliding window the failure rate is computed over (`60s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_WINDOW, "30s")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_CIRCUIT_BREAKER_WINDOW, "0s")]).build().unwrap_err();
    /// assert_eq!(err.to_string(), "OBSERVER_CIRCUIT_BREAKER_WINDOW=0s: must be greater than zero");
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_CIRCUIT_BREAKER_WINDOW: &str = "OBSERVER_CIRCUIT_BREAKER_WINDOW";
    /// First retry delay (`1s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_RETRY_INITIAL_BACKOFF, "200ms")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_RETRY_INITIAL_BACKOFF, "soon")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_RETRY_INITIAL_BACKOFF=soon:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_RETRY_INITIAL_BACKOFF: &str = "OBSERVER_RETRY_INITIAL_BACKOFF";
    /// Longest retry delay (`30s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_RETRY_MAX_BACKOFF, "10s")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_RETRY_MAX_BACKOFF, "never")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_RETRY_MAX_BACKOFF=never:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_RETRY_MAX_BACKOFF: &str = "OBSERVER_RETRY_MAX_BACKOFF";
    /// Time after which a failing batch is spooled instead of retried (`60s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_RETRY_MAX_ELAPSED_TIME, "120s")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_RETRY_MAX_ELAPSED_TIME, "never")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_RETRY_MAX_ELAPSED_TIME=never:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_RETRY_MAX_ELAPSED_TIME: &str = "OBSERVER_RETRY_MAX_ELAPSED_TIME";
    /// Span metrics (RED) on or off: `true` or `false`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS, "false")]).build()?;
    /// assert!(!observer.metrics_text().contains("traces_span_metrics_calls_total"));
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS, "maybe")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPAN_METRICS=maybe:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPAN_METRICS: &str = "OBSERVER_SPAN_METRICS";
    /// Span-metrics naming: `collector` or `tempo`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS_PROFILE, "tempo")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS_PROFILE, "datadog")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPAN_METRICS_PROFILE=datadog:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPAN_METRICS_PROFILE: &str = "OBSERVER_SPAN_METRICS_PROFILE";
    /// Extra span-metrics dimensions, comma-separated (e.g. `code.module.name`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS_DIMENSIONS, "http.route,code.module.name")]).build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPAN_METRICS_DIMENSIONS: &str = "OBSERVER_SPAN_METRICS_DIMENSIONS";
    /// Span-metrics label sets at most.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS_MAX_SERIES, "500")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_SPAN_METRICS_MAX_SERIES, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_SPAN_METRICS_MAX_SERIES=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_SPAN_METRICS_MAX_SERIES: &str = "OBSERVER_SPAN_METRICS_MAX_SERIES";
    /// Address of the health and metrics endpoints (`127.0.0.1:9464`); unset = off.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// // e.g. OBSERVER_HTTP_ADDR=127.0.0.1:9464; a value that is not an address is refused:
    /// let err = Observer::builder().environment([(vars::OBSERVER_HTTP_ADDR, "not-an-address")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_HTTP_ADDR=not-an-address:"));
    /// ```
    pub const OBSERVER_HTTP_ADDR: &str = "OBSERVER_HTTP_ADDR";
    /// How often process resources are sampled (`5s`).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_RESOURCE_INTERVAL, "30s")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_RESOURCE_INTERVAL, "often")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_RESOURCE_INTERVAL=often:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_RESOURCE_INTERVAL: &str = "OBSERVER_RESOURCE_INTERVAL";
    /// Install the panic hook: `true` or `false`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_PANIC_HOOK, "true")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_PANIC_HOOK, "maybe")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_PANIC_HOOK=maybe:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_PANIC_HOOK: &str = "OBSERVER_PANIC_HOOK";
    /// Worker failures in a row before the observer disables itself.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OBSERVER_MAX_WORKER_RESTARTS, "5")]).build()?;
    /// let err = Observer::builder().environment([(vars::OBSERVER_MAX_WORKER_RESTARTS, "many")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OBSERVER_MAX_WORKER_RESTARTS=many:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OBSERVER_MAX_WORKER_RESTARTS: &str = "OBSERVER_MAX_WORKER_RESTARTS";
    /// `none` (metrics stay on `/metrics`) or `otlp` (also pushed to the collector).
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_METRICS_EXPORTER, "none")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_METRICS_EXPORTER, "statsd")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_METRICS_EXPORTER=statsd:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
    /// Time between two OTLP metrics exports, in milliseconds.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_METRIC_EXPORT_INTERVAL, "15000")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_METRIC_EXPORT_INTERVAL, "soon")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_METRIC_EXPORT_INTERVAL=soon:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
    /// Longest time one OTLP metrics export may take, in milliseconds.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_METRIC_EXPORT_TIMEOUT, "5000")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_METRIC_EXPORT_TIMEOUT, "0")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_METRIC_EXPORT_TIMEOUT=0:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_METRIC_EXPORT_TIMEOUT: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
    /// The OTLP metrics endpoint, used as is.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "http://127.0.0.1:4318/v1/metrics")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "localhost:4318")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=localhost:4318:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    /// The OTLP metrics transport: `grpc`, `http/protobuf` or `http/json`.
    ///
    /// ```
    /// use tracing_observer::{config::vars, Observer};
    /// let observer = Observer::builder().environment([(vars::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "http/protobuf")]).build()?;
    /// let err = Observer::builder().environment([(vars::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "grpcx")]).build().unwrap_err();
    /// assert!(err.to_string().starts_with("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpcx:"));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
}

/// Looks variables up in the process environment or in a given map.
pub(crate) enum Environment {
    Process,
    Map(HashMap<String, String>),
}

impl Environment {
    pub(crate) fn get(&self, name: &str) -> Result<Option<String>, BuildError> {
        let value = match self {
            Self::Process => match std::env::var(name) {
                Ok(v) => Some(v),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(raw)) => {
                    return Err(BuildError::invalid(
                        name,
                        raw.to_string_lossy(),
                        "not valid UTF-8",
                    ))
                }
            },
            Self::Map(map) => map.get(name).cloned(),
        };
        // The spec treats an empty variable as unset.
        Ok(value.filter(|v| !v.trim().is_empty()))
    }

    fn parsed<T>(
        &self,
        name: &str,
        parser: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, BuildError> {
        self.get(name)?
            .map(|value| parser(&value).map_err(|reason| BuildError::invalid(name, value, reason)))
            .transpose()
    }

    /// The traces-specific variable when set, else the generic OTLP one; returns the name used.
    fn otlp<T>(
        &self,
        suffix: &str,
        parser: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<(T, String)>, BuildError> {
        for name in [
            format!("OTEL_EXPORTER_OTLP_TRACES_{suffix}"),
            format!("OTEL_EXPORTER_OTLP_{suffix}"),
        ] {
            if let Some(value) = self.parsed(&name, &parser)? {
                return Ok(Some((value, name)));
            }
        }
        Ok(None)
    }

    /// The config file named by `OBSERVER_CONFIG`.
    pub(crate) fn config_file(&self) -> Result<Option<PathBuf>, BuildError> {
        Ok(self.get(vars::OBSERVER_CONFIG)?.map(PathBuf::from))
    }

    /// Reads every variable this crate knows into a settings layer.
    pub(crate) fn settings(&self) -> Result<Settings, BuildError> {
        use vars::*;
        let endpoint = match self.otlp("ENDPOINT", parse::endpoint)? {
            Some((url, origin)) => {
                let path = if origin.contains("_TRACES_") {
                    EndpointPath::Exact
                } else {
                    EndpointPath::Base
                };
                Some(EndpointSetting { url, path })
            }
            None => None,
        };
        let metrics_endpoint =
            match self.parsed(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, parse::endpoint)? {
                Some(url) => Some(EndpointSetting {
                    url,
                    path: EndpointPath::Exact,
                }),
                // The traces endpoint is traces-specific: metrics go to the general one, if set.
                None if endpoint
                    .as_ref()
                    .is_some_and(|e| e.path == EndpointPath::Exact) =>
                {
                    self.parsed("OTEL_EXPORTER_OTLP_ENDPOINT", parse::endpoint)?
                        .map(|url| EndpointSetting {
                            url,
                            path: EndpointPath::Base,
                        })
                }
                None => None,
            };
        let queue_size = match self.parsed(OTEL_BSP_MAX_QUEUE_SIZE, parse::count)? {
            Some(n) => Some(n),
            None => self.parsed(OBSERVER_ASYNC_QUEUE_SIZE, parse::count)?,
        };
        Ok(Settings {
            service_name: self.get(OTEL_SERVICE_NAME)?,
            default_service_name: None,
            service_version: None,
            resource_attributes: self
                .parsed(OTEL_RESOURCE_ATTRIBUTES, parse::key_values)?
                .unwrap_or_default(),
            traces_exporter: self.parsed(OTEL_TRACES_EXPORTER, parse::traces_exporter)?,
            endpoint,
            protocol: self.otlp("PROTOCOL", parse::protocol)?.map(|(v, _)| v),
            headers: self
                .otlp("HEADERS", parse::key_values)?
                .map(|(v, _)| v)
                .unwrap_or_default(),
            compression: self
                .otlp("COMPRESSION", parse::compression)?
                .map(|(v, _)| v),
            request_timeout: self.otlp("TIMEOUT", parse::millis)?.map(|(v, _)| v),
            insecure: self.otlp("INSECURE", parse::boolean)?,
            certificate: self.otlp("CERTIFICATE", |v| Ok(PathBuf::from(v.trim())))?,
            max_queue_size: queue_size,
            max_export_batch_size: self.parsed(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, parse::count)?,
            max_queue_bytes: self.parsed(OBSERVER_MAX_QUEUE_BYTES, parse::bytes)?,
            max_concurrent_exports: match self
                .parsed(OTEL_BSP_MAX_CONCURRENT_EXPORTS, parse::count)?
            {
                Some(n) => Some(n),
                None => self.parsed(OBSERVER_ASYNC_WORKER_THREADS, parse::count)?,
            },
            scheduled_delay: self.parsed(OTEL_BSP_SCHEDULE_DELAY, parse::millis)?,
            export_timeout: self.parsed(OTEL_BSP_EXPORT_TIMEOUT, parse::millis)?,
            max_attributes_per_span: self.parsed(OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, parse::count)?,
            max_events_per_span: self.parsed(OTEL_SPAN_EVENT_COUNT_LIMIT, parse::count)?,
            max_links_per_span: self.parsed(OTEL_SPAN_LINK_COUNT_LIMIT, parse::count)?,
            max_attribute_value_bytes: match self
                .parsed(OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, parse::count)?
            {
                Some(n) => Some(n),
                None => self.parsed(OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, parse::count)?,
            },
            max_attributes_per_event: self
                .parsed(OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, parse::count)?,
            redact_fields: self.parsed(OBSERVER_REDACT_FIELDS, parse::name_list)?,
            allow_fields: self.parsed(OBSERVER_ALLOW_FIELDS, parse::name_list)?,
            sampler: {
                let arg = self.parsed(OTEL_TRACES_SAMPLER_ARG, parse::ratio)?;
                self.parsed(OTEL_TRACES_SAMPLER, |v| parse::sampler(v, arg))?
            },
            sampling_rules: self
                .parsed(OBSERVER_SAMPLING_RULES, parse::sampling_rules)?
                .map(|rules| (rules, OBSERVER_SAMPLING_RULES.to_owned())),
            keep_errors: self.parsed(OBSERVER_KEEP_ERRORS, parse::boolean)?,
            slow_span_threshold: self.parsed(OBSERVER_SLOW_SPAN_THRESHOLD, parse::duration)?,
            overhead_budget: self.parsed(OBSERVER_OVERHEAD_THRESHOLD, parse::budget)?,
            cpu_time: self.parsed(OBSERVER_CPU_TIME, parse::boolean)?,
            shutdown_timeout: self.parsed(OBSERVER_SHUTDOWN_TIMEOUT, parse::duration)?,
            disabled: self.parsed(OTEL_SDK_DISABLED, parse::boolean)?,
            spool: self.parsed(OBSERVER_SPOOL, parse::on_off)?,
            spool_dir: self.get(OBSERVER_SPOOL_DIR)?.map(PathBuf::from),
            spool_max_bytes: self
                .parsed(OBSERVER_SPOOL_MAX_BYTES, parse::bytes)?
                .map(|n| n as u64),
            spool_retention: self.parsed(OBSERVER_SPOOL_RETENTION, parse::duration)?,
            spool_archive_dir: self.get(OBSERVER_SPOOL_ARCHIVE_DIR)?.map(PathBuf::from),
            spool_archive_compress: self.parsed(OBSERVER_SPOOL_ARCHIVE_COMPRESS, parse::boolean)?,
            spool_cleanup_interval: None,
            spool_sync_interval: None,
            circuit_breaker_threshold: self
                .parsed(OBSERVER_CIRCUIT_BREAKER_THRESHOLD, parse::count)?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            circuit_breaker_timeout: self
                .parsed(OBSERVER_CIRCUIT_BREAKER_TIMEOUT, parse::duration)?,
            circuit_breaker_failure_rate: self
                .parsed(OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE, parse::failure_rate)?,
            circuit_breaker_window: self
                .parsed(OBSERVER_CIRCUIT_BREAKER_WINDOW, parse::positive_duration)?,
            retry_initial_backoff: self.parsed(OBSERVER_RETRY_INITIAL_BACKOFF, parse::duration)?,
            retry_max_backoff: self.parsed(OBSERVER_RETRY_MAX_BACKOFF, parse::duration)?,
            retry_max_elapsed_time: self
                .parsed(OBSERVER_RETRY_MAX_ELAPSED_TIME, parse::duration)?,
            data_home: match self.get("XDG_DATA_HOME")? {
                Some(dir) => Some(PathBuf::from(dir)),
                None => self
                    .get("HOME")?
                    .map(|home| PathBuf::from(home).join(".local").join("share")),
            },
            span_metrics: self.parsed(OBSERVER_SPAN_METRICS, parse::boolean)?,
            span_metrics_profile: self
                .parsed(OBSERVER_SPAN_METRICS_PROFILE, parse::span_metrics_profile)?,
            span_metrics_dimensions: self
                .parsed(OBSERVER_SPAN_METRICS_DIMENSIONS, parse::name_list)?,
            span_metrics_max_series: self.parsed(OBSERVER_SPAN_METRICS_MAX_SERIES, parse::count)?,
            http_addr: self
                .parsed(OBSERVER_HTTP_ADDR, parse::socket_addr)?
                .map(|addr| (addr, OBSERVER_HTTP_ADDR.to_owned())),
            resource_interval: self.parsed(OBSERVER_RESOURCE_INTERVAL, parse::duration)?,
            panic_hook: self.parsed(OBSERVER_PANIC_HOOK, parse::boolean)?,
            max_worker_restarts: self.parsed(OBSERVER_MAX_WORKER_RESTARTS, parse::count)?,
            metrics_exporter: self.parsed(OTEL_METRICS_EXPORTER, parse::metrics_exporter)?,
            metric_export_interval: self
                .parsed(OTEL_METRIC_EXPORT_INTERVAL, parse::positive_millis)?,
            metric_export_timeout: self
                .parsed(OTEL_METRIC_EXPORT_TIMEOUT, parse::positive_millis)?,
            metrics_endpoint,
            metrics_protocol: self.parsed(OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, parse::protocol)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn traces_specific_variables_win() {
        let s = env(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
        ])
        .settings()
        .unwrap();
        assert_eq!(s.request_timeout, Some(Duration::from_millis(2000)));
        let endpoint = s.endpoint.unwrap();
        assert_eq!(endpoint.path, EndpointPath::Base);
    }

    #[test]
    fn errors_name_the_variable_and_value() {
        let cases = [
            ("OTEL_BSP_MAX_QUEUE_SIZE", "abc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcx"),
            ("OTEL_SDK_DISABLED", "maybe"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OBSERVER_SHUTDOWN_TIMEOUT", "soon"),
            ("OBSERVER_SPOOL", "maybe"),
            ("OBSERVER_SPOOL_MAX_BYTES", "lots"),
            ("OBSERVER_SPOOL_RETENTION", "forever"),
            ("OBSERVER_SPOOL_ARCHIVE_COMPRESS", "gzip"),
            ("OBSERVER_CIRCUIT_BREAKER_THRESHOLD", "0"),
            ("OBSERVER_CIRCUIT_BREAKER_TIMEOUT", "later"),
            ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.5"),
            ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "2/10"),
            ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.5/0"),
            ("OBSERVER_CIRCUIT_BREAKER_WINDOW", "0s"),
            ("OBSERVER_CIRCUIT_BREAKER_WINDOW", "a while"),
            ("OBSERVER_SPAN_METRICS_PROFILE", "jaeger"),
            ("OBSERVER_HTTP_ADDR", "localhost"),
            ("OBSERVER_PANIC_HOOK", "yes"),
            ("OBSERVER_MAX_WORKER_RESTARTS", "0"),
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "0"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "thrift"),
        ];
        for (name, value) in cases {
            let err = env(&[(name, value)]).settings().unwrap_err().to_string();
            assert!(err.starts_with(&format!("{name}={value}: ")), "{err}");
        }
    }

    #[test]
    fn delivery_variables_are_read() {
        let s = env(&[
            ("OBSERVER_SPOOL", "off"),
            ("OBSERVER_SPOOL_DIR", "/var/spool/app"),
            ("OBSERVER_SPOOL_MAX_BYTES", "512MiB"),
            ("OBSERVER_SPOOL_RETENTION", "2h"),
            ("OBSERVER_SPOOL_ARCHIVE_DIR", "/archive"),
            ("OBSERVER_SPOOL_ARCHIVE_COMPRESS", "true"),
            ("OBSERVER_CIRCUIT_BREAKER_THRESHOLD", "3"),
            ("OBSERVER_CIRCUIT_BREAKER_TIMEOUT", "10s"),
            ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.25/40"),
            ("OBSERVER_CIRCUIT_BREAKER_WINDOW", "2m"),
            ("XDG_DATA_HOME", "/xdg"),
        ])
        .settings()
        .unwrap();
        assert_eq!(s.spool, Some(false));
        assert_eq!(s.spool_dir, Some(PathBuf::from("/var/spool/app")));
        assert_eq!(s.spool_max_bytes, Some(512 << 20));
        assert_eq!(s.spool_retention, Some(Duration::from_secs(7200)));
        assert_eq!(s.spool_archive_dir, Some(PathBuf::from("/archive")));
        assert_eq!(s.spool_archive_compress, Some(true));
        assert_eq!(s.circuit_breaker_threshold, Some(3));
        assert_eq!(s.circuit_breaker_timeout, Some(Duration::from_secs(10)));
        assert_eq!(s.circuit_breaker_failure_rate, Some((0.25, 40)));
        assert_eq!(s.circuit_breaker_window, Some(Duration::from_secs(120)));
        assert_eq!(s.data_home, Some(PathBuf::from("/xdg")));
    }

    #[test]
    fn metrics_variables_are_read() {
        let s = env(&[
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ])
        .settings()
        .unwrap();
        assert_eq!(
            s.metrics_exporter,
            Some(super::super::MetricsExporter::Otlp)
        );
        assert_eq!(s.metric_export_interval, Some(Duration::from_secs(5)));
        assert_eq!(s.metric_export_timeout, Some(Duration::from_secs(1)));
        assert_eq!(
            s.metrics_protocol,
            Some(super::super::Protocol::HttpProtobuf)
        );
        assert!(s.metrics_endpoint.is_none(), "follows the traces endpoint");
        // A traces-specific endpoint leaves metrics to the general one.
        let s = env(&[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/traces"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g:4318"),
        ])
        .settings()
        .unwrap();
        let metrics = s.metrics_endpoint.unwrap();
        assert_eq!(
            (metrics.url.as_str(), metrics.path),
            ("http://g:4318/", EndpointPath::Base)
        );
        let s = env(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/m")])
            .settings()
            .unwrap();
        assert_eq!(s.metrics_endpoint.unwrap().path, EndpointPath::Exact);
    }

    #[test]
    fn empty_variables_are_unset() {
        let s = env(&[("OTEL_SERVICE_NAME", " ")]).settings().unwrap();
        assert_eq!(s.service_name, None);
    }

    #[test]
    fn seed_queue_size_name_is_an_alias() {
        let s = env(&[("OBSERVER_ASYNC_QUEUE_SIZE", "77")])
            .settings()
            .unwrap();
        assert_eq!(s.max_queue_size, Some(77));
        let s = env(&[
            ("OBSERVER_ASYNC_QUEUE_SIZE", "77"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "88"),
        ])
        .settings()
        .unwrap();
        assert_eq!(s.max_queue_size, Some(88));
    }
}
