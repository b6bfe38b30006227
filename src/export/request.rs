//! [`EncodedRequest`]: a batch as the wire carries it.

use crate::error::{ExportError, ExportErrorKind};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;

/// One batch of spans: an OTLP `ExportTraceServiceRequest`, protobuf-encoded.
///
/// The worker writes the protobuf directly from the recorded spans, and the built-in
/// exporters send these bytes as they are (gRPC, HTTP/protobuf; compressed when
/// configured); the spool stores them and replay sends them again. Cloning shares
/// the bytes.
///
/// An exporter that wants the OTLP structs calls [`decode`](Self::decode): that
/// builds every message of the request again with prost (a few allocations per
/// attribute, in the order of 1–2 µs per span), the cost the direct encoding saves.
///
/// ```
/// use tracing_observer::export::EncodedRequest;
/// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
/// use tracing_observer::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
///
/// let span = Span { name: "work".into(), ..Default::default() };
/// let scope = ScopeSpans { spans: vec![span], ..Default::default() };
/// let request = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans { scope_spans: vec![scope], ..Default::default() }],
/// };
/// let encoded = EncodedRequest::from_request(&request);
/// assert_eq!(encoded.spans(), 1);
/// assert_eq!(encoded.decode()?, request);
/// # Ok::<(), tracing_observer::ExportError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedRequest {
    bytes: Bytes,
    spans: usize,
    has_errors: bool,
}

impl EncodedRequest {
    /// A request from its encoded bytes and the number of spans they hold.
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// let empty = EncodedRequest::new(bytes::Bytes::new(), 0);
    /// assert!(empty.bytes().is_empty());
    /// ```
    pub fn new(bytes: Bytes, spans: usize) -> Self {
        Self {
            bytes,
            spans,
            has_errors: false,
        }
    }

    /// Encodes an OTLP request with prost, counting its spans and its failed spans.
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
    /// let encoded = EncodedRequest::from_request(&ExportTraceServiceRequest::default());
    /// assert_eq!(encoded.spans(), 0);
    /// assert!(!encoded.has_errors());
    /// ```
    pub fn from_request(request: &ExportTraceServiceRequest) -> Self {
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans);
        let has_errors = spans.clone().any(|span| {
            span.status
                .as_ref()
                .is_some_and(|s| s.code == StatusCode::Error as i32)
        });
        Self {
            spans: spans.count(),
            bytes: request.encode_to_vec().into(),
            has_errors,
        }
    }

    /// Marks whether a span of the request has status ERROR.
    pub(crate) fn with_errors(mut self, has_errors: bool) -> Self {
        self.has_errors = has_errors;
        self
    }

    /// The encoded `ExportTraceServiceRequest`.
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// let request = EncodedRequest::new(bytes::Bytes::from_static(b"\x0a\x00"), 0);
    /// assert_eq!(request.bytes().as_ref(), b"\x0a\x00");
    /// ```
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The encoded `ExportTraceServiceRequest`, owned.
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// let request = EncodedRequest::new(bytes::Bytes::from_static(b"\x0a\x00"), 0);
    /// assert_eq!(request.into_bytes().len(), 2);
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The number of spans in the request.
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// assert_eq!(EncodedRequest::new(bytes::Bytes::new(), 3).spans(), 3);
    /// ```
    pub fn spans(&self) -> usize {
        self.spans
    }

    /// Whether a span of the request has status ERROR (such batches are spooled in
    /// the priority lane); unknown, hence `false`, for a request made with [`new`](Self::new).
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// assert!(!EncodedRequest::new(bytes::Bytes::new(), 0).has_errors());
    /// ```
    pub fn has_errors(&self) -> bool {
        self.has_errors
    }

    /// Decodes the request into OTLP structs (prost): an allocation per message,
    /// string and attribute; use it where the structs are worth that.
    ///
    /// ```
    /// use tracing_observer::export::EncodedRequest;
    /// let garbage = EncodedRequest::new(bytes::Bytes::from_static(b"\xff"), 0);
    /// assert!(garbage.decode().is_err());
    /// ```
    pub fn decode(&self) -> Result<ExportTraceServiceRequest, ExportError> {
        ExportTraceServiceRequest::decode(self.bytes.as_ref()).map_err(|e| {
            ExportError::new(
                ExportErrorKind::Encode,
                format!("not an OTLP ExportTraceServiceRequest: {e}"),
            )
        })
    }
}
