//! [`ObserverBuilder`] setters: the observer as a component of the program: span metrics, endpoints, resources, lifecycle.

use super::ObserverBuilder;
use crate::config::key;
use crate::resources::ResourceMonitor;
use crate::tally::SpanMetricsProfile;
use std::net::SocketAddr;
use std::time::Duration;

impl ObserverBuilder {
    /// The timeout of the shutdown that runs when the [`Observer`](crate::Observer) is dropped.
    ///
    /// Only the drop uses it: [`Observer::shutdown(timeout)`](crate::Observer::shutdown),
    /// called explicitly, takes its own timeout.
    ///
    /// Environment: `OBSERVER_SHUTDOWN_TIMEOUT` (`5s`, `500ms`). Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().shutdown_timeout(Duration::from_secs(1));
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) -> Self {
        self.set::<key::shutdown_timeout>(timeout)
    }

    /// Span metrics (RED: calls, errors, duration) from every span, whatever the sampling.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS`. Default: true.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().span_metrics(false);
    /// ```
    pub fn span_metrics(self, enabled: bool) -> Self {
        self.set::<key::span_metrics>(enabled)
    }

    /// The span metrics' names and labels: the OpenTelemetry Collector's spanmetrics
    /// connector, or Tempo's metrics-generator.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS_PROFILE=collector|tempo`. Default: collector.
    ///
    /// ```
    /// use tracing_observer::{Observer, config::SpanMetricsProfile};
    /// let builder = Observer::builder().span_metrics_profile(SpanMetricsProfile::Tempo);
    /// ```
    pub fn span_metrics_profile(self, profile: SpanMetricsProfile) -> Self {
        self.set::<key::span_metrics_profile>(profile)
    }

    /// Extra span-metrics labels: span attributes by key, or `code.module.name`,
    /// `code.function.name`, `code.file.path`, `level` from the callsite (dots become
    /// underscores in label names). Replaces the environment's list.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS_DIMENSIONS=a,b`. Default: none.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().span_metrics_dimensions(["http.route", "code.module.name"]);
    /// ```
    pub fn span_metrics_dimensions<I, T>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::span_metrics_dimensions>(keys.into_iter().map(Into::into).collect())
    }

    /// Span-metrics label sets at most; spans beyond are counted under
    /// `span_name="other"` and in `tracing_observer_span_metrics_overflow_total`.
    ///
    /// Environment: `OBSERVER_SPAN_METRICS_MAX_SERIES`.
    /// Default: [`DEFAULT_SPAN_METRICS_MAX_SERIES`](crate::config::DEFAULT_SPAN_METRICS_MAX_SERIES).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().span_metrics_max_series(500);
    /// ```
    pub fn span_metrics_max_series(self, n: usize) -> Self {
        self.set::<key::span_metrics_max_series>(n)
    }

    /// Event metrics on or off: event fields named `monotonic_counter.NAME`,
    /// `counter.NAME`, `histogram.NAME` or `gauge.NAME` become metrics in the
    /// observer's registry (`/metrics`, the OTLP push), the event's other fields their
    /// labels, as with tracing-opentelemetry's `MetricsLayer`.
    ///
    /// Environment: `OBSERVER_EVENT_METRICS=true|false`. Default: on.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().event_metrics(false);
    /// // With it on: `requests_total{route="/cart"}` grows by one.
    /// tracing::info!(monotonic_counter.requests = 1_u64, route = "/cart");
    /// ```
    pub fn event_metrics(self, on: bool) -> Self {
        self.set::<key::event_metrics>(on)
    }

    /// Event-metrics label sets at most, over all event metrics; measurements beyond
    /// go to their metric's `otel_metric_overflow="true"` series and count in
    /// `tracing_observer_event_metrics_overflow_total`.
    ///
    /// Environment: `OBSERVER_EVENT_METRICS_MAX_SERIES`.
    /// Default: [`DEFAULT_EVENT_METRICS_MAX_SERIES`](crate::config::DEFAULT_EVENT_METRICS_MAX_SERIES).
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().event_metrics_max_series(200);
    /// ```
    pub fn event_metrics_max_series(self, n: usize) -> Self {
        self.set::<key::event_metrics_max_series>(n)
    }

    /// Serves `/health/*`, `/health`, `/metrics` and `/circuit-breakers` on this
    /// address, from the observer's thread. `build()` fails if it cannot listen there.
    ///
    /// Environment: `OBSERVER_HTTP_ADDR` (`127.0.0.1:9464`). Default: off.
    ///
    /// ```no_run
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().http_addr("127.0.0.1:0".parse()?).build()?;
    /// println!("endpoints on {}", observer.http_addr().expect("on"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_addr(self, addr: SocketAddr) -> Self {
        self.set::<key::http_addr>(addr)
    }

    /// How often the process's CPU, memory, threads and file descriptors are sampled.
    ///
    /// Environment: `OBSERVER_RESOURCE_INTERVAL` (`5s`). Default: 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().resource_interval(Duration::from_secs(30));
    /// ```
    pub fn resource_interval(self, interval: Duration) -> Self {
        self.set::<key::resource_interval>(interval)
    }

    /// Where process metrics come from; [`NullMonitor`](crate::resources::NullMonitor)
    /// turns them off (no `process_*` series at all). Default: [`SysinfoMonitor`](crate::resources::SysinfoMonitor).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{resources::NullMonitor, Observer};
    /// let builder = Observer::builder().resource_monitor(NullMonitor);
    /// ```
    pub fn resource_monitor(mut self, monitor: impl ResourceMonitor) -> Self {
        self.resource_monitor = Some(Box::new(monitor));
        self
    }

    /// Installs a panic hook (in front of the current one) that records a panic as an
    /// `exception` event on the current span, marks it ERROR and flushes (1 s at most).
    ///
    /// Environment: `OBSERVER_PANIC_HOOK`. Default: false.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().panic_hook(true);
    /// ```
    pub fn panic_hook(self, install: bool) -> Self {
        self.set::<key::panic_hook>(install)
    }

    /// Worker failures (panics) in a row after which the observer disables itself;
    /// the worker restarts with backoff until then.
    ///
    /// Environment: `OBSERVER_MAX_WORKER_RESTARTS`. Default: 3.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().max_worker_restarts(5);
    /// ```
    pub fn max_worker_restarts(self, n: usize) -> Self {
        self.set::<key::max_worker_restarts>(n)
    }

    /// Turns the observer off: the layer records nothing and costs almost nothing.
    ///
    /// This is the setting; [`Observer::is_disabled`](crate::Observer::is_disabled)
    /// asks a built observer whether it ended up disabled (by this or `OTEL_SDK_DISABLED`).
    ///
    /// Environment: `OTEL_SDK_DISABLED=true`. Default: false.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let observer = Observer::builder().disabled(true).build()?;
    /// assert!(observer.is_disabled());
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn disabled(self, disabled: bool) -> Self {
        self.set::<key::disabled>(disabled)
    }
}
