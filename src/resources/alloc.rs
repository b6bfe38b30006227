//! An opt-in global allocator that counts, per thread, the bytes and allocations made.
//!
//! The counters are plain thread-local cells (no atomics, no locks): reading them at
//! a span's enter and exit gives what the span allocated while entered on this thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    // `const` and `Copy`: no lazy initialisation and no destructor, so the allocator
    // may touch it at any point of a thread's life.
    static COUNTS: Cell<ThreadAllocations> = const { Cell::new(ThreadAllocations { bytes: 0, count: 0 }) };
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// What the calling thread has allocated since it started: totals, never decreasing.
///
/// All zeros unless a [`CountingAllocator`] is the global allocator.
///
/// ```
/// use tracing_observer::resources::ThreadAllocations;
/// let total = ThreadAllocations::default();
/// assert_eq!((total.bytes, total.count), (0, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadAllocations {
    /// Bytes requested (for a reallocation, the new size).
    pub bytes: u64,
    /// Allocations and reallocations.
    pub count: u64,
}

impl ThreadAllocations {
    /// What was allocated between `earlier` and `self`.
    ///
    /// ```
    /// use tracing_observer::resources::ThreadAllocations;
    /// let before = ThreadAllocations { bytes: 10, count: 1 };
    /// let after = ThreadAllocations { bytes: 74, count: 3 };
    /// assert_eq!(after.since(before), ThreadAllocations { bytes: 64, count: 2 });
    /// ```
    pub fn since(self, earlier: ThreadAllocations) -> ThreadAllocations {
        ThreadAllocations {
            bytes: self.bytes.wrapping_sub(earlier.bytes),
            count: self.count.wrapping_sub(earlier.count),
        }
    }
}

/// The calling thread's allocation totals, or `None` when no [`CountingAllocator`] is
/// installed (so the layer can skip the attribute).
///
/// ```
/// let now = tracing_observer::resources::thread_allocations();
/// // Without `#[global_allocator] static A: CountingAllocator = ...` nothing is counted.
/// assert!(now.is_none() || now.unwrap().count > 0);
/// ```
pub fn thread_allocations() -> Option<ThreadAllocations> {
    if !INSTALLED.load(Ordering::Relaxed) {
        return None;
    }
    COUNTS.try_with(Cell::get).ok()
}

/// A [`GlobalAlloc`] wrapper that counts each thread's allocations; opt in with
///
/// ```
/// use tracing_observer::resources::CountingAllocator;
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator = CountingAllocator::system();
///
/// let before = tracing_observer::resources::thread_allocations().unwrap();
/// let v: Vec<u8> = Vec::with_capacity(1000);
/// let after = tracing_observer::resources::thread_allocations().unwrap();
/// assert!(after.since(before).bytes >= 1000);
/// # drop(v);
/// ```
///
/// The cost is two thread-local additions per allocation.
#[derive(Debug, Default)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    /// Counts around the system allocator.
    ///
    /// ```
    /// use std::alloc::{GlobalAlloc, Layout};
    /// use tracing_observer::resources::{thread_allocations, CountingAllocator};
    /// static ALLOCATOR: CountingAllocator = CountingAllocator::system();
    /// let layout = Layout::from_size_align(64, 8).unwrap();
    /// unsafe { ALLOCATOR.dealloc(ALLOCATOR.alloc(layout), layout) };
    /// assert!(thread_allocations().unwrap().bytes >= 64);
    /// ```
    pub const fn system() -> Self {
        Self { inner: System }
    }
}

impl<A> CountingAllocator<A> {
    /// Counts around another allocator (e.g. jemalloc or mimalloc).
    ///
    /// ```
    /// use std::alloc::System;
    /// use tracing_observer::resources::CountingAllocator;
    /// // Any `GlobalAlloc` can be wrapped, e.g. a jemalloc or mimalloc allocator.
    /// #[global_allocator]
    /// static ALLOCATOR: CountingAllocator<System> = CountingAllocator::new(System);
    /// let v: Vec<u8> = Vec::with_capacity(100);
    /// assert!(tracing_observer::resources::thread_allocations().unwrap().bytes >= 100);
    /// ```
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

fn count(bytes: usize) {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    let _ = COUNTS.try_with(|cell| {
        let mut counts = cell.get();
        counts.bytes = counts.bytes.wrapping_add(bytes as u64);
        counts.count = counts.count.wrapping_add(1);
        cell.set(counts);
    });
}

// SAFETY: every method forwards to the inner allocator unchanged; counting neither
// allocates nor unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_through_the_wrapper() {
        let allocator = CountingAllocator::system();
        let layout = Layout::from_size_align(256, 8).unwrap();
        // SAFETY: a valid layout; the block is freed with the same layout.
        unsafe {
            let ptr = allocator.alloc(layout);
            assert!(!ptr.is_null());
            let before = thread_allocations().unwrap();
            let grown = allocator.realloc(ptr, layout, 512);
            let after = thread_allocations().unwrap();
            assert_eq!(
                after.since(before),
                ThreadAllocations {
                    bytes: 512,
                    count: 1
                }
            );
            allocator.dealloc(grown, Layout::from_size_align(512, 8).unwrap());
        }
    }
}
