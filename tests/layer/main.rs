//! The layer's recording rules, checked against the in-memory exporter (no network).
//! Each file holds one concern; this one the helpers they share.

use std::time::Duration;
use tracing::instrument;
use tracing_observer::proto::common::v1::any_value::Value;
use tracing_observer::proto::trace::v1::{status::StatusCode, Span};
use tracing_observer::{export::InMemoryExporter, Observer};
use tracing_subscriber::prelude::*;

/// Runs `f` under a fresh observer and returns what it exported, with the report.
fn record(
    builder: tracing_observer::ObserverBuilder,
    f: impl FnOnce(),
) -> (Vec<Span>, tracing_observer::ShutdownReport) {
    let exporter = InMemoryExporter::new();
    // No disk spool: these tests look at the layer, not at delivery.
    let observer = builder
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, f);
    let report = observer.shutdown(Duration::from_secs(5));
    (exporter.spans(), report)
}

fn attr<'a>(
    attributes: &'a [tracing_observer::proto::common::v1::KeyValue],
    key: &str,
) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn named<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

/// An error with a source, as application errors are.
#[derive(Debug)]
struct Inner;
impl std::fmt::Display for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for Inner {}

#[derive(Debug)]
struct Outer(Inner);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot save order")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

mod overhead;
mod pressure;
mod recording;
mod sampling;
