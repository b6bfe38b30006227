//! [`TraceServerLayer`]: a SERVER span per incoming request, continuing the caller's trace.

use super::{method_name, ResponseFuture, TARGET};
use crate::propagation::{propagators, SpanContext};
use crate::span_ext::ObserverSpanExt;
use http::request::Parts;
use http::{Request, Response};
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing::Span;

/// Finds a request's route template (`/users/{id}`, not `/users/42`) for `http.route`
/// and the span name. See [`TraceServerLayer::with_route`].
///
/// ```
/// use std::sync::Arc;
/// use tracing_observer::tower::RouteFn;
/// let route: RouteFn = Arc::new(|parts: &http::request::Parts| {
///     parts.uri.path().starts_with("/users/").then(|| "/users/{id}".to_owned())
/// });
/// let request = http::Request::get("/users/42").body(()).unwrap();
/// assert_eq!(route(&request.into_parts().0).as_deref(), Some("/users/{id}"));
/// ```
pub type RouteFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

/// A [`Layer`] that gives every incoming HTTP request a SERVER span.
///
/// The span continues the trace named by the request's headers, in the process-wide
/// [`Propagators`](crate::context::Propagators) formats (`traceparent` / `tracestate`
/// by default; an invalid or missing header starts a new trace), holds the request's
/// baggage (see [`ObserverSpanExt::baggage`]), and is never the child
/// of whatever span is current where the service is called. It carries
/// `http.request.method`, `url.path`, `url.scheme` when the URI has one, `http.route`
/// when [`with_route`](Self::with_route) finds one, and `http.response.status_code`;
/// a 5xx answer or a service error marks it ERROR with `error.type`.
///
/// ```
/// use tower::{service_fn, Layer};
/// use tracing_observer::tower::TraceServerLayer;
///
/// let service = TraceServerLayer::new().layer(service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// ```
#[derive(Clone, Default)]
pub struct TraceServerLayer {
    route: Option<RouteFn>,
}

impl TraceServerLayer {
    /// A layer without route look-up: spans are named after the method alone.
    ///
    /// ```
    /// let layer = tracing_observer::tower::TraceServerLayer::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how the route template of a request is found, for `http.route` and the
    /// span name `{method} {route}`.
    ///
    /// Return a template, never the raw path: the span name is a metric label. With
    /// axum, added through `Router::layer`, the matched route is in the request
    /// extensions: `|parts| parts.extensions.get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned())`.
    ///
    /// ```
    /// use tracing_observer::tower::TraceServerLayer;
    ///
    /// let layer = TraceServerLayer::new().with_route(|parts| {
    ///     let path = parts.uri.path();
    ///     Some(if path.starts_with("/users/") { "/users/{id}" } else { path }.to_owned())
    /// });
    /// ```
    pub fn with_route(
        mut self,
        route: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.route = Some(Arc::new(route));
        self
    }
}

impl fmt::Debug for TraceServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceServerLayer")
            .field("route", &self.route.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl<S> Layer<S> for TraceServerLayer {
    type Service = TraceServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceServer {
            inner,
            route: self.route.clone(),
        }
    }
}

/// The service [`TraceServerLayer`] makes.
///
/// ```
/// use tower::service_fn;
/// use tracing_observer::tower::{TraceServer, TraceServerLayer};
/// use tower::Layer;
///
/// let service: TraceServer<_> = TraceServerLayer::new().layer(service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// ```
#[derive(Clone)]
pub struct TraceServer<S> {
    inner: S,
    route: Option<RouteFn>,
}

impl<S: fmt::Debug> fmt::Debug for TraceServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceServer")
            .field("inner", &self.inner)
            .field("route", &self.route.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceServer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let route = self.route.as_ref().and_then(|route| route(&parts));
        let span = server_span(&parts, route.as_deref());
        let request = Request::from_parts(parts, body);
        let inner = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(inner, span, 500)
    }
}

/// The request's SERVER span, a root or the child of the caller's span.
fn server_span(parts: &Parts, route: Option<&str>) -> Span {
    let method = method_name(&parts.method);
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    let found = propagators().extract(&parts.headers);
    let remote = found.context;
    let traceparent = remote.as_ref().map(SpanContext::to_traceparent);
    let span = tracing::info_span!(
        target: TARGET,
        parent: None,
        "http.server.request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = Empty,
        error.type = Empty,
        http.request.method = method,
        url.path = parts.uri.path(),
        url.scheme = parts.uri.scheme_str(),
        http.route = route,
        http.response.status_code = Empty,
        traceparent = traceparent.as_deref(),
        tracestate = remote.as_ref().and_then(SpanContext::trace_state),
    );
    if let Some(baggage) = found.baggage {
        span.set_baggage(baggage);
    }
    span
}
