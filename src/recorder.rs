//! [`Recorder`]: everything the layer's hooks read and write, and nothing else.
//!
//! The host's threads see the queue they push closed spans into, the bounds and field
//! policy of capture, the sampling state, the sampled-out spans' tallies and whether
//! spans are recorded at all. The worker holds the same `Recorder` to drain the queue,
//! hand records back for reuse and harvest the tallies; its own status (counters,
//! restarts, the export breaker) lives with the pipeline, out of the hot path's reach.

use crate::clock::Nanos;
use crate::diagnostics::Diagnostics;
use crate::event_metrics::EventMetricsCapture;
use crate::ids::SpanId;
use crate::logs::LogCapture;
use crate::queue::SpanQueue;
use crate::record::fields::Rules;
use crate::record::policy::FieldPolicy;
use crate::record::{Limits, Lineage, SpanRecord};
use crate::sampling::Sampling;
use crate::tally::{SampledOutTally, SpanMetricsProfile};
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing_core::Metadata;

/// Records kept for reuse at most.
const RECYCLED_RECORDS: usize = 4096;

/// Sampled-out spans waiting at most in the shared queue behind the threads' own
/// span-metrics tallies (16 bytes each plus the queue's stamp: 1.5 MiB, allocated
/// only when sampling may drop spans): it takes what a thread's tally cannot (a
/// callsite without a free slot, a thread tearing down).
const MAX_SAMPLED_OUT_QUEUE: usize = 65_536;

/// The queue's bounds: spans, bytes, and the batch size that wakes the worker.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueBounds {
    pub(crate) max_spans: usize,
    pub(crate) max_bytes: usize,
    pub(crate) batch_size: usize,
}

/// What the hot path reads: one per observer, shared by the layer and the worker.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) queue: SpanQueue,
    pub(crate) limits: Limits,
    pub(crate) policy: FieldPolicy,
    pub(crate) sampling: Sampling,
    pub(crate) diagnostics: Diagnostics,
    /// Records the worker is done with, handed back so the host's threads reuse
    /// them instead of allocating (and so memory is not freed across threads).
    recycled: ArrayQueue<Box<SpanRecord>>,
    /// Span metrics of sampled-out spans, tallied on the host's threads.
    pub(crate) sampled_out: SampledOutTally,
    /// Whether sampled-out spans are tallied for span metrics (metrics on and
    /// sampling that may drop).
    pub(crate) tally_sampled_out: bool,
    /// Events with metric fields, captured for the worker.
    pub(crate) event_metrics: EventMetricsCapture,
    /// Events as log records, when the logs pipeline is on.
    pub(crate) logs: Option<LogCapture>,
    /// Whether events inside recorded spans become span events.
    pub(crate) span_events: bool,
    queue_capacity: usize,
    accepting: AtomicBool,
}

impl Recorder {
    /// A recorder with an empty queue; `span_metrics` is the profile to tally
    /// sampled-out spans in, when span metrics are on; `event_metrics` whether
    /// events' metric fields are captured.
    pub(crate) fn new(
        bounds: QueueBounds,
        limits: Limits,
        policy: FieldPolicy,
        sampling: Sampling,
        span_metrics: Option<SpanMetricsProfile>,
        event_metrics: bool,
    ) -> Self {
        // Sampled-out spans exist only when sampling (head or overhead budget) may drop.
        let may_drop = sampling.may_drop();
        let sampled_out_queue = if may_drop {
            bounds.max_spans.min(MAX_SAMPLED_OUT_QUEUE)
        } else {
            1
        };
        Self {
            queue: SpanQueue::new(bounds.max_spans, bounds.max_bytes, bounds.batch_size),
            limits,
            policy,
            sampling,
            diagnostics: Diagnostics::default(),
            recycled: ArrayQueue::new(RECYCLED_RECORDS),
            sampled_out: SampledOutTally::new(sampled_out_queue, span_metrics.unwrap_or_default()),
            tally_sampled_out: span_metrics.is_some() && may_drop,
            event_metrics: EventMetricsCapture::new(event_metrics),
            logs: None,
            span_events: true,
            queue_capacity: bounds.max_spans,
            accepting: AtomicBool::new(true),
        }
    }

    /// With events also captured as log records (`logs`), and as span events or not.
    pub(crate) fn with_events(mut self, logs: Option<LogCapture>, span_events: bool) -> Self {
        self.logs = logs;
        self.span_events = span_events;
        self
    }

    /// Whether new spans should be recorded (false once shutdown began, or once the
    /// observer disabled itself).
    #[inline]
    pub(crate) fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::Relaxed)
    }

    /// Stops recording new spans, for good.
    pub(crate) fn stop_accepting(&self) {
        self.accepting.store(false, Ordering::Relaxed);
    }

    /// Spans the queue holds at most.
    pub(crate) fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// A record for a new span: a recycled one when available.
    pub(crate) fn new_record(
        &self,
        metadata: &'static Metadata<'static>,
        lineage: Lineage,
        span_id: SpanId,
        start: Nanos,
    ) -> Box<SpanRecord> {
        match self.recycled.pop() {
            Some(mut record) => {
                record.reuse(metadata, lineage, span_id, start);
                record
            }
            None => Box::new(SpanRecord::new(metadata, lineage, span_id, start)),
        }
    }

    /// Hands an exported record back for reuse; its values are dropped here, on the worker.
    pub(crate) fn recycle(&self, mut record: Box<SpanRecord>) {
        record.clear();
        let _ = self.recycled.push(record);
    }

    /// Whether a hook can skip this span at once: it is in the sampled-out table (a
    /// slot read; the table is empty when nothing can be sampled out).
    #[inline]
    pub(crate) fn skips(&self, id: &tracing_core::span::Id) -> bool {
        self.sampling.may_drop() && self.sampling.table.contains(id.into_u64())
    }

    /// The calling thread's CPU clock, when per-span CPU time is on.
    pub(crate) fn thread_cpu_time(&self) -> Option<Duration> {
        if self.limits.thread_cpu_time {
            crate::resources::thread_cpu_time()
        } else {
            None
        }
    }

    /// The bounds and field policy for capturing values.
    pub(crate) fn rules(&self) -> Rules<'_> {
        Rules {
            limits: &self.limits,
            policy: &self.policy,
        }
    }
}
