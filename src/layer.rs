//! The `Layer`: the hot path, run on the host's threads.
//!
//! Each hook touches only the span's own [`SpanRecord`] in the registry's
//! extensions (a per-span lock, never held while user code or formatting runs) and,
//! at close, pushes the record into the lock-free queue. A span that head sampling
//! dropped has no record: it lives in the sampled-out table until it closes, unless
//! an error (or slowness) promotes it and its ancestors to full records. Enter and
//! exit also keep the thread's stack of entered spans ([`entered`]), where a new
//! span or event finds the span it is in. Nothing here blocks, does I/O, or panics
//! on user input.

use crate::clock::{self, Nanos};
use crate::entered;
use crate::event_metrics::Pushed;
use crate::ids::{SpanId, TraceId};
use crate::logs::Trace;
use crate::propagation::{Baggage, SpanContext};
use crate::record::fields::{
    capture_event, capture_event_into, capture_span_fields, is_error_event, names_remote_parent,
    records_error, remote_parent, CapturedEvent, Rules,
};
use crate::record::log::{keep_attributes, LogContext};
use crate::record::policy::{Verdict, REDACTED};
use crate::record::thread;
use crate::record::{Attribute, HeldEvent, Limits, Lineage, SpanRecord, Timing, Value};
use crate::recorder::Recorder;
use crate::sampling::{Lookup, SampledOutTable};
use crate::tally::Handoff;
use std::sync::Arc;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Event, Interest, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use tracing_subscriber::Layer;

/// The W3C "sampled" flag, set on every trace this layer records.
const SAMPLED: u8 = 0x01;

/// The [`Layer`] that records spans for an [`Observer`](crate::Observer).
///
/// Get one from [`Observer::layer`](crate::Observer::layer); it composes with `fmt`,
/// `EnvFilter` and per-layer filters like any other layer.
///
/// ```no_run
/// use tracing_subscriber::{filter::LevelFilter, prelude::*};
///
/// let observer = tracing_observer::Observer::builder().build()?;
/// tracing_subscriber::registry()
///     .with(observer.layer().with_filter(LevelFilter::INFO))
///     .init();
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Clone)]
pub struct ObserverLayer {
    recorder: Option<Arc<Recorder>>,
    /// The baggage keys recorded as attributes (`OBSERVER_BAGGAGE_ATTRIBUTES`).
    baggage_attributes: Arc<[&'static str]>,
}

impl std::fmt::Debug for ObserverLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverLayer")
            .field("enabled", &self.recorder.is_some())
            .finish()
    }
}

/// The remote parent of a sampled-out local root, kept in case the root is promoted.
struct RemoteParent(SpanContext);

/// The baggage given to a span head sampling dropped (a recorded span holds it in its
/// record): its sampled-out descendants propagate it, a promotion records it.
pub(crate) struct SpanBaggage(pub(crate) Arc<Baggage>);

impl ObserverLayer {
    pub(crate) fn new(
        recorder: Option<Arc<Recorder>>,
        baggage_attributes: Arc<[&'static str]>,
    ) -> Self {
        Self {
            recorder,
            baggage_attributes,
        }
    }

    /// Records the configured baggage keys that `baggage` holds as attributes of
    /// `record`, through the field policy and the attribute limits.
    pub(crate) fn record_baggage(&self, record: &mut SpanRecord, baggage: &Baggage) {
        let Some(recorder) = self.recorder.as_deref() else {
            return;
        };
        for &key in self.baggage_attributes.iter() {
            let Some(value) = baggage.get(key) else {
                continue;
            };
            let value = match recorder.policy.verdict(key) {
                Verdict::Keep => {
                    let mut end = value.len().min(recorder.limits.max_value_bytes);
                    while !value.is_char_boundary(end) {
                        end -= 1;
                    }
                    Value::Str(value[..end].into())
                }
                Verdict::Redact => Value::Static(REDACTED),
                Verdict::Omit => continue,
            };
            record.set_attribute(Attribute { key, value }, &recorder.limits);
        }
    }

    /// The trace context a log record in `span` carries: the record's ids, or for a
    /// span head sampling dropped the ids it propagates.
    fn log_context<S>(&self, span: &SpanRef<'_, S>) -> Option<LogContext>
    where
        S: for<'a> LookupSpan<'a>,
    {
        let cx = (span.extensions().get::<Box<SpanRecord>>()).map(|record| LogContext {
            trace_id: record.trace_id,
            span_id: record.span_id,
            trace_flags: record.trace_flags,
        });
        cx.or_else(|| {
            let cx = self.sampled_out_context(span)?;
            Some(LogContext {
                trace_id: cx.trace_id(),
                span_id: cx.span_id(),
                trace_flags: cx.trace_flags(),
            })
        })
    }

    #[inline]
    fn active(&self) -> Option<&Recorder> {
        self.recorder.as_deref().filter(|s| s.is_accepting())
    }

    /// This layer's key in the per-thread stack of entered spans: its address, which
    /// stays put while it is part of a subscriber.
    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// The span the calling thread is in, as this layer saw it entered.
    fn current_span<S>(&self, ctx: &Context<'_, S>) -> Option<Id>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        // The registry's answer when the stack cannot tell (deeper than it holds).
        entered::current(self.key()).unwrap_or_else(|| ctx.current_span().id().cloned())
    }

    /// The context of a span head sampling dropped: flags "not sampled", and the ids
    /// an error would give it if it promoted the span, so what a sampled-out span
    /// propagates matches what a later promotion exports. `None` when the span is not
    /// sampled out, or the table lost it or its local root.
    pub(crate) fn sampled_out_context<S>(&self, span: &SpanRef<'_, S>) -> Option<SpanContext>
    where
        S: for<'a> LookupSpan<'a>,
    {
        let table = &self.recorder.as_deref()?.sampling.table;
        let Lookup::SampledOut { start, .. } = table.lookup(span.id().into_u64()) else {
            return None;
        };
        let span_id = SpanId::derived(span.id().into_u64(), start);
        // The nearest baggage given to a span on the way up.
        let mut baggage = None;
        for ancestor in span.scope() {
            if baggage.is_none() {
                baggage = (ancestor.extensions().get::<SpanBaggage>()).map(|b| b.0.clone());
            }
            if let Some(remote) = ancestor.extensions().get::<RemoteParent>() {
                let cx = SpanContext::new(remote.0.trace_id(), span_id)
                    .with_trace_flags(0)
                    .with_shared_baggage(baggage.or_else(|| remote.0.shared_baggage()));
                return Some(match remote.0.trace_state() {
                    Some(state) => cx.with_trace_state(state),
                    None => cx,
                });
            }
            match table.lookup(ancestor.id().into_u64()) {
                Lookup::SampledOut {
                    start,
                    is_root: true,
                    ..
                } => {
                    let trace_id = TraceId::derived(ancestor.id().into_u64(), start);
                    let cx = SpanContext::new(trace_id, span_id).with_trace_flags(0);
                    return Some(cx.with_shared_baggage(baggage));
                }
                Lookup::SampledOut { .. } => {}
                Lookup::Unknown => return None,
            }
        }
        None
    }
}

/// The identity of the nearest ancestor this layer recorded (ancestors may be filtered).
fn recorded_parent<S>(span: &SpanRef<'_, S>) -> Option<SpanContext>
where
    S: for<'a> LookupSpan<'a>,
{
    span.scope().skip(1).find_map(|ancestor| {
        ancestor
            .extensions()
            .get::<Box<SpanRecord>>()
            .map(|record| record.context())
    })
}

/// A new span's parent: its explicit parent, or the span the thread is in (as the
/// layer saw it), without looking the parent up.
fn parent_of<S>(layer: &ObserverLayer, attrs: &Attributes<'_>, ctx: &Context<'_, S>) -> Option<Id>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if attrs.is_root() {
        None
    } else if let Some(parent) = attrs.parent() {
        Some(parent.clone())
    } else {
        layer.current_span(ctx)
    }
}

/// The lineage of a new local root, or `None` when head sampling drops it (then it
/// is in the sampled-out table).
#[inline]
fn root_lineage<S>(
    recorder: &Recorder,
    attrs: &Attributes<'_>,
    id: &Id,
    ctx: &Context<'_, S>,
    now_ns: Nanos,
) -> Option<Lineage>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let metadata = attrs.metadata();
    if names_remote_parent(metadata) {
        if let Some(remote) = remote_parent(attrs) {
            return remote_root_lineage(recorder, metadata, id, ctx, now_ns, remote);
        }
    }
    let sampling = &recorder.sampling;
    // Derived from the start the sampled-out table would read back, so a sampled-out
    // root's propagated and promoted trace ids agree. Only a ratio or a recorded span
    // needs it.
    let trace_id = || TraceId::derived(id.into_u64(), SampledOutTable::stored_start(now_ns));
    if sampling.may_drop() && !sampling.sample_local_root(metadata, trace_id, now_ns) {
        sampling.table.insert(id.into_u64(), now_ns, true, metadata);
        return None;
    }
    Some(Lineage::root(trace_id(), SAMPLED))
}

/// [`root_lineage`] for a span that continues a remote trace. Out of line: most roots
/// have no remote parent.
#[inline(never)]
fn remote_root_lineage<S>(
    recorder: &Recorder,
    metadata: &'static tracing_core::Metadata<'static>,
    id: &Id,
    ctx: &Context<'_, S>,
    now_ns: Nanos,
    remote: SpanContext,
) -> Option<Lineage>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let sampling = &recorder.sampling;
    let sampled = !sampling.may_drop()
        || sampling.sample_root(metadata, || remote.trace_id(), Some(&remote), || now_ns);
    if !sampled {
        sampling.table.insert(id.into_u64(), now_ns, true, metadata);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().replace(RemoteParent(remote));
        }
        return None;
    }
    Some(Lineage::child_of(&remote, true))
}

/// Creates the record of a span head sampling kept. `root` is its lineage when it
/// is a local root; otherwise it continues its nearest recorded ancestor, or starts
/// a trace when it has none (its ancestors were filtered or not recorded). Out of
/// line: the sampled-out path of `on_new_span` stays small.
#[inline(never)]
fn record_new_span<S>(
    recorder: &Recorder,
    attrs: &Attributes<'_>,
    id: &Id,
    ctx: &Context<'_, S>,
    parent_id: Option<Id>,
    root: Option<Lineage>,
    now_ns: Nanos,
) where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let lineage = match root {
        Some(lineage) => lineage,
        None => {
            // A direct parent is the usual case; a filtered or unrecorded one sends
            // us up the scope.
            let parent = parent_id.and_then(|parent| {
                ctx.span(&parent)
                    .and_then(|p| p.extensions().get::<Box<SpanRecord>>().map(|r| r.context()))
                    .or_else(|| ctx.span(id).and_then(|span| recorded_parent(&span)))
            });
            match parent {
                Some(parent) => Lineage::child_of(&parent, false),
                None => match root_lineage(recorder, attrs, id, ctx, now_ns) {
                    Some(lineage) => lineage,
                    None => return,
                },
            }
        }
    };
    let Some(span) = ctx.span(id) else { return };
    let mut record = recorder.new_record(attrs.metadata(), lineage, SpanId::random(), now_ns);
    let attributes = std::mem::take(&mut record.attributes);
    let fields = capture_span_fields(|v| attrs.record(v), recorder.rules(), attributes);
    fields.apply(&mut record, &recorder.limits, now_ns);
    span.extensions_mut().replace(record);
}

/// Enters or exits a span's record (`step` is [`Timing::enter`] or [`Timing::exit`]).
/// Out of line: hooks that skip a sampled-out span stay small.
#[inline(never)]
fn time_record<S, F>(recorder: &Recorder, id: &Id, ctx: &Context<'_, S>, step: F)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: FnOnce(&mut Timing, Nanos, Option<std::time::Duration>),
{
    let _timer = recorder.sampling.overhead.start();
    let Some(span) = ctx.span(id) else { return };
    let cpu = recorder.thread_cpu_time();
    let mut extensions = span.extensions_mut();
    if let Some(record) = extensions.get_mut::<Box<SpanRecord>>() {
        step(&mut record.timing, clock::now_nanos(), cpu);
    }
}

/// Adds `event` to `span`'s record as a span event (an exception event for an error),
/// within the span's event limit; an error promotes a sampled-out span first.
/// `captured` is the event already captured, if it was. Returns the ids of the record
/// the event went to (for its log record), if it went to one.
fn add_span_event<S>(
    recorder: &Recorder,
    span: &SpanRef<'_, S>,
    event: &Event<'_>,
    is_error: bool,
    captured: Option<CapturedEvent>,
) -> Option<LogContext>
where
    S: for<'a> LookupSpan<'a>,
{
    let limits = &recorder.limits;
    let cap = if is_error {
        limits.max_events * 2
    } else {
        limits.max_events
    };
    // Read the length in its own statement: `promote` below takes the write lock.
    let events = span
        .extensions()
        .get::<Box<SpanRecord>>()
        .map(|r| r.events.len());
    let room = match events {
        Some(len) => len < cap,
        None if is_error && recorder.sampling.keep_errors => {
            if recorder.sampling.table.lookup(span.id().into_u64()) == Lookup::Unknown {
                return None;
            }
            promote(recorder, span, "error", clock::now_nanos());
            true
        }
        None => return None,
    };
    if !room {
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<Box<SpanRecord>>() {
            record.dropped_events += 1;
            if is_error {
                record.mark_error(None);
            }
        }
        return None;
    }
    // Format outside the span's lock: a field's Debug may itself emit events.
    let captured =
        captured.unwrap_or_else(|| capture_event(event, recorder.rules(), clock::now_nanos()));
    let mut extensions = span.extensions_mut();
    let record = extensions.get_mut::<Box<SpanRecord>>()?;
    record.truncated_values += captured.truncated;
    if let Some(message) = &captured.error {
        record.mark_error(Some(message));
    }
    record.push_event(captured.record, is_error, limits);
    Some(LogContext {
        trace_id: record.trace_id,
        span_id: record.span_id,
        trace_flags: record.trace_flags,
    })
}

/// Turns a sampled-out span and its sampled-out local ancestors into full records, so
/// that the path to a failure (or a slow span) is exported. Runs only on that path.
fn promote<S>(recorder: &Recorder, span: &SpanRef<'_, S>, reason: &'static str, now: Nanos)
where
    S: for<'a> LookupSpan<'a>,
{
    let table = &recorder.sampling.table;
    let mut chain = Vec::new();
    let mut anchor = None;
    // The local root's trace id as it was derived at its creation (and propagated).
    let mut root_trace = None;
    for ancestor in span.scope() {
        if let Some(record) = ancestor.extensions().get::<Box<SpanRecord>>() {
            anchor = Some(Lineage::child_of(&record.context(), false));
            break;
        }
        let start = match table.lookup(ancestor.id().into_u64()) {
            Lookup::SampledOut { start, is_root, .. } => {
                if is_root {
                    root_trace = Some(TraceId::derived(ancestor.id().into_u64(), start));
                }
                Some(start)
            }
            Lookup::Unknown => None,
        };
        let remote = ancestor
            .extensions()
            .get::<RemoteParent>()
            .map(|r| r.0.clone());
        chain.push((ancestor, start));
        if let Some(remote) = remote {
            anchor = Some(Lineage::child_of(&remote, true));
            break;
        }
    }
    // A parent starts no later than its child: fill starts lost to table evictions.
    let mut earliest = now;
    let chain: Vec<_> = chain
        .into_iter()
        .map(|(span, start)| {
            // The id this span had while sampled out, when its start is known.
            let span_id = start.map_or_else(SpanId::random, |start| {
                SpanId::derived(span.id().into_u64(), start)
            });
            earliest = start.map_or(earliest, |s| s.min(earliest));
            (span, earliest, span_id)
        })
        .collect();
    let mut lineage = anchor
        .unwrap_or_else(|| Lineage::root(root_trace.unwrap_or_else(TraceId::random), SAMPLED));
    lineage.trace_flags |= SAMPLED;
    for (span, start, span_id) in chain.into_iter().rev() {
        let given = span.extensions_mut().remove::<SpanBaggage>();
        if let Some(SpanBaggage(baggage)) = given {
            lineage.baggage = Some(baggage);
        }
        let mut record = recorder.new_record(span.metadata(), lineage.clone(), span_id, start);
        record.kept_by = Some(reason);
        lineage = Lineage::child_of(&record.context(), false);
        span.extensions_mut().replace(record);
        table.remove(span.id().into_u64());
    }
}

impl<S> Layer<S> for ObserverLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        if let Some(recorder) = &self.recorder {
            recorder.diagnostics.register(dispatch);
        } else {
            tracing::dispatcher::with_default(dispatch, || {
                tracing::info!(
                    target: "tracing_observer",
                    "tracing-observer is disabled (OTEL_SDK_DISABLED=true): spans are not recorded"
                );
            });
        }
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if let Some(recorder) = &self.recorder {
            recorder.event_metrics.register(metadata);
        }
        Interest::always()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(recorder) = self.active() else {
            return;
        };
        let _timer = recorder.sampling.overhead.start();
        let sampling = &recorder.sampling;
        let now_ns = clock::now_nanos();
        let parent_id = parent_of(self, attrs, &ctx);
        let root = match &parent_id {
            // A child of a sampled-out span is sampled out: one table read, nothing formatted.
            Some(parent) => {
                if sampling.may_drop() && sampling.table.contains(parent.into_u64()) {
                    let metadata = attrs.metadata();
                    sampling
                        .table
                        .insert(id.into_u64(), now_ns, false, metadata);
                    return;
                }
                None
            }
            None => match root_lineage(recorder, attrs, id, &ctx, now_ns) {
                Some(lineage) => Some(lineage),
                None => return,
            },
        };
        record_new_span(recorder, attrs, id, &ctx, parent_id, root, now_ns);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(recorder) = self.active() else {
            return;
        };
        let _timer = recorder.sampling.overhead.start();
        let Some(span) = ctx.span(id) else { return };
        if span.extensions().get::<Box<SpanRecord>>().is_none() {
            let sampled_out = recorder.sampling.table.contains(id.into_u64());
            if !(sampled_out
                && recorder.sampling.keep_errors
                && records_error(values, span.metadata()))
            {
                return;
            }
            promote(recorder, &span, "error", clock::now_nanos());
        }
        let fields = capture_span_fields(|v| values.record(v), recorder.rules(), Vec::new());
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<Box<SpanRecord>>() {
            fields.apply(record, &recorder.limits, clock::now_nanos());
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(recorder) = self.active() else {
            return;
        };
        let _timer = recorder.sampling.overhead.start();
        let Some(span) = ctx.span(id) else { return };
        // A cause that closed already (or was sampled out) has no identity to link to.
        let link = ctx.span(follows).and_then(|cause| {
            cause
                .extensions()
                .get::<Box<SpanRecord>>()
                .map(|record| record.context())
        });
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<Box<SpanRecord>>() {
            match link {
                Some(link) => record.push_link(link, &recorder.limits),
                None => record.dropped_links += 1,
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        // A sampled-out span has nothing to time: it leaves before anything else
        // (its few instructions here are not metered).
        let Some(recorder) = self.recorder.as_deref() else {
            return;
        };
        entered::enter(self.key(), id);
        if recorder.skips(id) || !recorder.is_accepting() {
            return;
        }
        time_record(recorder, id, &ctx, Timing::enter);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(recorder) = self.recorder.as_deref() else {
            return;
        };
        entered::exit(self.key(), id);
        if recorder.skips(id) || !recorder.is_accepting() {
            return;
        }
        time_record(recorder, id, &ctx, Timing::exit);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(recorder) = self.active() else {
            return;
        };
        let _timer = recorder.sampling.overhead.start();
        let metadata = event.metadata();
        // Every metric event counts, in a span or not, sampled out or not.
        if recorder.event_metrics.is_metric_callsite(metadata) {
            capture_event_metrics(recorder, event);
        }
        let is_error = is_error_event(event);
        let span_id = if event.is_contextual() {
            self.current_span(&ctx)
        } else {
            event.parent().cloned()
        };
        let sampled_out = span_id.as_ref().is_some_and(|id| recorder.skips(id));
        let logs = (recorder.logs.as_ref()).filter(|logs| logs.wants(metadata));
        // A sampled-out span takes an event only when an error promotes it.
        let span_event = recorder.span_events && span_id.is_some() && (is_error || !sampled_out);
        if logs.is_none() && !span_event {
            return;
        }
        let span = span_id.as_ref().and_then(|_| ctx.event_span(event));
        let now = clock::now_nanos();
        let log = logs.filter(|logs| {
            let trace = match &span {
                None => Trace::None,
                Some(_) if sampled_out => Trace::SampledOut,
                Some(_) => Trace::Recorded,
            };
            logs.admits(metadata, trace, now)
        });
        let Some(log) = log else {
            if let Some(span) = span.filter(|_| span_event) {
                add_span_event(recorder, &span, event, is_error, None);
            }
            return;
        };
        // One capture serves both: with the span's limits when it also becomes a span
        // event (the log's own are applied on the worker), else with the log's.
        let limits = if span_event {
            Limits {
                max_event_attributes: usize::MAX,
                ..recorder.limits
            }
        } else {
            log.limits
        };
        let rules = Rules::new(&limits, &recorder.policy);
        let mut record = log.new_record();
        let for_span = if span_event {
            let mut captured = capture_event(event, rules, now);
            record.truncated_values = captured.truncated;
            let span_limit = recorder.limits.max_event_attributes;
            if captured.record.attributes.len() <= span_limit.min(log.max_attributes) {
                // Within both limits: one record, shared.
                record.event = HeldEvent::Shared(captured.record.share());
            } else if let (Some(logged), Some(own)) =
                (record.event.as_own_mut(), captured.record.as_own_mut())
            {
                logged.attributes.extend_from_slice(&own.attributes);
                logged.name.clone_from(&own.name);
                logged.metadata = own.metadata;
                logged.time = own.time;
                own.attributes.truncate(span_limit);
            }
            Some(captured)
        } else {
            let buffer = (record.event.as_own_mut())
                .map(|event| std::mem::take(&mut event.attributes))
                .unwrap_or_default();
            let captured = capture_event_into(event, rules, now, buffer);
            record.event = captured.record;
            record.truncated_values = captured.truncated;
            None
        };
        if let Some(logged) = record.event.as_own_mut() {
            record.dropped_attributes = keep_attributes(&mut logged.attributes, log.max_attributes);
        }
        record.thread_id = thread::current_id();
        // The span event first: it reads the record's ids under the lock it takes anyway.
        let written = match (&span, for_span) {
            (Some(span), Some(captured)) => {
                add_span_event(recorder, span, event, is_error, Some(captured))
            }
            _ => None,
        };
        record.context = written.or_else(|| span.as_ref().and_then(|s| self.log_context(s)));
        log.push(record);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(recorder) = self.active() else {
            return;
        };
        let _timer = recorder.sampling.overhead.start();
        let sampling = &recorder.sampling;
        if sampling.may_drop() {
            // Without a slow rule the span leaves the table now; with one, it stays
            // there until `promote` has read its start.
            let slow_rule = sampling.slow_span_threshold;
            let found = match slow_rule {
                None => sampling.table.take(id.into_u64()),
                Some(_) => sampling.table.lookup(id.into_u64()),
            };
            if let Lookup::SampledOut {
                start,
                is_root,
                metadata,
            } = found
            {
                let now = clock::now_nanos();
                let took = now.saturating_sub(start);
                let slow = slow_rule.is_some_and(|t| u128::from(took) >= t.as_nanos());
                match slow.then(|| ctx.span(&id)).flatten() {
                    Some(span) => promote(recorder, &span, "slow", now),
                    None => {
                        if slow_rule.is_some() {
                            sampling.table.remove(id.into_u64());
                        }
                        // Span metrics count every span, whatever the sampling; the
                        // table knows the callsite, so no registry look-up here. The
                        // worker takes a root's host time from the thread's tally.
                        let handed_off = recorder.tally_sampled_out && {
                            let handoff = recorder.sampled_out.record(metadata, took, is_root);
                            if handoff.wakes_worker() {
                                recorder.queue.wake();
                            }
                            handoff != Handoff::Dropped
                        };
                        if is_root && !handed_off {
                            sampling.overhead.add_host_time(took);
                        }
                        return;
                    }
                }
            }
        }
        close_record(recorder, &id, &ctx);
    }
}

/// Hands a metric event's values to the worker, waking it when the queue fills.
/// Out of line: other events' path stays small.
#[inline(never)]
fn capture_event_metrics(recorder: &Recorder, event: &Event<'_>) {
    let pushed =
        (recorder.event_metrics).capture(event, &recorder.policy, recorder.limits.max_value_bytes);
    if pushed != Pushed::Queued {
        recorder.queue.wake();
    }
}

/// Hands a closing span's record to the queue. Out of line: the sampled-out path of
/// `on_close` stays small.
#[inline(never)]
fn close_record<S>(recorder: &Recorder, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let Some(mut record) = span.extensions_mut().remove::<Box<SpanRecord>>() else {
        return;
    };
    record.timing.close(clock::now_nanos());
    let root = record.parent_span_id.is_none() || record.parent_is_remote;
    let took = record.timing.duration_ns();
    if !recorder.queue.push(record) && root {
        // Refused by a full queue: the worker never sees it, so its host time goes
        // to the overhead meter here (else overload inflates the ratio).
        recorder.sampling.overhead.add_host_time(took);
    }
}
