//! Delivery: the spool, the circuit breaker, retries.

use std::error::Error;

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
    // Delivered (and retried) by the flush: at shutdown a failed batch is not retried.
    observer.force_flush(Duration::from_secs(10))?;
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
