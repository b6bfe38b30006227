//! Span metrics of the spans head sampling dropped: tallied on the host's threads,
//! harvested by the worker.
//!
//! A sampled-out span adds itself to its thread's [`ThreadTally`]: per callsite, one
//! count per bucket of the span-metrics duration histogram and the sum of the
//! durations. Only that thread writes its tally, so a span costs a few plain loads
//! and stores of counters already in its core's cache — no read-modify-write, and
//! nothing crosses to the worker's core per span. The worker harvests every thread's
//! tally (once a second, before it fills a batch, and at shutdown): each counter's
//! growth since the last harvest goes into the span metrics, so calls and bucket
//! counts are exact and the duration sum is exact over time (see [`samples_into`]).
//!
//! What a tally cannot take goes through a shared bounded queue, one
//! [`SampledOutSpan`] at a time: a callsite that finds no free slot in its thread's
//! table, a thread whose local storage is being torn down, and a thread that could
//! not register its tally without waiting for the worker. What finds that queue full
//! is dropped and counted. Nothing here blocks.

mod profile;

pub use profile::SpanMetricsProfile;
use profile::MAX_BOUNDS;

use crossbeam_queue::ArrayQueue;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tracing_core::Metadata;

const BUCKETS: usize = MAX_BOUNDS + 1;

/// Callsites a thread's tally holds (each takes 152 bytes once used; the table itself
/// 2 KiB); further ones go through the shared queue.
const SLOTS: usize = 128;
/// Slots a callsite may take, from the one its address hashes to.
const PROBES: usize = 8;
/// Observers whose tallies a thread keeps at hand (a process may build several).
const TALLIES_PER_THREAD: usize = 4;

/// Tells observers apart in threads' local storage.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One sampled-out span, as it goes through the shared queue: its callsite, and its
/// duration with the local-root flag in the top bit (16 bytes, four to a cache line).
/// It counts as `INTERNAL` and `UNSET`, like every sampled-out span.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SampledOutSpan {
    metadata: &'static Metadata<'static>,
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
}

/// What became of a sampled-out span handed to [`SampledOutTally::record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handoff {
    /// Counted (in the thread's tally, or queued).
    Taken,
    /// Queued, and the shared queue is filling up: wake the worker to drain it.
    TakenFilling,
    /// The shared queue was full: dropped and counted.
    Dropped,
}

impl Handoff {
    /// Whether the worker should be woken to drain the shared queue now.
    pub(crate) fn wakes_worker(self) -> bool {
        self != Self::Taken
    }
}

/// The duration histogram's buckets, as the host's threads and the worker need them.
#[derive(Debug)]
struct Buckets {
    /// Per bound, the longest duration (ns) that falls in its bucket; `u64::MAX` past
    /// the last bound, so that a search over all of them ends in the `+Inf` bucket.
    upper_ns: [u64; MAX_BOUNDS],
    /// Bounds in use.
    len: usize,
    /// Nanoseconds in the histogram's unit (1e6 for milliseconds, 1e9 for seconds).
    ns_per_unit: f64,
}

impl Buckets {
    /// The buckets of `profile`'s duration histogram.
    fn new(profile: SpanMetricsProfile) -> Self {
        let (bounds, ns_per_unit) = (profile.buckets(), profile.ns_per_unit());
        assert!(bounds.len() <= MAX_BOUNDS, "at most {MAX_BOUNDS} bounds");
        let mut upper_ns = [u64::MAX; MAX_BOUNDS];
        for (upper, &bound) in upper_ns.iter_mut().zip(bounds) {
            *upper = longest_within(bound, ns_per_unit);
        }
        Self {
            upper_ns,
            len: bounds.len(),
            ns_per_unit,
        }
    }

    /// The bucket a duration falls in (`len` is `+Inf`). Most spans are short: the
    /// search usually ends at the first bound.
    #[inline]
    fn index(&self, duration_ns: u64) -> usize {
        self.upper_ns
            .iter()
            .position(|&upper| duration_ns <= upper)
            .unwrap_or(MAX_BOUNDS)
    }

    /// `ns` in the histogram's unit.
    fn units(&self, ns: f64) -> f64 {
        ns / self.ns_per_unit
    }

    /// The values a span in bucket `index` can have, in the histogram's unit.
    fn range(&self, index: usize) -> (f64, f64) {
        let low = match index {
            0 => 0.0,
            i => self.units(self.upper_ns[i - 1] as f64 + 1.0),
        };
        let high = if index < self.len {
            self.units(self.upper_ns[index] as f64)
        } else {
            f64::INFINITY
        };
        (low, high)
    }
}

/// The longest whole number of nanoseconds that, in the histogram's unit, is at most
/// `bound`: spans up to it are counted in the bound's bucket, as the histogram itself
/// would place their value.
fn longest_within(bound: f64, ns_per_unit: f64) -> u64 {
    let units = |ns: u64| ns as f64 / ns_per_unit;
    let mut ns = (bound * ns_per_unit).max(0.0) as u64;
    while ns > 0 && units(ns) > bound {
        ns -= 1;
    }
    while units(ns + 1) <= bound {
        ns += 1;
    }
    ns
}

/// One callsite's counters in a thread's tally (only that thread writes them).
struct Slot {
    metadata: &'static Metadata<'static>,
    counts: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
}

/// A thread's counts of its sampled-out spans, for one observer.
struct ThreadTally {
    slots: [OnceLock<Box<Slot>>; SLOTS],
    /// Durations of sampled-out local roots: host time for the overhead meter.
    root_ns: AtomicU64,
}

/// Adds `n` to a counter only the calling thread writes: a plain load and store.
#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

impl ThreadTally {
    fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| OnceLock::new()),
            root_ns: AtomicU64::new(0),
        }
    }

    /// The slot a callsite's address hashes to first.
    fn home(metadata: &'static Metadata<'static>) -> usize {
        let address = std::ptr::from_ref(metadata) as usize as u64;
        ((address >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOTS.trailing_zeros()))
            as usize
    }

    /// Counts a span; `false` when the callsite found no slot.
    #[inline]
    fn add(
        &self,
        metadata: &'static Metadata<'static>,
        bucket: usize,
        ns: u64,
        root: bool,
    ) -> bool {
        let home = Self::home(metadata);
        let slot = match self.slots[home].get() {
            Some(slot) if std::ptr::eq(slot.metadata, metadata) => slot,
            _ => match self.probe(metadata, home) {
                Some(slot) => slot,
                None => return false,
            },
        };
        bump(&slot.counts[bucket], 1);
        bump(&slot.sum_ns, ns);
        if root {
            bump(&self.root_ns, ns);
        }
        true
    }

    /// The callsite's slot past its home, or a free one it now takes.
    #[cold]
    #[inline(never)]
    fn probe(&self, metadata: &'static Metadata<'static>, home: usize) -> Option<&Slot> {
        (0..PROBES).find_map(|step| {
            let cell = &self.slots[(home + step) % SLOTS];
            match cell.get() {
                Some(slot) if std::ptr::eq(slot.metadata, metadata) => Some(&**slot),
                Some(_) => None,
                None => Some(&**cell.get_or_init(|| {
                    Box::new(Slot {
                        metadata,
                        counts: std::array::from_fn(|_| AtomicU64::new(0)),
                        sum_ns: AtomicU64::new(0),
                    })
                })),
            }
        })
    }
}

/// What the worker has harvested of one slot.
#[derive(Default)]
struct Seen {
    counts: [u64; BUCKETS],
    sum_ns: u64,
    /// Duration (in the histogram's unit) not yet given to samples: see [`samples_into`].
    carry: f64,
}

/// A registered thread's tally and the worker's account of it.
struct Registered {
    tally: Arc<ThreadTally>,
    seen: HashMap<usize, Seen>,
    root_ns: u64,
}

thread_local! {
    /// This thread's tallies, most recently used first, by observer id.
    static LOCAL: RefCell<Vec<(u64, Arc<ThreadTally>)>> = const { RefCell::new(Vec::new()) };
}

/// Span metrics of sampled-out spans, from the host's threads to the worker.
pub(crate) struct SampledOutTally {
    id: u64,
    buckets: Buckets,
    threads: Mutex<Vec<Registered>>,
    /// What the tallies cannot take.
    shared: ArrayQueue<SampledOutSpan>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for SampledOutTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampledOutTally")
            .field("buckets", &self.buckets)
            .field("shared", &self.shared.len())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl SampledOutTally {
    /// Tallies for `profile`'s duration histogram, and a shared queue of `capacity`
    /// spans.
    pub(crate) fn new(capacity: usize, profile: SpanMetricsProfile) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            buckets: Buckets::new(profile),
            threads: Mutex::new(Vec::new()),
            shared: ArrayQueue::new(capacity.max(1)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Counts a sampled-out span in the calling thread's tally (the shared queue when
    /// the tally cannot take it; dropped and counted when that is full). Never blocks.
    #[inline]
    pub(crate) fn record(
        &self,
        metadata: &'static Metadata<'static>,
        duration_ns: u64,
        is_root: bool,
    ) -> Handoff {
        let bucket = self.buckets.index(duration_ns);
        let counted = LOCAL
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                if local.first().is_none_or(|(id, _)| *id != self.id) {
                    self.bring_to_front(&mut local)?;
                }
                let (_, tally) = local.first()?;
                tally
                    .add(metadata, bucket, duration_ns, is_root)
                    .then_some(())
            })
            .ok()
            .flatten();
        match counted {
            Some(()) => Handoff::Taken,
            None => self.push_shared(SampledOutSpan::new(metadata, duration_ns, is_root)),
        }
    }

    /// Puts this observer's tally first in the thread's list, registering a new one
    /// if the thread has none (the least recently used goes when the list is full);
    /// `None` when the worker holds the list of tallies (harvesting).
    #[cold]
    #[inline(never)]
    fn bring_to_front(&self, local: &mut Vec<(u64, Arc<ThreadTally>)>) -> Option<()> {
        if let Some(at) = local.iter().position(|(id, _)| *id == self.id) {
            let entry = local.remove(at);
            local.insert(0, entry);
            return Some(());
        }
        let mut threads = self.threads.try_lock().ok()?;
        let tally = Arc::new(ThreadTally::new());
        threads.push(Registered {
            tally: Arc::clone(&tally),
            seen: HashMap::new(),
            root_ns: 0,
        });
        drop(threads);
        local.insert(0, (self.id, tally));
        local.truncate(TALLIES_PER_THREAD);
        Some(())
    }

    #[cold]
    #[inline(never)]
    fn push_shared(&self, span: SampledOutSpan) -> Handoff {
        if self.shared.push(span).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Handoff::Dropped;
        }
        if self.shared.len() * 4 >= self.shared.capacity() {
            Handoff::TakenFilling
        } else {
            Handoff::Taken
        }
    }

    /// Passes what was counted since the last harvest to `spans` — per callsite,
    /// histogram samples `(value in the histogram's unit, how many)` — and the
    /// durations of sampled-out local roots to `root_time`; forgets the tallies of
    /// threads that ended (after their last harvest).
    pub(crate) fn harvest(
        &self,
        mut spans: impl FnMut(&'static Metadata<'static>, &[(f64, u64)]),
        mut root_time: impl FnMut(u64),
    ) {
        let mut samples = Vec::with_capacity(BUCKETS);
        {
            let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
            threads.retain_mut(|thread| {
                // Read before harvesting: a thread that ends after this check is
                // harvested again next time. The fence makes its last counts visible.
                let ended = Arc::strong_count(&thread.tally) == 1;
                if ended {
                    fence(Ordering::Acquire);
                }
                self.harvest_thread(thread, &mut samples, &mut spans, &mut root_time);
                !ended
            });
        }
        for _ in 0..self.shared.len() {
            let Some(span) = self.shared.pop() else { break };
            let value = self.buckets.units(span.duration_ns() as f64);
            spans(span.metadata, &[(value, 1)]);
            if span.is_root() {
                root_time(span.duration_ns());
            }
        }
    }

    fn harvest_thread(
        &self,
        thread: &mut Registered,
        samples: &mut Vec<(f64, u64)>,
        spans: &mut impl FnMut(&'static Metadata<'static>, &[(f64, u64)]),
        root_time: &mut impl FnMut(u64),
    ) {
        for (index, cell) in thread.tally.slots.iter().enumerate() {
            let Some(slot) = cell.get() else { continue };
            let seen = thread.seen.entry(index).or_default();
            let mut grown = [0u64; BUCKETS];
            for ((grown, counter), seen) in grown.iter_mut().zip(&slot.counts).zip(&mut seen.counts)
            {
                let now = counter.load(Ordering::Relaxed);
                *grown = now.wrapping_sub(*seen);
                *seen = now;
            }
            let sum_ns = slot.sum_ns.load(Ordering::Relaxed);
            let added = self.buckets.units(sum_ns.wrapping_sub(seen.sum_ns) as f64);
            seen.sum_ns = sum_ns;
            if grown.iter().all(|&n| n == 0) {
                // Nothing to give the duration to (yet): keep it for the next samples.
                seen.carry += added;
                continue;
            }
            seen.carry = samples_into(samples, &self.buckets, &grown, seen.carry + added);
            spans(slot.metadata, samples);
        }
        let root_ns = thread.tally.root_ns.load(Ordering::Relaxed);
        let grown = root_ns.wrapping_sub(thread.root_ns);
        thread.root_ns = root_ns;
        if grown > 0 {
            root_time(grown);
        }
    }

    /// Spans dropped because the shared queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Histogram samples for `counts[b]` spans in each bucket `b` whose durations add up
/// to `total` (in the histogram's unit), written to `out`: one value per non-empty
/// bucket, inside that bucket, such that the samples add up to `total`. Returns what
/// did not fit (the carry for the next harvest).
///
/// A histogram shows only its bucket counts, their total and the sum, so these values
/// reproduce exactly what recording every span would show. A harvest may read a
/// bucket's count and the sum a span apart (the thread writes them one after the
/// other); a total that no placement inside the buckets reaches is then carried, and
/// the next harvest, which counts that span, gives it back.
fn samples_into(out: &mut Vec<(f64, u64)>, buckets: &Buckets, counts: &[u64], total: f64) -> f64 {
    out.clear();
    let mut ranges = [(0.0, 0.0); BUCKETS];
    let mut left = total;
    for (index, &n) in counts.iter().enumerate().filter(|(_, &n)| n > 0) {
        let (low, high) = buckets.range(index);
        ranges[out.len()] = (low, high);
        out.push((low, n));
        left -= low * n as f64;
    }
    let len = out.len();
    if left > 0.0 {
        // Raise values towards their bucket's top, the longest buckets first.
        for ((value, n), &(low, high)) in out.iter_mut().zip(&ranges[..len]).rev() {
            let n = *n as f64;
            let raised = (low + left / n).min(high);
            left -= (raised - low) * n;
            *value = raised;
            if left <= 0.0 {
                break;
            }
        }
    }
    left
}

#[cfg(test)]
mod tests;
