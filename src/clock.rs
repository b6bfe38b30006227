//! The crate's monotonic clock: nanoseconds since a process-wide anchor.
//!
//! Compact (`u64`) where an `Instant` (16 bytes) would not fit, e.g. in the
//! sampled-out span table and the rate limiters, and cheap to read: on Unix it is
//! `CLOCK_MONOTONIC` (the clock `Instant` uses) read directly, without `Instant`'s
//! arithmetic.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Both clocks read together once: converts between readings and `Instant`s.
struct Anchor {
    instant: Instant,
    raw: u64,
}

fn anchor() -> &'static Anchor {
    static ANCHOR: OnceLock<Anchor> = OnceLock::new();
    ANCHOR.get_or_init(|| Anchor {
        raw: raw_now(),
        instant: Instant::now(),
    })
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
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Sets the anchor, if it is not set yet; readings before it saturate to zero.
pub(crate) fn start() {
    anchor();
}

/// Nanoseconds since the anchor, now.
#[inline]
pub(crate) fn now_nanos() -> u64 {
    raw_now().saturating_sub(anchor().raw)
}

/// Nanoseconds since the anchor, for `at`.
pub(crate) fn nanos(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(anchor().instant).as_nanos()).unwrap_or(u64::MAX)
}

/// The `Instant` of a nanosecond reading.
pub(crate) fn instant(nanos: u64) -> Instant {
    anchor().instant + Duration::from_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        start();
        let now = Instant::now();
        let n = nanos(now);
        let back = instant(n);
        assert!(back <= now && now - back < Duration::from_micros(1));
    }

    #[test]
    fn raw_readings_agree_with_instant() {
        start();
        let before = nanos(Instant::now());
        let raw = now_nanos();
        let after = nanos(Instant::now());
        // The anchor reads both clocks a few nanoseconds apart.
        assert!(
            raw + 10_000 >= before && raw <= after + 10_000,
            "{before} {raw} {after}"
        );
    }
}
