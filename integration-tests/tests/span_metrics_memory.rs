//! Span metrics keep bounded memory under a flood of sampled-out spans while nothing
//! scrapes `/metrics`.
//!
//! The Prometheus registry keeps every histogram sample until an upkeep folds it
//! into buckets; the worker runs one on a timer (the resource interval, set to an
//! hour here) and after every 65 536 samples. 1 000 000 sampled-out spans would
//! otherwise hold ~16 MB of samples. Live heap bytes are counted by this binary's
//! allocator; this is the only test of its binary, so nothing else allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tracing_observer::{export::InMemoryExporter, Observer, Sampler};
use tracing_subscriber::prelude::*;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SPANS: u64 = 1_000_000;
/// Growth allowed: one sweep's worth of samples (~1 MiB) and slack for the
/// pipeline's own bookkeeping. Without the sweep the samples alone hold ~16 MB.
const GROWTH_BOUND: i64 = 3 << 20;

#[test]
fn sampled_out_flood_keeps_span_metric_samples_bounded_without_a_scrape() {
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("memory")
        .sampler(Sampler::AlwaysOff)
        .exporter(InMemoryExporter::counting())
        .spool(false)
        .resource_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(observer.layer()));
    let flood = |spans: u64| {
        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..spans {
                let _span = tracing::info_span!("flood", i).entered();
            }
        });
        observer.force_flush(Duration::from_secs(30)).unwrap();
    };
    // Registers the series and fills the pipeline's buffers.
    flood(100_000);
    let before = LIVE.load(Ordering::Relaxed);
    flood(SPANS);
    let growth = LIVE.load(Ordering::Relaxed) - before;

    assert_eq!(observer.stats().recorded, 0);
    assert!(
        growth < GROWTH_BOUND,
        "live heap grew by {growth} bytes over {SPANS} sampled-out spans"
    );
    let metrics = observer.metrics_text();
    let calls = metrics
        .lines()
        .find(|line| {
            line.starts_with("traces_span_metrics_calls_total{")
                && line.contains("span_name=\"flood\"")
        })
        .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok());
    assert_eq!(calls, Some((SPANS + 100_000) as f64), "every span counted");
    observer.shutdown(Duration::from_secs(10));
}
