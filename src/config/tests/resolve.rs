//! Merging layers and resolving them into the configuration.
use crate::config::*;
use crate::error::BuildError;
use crate::export::endpoint::{complete_endpoint, Signal};
use std::path::PathBuf;
use std::time::Duration;

fn endpoint(url: &str, path: EndpointPath) -> EndpointSetting {
    EndpointSetting {
        url: url::Url::parse(url).unwrap(),
        path,
    }
}

#[test]
fn http_endpoints_follow_the_spec() {
    let http = Protocol::HttpProtobuf;
    let base = endpoint("http://c:4318", EndpointPath::Base);
    assert_eq!(
        complete_endpoint(&base, http, Signal::Traces).as_str(),
        "http://c:4318/v1/traces"
    );
    let base = endpoint("http://c:4318/otlp/", EndpointPath::Base);
    assert_eq!(
        complete_endpoint(&base, http, Signal::Traces).as_str(),
        "http://c:4318/otlp/v1/traces"
    );
    let exact = endpoint("http://c:4318/custom", EndpointPath::Exact);
    assert_eq!(
        complete_endpoint(&exact, http, Signal::Traces).as_str(),
        "http://c:4318/custom"
    );
    let builder = endpoint("http://c:4318", EndpointPath::AppendIfEmpty);
    assert_eq!(
        complete_endpoint(&builder, http, Signal::Traces).as_str(),
        "http://c:4318/v1/traces"
    );
    let grpc = endpoint("http://c:4317/ignored", EndpointPath::Exact);
    assert_eq!(
        complete_endpoint(&grpc, Protocol::Grpc, Signal::Traces).as_str(),
        "http://c:4317/"
    );
}

fn metrics_url(settings: Settings) -> Result<String, BuildError> {
    let settings = Settings {
        metrics_exporter: Some(MetricsExporter::Otlp),
        ..settings
    };
    let config = settings
        .resolve()?
        .metrics_export
        .expect("metrics export on");
    Ok(config.otlp.endpoint.to_string())
}

#[test]
fn metrics_endpoints_follow_the_traces_endpoint() {
    let http = Some(Protocol::HttpProtobuf);
    let with = |url: &str, path, protocol| Settings {
        endpoint: Some(endpoint(url, path)),
        protocol,
        ..Settings::default()
    };
    let cases = [
        (
            with("http://c:4318", EndpointPath::Base, http),
            "http://c:4318/v1/metrics",
        ),
        (
            with("http://c:4318/otlp", EndpointPath::Base, http),
            "http://c:4318/otlp/v1/metrics",
        ),
        (
            with("http://c:4318", EndpointPath::AppendIfEmpty, http),
            "http://c:4318/v1/metrics",
        ),
        (
            with("http://c:4318/x/v1/traces", EndpointPath::Exact, http),
            "http://c:4318/x/v1/metrics",
        ),
        (
            with("http://c:4317/any", EndpointPath::Exact, None),
            "http://c:4317/",
        ),
        (
            Settings {
                protocol: http,
                ..Settings::default()
            },
            DEFAULT_HTTP_METRICS_ENDPOINT,
        ),
        (Settings::default(), "http://localhost:4317/"),
    ];
    for (settings, expected) in cases {
        assert_eq!(metrics_url(settings).unwrap(), expected);
    }
    let custom = with("http://c:4318/custom", EndpointPath::Exact, http);
    let error = metrics_url(custom).unwrap_err().to_string();
    assert!(
        error.starts_with("metrics_endpoint=http://c:4318/custom: "),
        "{error}"
    );
    assert!(
        error.contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        "{error}"
    );
    // Its own endpoint and protocol win; with HTTP, `/v1/metrics` is appended to a bare URL.
    let own = Settings {
        metrics_endpoint: Some(endpoint("http://m:4318", EndpointPath::AppendIfEmpty)),
        metrics_protocol: http,
        ..with("http://c:4317", EndpointPath::Base, None)
    };
    assert_eq!(metrics_url(own).unwrap(), "http://m:4318/v1/metrics");
}

#[test]
fn metrics_export_is_off_by_default_and_bounded() {
    assert!(Settings::default()
        .resolve()
        .unwrap()
        .metrics_export
        .is_none());
    let config = Settings {
        metrics_exporter: Some(MetricsExporter::Otlp),
        metric_export_timeout: Some(Duration::from_secs(2)),
        ..Settings::default()
    }
    .resolve()
    .unwrap()
    .metrics_export
    .unwrap();
    assert_eq!(config.interval, DEFAULT_METRIC_EXPORT_INTERVAL);
    assert_eq!(config.otlp.timeout, Duration::from_secs(2));
}

#[test]
fn later_layers_win_and_lists_merge_by_key() {
    let file = Settings {
        service_name: Some("file".into()),
        max_queue_size: Some(10),
        headers: Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())]),
        ..Settings::default()
    };
    let env = Settings {
        service_name: Some("env".into()),
        headers: Some(vec![("b".into(), "3".into())]),
        ..Settings::default()
    };
    let merged = file.overlay(env);
    assert_eq!(merged.service_name.as_deref(), Some("env"));
    assert_eq!(merged.max_queue_size, Some(10));
    assert_eq!(
        merged.headers,
        Some(vec![("a".into(), "1".into()), ("b".into(), "3".into())])
    );
}

#[test]
fn spool_is_on_by_default_under_the_data_home() {
    let config = Settings {
        service_name: Some("check out".into()),
        data_home: Some(PathBuf::from("/data")),
        ..Settings::default()
    }
    .resolve()
    .unwrap();
    let spool = config.delivery.spool.unwrap();
    assert_eq!(spool.dir, PathBuf::from("/data/tracing-observer/check_out"));
    assert_eq!(spool.max_bytes, 1 << 30);
    assert_eq!(spool.retention, Duration::from_secs(6 * 3600));
    let off = Settings {
        spool: Some(false),
        ..Settings::default()
    };
    assert!(off.resolve().unwrap().delivery.spool.is_none());
}

#[test]
fn the_export_breaker_opens_on_the_failure_rate() {
    use crate::delivery::{BreakerState, CircuitBreaker, EXPORT_BREAKER};
    // Every other export fails: never two failures in a row.
    let alternate = |breaker: &CircuitBreaker, calls: usize| {
        for i in 0..calls {
            let permit = breaker.try_acquire().expect("closed");
            if i % 2 == 0 {
                permit.success();
            } else {
                permit.failure();
            }
        }
    };
    let resolve = |settings: Settings| {
        let config = settings.resolve().unwrap();
        CircuitBreaker::new(EXPORT_BREAKER, config.delivery.breaker)
    };
    let consecutive_only = resolve(Settings {
        circuit_breaker_threshold: Some(2),
        ..Settings::default()
    });
    alternate(&consecutive_only, 40);
    assert_eq!(consecutive_only.state(), BreakerState::Closed);

    let with_rate = resolve(Settings {
        circuit_breaker_threshold: Some(2),
        circuit_breaker_failure_rate: Some((0.5, 10)),
        circuit_breaker_window: Some(Duration::from_secs(30)),
        ..Settings::default()
    });
    assert_eq!(
        with_rate.config(),
        &crate::delivery::BreakerConfig::default()
            .probe_interval(crate::delivery::EXPORT_PROBE_INTERVAL)
            .failure_threshold(2)
            .failure_rate(0.5, 10)
            .window(Duration::from_secs(30))
    );
    alternate(&with_rate, 8);
    assert_eq!(
        with_rate.state(),
        BreakerState::Closed,
        "fewer than 10 calls"
    );
    alternate(&with_rate, 2);
    assert_eq!(with_rate.state(), BreakerState::Open, "5 of 10 failed");
}

#[test]
fn batch_size_is_clamped_to_the_queue() {
    let config = Settings {
        max_queue_size: Some(100),
        ..Settings::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(config.batch.max_export_batch_size, 100);
}

#[test]
fn service_name_falls_back_to_resource_then_executable() {
    let config = Settings {
        resource_attributes: Some(vec![("service.name".into(), "from-resource".into())]),
        ..Settings::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(config.service_name, "from-resource");
    assert!(config.resource_attributes.is_empty());
    let config = Settings::default().resolve().unwrap();
    assert!(config.service_name.starts_with("unknown_service:"));
}

#[test]
fn origins_follow_the_winning_layer() {
    use crate::config::origin::Origin;
    let mut file = Settings::default();
    file.set::<key::max_queue_size>(
        10,
        Origin::file("max_queue_size", std::path::Path::new("o.toml")),
        None,
    )
    .unwrap();
    file.set::<key::spool>(
        false,
        Origin::file("spool", std::path::Path::new("o.toml")),
        None,
    )
    .unwrap();
    let mut builder = Settings::default();
    builder
        .set::<key::max_queue_size>(20, Origin::builder("max_queue_size"), None)
        .unwrap();
    let merged = file.overlay(builder);
    assert_eq!(merged.max_queue_size, Some(20));
    assert_eq!(
        merged.origins.max_queue_size.unwrap().to_string(),
        "ObserverBuilder::max_queue_size (builder)"
    );
    assert_eq!(
        merged.origins.spool.unwrap().to_string(),
        "spool (config file o.toml)"
    );
}

#[test]
fn one_check_for_every_source() {
    use crate::config::origin::Origin;
    let mut settings = Settings::default();
    let err = settings
        .set::<key::max_queue_size>(0, Origin::builder("max_queue_size"), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_queue_size=0 (builder): must be greater than zero"
    );
    let err = settings
        .set::<key::resource_interval>(
            Duration::ZERO,
            Origin::environment("OBSERVER_RESOURCE_INTERVAL"),
            Some("0ms"),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "OBSERVER_RESOURCE_INTERVAL=0ms (environment): must be greater than zero"
    );
    assert!(settings.max_queue_size.is_none() && settings.resource_interval.is_none());
}

#[test]
fn zero_spool_intervals_become_a_millisecond() {
    let config = Settings {
        spool_cleanup_interval: Some(Duration::ZERO),
        spool_sync_interval: Some(Duration::ZERO),
        ..Settings::default()
    }
    .resolve()
    .unwrap();
    let spool = config.delivery.spool.unwrap();
    assert_eq!(spool.cleanup_interval, Duration::from_millis(1));
    assert_eq!(spool.sync_interval, Duration::from_millis(1));
}

#[test]
fn an_empty_layer_resolves_to_the_table_defaults() {
    let config = Settings::default().resolve().unwrap();
    let batch = config.batch;
    assert_eq!(
        (batch.max_queue_size, batch.max_export_batch_size),
        (DEFAULT_MAX_QUEUE_SIZE, DEFAULT_MAX_EXPORT_BATCH_SIZE)
    );
    assert_eq!(batch.max_queue_bytes, DEFAULT_MAX_QUEUE_BYTES);
    assert_eq!(batch.max_concurrent_exports, DEFAULT_MAX_CONCURRENT_EXPORTS);
    assert_eq!(batch.scheduled_delay, DEFAULT_SCHEDULED_DELAY);
    assert_eq!(batch.export_timeout, DEFAULT_EXPORT_TIMEOUT);
    let limits = config.limits;
    assert_eq!(limits.max_attributes, DEFAULT_MAX_ATTRIBUTES_PER_SPAN);
    assert_eq!(limits.max_events, DEFAULT_MAX_EVENTS_PER_SPAN);
    assert_eq!(
        limits.max_event_attributes,
        DEFAULT_MAX_ATTRIBUTES_PER_EVENT
    );
    assert_eq!(limits.max_links, DEFAULT_MAX_LINKS_PER_SPAN);
    assert_eq!(limits.max_value_bytes, DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES);
    assert!(!limits.thread_cpu_time);
    let ExporterConfig::Otlp(otlp) = config.exporter else {
        panic!("the default exporter is OTLP")
    };
    assert_eq!(otlp.protocol, Protocol::Grpc);
    assert_eq!(otlp.endpoint.as_str(), "http://localhost:4317/");
    assert_eq!(otlp.timeout, DEFAULT_REQUEST_TIMEOUT);
    assert!(otlp.headers.is_empty());
    assert_eq!(
        config.redact_fields,
        crate::record::policy::DEFAULT_REDACT_PATTERNS.map(String::from)
    );
    assert_eq!(config.allow_fields, None);
    assert_eq!(config.sampler, crate::Sampler::default());
    assert!(config.sampling_rules.is_empty());
    assert!(config.keep_errors);
    assert!(!config.disabled && !config.panic_hook);
    assert_eq!(config.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
    assert_eq!(config.resource_interval, DEFAULT_RESOURCE_INTERVAL);
    assert_eq!(config.max_worker_restarts, DEFAULT_MAX_WORKER_RESTARTS);
    assert!(config.span_metrics.enabled);
    assert_eq!(config.span_metrics.profile, SpanMetricsProfile::Collector);
    assert_eq!(
        config.span_metrics.max_series,
        DEFAULT_SPAN_METRICS_MAX_SERIES
    );
    assert!(config.metrics_export.is_none());
    assert_eq!(config.delivery.retry, RetryPolicy::default());
    let spool = config.delivery.spool.expect("the spool is on by default");
    assert_eq!(spool.max_bytes, crate::spool::DEFAULT_MAX_BYTES);
    assert_eq!(spool.retention, crate::spool::DEFAULT_RETENTION);
    assert_eq!(
        spool.cleanup_interval,
        crate::spool::DEFAULT_CLEANUP_INTERVAL
    );
    assert_eq!(spool.sync_interval, crate::spool::DEFAULT_SYNC_INTERVAL);
    assert!(!spool.archive_compress);
}

/// The logs URL, when the logs pipeline is on.
fn logs_url(settings: Settings) -> Result<Option<String>, BuildError> {
    let logs = settings.resolve()?.logs;
    Ok(logs.map(|logs| match logs.exporter {
        ExporterConfig::Otlp(otlp) => otlp.endpoint.to_string(),
        other => format!("{other:?}"),
    }))
}

#[test]
fn logs_follow_the_traces_unless_set() {
    let http = Some(Protocol::HttpProtobuf);
    let with = |url: &str, path, protocol| Settings {
        endpoint: Some(endpoint(url, path)),
        protocol,
        ..Settings::default()
    };
    let url = |settings| logs_url(settings).unwrap();
    assert_eq!(
        url(Settings::default()).as_deref(),
        Some("http://localhost:4317/")
    );
    assert_eq!(
        url(Settings {
            protocol: http,
            ..Settings::default()
        })
        .as_deref(),
        Some(DEFAULT_HTTP_LOGS_ENDPOINT)
    );
    assert_eq!(
        url(with("http://c:4318/x/v1/traces", EndpointPath::Exact, http)).as_deref(),
        Some("http://c:4318/x/v1/logs")
    );
    assert_eq!(
        url(with("http://c:4318", EndpointPath::Base, http)).as_deref(),
        Some("http://c:4318/v1/logs")
    );
    // Traces elsewhere: logs go where the traces go.
    for (traces, logs) in [
        (TracesExporter::Console, Some("Console")),
        (TracesExporter::None, None),
    ] {
        let settings = Settings {
            traces_exporter: Some(traces),
            ..Settings::default()
        };
        assert_eq!(url(settings).as_deref(), logs, "{traces:?}");
    }
    // A traces URL with its own path: nowhere known for logs that only follow it …
    let custom = || with("http://c:4318/custom", EndpointPath::Exact, http);
    assert_eq!(url(custom()), None);
    // … and an error naming the setting when logs are asked for.
    let error = logs_url(Settings {
        logs_exporter: Some(LogsExporter::Otlp),
        ..custom()
    })
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
        "{error}"
    );
    // A logs endpoint of its own wins, with the logs protocol.
    let own = Settings {
        logs_endpoint: Some(endpoint("http://logs:4318", EndpointPath::Base)),
        logs_protocol: http,
        ..Settings::default()
    };
    assert_eq!(url(own).as_deref(), Some("http://logs:4318/v1/logs"));
}
