//! W3C trace context in HTTP headers and gRPC metadata.
//!
//! [`extract`] reads `traceparent` / `tracestate` from an [`http::HeaderMap`] (what
//! axum, hyper and reqwest use) and [`inject`] writes them; [`extract_metadata`] and
//! [`inject_metadata`] do the same for tonic's [`MetadataMap`]. With the `tower`
//! feature, [`crate::tower`] has middleware that does it for every request.
//!
//! Invalid headers are ignored as the W3C Trace Context spec asks: a `traceparent`
//! with a wrong version, length or separator, uppercase or non-hex digits, all-zero
//! ids, or more than one `traceparent` header yields `None` (the request starts a new
//! trace); a malformed `tracestate` is dropped while the `traceparent` is kept.
//! Nothing here panics on hostile input.
//!
//! ```
//! use http::HeaderMap;
//! use tracing_observer::http::{extract, inject};
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! incoming.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
//! let remote = extract(&incoming).expect("a valid traceparent");
//! assert_eq!(remote.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = HeaderMap::new();
//! inject(&remote, &mut outgoing);
//! assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE");
//! ```
//!
//! [`http::HeaderMap`]: ::http::HeaderMap

use crate::propagation::SpanContext;
use ::http::header::{HeaderMap, HeaderValue};
use tonic::metadata::{MetadataMap, MetadataValue};

/// The W3C `traceparent` header name.
///
/// ```
/// use tracing_observer::{http::{inject, TRACEPARENT}, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let mut headers = http::HeaderMap::new();
/// inject(&cx, &mut headers);
/// assert_eq!(headers[TRACEPARENT], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// ```
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header name.
///
/// ```
/// use tracing_observer::{http::{inject, TRACESTATE}, SpanContext};
/// let cx = SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap().with_trace_state("congo=t61rcWkgMzE");
/// let mut headers = http::HeaderMap::new();
/// inject(&cx, &mut headers);
/// assert_eq!(headers[TRACESTATE], "congo=t61rcWkgMzE");
/// ```
pub const TRACESTATE: &str = "tracestate";
/// The most `tracestate` list members the W3C spec allows.
const MAX_TRACE_STATE_MEMBERS: usize = 32;

/// Reads the remote parent from `traceparent` and `tracestate` headers.
///
/// Returns `None` when there is no `traceparent`, more than one, or an invalid one.
///
/// ```
/// use http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse().unwrap());
/// assert!(tracing_observer::http::extract(&headers).is_none(), "uppercase hex is invalid");
/// ```
pub fn extract(headers: &HeaderMap) -> Option<SpanContext> {
    let parent = single_ascii(headers.get_all(TRACEPARENT).iter().map(HeaderValue::to_str))?;
    let state = joined(headers.get_all(TRACESTATE).iter().map(HeaderValue::to_str));
    Some(with_state(SpanContext::from_traceparent(parent)?, state))
}

/// Writes `cx` as `traceparent` (and `tracestate`, or removes a stale one) into `headers`.
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
    // Lowercase hex and dashes: always a valid header value.
    if let Ok(parent) = HeaderValue::from_str(&cx.to_traceparent()) {
        headers.insert(TRACEPARENT, parent);
    }
    match cx.trace_state().and_then(|s| HeaderValue::from_str(s).ok()) {
        Some(state) => headers.insert(TRACESTATE, state),
        None => headers.remove(TRACESTATE),
    };
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
    let parent = single_ascii(metadata.get_all(TRACEPARENT).iter().map(|v| v.to_str()))?;
    let state = joined(metadata.get_all(TRACESTATE).iter().map(|v| v.to_str()));
    Some(with_state(SpanContext::from_traceparent(parent)?, state))
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
    if let Ok(parent) = MetadataValue::try_from(cx.to_traceparent()) {
        metadata.insert(TRACEPARENT, parent);
    }
    match cx
        .trace_state()
        .and_then(|s| MetadataValue::try_from(s).ok())
    {
        Some(state) => metadata.insert(TRACESTATE, state),
        None => metadata.remove(TRACESTATE),
    };
}

/// The one header value, if there is exactly one and it is visible ASCII.
fn single_ascii<'a, E>(mut values: impl Iterator<Item = Result<&'a str, E>>) -> Option<&'a str> {
    let first = values.next()?.ok()?;
    values.next().is_none().then_some(first)
}

/// Repeated `tracestate` headers form one list, joined with commas (RFC 9110 §5.3);
/// a list with a non-ASCII value or too many members is dropped.
fn joined<'a, E>(values: impl Iterator<Item = Result<&'a str, E>>) -> Option<String> {
    let mut list = String::new();
    let mut members = 0;
    for value in values {
        for member in value.ok()?.split(',').map(str::trim) {
            if member.is_empty() {
                continue;
            }
            let (key, val) = member.split_once('=')?;
            if key.is_empty() || val.is_empty() {
                return None;
            }
            members += 1;
            if !list.is_empty() {
                list.push(',');
            }
            list.push_str(member);
        }
    }
    (members > 0 && members <= MAX_TRACE_STATE_MEMBERS).then_some(list)
}

fn with_state(cx: SpanContext, state: Option<String>) -> SpanContext {
    match state {
        Some(state) => cx.with_trace_state(&state),
        None => cx,
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
