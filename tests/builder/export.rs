//! What the observer is and where it sends: service and resource, exporter, endpoint,
//! protocol, headers, compression, request timeout.

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
