//! The behaviour each `ObserverBuilder` setter promises, checked on a running observer
//! (the setters' doc examples show how to configure; these show that it works).

use std::error::Error;

#[test]
fn service_name() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .exporter(exporter.clone())
        .service_name("checkout")
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    let resource = format!("{:?}", exporter.requests()[0].resource_spans[0].resource);
    assert!(resource.contains("service.name") && resource.contains("\"checkout\""));
    Ok(())
}

#[test]
fn default_service_name() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{config::vars, export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let service = |env: &[(&str, &str)]| -> String {
        let exporter = InMemoryExporter::new();
        let observer = Observer::builder()
            .environment(env.iter().copied())
            .default_service_name("checkout")
            .exporter(exporter.clone())
            .spool(false)
            .build()
            .unwrap();
        let subscriber = tracing_subscriber::registry().with(observer.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("work").in_scope(|| {})
        });
        observer.shutdown(Duration::from_secs(5));
        format!("{:?}", exporter.requests()[0].resource_spans[0].resource)
    };
    assert!(service(&[]).contains("\"checkout\""));
    assert!(service(&[(vars::OTEL_SERVICE_NAME, "checkout-eu")]).contains("\"checkout-eu\""));
    Ok(())
}

#[test]
fn service_version() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .exporter(exporter.clone())
        .service_version("1.4.2")
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    let resource = format!("{:?}", exporter.requests()[0].resource_spans[0].resource);
    assert!(resource.contains("service.version") && resource.contains("\"1.4.2\""));
    Ok(())
}

#[test]
fn resource_attribute() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .exporter(exporter.clone())
        .resource_attribute("deployment.environment.name", "prod")
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    let resource = format!("{:?}", exporter.requests()[0].resource_spans[0].resource);
    assert!(resource.contains("deployment.environment.name") && resource.contains("\"prod\""));
    Ok(())
}

#[test]
fn traces_exporter() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{config::TracesExporter, Observer};
    let _observer = Observer::builder()
        .traces_exporter(TracesExporter::Console)
        .build()?;
    Ok(())
}

#[test]
fn endpoint() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .endpoint("https://collector.example.com:4317")
        .build()?;
    let err = Observer::builder()
        .endpoint("collector:4317")
        .build()
        .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("ObserverBuilder::endpoint=collector:4317 (builder):"));
    Ok(())
}

#[test]
fn protocol() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{config::Protocol, Observer};
    let _observer = Observer::builder()
        .protocol(Protocol::HttpJson)
        .endpoint("http://127.0.0.1:4318")
        .build()?;
    Ok(())
}

#[test]
fn header() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .header("authorization", "Bearer secret-token")
        .build()?;
    Ok(())
}

#[test]
fn compression() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{config::Compression, Observer};
    let _observer = Observer::builder().compression(Compression::Gzip).build()?;
    Ok(())
}

#[test]
fn request_timeout() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .request_timeout(Duration::from_secs(2))
        .build()?;
    Ok(())
}

#[test]
fn max_queue_size() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_queue_size(10_000).build()?;
    let err = Observer::builder().max_queue_size(0).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_queue_size=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn max_queue_bytes() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_queue_bytes(16 << 20).build()?;
    let err = Observer::builder().max_queue_bytes(0).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_queue_bytes=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn max_export_batch_size() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_export_batch_size(256).build()?;
    let err = Observer::builder()
        .max_export_batch_size(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_export_batch_size=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn max_concurrent_exports() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_concurrent_exports(2).build()?;
    let err = Observer::builder()
        .max_concurrent_exports(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_concurrent_exports=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn scheduled_delay() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .scheduled_delay(Duration::from_millis(500))
        .build()?;
    let err = Observer::builder()
        .scheduled_delay(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::scheduled_delay=0s (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn export_timeout() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .export_timeout(Duration::from_secs(10))
        .build()?;
    Ok(())
}

#[test]
fn max_attributes_per_span() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .max_attributes_per_span(1)
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work", a = 1, b = 2).in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert_eq!(exporter.spans()[0].dropped_attributes_count, 1);
    Ok(())
}

#[test]
fn max_events_per_span() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .max_events_per_span(1)
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work").in_scope(|| {
                tracing::info!("one");
                tracing::info!("two")
            });
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert_eq!(exporter.spans()[0].events.len(), 1);
    Ok(())
}

#[test]
fn max_attributes_per_event() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_attributes_per_event(16).build()?;
    let err = Observer::builder()
        .max_attributes_per_event(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_attributes_per_event=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn max_links_per_span() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_links_per_span(16).build()?;
    let err = Observer::builder()
        .max_links_per_span(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_links_per_span=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn max_attribute_value_bytes() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .max_attribute_value_bytes(8)
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work", sql = "SELECT * FROM orders").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert!(!format!("{:?}", exporter.spans()[0].attributes).contains("SELECT * FROM orders"));
    Ok(())
}

#[test]
fn redact_fields() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .redact_fields(["card"])
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("pay", card_number = "4111 1111").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert!(format!("{:?}", exporter.spans()[0].attributes).contains("[REDACTED]"));
    Ok(())
}

#[test]
fn allow_fields() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .allow_fields(["order_id"])
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("pay", order_id = 7, user_email = "a@b.c").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    let attributes = format!("{:?}", exporter.spans()[0].attributes);
    assert!(attributes.contains("order_id") && !attributes.contains("user_email"));
    Ok(())
}

#[test]
fn sampler() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer, Sampler};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .sampler(Sampler::AlwaysOff)
        .keep_errors(false)
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert!(exporter.spans().is_empty());
    Ok(())
}

#[test]
fn sampling_rule() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{Observer, SamplingRule};
    let _observer = Observer::builder()
        .sampling_rule(SamplingRule::target("my_app::db").ratio(0.1))
        .build()?;
    let err = Observer::builder()
        .sampling_rule(SamplingRule::target("my_app").ratio(2.0))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("ratio 2 is outside 0.0..=1.0"));
    Ok(())
}

#[test]
fn keep_errors() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{Observer, Sampler};
    let _observer = Observer::builder()
        .sampler(Sampler::TraceIdRatio(0.01))
        .keep_errors(true)
        .build()?;
    Ok(())
}

#[test]
fn slow_span_threshold() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{Observer, Sampler};
    let _observer = Observer::builder()
        .sampler(Sampler::TraceIdRatio(0.01))
        .slow_span_threshold(Duration::from_millis(500))
        .build()?;
    Ok(())
}

#[test]
fn overhead_budget() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().overhead_budget(0.02).build()?;
    let err = Observer::builder()
        .overhead_budget(-1.0)
        .build()
        .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("ObserverBuilder::overhead_budget=-1 (builder):"));
    Ok(())
}

#[test]
fn spool() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let observer = Observer::builder().spool(false).build()?;
    assert!(!observer.stats().spool.enabled);
    Ok(())
}

#[test]
fn spool_dir() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .spool_dir(std::env::temp_dir().join("tracing-observer-doc-builder-spool"))
        .build()?;
    Ok(())
}

#[test]
fn spool_max_bytes() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().spool_max_bytes(256 << 20).build()?;
    let err = Observer::builder().spool_max_bytes(0).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::spool_max_bytes=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn spool_retention() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .spool_retention(Duration::from_secs(24 * 3600))
        .build()?;
    Ok(())
}

#[test]
fn spool_archive_dir() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .spool_archive_dir(std::env::temp_dir().join("tracing-observer-doc-archive"))
        .build()?;
    Ok(())
}

#[test]
fn spool_archive_compress() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .spool_archive_dir(std::env::temp_dir().join("tracing-observer-doc-archive-gz"))
        .spool_archive_compress(true)
        .build()?;
    Ok(())
}

#[test]
fn spool_cleanup_interval() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .spool_cleanup_interval(Duration::from_secs(10))
        .build()?;
    Ok(())
}

#[test]
fn spool_sync_interval() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .spool_sync_interval(Duration::from_millis(200))
        .build()?;
    Ok(())
}

#[test]
fn circuit_breaker_threshold() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().circuit_breaker_threshold(3).build()?;
    let err = Observer::builder()
        .circuit_breaker_threshold(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::circuit_breaker_threshold=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn circuit_breaker_timeout() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .circuit_breaker_timeout(Duration::from_secs(10))
        .build()?;
    Ok(())
}

#[test]
fn circuit_breaker_failure_rate() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .circuit_breaker_failure_rate(0.5, 20)
        .build()?;
    let err = Observer::builder()
        .circuit_breaker_failure_rate(1.5, 20)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::circuit_breaker_failure_rate=1.5/20 (builder): the rate must be above 0 and at most 1, e.g. 0.5/20"
    );
    Ok(())
}

#[test]
fn circuit_breaker_window() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .circuit_breaker_failure_rate(0.5, 20)
        .circuit_breaker_window(Duration::from_secs(30))
        .build()?;
    let err = Observer::builder()
        .circuit_breaker_window(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::circuit_breaker_window=0s (builder): must be greater than zero"
    );
    Ok(())
}

/// Retries of one span's batch against an address where nothing listens, with the
/// retry settings `configure` makes.
fn retries_with(
    configure: impl FnOnce(tracing_observer::ObserverBuilder) -> tracing_observer::ObserverBuilder,
) -> Result<u64, Box<dyn Error>> {
    use std::time::Duration;
    use tracing_subscriber::prelude::*;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let builder = tracing_observer::Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
        .endpoint(format!("http://{closed}"));
    let observer = configure(builder).build()?;
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || tracing::info_span!("lost").in_scope(|| {}));
    let report = observer.shutdown(Duration::from_secs(10));
    assert_eq!(report.stats.dropped.export_failed, 1, "{report}");
    Ok(report.stats.export_retries)
}

#[test]
fn the_retry_settings_govern_retries() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::config::RetryPolicy;
    let ms = Duration::from_millis;
    assert_eq!(retries_with(|b| b.retry_policy(RetryPolicy::none()))?, 0);
    assert_eq!(
        retries_with(|b| b.retry_max_elapsed_time(Duration::ZERO))?,
        0
    );
    let retried = retries_with(|b| {
        b.retry_initial_backoff(ms(10))
            .retry_max_backoff(ms(20))
            .retry_max_elapsed_time(ms(300))
    })?;
    assert!(
        retried >= 3,
        "retried {retried} times in 300 ms at most 20 ms apart"
    );
    Ok(())
}

#[test]
fn cpu_time() -> Result<(), Box<dyn Error>> {
    let _observer = tracing_observer::Observer::builder()
        .cpu_time(true)
        .build()?;
    Ok(())
}

#[test]
fn shutdown_timeout() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .shutdown_timeout(Duration::from_secs(1))
        .build()?;
    Ok(())
}

#[test]
fn span_metrics() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let observer = Observer::builder().span_metrics(false).build()?;
    assert!(!observer
        .metrics_text()
        .contains("traces_span_metrics_calls_total"));
    Ok(())
}

#[test]
fn span_metrics_profile() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{config::SpanMetricsProfile, Observer};
    let _observer = Observer::builder()
        .span_metrics_profile(SpanMetricsProfile::Tempo)
        .build()?;
    Ok(())
}

#[test]
fn span_metrics_dimensions() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .span_metrics_dimensions(["http.route", "code.module.name"])
        .build()?;
    Ok(())
}

#[test]
fn span_metrics_max_series() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().span_metrics_max_series(500).build()?;
    let err = Observer::builder()
        .span_metrics_max_series(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::span_metrics_max_series=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn metrics_exporter() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{config::MetricsExporter, Observer};
    let _observer = Observer::builder()
        .metrics_exporter(MetricsExporter::Otlp)
        .endpoint("http://127.0.0.1:4317")
        .build()?;
    Ok(())
}

#[test]
fn resource_interval() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::Observer;
    let _observer = Observer::builder()
        .resource_interval(Duration::from_secs(30))
        .build()?;
    let err = Observer::builder()
        .resource_interval(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::resource_interval=0s (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn resource_monitor() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{resources::NullMonitor, Observer};
    let observer = Observer::builder().resource_monitor(NullMonitor).build()?;
    // The worker is running: it answered the flush.
    observer.force_flush(Duration::from_secs(5)).unwrap();
    assert!(!observer.metrics_text().contains("process_"));
    Ok(())
}

#[test]
fn panic_hook() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().panic_hook(true).build()?;
    Ok(())
}

#[test]
fn max_worker_restarts() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let _observer = Observer::builder().max_worker_restarts(5).build()?;
    let err = Observer::builder()
        .max_worker_restarts(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ObserverBuilder::max_worker_restarts=0 (builder): must be greater than zero"
    );
    Ok(())
}

#[test]
fn config_file() -> Result<(), Box<dyn Error>> {
    use tracing_observer::Observer;
    let path = std::env::temp_dir().join("tracing-observer-doc-builder.toml");
    std::fs::write(
        &path,
        "service_name = \"checkout\"\nmax_queue_size = 4096\n",
    )
    .unwrap();
    let _observer = Observer::builder().config_file(&path).build()?;
    std::fs::write(&path, "no_such_key = 1\n").unwrap();
    assert!(Observer::builder().config_file(&path).build().is_err());
    Ok(())
}

#[test]
fn exporter() -> Result<(), Box<dyn Error>> {
    use std::time::Duration;
    use tracing_observer::{export::InMemoryExporter, Observer};
    use tracing_subscriber::prelude::*;
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .service_name("checkout")
        .build()?;
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(observer.layer()),
        || {
            tracing::info_span!("work").in_scope(|| {});
        },
    );
    observer.shutdown(Duration::from_secs(5));
    assert_eq!(exporter.span_count(), 1);
    Ok(())
}

#[test]
fn environment() -> Result<(), Box<dyn Error>> {
    let _observer = tracing_observer::Observer::builder()
        .environment([("OTEL_SERVICE_NAME", "from-map")])
        .build()
        .unwrap();
    Ok(())
}
#[test]
fn build() -> Result<(), Box<dyn Error>> {
    use tracing_observer::{BuildError, Observer};
    let observer = Observer::builder().service_name("checkout").build()?;
    assert!(!observer.is_disabled());
    let err = Observer::builder().max_queue_size(0).build().unwrap_err();
    assert!(matches!(err, BuildError::InvalidSetting { .. }));
    Ok(())
}
