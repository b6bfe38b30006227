//! Reading the environment.
use crate::config::env::Environment;
use crate::config::{vars, EndpointPath};
use crate::config::{Compression, ExporterConfig, Protocol};
use std::path::PathBuf;
use std::time::Duration;

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn traces_specific_variables_win() {
    let s = env(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2000"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
    ])
    .settings()
    .unwrap();
    assert_eq!(s.request_timeout, Some(Duration::from_millis(2000)));
    let endpoint = s.endpoint.unwrap();
    assert_eq!(endpoint.path, EndpointPath::Base);
}

#[test]
fn errors_name_the_variable_and_value() {
    let cases = [
        ("OTEL_BSP_MAX_QUEUE_SIZE", "abc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcx"),
        ("OTEL_SDK_DISABLED", "maybe"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ("OBSERVER_SHUTDOWN_TIMEOUT", "soon"),
        ("OBSERVER_SPOOL", "maybe"),
        ("OBSERVER_SPOOL_MAX_BYTES", "lots"),
        ("OBSERVER_SPOOL_RETENTION", "forever"),
        ("OBSERVER_SPOOL_ARCHIVE_COMPRESS", "gzip"),
        ("OBSERVER_CIRCUIT_BREAKER_THRESHOLD", "0"),
        ("OBSERVER_CIRCUIT_BREAKER_TIMEOUT", "later"),
        ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.5"),
        ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "2/10"),
        ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.5/0"),
        ("OBSERVER_CIRCUIT_BREAKER_WINDOW", "0s"),
        ("OBSERVER_CIRCUIT_BREAKER_WINDOW", "a while"),
        ("OBSERVER_SPAN_METRICS_PROFILE", "jaeger"),
        ("OBSERVER_HTTP_ADDR", "localhost"),
        ("OBSERVER_PANIC_HOOK", "yes"),
        ("OBSERVER_MAX_WORKER_RESTARTS", "0"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "0"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "thrift"),
        ("OTEL_LOGS_EXPORTER", "loki"),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "syslog"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "0"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "soon"),
        ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "0"),
        ("OBSERVER_LOGS_LEVEL", "loud"),
        ("OBSERVER_LOGS_RATE_LIMIT", "-1"),
        ("OBSERVER_SPAN_EVENTS", "sometimes"),
    ];
    for (name, value) in cases {
        let err = env(&[(name, value)]).settings().unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{name}={value} (environment): ")),
            "{err}"
        );
    }
    // Every error names what was expected.
    let err = env(&[("OTEL_BSP_MAX_QUEUE_SIZE", "abc")])
        .settings()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "OTEL_BSP_MAX_QUEUE_SIZE=abc (environment): expected a positive integer"
    );
    let err = env(&[("OBSERVER_CIRCUIT_BREAKER_WINDOW", "0s")])
        .settings()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "OBSERVER_CIRCUIT_BREAKER_WINDOW=0s (environment): must be greater than zero"
    );
    let err = env(&[("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "50")])
        .settings()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE=50 (environment): expected RATE/MIN_CALLS"
        ),
        "{err}"
    );
}

#[test]
fn out_of_range_values_name_the_variable() {
    let error = |pairs: &[(&str, &str)]| env(pairs).settings().unwrap_err().to_string();
    assert_eq!(
        error(&[("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "1.5/20")]),
        "OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE=1.5/20 (environment): the rate must be above 0 and at most 1, e.g. 0.5/20"
    );
    assert_eq!(
        error(&[("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.5/0")]),
        "OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE=0.5/0 (environment): the minimum number of calls after / must be greater than zero"
    );
    assert_eq!(
        error(&[("OBSERVER_OVERHEAD_BUDGET", "150%")]),
        "OBSERVER_OVERHEAD_BUDGET=150% (environment): expected a fraction such as 0.02 or a percentage such as 2%"
    );
    assert_eq!(
        error(&[("OTEL_TRACES_SAMPLER_ARG", "1.5")]),
        "OTEL_TRACES_SAMPLER_ARG=1.5 (environment): expected a ratio between 0.0 and 1.0"
    );
    assert_eq!(
        error(&[("OTEL_TRACES_SAMPLER_ARG", "half")]),
        "OTEL_TRACES_SAMPLER_ARG=half (environment): expected a ratio between 0.0 and 1.0"
    );
}

#[test]
fn every_value_carries_its_variable() {
    let s = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
        ("XDG_DATA_HOME", "/xdg"),
    ])
    .settings()
    .unwrap();
    let name = |origin: Option<crate::config::origin::Origin>| origin.unwrap().to_string();
    assert_eq!(
        name(s.origins.endpoint),
        "OTEL_EXPORTER_OTLP_ENDPOINT (environment)"
    );
    assert_eq!(
        name(s.origins.max_queue_size),
        "OTEL_BSP_MAX_QUEUE_SIZE (environment)"
    );
    assert_eq!(name(s.origins.data_home), "XDG_DATA_HOME (environment)");
    assert!(s.origins.service_name.is_none());
}

#[test]
fn the_sampler_takes_the_argument_of_its_source() {
    let s = env(&[
        (vars::OTEL_TRACES_SAMPLER, "parentbased_traceidratio"),
        (vars::OTEL_TRACES_SAMPLER_ARG, "0.25"),
    ])
    .settings()
    .unwrap();
    assert_eq!(
        s.sampler,
        Some(crate::Sampler::parent_based(crate::Sampler::TraceIdRatio(
            0.25
        )))
    );
    assert_eq!(s.sampler_arg, None, "consumed by the layer's sampler");
    let s = env(&[(vars::OTEL_TRACES_SAMPLER_ARG, "0.25")])
        .settings()
        .unwrap();
    assert_eq!((s.sampler, s.sampler_arg), (None, None));
}

#[test]
fn the_overhead_budget_has_the_builders_name_and_a_deprecated_alias() {
    let read = |pairs: &[(&str, &str)]| env(pairs).settings().unwrap().overhead_budget;
    assert_eq!(read(&[("OBSERVER_OVERHEAD_BUDGET", "2%")]), Some(0.02));
    assert_eq!(read(&[("OBSERVER_OVERHEAD_THRESHOLD", "0.05")]), Some(0.05));
    assert_eq!(
        read(&[
            ("OBSERVER_OVERHEAD_THRESHOLD", "0.05"),
            ("OBSERVER_OVERHEAD_BUDGET", "0.01")
        ]),
        Some(0.01)
    );
}

#[test]
fn unknown_observer_async_variables_are_not_read() {
    let s = env(&[
        ("OBSERVER_ASYNC_QUEUE_SIZE", "77"),
        ("OBSERVER_ASYNC_WORKER_THREADS", "2"),
    ])
    .settings()
    .unwrap();
    assert_eq!((s.max_queue_size, s.max_concurrent_exports), (None, None));
    assert!(!vars::ALL.iter().any(|v| v.starts_with("OBSERVER_ASYNC")));
}

#[test]
fn delivery_variables_are_read() {
    let s = env(&[
        ("OBSERVER_SPOOL", "off"),
        ("OBSERVER_SPOOL_DIR", "/var/spool/app"),
        ("OBSERVER_SPOOL_MAX_BYTES", "512MiB"),
        ("OBSERVER_SPOOL_RETENTION", "2h"),
        ("OBSERVER_SPOOL_ARCHIVE_DIR", "/archive"),
        ("OBSERVER_SPOOL_ARCHIVE_COMPRESS", "true"),
        ("OBSERVER_CIRCUIT_BREAKER_THRESHOLD", "3"),
        ("OBSERVER_CIRCUIT_BREAKER_TIMEOUT", "10s"),
        ("OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE", "0.25/40"),
        ("OBSERVER_CIRCUIT_BREAKER_WINDOW", "2m"),
        ("XDG_DATA_HOME", "/xdg"),
    ])
    .settings()
    .unwrap();
    assert_eq!(s.spool, Some(false));
    assert_eq!(s.spool_dir, Some(PathBuf::from("/var/spool/app")));
    assert_eq!(s.spool_max_bytes, Some(512 << 20));
    assert_eq!(s.spool_retention, Some(Duration::from_secs(7200)));
    assert_eq!(s.spool_archive_dir, Some(PathBuf::from("/archive")));
    assert_eq!(s.spool_archive_compress, Some(true));
    assert_eq!(s.circuit_breaker_threshold, Some(3));
    assert_eq!(s.circuit_breaker_timeout, Some(Duration::from_secs(10)));
    assert_eq!(s.circuit_breaker_failure_rate, Some((0.25, 40)));
    assert_eq!(s.circuit_breaker_window, Some(Duration::from_secs(120)));
    assert_eq!(s.data_home, Some(PathBuf::from("/xdg")));
}

#[test]
fn metrics_variables_are_read() {
    let s = env(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "1000"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
    ])
    .settings()
    .unwrap();
    assert_eq!(
        s.metrics_exporter,
        Some(super::super::MetricsExporter::Otlp)
    );
    assert_eq!(s.metric_export_interval, Some(Duration::from_secs(5)));
    assert_eq!(s.metric_export_timeout, Some(Duration::from_secs(1)));
    assert_eq!(
        s.metrics_protocol,
        Some(super::super::Protocol::HttpProtobuf)
    );
    assert!(s.metrics_endpoint.is_none(), "follows the traces endpoint");
    // A traces-specific endpoint leaves metrics to the general one.
    let s = env(&[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/traces"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g:4318"),
    ])
    .settings()
    .unwrap();
    let metrics = s.metrics_endpoint.unwrap();
    assert_eq!(
        (metrics.url.as_str(), metrics.path),
        ("http://g:4318/", EndpointPath::Base)
    );
    let s = env(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/m")])
        .settings()
        .unwrap();
    assert_eq!(s.metrics_endpoint.unwrap().path, EndpointPath::Exact);
}

#[test]
fn empty_variables_are_unset() {
    let s = env(&[("OTEL_SERVICE_NAME", " ")]).settings().unwrap();
    assert_eq!(s.service_name, None);
}

#[test]
fn the_logs_variables_configure_the_logs_pipeline() {
    let config = env(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://logs:4318/custom/logs",
        ),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-scope-orgid=tenant-1"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1500"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "4000"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "500"),
        ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "7"),
        ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "99"),
        ("OBSERVER_LOGS_LEVEL", "warn"),
        ("OBSERVER_LOGS_RATE_LIMIT", "0"),
        ("OBSERVER_SPAN_EVENTS", "false"),
    ])
    .settings()
    .unwrap()
    .resolve()
    .unwrap();
    assert!(!config.span_events);
    let logs = config.logs.expect("logs follow the OTLP traces");
    let ExporterConfig::Otlp(otlp) = &logs.exporter else {
        panic!("{:?}", logs.exporter)
    };
    assert_eq!(
        otlp.endpoint.as_str(),
        "http://logs:4318/custom/logs",
        "used as is"
    );
    assert_eq!(otlp.protocol, Protocol::HttpProtobuf);
    assert_eq!(
        otlp.headers,
        vec![("x-scope-orgid".into(), "tenant-1".into())]
    );
    assert_eq!(otlp.compression, Compression::Gzip);
    assert_eq!(otlp.timeout, Duration::from_millis(1500));
    assert_eq!(logs.batch.scheduled_delay, Duration::from_millis(250));
    assert_eq!(logs.batch.export_timeout, Duration::from_millis(4000));
    assert_eq!(logs.batch.max_queue_size, 100);
    assert_eq!(
        logs.batch.max_export_batch_size, 100,
        "clamped to the queue"
    );
    let capture = logs.capture;
    assert_eq!(capture.max_attributes, 7);
    assert_eq!(capture.max_value_bytes, 99);
    assert_eq!(capture.level, tracing_core::LevelFilter::WARN);
    assert_eq!(capture.per_callsite_rate, None);

    let off = env(&[("OTEL_LOGS_EXPORTER", "none")]).settings().unwrap();
    assert!(off.resolve().unwrap().logs.is_none());
    let console = env(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "console"),
    ]);
    let logs = console
        .settings()
        .unwrap()
        .resolve()
        .unwrap()
        .logs
        .expect("on");
    assert!(matches!(logs.exporter, ExporterConfig::Console));
}
