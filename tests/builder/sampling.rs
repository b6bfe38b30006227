//! Sampling: the sampler, rules, kept errors and slow spans, the overhead budget.

use std::error::Error;

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
