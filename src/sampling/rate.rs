//! A lock-free rate limiter (GCRA: one compare-and-swap per decision).

use std::sync::atomic::{AtomicU64, Ordering};

/// Admits at most `per_second` decisions per second, with a burst of one second's worth.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Nanoseconds between admissions.
    interval: u64,
    /// How far ahead of now the theoretical arrival time may run (the burst).
    tolerance: u64,
    /// Theoretical arrival time, in nanoseconds on the crate's monotonic clock.
    tat: AtomicU64,
}

impl RateLimiter {
    pub(crate) fn new(per_second: f64) -> Self {
        let interval = (1e9 / per_second.max(1e-9)).min(u64::MAX as f64 / 4.0) as u64;
        Self {
            interval: interval.max(1),
            tolerance: 1_000_000_000,
            tat: AtomicU64::new(0),
        }
    }

    /// Whether one more admission fits at monotonic time `now` (nanoseconds).
    pub(crate) fn admit(&self, now: u64) -> bool {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now);
            if base.saturating_sub(now) > self.tolerance {
                return false;
            }
            match self.tat.compare_exchange_weak(
                tat,
                base + self.interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_rate_plus_one_burst() {
        let limiter = RateLimiter::new(10.0);
        let second = 1_000_000_000;
        let now = 5 * second;
        let admitted = (0..100).filter(|_| limiter.admit(now)).count();
        assert_eq!(admitted, 11, "one second of burst, plus the first");
        assert!(!limiter.admit(now));
        // Half a second later, five more fit.
        let later = now + second / 2;
        let admitted = (0..100).filter(|_| limiter.admit(later)).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn concurrent_admissions_never_exceed_the_budget() {
        let limiter = std::sync::Arc::new(RateLimiter::new(1000.0));
        let now = 10_000_000_000;
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let l = limiter.clone();
                std::thread::spawn(move || (0..10_000).filter(|_| l.admit(now)).count())
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 1001);
    }
}
