//! The hand-off of sampled-out spans ([`SampledOutSpan`]) from the host's threads to
//! the worker, which counts them in span metrics.
//!
//! Each thread that closes sampled-out spans gets its own single-producer ring
//! (`rtrb`): a push is a few plain loads and stores, with no read-modify-write shared
//! with other threads. The worker drains every ring and forgets the rings of threads
//! that ended. A shared bounded queue takes what a thread's ring cannot: when the
//! ring is full, while the thread's local storage is being torn down, or when the
//! thread could not register without waiting for the worker. Summaries that find
//! both full are dropped and counted; nothing here blocks.

use super::span::SpanSummary;
use crate::record::{SpanKind, StatusCode};
use crossbeam_queue::ArrayQueue;
use rtrb::{Consumer, Producer, RingBuffer};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use tracing_core::Metadata;

/// Spans one thread's ring holds (16 bytes each: 32 KiB per thread).
const RING_CAPACITY: usize = 2048;

/// Each thread checks its ring's fill once per this many pushes.
const FILL_CHECK_EVERY: u32 = 64;

/// Tells queues apart in threads' local storage (a process may build several observers).
static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

/// What the worker learns of a span head sampling dropped, in 16 bytes (four to a
/// cache line): its callsite, its duration and whether it is a local root. Its
/// fields, kind and status are never read: it counts as `INTERNAL` and `UNSET`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SampledOutSpan {
    metadata: &'static Metadata<'static>,
    /// Nanoseconds from creation to close; the top bit says "local root".
    packed: u64,
}

const _: () = assert!(std::mem::size_of::<SampledOutSpan>() == 16);

impl SampledOutSpan {
    const ROOT: u64 = 1 << 63;

    /// A span of `metadata` that lasted `duration_ns` (capped at 2^63 − 1).
    pub(crate) fn new(
        metadata: &'static Metadata<'static>,
        duration_ns: u64,
        is_root: bool,
    ) -> Self {
        let root = if is_root { Self::ROOT } else { 0 };
        Self {
            metadata,
            packed: duration_ns.min(!Self::ROOT) | root,
        }
    }

    /// Nanoseconds from creation to close.
    pub(crate) fn duration_ns(self) -> u64 {
        self.packed & !Self::ROOT
    }

    /// Whether it is a local root: its duration is host time for the overhead meter.
    pub(crate) fn is_root(self) -> bool {
        self.packed & Self::ROOT != 0
    }

    /// What span metrics count.
    pub(crate) fn summary(self) -> SpanSummary {
        SpanSummary {
            metadata: self.metadata,
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            duration_ns: self.duration_ns(),
        }
    }
}

thread_local! {
    /// This thread's ring, for the queue it last pushed to.
    static LOCAL_RING: RefCell<Option<LocalRing>> = const { RefCell::new(None) };
}

/// A thread's end of its ring.
struct LocalRing {
    queue: u64,
    producer: Producer<SampledOutSpan>,
    /// Pushes left until the next fill check.
    until_fill_check: u32,
}

/// What became of a summary handed to the [`SummaryQueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued; the queue is not filling up.
    Queued,
    /// Queued, and the queue is filling up: wake the worker to drain it.
    QueuedFilling,
    /// The queue was full: dropped and counted (the worker should drain it).
    Dropped,
}

impl Pushed {
    /// Whether the worker should be woken to drain the queue now.
    pub(crate) fn wakes_worker(self) -> bool {
        self != Self::Queued
    }
}

/// The bounded hand-off of summaries of sampled-out spans from the host's threads.
pub(crate) struct SummaryQueue {
    id: u64,
    ring_capacity: usize,
    /// The worker's ends of the threads' rings.
    rings: Mutex<Vec<Consumer<SampledOutSpan>>>,
    /// What the rings cannot take.
    shared: ArrayQueue<SampledOutSpan>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for SummaryQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryQueue")
            .field("ring_capacity", &self.ring_capacity)
            .field("shared", &self.shared.len())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl SummaryQueue {
    /// A queue holding up to `capacity` summaries in its shared part and in each
    /// thread's ring (at most [`RING_CAPACITY`]).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            ring_capacity: capacity.min(RING_CAPACITY),
            rings: Mutex::new(Vec::new()),
            shared: ArrayQueue::new(capacity),
            dropped: AtomicU64::new(0),
        }
    }

    /// Hands a sampled-out span to the worker through the calling thread's ring (the shared
    /// queue when the ring cannot take it); drops and counts it when both are full.
    /// Never blocks. A ring's fill is checked once per [`FILL_CHECK_EVERY`] pushes,
    /// so that a flood of sampled-out spans is drained as it comes, not at the
    /// worker's timer.
    #[inline]
    pub(crate) fn push(&self, span: SampledOutSpan) -> Pushed {
        let pushed = LOCAL_RING
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                match &mut *local {
                    Some(ring) if ring.queue == self.id => self.push_local(ring, span),
                    _ => self.register(&mut local, span),
                }
            })
            .ok()
            .flatten();
        pushed.unwrap_or_else(|| self.push_shared(span))
    }

    /// Pushes into this thread's ring; `None` when it is full.
    #[inline]
    fn push_local(&self, ring: &mut LocalRing, span: SampledOutSpan) -> Option<Pushed> {
        ring.producer.push(span).ok()?;
        if ring.until_fill_check > 0 {
            ring.until_fill_check -= 1;
            return Some(Pushed::Queued);
        }
        ring.until_fill_check = FILL_CHECK_EVERY - 1;
        Some(if ring.producer.slots() * 2 <= self.ring_capacity {
            Pushed::QueuedFilling
        } else {
            Pushed::Queued
        })
    }

    /// Gives this thread a ring (replacing one it had for another queue) and pushes
    /// into it; `None` when the worker holds the list of rings (draining) or the
    /// ring is full.
    #[cold]
    #[inline(never)]
    fn register(&self, local: &mut Option<LocalRing>, span: SampledOutSpan) -> Option<Pushed> {
        let mut rings = self.rings.try_lock().ok()?;
        let (producer, consumer) = RingBuffer::new(self.ring_capacity);
        rings.push(consumer);
        drop(rings);
        let ring = local.insert(LocalRing {
            queue: self.id,
            producer,
            until_fill_check: 0,
        });
        self.push_local(ring, span)
    }

    #[cold]
    #[inline(never)]
    fn push_shared(&self, span: SampledOutSpan) -> Pushed {
        if self.shared.push(span).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Pushed::Dropped;
        }
        if self.shared.len() * 4 >= self.shared.capacity() {
            Pushed::QueuedFilling
        } else {
            Pushed::Queued
        }
    }

    /// Passes every span queued so far to `observe` (what threads push meanwhile
    /// waits for the next call) and forgets the rings of threads that ended.
    pub(crate) fn drain(&self, mut observe: impl FnMut(SampledOutSpan)) {
        {
            let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
            rings.retain_mut(|ring| {
                // Read before draining: a ring abandoned after this check is kept
                // and drained next time.
                let abandoned = ring.is_abandoned();
                if let Ok(chunk) = ring.read_chunk(ring.slots()) {
                    chunk.into_iter().for_each(&mut observe);
                }
                !abandoned
            });
        }
        for _ in 0..self.shared.len() {
            match self.shared.pop() {
                Some(span) => observe(span),
                None => break,
            }
        }
    }

    /// Summaries dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::span::tests::summary;

    fn span() -> SampledOutSpan {
        let summary = summary(StatusCode::Unset, 1);
        SampledOutSpan::new(summary.metadata, summary.duration_ns, true)
    }

    #[test]
    fn a_sampled_out_span_packs_its_duration_and_root_flag_in_16_bytes() {
        let metadata = summary(StatusCode::Unset, 1).metadata;
        let root = SampledOutSpan::new(metadata, 1_500, true);
        assert_eq!((root.duration_ns(), root.is_root()), (1_500, true));
        let child = SampledOutSpan::new(metadata, u64::MAX, false);
        assert_eq!(
            (child.duration_ns(), child.is_root()),
            (u64::MAX >> 1, false)
        );
        let counted = root.summary();
        assert_eq!(
            (counted.kind, counted.status),
            (SpanKind::Internal, StatusCode::Unset)
        );
        assert_eq!(counted.duration_ns, 1_500);
    }

    fn drained(queue: &SummaryQueue) -> usize {
        let mut n = 0;
        queue.drain(|_| n += 1);
        n
    }

    #[test]
    fn drops_and_counts_when_the_ring_and_the_shared_queue_are_full() {
        let queue = SummaryQueue::new(1);
        assert!(queue.push(span()).wakes_worker());
        assert_eq!(queue.push(span()), Pushed::QueuedFilling);
        assert_eq!(queue.push(span()), Pushed::Dropped);
        assert_eq!(queue.dropped(), 1);
        assert_eq!(drained(&queue), 2);
        assert_eq!(drained(&queue), 0);
    }

    #[test]
    fn every_thread_has_its_own_ring_and_ended_threads_are_forgotten() {
        let queue = SummaryQueue::new(4096);
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        for _ in 0..500 {
                            assert_ne!(queue.push(span()), Pushed::Dropped);
                        }
                    })
                })
                .collect();
            // Joined one by one: a join returns once the thread has ended, its
            // thread-local ring end dropped (the scope's own end may come before that).
            for thread in threads {
                thread.join().unwrap();
            }
        });
        assert_eq!(queue.rings.lock().unwrap().len(), 4);
        assert_eq!(drained(&queue), 2000);
        assert!(queue.rings.lock().unwrap().is_empty(), "the threads ended");
        assert_eq!((queue.shared.len(), queue.dropped()), (0, 0));
    }

    #[test]
    fn a_thread_moving_to_another_queue_abandons_its_ring_in_the_first() {
        let (first, second) = (SummaryQueue::new(64), SummaryQueue::new(64));
        first.push(span());
        second.push(span());
        assert_eq!(drained(&first), 1);
        assert!(first.rings.lock().unwrap().is_empty());
        first.push(span());
        assert_eq!((drained(&first), drained(&second)), (1, 1));
    }

    #[test]
    fn a_ring_filling_up_wakes_the_worker() {
        let queue = SummaryQueue::new(256);
        let pushed: Vec<Pushed> = (0..256).map(|_| queue.push(span())).collect();
        assert!(!pushed.contains(&Pushed::Dropped));
        let first_wake = pushed
            .iter()
            .skip(1)
            .position(|p| p.wakes_worker())
            .map(|i| i + 1);
        // Checked every 64 pushes: at push 128 the ring is half full.
        assert_eq!(first_wake, Some(128));
        // Full: the shared queue takes the rest.
        assert_ne!(queue.push(span()), Pushed::Dropped);
        assert_eq!(drained(&queue), 257);
    }
}
