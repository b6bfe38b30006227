//! Operations and wiring: CPU time, shutdown timeout, span metrics, process
//! resources, the panic hook, worker restarts, the config file, a custom exporter,
//! the environment, `build`.

use std::error::Error;

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
