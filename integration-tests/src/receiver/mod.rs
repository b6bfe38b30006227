//! An in-process OTLP trace receiver (gRPC and HTTP) that records what it is sent.
//!
//! [`OtlpReceiver`] binds two listeners on `127.0.0.1` with OS-chosen ports — one
//! serving the OTLP/gRPC `TraceService` and `MetricsService`, one serving OTLP/HTTP
//! `POST /v1/traces` and `POST /v1/metrics` (protobuf or JSON, optionally
//! gzip-compressed) — and serves both from a dedicated thread with its own tokio
//! runtime. Metrics are kept apart from spans ([`OtlpReceiver::metrics`]); they are
//! answered by the same [`Behavior`] but not counted in [`OtlpReceiver::attempts`]. It therefore works from plain
//! `#[test]` functions as well as from async tests of any runtime flavour.
//!
//! Its answer to export requests is set by a [`Behavior`], which can be changed
//! while it runs to simulate a failing, refusing, throttling or stuck backend, or
//! scripted for the next few calls ([`OtlpReceiver::answer_next`]). Every trace export
//! call is logged with its arrival time and answer ([`OtlpReceiver::attempt_log`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;

mod logs;
mod serve;

pub use logs::ReceivedLog;
use serve::{serve_http, GrpcService};

/// Largest request (after decompression) the receiver accepts.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How the receiver answers export requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Record the request and answer success.
    #[default]
    Accept,
    /// Do not record the request; answer gRPC `UNAVAILABLE` / HTTP `503`.
    Unavailable,
    /// Do not record the request and never answer it (the call stays pending
    /// until the client gives up or the receiver is dropped).
    Hang,
    /// Do not record the request; refuse it for good: gRPC `INVALID_ARGUMENT` /
    /// HTTP `400 Bad Request` (not retryable under the OTLP rules).
    Reject,
    /// Do not record the request; ask the client to come back after `retry_after`:
    /// gRPC `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` of exactly this delay /
    /// HTTP `429 Too Many Requests` with `Retry-After` in whole seconds (rounded up).
    Throttle {
        /// The delay asked for.
        retry_after: Duration,
    },
    /// Record the request and answer success with an OTLP partial success: half of
    /// its spans (rounded down) rejected, with [`PARTIAL_SUCCESS_MESSAGE`]; in JSON the
    /// count is a string, as proto3 JSON writes an int64.
    PartialSuccess,
}

/// The `error_message` of [`Behavior::PartialSuccess`] answers.
pub const PARTIAL_SUCCESS_MESSAGE: &str = "the test receiver rejects half of each request";

/// The spans a [`Behavior::PartialSuccess`] answer rejects of `request`.
pub fn rejected_by_partial_success(request: &ExportTraceServiceRequest) -> u64 {
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    spans as u64 / 2
}

/// One trace export call that reached the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// When it arrived (before its body was read).
    pub at: Instant,
    /// How it was answered.
    pub answer: Behavior,
}

/// The protocol an export request arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with a protobuf body.
    HttpProtobuf,
    /// OTLP/HTTP with a JSON body.
    HttpJson,
}

/// One accepted export request, with the transport details it came with.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The protocol it arrived over.
    pub transport: Transport,
    /// Request headers (gRPC metadata for gRPC), names lower-cased, in arrival order.
    /// Values that are not valid text are left out.
    pub headers: Vec<(String, String)>,
    /// The decoded request.
    pub request: ExportTraceServiceRequest,
}

impl ReceivedRequest {
    /// The first value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One accepted metrics export request, with the transport details it came with.
#[derive(Debug, Clone)]
pub struct ReceivedMetrics {
    /// The protocol it arrived over.
    pub transport: Transport,
    /// Request headers (gRPC metadata for gRPC), names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The decoded request.
    pub request: ExportMetricsServiceRequest,
}

impl ReceivedMetrics {
    /// Every metric of the request, whatever its resource and scope.
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
    }

    /// The metric called `name`, if the request has it.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics().find(|m| m.name == name)
    }

    /// The total of the `Sum` metric `name` over all its data points (integers and
    /// doubles, doubles truncated), if the request has it as a `Sum`.
    pub fn sum_total(&self, name: &str) -> Option<i64> {
        match &self.metric(name)?.data {
            Some(metric::Data::Sum(sum)) => Some(
                sum.data_points
                    .iter()
                    .map(|p| match p.value {
                        Some(number_data_point::Value::AsInt(v)) => v,
                        Some(number_data_point::Value::AsDouble(v)) => v as i64,
                        None => 0,
                    })
                    .sum(),
            ),
            _ => None,
        }
    }

    /// The total count of the `Histogram` metric `name` over all its data points.
    pub fn histogram_count(&self, name: &str) -> Option<u64> {
        match &self.metric(name)?.data {
            Some(metric::Data::Histogram(h)) => Some(h.data_points.iter().map(|p| p.count).sum()),
            _ => None,
        }
    }
}

/// A span flattened out of an export request, together with its context.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The span itself.
    pub span: Span,
    /// Attributes of the resource the span was reported under.
    pub resource_attributes: Vec<KeyValue>,
    /// The instrumentation scope the span was reported under, if any.
    pub scope: Option<InstrumentationScope>,
}

impl ReceivedSpan {
    /// The span's name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// Whether the span's status is ERROR.
    pub fn is_error(&self) -> bool {
        self.span.status.as_ref().is_some_and(|status| {
            status.code == opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error as i32
        })
    }

    /// The span's trace id as lower-case hex.
    pub fn trace_id_hex(&self) -> String {
        crate::hex(&self.span.trace_id)
    }

    /// The span's id as lower-case hex.
    pub fn span_id_hex(&self) -> String {
        crate::hex(&self.span.span_id)
    }

    /// The parent span id as lower-case hex (empty for a root span).
    pub fn parent_span_id_hex(&self) -> String {
        crate::hex(&self.span.parent_span_id)
    }

    /// The instrumentation scope's name, or `""` if there is no scope.
    pub fn scope_name(&self) -> &str {
        self.scope.as_ref().map_or("", |scope| scope.name.as_str())
    }
}

/// Flattens export requests into their spans, in order.
pub fn flatten_spans<'a>(
    requests: impl IntoIterator<Item = &'a ExportTraceServiceRequest>,
) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for request in requests {
        for resource_spans in &request.resource_spans {
            let resource_attributes = resource_spans
                .resource
                .as_ref()
                .map(|resource| resource.attributes.clone())
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    out.push(ReceivedSpan {
                        span: span.clone(),
                        resource_attributes: resource_attributes.clone(),
                        scope: scope_spans.scope.clone(),
                    });
                }
            }
        }
    }
    out
}

/// State shared between the test thread and the server thread.
#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<ReceivedRequest>>,
    metrics: Mutex<Vec<ReceivedMetrics>>,
    logs: Mutex<Vec<ReceivedLog>>,
    arrived: Condvar,
    behavior: Mutex<Behavior>,
    /// Answers for the next calls, before `behavior` applies again.
    script: Mutex<VecDeque<Behavior>>,
    attempts: Mutex<Vec<Attempt>>,
}

impl Shared {
    fn lock_received(&self) -> MutexGuard<'_, Vec<ReceivedRequest>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.received.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn behavior(&self) -> Behavior {
        *self.behavior.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs an attempt and returns how to answer it: the next scripted answer, if any.
    fn begin_attempt(&self) -> Behavior {
        let at = Instant::now();
        let scripted = self.lock_script().pop_front();
        let answer = scripted.unwrap_or_else(|| self.behavior());
        self.lock_attempts().push(Attempt { at, answer });
        answer
    }

    fn lock_script(&self) -> MutexGuard<'_, VecDeque<Behavior>> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_attempts(&self) -> MutexGuard<'_, Vec<Attempt>> {
        self.attempts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, request: ReceivedRequest) {
        self.lock_received().push(request);
        self.arrived.notify_all();
    }

    fn lock_metrics(&self) -> MutexGuard<'_, Vec<ReceivedMetrics>> {
        self.metrics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_logs(&self) -> MutexGuard<'_, Vec<ReceivedLog>> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push_logs(&self, logs: Vec<ReceivedLog>) {
        self.lock_logs().extend(logs);
    }
}

/// An OTLP trace receiver running on its own thread; see the [module docs](self).
///
/// Dropping it stops the server thread (pending `Hang` calls are abandoned).
#[derive(Debug)]
pub struct OtlpReceiver {
    shared: Arc<Shared>,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Starts a receiver that accepts everything, on free `127.0.0.1` ports.
    ///
    /// # Panics
    /// If the listeners or the runtime cannot be set up.
    pub fn start() -> Self {
        Self::start_with(Behavior::Accept)
    }

    /// Starts a receiver with the given initial behaviour, on free `127.0.0.1` ports.
    ///
    /// # Panics
    /// If the listeners or the runtime cannot be set up.
    pub fn start_with(behavior: Behavior) -> Self {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::try_start_at(any_port, any_port, behavior)
            .unwrap_or_else(|e| panic!("failed to start the OTLP receiver: {e}"))
    }

    /// Starts a receiver on the given addresses (port 0 = any free port).
    ///
    /// Useful to bring a receiver back on the ports of a dropped one, e.g. to
    /// simulate a backend that was down and comes back.
    pub fn try_start_at(
        grpc_addr: SocketAddr,
        http_addr: SocketAddr,
        behavior: Behavior,
    ) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            behavior: Mutex::new(behavior),
            ..Shared::default()
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;

        let grpc_std = StdTcpListener::bind(grpc_addr)?;
        let http_std = StdTcpListener::bind(http_addr)?;
        grpc_std.set_nonblocking(true)?;
        http_std.set_nonblocking(true)?;
        let grpc_addr = grpc_std.local_addr()?;
        let http_addr = http_std.local_addr()?;
        let (grpc_listener, http_listener) = {
            let _guard = runtime.enter();
            (
                tokio::net::TcpListener::from_std(grpc_std)?,
                tokio::net::TcpListener::from_std(http_std)?,
            )
        };

        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let grpc_service = TraceServiceServer::new(GrpcService {
            shared: Arc::clone(&shared),
        })
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let metrics_service = MetricsServiceServer::new(GrpcService {
            shared: Arc::clone(&shared),
        })
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let logs_service = opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer::new(GrpcService {
            shared: Arc::clone(&shared),
        })
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let http_shared = Arc::clone(&shared);

        let thread = std::thread::Builder::new()
            .name(format!("otlp-receiver-{}", grpc_addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let grpc = tonic::transport::Server::builder()
                        .add_service(grpc_service)
                        .add_service(metrics_service)
                        .add_service(logs_service)
                        .serve_with_incoming(
                            tonic::transport::server::TcpIncoming::from(grpc_listener)
                                .with_nodelay(Some(true)),
                        );
                    let http = serve_http(http_listener, http_shared);
                    tokio::select! {
                        result = grpc => {
                            if let Err(e) = result {
                                eprintln!("OTLP receiver: gRPC server failed: {e}");
                            }
                        }
                        () = http => {}
                        _ = shutdown_rx => {}
                    }
                });
                // Dropping the runtime here drops all connection tasks, including
                // calls held open by `Behavior::Hang`.
            })?;

        Ok(Self {
            shared,
            grpc_addr,
            http_addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// The gRPC endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The gRPC listening address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The HTTP base endpoint, `http://127.0.0.1:PORT` (traces go to `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The full OTLP/HTTP traces URL, `http://127.0.0.1:PORT/v1/traces`.
    pub fn http_traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.http_addr)
    }

    /// The HTTP listening address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The current behaviour.
    pub fn behavior(&self) -> Behavior {
        self.shared.behavior()
    }

    /// Changes how subsequent requests are answered.
    pub fn set_behavior(&self, behavior: Behavior) {
        *self
            .shared
            .behavior
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = behavior;
    }

    /// Answers the next trace export calls with `answers`, one each and in order;
    /// then [`behavior`](Self::behavior) applies again. Metrics calls are not scripted.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Behavior>) {
        self.shared.lock_script().extend(answers);
    }

    /// Number of export calls that reached the server, whatever the answer
    /// (rejected and hanging ones included).
    pub fn attempts(&self) -> usize {
        self.shared.lock_attempts().len()
    }

    /// Every trace export call that reached the server, in arrival order, with its
    /// arrival time and answer.
    pub fn attempt_log(&self) -> Vec<Attempt> {
        self.shared.lock_attempts().clone()
    }

    /// All accepted requests with their transport details, in arrival order.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.shared.lock_received().clone()
    }

    /// All accepted export requests, in arrival order.
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.shared
            .lock_received()
            .iter()
            .map(|received| received.request.clone())
            .collect()
    }

    /// All accepted spans, flattened, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let received = self.shared.lock_received();
        flatten_spans(received.iter().map(|r| &r.request))
    }

    /// Number of accepted spans.
    pub fn span_count(&self) -> usize {
        count_spans(&self.shared.lock_received())
    }

    /// All accepted metrics export requests, in arrival order.
    pub fn metrics(&self) -> Vec<ReceivedMetrics> {
        self.shared.lock_metrics().clone()
    }

    /// Blocks until an accepted metrics request satisfies `check` or `timeout` has
    /// passed; returns the first such request, if any.
    pub fn wait_for_metrics(
        &self,
        timeout: Duration,
        check: impl Fn(&ReceivedMetrics) -> bool,
    ) -> Option<ReceivedMetrics> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.shared.lock_metrics().iter().find(|m| check(m)) {
                return Some(found.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Forgets everything received so far (and resets [`attempts`](Self::attempts)).
    pub fn clear(&self) {
        self.shared.lock_metrics().clear();
        self.shared.lock_logs().clear();
        self.shared.lock_received().clear();
        self.shared.lock_attempts().clear();
    }

    /// Blocks until at least `n` spans have been accepted or `timeout` has passed,
    /// then returns all accepted spans (possibly fewer than `n`).
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        let mut received = self.shared.lock_received();
        while count_spans(&received) < n {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            received = self
                .shared
                .arrived
                .wait_timeout(received, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        flatten_spans(received.iter().map(|r| &r.request))
    }

    /// Like [`wait_for_spans`](Self::wait_for_spans), but yields to the caller's
    /// tokio runtime instead of blocking its thread (needs the `time` driver).
    pub async fn wait_for_spans_async(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        while self.span_count() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.spans()
    }

    /// Blocks until at least `n` export calls arrived (see [`attempts`](Self::attempts))
    /// or `timeout` has passed; returns the number of attempts.
    pub fn wait_for_attempts(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        while self.attempts() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.attempts()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already have stopped by itself; nothing to do then.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the OTLP receiver thread panicked");
            }
        }
    }
}

fn count_spans(received: &[ReceivedRequest]) -> usize {
    received
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|value| (name.as_str().to_owned(), value.to_owned()))
        })
        .collect()
}
