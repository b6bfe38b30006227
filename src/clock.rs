//! The crate's monotonic clock: nanoseconds since the first observer started.
//!
//! Read from the CPU's time-stamp counter where it is invariant (`quanta` decides
//! and calibrates it against `CLOCK_MONOTONIC` once per process, when the first
//! observer is built; on x86_64 the hooks then read the counter directly and scale
//! it with quanta's calibration): a few times cheaper than `clock_gettime` (figures
//! in docs/performance.md), and a sampled-out span reads it twice. Elsewhere it is
//! `CLOCK_MONOTONIC`, through quanta. Compact (`u64`) where an `Instant` (16 bytes)
//! would not fit, e.g. in the sampled-out span table and the rate limiters. Span
//! records keep their times as these readings; the worker maps them to Unix time
//! from one reading of both clocks per batch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// A reading of the crate's clock: monotonic nanoseconds since the first observer
/// started. Span and event times are kept as these (8 bytes, plain integer
/// arithmetic) and turned into Unix time on the worker.
pub(crate) type Nanos = u64;

/// Where [`now_nanos`] reads the time-stamp counter itself: nanoseconds per 2³²
/// ticks, or 0 while the clock has not started or is not the counter. Published
/// after [`TSC_START`], with release ordering.
static TSC_SCALE: AtomicU64 = AtomicU64::new(0);

/// The counter's reading when the clock started (valid once [`TSC_SCALE`] is set).
static TSC_START: AtomicU64 = AtomicU64::new(0);

/// The clock and its raw reading when it started.
fn clock() -> &'static (quanta::Clock, u64) {
    static CLOCK: OnceLock<(quanta::Clock, u64)> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = quanta::Clock::new();
        let start = clock.raw();
        if reads_the_counter(&clock) {
            // quanta's calibration, as a fixed-point factor: nanoseconds per 2³² ticks.
            let scale = clock.delta_as_nanos(0, 1 << 32);
            TSC_START.store(start, Ordering::Relaxed);
            TSC_SCALE.store(scale, Ordering::Release);
        }
        (clock, start)
    })
}

/// The time-stamp counter, read directly.
#[cfg(target_arch = "x86_64")]
#[inline]
fn counter() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU and has no preconditions.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// Whether `clock`'s raw readings are the time-stamp counter's (quanta chose it:
/// invariant, and calibrated) rather than `CLOCK_MONOTONIC`'s nanoseconds: a raw
/// reading taken between two counter readings falls between them.
#[cfg(target_arch = "x86_64")]
fn reads_the_counter(clock: &quanta::Clock) -> bool {
    (0..3).all(|_| {
        let before = counter();
        let raw = clock.raw();
        let after = counter();
        (before..=after).contains(&raw)
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn reads_the_counter(_: &quanta::Clock) -> bool {
    false
}

/// Starts (and calibrates) the clock, if it has not started yet: on the thread that
/// builds an observer, so that no hook ever waits for the calibration.
pub(crate) fn start() {
    clock();
}

/// Nanoseconds since the clock started, now.
///
/// On the counter, a direct read scaled by one multiplication: no `OnceLock`
/// check and no dispatch on quanta's clock kind, which together cost more
/// instructions than the read itself. Elsewhere (and before the clock started),
/// through quanta.
#[inline]
pub(crate) fn now_nanos() -> Nanos {
    #[cfg(target_arch = "x86_64")]
    {
        let scale = TSC_SCALE.load(Ordering::Acquire);
        if scale != 0 {
            let ticks = counter().saturating_sub(TSC_START.load(Ordering::Relaxed));
            return ((u128::from(ticks) * u128::from(scale)) >> 32) as u64;
        }
    }
    from_quanta()
}

/// [`now_nanos`] through quanta. Out of line: the counter's path stays small.
#[inline(never)]
fn from_quanta() -> Nanos {
    let (clock, start) = clock();
    clock.delta_as_nanos(*start, clock.raw())
}

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn direct_readings_agree_with_quanta() {
        start();
        let (clock, origin) = clock();
        let quanta = |raw| clock.delta_as_nanos(*origin, raw);
        // One direct reading between two of quanta's: it lies between their
        // conversions, to within the fixed-point rounding (1 ns per 2³² ticks).
        std::thread::sleep(Duration::from_millis(2));
        let before = quanta(clock.raw());
        let direct = now_nanos();
        let after = quanta(clock.raw());
        assert!(
            before.saturating_sub(1) <= direct && direct <= after + 1,
            "{before} <= {direct} <= {after}"
        );
    }

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
