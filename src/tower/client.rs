//! [`TraceClientLayer`]: a CLIENT span per outgoing request, its context injected.

use super::{method_name, ResponseFuture, TARGET};
use crate::span_ext::ObserverSpanExt;
use http::{Request, Response, Uri};
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing::Span;

/// A [`Layer`] that gives every outgoing HTTP request a CLIENT span and injects the
/// span's context and baggage in the process-wide
/// [`Propagators`](crate::context::Propagators) formats (`traceparent`, `tracestate`,
/// `baggage` by default).
///
/// The span is a child of the current span and carries `http.request.method`,
/// `server.address`, `server.port`, `url.full` (scheme, authority without
/// credentials, and path: the query is left out, as it often holds secrets) and
/// `http.response.status_code`; a 4xx or 5xx answer or a service error marks it
/// ERROR with `error.type`. When the observer does not record the span (no
/// [`ObserverLayer`](crate::ObserverLayer), or a trace the head sampler dropped), no
/// header is injected and the request's own headers are left as they are.
///
/// ```
/// use tower::{service_fn, Layer};
/// use tracing_observer::tower::TraceClientLayer;
///
/// let client = TraceClientLayer::new().layer(service_fn(|request: http::Request<()>| async move {
///     // A real client (hyper-util's `Client`, a tonic `Channel`) sends the request here.
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceClientLayer {
    _private: (),
}

impl TraceClientLayer {
    /// The layer.
    ///
    /// ```
    /// let layer = tracing_observer::tower::TraceClientLayer::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for TraceClientLayer {
    type Service = TraceClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceClient { inner }
    }
}

/// The service [`TraceClientLayer`] makes.
///
/// ```
/// use tower::{service_fn, Layer, ServiceExt};
/// use tracing_observer::tower::{TraceClient, TraceClientLayer};
/// use tracing_subscriber::prelude::*;
///
/// let observer = tracing_observer::Observer::builder()
///     .exporter(tracing_observer::export::InMemoryExporter::counting())
///     .build()
///     .unwrap();
/// let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(observer.layer()));
///
/// let client: TraceClient<_> = TraceClientLayer::new().layer(service_fn(|request: http::Request<()>| async move {
///     let sent = request.headers()["traceparent"].to_str().unwrap().to_owned();
///     Ok::<_, std::convert::Infallible>(http::Response::new(sent))
/// }));
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let response = runtime.block_on(client.oneshot(http::Request::new(()))).unwrap();
/// assert!(response.body().starts_with("00-"));
/// ```
#[derive(Clone, Debug)]
pub struct TraceClient<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceClient<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let span = client_span(&request);
        if let Some(cx) = span.span_context() {
            crate::http::inject(&cx, request.headers_mut());
        }
        let inner = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(inner, span, 400)
    }
}

/// The request's CLIENT span, a child of the current span.
fn client_span<B>(request: &Request<B>) -> Span {
    let method = method_name(request.method());
    let uri = request.uri();
    tracing::info_span!(
        target: TARGET,
        "http.client.request",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = Empty,
        error.type = Empty,
        http.request.method = method,
        server.address = uri.host(),
        server.port = port(uri),
        url.full = url_full(uri),
        http.response.status_code = Empty,
    )
}

/// The explicit port, or the scheme's default.
fn port(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })
}

/// `scheme://host[:port]/path`: no credentials, no query.
fn url_full(uri: &Uri) -> Option<String> {
    let (scheme, host) = (uri.scheme_str()?, uri.host()?);
    Some(match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}{}", uri.path()),
        None => format!("{scheme}://{host}{}", uri.path()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_full_leaves_out_credentials_and_query() {
        let uri: Uri = "https://user:secret@example.com:8443/pay?token=abc"
            .parse()
            .unwrap();
        assert_eq!(url_full(&uri).unwrap(), "https://example.com:8443/pay");
        assert_eq!(port(&uri), Some(8443));
        let plain: Uri = "http://example.com/".parse().unwrap();
        assert_eq!(url_full(&plain).unwrap(), "http://example.com/");
        assert_eq!(port(&plain), Some(80));
        let relative: Uri = "/only/path".parse().unwrap();
        assert_eq!((url_full(&relative), port(&relative)), (None, None));
    }
}
