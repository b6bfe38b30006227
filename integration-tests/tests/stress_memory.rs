//! Memory pressure: a burst far larger than the queue budget, while the exporter
//! is stuck, keeps the process's memory bounded, drops normal spans (counted by
//! reason) and keeps every failed span.
//!
//! 4 threads produce 200 000 spans (× `STRESS_SCALE`) with a 1 KiB field each
//! (~200 MB if kept) under a 4 MiB queue budget, while the exporter holds its
//! batches until the burst is over. One failed span in 4000 (ERROR event) must
//! survive: the priority lane keeps an eighth of the budget for them. The peak
//! resident memory growth is measured with `VmHWM` (reset through
//! `/proc/self/clear_refs`); this is the only test of its binary, so no other test
//! allocates meanwhile.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use tracing::Dispatch;
use tracing_observer::export::{Accepted, EncodedRequest};
use tracing_observer::{ExportError, Observer, SpanExporter};
use tracing_subscriber::prelude::*;

/// Peak growth allowed: the 4 MiB budget, the batches held by the exporter (4 ×
/// 512 spans), the observer's threads and runtime, the test's own bookkeeping.
/// Without a bound the burst would hold ~200 MB.
const RSS_BOUND_KB: u64 = 64 * 1024;
const QUEUE_BYTES: usize = 4 << 20;
const THREADS: u64 = 4;
const ERROR_EVERY: u64 = 4000;

/// Exports nothing until the gate opens, then counts spans and failed spans.
#[derive(Clone, Default)]
struct GatedExporter {
    open: Arc<AtomicBool>,
    spans: Arc<AtomicU64>,
    failed: Arc<Mutex<HashSet<i64>>>,
}

impl SpanExporter for GatedExporter {
    fn export(
        &self,
        batch: EncodedRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Accepted, ExportError>> + Send + 'static>> {
        let this = self.clone();
        Box::pin(async move {
            while !this.open.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let batch = batch.decode()?;
            for span in batch
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                this.spans.fetch_add(1, Ordering::Relaxed);
                let error = span
                    .status
                    .as_ref()
                    .is_some_and(|s| s.code == StatusCode::Error as i32);
                if error {
                    let i = span
                        .attributes
                        .iter()
                        .find(|kv| kv.key == "i")
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            Value::IntValue(i) => Some(*i),
                            _ => None,
                        });
                    this.failed
                        .lock()
                        .unwrap()
                        .insert(i.expect("failed span has its i"));
                }
            }
            Ok(Accepted::all())
        })
    }
}

fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// Resets the peak RSS to the current RSS and returns it.
fn reset_peak_kb() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of glibc's allocator to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM (Linux only)");
    status_kb("VmRSS").expect("VmRSS")
}

#[test]
fn huge_burst_with_a_small_budget_stays_bounded_counts_drops_and_keeps_errors() {
    let scale = std::env::var("STRESS_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0);
    let per_thread = ((50_000.0 * scale).round() as u64).max(ERROR_EVERY);
    let produced = per_thread * THREADS;
    let payload: &'static str = Box::leak("x".repeat(1024).into_boxed_str());

    let base_kb = reset_peak_kb();
    let exporter = GatedExporter::default();
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
        .service_name("stress-memory")
        .exporter(exporter.clone())
        .max_queue_size(1 << 20)
        .max_queue_bytes(QUEUE_BYTES)
        .build()
        .expect("observer builds");
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(observer.layer()));

    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let dispatch = &dispatch;
            scope.spawn(move || {
                tracing::dispatcher::with_default(dispatch, || {
                    for k in 0..per_thread {
                        let i = t * per_thread + k;
                        let _span = tracing::info_span!("burst", i, payload).entered();
                        if i.is_multiple_of(ERROR_EVERY) {
                            tracing::error!("failed under pressure");
                        }
                    }
                });
            });
        }
    });
    let burst = started.elapsed();
    let during = observer.stats();
    exporter.open.store(true, Ordering::Release);
    let report = observer.shutdown(Duration::from_secs(60));
    let peak_kb = status_kb("VmHWM").expect("VmHWM").saturating_sub(base_kb);
    let s = &report.stats;
    eprintln!(
        "burst: {produced} spans x 1 KiB in {burst:?} (shared machine); queue during: {} spans, \
         {} bytes; peak RSS growth {} KiB (bound {RSS_BOUND_KB} KiB)\n{report}",
        during.pending, during.queue_bytes, peak_kb
    );

    assert!(!report.timed_out, "{report}");
    assert_eq!(s.recorded, produced, "{report}");
    assert_eq!(
        s.recorded,
        s.exported + s.dropped.total() + s.pending,
        "accounting: {report}"
    );
    assert_eq!(
        s.exported,
        exporter.spans.load(Ordering::Relaxed),
        "{report}"
    );
    assert!(
        s.dropped.queue_full >= produced / 2,
        "most normal spans are dropped and counted: {report}"
    );
    assert_eq!(s.dropped.error_lane_full, 0, "{report}");
    assert!(during.queue_bytes <= QUEUE_BYTES as u64, "{during:?}");
    let expected: HashSet<i64> = (0..produced)
        .filter(|i| i.is_multiple_of(ERROR_EVERY))
        .map(|i| i as i64)
        .collect();
    assert_eq!(
        *exporter.failed.lock().unwrap(),
        expected,
        "every failed span kept"
    );
    assert!(
        peak_kb < RSS_BOUND_KB,
        "peak RSS grew {peak_kb} KiB for a {QUEUE_BYTES}-byte budget"
    );
}
