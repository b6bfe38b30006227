//! A service that keeps producing spans while its collector goes down and comes
//! back: failed exports are retried, the circuit breaker opens, batches go to the
//! disk spool, and are replayed once the collector is back.
//!
//! ```sh
//! cargo run --example outage                     # a simulated collector, down from 1 s to 3 s
//! cargo run --example outage -- http://host:4317 # a real one: stop and start it meanwhile
//! ```
//!
//! The last line on stdout is the report, `outage: key=value …`:
//! - `produced`: spans the service recorded (one per handled order);
//! - `exported`: spans the collector accepted when they were first sent;
//! - `spooled`: spans written to the disk spool instead (export failed, breaker open);
//! - `replayed`: spooled spans sent again and acknowledged;
//! - `received`: distinct spans the simulated collector received (with a real
//!   collector, what it acknowledged: `exported + replayed`), and `duplicates`: spans
//!   it received more than once (`n/a` with a real collector);
//! - `in_spool`: spans still waiting in the spool (replay did not finish);
//! - `dropped`: spans dropped and counted with a reason (queue full, spool full, …);
//! - `lost`: spans produced that are none of received, in the spool or dropped.
//!
//! The example exits with status 1 if any span was lost or dropped. The spool
//! directory is deleted only when it is empty; otherwise the report says where it is.

use futures_util::future::BoxFuture;
use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_observer::export::{Accepted, EncodedRequest};
use tracing_observer::{config::RetryPolicy, ExportError, ExportErrorKind, Observer, SpanExporter};
use tracing_subscriber::prelude::*;

/// A span's identity: trace id and span id.
type SpanKey = (Vec<u8>, Vec<u8>);

/// What the simulated collector received: distinct spans, and how many arrived again.
#[derive(Default)]
struct Received {
    spans: HashSet<SpanKey>,
    duplicates: u64,
}

/// A collector that is unavailable between `down_from` and `down_until` after start.
struct SimulatedCollector {
    started: Instant,
    down_from: Duration,
    down_until: Duration,
    received: Arc<Mutex<Received>>,
}

impl SpanExporter for SimulatedCollector {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
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
            let batch = batch.decode()?;
            let mut received = received.lock().expect("not poisoned");
            let spans = batch
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans);
            for span in spans {
                if !received.spans.insert((span.trace_id, span.span_id)) {
                    received.duplicates += 1;
                }
            }
            Ok(Accepted::all())
        })
    }
}

#[tracing::instrument]
fn handle(order: u64) {
    if order.is_multiple_of(50) {
        tracing::error!(order, "payment declined");
    }
}

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let spool_dir =
        std::env::temp_dir().join(format!("tracing-observer-outage-{}", std::process::id()));
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
    // What the simulated collector received; `None` with a real collector.
    let received = match std::env::args().nth(1) {
        Some(endpoint) => {
            builder = builder.endpoint(endpoint);
            None
        }
        None => {
            let received = Arc::new(Mutex::new(Received::default()));
            builder = builder.exporter(SimulatedCollector {
                started: Instant::now(),
                down_from: Duration::from_secs(1),
                down_until: Duration::from_secs(3),
                received: Arc::clone(&received),
            });
            Some(received)
        }
    };
    let observer = builder.build()?;
    tracing_subscriber::registry().with(observer.layer()).init();

    let started = Instant::now();
    let mut produced = 0u64;
    while started.elapsed() < Duration::from_secs(5) {
        handle(produced);
        produced += 1;
        std::thread::sleep(Duration::from_millis(2));
        if produced.is_multiple_of(250) {
            let s = observer.stats();
            eprintln!(
                "t={:.1}s produced={produced} exported={} spooled={} replayed={} in spool={}",
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
    let (received, duplicates) = match &received {
        Some(received) => {
            let received = received.lock().expect("not poisoned");
            (received.spans.len() as u64, received.duplicates.to_string())
        }
        // A real collector's own count is not visible from here: what it acknowledged.
        None => (s.exported + s.replayed, "n/a".to_owned()),
    };
    let in_spool = s.spool.pending_spans;
    let dropped = s.dropped.total();
    let lost = produced.saturating_sub(received + in_spool + dropped);

    // Delete the spool only when nothing is left in it (rejected batches included).
    match tracing_observer::spool::summary(&spool_dir) {
        Ok(left) if left.batches == 0 => std::fs::remove_dir_all(&spool_dir)?,
        Ok(left) => eprintln!(
            "{} batches ({} spans) are left in {}: send them with \
             `tracing-observer spool replay {} --endpoint URL`",
            left.batches,
            left.spans,
            spool_dir.display(),
            spool_dir.display()
        ),
        // No directory: the spool was off (`OBSERVER_SPOOL=off`).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    println!(
        "outage: produced={produced} exported={} spooled={} replayed={} received={received} \
         duplicates={duplicates} in_spool={in_spool} dropped={dropped} lost={lost}",
        s.exported, s.spooled, s.replayed
    );
    if lost > 0 || dropped > 0 {
        eprintln!("outage: {lost} spans lost, {dropped} dropped");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
