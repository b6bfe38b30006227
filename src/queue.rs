//! The bounded hand-off from the host's threads to the worker: two lanes, bounded
//! by count and by bytes.
//!
//! Producers push boxed records into lock-free array queues. Records that matter
//! most — failed spans and the spans a tail rule kept — go to the priority lane,
//! the rest to the normal lane. The normal lane may not use the bytes reserved for
//! the priority lane, so under pressure normal spans are dropped first; a priority
//! record that finds its lane full spills into the normal lane before it is
//! dropped. A full queue never blocks: the record is dropped and counted by reason.
//! When a full batch is waiting, the first producer to notice wakes the worker (one
//! atomic swap, then a `Notify`).

use crate::record::log::LogRecord;
use crate::record::SpanRecord;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// The share of count and bytes reserved for the priority lane (one eighth).
const PRIORITY_SHARE: usize = 8;

/// Why a record was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Full,
    TooLarge,
}

/// Drop counters, by reason.
#[derive(Debug, Default)]
pub(crate) struct QueueDrops {
    /// Normal spans refused because the queue was full (count or bytes).
    pub(crate) queue_full: AtomicU64,
    /// Priority spans refused because both lanes were full.
    pub(crate) error_lane_full: AtomicU64,
    /// Spans larger than a lane's whole byte budget.
    pub(crate) span_too_large: AtomicU64,
}

/// What the queue holds: a record that knows its size and whether it matters most.
pub(crate) trait Queued {
    /// The record's approximate heap footprint, counted against the byte bound.
    fn approx_bytes(&self) -> usize;
    /// Whether the record goes to the priority lane.
    fn is_priority(&self) -> bool;
    /// Where the queue keeps the size it counted for the record.
    fn queued_bytes(&mut self) -> &mut usize;
}

impl Queued for SpanRecord {
    fn approx_bytes(&self) -> usize {
        SpanRecord::approx_bytes(self)
    }
    fn is_priority(&self) -> bool {
        SpanRecord::is_priority(self)
    }
    fn queued_bytes(&mut self) -> &mut usize {
        &mut self.queued_bytes
    }
}

impl Queued for LogRecord {
    fn approx_bytes(&self) -> usize {
        LogRecord::approx_bytes(self)
    }
    fn is_priority(&self) -> bool {
        LogRecord::is_priority(self)
    }
    fn queued_bytes(&mut self) -> &mut usize {
        &mut self.queued_bytes
    }
}

/// The queue of finished spans.
pub(crate) type SpanQueue = Queue<SpanRecord>;
/// The queue of log records.
pub(crate) type LogQueue = Queue<LogRecord>;

/// A multi-producer, single-consumer bounded queue of records.
#[derive(Debug)]
pub(crate) struct Queue<T> {
    normal: ArrayQueue<Box<T>>,
    priority: ArrayQueue<Box<T>>,
    /// Bytes held by both lanes.
    bytes: AtomicUsize,
    max_bytes: usize,
    /// What the normal lane may fill: `max_bytes` minus the priority reserve.
    normal_max_bytes: usize,
    wake_at: usize,
    wake_pending: AtomicBool,
    notify: Notify,
    pub(crate) drops: QueueDrops,
}

impl<T: Queued> Queue<T> {
    /// A queue of `capacity` records and `max_bytes` that wakes its consumer once
    /// `wake_at` records are waiting.
    pub(crate) fn new(capacity: usize, max_bytes: usize, wake_at: usize) -> Self {
        let capacity = capacity.max(1);
        let priority = (capacity / PRIORITY_SHARE).max(1);
        Self {
            normal: ArrayQueue::new(capacity),
            priority: ArrayQueue::new(priority),
            bytes: AtomicUsize::new(0),
            max_bytes,
            normal_max_bytes: max_bytes - max_bytes / PRIORITY_SHARE,
            wake_at: wake_at.clamp(1, capacity),
            wake_pending: AtomicBool::new(false),
            notify: Notify::new(),
            drops: QueueDrops::default(),
        }
    }

    /// Hands a record to the worker; a refused record is dropped and counted.
    /// Returns whether it was queued.
    pub(crate) fn push(&self, mut record: Box<T>) -> bool {
        let size = record.approx_bytes();
        *record.queued_bytes() = size;
        let priority = record.is_priority();
        let result = if priority {
            self.push_to(&self.priority, record, size, self.max_bytes)
                .or_else(|(record, _)| self.push_to(&self.normal, record, size, self.max_bytes))
        } else {
            self.push_to(&self.normal, record, size, self.normal_max_bytes)
        };
        let counter = match result {
            Ok(()) => {
                if self.len() >= self.wake_at {
                    self.wake();
                }
                return true;
            }
            Err((_, Refusal::TooLarge)) => &self.drops.span_too_large,
            Err((_, Refusal::Full)) if priority => &self.drops.error_lane_full,
            Err((_, Refusal::Full)) => &self.drops.queue_full,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.wake();
        false
    }

    fn push_to(
        &self,
        lane: &ArrayQueue<Box<T>>,
        record: Box<T>,
        size: usize,
        limit: usize,
    ) -> Result<(), (Box<T>, Refusal)> {
        if size > limit {
            return Err((record, Refusal::TooLarge));
        }
        if self.bytes.fetch_add(size, Ordering::AcqRel) + size > limit {
            self.bytes.fetch_sub(size, Ordering::AcqRel);
            return Err((record, Refusal::Full));
        }
        lane.push(record).map_err(|record| {
            self.bytes.fetch_sub(size, Ordering::AcqRel);
            (record, Refusal::Full)
        })
    }

    /// Asks the worker to drain now (once until it does).
    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Takes the next record, the priority lane first.
    pub(crate) fn pop(&self) -> Option<Box<T>> {
        let mut record = self.priority.pop().or_else(|| self.normal.pop())?;
        self.bytes
            .fetch_sub(*record.queued_bytes(), Ordering::AcqRel);
        Some(record)
    }

    /// Records waiting.
    pub(crate) fn len(&self) -> usize {
        self.normal.len() + self.priority.len()
    }

    /// Bytes waiting (approximate heap footprint of the records).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Records dropped, all reasons.
    pub(crate) fn dropped(&self) -> u64 {
        let d = &self.drops;
        d.queue_full.load(Ordering::Relaxed)
            + d.error_lane_full.load(Ordering::Relaxed)
            + d.span_too_large.load(Ordering::Relaxed)
    }

    /// Waits until a producer asks for a drain; re-arms the wake-up.
    pub(crate) async fn wait_for_batch(&self) {
        self.notify.notified().await;
        self.wake_pending.store(false, Ordering::Release);
    }
}
