//! The receiver's servers: the gRPC `TraceService` and `MetricsService` (`LogsService`
//! is in `logs.rs`), and the
//! OTLP/HTTP endpoints, answering as the shared [`Behavior`] says.

use super::*;

/// The gRPC `TraceService` implementation.
pub(super) struct GrpcService {
    pub(super) shared: Arc<Shared>,
}

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.shared.begin_attempt() {
            behavior @ (Behavior::Accept | Behavior::PartialSuccess) => {
                let headers = header_pairs(&request.metadata().clone().into_headers());
                let request = request.into_inner();
                let response = trace_response(behavior, &request);
                self.shared.record(ReceivedRequest {
                    transport: Transport::Grpc,
                    headers,
                    request,
                });
                Ok(tonic::Response::new(response))
            }
            Behavior::Hang => std::future::pending().await,
            refusal => Err(grpc_refusal(refusal)),
        }
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        match self.shared.behavior() {
            Behavior::Accept | Behavior::PartialSuccess => {
                let headers = header_pairs(&request.metadata().clone().into_headers());
                self.shared.lock_metrics().push(ReceivedMetrics {
                    transport: Transport::Grpc,
                    headers,
                    request: request.into_inner(),
                });
                Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
            }
            Behavior::Hang => std::future::pending().await,
            refusal => Err(grpc_refusal(refusal)),
        }
    }
}

/// The answer to an accepted trace export: empty, or a partial success.
fn trace_response(
    behavior: Behavior,
    request: &ExportTraceServiceRequest,
) -> ExportTraceServiceResponse {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
    let partial_success =
        (behavior == Behavior::PartialSuccess).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected_by_partial_success(request)).unwrap_or(i64::MAX),
            error_message: PARTIAL_SUCCESS_MESSAGE.to_owned(),
        });
    ExportTraceServiceResponse { partial_success }
}

/// The gRPC status a refusing behaviour answers with.
pub(super) fn grpc_refusal(behavior: Behavior) -> tonic::Status {
    match behavior {
        Behavior::Reject => tonic::Status::invalid_argument("test receiver is set to Reject"),
        Behavior::Throttle { retry_after } => {
            use tonic_types::StatusExt as _;
            tonic::Status::with_error_details(
                tonic::Code::ResourceExhausted,
                "test receiver is set to Throttle",
                tonic_types::ErrorDetails::with_retry_info(Some(retry_after)),
            )
        }
        // Unavailable (Accept and Hang are answered by the caller).
        _ => tonic::Status::unavailable("test receiver is set to Unavailable"),
    }
}

/// Accepts HTTP connections until the task is dropped.
pub(super) async fn serve_http(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("OTLP receiver: HTTP accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle_http(Arc::clone(&shared), request)
            });
            // Connection errors (client went away, ...) are of no interest here.
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type HttpResponse = http::Response<Full<Bytes>>;

fn http_response(status: http::StatusCode, content_type: &str, body: Bytes) -> HttpResponse {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

fn http_error(status: http::StatusCode, message: impl Into<String>) -> HttpResponse {
    http_response(status, "text/plain", Bytes::from(message.into()))
}

async fn handle_http(
    shared: Arc<Shared>,
    request: http::Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let (metrics, logs) = match request.uri().path() {
        "/v1/traces" => (false, false),
        "/v1/metrics" => (true, false),
        "/v1/logs" => (false, true),
        _ => {
            return Ok(http_error(
                http::StatusCode::NOT_FOUND,
                "only /v1/traces, /v1/metrics and /v1/logs",
            ))
        }
    };
    if request.method() != http::Method::POST {
        return Ok(http_error(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "only POST",
        ));
    }
    let behavior = if metrics || logs {
        shared.behavior()
    } else {
        shared.begin_attempt()
    };
    match behavior {
        Behavior::Accept | Behavior::PartialSuccess => {}
        Behavior::Unavailable => {
            return Ok(http_error(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "test receiver is set to Unavailable",
            ))
        }
        Behavior::Hang => std::future::pending().await,
        Behavior::Reject => {
            return Ok(http_error(
                http::StatusCode::BAD_REQUEST,
                "test receiver is set to Reject",
            ))
        }
        Behavior::Throttle { retry_after } => {
            let mut response = http_error(
                http::StatusCode::TOO_MANY_REQUESTS,
                "test receiver is set to Throttle",
            );
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            return Ok(response);
        }
    }

    let headers = header_pairs(request.headers());
    let header = |name: http::header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let json = header(http::header::CONTENT_TYPE).starts_with("application/json");
    let encoding = header(http::header::CONTENT_ENCODING);

    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Ok(http_error(http::StatusCode::BAD_REQUEST, e.to_string())),
    };
    let body = match encoding.as_str() {
        "" | "identity" => body.to_vec(),
        "gzip" => {
            let mut decoded = Vec::new();
            let limit = u64::try_from(MAX_MESSAGE_BYTES).unwrap_or(u64::MAX);
            if let Err(e) = flate2::read::GzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut decoded)
            {
                return Ok(http_error(http::StatusCode::BAD_REQUEST, e.to_string()));
            }
            decoded
        }
        other => {
            return Ok(http_error(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content-encoding {other}"),
            ))
        }
    };

    let transport = if json {
        Transport::HttpJson
    } else {
        Transport::HttpProtobuf
    };
    if logs {
        use super::logs::{flatten, ExportLogsServiceRequest, ExportLogsServiceResponse};
        let decoded = if json {
            serde_json::from_slice::<ExportLogsServiceRequest>(&body).map_err(|e| e.to_string())
        } else {
            ExportLogsServiceRequest::decode(&body[..]).map_err(|e| e.to_string())
        };
        let request = match decoded {
            Ok(request) => request,
            Err(e) => return Ok(http_error(http::StatusCode::BAD_REQUEST, e)),
        };
        shared.push_logs(flatten(&request, transport));
        return Ok(http_accepted(
            json,
            ExportLogsServiceResponse::default().encode_to_vec(),
        ));
    }
    if metrics {
        let decoded = if json {
            serde_json::from_slice::<ExportMetricsServiceRequest>(&body).map_err(|e| e.to_string())
        } else {
            ExportMetricsServiceRequest::decode(&body[..]).map_err(|e| e.to_string())
        };
        let request = match decoded {
            Ok(request) => request,
            Err(e) => return Ok(http_error(http::StatusCode::BAD_REQUEST, e)),
        };
        shared.lock_metrics().push(ReceivedMetrics {
            transport,
            headers,
            request,
        });
        return Ok(http_accepted(
            json,
            ExportMetricsServiceResponse::default().encode_to_vec(),
        ));
    }
    let (decoded, transport) = if json {
        (
            serde_json::from_slice::<ExportTraceServiceRequest>(&body).map_err(|e| e.to_string()),
            Transport::HttpJson,
        )
    } else {
        (
            ExportTraceServiceRequest::decode(&body[..]).map_err(|e| e.to_string()),
            Transport::HttpProtobuf,
        )
    };
    let request = match decoded {
        Ok(request) => request,
        Err(e) => return Ok(http_error(http::StatusCode::BAD_REQUEST, e)),
    };
    let response = trace_response(behavior, &request);
    shared.record(ReceivedRequest {
        transport,
        headers,
        request,
    });
    match response.partial_success {
        Some(partial) if json => {
            let body = serde_json::json!({"partialSuccess": {
                "rejectedSpans": partial.rejected_spans.to_string(),
                "errorMessage": partial.error_message,
            }});
            Ok(http_response(
                http::StatusCode::OK,
                "application/json",
                Bytes::from(body.to_string()),
            ))
        }
        _ => Ok(http_accepted(json, response.encode_to_vec())),
    }
}

/// An OTLP/HTTP success: an empty JSON object, or the encoded empty `response`.
fn http_accepted(json: bool, response: Vec<u8>) -> HttpResponse {
    if json {
        http_response(
            http::StatusCode::OK,
            "application/json",
            Bytes::from_static(b"{}"),
        )
    } else {
        http_response(
            http::StatusCode::OK,
            "application/x-protobuf",
            Bytes::from(response),
        )
    }
}
