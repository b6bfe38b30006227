//! Parsers shared by environment variables, the config file and the builder.
//!
//! Each returns a plain reason on failure; the caller attaches the setting's name
//! and value, so every error reads `SETTING=value: reason`.

use super::{Compression, Protocol, TracesExporter};
use crate::sampling::{Sampler, SamplingRule};
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

pub(crate) fn count(value: &str) -> Result<usize, String> {
    let n: usize = value
        .trim()
        .parse()
        .map_err(|_| "expected a positive integer".to_owned())?;
    if n == 0 {
        return Err("must be greater than zero".into());
    }
    Ok(n)
}

/// Milliseconds, as the OpenTelemetry spec writes durations in environment variables.
pub(crate) fn millis(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| "expected a whole number of milliseconds".into())
}

/// Like [`millis`], but zero is refused (an interval or a timeout).
pub(crate) fn positive_millis(value: &str) -> Result<Duration, String> {
    nonzero(millis(value)?)
}

/// Like [`duration`], but zero is refused (an interval or a timeout).
pub(crate) fn positive_duration(value: &str) -> Result<Duration, String> {
    nonzero(duration(value)?)
}

fn nonzero(d: Duration) -> Result<Duration, String> {
    if d.is_zero() {
        Err("must be greater than zero".into())
    } else {
        Ok(d)
    }
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

/// `OTEL_METRICS_EXPORTER`: one of `otlp`, `none`.
pub(crate) fn metrics_exporter(value: &str) -> Result<crate::MetricsExporter, String> {
    match value.trim() {
        "otlp" => Ok(crate::MetricsExporter::Otlp),
        "none" => Ok(crate::MetricsExporter::None),
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

/// `OTEL_TRACES_SAMPLER` with its `OTEL_TRACES_SAMPLER_ARG` (parsed by [`ratio`]).
pub(crate) fn sampler(value: &str, ratio: Option<f64>) -> Result<Sampler, String> {
    let ratio = ratio.unwrap_or(1.0);
    Ok(match value.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio),
        "parentbased_always_on" => Sampler::parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => Sampler::parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => Sampler::parent_based(Sampler::TraceIdRatio(ratio)),
        _ => {
            return Err(
                "expected always_on, always_off, traceidratio, parentbased_always_on, \
                        parentbased_always_off or parentbased_traceidratio"
                    .into(),
            )
        }
    })
}

/// An overhead budget: a fraction (`0.02`) or a percentage (`2%`), above 0 and below 1.
pub(crate) fn budget(value: &str) -> Result<f64, String> {
    let value = value.trim();
    let parsed = match value.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => value.parse::<f64>(),
    };
    match parsed {
        Ok(b) if b > 0.0 && b < 1.0 => Ok(b),
        _ => Err("expected a fraction such as 0.02 or a percentage such as 2%".into()),
    }
}

/// The circuit breaker's failure-rate rule: `RATE/MIN_CALLS`, e.g. `0.5/20` (open when
/// at least half of the calls in the window failed, once it holds 20 or more).
pub(crate) fn failure_rate(value: &str) -> Result<(f64, u32), String> {
    const FORMAT: &str = "expected RATE/MIN_CALLS, e.g. 0.5/20 (open when at least half \
                          of 20 or more calls in the window failed)";
    let (rate, min_calls) = value.trim().split_once('/').ok_or(FORMAT)?;
    let rate: f64 = rate.trim().parse().map_err(|_| FORMAT.to_owned())?;
    if rate.is_nan() || rate <= 0.0 || rate > 1.0 {
        return Err("the rate must be above 0 and at most 1, e.g. 0.5/20".into());
    }
    let min_calls: u32 = min_calls
        .trim()
        .parse()
        .map_err(|_| "the minimum number of calls after / must be a positive integer".to_owned())?;
    if min_calls == 0 {
        return Err("the minimum number of calls after / must be greater than zero".into());
    }
    Ok((rate, min_calls))
}

/// A sampling ratio between 0 and 1.
pub(crate) fn span_metrics_profile(value: &str) -> Result<crate::SpanMetricsProfile, String> {
    match value.trim() {
        "collector" => Ok(crate::SpanMetricsProfile::Collector),
        "tempo" => Ok(crate::SpanMetricsProfile::Tempo),
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

pub(crate) fn ratio(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("expected a ratio between 0.0 and 1.0".into()),
    }
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
    match n.checked_mul(unit) {
        Some(0) => Err("must be greater than zero".into()),
        Some(bytes) => Ok(bytes),
        None => Err("size is too large".into()),
    }
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

/// Checks an endpoint URL: it must parse and use http or https.
pub(crate) fn endpoint(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| {
        format!("not a URL ({e}); write it with a scheme, e.g. http://localhost:4317")
    })?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".into()),
        _ => Err(
            "the endpoint needs an http:// or https:// scheme, e.g. http://localhost:4317".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1500"), Ok(Duration::from_millis(1500)));
        assert!(duration("5 parsecs").is_err());
        assert!(duration("").is_err());
        assert!(millis("1.5").is_err());
    }

    #[test]
    fn key_value_lists() {
        assert_eq!(
            key_values("a=1, b = x%20y ,").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
        assert!(key_values("novalue").is_err());
        assert!(key_values("=v").is_err());
        assert!(key_values("a=%zz").is_err());
    }

    #[test]
    fn endpoints_need_a_scheme() {
        assert!(endpoint("http://localhost:4317").is_ok());
        assert!(endpoint("localhost:4317").is_err());
        assert!(endpoint("ftp://collector").is_err());
        assert!(endpoint("not a url").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes("64MiB"), Ok(64 << 20));
        assert_eq!(bytes("1g"), Ok(1 << 30));
        assert_eq!(bytes("4096"), Ok(4096));
        assert!(bytes("0").is_err());
        assert!(bytes("lots").is_err());
        assert!(bytes("5TB").is_err());
    }

    #[test]
    fn samplers_and_rules() {
        assert_eq!(
            sampler("traceidratio", Some(0.5)),
            Ok(Sampler::TraceIdRatio(0.5))
        );
        assert_eq!(
            sampler("parentbased_always_on", None),
            Ok(Sampler::default())
        );
        assert!(sampler("jaeger_remote", None).is_err());
        assert!(ratio("1.5").is_err());
        assert!(ratio("abc").is_err());
        let rules = sampling_rules("app::hot=0.001, app::jobs=0.2@10, /health=0").unwrap();
        assert_eq!(rules[0], SamplingRule::target("app::hot").ratio(0.001));
        assert_eq!(
            rules[1],
            SamplingRule::target("app::jobs")
                .ratio(0.2)
                .rate_limit(10.0)
        );
        assert_eq!(rules[2], SamplingRule::name("health").ratio(0.0));
        assert!(sampling_rules("app=2").is_err());
        assert!(sampling_rules("app").is_err());
        assert!(sampling_rules("app=0.5@fast").is_err());
    }

    #[test]
    fn failure_rates() {
        assert_eq!(failure_rate("0.5/20"), Ok((0.5, 20)));
        assert_eq!(failure_rate(" 1 / 1 "), Ok((1.0, 1)));
        for bad in [
            "0.5", "half/20", "0/20", "1.5/20", "NaN/20", "-0.5/20", "0.5/0", "0.5/x", "0.5/-1",
            "/",
        ] {
            assert!(failure_rate(bad).is_err(), "{bad}");
        }
        assert!(failure_rate("0.5")
            .unwrap_err()
            .starts_with("expected RATE/MIN_CALLS"));
    }

    #[test]
    fn enums() {
        assert_eq!(protocol("http/protobuf"), Ok(Protocol::HttpProtobuf));
        assert!(protocol("grpcx").is_err());
        assert_eq!(compression("gzip"), Ok(Compression::Gzip));
        assert!(compression("zstd").is_err());
        assert_eq!(traces_exporter("none"), Ok(TracesExporter::None));
        assert!(traces_exporter("otlp,console").is_err());
        assert_eq!(boolean("TRUE"), Ok(true));
        assert!(boolean("yes").is_err());
        assert!(count("0").is_err());
    }
}
