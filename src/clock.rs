//! The crate's monotonic clock: nanoseconds since the first observer started.
//!
//! Read from the CPU's time-stamp counter where it is invariant (via `quanta`,
//! calibrated against `CLOCK_MONOTONIC` once per process, when the first observer
//! is built): about 9 ns a read instead of about 21 ns for `clock_gettime` on the
//! machine the benchmarks ran on, and a sampled-out span reads it twice. Elsewhere
//! it is `CLOCK_MONOTONIC`. Compact (`u64`) where an `Instant` (16 bytes) would not
//! fit, e.g. in the sampled-out span table and the rate limiters. Span records keep
//! their times as these readings; the worker maps them to Unix time from one
//! reading of both clocks per batch.

use std::sync::OnceLock;

/// A reading of the crate's clock: monotonic nanoseconds since the first observer
/// started. Span and event times are kept as these (8 bytes, plain integer
/// arithmetic) and turned into Unix time on the worker.
pub(crate) type Nanos = u64;

/// The clock and its raw reading when it started.
fn clock() -> &'static (quanta::Clock, u64) {
    static CLOCK: OnceLock<(quanta::Clock, u64)> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = quanta::Clock::new();
        let start = clock.raw();
        (clock, start)
    })
}

/// Starts (and calibrates) the clock, if it has not started yet: on the thread that
/// builds an observer, so that no hook ever waits for the calibration.
pub(crate) fn start() {
    clock();
}

/// Nanoseconds since the clock started, now.
#[inline]
pub(crate) fn now_nanos() -> Nanos {
    let (clock, start) = clock();
    clock.delta_as_nanos(*start, clock.raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn readings_advance_with_instant() {
        start();
        let (a, t) = (now_nanos(), Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        let (b, elapsed) = (now_nanos(), t.elapsed());
        let measured = Duration::from_nanos(b - a);
        assert!(measured >= Duration::from_millis(5), "{measured:?}");
        // Both read CLOCK_MONOTONIC: they agree to within the reads' own cost.
        assert!(
            measured.abs_diff(elapsed) < Duration::from_millis(1),
            "{measured:?} vs {elapsed:?}"
        );
    }
}
