//! The bounded hand-off from the host's threads to the worker.
//!
//! Producers push boxed records into a lock-free array queue. A full queue never
//! blocks: the record is dropped and counted. When the queue holds a full batch the
//! first producer to notice wakes the worker (one atomic swap, then a `Notify`), so
//! the worker drains on demand instead of only on its timer.

use crate::record::SpanRecord;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::Notify;

/// A multi-producer, single-consumer bounded queue of finished spans.
#[derive(Debug)]
pub(crate) struct SpanQueue {
    slots: ArrayQueue<Box<SpanRecord>>,
    wake_at: usize,
    wake_pending: AtomicBool,
    notify: Notify,
    dropped_full: AtomicU64,
}

impl SpanQueue {
    /// A queue of `capacity` records that wakes its consumer once `wake_at` are waiting.
    pub(crate) fn new(capacity: usize, wake_at: usize) -> Self {
        Self {
            slots: ArrayQueue::new(capacity.max(1)),
            wake_at: wake_at.clamp(1, capacity.max(1)),
            wake_pending: AtomicBool::new(false),
            notify: Notify::new(),
            dropped_full: AtomicU64::new(0),
        }
    }

    /// Hands a record to the worker; when the queue is full the record is dropped and counted.
    pub(crate) fn push(&self, record: Box<SpanRecord>) {
        if self.slots.push(record).is_err() {
            self.dropped_full.fetch_add(1, Ordering::Relaxed);
            self.wake();
            return;
        }
        if self.slots.len() >= self.wake_at {
            self.wake();
        }
    }

    fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Takes the oldest record.
    pub(crate) fn pop(&self) -> Option<Box<SpanRecord>> {
        self.slots.pop()
    }

    /// Records waiting.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Records dropped because the queue was full.
    pub(crate) fn dropped_full(&self) -> u64 {
        self.dropped_full.load(Ordering::Relaxed)
    }

    /// Waits until a producer asks for a drain; re-arms the wake-up.
    pub(crate) async fn wait_for_batch(&self) {
        self.notify.notified().await;
        self.wake_pending.store(false, Ordering::Release);
    }
}
