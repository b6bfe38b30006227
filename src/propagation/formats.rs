//! The B3 (Zipkin) and Jaeger trace-context header values, parsed and formatted.
//!
//! - B3 single: `b3: {trace}-{span}[-{sampled}[-{parent}]]`; multi: `x-b3-traceid`,
//!   `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags` (and `x-b3-parentspanid`, which a
//!   child does not need). Trace ids are 16 or 32 hex digits (a 64-bit id is padded
//!   with zeros on the left); sampled is `1`, `0`, `d` (debug: sampled) or absent (the
//!   caller deferred: read as not sampled, as the OpenTelemetry propagators do).
//! - Jaeger: `uber-trace-id: {trace}:{span}:{parent}:{flags}`, hex ids of up to 32
//!   and 16 digits (leading zeros may be left out), flags bit 0 = sampled; the value
//!   may be percent-encoded (`%3A` for `:`).
//!
//! Hex digits are accepted in either case, as the OpenTelemetry propagators accept
//! them; a zero id, a wrong length or field count, or any other character refuses the
//! whole value.

use super::SpanContext;
use crate::ids::{SpanId, TraceId};
use percent_encoding::percent_decode_str;

/// The W3C sampled bit, the one flag B3 and Jaeger contexts carry over.
const SAMPLED: u8 = 0x01;
/// The longest header value read: longer ones are refused before any parsing.
const MAX_VALUE_LEN: usize = 256;

/// `1..=max` hex digits of either case as a number.
fn hex(s: &str, max: usize) -> Option<u128> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

/// A B3 trace id: exactly 16 or 32 hex digits, not zero.
fn b3_trace_id(s: &str) -> Option<TraceId> {
    if s.len() != 16 && s.len() != 32 {
        return None;
    }
    hex(s, 32).filter(|v| *v != 0).map(TraceId::from_u128)
}

/// A B3 span id: exactly 16 hex digits, not zero.
fn b3_span_id(s: &str) -> Option<SpanId> {
    (s.len() == 16)
        .then(|| hex(s, 16))
        .flatten()
        .filter(|v| *v != 0)
        .map(|v| SpanId::from_u64(v as u64))
}

/// Whether a B3 sampling state (`x-b3-sampled`, the single header's third field) says sampled.
fn b3_sampled(state: Option<&str>) -> Option<bool> {
    match state {
        None => Some(false),
        Some("1" | "d" | "true" | "True") => Some(true),
        Some("0" | "false" | "False") => Some(false),
        Some(_) => None,
    }
}

/// The context of a `b3` single-header value; `None` for a sampling-only value (`b3: 0`)
/// or anything malformed.
pub(crate) fn parse_b3_single(value: &str) -> Option<SpanContext> {
    let value = value.trim();
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let mut fields = value.split('-');
    let trace_id = b3_trace_id(fields.next()?)?;
    let span_id = b3_span_id(fields.next()?)?;
    let sampled = b3_sampled(fields.next())?;
    if let Some(parent) = fields.next() {
        b3_span_id(parent)?;
    }
    if fields.next().is_some() {
        return None;
    }
    Some(SpanContext::new(trace_id, span_id).with_trace_flags(if sampled { SAMPLED } else { 0 }))
}

/// The context of the B3 multi headers' values.
pub(crate) fn parse_b3_multi(
    trace_id: &str,
    span_id: &str,
    sampled: Option<&str>,
    flags: Option<&str>,
) -> Option<SpanContext> {
    let trace_id = b3_trace_id(trace_id.trim())?;
    let span_id = b3_span_id(span_id.trim())?;
    let sampled = b3_sampled(sampled.map(str::trim))? || flags.map(str::trim) == Some("1");
    Some(SpanContext::new(trace_id, span_id).with_trace_flags(if sampled { SAMPLED } else { 0 }))
}

/// The `b3` single-header value of `cx`: `{trace}-{span}-{1|0}`.
pub(crate) fn format_b3_single(cx: &SpanContext) -> String {
    format!(
        "{}-{}-{}",
        cx.trace_id(),
        cx.span_id(),
        b3_flag(cx.is_sampled())
    )
}

/// The `x-b3-sampled` value.
pub(crate) fn b3_flag(sampled: bool) -> &'static str {
    if sampled {
        "1"
    } else {
        "0"
    }
}

/// The context of an `uber-trace-id` value.
pub(crate) fn parse_jaeger(value: &str) -> Option<SpanContext> {
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let decoded;
    let value = if value.contains('%') {
        decoded = percent_decode_str(value).decode_utf8().ok()?;
        &*decoded
    } else {
        value
    };
    let mut fields = value.trim().split(':');
    let trace_id = hex(fields.next()?, 32).filter(|v| *v != 0)?;
    let span_id = hex(fields.next()?, 16).filter(|v| *v != 0)?;
    hex(fields.next()?, 16)?;
    let flags = hex(fields.next()?, 2)?;
    if fields.next().is_some() {
        return None;
    }
    Some(
        SpanContext::new(
            TraceId::from_u128(trace_id),
            SpanId::from_u64(span_id as u64),
        )
        .with_trace_flags(flags as u8 & SAMPLED),
    )
}

/// The `uber-trace-id` value of `cx`: `{trace}:{span}:0:{01|00}` (the parent field is
/// deprecated in Jaeger and left zero).
pub(crate) fn format_jaeger(cx: &SpanContext) -> String {
    format!(
        "{}:{}:0:{:02x}",
        cx.trace_id(),
        cx.span_id(),
        cx.trace_flags() & SAMPLED
    )
}
