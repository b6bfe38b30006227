//! The response future shared by the server and client middleware.

use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tracing::Span;

pin_project! {
    /// The future of a [`TraceServer`](super::TraceServer) or
    /// [`TraceClient`](super::TraceClient) call: polls the inner future inside the
    /// request's span, then records the answer's status on it.
    ///
    /// ```
    /// use tower::{service_fn, Layer, Service};
    /// use tracing_observer::tower::{ResponseFuture, TraceClientLayer};
    ///
    /// let mut client = TraceClientLayer::new().layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// let future: ResponseFuture<_> = client.call(http::Request::new(()));
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert!(runtime.block_on(future).is_ok());
    /// ```
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        // The lowest status code that marks the span ERROR.
        error_from: u16,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, span: Span, error_from: u16) -> Self {
        Self {
            inner,
            span,
            error_from,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        match &result {
            Ok(response) => {
                let status = response.status().as_u16();
                // The error status first: under head sampling it is what keeps a
                // sampled-out span, and only values recorded after that are kept.
                if status >= *this.error_from {
                    this.span.record("otel.status_code", "error");
                    this.span
                        .record("error.type", tracing::field::display(status));
                }
                this.span.record("http.response.status_code", status);
            }
            Err(_) => {
                this.span.record("otel.status_code", "error");
                this.span.record("error.type", std::any::type_name::<E>());
            }
        }
        Poll::Ready(result)
    }
}
