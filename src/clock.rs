//! The crate's monotonic clock: nanoseconds since a process-wide anchor.
//!
//! Compact (`u64`) where an `Instant` (16 bytes) would not fit, e.g. in the
//! sampled-out span table and the rate limiters, and cheap to read and subtract: on
//! Unix it is `CLOCK_MONOTONIC` (the clock `Instant` uses) read directly, without
//! `Instant`'s arithmetic. Span records keep their times as these readings.

use std::sync::OnceLock;

/// The raw reading taken when the clock was first used: readings count from it.
fn anchor() -> u64 {
    static ANCHOR: OnceLock<u64> = OnceLock::new();
    *ANCHOR.get_or_init(raw_now)
}

#[cfg(unix)]
fn raw_now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on
    // the platforms std supports, and on failure `ts` stays zero (a reading of 0).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[cfg(not(unix))]
fn raw_now() -> u64 {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A reading of the crate's clock: monotonic nanoseconds since the process-wide
/// anchor. Span and event times are kept as these (8 bytes, plain integer
/// arithmetic) and turned into Unix time on the worker.
pub(crate) type Nanos = u64;

/// Sets the anchor, if it is not set yet; readings before it saturate to zero.
pub(crate) fn start() {
    anchor();
}

/// Nanoseconds since the anchor, now.
#[inline]
pub(crate) fn now_nanos() -> Nanos {
    raw_now().saturating_sub(anchor())
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
