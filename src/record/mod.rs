//! The compact per-span state recorded on the host's threads.
//!
//! A [`SpanRecord`] lives in the span's registry extensions while the span is open
//! and is handed to the pipeline, boxed, when it closes. It keeps borrowed
//! `'static` data (metadata, field names) where it can, so that the hot path
//! formats only user values and everything else (OTLP conversion, semantic
//! convention attributes) happens on the worker.

pub(crate) mod fields;
pub(crate) mod log;
pub(crate) mod policy;
pub(crate) mod thread;

use crate::clock::Nanos;
use crate::ids::{SpanId, TraceId};
use crate::propagation::{Baggage, SpanContext};
use crate::resources::{thread_allocations, ThreadAllocations};
use compact_str::CompactString;
use std::sync::Arc;
use std::time::Duration;
use tracing_core::Metadata;

/// The attribute on spans kept by a tail rule although head sampling dropped them.
pub(crate) const KEPT_BY_KEY: &str = "observer.sampling.kept_by";

/// Bounds applied to what one span may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Attributes kept per span (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`).
    pub(crate) max_attributes: usize,
    /// Attributes kept per event (`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`).
    pub(crate) max_event_attributes: usize,
    /// Events kept per span (`OTEL_SPAN_EVENT_COUNT_LIMIT`); error events get the same again as reserve.
    pub(crate) max_events: usize,
    /// Links kept per span (`OTEL_SPAN_LINK_COUNT_LIMIT`).
    pub(crate) max_links: usize,
    /// Bytes kept of one formatted value (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
    pub(crate) max_value_bytes: usize,
    /// Measure the thread CPU time each span consumes while entered (`OBSERVER_CPU_TIME`).
    pub(crate) thread_cpu_time: bool,
}

/// An attribute or field value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(CompactString),
    Static(&'static str),
    StrArray(Vec<String>),
}

/// One key/value pair; keys are field names or semantic-convention names, all `'static`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attribute {
    pub(crate) key: &'static str,
    pub(crate) value: Value,
}

/// The OpenTelemetry span kind, set with the `otel.kind` field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SpanKind {
    #[default]
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// The OpenTelemetry status code, set by errors or the `otel.status_code` field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

/// A span event: a `tracing` event inside the span, or an `exception`.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventRecord {
    pub(crate) name: EventName,
    /// The callsite of a `tracing` event (its `level` and `target` are added on the
    /// worker); `None` for an exception made from a span's `error` field.
    pub(crate) metadata: Option<&'static Metadata<'static>>,
    pub(crate) time: Nanos,
    pub(crate) attributes: Vec<Attribute>,
}

/// An event as a span or a log record holds it: its own, or shared by the two (an
/// event inside a recorded span that is also a log record is captured once).
#[derive(Clone, Debug)]
pub(crate) enum HeldEvent {
    Own(EventRecord),
    Shared(Arc<EventRecord>),
}

impl Default for HeldEvent {
    fn default() -> Self {
        Self::Own(EventRecord::default())
    }
}

impl From<EventRecord> for HeldEvent {
    fn from(event: EventRecord) -> Self {
        Self::Own(event)
    }
}

impl std::ops::Deref for HeldEvent {
    type Target = EventRecord;

    fn deref(&self) -> &EventRecord {
        match self {
            Self::Own(event) => event,
            Self::Shared(event) => event,
        }
    }
}

impl HeldEvent {
    /// Makes the event shared (if it is not yet) and returns a handle to it.
    pub(crate) fn share(&mut self) -> Arc<EventRecord> {
        let shared = match std::mem::take(self) {
            Self::Own(event) => Arc::new(event),
            Self::Shared(event) => event,
        };
        *self = Self::Shared(Arc::clone(&shared));
        shared
    }

    /// The event to change, when it is not shared.
    pub(crate) fn as_own_mut(&mut self) -> Option<&mut EventRecord> {
        match self {
            Self::Own(event) => Some(event),
            Self::Shared(_) => None,
        }
    }
}

/// An event's name: its message when it has one, else its callsite name.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum EventName {
    Static(&'static str),
    Message(CompactString),
}

impl Default for EventName {
    fn default() -> Self {
        Self::Static("")
    }
}

/// Wall-clock bookkeeping for one span, in readings of the crate's clock and
/// nanoseconds (integer arithmetic only: this runs on every enter and exit).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) start: Nanos,
    pub(crate) end: Nanos,
    /// Nanoseconds entered.
    pub(crate) busy: u64,
    /// Nanoseconds alive but not entered.
    pub(crate) idle: u64,
    last: Nanos,
    entered: u32,
    /// Thread CPU time consumed while entered, when measured.
    pub(crate) cpu: Option<Duration>,
    /// The thread and its CPU clock when the span was entered.
    cpu_mark: Option<(u64, Duration)>,
    /// Bytes and allocations made while entered, when a `CountingAllocator` is installed.
    pub(crate) allocations: Option<ThreadAllocations>,
    /// The thread and its allocation counters when the span was entered.
    alloc_mark: Option<(u64, ThreadAllocations)>,
}

/// Everything recorded about one span.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: Option<SpanId>,
    pub(crate) parent_is_remote: bool,
    pub(crate) trace_flags: u8,
    pub(crate) trace_state: Option<String>,
    /// The request's baggage, shared with its other spans; propagated, not exported.
    pub(crate) baggage: Option<Arc<Baggage>>,
    pub(crate) metadata: &'static Metadata<'static>,
    pub(crate) name: Option<String>,
    pub(crate) kind: SpanKind,
    pub(crate) status: StatusCode,
    pub(crate) status_description: Option<String>,
    pub(crate) thread_id: u64,
    pub(crate) timing: Timing,
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) dropped_attributes: u32,
    pub(crate) events: Vec<HeldEvent>,
    pub(crate) dropped_events: u32,
    pub(crate) links: Vec<SpanContext>,
    pub(crate) dropped_links: u32,
    /// Values cut to `max_value_bytes` or replaced because their `Debug` panicked.
    pub(crate) truncated_values: u32,
    /// The tail rule that kept this span although head sampling dropped it.
    pub(crate) kept_by: Option<&'static str>,
    /// The size the queue charged for this record, released when it leaves.
    pub(crate) queued_bytes: usize,
}

/// Where a new record sits in its trace.
#[derive(Clone, Debug)]
pub(crate) struct Lineage {
    pub(crate) trace_id: TraceId,
    pub(crate) parent_span_id: Option<SpanId>,
    pub(crate) parent_is_remote: bool,
    pub(crate) trace_flags: u8,
    pub(crate) trace_state: Option<String>,
    pub(crate) baggage: Option<Arc<Baggage>>,
}

impl Lineage {
    /// The lineage of a span whose parent is `parent`, in this process or another.
    pub(crate) fn child_of(parent: &SpanContext, parent_is_remote: bool) -> Self {
        Self {
            trace_id: parent.trace_id(),
            parent_span_id: Some(parent.span_id()),
            parent_is_remote,
            trace_flags: parent.trace_flags(),
            trace_state: parent.trace_state().map(str::to_owned),
            baggage: parent.shared_baggage(),
        }
    }

    /// The lineage of a new trace's root.
    pub(crate) fn root(trace_id: TraceId, trace_flags: u8) -> Self {
        Self {
            trace_id,
            parent_span_id: None,
            parent_is_remote: false,
            trace_flags,
            trace_state: None,
            baggage: None,
        }
    }
}

// === impl Timing ===

impl Timing {
    pub(crate) fn new(now: Nanos) -> Self {
        Self {
            start: now,
            end: now,
            busy: 0,
            idle: 0,
            last: now,
            entered: 0,
            cpu: None,
            cpu_mark: None,
            allocations: None,
            alloc_mark: None,
        }
    }

    /// The span was entered; concurrent enters from several threads count once.
    pub(crate) fn enter(&mut self, now: Nanos, cpu_now: Option<Duration>) {
        if self.entered == 0 {
            self.idle += now.saturating_sub(self.last);
            self.last = now;
            self.cpu_mark = cpu_now.map(|cpu| (thread::current_id(), cpu));
            self.alloc_mark = thread_allocations().map(|a| (thread::current_id(), a));
        }
        self.entered = self.entered.saturating_add(1);
    }

    /// The span was exited.
    pub(crate) fn exit(&mut self, now: Nanos, cpu_now: Option<Duration>) {
        self.entered = self.entered.saturating_sub(1);
        if self.entered == 0 {
            self.busy += now.saturating_sub(self.last);
            self.last = now;
            // A CPU clock is per thread: count only an enter and exit on the same one.
            if let (Some((thread, mark)), Some(cpu)) = (self.cpu_mark.take(), cpu_now) {
                if thread == thread::current_id() {
                    *self.cpu.get_or_insert(Duration::ZERO) += cpu.saturating_sub(mark);
                }
            }
            if let (Some((thread, mark)), Some(now)) =
                (self.alloc_mark.take(), thread_allocations())
            {
                if thread == thread::current_id() {
                    let made = now.since(mark);
                    let total = self.allocations.get_or_insert(ThreadAllocations::default());
                    total.bytes += made.bytes;
                    total.count += made.count;
                }
            }
        }
    }

    /// The span closed: what is left since the last exit is idle time.
    pub(crate) fn close(&mut self, now: Nanos) {
        if self.entered == 0 {
            self.idle += now.saturating_sub(self.last);
        } else {
            self.busy += now.saturating_sub(self.last);
        }
        self.end = now;
    }

    /// Nanoseconds from creation to close.
    pub(crate) fn duration_ns(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

// === impl SpanRecord ===

impl SpanRecord {
    /// An empty record for a span that started at `start`.
    pub(crate) fn new(
        metadata: &'static Metadata<'static>,
        lineage: Lineage,
        span_id: SpanId,
        start: Nanos,
    ) -> Self {
        Self {
            trace_id: lineage.trace_id,
            span_id,
            parent_span_id: lineage.parent_span_id,
            parent_is_remote: lineage.parent_is_remote,
            trace_flags: lineage.trace_flags,
            trace_state: lineage.trace_state,
            baggage: lineage.baggage,
            metadata,
            name: None,
            kind: SpanKind::default(),
            status: StatusCode::default(),
            status_description: None,
            thread_id: thread::current_id(),
            timing: Timing::new(start),
            attributes: Vec::new(),
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            dropped_links: 0,
            truncated_values: 0,
            kept_by: None,
            queued_bytes: 0,
        }
    }

    /// Frees what a used record holds, keeping its vectors' capacity: run by the
    /// worker before it hands the record back, so the host's thread frees nothing.
    pub(crate) fn clear(&mut self) {
        self.attributes.clear();
        self.events.clear();
        self.links.clear();
        self.trace_state = None;
        self.baggage = None;
        self.name = None;
        self.status_description = None;
    }

    /// Turns a used record into a new one, keeping its vectors' capacity. Field by
    /// field (the destructuring fails to compile when a field is added): rebuilding
    /// the whole struct cost several times as much on the hot path.
    pub(crate) fn reuse(
        &mut self,
        metadata: &'static Metadata<'static>,
        lineage: Lineage,
        span_id: SpanId,
        start: Nanos,
    ) {
        let Self {
            trace_id,
            span_id: own_span_id,
            parent_span_id,
            parent_is_remote,
            trace_flags,
            trace_state,
            baggage,
            metadata: own_metadata,
            name,
            kind,
            status,
            status_description,
            thread_id,
            timing,
            attributes,
            dropped_attributes,
            events,
            dropped_events,
            links,
            dropped_links,
            truncated_values,
            kept_by,
            queued_bytes,
        } = self;
        *trace_id = lineage.trace_id;
        *own_span_id = span_id;
        *parent_span_id = lineage.parent_span_id;
        *parent_is_remote = lineage.parent_is_remote;
        *trace_flags = lineage.trace_flags;
        *trace_state = lineage.trace_state;
        *baggage = lineage.baggage;
        *own_metadata = metadata;
        *name = None;
        *kind = SpanKind::default();
        *status = StatusCode::default();
        *status_description = None;
        *thread_id = thread::current_id();
        *timing = Timing::new(start);
        attributes.clear();
        events.clear();
        links.clear();
        *dropped_attributes = 0;
        *dropped_events = 0;
        *dropped_links = 0;
        *truncated_values = 0;
        *kept_by = None;
        *queued_bytes = 0;
    }

    /// This span's identity, as its children and links see it.
    pub(crate) fn context(&self) -> SpanContext {
        let cx = SpanContext::new(self.trace_id, self.span_id)
            .with_trace_flags(self.trace_flags)
            .with_shared_baggage(self.baggage.clone());
        match &self.trace_state {
            Some(state) => cx.with_trace_state(state),
            None => cx,
        }
    }

    /// Whether the record goes in the queue's priority lane: it failed, or a tail rule kept it.
    pub(crate) fn is_priority(&self) -> bool {
        self.status == StatusCode::Error || self.kept_by.is_some()
    }

    /// An estimate of the memory the record holds, for the queue's byte budget.
    pub(crate) fn approx_bytes(&self) -> usize {
        fn value_bytes(value: &Value) -> usize {
            match value {
                Value::Str(s) if s.is_heap_allocated() => s.len(),
                Value::StrArray(items) => items.iter().map(|s| s.len() + 24).sum(),
                _ => 0,
            }
        }
        let attributes = |list: &[Attribute]| -> usize {
            std::mem::size_of_val(list) + list.iter().map(|a| value_bytes(&a.value)).sum::<usize>()
        };
        std::mem::size_of::<Self>()
            + attributes(&self.attributes)
            + self
                .events
                .iter()
                .map(|e| std::mem::size_of::<EventRecord>() + attributes(&e.attributes))
                .sum::<usize>()
            + self.links.len() * std::mem::size_of::<SpanContext>()
    }

    /// The span's name: `otel.name` when set, else the callsite name.
    pub(crate) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.metadata.name())
    }

    /// Sets an attribute, replacing an earlier value of the same key.
    pub(crate) fn set_attribute(&mut self, attribute: Attribute, limits: &Limits) {
        if let Some(existing) = self.attributes.iter_mut().find(|a| a.key == attribute.key) {
            existing.value = attribute.value;
        } else if self.attributes.len() < limits.max_attributes {
            self.attributes.push(attribute);
        } else {
            self.dropped_attributes += 1;
        }
    }

    /// Adds an event, within the limit (errors have a reserve of the same size).
    pub(crate) fn push_event(&mut self, event: HeldEvent, is_error: bool, limits: &Limits) {
        let cap = if is_error {
            limits.max_events.saturating_mul(2)
        } else {
            limits.max_events
        };
        if self.events.len() < cap {
            self.events.push(event);
        } else {
            self.dropped_events += 1;
        }
    }

    /// Marks the span failed; the first description wins.
    pub(crate) fn mark_error(&mut self, description: Option<&str>) {
        self.status = StatusCode::Error;
        if self.status_description.is_none() {
            self.status_description = description.map(str::to_owned);
        }
    }

    /// Adds a `follows_from` link, within the limit; a link carries no baggage.
    pub(crate) fn push_link(&mut self, link: SpanContext, limits: &Limits) {
        if self.links.len() < limits.max_links {
            self.links.push(link.with_shared_baggage(None));
        } else {
            self.dropped_links += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_idle_add_up_with_reentry() {
        let t0 = crate::clock::now_nanos();
        let ms = |n: u64| n * 1_000_000;
        let mut timing = Timing::new(t0);
        timing.enter(t0 + ms(10), None);
        timing.exit(t0 + ms(15), None);
        timing.enter(t0 + ms(20), None);
        timing.enter(t0 + ms(21), None); // a second thread enters concurrently
        timing.exit(t0 + ms(25), None);
        timing.exit(t0 + ms(30), None);
        timing.close(t0 + ms(40));
        assert_eq!(timing.busy, ms(15));
        assert_eq!(timing.idle, ms(25));
        assert_eq!(timing.duration_ns(), ms(40));
    }

    #[test]
    fn unbalanced_exit_never_underflows() {
        let t0 = crate::clock::now_nanos();
        let mut timing = Timing::new(t0);
        timing.exit(t0 + 1_000_000, None);
        timing.close(t0 + 2_000_000);
        assert_eq!(timing.busy + timing.idle, 2_000_000);
    }
}
