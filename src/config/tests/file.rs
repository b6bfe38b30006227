//! The config file's keys and errors.
use crate::config::file::load;
use crate::config::Settings;
use crate::error::BuildError;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn parse(text: &str) -> Result<Settings, BuildError> {
    Settings::read_file(text, Path::new("observer.toml"))
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
    assert_eq!(
        s.metrics_exporter,
        Some(crate::config::MetricsExporter::Otlp)
    );
    assert_eq!(s.metric_export_interval, Some(Duration::from_secs(15)));
    let metrics = s.metrics_endpoint.as_ref().unwrap();
    assert_eq!(metrics.url.as_str(), "http://metrics:4318/");
    assert_eq!(s.metrics_protocol, Some(crate::config::Protocol::HttpJson));
    assert_eq!(s.service_name.as_deref(), Some("checkout"));
    assert_eq!(s.scheduled_delay, Some(Duration::from_secs(1)));
    assert_eq!(s.max_queue_size, Some(1000));
    assert_eq!(
        s.headers,
        Some(vec![("authorization".into(), "Bearer x".into())])
    );
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
        err.starts_with("protocol=grpcx (config file observer.toml): expected grpc"),
        "{err}"
    );
    let err = parse("max_queue_size = \"big\"").unwrap_err().to_string();
    assert_eq!(
        err,
        "max_queue_size=big (config file observer.toml): expected a positive integer"
    );
    let err = parse("max_queue_size = 0").unwrap_err().to_string();
    assert_eq!(
        err,
        "max_queue_size=0 (config file observer.toml): must be greater than zero"
    );
    let err = parse("circuit_breaker_threshold = 0")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("circuit_breaker_threshold=0 (config file"),
        "{err}"
    );
    let err = parse("metric_export_interval = \"0s\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "metric_export_interval=0s (config file observer.toml): must be greater than zero"
        ),
        "{err}"
    );
    let err = parse("metrics_exporter = \"console\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "metrics_exporter=console (config file observer.toml): expected otlp or none"
        ),
        "{err}"
    );
    let err = parse("circuit_breaker_failure_rate = \"0.5\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "circuit_breaker_failure_rate=0.5 (config file observer.toml): expected RATE/MIN_CALLS"
        ),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_an_error() {
    let err = load(Path::new("/nonexistent/observer.toml")).unwrap_err();
    assert!(matches!(err, BuildError::ConfigFileUnreadable { .. }));
}

#[test]
fn every_value_carries_its_key_and_file() {
    let s = parse("spool = false\nsampler = \"traceidratio\"\nsampler_arg = 0.5\n").unwrap();
    assert_eq!(
        s.origins.spool.as_ref().unwrap().to_string(),
        "spool (config file observer.toml)"
    );
    let s = s.finish_layer();
    assert_eq!(s.sampler, Some(crate::Sampler::TraceIdRatio(0.5)));
}

#[test]
fn the_overhead_budget_is_a_fraction_or_a_percentage() {
    assert_eq!(
        parse("overhead_budget = 0.02").unwrap().overhead_budget,
        Some(0.02)
    );
    assert_eq!(
        parse("overhead_budget = \"2%\"").unwrap().overhead_budget,
        Some(0.02)
    );
    let err = parse("overhead_budget = 1.5").unwrap_err().to_string();
    assert!(
        err.starts_with("overhead_budget=1.5 (config file observer.toml): expected a fraction"),
        "{err}"
    );
    let err = parse("overhead_budget = \"150%\"").unwrap_err().to_string();
    assert!(
        err.starts_with("overhead_budget=150% (config file observer.toml): expected a fraction"),
        "{err}"
    );
}

#[test]
fn out_of_range_values_name_the_key_and_file() {
    let error = |text: &str| parse(text).unwrap_err().to_string();
    assert_eq!(
        error("circuit_breaker_failure_rate = \"1.5/20\""),
        "circuit_breaker_failure_rate=1.5/20 (config file observer.toml): the rate must be above 0 and at most 1, e.g. 0.5/20"
    );
    assert_eq!(
        error("sampler_arg = 1.5"),
        "sampler_arg=1.5 (config file observer.toml): expected a ratio between 0.0 and 1.0"
    );
    assert_eq!(
        error("sampler_arg = \"half\""),
        "sampler_arg=half (config file observer.toml): expected a ratio between 0.0 and 1.0"
    );
}
