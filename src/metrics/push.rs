//! The OTLP metrics push: the observer's registry sent to the collector, on the worker.
//!
//! Every `metric_export_interval` the worker renders its registry, converts it
//! ([`otlp`]) and spawns one export request on its own runtime, so span export never
//! waits for it. An export is never retried: the values are cumulative, so the next
//! export carries everything a failed one had. While one is still under way the next
//! tick is skipped, so a slow collector cannot pile requests up. Each outcome is
//! counted in `tracing_observer_metric_exports_total{result}` (`success`, `failure`,
//! `skipped`) and failures are reported to the [`MetricsSource`] (the observer warns
//! through its rate-limited diagnostics). Shutdown makes one last export, bounded by
//! its deadline.

use super::otlp::{self, MetricsContext};
use super::MetricsRegistry;
use crate::error::{ExportError, ExportErrorKind};
use crate::export::metrics::{MetricsClient, MetricsTarget};
use metrics::{Counter, Label, Unit};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

const EXPORTS: &str = "tracing_observer_metric_exports_total";

/// What the push reads and reports to: the observer's registry, kept up to date.
pub(crate) trait MetricsSource: Send + Sync + 'static {
    /// The registry the metrics live in.
    fn registry(&self) -> &MetricsRegistry;
    /// The registry as Prometheus text, after every counter was brought up to date.
    fn render(&self) -> String;
    /// One export failed.
    fn export_failed(&self, error: &ExportError);
}

/// The worker's OTLP metrics duty.
pub(crate) struct MetricsPush {
    client: MetricsClient,
    context: MetricsContext,
    timeout: Duration,
    /// `success`, `failure`, `skipped`.
    results: [Counter; 3],
    in_flight: Option<JoinHandle<()>>,
}

impl MetricsPush {
    /// Connects (lazily) on the worker's runtime and registers the outcome counter.
    pub(crate) fn start(
        target: MetricsTarget,
        context: MetricsContext,
        registry: &MetricsRegistry,
    ) -> Self {
        let timeout = target.timeout();
        let client = target.connect();
        registry.describe_counter(
            EXPORTS,
            Unit::Count,
            "OTLP metrics exports, by result: success, failure, skipped (the previous one was still under way).",
        );
        let result = |r: &'static str| registry.counter(EXPORTS, vec![Label::new("result", r)]);
        Self {
            client,
            context,
            timeout,
            results: [result("success"), result("failure"), result("skipped")],
            in_flight: None,
        }
    }

    /// Starts one export in the background, unless the previous one is still under way.
    pub(crate) fn tick<S: MetricsSource>(&mut self, source: &Arc<S>) {
        if self.in_flight.as_ref().is_some_and(|h| !h.is_finished()) {
            self.results[2].increment(1);
            return;
        }
        let export = self.client.export(&self.request(&**source));
        let timeout = self.timeout;
        let [success, failure, _] = self.results.clone();
        let source = Arc::clone(source);
        self.in_flight = Some(tokio::spawn(async move {
            let outcome = tokio::time::timeout(timeout, export)
                .await
                .unwrap_or_else(|_| Err(timed_out(timeout)));
            count(outcome, &success, &failure, &*source);
        }));
    }

    /// The last export, at shutdown: supersedes one under way, ends by `deadline` (and
    /// within the export timeout).
    pub(crate) async fn finish<S: MetricsSource>(&mut self, source: &Arc<S>, deadline: Instant) {
        if let Some(previous) = self.in_flight.take() {
            previous.abort();
        }
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(self.timeout);
        if left.is_zero() {
            self.results[2].increment(1);
            return;
        }
        let export = self.client.export(&self.request(&**source));
        let outcome = tokio::time::timeout(left, export)
            .await
            .unwrap_or_else(|_| Err(timed_out(left)));
        count(outcome, &self.results[0], &self.results[1], &**source);
    }

    fn request(&self, source: &impl MetricsSource) -> ExportMetricsServiceRequest {
        let text = source.render();
        otlp::request(
            source.registry(),
            &text,
            &self.context,
            crate::clock::unix_nanos(SystemTime::now()),
        )
    }
}

fn count(
    outcome: Result<(), ExportError>,
    success: &Counter,
    failure: &Counter,
    source: &impl MetricsSource,
) {
    match outcome {
        Ok(()) => success.increment(1),
        Err(error) => {
            failure.increment(1);
            source.export_failed(&error);
        }
    }
}

fn timed_out(after: Duration) -> ExportError {
    ExportError::new(
        ExportErrorKind::Timeout,
        format!("the metrics export did not finish within {after:?}"),
    )
}
