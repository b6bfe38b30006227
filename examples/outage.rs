//! A service that keeps producing spans while its collector goes down and comes
//! back: failed exports are retried, the circuit breaker opens, batches go to the
//! disk spool, and are replayed once the collector is back. The report shows
//! exported / spooled / replayed and nothing lost.
//!
//! ```sh
//! cargo run --example outage                     # a simulated collector, down from 1 s to 3 s
//! cargo run --example outage -- http://host:4317 # a real one: stop and start it meanwhile
//! ```

use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
use tracing_observer::{ExportError, ExportErrorKind, Observer, RetryPolicy, SpanExporter};
use tracing_subscriber::prelude::*;

/// A collector that is unavailable between `down_from` and `down_until` after start.
struct SimulatedCollector {
    started: Instant,
    down_from: Duration,
    down_until: Duration,
    received: Arc<AtomicU64>,
}

impl SpanExporter for SimulatedCollector {
    fn export(
        &self,
        batch: ExportTraceServiceRequest,
    ) -> BoxFuture<'static, Result<(), ExportError>> {
        let elapsed = self.started.elapsed();
        let down = elapsed >= self.down_from && elapsed < self.down_until;
        let received = Arc::clone(&self.received);
        Box::pin(async move {
            if down {
                return Err(ExportError::new(
                    ExportErrorKind::Unavailable,
                    "collector restarting",
                ));
            }
            let spans = batch
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len() as u64)
                .sum::<u64>();
            received.fetch_add(spans, Ordering::Relaxed);
            Ok(())
        })
    }
}

#[tracing::instrument]
fn handle(order: u64) {
    if order.is_multiple_of(50) {
        tracing::error!(order, "payment declined");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spool_dir =
        std::env::temp_dir().join(format!("tracing-observer-outage-{}", std::process::id()));
    let received = Arc::new(AtomicU64::new(0));
    let mut builder = Observer::builder()
        .service_name("outage-example")
        .spool_dir(&spool_dir)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(50))
                .max_elapsed_time(Duration::from_millis(300)),
        )
        .circuit_breaker_threshold(3)
        .circuit_breaker_timeout(Duration::from_millis(500))
        .scheduled_delay(Duration::from_millis(100));
    match std::env::args().nth(1) {
        Some(endpoint) => builder = builder.endpoint(endpoint),
        None => {
            builder = builder.exporter(SimulatedCollector {
                started: Instant::now(),
                down_from: Duration::from_secs(1),
                down_until: Duration::from_secs(3),
                received: Arc::clone(&received),
            })
        }
    }
    let observer = builder.build()?;
    tracing_subscriber::registry().with(observer.layer()).init();

    let started = Instant::now();
    let mut order = 0;
    while started.elapsed() < Duration::from_secs(5) {
        handle(order);
        order += 1;
        std::thread::sleep(Duration::from_millis(2));
        if order.is_multiple_of(250) {
            let s = observer.stats();
            eprintln!(
                "t={:.1}s produced={order} exported={} spooled={} replayed={} in spool={}",
                started.elapsed().as_secs_f64(),
                s.exported,
                s.spooled,
                s.replayed,
                s.spool.pending_spans
            );
        }
    }
    // Give replay a moment to finish before shutting down.
    let deadline = Instant::now() + Duration::from_secs(5);
    while observer.stats().spool.pending_spans > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = observer.shutdown(Duration::from_secs(5));
    println!("{report}");
    println!("{}", serde_json::to_string(&report)?);
    let s = &report.stats;
    let lost = s.recorded - s.exported - s.spooled;
    println!(
        "produced={order} exported={} spooled={} replayed={} lost={lost}",
        s.exported, s.spooled, s.replayed
    );
    let _ = std::fs::remove_dir_all(&spool_dir);
    Ok(())
}
