//! [`ObserverBuilder`] setters: what a span keeps (limits, fields, CPU time) and how spans are queued and batched.

use super::ObserverBuilder;
use crate::config::key;
use std::time::Duration;

impl ObserverBuilder {
    /// Spans the queue holds at most; when it is full new spans are dropped and counted.
    ///
    /// Environment: `OTEL_BSP_MAX_QUEUE_SIZE`.
    /// Default: [`DEFAULT_MAX_QUEUE_SIZE`](crate::config::DEFAULT_MAX_QUEUE_SIZE).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_queue_size(10_000);
    /// ```
    pub fn max_queue_size(self, spans: usize) -> Self {
        self.set::<key::max_queue_size>(spans)
    }

    /// Bytes the queue holds at most (an estimate of the records' memory), so huge
    /// spans cannot blow memory. One eighth is reserved for failed spans.
    ///
    /// Environment: `OBSERVER_MAX_QUEUE_BYTES` (`64MiB`). Default: 64 MiB.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_queue_bytes(16 << 20);
    /// ```
    pub fn max_queue_bytes(self, bytes: usize) -> Self {
        self.set::<key::max_queue_bytes>(bytes)
    }

    /// Spans per export request at most (clamped to the queue size).
    ///
    /// Environment: `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. Default: 512.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_export_batch_size(256);
    /// ```
    pub fn max_export_batch_size(self, spans: usize) -> Self {
        self.set::<key::max_export_batch_size>(spans)
    }

    /// Export requests in flight at once, so that the collector's latency does not
    /// cap throughput.
    ///
    /// Environment: `OTEL_BSP_MAX_CONCURRENT_EXPORTS`.
    /// Default: 4.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_concurrent_exports(2);
    /// ```
    pub fn max_concurrent_exports(self, n: usize) -> Self {
        self.set::<key::max_concurrent_exports>(n)
    }

    /// Longest wait before a partial batch is exported.
    ///
    /// Environment: `OTEL_BSP_SCHEDULE_DELAY` (milliseconds). Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().scheduled_delay(Duration::from_millis(500));
    /// ```
    pub fn scheduled_delay(self, delay: Duration) -> Self {
        self.set::<key::scheduled_delay>(delay)
    }

    /// Longest time one batch export may take.
    ///
    /// Environment: `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds). Default: 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().export_timeout(Duration::from_secs(10));
    /// ```
    pub fn export_timeout(self, timeout: Duration) -> Self {
        self.set::<key::export_timeout>(timeout)
    }

    /// Attributes kept per span; further ones are counted in `attributes_dropped`.
    ///
    /// Environment: `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().max_attributes_per_span(1);
    /// ```
    pub fn max_attributes_per_span(self, n: usize) -> Self {
        self.set::<key::max_attributes_per_span>(n)
    }

    /// Events kept per span (errors get the same again as reserve); further ones are counted.
    ///
    /// Environment: `OTEL_SPAN_EVENT_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().max_events_per_span(1);
    /// ```
    pub fn max_events_per_span(self, n: usize) -> Self {
        self.set::<key::max_events_per_span>(n)
    }

    /// Attributes kept per event; further ones are left out.
    ///
    /// Environment: `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_attributes_per_event(16);
    /// ```
    pub fn max_attributes_per_event(self, n: usize) -> Self {
        self.set::<key::max_attributes_per_event>(n)
    }

    /// Links kept per span; further ones are counted.
    ///
    /// Environment: `OTEL_SPAN_LINK_COUNT_LIMIT`. Default: 128.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_links_per_span(16);
    /// ```
    pub fn max_links_per_span(self, n: usize) -> Self {
        self.set::<key::max_links_per_span>(n)
    }

    /// Bytes kept of one formatted value; longer values are cut and marked with `…`.
    ///
    /// Environment: `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`. Default: 4096.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().max_attribute_value_bytes(8);
    /// ```
    pub fn max_attribute_value_bytes(self, bytes: usize) -> Self {
        self.set::<key::max_attribute_value_bytes>(bytes)
    }

    /// Field-name patterns (case-insensitive substrings) whose values are replaced by
    /// `[REDACTED]` before they leave the caller's thread; replaces the default list.
    ///
    /// Environment: `OBSERVER_REDACT_FIELDS=a,b` (`none` for no redaction).
    /// Default: `password`, `secret`, `token`, `authorization`, `api_key`, `cookie`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().redact_fields(["card"]);
    /// ```
    pub fn redact_fields<I, T>(self, patterns: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::redact_fields>(patterns.into_iter().map(Into::into).collect())
    }

    /// Exports only these fields (by exact name, case-insensitive); all others are left
    /// out. `otel.*`, `message` and `error` keep their meaning regardless.
    ///
    /// Environment: `OBSERVER_ALLOW_FIELDS=a,b`. Default: every field.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer};
    /// let builder = Observer::builder().allow_fields(["order_id"]);
    /// ```
    pub fn allow_fields<I, T>(self, names: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::allow_fields>(names.into_iter().map(Into::into).collect())
    }

    /// Measures the thread CPU time each span consumes while entered and exports it
    /// as `thread.cpu_time_ns`. Off by default: the thread CPU clock is a system call
    /// (measured at ~660 ns on this project's CI machine, twice per enter/exit pair),
    /// several times the cost of the rest of a span. With span metrics on, recorded
    /// spans' CPU time also feeds the `tracing_observer_span_cpu_time_seconds`
    /// histogram, labelled like the span metrics.
    ///
    /// Environment: `OBSERVER_CPU_TIME`. Default: false.
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder().cpu_time(true);
    /// ```
    pub fn cpu_time(self, on: bool) -> Self {
        self.set::<key::cpu_time>(on)
    }
}
