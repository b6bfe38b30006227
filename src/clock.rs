//! The crate's monotonic clock: nanoseconds of `CLOCK_MONOTONIC`.
//!
//! Compact (`u64`) where an `Instant` (16 bytes) would not fit, e.g. in the
//! sampled-out span table and the rate limiters, and cheap to read and subtract: on
//! Unix it is `CLOCK_MONOTONIC` (the clock `Instant` uses) read directly, without
//! `Instant`'s arithmetic. Span records keep their times as these readings; the
//! worker maps them to Unix time from one reading of both clocks per batch.

/// A reading of the crate's clock: monotonic nanoseconds (on Unix, since boot).
/// Span and event times are kept as these (8 bytes, plain integer arithmetic) and
/// turned into Unix time on the worker.
pub(crate) type Nanos = u64;

/// Nanoseconds of the monotonic clock, now.
#[cfg(unix)]
#[inline]
pub(crate) fn now_nanos() -> Nanos {
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

/// Nanoseconds since the clock was first read, now.
#[cfg(not(unix))]
pub(crate) fn now_nanos() -> Nanos {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn readings_advance_with_instant() {
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
