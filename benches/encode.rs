//! Encoding one batch of 512 spans as an OTLP `ExportTraceServiceRequest`: the
//! worker's direct protobuf encoder against the reference conversion into
//! `opentelemetry-proto` structs encoded with prost.
//!
//! ```sh
//! cargo bench --bench encode --features bench-support
//! ```
//!
//! The spans are recorded through the layer (7 attributes each, an ERROR event on
//! every fourth); each iteration encodes the whole batch, so ns/span is the
//! reported time per iteration ÷ 512.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tracing_observer::bench_support::EncodeBench;

/// Spans per batch: the default `max_export_batch_size`.
const BATCH_SPANS: usize = 512;

fn encode(c: &mut Criterion) {
    let mut bench = EncodeBench::new(BATCH_SPANS);
    assert_eq!(bench.spans(), BATCH_SPANS);
    let mut group = c.benchmark_group("encode_512_spans");
    group.throughput(Throughput::Elements(BATCH_SPANS as u64));
    group.bench_function("direct", |b| b.iter(|| black_box(bench.direct())));
    group.bench_function("prost", |b| b.iter(|| black_box(bench.prost())));
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
