//! OTLP over HTTP (`http/protobuf` and `http/json`), with reqwest.
//!
//! With `http/protobuf` a trace export's body is the request the worker encoded,
//! as it is (gzipped when configured); `http/json` decodes it to OTLP structs first
//! and writes them as JSON.

use super::endpoint::{missing_client_certificate, Compression, OtlpConfig, Protocol, Signal};
use super::{Accepted, EncodedRequest, SpanExporter};
use crate::error::{BuildError, ExportError, ExportErrorKind};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use std::io::Write;
use std::time::{Duration, SystemTime};

/// Bytes of a refused response's body kept in the error message.
const MAX_ERROR_BODY: usize = 256;

/// Posts each batch to the traces (or logs) URL.
#[derive(Clone, Debug)]
pub(crate) struct HttpExporter {
    client: reqwest::Client,
    url: url::Url,
    signal: Signal,
    json: bool,
    gzip: bool,
    /// Whether a client certificate is configured (mTLS).
    client_auth: bool,
}

impl HttpExporter {
    /// Validates headers and TLS settings and builds the client (no connection yet).
    pub(crate) fn new(config: &OtlpConfig) -> Result<Self, BuildError> {
        let mut headers = HeaderMap::new();
        for (key, value) in &config.headers {
            let name = HeaderName::from_bytes(key.as_bytes())
                .map_err(|e| BuildError::invalid("header", key, e.to_string()))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| BuildError::invalid(format!("header {key}"), value, e.to_string()))?;
            headers.insert(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .tcp_nodelay(true);
        builder = tls_config(builder, config)?;
        let client = builder.build().map_err(|e| {
            BuildError::invalid("endpoint", config.endpoint.as_str(), e.to_string())
        })?;
        Ok(Self {
            client,
            url: config.endpoint.clone(),
            signal: Signal::Traces,
            json: config.protocol == Protocol::HttpJson,
            gzip: config.compression == Compression::Gzip,
            client_auth: config.client_identity.is_some(),
        })
    }

    /// The same exporter, posting requests of `signal` (their JSON form follows it).
    pub(crate) fn for_signal(mut self, signal: Signal) -> Self {
        self.signal = signal;
        self
    }

    fn body<M: Message + serde::Serialize>(&self, batch: &M) -> Result<Bytes, ExportError> {
        let raw = if self.json {
            serde_json::to_vec(batch).map_err(|e| encode_error(&e))?
        } else {
            batch.encode_to_vec()
        };
        self.compressed(raw.into())
    }

    /// An export's body: the encoded request as it is, or its JSON form.
    fn encoded_body(&self, batch: EncodedRequest) -> Result<Bytes, ExportError> {
        if self.json && self.signal == Signal::Logs {
            let request = ExportLogsServiceRequest::decode(batch.bytes().clone())
                .map_err(|e| encode_error(&e))?;
            return self.body(&request);
        }
        if self.json {
            return self.body(&batch.decode()?);
        }
        self.compressed(batch.into_bytes())
    }

    /// `raw`, gzipped when configured.
    fn compressed(&self, raw: Bytes) -> Result<Bytes, ExportError> {
        if !self.gzip {
            return Ok(raw);
        }
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(raw.len() / 4),
            flate2::Compression::fast(),
        );
        encoder.write_all(&raw).map_err(|e| encode_error(&e))?;
        encoder
            .finish()
            .map(Bytes::from)
            .map_err(|e| encode_error(&e))
    }
}

fn encode_error(e: &dyn std::fmt::Display) -> ExportError {
    ExportError::new(ExportErrorKind::Encode, e.to_string())
}

impl SpanExporter for HttpExporter {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        let sent = self.send(self.encoded_body(batch));
        let json = self.json;
        Box::pin(async move { sent.await.map(|body| accepted(&body, json)) })
    }
}

/// What an export's response body says the collector kept: its `partial_success`,
/// in protobuf (a logs response reads as a trace one: same field numbers) or JSON
/// (`partialSuccess`, the count as a number or a string); an empty or unreadable body
/// of a successful response: everything.
fn accepted(body: &[u8], json: bool) -> Accepted {
    if body.is_empty() {
        return Accepted::all();
    }
    if !json {
        return ExportTraceServiceResponse::decode(body).map_or_else(
            |_| Accepted::all(),
            |r| Accepted::from_partial_success(r.partial_success),
        );
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Accepted::all();
    };
    let Some(partial) = value
        .get("partialSuccess")
        .or_else(|| value.get("partial_success"))
    else {
        return Accepted::all();
    };
    let field = |camel: &str, snake: &str| partial.get(camel).or_else(|| partial.get(snake));
    let rejected = (field("rejectedSpans", "rejected_spans"))
        .or_else(|| field("rejectedLogRecords", "rejected_log_records"))
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
    let message = field("errorMessage", "error_message").and_then(serde_json::Value::as_str);
    Accepted::partial(rejected.unwrap_or(0), message.unwrap_or_default())
}

impl HttpExporter {
    /// Posts one OTLP export request (metrics) to the configured URL; the body of a
    /// successful response.
    pub(crate) fn post<M: Message + serde::Serialize>(
        &self,
        batch: &M,
    ) -> BoxFuture<'static, Result<Bytes, ExportError>> {
        self.send(self.body(batch))
    }

    /// Posts a body made for the configured protocol and compression; the body of a
    /// successful response.
    fn send(
        &self,
        body: Result<Bytes, ExportError>,
    ) -> BoxFuture<'static, Result<Bytes, ExportError>> {
        let content_type = if self.json {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, content_type);
        if self.gzip {
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        let client_auth = self.client_auth;
        Box::pin(async move {
            let request = request.body(body?);
            let response = (request.send().await)
                .map_err(|e| explain_tls(classify_transport(&e), client_auth))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response.bytes().await.unwrap_or_default());
            }
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, SystemTime::now()));
            let text = response.text().await.unwrap_or_default();
            let mut cut = text.len().min(MAX_ERROR_BODY);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let kind = classify_status(status.as_u16());
            let error = ExportError::new(kind, format!("HTTP {status}: {}", &text[..cut]));
            Err(match retry_after {
                Some(delay) => error.with_retry_after(delay),
                None => error,
            })
        })
    }
}

/// TLS towards the collector: the configured CA besides the system's roots, and the
/// client certificate when one is configured (mTLS).
fn tls_config(
    mut builder: reqwest::ClientBuilder,
    config: &OtlpConfig,
) -> Result<reqwest::ClientBuilder, BuildError> {
    if let Some(pem) = &config.certificate {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
            BuildError::invalid(
                "certificate",
                "(PEM)",
                format!("not a valid PEM certificate: {e}"),
            )
        })?;
        builder = builder.add_root_certificate(cert);
    }
    if let Some(identity) = &config.client_identity {
        let mut pem = identity.key.clone();
        pem.push(b'\n');
        pem.extend_from_slice(&identity.certificate);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
            BuildError::invalid(
                "client_certificate",
                "(PEM)",
                format!("not a valid PEM certificate and key: {e}"),
            )
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// A handshake the collector refused for want of a client certificate, said so.
fn explain_tls(error: ExportError, client_auth: bool) -> ExportError {
    match missing_client_certificate(error.message(), client_auth) {
        Some(message) => ExportError::new(ExportErrorKind::Unavailable, message),
        None => error,
    }
}

fn classify_transport(error: &reqwest::Error) -> ExportError {
    let kind = if error.is_timeout() {
        ExportErrorKind::Timeout
    } else if error.is_connect() {
        ExportErrorKind::Connect
    } else if error.is_builder() {
        ExportErrorKind::Other
    } else {
        // Sent but not answered (the connection was cut): transient.
        ExportErrorKind::Unavailable
    };
    // reqwest's Display hides the cause; the chain says what actually failed.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    ExportError::new(kind, message)
}

/// The delay a `Retry-After` value asks for (RFC 9110 §10.2.3): a number of seconds,
/// or an HTTP date. A date already past, or a value that is neither, asks for nothing
/// (the usual backoff applies).
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    date.duration_since(now)
        .ok()
        .filter(|delay| !delay.is_zero())
}

/// Maps an HTTP status to an export error kind, per the OTLP/HTTP retry rules.
fn classify_status(status: u16) -> ExportErrorKind {
    match status {
        429 => ExportErrorKind::Throttled,
        502..=504 => ExportErrorKind::Unavailable,
        408 => ExportErrorKind::Timeout,
        400..=499 => ExportErrorKind::Rejected,
        _ => ExportErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_success_is_read_from_protobuf_and_json_bodies() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
        let response = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 7,
                error_message: "too old".into(),
            }),
        };
        let partly = Accepted::partial(7, "too old");
        assert_eq!(accepted(&response.encode_to_vec(), false), partly);
        let json = br#"{"partialSuccess":{"rejectedSpans":"7","errorMessage":"too old"}}"#;
        assert_eq!(accepted(json, true), partly);
        let number = br#"{"partialSuccess":{"rejectedSpans":7,"errorMessage":"too old"}}"#;
        assert_eq!(accepted(number, true), partly);
        for all in [&b""[..], b"{}", b"not json", br#"{"partialSuccess":{}}"#] {
            assert_eq!(accepted(all, true), Accepted::all(), "{all:?}");
        }
        assert_eq!(accepted(b"", false), Accepted::all());
        assert_eq!(
            accepted(
                &ExportTraceServiceResponse::default().encode_to_vec(),
                false
            ),
            Accepted::all()
        );
    }

    #[test]
    fn statuses_are_classified_for_retry() {
        assert_eq!(classify_status(429), ExportErrorKind::Throttled);
        assert_eq!(classify_status(503), ExportErrorKind::Unavailable);
        assert_eq!(classify_status(400), ExportErrorKind::Rejected);
        assert_eq!(classify_status(401), ExportErrorKind::Rejected);
        assert_eq!(classify_status(500), ExportErrorKind::Other);
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        // Wed, 21 Oct 2015 07:27:30 GMT
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_450);
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(retry_after("120", now), secs(120));
        assert_eq!(retry_after(" 3 ", now), secs(3));
        assert_eq!(retry_after("0", now), secs(0));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), secs(30));
        // The obsolete forms RFC 9110 still asks recipients to accept.
        assert_eq!(
            retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            secs(30)
        );
        assert_eq!(retry_after("Wed Oct 21 07:28:00 2015", now), secs(30));
        // A date already past asks for no particular delay.
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:27:30 GMT", now), None);
        assert_eq!(retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now), None);
        for garbage in [
            "",
            "soon",
            "-1",
            "1.5",
            "3s",
            "Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(retry_after(garbage, now), None, "{garbage:?}");
        }
    }
}
