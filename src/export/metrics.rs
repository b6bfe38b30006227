//! OTLP metrics export: the observer's registry pushed to the collector, on the worker.
//!
//! Every `metric_export_interval` the worker renders its registry, converts it
//! ([`crate::metrics::otlp`]) and spawns one export request on its own runtime, so
//! span export never waits for it. An export is never retried: the values are
//! cumulative, so the next export carries everything a failed one had. While one is
//! still under way the next tick is skipped, so a slow collector cannot pile requests
//! up. Each outcome is counted in `tracing_observer_metric_exports_total{result}`
//! (`success`, `failure`, `skipped`) and failures are warned about through the
//! rate-limited diagnostics. Shutdown makes one last export, bounded by its deadline.

use super::grpc::{GrpcMetricsExporter, GrpcTarget};
use super::http::HttpExporter;
use crate::config::{MetricsExportConfig, Protocol};
use crate::error::{BuildError, ExportError, ExportErrorKind};
use crate::metrics::otlp::{self, MetricsContext};
use crate::pipeline::Shared;
use futures_util::future::BoxFuture;
use metrics::{Counter, Label, Unit};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

const EXPORTS: &str = "tracing_observer_metric_exports_total";

/// A validated metrics destination; connecting needs a runtime, so it happens on the worker.
#[derive(Debug)]
pub(crate) struct MetricsTarget {
    transport: Transport,
    interval: Duration,
    timeout: Duration,
}

#[derive(Debug)]
enum Transport {
    /// Boxed: a validated tonic endpoint is several times the size of the HTTP client.
    Grpc(Box<GrpcTarget>),
    Http(HttpExporter),
}

impl MetricsTarget {
    /// Validates the endpoint, TLS settings and headers (at build time).
    pub(crate) fn new(config: &MetricsExportConfig) -> Result<Self, BuildError> {
        let transport = match config.otlp.protocol {
            Protocol::Grpc => Transport::Grpc(Box::new(GrpcTarget::new(&config.otlp)?)),
            _ => Transport::Http(HttpExporter::new(&config.otlp)?),
        };
        Ok(Self {
            transport,
            interval: config.interval,
            timeout: config.otlp.timeout,
        })
    }

    /// Time between two exports.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }
}

enum Client {
    Grpc(GrpcMetricsExporter),
    Http(HttpExporter),
}

impl Client {
    fn export(
        &self,
        request: &ExportMetricsServiceRequest,
    ) -> BoxFuture<'static, Result<(), ExportError>> {
        match self {
            Self::Grpc(client) => client.export(request.clone()),
            Self::Http(client) => client.post(request),
        }
    }
}

/// The worker's OTLP metrics duty.
pub(crate) struct MetricsExport {
    client: Client,
    context: MetricsContext,
    timeout: Duration,
    /// `success`, `failure`, `skipped`.
    results: [Counter; 3],
    in_flight: Option<JoinHandle<()>>,
}

impl MetricsExport {
    /// Connects (lazily) on the worker's runtime and registers the outcome counter.
    pub(crate) fn start(target: MetricsTarget, context: MetricsContext, shared: &Shared) -> Self {
        let client = match target.transport {
            Transport::Grpc(target) => Client::Grpc(target.connect_metrics()),
            Transport::Http(exporter) => Client::Http(exporter),
        };
        let registry = &shared.metrics;
        registry.describe_counter(
            EXPORTS,
            Unit::Count,
            "OTLP metrics exports, by result: success, failure, skipped (the previous one was still under way).",
        );
        let result = |r: &'static str| registry.counter(EXPORTS, vec![Label::new("result", r)]);
        Self {
            client,
            context,
            timeout: target.timeout,
            results: [result("success"), result("failure"), result("skipped")],
            in_flight: None,
        }
    }

    /// Starts one export in the background, unless the previous one is still under way.
    pub(crate) fn tick(&mut self, shared: &Arc<Shared>) {
        if self.in_flight.as_ref().is_some_and(|h| !h.is_finished()) {
            self.results[2].increment(1);
            return;
        }
        let export = self.client.export(&self.request(shared));
        let timeout = self.timeout;
        let [success, failure, _] = self.results.clone();
        let shared = Arc::clone(shared);
        self.in_flight = Some(tokio::spawn(async move {
            let outcome = tokio::time::timeout(timeout, export)
                .await
                .unwrap_or_else(|_| Err(timed_out(timeout)));
            count(outcome, &success, &failure, &shared);
        }));
    }

    /// The last export, at shutdown: supersedes one under way, ends by `deadline` (and
    /// within the export timeout).
    pub(crate) async fn finish(&mut self, shared: &Arc<Shared>, deadline: Instant) {
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
        let export = self.client.export(&self.request(shared));
        let outcome = tokio::time::timeout(left, export)
            .await
            .unwrap_or_else(|_| Err(timed_out(left)));
        count(outcome, &self.results[0], &self.results[1], shared);
    }

    fn request(&self, shared: &Shared) -> ExportMetricsServiceRequest {
        let text = shared.render_metrics();
        otlp::request(
            &shared.metrics,
            &text,
            &self.context,
            unix_nanos(SystemTime::now()),
        )
    }
}

fn count(outcome: Result<(), ExportError>, success: &Counter, failure: &Counter, shared: &Shared) {
    match outcome {
        Ok(()) => success.increment(1),
        Err(error) => {
            failure.increment(1);
            shared.diagnostics.metric_export_failed(&error);
        }
    }
}

fn timed_out(after: Duration) -> ExportError {
    ExportError::new(
        ExportErrorKind::Timeout,
        format!("the metrics export did not finish within {after:?}"),
    )
}

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
