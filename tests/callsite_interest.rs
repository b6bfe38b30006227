//! The observer leaves the host's callsites "always" enabled.
//!
//! `tracing` caches, per callsite, what every registered dispatcher thinks of it.
//! Were the observer to register a second subscriber of its own (its worker
//! silences itself), dispatchers would disagree and every span and event of the
//! host would ask `enabled` again at each call. This is the only test of its binary:
//! another test's subscriber would make the same disagreement.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::{Metadata, Subscriber};
use tracing_observer::{config::TracesExporter, Observer};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Counts how often the dispatcher asks whether a callsite is enabled.
struct CountEnabled(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for CountEnabled {
    fn enabled(&self, _: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed);
        true
    }
}

#[test]
fn spans_and_events_are_not_asked_about_again_once_the_worker_runs() {
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool(false)
        .traces_exporter(TracesExporter::None)
        .build()
        .unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(observer.layer())
            .with(CountEnabled(Arc::clone(&asked))),
    );
    // Answered by the worker: its thread runs and has silenced itself.
    observer.force_flush(Duration::from_secs(10)).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..100 {
            tracing::info_span!("op", i).in_scope(|| tracing::info!("inside"));
        }
    });
    let asked = asked.load(Ordering::Relaxed);
    // Once per callsite when its interest is computed, not per call.
    assert!(asked <= 4, "enabled was asked {asked} times for 200 calls");
    observer.shutdown(Duration::from_secs(10));
}
