//! The HTTP endpoints, served on the worker's runtime (opt-in: `OBSERVER_HTTP_ADDR`).
//!
//! | path | answer |
//! |---|---|
//! | `/health/live` | 200 while the observer's thread answers (liveness must not depend on the collector) |
//! | `/health/ready` | the aggregate: 503 when a critical check is unhealthy, else 200 |
//! | `/health/startup` | 200 once the worker has started, else 503 |
//! | `/health` | the aggregate with every component, as JSON |
//! | `/metrics` | Prometheus text: span metrics, self-metrics, process metrics, event metrics; OpenMetrics with exemplars when `Accept` asks for `application/openmetrics-text` |
//! | `/circuit-breakers` | JSON list: name, state, counts, last failure, time until a probe (while open) |
//!
//! Anything else is 404; methods other than `GET` and `HEAD` are 405. The listener
//! is bound in `build()`, so a port in use is a build error, not a silent failure.

use crate::delivery::BreakerSnapshot;
use crate::health::{ComponentHealth, HealthRegistry, HealthReport, HealthStatus};
use crate::metrics::openmetrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// A connection that sends nothing for this long is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the endpoints answer from: the observer that serves them.
pub(crate) trait Endpoints: Send + Sync + 'static {
    /// Whether the worker has started (its exporter is built and its loop runs).
    fn has_started(&self) -> bool;
    /// The observer's own health components.
    fn components(&self) -> Vec<ComponentHealth>;
    /// The application's health checks.
    fn checks(&self) -> &HealthRegistry;
    /// Every metric, as Prometheus text.
    fn metrics_text(&self) -> String;
    /// Every metric, in the OpenMetrics text format with exemplars.
    fn metrics_openmetrics(&self) -> String;
    /// The breakers to list: the observer's export breaker, then the application's.
    fn breakers(&self) -> Vec<BreakerSnapshot>;
}

/// Serves connections from `listener` until the runtime stops.
pub(crate) async fn serve<E: Endpoints>(listener: std::net::TcpListener, endpoints: Arc<E>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let endpoints = Arc::clone(&endpoints);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let endpoints = Arc::clone(&endpoints);
                async move { Ok::<_, Infallible>(respond(&request, &*endpoints).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond<E: Endpoints>(
    request: &Request<Incoming>,
    endpoints: &E,
) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match request.uri().path() {
        "/health/live" => json(StatusCode::OK, &serde_json::json!({"status": "HEALTHY"})),
        "/health/startup" => {
            let (code, status) = if endpoints.has_started() {
                (StatusCode::OK, HealthStatus::Healthy)
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, HealthStatus::Unhealthy)
            };
            json(code, &serde_json::json!({"status": status}))
        }
        "/health/ready" => {
            let report = health(endpoints).await;
            json(
                code(report.status.http_status()),
                &serde_json::json!({"status": report.status}),
            )
        }
        "/health" => {
            let report = health(endpoints).await;
            json(code(report.status.http_status()), &report)
        }
        "/metrics" => {
            let openmetrics = (request.headers().get_all(ACCEPT).iter())
                .filter_map(|value| value.to_str().ok())
                .any(openmetrics::accepted);
            let (body, content_type) = if openmetrics {
                (endpoints.metrics_openmetrics(), openmetrics::CONTENT_TYPE)
            } else {
                (endpoints.metrics_text(), PROMETHEUS_TEXT)
            };
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        "/circuit-breakers" => json(StatusCode::OK, &endpoints.breakers()),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Built-in components, then the application's checks.
async fn health<E: Endpoints>(endpoints: &E) -> HealthReport {
    let mut all = endpoints.components();
    all.extend(endpoints.checks().run().await);
    HealthReport::aggregate(all)
}

fn code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
