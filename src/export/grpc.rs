//! OTLP over gRPC, with tonic.
//!
//! Trace and log exports go out through tonic's generic client with [`EncodedCodec`]:
//! the request is the protobuf the worker already wrote, sent as it is (gzip, when
//! configured, is tonic's, over those bytes); the response is decoded with prost.
//! Metrics use the generated client.

use super::endpoint::{client_certificate_required, Compression, OtlpConfig, Signal};
use super::tls_probe;
use super::{Accepted, EncodedRequest, SpanExporter};
use crate::error::{BuildError, ExportError, ExportErrorKind};
use bytes::{BufMut, Bytes};
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// HTTP/2 flow-control window per stream.
const STREAM_WINDOW: u32 = 4 * 1024 * 1024;
/// HTTP/2 flow-control window per connection.
const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// A validated gRPC target; connecting needs a runtime, so it happens on the worker.
#[derive(Clone, Debug)]
pub(crate) struct GrpcTarget {
    endpoint: Endpoint,
    metadata: MetadataMap,
    gzip: bool,
    timeout: Duration,
    /// Over TLS without a client certificate: where to check whether one is required.
    mtls_probe: Option<MtlsProbe>,
}

/// Checks, once, whether the collector refuses clients without a certificate.
#[derive(Clone, Debug)]
struct MtlsProbe {
    host: String,
    port: u16,
    /// 0: not checked yet, 1: it does, 2: it does not.
    verdict: Arc<AtomicU8>,
}

impl MtlsProbe {
    async fn refuses(&self) -> bool {
        match self.verdict.load(Ordering::Relaxed) {
            1 => return true,
            2 => return false,
            _ => {}
        }
        let refuses = tls_probe::requires_client_certificate(self.host.clone(), self.port).await;
        self.verdict
            .store(if refuses { 1 } else { 2 }, Ordering::Relaxed);
        refuses
    }
}

impl GrpcTarget {
    /// Validates the endpoint, TLS settings and headers.
    pub(crate) fn new(config: &OtlpConfig) -> Result<Self, BuildError> {
        let url = config.endpoint.as_str().trim_end_matches('/').to_owned();
        let mut endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| BuildError::invalid("endpoint", &url, e.to_string()))?
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .tcp_nodelay(true)
            // Export requests are large: HTTP/2's default 64 KiB windows would stall
            // each one on flow control round trips.
            .initial_stream_window_size(Some(STREAM_WINDOW))
            .initial_connection_window_size(Some(CONNECTION_WINDOW));
        if config.endpoint.scheme() == "https" {
            endpoint = endpoint.tls_config(tls_config(config)).map_err(|e| {
                BuildError::invalid("endpoint", &url, format!("TLS setup failed: {e}"))
            })?;
        }
        let mut metadata = MetadataMap::new();
        for (key, value) in &config.headers {
            let name = AsciiMetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes())
                .map_err(|e| BuildError::invalid("header", key, e.to_string()))?;
            let value = AsciiMetadataValue::try_from(value.as_str())
                .map_err(|e| BuildError::invalid(format!("header {key}"), value, e.to_string()))?;
            metadata.insert(name, value);
        }
        Ok(Self {
            endpoint,
            metadata,
            gzip: config.compression == Compression::Gzip,
            timeout: config.timeout,
            mtls_probe: mtls_probe(config),
        })
    }

    /// Creates a `MetricsService` client; the connection is made lazily, on the first export.
    pub(crate) fn connect_metrics(self) -> GrpcMetricsExporter {
        let mut client = MetricsServiceClient::new(self.endpoint.connect_lazy());
        if self.gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        GrpcMetricsExporter {
            client,
            metadata: self.metadata,
            timeout: self.timeout,
        }
    }

    /// Creates the client for `signal` (traces or logs); the connection is made
    /// lazily, on the first export.
    pub(crate) fn connect(self, signal: Signal) -> GrpcExporter {
        let mut client = tonic::client::Grpc::new(self.endpoint.connect_lazy());
        if self.gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        GrpcExporter {
            client,
            signal,
            metadata: self.metadata,
            timeout: self.timeout,
            mtls_probe: self.mtls_probe,
        }
    }
}

/// The client-certificate check, for a TLS endpoint without a client certificate.
fn mtls_probe(config: &OtlpConfig) -> Option<MtlsProbe> {
    let url = &config.endpoint;
    if url.scheme() != "https" || config.client_identity.is_some() {
        return None;
    }
    Some(MtlsProbe {
        host: url.host_str()?.to_owned(),
        port: url.port_or_known_default()?,
        verdict: Arc::default(),
    })
}

/// TLS towards the collector: the system's roots or the configured CA, and the client
/// certificate when one is configured (mTLS).
fn tls_config(config: &OtlpConfig) -> ClientTlsConfig {
    let mut tls = ClientTlsConfig::new().with_enabled_roots();
    if let Some(pem) = &config.certificate {
        tls = tls.ca_certificate(Certificate::from_pem(pem));
    }
    if let Some(identity) = &config.client_identity {
        tls = tls.identity(Identity::from_pem(&identity.certificate, &identity.key));
    }
    tls
}

/// Exports batches with the OTLP `TraceService/Export` (or `LogsService/Export`) call.
pub(crate) struct GrpcExporter {
    client: tonic::client::Grpc<Channel>,
    signal: Signal,
    metadata: MetadataMap,
    timeout: Duration,
    mtls_probe: Option<MtlsProbe>,
}

impl SpanExporter for GrpcExporter {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        let request = request(batch.into_bytes(), &self.metadata, self.timeout);
        // Clones share the channel: concurrent exports multiplex over one connection.
        let client = self.client.clone();
        let probe = self.mtls_probe.clone();
        let signal = self.signal;
        Box::pin(async move {
            let status = match send_encoded(client, request, signal).await {
                Ok(response) => return Ok(accepted(response.into_inner())),
                Err(status) => status,
            };
            let error = classify(&status);
            match probe {
                Some(probe) if failed_in_transport(&status, &error) && probe.refuses().await => {
                    let message = client_certificate_required(error.message());
                    Err(ExportError::new(ExportErrorKind::Unavailable, message))
                }
                _ => Err(error),
            }
        })
    }
}

/// What an export's response says the collector kept. A logs response has the
/// same fields under the same numbers (`partial_success` = 1, its rejected count = 1,
/// its message = 2), so one message type reads both.
fn accepted(response: ExportTraceServiceResponse) -> Accepted {
    Accepted::from_partial_success(response.partial_success)
}

/// The signal's OTLP `Export` call with an encoded request.
async fn send_encoded(
    mut client: tonic::client::Grpc<Channel>,
    request: tonic::Request<Bytes>,
    signal: Signal,
) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {e}")))?;
    let mut request = request;
    let path = signal.grpc_path();
    let (service, method) = path[1..].split_once('/').unwrap_or((path, "Export"));
    request
        .extensions_mut()
        .insert(tonic::GrpcMethod::new(service, method));
    let path = http::uri::PathAndQuery::from_static(path);
    client.unary(request, path, EncodedCodec).await
}

/// The codec of trace and log exports: requests are already-encoded protobuf, written as
/// they are; responses are decoded with prost.
#[derive(Clone, Copy, Debug, Default)]
struct EncodedCodec;

impl Codec for EncodedCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = EncodedCodec;
    type Decoder = EncodedCodec;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        EncodedCodec
    }
}

impl Encoder for EncodedCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for EncodedCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        Message::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("undecodable export response: {e}")))
    }
}

/// Exports metrics with the OTLP `MetricsService/Export` call.
pub(crate) struct GrpcMetricsExporter {
    client: MetricsServiceClient<Channel>,
    metadata: MetadataMap,
    timeout: Duration,
}

impl GrpcMetricsExporter {
    pub(crate) fn export(
        &self,
        metrics: ExportMetricsServiceRequest,
    ) -> BoxFuture<'static, Result<(), ExportError>> {
        let request = request(metrics, &self.metadata, self.timeout);
        let mut client = self.client.clone();
        Box::pin(async move {
            client
                .export(request)
                .await
                .map(drop)
                .map_err(|status| classify(&status))
        })
    }
}

/// An export call's request: the message with the configured headers and timeout.
fn request<T>(message: T, metadata: &MetadataMap, timeout: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = metadata.clone();
    request.set_timeout(timeout);
    request
}

/// Maps a gRPC status to an export error kind, per the OTLP retry rules.
fn classify(status: &tonic::Status) -> ExportError {
    use tonic::Code;
    let message = status.message();
    let kind = match status.code() {
        Code::Unavailable if message.contains("connect") => ExportErrorKind::Connect,
        Code::Unavailable | Code::Aborted | Code::DataLoss => ExportErrorKind::Unavailable,
        // The client's own transport error (a cut connection), not the server's answer.
        Code::Unknown if std::error::Error::source(status).is_some() => {
            ExportErrorKind::Unavailable
        }
        Code::DeadlineExceeded | Code::Cancelled => ExportErrorKind::Timeout,
        // OTLP: RESOURCE_EXHAUSTED is retryable only when the server sends RetryInfo.
        Code::ResourceExhausted => match retry_info(status) {
            Some(delay) => {
                return ExportError::new(
                    ExportErrorKind::Throttled,
                    format!("gRPC ResourceExhausted: {message}"),
                )
                .with_retry_after(delay)
            }
            None => ExportErrorKind::Rejected,
        },
        Code::InvalidArgument
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::Unimplemented
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::AlreadyExists => ExportErrorKind::Rejected,
        _ => ExportErrorKind::Other,
    };
    ExportError::new(kind, format!("gRPC {:?}: {message}", status.code()))
}

/// Whether the call failed in transport after connecting (no answer from the server):
/// what a collector refusing the client certificate looks like to an HTTP/2 client.
fn failed_in_transport(status: &tonic::Status, error: &ExportError) -> bool {
    error.kind() != ExportErrorKind::Connect && std::error::Error::source(status).is_some()
}

/// The delay of a `google.rpc.RetryInfo` in the status details, if any.
fn retry_info(status: &tonic::Status) -> Option<Duration> {
    use tonic_types::StatusExt as _;
    status.get_details_retry_info()?.retry_delay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_for_retry() {
        let kind = |s: tonic::Status| classify(&s).kind();
        assert_eq!(
            kind(tonic::Status::unavailable("tcp connect error")),
            ExportErrorKind::Connect
        );
        assert_eq!(
            kind(tonic::Status::unavailable("restarting")),
            ExportErrorKind::Unavailable
        );
        assert_eq!(
            kind(tonic::Status::deadline_exceeded("slow")),
            ExportErrorKind::Timeout
        );
        assert_eq!(
            kind(tonic::Status::resource_exhausted("busy")),
            ExportErrorKind::Rejected,
            "no RetryInfo: not retryable"
        );
        use tonic_types::StatusExt as _;
        let status = tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            "slow down",
            tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_millis(2500))),
        );
        let error = classify(&status);
        assert_eq!(error.kind(), ExportErrorKind::Throttled);
        assert_eq!(error.retry_after(), Some(Duration::from_millis(2500)));
        assert_eq!(
            kind(tonic::Status::unauthenticated("who")),
            ExportErrorKind::Rejected
        );
        let cut = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "broken pipe");
        assert_eq!(
            kind(tonic::Status::from_error(Box::new(cut))),
            ExportErrorKind::Unavailable,
            "a cut connection is transient"
        );
        assert_eq!(
            kind(tonic::Status::unknown("the server says so")),
            ExportErrorKind::Other
        );
    }
}
