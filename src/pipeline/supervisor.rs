//! Failure isolation: the worker loop runs under a guard that catches panics.
//!
//! A panic (a faulty exporter, a bug in the observer) is caught and counted, and the
//! loop restarts after a backoff (100 ms, doubling, at most 5 s). Failures count as
//! "in a row" unless the worker ran for a minute since the last one; past
//! `max_restarts` in a row the observer disables itself: the layer stops recording,
//! health and `tracing_observer_disabled` say why, and the worker only answers flush
//! and shutdown so that the host's shutdown stays prompt.

use super::status::Status;
use super::worker::Worker;
use crate::panic_hook::panic_message;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A worker that ran this long since its last failure starts counting afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Runs the worker until it returns, restarting it after panics.
pub(super) async fn supervise(worker: &mut Worker, status: &Status, max_restarts: usize) {
    let mut failures = Failures::default();
    loop {
        let Err(panic) = AssertUnwindSafe(worker.run()).catch_unwind().await else {
            return;
        };
        status.count_restart();
        match failures.next(Instant::now(), max_restarts) {
            Some(backoff) => tokio::time::sleep(backoff).await,
            None => {
                status.disable(format!(
                    "the worker failed {} times in a row; last panic: {}",
                    failures.in_a_row,
                    panic_message(&*panic)
                ));
                worker.run_disabled().await;
                return;
            }
        }
    }
}

/// Consecutive failures and the backoff before the next restart.
#[derive(Debug, Default)]
struct Failures {
    in_a_row: usize,
    last: Option<Instant>,
}

impl Failures {
    /// Records a failure at `now`: the backoff before restarting, or `None` to give up.
    fn next(&mut self, now: Instant, max_restarts: usize) -> Option<Duration> {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) >= HEALTHY_RUN)
        {
            self.in_a_row = 0;
        }
        self.in_a_row += 1;
        self.last = Some(now);
        if self.in_a_row > max_restarts {
            return None;
        }
        let exponent = u32::try_from(self.in_a_row - 1).unwrap_or(u32::MAX).min(16);
        Some((FIRST_BACKOFF * 2u32.pow(exponent)).min(MAX_BACKOFF))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_gives_up() {
        let mut failures = Failures::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(failures.next(t0, 3), Some(ms(100)));
        assert_eq!(failures.next(t0 + ms(200), 3), Some(ms(200)));
        assert_eq!(failures.next(t0 + ms(500), 3), Some(ms(400)));
        assert_eq!(failures.next(t0 + ms(1000), 3), None);
    }

    #[test]
    fn a_long_healthy_run_resets_the_count() {
        let mut failures = Failures::default();
        let t0 = Instant::now();
        assert!(failures.next(t0, 1).is_some());
        assert!(failures.next(t0 + HEALTHY_RUN, 1).is_some());
        assert!(failures.next(t0 + HEALTHY_RUN, 1).is_none());
    }
}
