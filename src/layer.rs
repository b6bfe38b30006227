//! The `Layer`: the hot path, run on the host's threads.
//!
//! Each hook touches only the span's own [`SpanRecord`] in the registry's
//! extensions (a per-span lock, never held while user code or formatting runs) and,
//! at close, pushes the record into the lock-free queue. Nothing here blocks, does
//! I/O, or panics on user input.

use crate::pipeline::Shared;
use crate::propagation::SpanContext;
use crate::record::fields::{capture_event, capture_span_fields, is_error_event};
use crate::record::ids::{SpanId, TraceId};
use crate::record::{thread, SpanRecord, Timing};
use std::sync::Arc;
use std::time::Instant;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use tracing_subscriber::Layer;

/// The W3C "sampled" flag, set on every trace this layer starts.
const SAMPLED: u8 = 0x01;

/// The [`Layer`] that records spans for an [`Observer`](crate::Observer).
///
/// Get one from [`Observer::layer`](crate::Observer::layer); it composes with `fmt`,
/// `EnvFilter` and per-layer filters like any other layer.
///
/// ```
/// use tracing_subscriber::{filter::LevelFilter, prelude::*};
///
/// let observer = tracing_observer::Observer::builder().build().unwrap();
/// let subscriber = tracing_subscriber::registry()
///     .with(observer.layer().with_filter(LevelFilter::INFO));
/// ```
#[derive(Clone)]
pub struct ObserverLayer {
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for ObserverLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverLayer")
            .field("enabled", &self.shared.is_some())
            .finish()
    }
}

impl ObserverLayer {
    pub(crate) fn new(shared: Option<Arc<Shared>>) -> Self {
        Self { shared }
    }

    fn active(&self) -> Option<&Shared> {
        self.shared.as_deref().filter(|s| s.is_accepting())
    }
}

/// The identity a span hands to its children and to links.
fn context_of(record: &SpanRecord) -> SpanContext {
    let cx = SpanContext::new(record.trace_id, record.span_id).with_trace_flags(record.trace_flags);
    match &record.trace_state {
        Some(state) => cx.with_trace_state(state),
        None => cx,
    }
}

/// The nearest ancestor this layer recorded (ancestors may be filtered or unrecorded).
fn recorded_parent<S>(span: &SpanRef<'_, S>) -> Option<(TraceId, SpanId, u8, Option<String>)>
where
    S: for<'a> LookupSpan<'a>,
{
    span.scope().skip(1).find_map(|ancestor| {
        let extensions = ancestor.extensions();
        let parent = extensions.get::<SpanRecord>()?;
        Some((
            parent.trace_id,
            parent.span_id,
            parent.trace_flags,
            parent.trace_state.clone(),
        ))
    })
}

impl<S> Layer<S> for ObserverLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        if self.shared.is_none() {
            tracing::dispatcher::with_default(dispatch, || {
                tracing::info!(
                    target: "tracing_observer",
                    "tracing-observer is disabled (OTEL_SDK_DISABLED=true): spans are not recorded"
                );
            });
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(shared) = self.active() else { return };
        let Some(span) = ctx.span(id) else { return };
        let now = Instant::now();
        let mut fields = capture_span_fields(|v| attrs.record(v), shared.rules());

        let (trace_id, parent_span_id, trace_flags, trace_state, parent_is_remote) =
            match fields.take_remote_parent() {
                Some(remote) => (
                    remote.trace_id(),
                    Some(remote.span_id()),
                    remote.trace_flags(),
                    remote.trace_state().map(str::to_owned),
                    true,
                ),
                None => match recorded_parent(&span) {
                    Some((trace_id, span_id, flags, state)) => {
                        (trace_id, Some(span_id), flags, state, false)
                    }
                    None => (TraceId::random(), None, SAMPLED, None, false),
                },
            };
        let mut record = SpanRecord {
            trace_id,
            span_id: SpanId::random(),
            parent_span_id,
            parent_is_remote,
            trace_flags,
            trace_state,
            metadata: attrs.metadata(),
            name: None,
            kind: Default::default(),
            status: Default::default(),
            status_description: None,
            thread_id: thread::current_id(),
            timing: Timing::new(now),
            attributes: Vec::new(),
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            dropped_links: 0,
            truncated_values: 0,
        };
        fields.apply(&mut record, &shared.limits, now);
        span.extensions_mut().replace(record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(shared) = self.active() else { return };
        let Some(span) = ctx.span(id) else { return };
        let fields = capture_span_fields(|v| values.record(v), shared.rules());
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            fields.apply(record, &shared.limits, Instant::now());
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(shared) = self.active() else { return };
        let (Some(span), Some(cause)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let Some(link) = cause.extensions().get::<SpanRecord>().map(context_of) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            record.push_link(link, &shared.limits);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.active().is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            record.timing.enter(Instant::now());
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.active().is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            record.timing.exit(Instant::now());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(shared) = self.active() else { return };
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let is_error = is_error_event(event);
        let limits = &shared.limits;
        let room = match span.extensions().get::<SpanRecord>() {
            None => return,
            Some(record) => {
                let cap = if is_error {
                    limits.max_events * 2
                } else {
                    limits.max_events
                };
                record.events.len() < cap
            }
        };
        if !room {
            let mut extensions = span.extensions_mut();
            if let Some(record) = extensions.get_mut::<SpanRecord>() {
                record.dropped_events += 1;
                if is_error {
                    record.mark_error(None);
                }
            }
            return;
        }
        // Format outside the span's lock: a field's Debug may itself emit events.
        let captured = capture_event(event, shared.rules(), Instant::now());
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            record.truncated_values += captured.truncated;
            if let Some(message) = &captured.error {
                record.mark_error(Some(message));
            }
            record.push_event(captured.record, is_error, limits);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(shared) = self.active() else { return };
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut record) = span.extensions_mut().remove::<SpanRecord>() else {
            return;
        };
        record.timing.close(Instant::now());
        shared.queue.push(Box::new(record));
    }
}
