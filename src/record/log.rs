//! The compact record of one `tracing` event exported as an OTLP log record.
//!
//! A [`LogRecord`] holds the event as the layer captured it (the same
//! [`EventRecord`] a span event is: message, fields, exception attributes), the trace
//! context of the span it happened in, and the thread. Severity, body and the
//! semantic-convention attributes are derived from it on the worker.

use super::{Attribute, EventName, HeldEvent, Value};
use crate::ids::{SpanId, TraceId};
use tracing_core::{Level, Metadata};

/// The trace context a log record carries: the ids of the span it happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogContext {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) trace_flags: u8,
}

/// One event on its way to the logs exporter.
#[derive(Debug, Default)]
pub(crate) struct LogRecord {
    /// The event as captured (shared with its span's record when it is a span event
    /// too); its `metadata` is always set.
    pub(crate) event: HeldEvent,
    pub(crate) context: Option<LogContext>,
    pub(crate) thread_id: u64,
    /// Attributes the count limit cut at capture.
    pub(crate) dropped_attributes: u32,
    /// Values the length limit cut at capture.
    pub(crate) truncated_values: u32,
    /// The bytes the queue counted for this record.
    pub(crate) queued_bytes: usize,
}

impl LogRecord {
    /// Empties the record for reuse, keeping its attributes' capacity.
    pub(crate) fn clear(&mut self) {
        match self.event.as_own_mut() {
            Some(event) => {
                event.attributes.clear();
                event.name = EventName::Static("");
                event.metadata = None;
            }
            None => self.event = HeldEvent::default(),
        }
        self.context = None;
        self.dropped_attributes = 0;
        self.truncated_values = 0;
    }

    /// The event's callsite.
    pub(crate) fn metadata(&self) -> Option<&'static Metadata<'static>> {
        self.event.metadata
    }

    /// Warnings and errors go in the queue's priority lane.
    pub(crate) fn is_priority(&self) -> bool {
        self.metadata().is_some_and(|m| *m.level() <= Level::WARN)
    }

    /// An estimate of the memory the record holds, for the queue's byte budget.
    pub(crate) fn approx_bytes(&self) -> usize {
        let values: usize = (self.event.attributes.iter())
            .map(|a| match &a.value {
                Value::Str(s) if s.is_heap_allocated() => s.len(),
                Value::StrArray(items) => items.iter().map(|s| s.len() + 24).sum(),
                _ => 0,
            })
            .sum();
        let body = match &self.event.name {
            EventName::Message(m) if m.is_heap_allocated() => m.len(),
            _ => 0,
        };
        std::mem::size_of::<Self>()
            + std::mem::size_of_val(self.event.attributes.as_slice())
            + values
            + body
    }
}

/// The OTLP severity number of a level (`SEVERITY_NUMBER_TRACE` … `_ERROR`).
pub(crate) fn severity_number(level: Level) -> u8 {
    match level {
        Level::TRACE => 1,
        Level::DEBUG => 5,
        Level::INFO => 9,
        Level::WARN => 13,
        Level::ERROR => 17,
    }
}

/// Keeps at most `max` attributes; returns how many it cut.
pub(crate) fn keep_attributes(attributes: &mut Vec<Attribute>, max: usize) -> u32 {
    let cut = attributes.len().saturating_sub(max);
    attributes.truncate(max);
    u32::try_from(cut).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_follow_the_otlp_ranges() {
        assert_eq!(severity_number(Level::TRACE), 1);
        assert_eq!(severity_number(Level::DEBUG), 5);
        assert_eq!(severity_number(Level::INFO), 9);
        assert_eq!(severity_number(Level::WARN), 13);
        assert_eq!(severity_number(Level::ERROR), 17);
    }
}
