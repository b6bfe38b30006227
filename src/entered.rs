//! The spans each thread is in, as one layer sees them: a per-thread stack kept by
//! the layer's `on_enter` and `on_exit`.
//!
//! A new span or event without an explicit parent belongs to the span the thread is
//! in. The registry knows it too, but asking it (`Context::current_span`) costs a
//! thread-local look-up plus, inside a span, a look-up of that span in the
//! registry's slab with two atomic reference-count updates, on every span and event.
//! This stack answers from a fixed array in thread-local storage. It holds only the
//! spans that reached the layer (so a per-layer filter's disabled spans are
//! skipped, as `SpanRef::scope` skips them) and follows the registry's rules:
//! re-entering a span already on the stack does not make it current again, and
//! exits may come in any order. Deeper than [`DEPTH`] spans, it answers "unknown"
//! (the caller asks the registry) until the thread has left them all.
//!
//! Entries are keyed by the layer's address, so that several layers (several
//! observers, or one observer under two subscribers) share a thread without
//! mixing their spans.

use std::cell::Cell;
use std::num::NonZeroU64;
use tracing_core::span::Id;

/// Entries the stack holds.
const DEPTH: usize = 32;

/// Marks, in an entry's layer word, a span that was already on the stack (layers'
/// addresses are aligned: their lowest bit is free; span ids use all 64 bits).
const DUPLICATE: usize = 1;

thread_local! {
    static STACK: Stack = const { Stack::new() };
}

/// Entries `0..len` of `layers` and `spans`; `len` counts past [`DEPTH`] too.
struct Stack {
    len: Cell<usize>,
    /// Set when the stack went deeper than [`DEPTH`]; cleared when it empties.
    overflowed: Cell<bool>,
    layers: [Cell<usize>; DEPTH],
    spans: [Cell<u64>; DEPTH],
}

impl Stack {
    const fn new() -> Self {
        Self {
            len: Cell::new(0),
            overflowed: Cell::new(false),
            layers: [const { Cell::new(0) }; DEPTH],
            spans: [const { Cell::new(0) }; DEPTH],
        }
    }

    fn holds(&self, at: usize, layer: usize, span: u64) -> bool {
        self.layers[at].get() & !DUPLICATE == layer && self.spans[at].get() == span
    }

    fn enter(&self, layer: usize, span: u64) {
        let len = self.len.get();
        self.len.set(len + 1);
        if len >= DEPTH {
            self.overflowed.set(true);
            return;
        }
        let duplicate = (0..len).any(|at| self.holds(at, layer, span));
        self.layers[len].set(if duplicate { layer | DUPLICATE } else { layer });
        self.spans[len].set(span);
    }

    #[inline]
    fn exit(&self, layer: usize, span: u64) {
        let len = self.len.get();
        // The usual case: the span leaving is the innermost.
        if (1..=DEPTH).contains(&len) && self.holds(len - 1, layer, span) {
            self.len.set(len - 1);
            if len == 1 {
                self.overflowed.set(false);
            }
            return;
        }
        self.exit_out_of_order(layer, span, len);
    }

    #[cold]
    fn exit_out_of_order(&self, layer: usize, span: u64, len: usize) {
        if len > DEPTH {
            // Which entry leaves is unknown: the stack stays "unknown" until it empties.
            self.len.set(len - 1);
            return;
        }
        let Some(at) = (0..len).rev().find(|&at| self.holds(at, layer, span)) else {
            return;
        };
        for above in at + 1..len {
            self.layers[above - 1].set(self.layers[above].get());
            self.spans[above - 1].set(self.spans[above].get());
        }
        self.len.set(len - 1);
        if len == 1 {
            self.overflowed.set(false);
        }
    }

    fn current(&self, layer: usize) -> Option<Option<Id>> {
        if self.overflowed.get() {
            return None;
        }
        let found = (0..self.len.get())
            .rev()
            .find(|&at| self.layers[at].get() == layer);
        // Entries hold ids the registry gave out, never 0.
        Some(found.and_then(|at| NonZeroU64::new(self.spans[at].get()).map(Id::from_non_zero_u64)))
    }
}

/// Records that the thread entered `span`, as seen by `layer`.
#[inline]
pub(crate) fn enter(layer: usize, span: &Id) {
    let _ = STACK.try_with(|stack| stack.enter(layer, span.into_u64()));
}

/// Records that the thread left `span` (its latest entry, wherever it is).
#[inline]
pub(crate) fn exit(layer: usize, span: &Id) {
    let _ = STACK.try_with(|stack| stack.exit(layer, span.into_u64()));
}

/// The span the thread is in, as seen by `layer`: `Some(None)` outside any span,
/// `None` when the stack cannot tell (deeper than [`DEPTH`]).
#[inline]
pub(crate) fn current(layer: usize) -> Option<Option<Id>> {
    STACK.try_with(|stack| stack.current(layer)).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYER: usize = 8;

    fn id(n: u64) -> Id {
        Id::from_u64(n)
    }
    const OTHER: usize = 16;

    #[test]
    fn the_innermost_entered_span_is_current() {
        assert_eq!(current(LAYER), Some(None));
        enter(LAYER, &id(10));
        enter(LAYER, &id(11));
        assert_eq!(current(LAYER), Some(Some(id(11))));
        exit(LAYER, &id(11));
        assert_eq!(current(LAYER), Some(Some(id(10))));
        exit(LAYER, &id(10));
        assert_eq!(current(LAYER), Some(None));
    }

    #[test]
    fn re_entering_a_span_does_not_make_it_current_again() {
        // The registry's rule: in a, then b, then a again, the current span is b.
        enter(LAYER, &id(1));
        enter(LAYER, &id(2));
        enter(LAYER, &id(1));
        assert_eq!(current(LAYER), Some(Some(id(2))));
        exit(LAYER, &id(1));
        assert_eq!(current(LAYER), Some(Some(id(2))));
        exit(LAYER, &id(2));
        assert_eq!(current(LAYER), Some(Some(id(1))));
        exit(LAYER, &id(1));
        assert_eq!(current(LAYER), Some(None));
    }

    #[test]
    fn exits_out_of_order_remove_the_right_entry() {
        enter(LAYER, &id(1));
        enter(LAYER, &id(2));
        exit(LAYER, &id(1));
        assert_eq!(current(LAYER), Some(Some(id(2))));
        exit(LAYER, &id(2));
        assert_eq!(current(LAYER), Some(None));
        exit(LAYER, &id(3)); // never entered: nothing happens
        assert_eq!(current(LAYER), Some(None));
    }

    #[test]
    fn layers_do_not_see_each_others_spans() {
        enter(LAYER, &id(1));
        enter(OTHER, &id(5));
        assert_eq!(current(LAYER), Some(Some(id(1))));
        assert_eq!(current(OTHER), Some(Some(id(5))));
        exit(OTHER, &id(5));
        exit(LAYER, &id(1));
        assert_eq!((current(LAYER), current(OTHER)), (Some(None), Some(None)));
    }

    #[test]
    fn deeper_than_the_stack_it_answers_unknown_until_the_thread_leaves_every_span() {
        let ids: Vec<u64> = (1..=DEPTH as u64 + 3).collect();
        for &n in &ids {
            enter(LAYER, &id(n));
        }
        assert_eq!(current(LAYER), None);
        for &n in ids.iter().rev().take(4) {
            exit(LAYER, &id(n));
        }
        assert_eq!(current(LAYER), None, "still unknown until it empties");
        for &n in ids.iter().rev().skip(4) {
            exit(LAYER, &id(n));
        }
        assert_eq!(current(LAYER), Some(None));
        enter(LAYER, &id(7));
        assert_eq!(current(LAYER), Some(Some(id(7))));
        exit(LAYER, &id(7));
    }

    #[test]
    fn span_ids_may_use_every_bit() {
        let high = id(u64::MAX - 1);
        enter(LAYER, &high);
        assert_eq!(current(LAYER), Some(Some(high.clone())));
        exit(LAYER, &high);
        assert_eq!(current(LAYER), Some(None));
    }

    #[test]
    fn each_thread_has_its_own_stack() {
        enter(LAYER, &id(1));
        std::thread::spawn(|| assert_eq!(current(LAYER), Some(None)))
            .join()
            .unwrap();
        exit(LAYER, &id(1));
    }
}
