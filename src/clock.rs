//! The crate's monotonic clock: nanoseconds since a process-wide anchor.
//!
//! Compact (`u64`) where an `Instant` (16 bytes) would not fit, e.g. in the
//! sampled-out span table and the rate limiters.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn anchor() -> Instant {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    *ANCHOR.get_or_init(Instant::now)
}

/// Sets the anchor, if it is not set yet; instants before it read as zero.
pub(crate) fn start() {
    anchor();
}

/// Nanoseconds since the anchor, for `at`.
pub(crate) fn nanos(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(anchor()).as_nanos()).unwrap_or(u64::MAX)
}

/// The `Instant` of a nanosecond reading.
pub(crate) fn instant(nanos: u64) -> Instant {
    anchor() + Duration::from_nanos(nanos)
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
}
