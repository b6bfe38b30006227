//! Trace context and baggage in HTTP headers and gRPC metadata.
//!
//! [`extract`] reads the remote parent from an [`http::HeaderMap`] (what axum, hyper
//! and reqwest use) and [`inject`] writes a context; [`extract_metadata`] and
//! [`inject_metadata`] do the same for tonic's [`MetadataMap`]. With the `tower`
//! feature, [`crate::tower`] has middleware that does it for every request.
//!
//! The header formats are the process-wide [`Propagators`]
//! ([`context::propagators`](crate::context::propagators)): the ones the last
//! [`Observer`](crate::Observer) built was configured with (`OTEL_PROPAGATORS`), else
//! `tracecontext,baggage`. Extraction tries each format in order and keeps the first
//! valid trace context, with the baggage of every baggage format (`baggage`,
//! `uberctx-*`) attached; injection writes every format. [`extract_with`] and
//! [`inject_with`] take the formats explicitly.
//!
//! Invalid headers are ignored as the specs ask: a `traceparent` with a wrong version,
//! length or separator, uppercase or non-hex digits, all-zero ids, or more than one
//! `traceparent` header yields `None` (the request starts a new trace); a malformed
//! `tracestate` is dropped while the `traceparent` is kept; B3 and Jaeger values with
//! a wrong length, field count or zero id are refused; baggage over the W3C limits
//! (8192 bytes, 180 entries) is refused, malformed entries skipped. Nothing here
//! panics on hostile input.
//!
//! ```
//! use http::HeaderMap;
//! use tracing_observer::http::{extract, inject};
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! incoming.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
//! incoming.insert("baggage", "tenant=acme".parse().unwrap());
//! let remote = extract(&incoming).expect("a valid traceparent");
//! assert_eq!(remote.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(remote.baggage().unwrap().get("tenant"), Some("acme"));
//!
//! let mut outgoing = HeaderMap::new();
//! inject(&remote, &mut outgoing);
//! assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE");
//! assert_eq!(outgoing["baggage"], "tenant=acme");
//! ```
//!
//! [`http::HeaderMap`]: ::http::HeaderMap

use crate::propagation::{propagators, Baggage, Carrier, Propagators, SpanContext};
use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};

/// The W3C `traceparent` header name.
///
/// ```
/// use tracing_observer::{http::{inject, TRACEPARENT}, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let mut headers = http::HeaderMap::new();
/// inject(&cx, &mut headers);
/// assert_eq!(headers[TRACEPARENT], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// ```
pub const TRACEPARENT: &str = crate::propagation::TRACEPARENT;
/// The W3C `tracestate` header name.
///
/// ```
/// use tracing_observer::{http::{inject, TRACESTATE}, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap().with_trace_state("congo=t61rcWkgMzE");
/// let mut headers = http::HeaderMap::new();
/// inject(&cx, &mut headers);
/// assert_eq!(headers[TRACESTATE], "congo=t61rcWkgMzE");
/// ```
pub const TRACESTATE: &str = crate::propagation::TRACESTATE;
/// The W3C `baggage` header name.
///
/// ```
/// use tracing_observer::{context::Baggage, http::{inject, BAGGAGE}, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap()
///     .with_baggage(Baggage::from_header("tenant=acme"));
/// let mut headers = http::HeaderMap::new();
/// inject(&cx, &mut headers);
/// assert_eq!(headers[BAGGAGE], "tenant=acme");
/// ```
pub const BAGGAGE: &str = crate::propagation::BAGGAGE;

/// Reads the remote parent from the headers, in the process-wide formats (by default
/// `traceparent` / `tracestate`, with the `baggage` attached).
///
/// Returns `None` when no format finds a valid context (more than one `traceparent`
/// is invalid, for one).
///
/// ```
/// use http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse().unwrap());
/// assert!(tracing_observer::http::extract(&headers).is_none(), "uppercase hex is invalid");
/// ```
pub fn extract(headers: &HeaderMap) -> Option<SpanContext> {
    extract_with(&propagators(), headers)
}

/// [`extract`] with these formats instead of the process-wide ones.
///
/// ```
/// use tracing_observer::{context::Propagators, http::extract_with};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1".parse().unwrap());
/// let b3: Propagators = "b3".parse().unwrap();
/// let cx = extract_with(&b3, &headers).unwrap();
/// assert_eq!(cx.trace_id().to_string(), "80f198ee56343ba864fe8b2a57d3eff7");
/// assert!(extract_with(&Propagators::default(), &headers).is_none());
/// ```
pub fn extract_with(propagators: &Propagators, headers: &HeaderMap) -> Option<SpanContext> {
    propagators.extract(headers).into_context()
}

/// The incoming baggage alone, in the process-wide formats: for a request that
/// carries baggage but no trace context.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("baggage", "tenant=acme".parse().unwrap());
/// assert!(tracing_observer::http::extract(&headers).is_none());
/// let baggage = tracing_observer::http::extract_baggage(&headers).unwrap();
/// assert_eq!(baggage.get("tenant"), Some("acme"));
/// ```
pub fn extract_baggage(headers: &HeaderMap) -> Option<Baggage> {
    propagators().extract(headers).baggage
}

/// Writes `cx` (and its baggage) into `headers` in the process-wide formats; with
/// the default, `traceparent`, `tracestate` and `baggage` (a stale `tracestate` or
/// `baggage` is removed).
///
/// ```
/// use http::HeaderMap;
/// use tracing_observer::SpanContext;
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("tracestate", "stale=1".parse().unwrap());
/// tracing_observer::http::inject(&cx, &mut headers);
/// assert_eq!(headers["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert!(headers.get("tracestate").is_none());
/// ```
pub fn inject(cx: &SpanContext, headers: &mut HeaderMap) {
    inject_with(&propagators(), cx, headers);
}

/// [`inject`] with these formats instead of the process-wide ones.
///
/// ```
/// use tracing_observer::{context::Propagators, http::inject_with, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let mut headers = http::HeaderMap::new();
/// inject_with(&"b3multi,jaeger".parse().unwrap(), &cx, &mut headers);
/// assert_eq!(headers["x-b3-traceid"], "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(headers["x-b3-sampled"], "1");
/// assert_eq!(headers["uber-trace-id"], "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:01");
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject_with(propagators: &Propagators, cx: &SpanContext, headers: &mut HeaderMap) {
    propagators.inject(cx, headers);
}

/// Reads the remote parent from gRPC request metadata (tonic), as [`extract`] does.
///
/// ```
/// use tonic::metadata::MetadataMap;
/// let mut metadata = MetadataMap::new();
/// metadata.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let cx = tracing_observer::http::extract_metadata(&metadata).unwrap();
/// assert_eq!(cx.span_id().to_string(), "00f067aa0ba902b7");
/// ```
pub fn extract_metadata(metadata: &MetadataMap) -> Option<SpanContext> {
    propagators().extract(metadata).into_context()
}

/// Writes `cx` into gRPC request metadata (tonic), as [`inject`] does.
///
/// ```
/// use tonic::metadata::MetadataMap;
/// use tracing_observer::SpanContext;
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
/// let mut request = tonic::Request::new(());
/// tracing_observer::http::inject_metadata(&cx, request.metadata_mut());
/// assert_eq!(request.metadata().get("traceparent").unwrap(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
/// ```
pub fn inject_metadata(cx: &SpanContext, metadata: &mut MetadataMap) {
    propagators().inject(cx, metadata);
}

impl Carrier for HeaderMap {
    fn values(&self, name: &str) -> Vec<Option<&str>> {
        self.get_all(name).iter().map(|v| v.to_str().ok()).collect()
    }

    fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.keys()
            .map(HeaderName::as_str)
            .filter(|name| name.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }

    fn set(&mut self, name: &'static str, value: String) {
        if let Ok(value) = HeaderValue::try_from(value) {
            self.insert(name, value);
        }
    }

    fn set_named(&mut self, name: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            self.insert(name, value);
        }
    }

    fn remove(&mut self, name: &'static str) {
        HeaderMap::remove(self, name);
    }
}

impl Carrier for MetadataMap {
    fn values(&self, name: &str) -> Vec<Option<&str>> {
        self.get_all(name).iter().map(|v| v.to_str().ok()).collect()
    }

    fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.keys()
            .filter_map(|key| match key {
                KeyRef::Ascii(key) => Some(key.as_str()),
                KeyRef::Binary(_) => None,
            })
            .filter(|name| name.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }

    fn set(&mut self, name: &'static str, value: String) {
        if let Ok(value) = MetadataValue::try_from(value) {
            self.insert(name, value);
        }
    }

    fn set_named(&mut self, name: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            MetadataKey::from_bytes(name.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.insert(name, value);
        }
    }

    fn remove(&mut self, name: &'static str) {
        MetadataMap::remove(self, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn extracts_a_valid_parent_and_state() {
        let map = headers(&[
            (TRACEPARENT, VALID.as_bytes()),
            (TRACESTATE, b"rojo=00f067aa0ba902b7"),
            (TRACESTATE, b"congo=t61rcWkgMzE, "),
        ]);
        let cx = extract(&map).unwrap();
        assert_eq!(cx.to_traceparent(), VALID);
        assert_eq!(
            cx.trace_state(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        );
    }

    #[test]
    fn ignores_invalid_or_repeated_traceparents() {
        let cases: &[&[(&'static str, &[u8])]] = &[
            &[],
            &[(TRACEPARENT, b"")],
            &[(TRACEPARENT, b"garbage")],
            &[(
                TRACEPARENT,
                b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            )],
            &[(
                TRACEPARENT,
                b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )],
            &[(
                TRACEPARENT,
                b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            )],
            &[(
                TRACEPARENT,
                b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            )],
            &[(
                TRACEPARENT,
                b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            )],
            &[(
                TRACEPARENT,
                b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            )],
            &[(
                TRACEPARENT,
                b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b\xff-01",
            )],
            &[
                (TRACEPARENT, VALID.as_bytes()),
                (TRACEPARENT, VALID.as_bytes()),
            ],
        ];
        for case in cases {
            assert_eq!(extract(&headers(case)), None, "{case:?}");
        }
    }

    #[test]
    fn drops_a_malformed_tracestate_but_keeps_the_parent() {
        let too_many = (0..33)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let cases: &[&[u8]] = &[b"novalue", b"=v", b"k=", b"k=\xff", too_many.as_bytes()];
        for state in cases {
            let cx = extract(&headers(&[
                (TRACEPARENT, VALID.as_bytes()),
                (TRACESTATE, state),
            ]));
            assert_eq!(cx.unwrap().trace_state(), None, "{state:?}");
        }
    }

    #[test]
    fn inject_round_trips_through_headers_and_metadata() {
        let cx = SpanContext::from_traceparent(VALID)
            .unwrap()
            .with_trace_state("congo=t61rcWkgMzE");
        let mut map = HeaderMap::new();
        inject(&cx, &mut map);
        assert_eq!(extract(&map), Some(cx.clone()));

        let mut metadata = MetadataMap::new();
        inject_metadata(&cx, &mut metadata);
        assert_eq!(extract_metadata(&metadata), Some(cx.clone()));

        let plain = SpanContext::new(cx.trace_id(), cx.span_id());
        inject_metadata(&plain, &mut metadata);
        assert!(metadata.get(TRACESTATE).is_none(), "stale state removed");
    }

    #[test]
    fn metadata_rejects_repeated_traceparents() {
        let mut metadata = MetadataMap::new();
        metadata.append(TRACEPARENT, VALID.parse().unwrap());
        metadata.append(TRACEPARENT, VALID.parse().unwrap());
        assert_eq!(extract_metadata(&metadata), None);
    }
}
