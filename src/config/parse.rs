//! Parsers shared by environment variables, the config file and the builder.
//!
//! Each turns text into a value or returns a plain reason; the caller attaches the
//! setting's name, value and source, so every error reads
//! `SETTING=value (source): reason`. Ranges are checked in [`check`](super::check).

use super::{Compression, EndpointPath, EndpointSetting, Protocol, TracesExporter};
use crate::sampling::{Sampler, SamplingRule};
use crate::tally::SpanMetricsProfile;
use std::time::Duration;

pub(crate) fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// `on`/`off` (or `true`/`false`).
pub(crate) fn on_off(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

/// A whole number (its range is checked by [`check`](super::check)).
pub(crate) fn integer(value: &str) -> Result<usize, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "expected a positive integer".to_owned())
}

/// The text as given.
pub(crate) fn text(value: &str) -> Result<String, String> {
    Ok(value.to_owned())
}

/// A file or directory path.
pub(crate) fn path(value: &str) -> Result<std::path::PathBuf, String> {
    Ok(std::path::PathBuf::from(value.trim()))
}

/// Milliseconds, as the OpenTelemetry spec writes durations in environment variables.
pub(crate) fn millis(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| "expected a whole number of milliseconds".into())
}

/// A duration with a unit (`250ms`, `5s`, `2m`, `1h`); a bare number means milliseconds.
pub(crate) fn duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a duration such as 250ms, 5s, 2m or 1h".to_owned())?;
    let per_unit = match unit.trim() {
        "" | "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => return Err(format!("unknown unit {other:?}: use ms, s, m or h")),
    };
    per_unit
        .checked_mul(u32::try_from(n).map_err(|_| "duration is too large".to_owned())?)
        .ok_or_else(|| "duration is too large".into())
}

pub(crate) fn protocol(value: &str) -> Result<Protocol, String> {
    match value.trim() {
        "grpc" => Ok(Protocol::Grpc),
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "http/json" => Ok(Protocol::HttpJson),
        _ => Err("expected grpc, http/protobuf or http/json".into()),
    }
}

pub(crate) fn compression(value: &str) -> Result<Compression, String> {
    match value.trim() {
        "gzip" => Ok(Compression::Gzip),
        "none" | "" => Ok(Compression::None),
        _ => Err("expected gzip or none".into()),
    }
}

pub(crate) fn traces_exporter(value: &str) -> Result<TracesExporter, String> {
    match value.trim() {
        "otlp" => Ok(TracesExporter::Otlp),
        "console" => Ok(TracesExporter::Console),
        "none" => Ok(TracesExporter::None),
        _ => Err("expected otlp, console or none (one exporter)".into()),
    }
}

pub(crate) fn logs_exporter(value: &str) -> Result<crate::config::LogsExporter, String> {
    use crate::config::LogsExporter;
    match value.trim() {
        "otlp" => Ok(LogsExporter::Otlp),
        "console" => Ok(LogsExporter::Console),
        "none" => Ok(LogsExporter::None),
        _ => Err("expected otlp, console or none (one exporter)".into()),
    }
}

/// A level: `trace`, `debug`, `info`, `warn` or `error` (any case).
pub(crate) fn level(value: &str) -> Result<tracing_core::Level, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "expected trace, debug, info, warn or error".into())
}

/// `OTEL_METRICS_EXPORTER`: one of `otlp`, `none`.
pub(crate) fn metrics_exporter(value: &str) -> Result<crate::config::MetricsExporter, String> {
    match value.trim() {
        "otlp" => Ok(crate::config::MetricsExporter::Otlp),
        "none" => Ok(crate::config::MetricsExporter::None),
        _ => Err(
            "expected otlp or none (one exporter; Prometheus text is always available at /metrics)"
                .into(),
        ),
    }
}

/// A W3C-baggage-style list: `key1=value1,key2=value2`, values percent-decoded.
pub(crate) fn key_values(value: &str) -> Result<Vec<(String, String)>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (key, val) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not key=value"))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("{item:?} has an empty key"));
            }
            let val = percent_decode(val.trim())
                .ok_or_else(|| format!("{item:?} has an invalid percent-encoding"))?;
            Ok((key.to_owned(), val))
        })
        .collect()
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A sampler by its `OTEL_TRACES_SAMPLER` name; a `traceidratio` takes the ratio 1
/// until [`with_ratio`] gives it the `OTEL_TRACES_SAMPLER_ARG` of the same source.
pub(crate) fn sampler(value: &str) -> Result<Sampler, String> {
    Ok(match value.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(1.0),
        "parentbased_always_on" => Sampler::parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => Sampler::parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => Sampler::parent_based(Sampler::TraceIdRatio(1.0)),
        _ => {
            return Err(
                "expected always_on, always_off, traceidratio, parentbased_always_on, \
                        parentbased_always_off or parentbased_traceidratio"
                    .into(),
            )
        }
    })
}

/// `sampler` with its ratio set to `ratio` (samplers without a ratio are unchanged).
pub(crate) fn with_ratio(sampler: Sampler, ratio: f64) -> Sampler {
    match sampler {
        Sampler::TraceIdRatio(_) => Sampler::TraceIdRatio(ratio),
        Sampler::ParentBased(root) => Sampler::parent_based(with_ratio(*root, ratio)),
        other => other,
    }
}

/// An overhead budget: a fraction (`0.02`) or a percentage (`2%`); its range is
/// checked by [`check::fraction`](super::check::fraction).
pub(crate) fn budget(value: &str) -> Result<f64, String> {
    let value = value.trim();
    let parsed = match value.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => value.parse::<f64>(),
    };
    parsed.map_err(|_| "expected a fraction such as 0.02 or a percentage such as 2%".to_owned())
}

/// The circuit breaker's failure-rate rule: `RATE/MIN_CALLS`, e.g. `0.5/20` (open when
/// at least half of the calls in the window failed, once it holds 20 or more); its
/// range is checked by [`check::failure_rate`](super::check::failure_rate).
pub(crate) fn failure_rate(value: &str) -> Result<(f64, u32), String> {
    const FORMAT: &str = "expected RATE/MIN_CALLS, e.g. 0.5/20 (open when at least half \
                          of 20 or more calls in the window failed)";
    let (rate, min_calls) = value.trim().split_once('/').ok_or(FORMAT)?;
    let rate: f64 = rate.trim().parse().map_err(|_| FORMAT.to_owned())?;
    let min_calls: u32 = min_calls
        .trim()
        .parse()
        .map_err(|_| "the minimum number of calls after / must be a positive integer".to_owned())?;
    Ok((rate, min_calls))
}

/// A span-metrics naming profile: `collector` or `tempo`.
pub(crate) fn span_metrics_profile(value: &str) -> Result<SpanMetricsProfile, String> {
    match value.trim() {
        "collector" => Ok(SpanMetricsProfile::Collector),
        "tempo" => Ok(SpanMetricsProfile::Tempo),
        _ => Err("expected collector or tempo".into()),
    }
}

/// An `IP:PORT` socket address (`127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464`).
pub(crate) fn socket_addr(value: &str) -> Result<std::net::SocketAddr, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "expected IP:PORT, e.g. 127.0.0.1:9464".into())
}

/// A number meant as a ratio (its range is checked by [`check::ratio`](super::check::ratio)).
pub(crate) fn ratio_number(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .map_err(|_| super::check::RATIO.to_owned())
}

/// A ratio between 0 and 1, as one part of a longer value (a sampling rule).
pub(crate) fn ratio(value: &str) -> Result<f64, String> {
    let ratio = ratio_number(value)?;
    super::check::ratio(&ratio)?;
    Ok(ratio)
}

/// Rules as `TARGET[/NAME]=RATIO[@RATE],…`, e.g. `app::hot=0.001,app::jobs=0.2@10,/health=0`.
pub(crate) fn sampling_rules(value: &str) -> Result<Vec<SamplingRule>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (selector, spec) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not SELECTOR=RATIO[@RATE]"))?;
            let (target, name) = match selector.trim().split_once('/') {
                Some((target, name)) => (target.trim(), Some(name.trim())),
                None => (selector.trim(), None),
            };
            let (ratio_text, rate) = match spec.split_once('@') {
                Some((r, rate)) => (r, Some(rate)),
                None => (spec, None),
            };
            let mut rule = match (target, name) {
                ("", Some(name)) => SamplingRule::name(name),
                (target, Some(name)) => SamplingRule::target(target).with_name(name),
                (target, None) => SamplingRule::target(target),
            };
            rule = rule.ratio(ratio(ratio_text).map_err(|e| format!("{item:?}: {e}"))?);
            if let Some(rate) = rate {
                let rate: f64 = rate
                    .trim()
                    .parse()
                    .map_err(|_| format!("{item:?}: the rate after @ must be a number"))?;
                rule = rule.rate_limit(rate);
            }
            rule.validate().map_err(|e| format!("{item:?}: {e}"))?;
            Ok(rule)
        })
        .collect()
}

/// A size in bytes: a number, optionally with `KiB`, `MiB` or `GiB` (or `K`, `M`, `G`).
pub(crate) fn bytes(value: &str) -> Result<usize, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| "expected a size such as 65536, 64MiB or 1GiB".to_owned())?;
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?}: use KiB, MiB or GiB")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| "size is too large".into())
}

/// A comma-separated list of names; `none` means the empty list.
pub(crate) fn name_list(value: &str) -> Result<Vec<String>, String> {
    if value.trim() == "none" {
        return Ok(Vec::new());
    }
    let names: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err("expected comma-separated names, or none".into());
    }
    Ok(names)
}

/// A traces- or metrics-specific endpoint (`OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`), used as is.
pub(crate) fn exact_endpoint(value: &str) -> Result<EndpointSetting, String> {
    endpoint_with(value, EndpointPath::Exact)
}

/// The base URL of `OTEL_EXPORTER_OTLP_ENDPOINT`: the signal's path is appended.
pub(crate) fn base_endpoint(value: &str) -> Result<EndpointSetting, String> {
    endpoint_with(value, EndpointPath::Base)
}

/// An endpoint of the builder or the config file: the signal's path is appended to a bare URL.
pub(crate) fn completed_endpoint(value: &str) -> Result<EndpointSetting, String> {
    endpoint_with(value, EndpointPath::AppendIfEmpty)
}

fn endpoint_with(value: &str, path: EndpointPath) -> Result<EndpointSetting, String> {
    Ok(EndpointSetting {
        url: crate::export::endpoint::parse(value)?,
        path,
    })
}
