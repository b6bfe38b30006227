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
    /// One-time warnings waiting for a subscriber (the worker may start first).
    pending: Mutex<Vec<String>>,
}

#[derive(Debug, Default)]
struct Said {
    dropped: u64,
    failures: u64,
    rejected: u64,
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

    /// Warns once, as soon as a subscriber is registered, that the spool directory is
    /// open to others (its mode is kept: it may be shared on purpose).
    pub(crate) fn spool_not_private(&self, dir: &std::path::Path, mode: u32) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push(format!(
                "tracing-observer's spool directory {} is open to others (mode {mode:o}): \
                 spooled spans carry user data; chmod 700 it unless it is shared on purpose",
                dir.display()
            ));
        }
        self.say_pending();
    }

    /// Emits the one-time warnings once a subscriber is there.
    fn say_pending(&self) {
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        for message in pending.drain(..) {
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::warn!(target: "tracing_observer", "{message}");
            });
        }
    }

    /// Warns about drops, spans the collector rejected and export failures since the
    /// last warning, at most once per interval; the message names what happened.
    pub(crate) fn check(&self, stats: &PipelineStats) {
        self.say_pending();
        let Ok(mut said) = self.said.lock() else {
            return;
        };
        // Spooled spans the collector rejected on replay are lost too (though counted
        // as spooled, not as dropped).
        let replay_rejected = stats.spool.replay_rejected;
        let dropped = stats.dropped.total() + replay_rejected;
        let failures = stats.export_failures;
        let rejected = stats.dropped.rejected + replay_rejected;
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
        let new_rejected = rejected - said.rejected.min(rejected);
        said.dropped = dropped;
        said.failures = failures;
        said.rejected = rejected;
        said.last_warning = Some(Instant::now());
        let what = summary(new_drops, new_rejected, new_failures);
        let d = &stats.dropped;
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::warn!(
                target: "tracing_observer",
                new_drops,
                new_rejected,
                new_failures,
                queue_full = d.queue_full,
                error_lane_full = d.error_lane_full,
                span_too_large = d.span_too_large,
                export_failed = d.export_failed,
                spooled = stats.spooled,
                replay_rejected,
                last_export_error = stats.last_export_error.as_deref().unwrap_or("none"),
                collector_message = stats.last_rejection.as_deref().unwrap_or("none"),
                "tracing-observer {what} since its last warning"
            );
        });
    }
}

/// What a warning reports, in words: drops (and how many of them the collector
/// rejected), failed exports, or both.
fn summary(new_drops: u64, new_rejected: u64, new_failures: u64) -> String {
    let drops = match (new_drops, new_rejected) {
        (0, _) => None,
        (n, 0) => Some(format!("dropped {n} spans")),
        (n, r) if r == n => Some(format!("dropped {n} spans the collector rejected")),
        (n, r) => Some(format!("dropped {n} spans ({r} rejected by the collector)")),
    };
    let failures = (new_failures > 0).then(|| format!("had {new_failures} failed exports"));
    match (drops, failures) {
        (Some(d), Some(f)) => format!("{d} and {f}"),
        (Some(d), None) => d,
        (None, Some(f)) => format!("{f} (nothing dropped: retried or spooled)"),
        (None, None) => "had nothing to report".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn the_warning_says_what_happened() {
        assert_eq!(
            summary(0, 0, 3),
            "had 3 failed exports (nothing dropped: retried or spooled)"
        );
        assert_eq!(summary(5, 0, 0), "dropped 5 spans");
        assert_eq!(summary(5, 5, 0), "dropped 5 spans the collector rejected");
        assert_eq!(
            summary(7, 5, 2),
            "dropped 7 spans (5 rejected by the collector) and had 2 failed exports"
        );
    }
}
