//! The OTLP metrics transport: where the observer's metrics are pushed, over gRPC or
//! HTTP. The push itself (when, what, and counting outcomes) is the worker's
//! metrics duty.

use super::endpoint::{MetricsExportConfig, Protocol};
use super::grpc::{GrpcMetricsExporter, GrpcTarget};
use super::http::HttpExporter;
use crate::error::{BuildError, ExportError};
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use std::time::Duration;

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

    /// The bound of one export.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The client; connects lazily, so it must be called on the worker's runtime.
    pub(crate) fn connect(self) -> MetricsClient {
        match self.transport {
            Transport::Grpc(target) => MetricsClient::Grpc(target.connect_metrics()),
            Transport::Http(exporter) => MetricsClient::Http(exporter),
        }
    }
}

/// Sends OTLP metrics requests to one collector.
pub(crate) enum MetricsClient {
    Grpc(GrpcMetricsExporter),
    Http(HttpExporter),
}

impl MetricsClient {
    /// Sends `request`; the caller bounds how long it may take.
    pub(crate) fn export(
        &self,
        request: &ExportMetricsServiceRequest,
    ) -> BoxFuture<'static, Result<(), ExportError>> {
        match self {
            Self::Grpc(client) => client.export(request.clone()),
            Self::Http(client) => {
                let post = client.post(request);
                Box::pin(async move { post.await.map(drop) })
            }
        }
    }
}
