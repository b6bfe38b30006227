//! Event metrics, the host's side: which callsites carry metric fields, and the
//! capture of such an event into a bounded hand-off to the worker.
//!
//! Like tracing-opentelemetry's `MetricsLayer`, an event field named
//! `monotonic_counter.NAME`, `counter.NAME`, `histogram.NAME` or `gauge.NAME` is a
//! measurement and the event's other fields are its labels. Whether a callsite has such
//! fields is decided once per callsite, when `tracing` registers it
//! ([`EventMetricsCapture::register`]) or, when that registration did not reach this
//! observer (it races with subscribers being set up on other threads), at its first
//! event: its address goes into a small lock-free table, and an event then costs one
//! probe of that table. Only a
//! metric event is visited: its values are copied (strings bounded, the field policy
//! applied to labels, `message` left out) into an [`EventSample`] and pushed onto a
//! bounded queue that the worker drains; a full queue drops the sample and counts it.
//! Nothing here blocks or allocates for an event without metric fields.

use crate::record::fields::{cut_str, format_bounded, DebugAsDisplay};
use crate::record::policy::{FieldPolicy, Verdict, REDACTED};
use compact_str::CompactString;
use crossbeam_queue::ArrayQueue;
use smallvec::SmallVec;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Metadata};

/// The field-name prefixes that make a field a measurement, as tracing-opentelemetry has them.
pub(crate) const PREFIXES: [&str; 4] = ["monotonic_counter.", "counter.", "histogram.", "gauge."];

/// Event callsites the table holds, with or without metric fields (8 KiB, allocated at
/// the first); past that, each event of an unplaced callsite checks its field names.
const SLOTS: usize = 1024;
/// Slots a callsite may take, from the one its address hashes to.
const PROBES: usize = 8;
/// The low bit of a table entry: the callsite has metric fields (`Metadata` is aligned,
/// so the bit is free in its address).
const METRIC: usize = 1;
/// Metric events waiting for the worker at most (about 200 bytes each, allocated with
/// the first metric callsite).
pub(crate) const QUEUE_CAPACITY: usize = 8192;

/// Whether a field name is a measurement's.
#[inline]
pub(crate) fn is_metric_field(name: &str) -> bool {
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// Whether an event callsite declares a metric field.
fn has_metric_fields(metadata: &Metadata<'_>) -> bool {
    metadata.is_event() && metadata.fields().iter().any(|f| is_metric_field(f.name()))
}

/// A field value of a metric event, as the worker receives it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldValue {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    /// Text: a string, or a formatted `Debug` value (bounded; `[REDACTED]` by the policy).
    Str(CompactString),
}

/// One metric event: its fields, in the callsite's order.
#[derive(Debug, Default)]
pub(crate) struct EventSample {
    pub(crate) fields: SmallVec<[(&'static str, FieldValue); 4]>,
}

/// The callsites with metric fields, the queue to the worker and what it dropped.
#[derive(Debug)]
pub(crate) struct EventMetricsCapture {
    enabled: bool,
    /// Addresses of metric callsites' metadata (0: free).
    slots: OnceLock<Box<[AtomicUsize]>>,
    /// A metric callsite found no slot: unplaced events check their fields.
    queue: OnceLock<ArrayQueue<EventSample>>,
    dropped: AtomicU64,
}

/// What became of a captured metric event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Queued, and the queue is a quarter full: wake the worker to drain it.
    Filling,
    /// The queue was full: dropped and counted.
    Dropped,
}

impl EventMetricsCapture {
    /// Capture on or off (`event_metrics`).
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            slots: OnceLock::new(),
            queue: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Notes a callsite `tracing` registers: whether it is an event with metric fields.
    pub(crate) fn register(&self, metadata: &'static Metadata<'static>) {
        if self.enabled && metadata.is_event() {
            self.decide(metadata);
        }
    }

    /// Whether events of this callsite carry metric fields: a probe of the callsite
    /// table that usually ends at its first slot. A callsite `tracing` did not register
    /// with this observer (registration races with a subscriber being set up on
    /// another thread) is decided at its first event and remembered.
    #[inline]
    pub(crate) fn is_metric_callsite(&self, metadata: &'static Metadata<'static>) -> bool {
        if !self.enabled {
            return false;
        }
        if let Some(slots) = self.slots.get() {
            let address = address(metadata);
            let home = home(address);
            for probe in 0..PROBES {
                match slots[(home + probe) % SLOTS].load(Ordering::Acquire) {
                    0 => break,
                    entry if entry & !METRIC == address => return entry & METRIC != 0,
                    _ => {}
                }
            }
        }
        self.decide(metadata)
    }

    /// Decides whether `metadata` has metric fields and remembers it in the table (past
    /// a full neighbourhood, the decision is made again at each event).
    #[inline(never)]
    fn decide(&self, metadata: &'static Metadata<'static>) -> bool {
        let metric = has_metric_fields(metadata);
        if metric {
            self.queue.get_or_init(|| ArrayQueue::new(QUEUE_CAPACITY));
        }
        let slots = self
            .slots
            .get_or_init(|| (0..SLOTS).map(|_| AtomicUsize::new(0)).collect());
        let address = address(metadata);
        let entry = address | if metric { METRIC } else { 0 };
        let home = home(address);
        for probe in 0..PROBES {
            let slot = &slots[(home + probe) % SLOTS];
            match slot.compare_exchange(0, entry, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return metric,
                Err(taken) if taken & !METRIC == address => return metric,
                Err(_) => {}
            }
        }
        metric
    }

    /// Copies a metric event's values and hands them to the worker. Out of line: the
    /// hook stays small for other events.
    #[inline(never)]
    pub(crate) fn capture(
        &self,
        event: &Event<'_>,
        policy: &FieldPolicy,
        max_value_bytes: usize,
    ) -> Pushed {
        let Some(queue) = self.queue.get() else {
            return Pushed::Dropped;
        };
        let mut visitor = SampleVisitor {
            policy,
            max_value_bytes,
            fields: SmallVec::new(),
        };
        event.record(&mut visitor);
        let sample = EventSample {
            fields: visitor.fields,
        };
        if queue.push(sample).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Pushed::Dropped;
        }
        if queue.len() * 4 >= queue.capacity() {
            Pushed::Filling
        } else {
            Pushed::Queued
        }
    }

    /// Passes every queued sample to `each` (those queued while it runs may wait for
    /// the next drain).
    pub(crate) fn drain(&self, mut each: impl FnMut(EventSample)) {
        let Some(queue) = self.queue.get() else {
            return;
        };
        for _ in 0..queue.len() {
            let Some(sample) = queue.pop() else { break };
            each(sample);
        }
    }

    /// Metric events dropped because the queue was full, so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn address(metadata: &'static Metadata<'static>) -> usize {
    std::ptr::from_ref(metadata) as usize
}

/// The slot an address hashes to first (Fibonacci hashing: callsites sit close together).
fn home(address: usize) -> usize {
    ((address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % SLOTS
}

/// Copies a metric event's fields.
struct SampleVisitor<'a> {
    policy: &'a FieldPolicy,
    max_value_bytes: usize,
    fields: SmallVec<[(&'static str, FieldValue); 4]>,
}

impl SampleVisitor<'_> {
    /// Whether a field is kept; a label the policy redacts is pushed redacted here.
    fn keeps(&mut self, name: &'static str) -> bool {
        if is_metric_field(name) {
            return true;
        }
        match self.policy.verdict(name) {
            Verdict::Keep => true,
            Verdict::Redact => {
                let value = FieldValue::Str(CompactString::const_new(REDACTED));
                self.fields.push((name, value));
                false
            }
            Verdict::Omit => false,
        }
    }

    fn push(&mut self, field: &Field, value: FieldValue) {
        let name = field.name();
        if self.keeps(name) {
            self.fields.push((name, value));
        }
    }
}

impl Visit for SampleVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if self.keeps(field.name()) {
            let (text, _) = cut_str(value, self.max_value_bytes);
            self.fields.push((field.name(), FieldValue::Str(text)));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // The message is log text, not a dimension: as a label it would make a series
        // of every distinct line.
        if field.name() == "message" || !self.keeps(field.name()) {
            return;
        }
        let (text, _) = format_bounded(self.max_value_bytes, DebugAsDisplay(value));
        self.fields.push((field.name(), FieldValue::Str(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_core::callsite::{Callsite, Identifier};
    use tracing_core::field::FieldSet;
    use tracing_core::{Interest, Kind, Level};

    struct Site;

    impl Callsite for Site {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &METRIC
        }
    }

    static SITE: Site = Site;
    static METRIC: Metadata<'static> = Metadata::new(
        "metric",
        "app",
        Level::INFO,
        None,
        None,
        None,
        FieldSet::new(&["monotonic_counter.orders", "region"], Identifier(&SITE)),
        Kind::EVENT,
    );
    static PLAIN: Metadata<'static> = Metadata::new(
        "plain",
        "app",
        Level::INFO,
        None,
        None,
        None,
        FieldSet::new(&["orders"], Identifier(&SITE)),
        Kind::EVENT,
    );

    #[test]
    fn a_callsite_tracing_did_not_register_is_decided_at_its_first_event() {
        let capture = EventMetricsCapture::new(true);
        assert!(
            capture.is_metric_callsite(&METRIC),
            "never registered, still a metric"
        );
        assert!(!capture.is_metric_callsite(&PLAIN));
        // Remembered: the same answers from the table.
        assert!(capture.is_metric_callsite(&METRIC));
        assert!(!capture.is_metric_callsite(&PLAIN));
        assert!(
            capture.queue.get().is_some(),
            "a metric callsite makes the queue"
        );
    }

    #[test]
    fn registered_callsites_and_capture_turned_off() {
        let capture = EventMetricsCapture::new(true);
        capture.register(&PLAIN);
        capture.register(&METRIC);
        assert!(capture.is_metric_callsite(&METRIC) && !capture.is_metric_callsite(&PLAIN));
        let off = EventMetricsCapture::new(false);
        off.register(&METRIC);
        assert!(!off.is_metric_callsite(&METRIC));
    }
}
