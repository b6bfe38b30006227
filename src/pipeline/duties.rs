//! The worker's timed duties: each has its own interval, and a duty that is off is
//! not in the [`Schedule`] at all.

use std::time::{Duration, Instant};

/// Something the worker does on a timer, besides exporting full batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Duty {
    /// Export the partial batch (every `scheduled_delay`) and warn about drops.
    ExportPartial,
    /// Export the partial log batch (every `logs_scheduled_delay`).
    ExportPartialLogs,
    /// Harvest the sampled-out tallies and adjust the overhead budget's sampling
    /// factor (every second).
    OverheadWindow,
    /// Sample process resources and refresh the self-metrics (`resource_interval`).
    Housekeeping,
    /// `fsync` the spool (`spool_sync_interval`).
    SpoolSync,
    /// Delete spool segments past retention (`spool_cleanup_interval`).
    SpoolCleanup,
    /// Push the metrics over OTLP (`metric_export_interval`).
    MetricsPush,
}

/// When each duty is next due.
#[derive(Debug)]
pub(super) struct Schedule {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    duty: Duty,
    every: Duration,
    next: Instant,
}

impl Schedule {
    /// Each duty first due one interval after `now`.
    pub(super) fn new(duties: impl IntoIterator<Item = (Duty, Duration)>, now: Instant) -> Self {
        let entries = duties
            .into_iter()
            .map(|(duty, every)| Entry {
                duty,
                every,
                next: now + every,
            })
            .collect();
        Self { entries }
    }

    /// The earliest time a duty is due; `None` without duties.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.entries.iter().map(|e| e.next).min()
    }

    /// Puts the duties due at `now` into `due`, in the order they were given, and
    /// schedules each one interval after `now` (a late tick is not made up).
    pub(super) fn take_due(&mut self, now: Instant, due: &mut Vec<Duty>) {
        due.clear();
        for entry in self.entries.iter_mut().filter(|e| e.next <= now) {
            due.push(entry.duty);
            entry.next = now + entry.every;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_duty_keeps_its_own_interval() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut schedule = Schedule::new(
            [(Duty::OverheadWindow, s(1)), (Duty::ExportPartial, s(5))],
            t0,
        );
        let mut due = Vec::new();
        assert_eq!(schedule.next_due(), Some(t0 + s(1)));
        schedule.take_due(t0 + Duration::from_millis(500), &mut due);
        assert!(due.is_empty());
        schedule.take_due(t0 + s(1), &mut due);
        assert_eq!(due, [Duty::OverheadWindow]);
        assert_eq!(schedule.next_due(), Some(t0 + s(2)));
        // Late: both are due once, and neither makes up the ticks it missed.
        schedule.take_due(t0 + s(7), &mut due);
        assert_eq!(due, [Duty::OverheadWindow, Duty::ExportPartial]);
        assert_eq!(schedule.next_due(), Some(t0 + s(8)));
    }

    #[test]
    fn without_duties_nothing_is_due() {
        let schedule = Schedule::new([], Instant::now());
        assert_eq!(schedule.next_due(), None);
    }
}
