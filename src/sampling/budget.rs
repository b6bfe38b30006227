//! The observer's own cost, measured on the host's threads, and the adaptive
//! sampling factor that keeps it under a budget.
//!
//! One hook call in [`SAMPLE_EVERY`] per thread is timed (two clock reads); its
//! duration, scaled up, is added to the observer's meter (one atomic add per timed
//! call, so a thread reporting to several observers never mixes their sums). The
//! host's time is the duration of local root spans. Every second the
//! worker divides one by the other: that is the overhead ratio. With a budget, a
//! ratio above it halves the factor applied to head-sampling ratios (errors are
//! still kept by the tail rule), and a ratio below half the budget doubles it back
//! towards 1 — the gap between the two is the hysteresis.

use crate::clock::{self, Nanos};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One hook call in this many is timed. Prime, so that it does not alias with the
/// fixed cycle of hooks a loop makes (new span, enter, exit, close: 4 per span). With
/// a multiple of 4 such as 64, every timed call of a simple loop would be the same
/// hook, and the ratio would read a fraction of the real overhead.
pub(crate) const SAMPLE_EVERY: u32 = 61;
/// The lowest factor the budget may impose.
const MIN_FACTOR: f64 = 1.0 / 1024.0;

thread_local! {
    /// Hook calls left until this thread times the next one (a cell of its own:
    /// every hook call reads and writes it).
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// Measured overhead and the adaptive factor.
#[derive(Debug)]
pub(crate) struct OverheadMeter {
    budget: Option<f64>,
    observer_ns: AtomicU64,
    host_ns: AtomicU64,
    ratio: AtomicU64,
    factor: AtomicU64,
}

/// A started measurement of one hook call (nothing for unsampled calls); it stops
/// when dropped, so every return path of a hook is measured.
pub(crate) struct HookTimer<'a> {
    meter: &'a OverheadMeter,
    start: Option<Nanos>,
}

impl Drop for HookTimer<'_> {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            let ns = clock::now_nanos().saturating_sub(start);
            let scaled = ns.saturating_mul(u64::from(SAMPLE_EVERY));
            self.meter.observer_ns.fetch_add(scaled, Relaxed);
        }
    }
}

impl OverheadMeter {
    pub(crate) fn new(budget: Option<f64>) -> Self {
        Self {
            budget,
            observer_ns: AtomicU64::new(0),
            host_ns: AtomicU64::new(0),
            ratio: AtomicU64::new(0f64.to_bits()),
            factor: AtomicU64::new(1f64.to_bits()),
        }
    }

    /// Starts timing this hook call if it is one of the sampled ones.
    #[inline]
    pub(crate) fn start(&self) -> HookTimer<'_> {
        let sampled = CALLS
            .try_with(|calls| {
                let left = calls.get();
                calls.set(left.checked_sub(1).unwrap_or(SAMPLE_EVERY - 1));
                left == 0
            })
            .unwrap_or(false);
        HookTimer {
            meter: self,
            start: sampled.then(clock::now_nanos),
        }
    }

    /// Adds the duration of a local root span: the host's time the ratio divides by.
    /// Called on the worker for exported and tallied roots, on the caller's thread
    /// for a root whose record or tally entry was dropped.
    pub(crate) fn add_host_time(&self, ns: u64) {
        self.host_ns.fetch_add(ns, Relaxed);
    }

    /// Closes a measurement window (the worker calls it every second): updates the
    /// ratio and, with a budget, the factor.
    pub(crate) fn adjust(&self) {
        let observer = self.observer_ns.swap(0, Relaxed);
        let host = self.host_ns.swap(0, Relaxed);
        if host == 0 {
            return;
        }
        let ratio = observer as f64 / host as f64;
        self.ratio.store(ratio.to_bits(), Relaxed);
        let Some(budget) = self.budget else { return };
        let factor = self.factor();
        let next = if ratio > budget {
            (factor / 2.0).max(MIN_FACTOR)
        } else if ratio < budget / 2.0 {
            (factor * 2.0).min(1.0)
        } else {
            factor
        };
        self.factor.store(next.to_bits(), Relaxed);
    }

    /// The observer's cost as a fraction of the host's traced time, last window.
    pub(crate) fn ratio(&self) -> f64 {
        f64::from_bits(self.ratio.load(Relaxed))
    }

    /// The factor applied to head-sampling ratios (1.0 without a budget).
    pub(crate) fn factor(&self) -> f64 {
        f64::from_bits(self.factor.load(Relaxed))
    }

    /// Whether a budget is set.
    pub(crate) fn is_adaptive(&self) -> bool {
        self.budget.is_some()
    }

    /// The overhead budget, when one is set.
    pub(crate) fn budget(&self) -> Option<f64> {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factor_halves_over_budget_and_recovers_under_half_of_it() {
        let meter = OverheadMeter::new(Some(0.02));
        let window = |observer: u64, host: u64| {
            meter.observer_ns.store(observer, Relaxed);
            meter.host_ns.store(host, Relaxed);
            meter.adjust();
        };
        window(10, 100);
        assert!((meter.ratio() - 0.1).abs() < 1e-9);
        assert_eq!(meter.factor(), 0.5);
        window(10, 100);
        assert_eq!(meter.factor(), 0.25);
        window(15, 1000); // 1.5 %: inside the hysteresis band, no change
        assert_eq!(meter.factor(), 0.25);
        window(5, 1000); // 0.5 %: under half the budget
        assert_eq!(meter.factor(), 0.5);
    }

    #[test]
    fn without_a_budget_only_the_ratio_moves() {
        let meter = OverheadMeter::new(None);
        meter.observer_ns.store(50, Relaxed);
        meter.host_ns.store(100, Relaxed);
        meter.adjust();
        assert_eq!(meter.ratio(), 0.5);
        assert_eq!(meter.factor(), 1.0);
    }

    #[test]
    fn every_hook_of_a_cycle_gets_timed_in_turn() {
        // A loop's hooks come in a fixed cycle; the timed ones must not always fall
        // on the same position of it.
        let meter = OverheadMeter::new(None);
        let mut timed = [0u32; 4];
        for call in 0..(SAMPLE_EVERY * 4 * 10) {
            if meter.start().start.is_some() {
                timed[(call % 4) as usize] += 1;
            }
        }
        assert!(timed.iter().all(|&n| n >= 9), "{timed:?}");
    }

    #[test]
    fn each_meter_gets_its_own_timings_at_once() {
        // One thread, two observers: what one observer's hooks cost is its own.
        let (first, second) = (OverheadMeter::new(None), OverheadMeter::new(None));
        for _ in 0..(SAMPLE_EVERY * 3) {
            let _timer = first.start();
        }
        assert!(first.observer_ns.load(Relaxed) > 0);
        let before = first.observer_ns.load(Relaxed);
        for _ in 0..(SAMPLE_EVERY * 3) {
            let _timer = second.start();
        }
        assert_eq!(first.observer_ns.load(Relaxed), before);
        assert!(second.observer_ns.load(Relaxed) > 0);
        second.add_host_time(2_000_000_000);
        assert_eq!(second.host_ns.load(Relaxed), 2_000_000_000);
        assert_eq!(first.host_ns.load(Relaxed), 0);
    }
}
