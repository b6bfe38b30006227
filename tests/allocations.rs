//! Per-span allocation accounting with the provided counting allocator.

use std::time::Duration;
use tracing_observer::proto::common::v1::any_value::Value;
use tracing_observer::resources::CountingAllocator;
use tracing_observer::{export::InMemoryExporter, Observer};
use tracing_subscriber::prelude::*;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::system();

fn int_attr(span: &tracing_observer::proto::trace::v1::Span, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::IntValue(n) => Some(*n),
            _ => None,
        })
}

#[test]
fn spans_report_what_they_allocated_while_entered() {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .spool(false)
        .exporter(exporter.clone())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("allocating").in_scope(|| {
            let buffers: Vec<Vec<u8>> = (0..10).map(|_| vec![0u8; 100_000]).collect();
            std::hint::black_box(buffers);
        });
        tracing::info_span!("frugal").in_scope(|| std::hint::black_box(1 + 1));
    });
    observer.shutdown(Duration::from_secs(5));
    let spans = exporter.spans();
    let span = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let bytes = int_attr(span("allocating"), "thread.alloc_bytes").unwrap();
    let count = int_attr(span("allocating"), "thread.alloc_count").unwrap();
    assert!(bytes >= 1_000_000, "{bytes} bytes");
    assert!(count >= 11, "{count} allocations");
    assert!(int_attr(span("frugal"), "thread.alloc_bytes").unwrap() < 10_000);
}
