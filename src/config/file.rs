//! The TOML config file (`OBSERVER_CONFIG`): the builder's settings under the builder's names.
//!
//! ```toml
//! service_name = "checkout"
//! endpoint = "http://collector:4317"
//! protocol = "grpc"
//! request_timeout = "10s"
//! scheduled_delay = "1s"
//! max_queue_size = 65536
//! headers = { authorization = "Bearer token" }
//! resource_attributes = { "deployment.environment.name" = "prod" }
//! ```

use super::{parse, EndpointPath, EndpointSetting, Settings};
use crate::error::BuildError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    service_name: Option<String>,
    service_version: Option<String>,
    #[serde(default)]
    resource_attributes: BTreeMap<String, String>,
    traces_exporter: Option<String>,
    endpoint: Option<String>,
    protocol: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    compression: Option<String>,
    request_timeout: Option<String>,
    insecure: Option<bool>,
    certificate: Option<PathBuf>,
    max_queue_size: Option<usize>,
    max_export_batch_size: Option<usize>,
    max_concurrent_exports: Option<usize>,
    max_queue_bytes: Option<usize>,
    scheduled_delay: Option<String>,
    export_timeout: Option<String>,
    max_attributes_per_span: Option<usize>,
    max_events_per_span: Option<usize>,
    max_attributes_per_event: Option<usize>,
    max_links_per_span: Option<usize>,
    max_attribute_value_bytes: Option<usize>,
    shutdown_timeout: Option<String>,
    disabled: Option<bool>,
    redact_fields: Option<Vec<String>>,
    allow_fields: Option<Vec<String>>,
    sampler: Option<String>,
    sampler_arg: Option<f64>,
    sampling_rules: Option<Vec<crate::sampling::SamplingRule>>,
    keep_errors: Option<bool>,
    slow_span_threshold: Option<String>,
    overhead_budget: Option<String>,
    cpu_time: Option<bool>,
    spool: Option<bool>,
    spool_dir: Option<PathBuf>,
    spool_max_bytes: Option<u64>,
    spool_retention: Option<String>,
    spool_archive_dir: Option<PathBuf>,
    spool_archive_compress: Option<bool>,
    spool_cleanup_interval: Option<String>,
    spool_sync_interval: Option<String>,
    circuit_breaker_threshold: Option<u32>,
    circuit_breaker_timeout: Option<String>,
    circuit_breaker_failure_rate: Option<String>,
    circuit_breaker_window: Option<String>,
    retry_initial_backoff: Option<String>,
    retry_max_backoff: Option<String>,
    retry_max_elapsed_time: Option<String>,
    span_metrics: Option<bool>,
    span_metrics_profile: Option<String>,
    span_metrics_dimensions: Option<Vec<String>>,
    span_metrics_max_series: Option<usize>,
    http_addr: Option<String>,
    resource_interval: Option<String>,
    panic_hook: Option<bool>,
    max_worker_restarts: Option<usize>,
    metrics_exporter: Option<String>,
    metric_export_interval: Option<String>,
    metric_export_timeout: Option<String>,
    metrics_endpoint: Option<String>,
    metrics_protocol: Option<String>,
}

/// Reads and parses a config file into a settings layer.
pub(crate) fn load(path: &Path) -> Result<Settings, BuildError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| BuildError::ConfigFileUnreadable {
            path: path.to_owned(),
            source,
        })?;
    parse_text(&text, path)
}

fn parse_text(text: &str, path: &Path) -> Result<Settings, BuildError> {
    let file: FileSettings = toml::from_str(text).map_err(|e| BuildError::ConfigFileInvalid {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let origin = |key: &str| format!("{key} (config file {})", path.display());
    fn parse_field<T>(
        origin: &dyn Fn(&str) -> String,
        key: &str,
        value: Option<String>,
        parser: fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, BuildError> {
        value
            .map(|v| parser(&v).map_err(|reason| BuildError::invalid(origin(key), v, reason)))
            .transpose()
    }
    let count = |key: &str, value: Option<usize>| -> Result<Option<usize>, BuildError> {
        match value {
            Some(0) => Err(BuildError::invalid(
                origin(key),
                "0",
                "must be greater than zero",
            )),
            other => Ok(other),
        }
    };
    let endpoint_at = |key: &str, value: Option<String>| -> Result<_, BuildError> {
        value
            .map(|v| {
                Ok(EndpointSetting {
                    url: parse::endpoint(&v)
                        .map_err(|reason| BuildError::invalid(origin(key), &v, reason))?,
                    path: EndpointPath::AppendIfEmpty,
                })
            })
            .transpose()
    };
    let endpoint = endpoint_at("endpoint", file.endpoint)?;
    let metrics_endpoint = endpoint_at("metrics_endpoint", file.metrics_endpoint)?;
    Ok(Settings {
        service_name: file.service_name,
        default_service_name: None,
        service_version: file.service_version,
        resource_attributes: file.resource_attributes.into_iter().collect(),
        traces_exporter: parse_field(
            &origin,
            "traces_exporter",
            file.traces_exporter,
            parse::traces_exporter,
        )?,
        endpoint,
        protocol: parse_field(&origin, "protocol", file.protocol, parse::protocol)?,
        headers: file.headers.into_iter().collect(),
        compression: parse_field(&origin, "compression", file.compression, parse::compression)?,
        request_timeout: parse_field(
            &origin,
            "request_timeout",
            file.request_timeout,
            parse::duration,
        )?,
        insecure: file.insecure.map(|v| (v, origin("insecure"))),
        certificate: file.certificate.map(|p| (p, origin("certificate"))),
        max_queue_size: count("max_queue_size", file.max_queue_size)?,
        max_export_batch_size: count("max_export_batch_size", file.max_export_batch_size)?,
        max_concurrent_exports: count("max_concurrent_exports", file.max_concurrent_exports)?,
        max_queue_bytes: count("max_queue_bytes", file.max_queue_bytes)?,
        scheduled_delay: parse_field(
            &origin,
            "scheduled_delay",
            file.scheduled_delay,
            parse::duration,
        )?,
        export_timeout: parse_field(
            &origin,
            "export_timeout",
            file.export_timeout,
            parse::duration,
        )?,
        max_attributes_per_span: count("max_attributes_per_span", file.max_attributes_per_span)?,
        max_events_per_span: count("max_events_per_span", file.max_events_per_span)?,
        max_attributes_per_event: count("max_attributes_per_event", file.max_attributes_per_event)?,
        max_links_per_span: count("max_links_per_span", file.max_links_per_span)?,
        max_attribute_value_bytes: count(
            "max_attribute_value_bytes",
            file.max_attribute_value_bytes,
        )?,
        shutdown_timeout: parse_field(
            &origin,
            "shutdown_timeout",
            file.shutdown_timeout,
            parse::duration,
        )?,
        disabled: file.disabled,
        redact_fields: file.redact_fields,
        allow_fields: file.allow_fields,
        sampler: match file.sampler {
            Some(name) => {
                if let Some(arg) = file.sampler_arg {
                    parse::ratio(&arg.to_string()).map_err(|reason| {
                        BuildError::invalid(origin("sampler_arg"), arg.to_string(), reason)
                    })?;
                }
                Some(
                    parse::sampler(&name, file.sampler_arg)
                        .map_err(|reason| BuildError::invalid(origin("sampler"), &name, reason))?,
                )
            }
            None => None,
        },
        sampling_rules: file
            .sampling_rules
            .map(|rules| (rules, origin("sampling_rules"))),
        keep_errors: file.keep_errors,
        cpu_time: file.cpu_time,
        overhead_budget: parse_field(
            &origin,
            "overhead_budget",
            file.overhead_budget,
            parse::budget,
        )?,
        slow_span_threshold: parse_field(
            &origin,
            "slow_span_threshold",
            file.slow_span_threshold,
            parse::duration,
        )?,
        spool: file.spool,
        spool_dir: file.spool_dir,
        spool_max_bytes: match file.spool_max_bytes {
            Some(0) => {
                return Err(BuildError::invalid(
                    origin("spool_max_bytes"),
                    "0",
                    "must be greater than zero",
                ))
            }
            other => other,
        },
        spool_retention: parse_field(
            &origin,
            "spool_retention",
            file.spool_retention,
            parse::duration,
        )?,
        spool_archive_dir: file.spool_archive_dir,
        spool_archive_compress: file.spool_archive_compress,
        spool_cleanup_interval: parse_field(
            &origin,
            "spool_cleanup_interval",
            file.spool_cleanup_interval,
            parse::duration,
        )?,
        spool_sync_interval: parse_field(
            &origin,
            "spool_sync_interval",
            file.spool_sync_interval,
            parse::duration,
        )?,
        circuit_breaker_threshold: file.circuit_breaker_threshold,
        circuit_breaker_timeout: parse_field(
            &origin,
            "circuit_breaker_timeout",
            file.circuit_breaker_timeout,
            parse::duration,
        )?,
        circuit_breaker_failure_rate: parse_field(
            &origin,
            "circuit_breaker_failure_rate",
            file.circuit_breaker_failure_rate,
            parse::failure_rate,
        )?,
        circuit_breaker_window: parse_field(
            &origin,
            "circuit_breaker_window",
            file.circuit_breaker_window,
            parse::positive_duration,
        )?,
        retry_initial_backoff: parse_field(
            &origin,
            "retry_initial_backoff",
            file.retry_initial_backoff,
            parse::duration,
        )?,
        retry_max_backoff: parse_field(
            &origin,
            "retry_max_backoff",
            file.retry_max_backoff,
            parse::duration,
        )?,
        retry_max_elapsed_time: parse_field(
            &origin,
            "retry_max_elapsed_time",
            file.retry_max_elapsed_time,
            parse::duration,
        )?,
        data_home: None,
        span_metrics: file.span_metrics,
        span_metrics_profile: parse_field(
            &origin,
            "span_metrics_profile",
            file.span_metrics_profile,
            parse::span_metrics_profile,
        )?,
        span_metrics_dimensions: file.span_metrics_dimensions,
        span_metrics_max_series: count("span_metrics_max_series", file.span_metrics_max_series)?,
        http_addr: parse_field(&origin, "http_addr", file.http_addr, parse::socket_addr)?
            .map(|addr| (addr, origin("http_addr"))),
        resource_interval: parse_field(
            &origin,
            "resource_interval",
            file.resource_interval,
            parse::duration,
        )?,
        panic_hook: file.panic_hook,
        max_worker_restarts: count("max_worker_restarts", file.max_worker_restarts)?,
        metrics_exporter: parse_field(
            &origin,
            "metrics_exporter",
            file.metrics_exporter,
            parse::metrics_exporter,
        )?,
        metric_export_interval: parse_field(
            &origin,
            "metric_export_interval",
            file.metric_export_interval,
            parse::positive_duration,
        )?,
        metric_export_timeout: parse_field(
            &origin,
            "metric_export_timeout",
            file.metric_export_timeout,
            parse::positive_duration,
        )?,
        metrics_endpoint,
        metrics_protocol: parse_field(
            &origin,
            "metrics_protocol",
            file.metrics_protocol,
            parse::protocol,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Settings, BuildError> {
        parse_text(text, Path::new("observer.toml"))
    }

    #[test]
    fn reads_builder_keys() {
        let s = parse(
            r#"
            service_name = "checkout"
            endpoint = "http://collector:4318"
            protocol = "http/protobuf"
            scheduled_delay = "1s"
            max_queue_size = 1000
            headers = { authorization = "Bearer x" }
            spool_dir = "/var/spool/app"
            spool_max_bytes = 1000000
            spool_retention = "2h"
            spool_archive_dir = "/var/spool/archive"
            spool_archive_compress = true
            circuit_breaker_threshold = 3
            circuit_breaker_timeout = "10s"
            circuit_breaker_failure_rate = "0.5/20"
            circuit_breaker_window = "30s"
            metrics_exporter = "otlp"
            metric_export_interval = "15s"
            metrics_endpoint = "http://metrics:4318"
            metrics_protocol = "http/json"
            "#,
        )
        .unwrap();
        assert_eq!(s.spool_dir, Some(PathBuf::from("/var/spool/app")));
        assert_eq!(s.spool_max_bytes, Some(1_000_000));
        assert_eq!(s.spool_retention, Some(Duration::from_secs(7200)));
        assert_eq!(
            s.spool_archive_dir,
            Some(PathBuf::from("/var/spool/archive"))
        );
        assert_eq!(s.spool_archive_compress, Some(true));
        assert_eq!(s.circuit_breaker_threshold, Some(3));
        assert_eq!(s.circuit_breaker_timeout, Some(Duration::from_secs(10)));
        assert_eq!(s.circuit_breaker_failure_rate, Some((0.5, 20)));
        assert_eq!(s.circuit_breaker_window, Some(Duration::from_secs(30)));
        assert_eq!(s.metrics_exporter, Some(crate::MetricsExporter::Otlp));
        assert_eq!(s.metric_export_interval, Some(Duration::from_secs(15)));
        let metrics = s.metrics_endpoint.as_ref().unwrap();
        assert_eq!(metrics.url.as_str(), "http://metrics:4318/");
        assert_eq!(s.metrics_protocol, Some(crate::Protocol::HttpJson));
        assert_eq!(s.service_name.as_deref(), Some("checkout"));
        assert_eq!(s.scheduled_delay, Some(Duration::from_secs(1)));
        assert_eq!(s.max_queue_size, Some(1000));
        assert_eq!(s.headers, vec![("authorization".into(), "Bearer x".into())]);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = parse("servce_name = \"typo\"").unwrap_err().to_string();
        assert!(err.contains("servce_name"), "{err}");
        assert!(err.contains("observer.toml"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key_and_file() {
        let err = parse("protocol = \"grpcx\"").unwrap_err().to_string();
        assert!(
            err.starts_with("protocol (config file observer.toml)=grpcx:"),
            "{err}"
        );
        let err = parse("max_queue_size = \"big\"").unwrap_err().to_string();
        assert!(err.contains("max_queue_size"), "{err}");
        let err = parse("metric_export_interval = \"0s\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("metric_export_interval (config file observer.toml)=0s: must be"),
            "{err}"
        );
        let err = parse("metrics_exporter = \"console\"")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("metrics_exporter (config file"), "{err}");
        let err = parse("circuit_breaker_failure_rate = \"0.5\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "circuit_breaker_failure_rate (config file observer.toml)=0.5: expected RATE/MIN_CALLS"
            ),
            "{err}"
        );
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let err = load(Path::new("/nonexistent/observer.toml")).unwrap_err();
        assert!(matches!(err, BuildError::ConfigFileUnreadable { .. }));
    }
}
