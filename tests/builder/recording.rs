//! What is recorded and batched: queue, batches, concurrent exports, limits, field
//! redaction.

use std::error::Error;

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
