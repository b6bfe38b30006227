//! Sampled-out spans, remembered without allocating: a fixed table indexed by span id.
//!
//! A span that head sampling dropped keeps no record, but the error rule may need it
//! later: when one of its descendants fails, the failing path is exported. The table
//! remembers, per open sampled-out span, when it started and whether it is a local
//! root, and its callsite (for span metrics at close, without a registry look-up),
//! in three atomic words per slot. The table has a fixed size; when two live
//! spans hash to the same slot the older one's start time is lost (it is then
//! approximated by its child's) and the eviction is counted. Hooks check the table
//! first, so a sampled-out span costs a slot read instead of a registry look-up.

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use tracing_core::Metadata;

/// Slots in the table (24 bytes each: 1.5 MiB).
const SLOTS: usize = 1 << 16;
const ROOT_BIT: u64 = 1;

/// The bits of a span id a slot is chosen by. `tracing_subscriber`'s registry gives
/// out sharded-slab keys (plus one): the entry's address in its shard and the shard
/// (thread) in the low 51 bits, and above them a generation that changes every time
/// the registry reuses the entry. Leaving the generation out sends a reused registry
/// entry to the same table slot, which stays in cache: a loop creating and closing
/// sampled-out spans touches the same few cache lines, not a new line of the 1.5 MiB
/// table on every span (what that saves: docs/performance.md). With other ids this is
/// only a hash, as good as any.
const HASHED_ID_BITS: u64 = (1 << 51) - 1;

/// What the table says about a span id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Not sampled out (recorded, filtered, or its slot was taken by another span).
    Unknown,
    /// Sampled out, with its start (monotonic nanoseconds), whether it is a local
    /// root, and its callsite.
    SampledOut {
        start: u64,
        is_root: bool,
        metadata: &'static Metadata<'static>,
    },
}

#[derive(Default)]
struct Slot {
    id: AtomicU64,
    start: AtomicU64,
    /// The address of a `&'static Metadata<'static>`, or 0 before the first insert.
    metadata: AtomicUsize,
}

/// The table of open sampled-out spans.
pub(crate) struct SampledOutTable {
    /// A fixed-size array: indexing by the hash needs no bounds check.
    slots: Box<[Slot; SLOTS]>,
    evictions: AtomicU64,
}

impl std::fmt::Debug for SampledOutTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampledOutTable")
            .field("slots", &self.slots.len())
            .field("evictions", &self.evictions())
            .finish()
    }
}

impl SampledOutTable {
    pub(crate) fn new() -> Self {
        Self {
            slots: (0..SLOTS)
                .map(|_| Slot::default())
                .collect::<Box<[Slot]>>()
                .try_into()
                .unwrap_or_else(|_| unreachable!("the table has exactly SLOTS slots")),
            evictions: AtomicU64::new(0),
        }
    }

    #[inline]
    fn slot(&self, id: u64) -> &Slot {
        // Folding the shard (bits 38 to 50) onto the address, then Fibonacci hashing,
        // spreads the entries of every thread's shard over distinct slots.
        let key = id & HASHED_ID_BITS;
        let index = ((key ^ (key >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize;
        &self.slots[index % SLOTS]
    }

    /// Remembers a sampled-out span.
    ///
    /// Plain loads and stores, no read-modify-write: a span's own slot is written by
    /// one thread at a time (its creator, then its closer). Two live spans that share
    /// a slot and are inserted at the same instant can leave one entry lost without
    /// a counted eviction (an atomic swap would lose one too): that span then counts
    /// as not sampled out.
    pub(crate) fn insert(
        &self,
        id: u64,
        start: u64,
        is_root: bool,
        metadata: &'static Metadata<'static>,
    ) {
        let slot = self.slot(id);
        let previous = slot.id.load(Ordering::Relaxed);
        if previous != 0 && previous != id {
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        // A seqlock's write side: readers that see any of the stores below see the
        // slot emptied first, and fail their check.
        slot.id.store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        slot.start.store(
            Self::stored_start(start) | u64::from(is_root),
            Ordering::Relaxed,
        );
        slot.metadata
            .store(std::ptr::from_ref(metadata) as usize, Ordering::Relaxed);
        slot.id.store(id, Ordering::Release);
    }

    pub(crate) fn lookup(&self, id: u64) -> Lookup {
        Self::read(self.slot(id), id)
    }

    /// Looks a span up and forgets it (it closed): one hash for both.
    pub(crate) fn take(&self, id: u64) -> Lookup {
        let slot = self.slot(id);
        let found = Self::read(slot, id);
        if found != Lookup::Unknown {
            // `read` saw `id` there: as in `clear`, without checking again.
            slot.id.store(0, Ordering::Relaxed);
        }
        found
    }

    fn read(slot: &Slot, id: u64) -> Lookup {
        if slot.id.load(Ordering::Acquire) != id {
            return Lookup::Unknown;
        }
        let start = slot.start.load(Ordering::Relaxed);
        let metadata = slot.metadata.load(Ordering::Relaxed);
        // The reads above happen before the check below (a seqlock's read side): a
        // slot rewritten meanwhile for another span fails it.
        fence(Ordering::Acquire);
        if slot.id.load(Ordering::Relaxed) != id || metadata == 0 {
            return Lookup::Unknown;
        }
        // SAFETY: `metadata` only ever holds 0 (excluded above) or the address of a
        // `&'static Metadata<'static>` stored by `insert`, so whatever a race lets
        // this read see, it points to a live `'static` callsite.
        let metadata = unsafe { &*(metadata as *const Metadata<'static>) };
        Lookup::SampledOut {
            start: Self::stored_start(start),
            is_root: start & ROOT_BIT != 0,
            metadata,
        }
    }

    /// Whether `id` is in the table (one load: what hooks that only skip need).
    #[inline]
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.slot(id).id.load(Ordering::Acquire) == id
    }

    /// The start a span inserted at `start` reads back: its lowest bit holds the root
    /// flag. Ids derived from a span's start must use this value.
    pub(crate) const fn stored_start(start: u64) -> u64 {
        start & !ROOT_BIT
    }

    /// Forgets a span (it closed, or it was promoted to a full record).
    pub(crate) fn remove(&self, id: u64) {
        Self::clear(self.slot(id), id);
    }

    /// Empties `slot` if it holds `id`. A plain load and store: a span inserted into
    /// the slot between the two is lost, and was counted as an eviction (its insert
    /// found `id` there).
    fn clear(slot: &Slot, id: u64) {
        if slot.id.load(Ordering::Relaxed) == id {
            slot.id.store(0, Ordering::Relaxed);
        }
    }

    /// Sampled-out spans whose slot was taken by another live span.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::tests::SITE_METADATA as META;

    #[test]
    fn remembers_and_forgets() {
        let table = SampledOutTable::new();
        table.insert(7, 1000, true, &META);
        assert_eq!(
            table.lookup(7),
            Lookup::SampledOut {
                start: 1000,
                is_root: true,
                metadata: &META,
            }
        );
        assert_eq!(table.lookup(8), Lookup::Unknown);
        table.remove(7);
        assert_eq!(table.lookup(7), Lookup::Unknown);
    }

    /// Guards [`HASHED_ID_BITS`]: should the registry lay out its ids differently,
    /// this fails (sampled-out spans would then cost a cache miss each).
    #[test]
    fn a_reused_registry_entry_keeps_its_slot() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let table = SampledOutTable::new();
        let subscriber =
            tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
        let ids: Vec<u64> = tracing::subscriber::with_default(subscriber, || {
            (0..100)
                .map(|_| {
                    let span = tracing::info_span!("reused");
                    span.id().map(|id| id.into_u64()).unwrap_or_default()
                })
                .collect()
        });
        // Each span reused the entry the one before it freed, under a new generation.
        assert!(ids.windows(2).all(|pair| pair[0] != pair[1]), "{ids:?}");
        assert!(ids
            .iter()
            .all(|&id| std::ptr::eq(table.slot(id), table.slot(ids[0]))));
        // Spans open at once on 64 threads, 64 on each (distinct entries, each
        // thread's in its own shard) spread over distinct slots: none share one when
        // the threads' shards are numbered without gaps, a few when other tests'
        // threads left gaps; hashing the id unfolded would put ~450 of 4,096 together.
        const THREADS: usize = 64;
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry());
        let all_open = std::sync::Barrier::new(THREADS);
        let open: Vec<u64> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        tracing::dispatcher::with_default(&dispatch, || {
                            let spans: Vec<_> =
                                (0..64).map(|_| tracing::info_span!("open")).collect();
                            // No thread ends (freeing its shard) before all are open.
                            all_open.wait();
                            spans
                                .iter()
                                .filter_map(|span| span.id().map(|id| id.into_u64()))
                                .collect::<Vec<_>>()
                        })
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|thread| thread.join().unwrap_or_default())
                .collect()
        });
        assert_eq!(open.len(), THREADS * 64);
        let slots: std::collections::HashSet<_> = open
            .iter()
            .map(|&id| std::ptr::from_ref(table.slot(id)))
            .collect();
        let sharing = open.len() - slots.len();
        assert!(sharing <= open.len() / 100, "{sharing} spans share a slot");
        // The same layout built by hand, shards 0 to 63: no slot shared.
        let laid_out: std::collections::HashSet<_> = (0..64u64)
            .flat_map(|shard| (0..64).map(move |address| (shard << 38) + address + 1))
            .map(|id| std::ptr::from_ref(table.slot(id)))
            .collect();
        assert_eq!(laid_out.len(), 64 * 64);
    }

    #[test]
    fn collisions_evict_and_count() {
        let table = SampledOutTable::new();
        let a = 1u64;
        let b = (1..u64::MAX)
            .skip(1)
            .find(|&b| std::ptr::eq(table.slot(a), table.slot(b)))
            .unwrap();
        table.insert(a, 10, false, &META);
        table.insert(b, 20, false, &META);
        assert_eq!(table.lookup(a), Lookup::Unknown);
        assert_eq!(table.evictions(), 1);
        table.remove(a); // must not clear b
        assert_eq!(
            table.lookup(b),
            Lookup::SampledOut {
                start: 20,
                is_root: false,
                metadata: &META,
            }
        );
    }
}
