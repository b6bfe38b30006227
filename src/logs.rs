//! Events as OTLP log records: what the layer decides on the host's thread.
//!
//! An event at or above the logs level becomes a [`LogRecord`] unless
//!
//! - it happened in a trace head sampling dropped and is below WARN (counted as
//!   sampled out: the trace's other data is gone too, and warnings and errors are
//!   always kept), or
//! - its callsite is over its rate (counted as `rate_limited`): a flood from one
//!   line of code cannot take the queue from the others.
//!
//! Accepted records go to their own bounded queue (warnings and errors in its
//! priority lane); the worker batches, encodes and delivers them beside the spans.

use crate::queue::LogQueue;
use crate::record::log::LogRecord;
use crate::record::Limits;
use crate::sampling::RateLimiter;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tracing_core::{Level, LevelFilter, Metadata};

/// Rate-limiter slots, shared by the callsites whose addresses fall in the same slot.
const RATE_SLOTS: usize = 256;
/// Records kept for reuse at most.
const RECYCLED_RECORDS: usize = 1024;

/// How the logs pipeline captures events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LogSettings {
    /// The least severe level exported as logs.
    pub(crate) level: LevelFilter,
    /// Log records per second one callsite may send; `None`: no limit.
    pub(crate) per_callsite_rate: Option<f64>,
    /// Attributes kept per record and bytes kept per value.
    pub(crate) max_attributes: usize,
    pub(crate) max_value_bytes: usize,
    /// The queue's bounds and the batch size that wakes the worker.
    pub(crate) max_queue_size: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) batch_size: usize,
}

/// The host side of the logs pipeline: one per observer, in the [`Recorder`](crate::recorder::Recorder).
#[derive(Debug)]
pub(crate) struct LogCapture {
    pub(crate) queue: LogQueue,
    level: LevelFilter,
    rates: Option<Box<[RateLimiter]>>,
    /// The limits events are captured with: the span limits with the log record's
    /// value length (events captured only as logs), and no count limit (a callsite's
    /// fields bound it; the count limit is applied after, and counted).
    pub(crate) limits: Limits,
    /// Attributes kept per log record.
    pub(crate) max_attributes: usize,
    /// Records of sampled-out traces below WARN, not exported.
    pub(crate) sampled_out: AtomicU64,
    /// Records refused because their callsite was over its rate.
    pub(crate) rate_limited: AtomicU64,
    /// Records the worker is done with, handed back with their attributes' capacity,
    /// so that the host's threads do not allocate (nor memory get freed across
    /// threads) for each event.
    recycled: ArrayQueue<Box<LogRecord>>,
}

/// Where an event stands towards the logs pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trace {
    /// Outside any span the observer knows.
    None,
    /// In a recorded span.
    Recorded,
    /// In a span head sampling dropped.
    SampledOut,
}

impl LogCapture {
    pub(crate) fn new(settings: &LogSettings, span_limits: &Limits) -> Self {
        let rates = settings.per_callsite_rate.map(|rate| {
            (0..RATE_SLOTS)
                .map(|_| RateLimiter::new(rate))
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        Self {
            queue: LogQueue::new(
                settings.max_queue_size,
                settings.max_queue_bytes,
                settings.batch_size,
            ),
            level: settings.level,
            rates,
            limits: Limits {
                max_event_attributes: usize::MAX,
                max_value_bytes: settings.max_value_bytes,
                ..*span_limits
            },
            max_attributes: settings.max_attributes,
            sampled_out: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            recycled: ArrayQueue::new(RECYCLED_RECORDS),
        }
    }

    /// Whether events of this callsite's level are exported as logs at all.
    #[inline]
    pub(crate) fn wants(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level
    }

    /// Whether an event of `metadata`, in `trace`, is exported (counting it when it is
    /// not), at monotonic time `now`.
    pub(crate) fn admits(
        &self,
        metadata: &'static Metadata<'static>,
        trace: Trace,
        now: u64,
    ) -> bool {
        if trace == Trace::SampledOut && *metadata.level() > Level::WARN {
            self.sampled_out.fetch_add(1, Relaxed);
            return false;
        }
        if let Some(rates) = &self.rates {
            let slot = (std::ptr::from_ref(metadata) as usize >> 4) % rates.len();
            if !rates[slot].admit(now) {
                self.rate_limited.fetch_add(1, Relaxed);
                return false;
            }
        }
        true
    }

    /// An empty record to fill: a recycled one when available.
    pub(crate) fn new_record(&self) -> Box<LogRecord> {
        self.recycled.pop().unwrap_or_default()
    }

    /// Hands a record to the worker; a refused one is counted by the queue.
    pub(crate) fn push(&self, record: Box<LogRecord>) {
        self.queue.push(record);
    }

    /// Takes back a record the worker is done with, for reuse.
    pub(crate) fn recycle(&self, mut record: Box<LogRecord>) {
        record.clear();
        let _ = self.recycled.push(record);
    }
}
