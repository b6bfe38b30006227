//! The observer's own diagnostics: rate-limited warnings in the host's subscriber.
//!
//! The worker has tracing switched off for itself, so it speaks through the
//! dispatcher the layer was registered with, as events with target
//! `tracing_observer` — outside any span, so the observer never records them. A
//! warning repeats at most once per interval and summarises what happened since
//! the last one (never a log flood).

use crate::report::PipelineStats;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing_core::dispatcher::WeakDispatch;
use tracing_core::Dispatch;

/// Shortest time between two warnings of the same kind.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Where diagnostics go, and what was already said.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    dispatch: OnceLock<WeakDispatch>,
    said: Mutex<Said>,
    /// OTLP metrics export failures not yet warned about, and the last such warning.
    metric_failures: Mutex<(u64, Option<Instant>)>,
}

#[derive(Debug, Default)]
struct Said {
    dropped: u64,
    failures: u64,
    last_warning: Option<Instant>,
}

impl Diagnostics {
    /// Remembers the subscriber the layer was registered with (the first one).
    pub(crate) fn register(&self, dispatch: &Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
    }

    /// Warns that an OTLP metrics export failed, at most once per interval (with the
    /// number of failures since the last warning).
    pub(crate) fn metric_export_failed(&self, error: &crate::ExportError) {
        let Ok(mut said) = self.metric_failures.lock() else {
            return;
        };
        said.0 += 1;
        if said.1.is_some_and(|t| t.elapsed() < WARN_INTERVAL) {
            return;
        }
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let failures = std::mem::take(&mut said.0);
        said.1 = Some(Instant::now());
        drop(said);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::warn!(
                target: "tracing_observer",
                failures,
                error = %error,
                "tracing-observer could not export its metrics over OTLP"
            );
        });
    }

    /// Warns about drops and export failures since the last warning, at most once per interval.
    pub(crate) fn check(&self, stats: &PipelineStats) {
        let Ok(mut said) = self.said.lock() else {
            return;
        };
        let dropped = stats.dropped.total();
        let failures = stats.export_failures;
        if dropped <= said.dropped && failures <= said.failures {
            return;
        }
        if said
            .last_warning
            .is_some_and(|t| t.elapsed() < WARN_INTERVAL)
        {
            return;
        }
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let (new_drops, new_failures) = (dropped - said.dropped, failures - said.failures);
        said.dropped = dropped;
        said.failures = failures;
        said.last_warning = Some(Instant::now());
        let d = &stats.dropped;
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::warn!(
                target: "tracing_observer",
                new_drops,
                new_failures,
                queue_full = d.queue_full,
                error_lane_full = d.error_lane_full,
                span_too_large = d.span_too_large,
                export_failed = d.export_failed,
                last_export_error = stats.last_export_error.as_deref().unwrap_or("none"),
                "tracing-observer dropped spans or failed exports since its last warning"
            );
        });
    }
}
