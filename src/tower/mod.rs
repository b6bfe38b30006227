//! Tower middleware that carries trace context and baggage across HTTP hops, in the
//! process-wide [`Propagators`](crate::context::Propagators) formats (W3C by
//! default; B3 and Jaeger with `OTEL_PROPAGATORS`).
//!
//! - [`TraceServerLayer`] wraps an HTTP server's service (axum, hyper, tonic): every
//!   request gets a SERVER span that continues the caller's trace from its headers
//!   and holds the request's baggage.
//! - [`TraceClientLayer`] wraps an HTTP client's service (hyper-util's client, tonic
//!   channels): every request gets a CLIENT span, child of the current span, whose
//!   context is injected into the request headers.
//!
//! Both record the OpenTelemetry HTTP semantic-convention attributes and set the
//! span's status from the answer: ERROR for a 5xx on the server, for a 4xx or 5xx on
//! the client, and for a service error (with `error.type`).
//!
//! ```
//! use std::convert::Infallible;
//! use tower::{service_fn, Layer, ServiceExt};
//! use tracing_observer::tower::TraceServerLayer;
//! use tracing_subscriber::prelude::*;
//!
//! let observer = tracing_observer::Observer::builder()
//!     .exporter(tracing_observer::export::InMemoryExporter::counting())
//!     .build()?;
//! let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(observer.layer()));
//!
//! let handler = service_fn(|_: http::Request<String>| async {
//!     let trace_id = tracing_observer::context::current_trace_id().unwrap();
//!     Ok::<_, Infallible>(http::Response::new(trace_id.to_string()))
//! });
//! let service = TraceServerLayer::new().layer(handler);
//! let request = http::Request::builder()
//!     .uri("/checkout")
//!     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
//!     .body(String::new())?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let response = runtime.block_on(service.oneshot(request))?;
//! assert_eq!(response.body(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The spans are named `http.server.request` / `http.client.request` in `tracing`
//! (target `tracing_observer::tower`, level INFO, so filters can select them) and
//! exported under the semantic-convention name `{method} {route}` or `{method}`.

mod client;
mod future;
mod server;

pub use client::{TraceClient, TraceClientLayer};
pub use future::ResponseFuture;
pub use server::{RouteFn, TraceServer, TraceServerLayer};

/// The `tracing` target of the spans this middleware creates.
const TARGET: &str = "tracing_observer::tower";

/// The `http.request.method` value: a known method, or `_OTHER` (bounded cardinality).
fn method_name(method: &http::Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("_OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(method_name(&http::Method::PATCH), "PATCH");
        let custom = http::Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_name(&custom), "_OTHER");
    }
}
