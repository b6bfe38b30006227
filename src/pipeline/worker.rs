//! The worker loop: wait for a batch, a tick or a command; drain; export.
//!
//! Up to `max_concurrent_exports` requests are in flight at once, so the collector's
//! latency does not cap throughput. Shutdown drains the queue, waits for what is in
//! flight until its deadline, and counts what the deadline cut off as
//! `dropped.shutdown`.
//!
//! Each batch goes through [`Delivery`] (retry, circuit breaker, spool). Spooled
//! batches are replayed one at a time, oldest first, when nothing live is waiting
//! (the replay branch comes last in the biased `select!`) and the breaker is not open.
//!
//! Every record taken from the queue (and every summary of a sampled-out span) feeds
//! the span metrics; a housekeeping tick samples process resources and refreshes
//! the self-metrics. A panic while delivering a batch counts the batch as failed and
//! is then re-raised, for the supervisor to restart (or disable) the worker.

use super::{Control, Shared};
use crate::config::BatchConfig;
use crate::delivery::{Delivered, Delivery, DropReason};
use crate::error::{ExportError, ExportErrorKind};
use crate::export::convert::RequestBuilder;
use crate::export::metrics::MetricsExport;
use crate::metrics::span::{SpanMetrics, SpanMetricsConfig};
use crate::panic_hook::panic_message;
use crate::record::SpanRecord;
use crate::metrics::process::ProcessMetrics;
use crate::resources::ResourceMonitor;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

/// How often the overhead ratio is computed and the sampling factor adjusted.
const OVERHEAD_WINDOW: Duration = Duration::from_secs(1);

/// How one batch ended.
struct Outcome {
    spans: usize,
    delivered: Delivered,
    elapsed: Duration,
    /// The panic that ended the delivery, to re-raise once the batch is counted.
    panic: Option<Box<dyn Any + Send>>,
}

/// What the worker does besides exporting: span metrics, resource sampling and the
/// OTLP metrics export.
pub(super) struct Duties {
    span_metrics: SpanMetrics,
    resources: ProcessMetrics,
    interval: Duration,
    /// The OTLP metrics export and its interval, when on.
    metrics_export: Option<(MetricsExport, Duration)>,
}

impl Duties {
    pub(super) fn new(
        shared: &Shared,
        service_name: &str,
        span_metrics: SpanMetricsConfig,
        monitor: Box<dyn ResourceMonitor>,
        interval: Duration,
        metrics_export: Option<(MetricsExport, Duration)>,
    ) -> Self {
        Self {
            span_metrics: SpanMetrics::new(span_metrics, service_name, &shared.metrics),
            resources: ProcessMetrics::new(monitor),
            interval,
            metrics_export,
        }
    }
}

pub(super) struct Worker {
    shared: Arc<Shared>,
    delivery: Rc<Delivery>,
    /// Spool `fsync` and cleanup intervals, when there is a spool.
    upkeep: Option<(Duration, Duration)>,
    last_cleanup: Instant,
    replaying: FuturesUnordered<LocalBoxFuture<'static, bool>>,
    /// After a failed replay, the next waits until then.
    replay_after: Instant,
    replay_failures: u32,
    requests: RequestBuilder,
    batch: BatchConfig,
    commands: UnboundedReceiver<Control>,
    #[allow(
        clippy::vec_box,
        reason = "records arrive boxed from the queue; unboxing would copy each"
    )]
    pending: Vec<Box<SpanRecord>>,
    in_flight: FuturesUnordered<LocalBoxFuture<'static, Outcome>>,
    in_flight_spans: usize,
    /// Set once shutdown began: a delivery panic is then only counted, not re-raised,
    /// so that shutdown always answers.
    closing: bool,
    duties: Duties,
}

impl Worker {
    pub(super) fn new(
        shared: Arc<Shared>,
        delivery: Delivery,
        upkeep: Option<(Duration, Duration)>,
        requests: RequestBuilder,
        batch: BatchConfig,
        commands: UnboundedReceiver<Control>,
        duties: Duties,
    ) -> Self {
        Self {
            shared,
            delivery: Rc::new(delivery),
            upkeep,
            last_cleanup: Instant::now(),
            replaying: FuturesUnordered::new(),
            replay_after: Instant::now(),
            replay_failures: 0,
            requests,
            pending: Vec::with_capacity(batch.max_export_batch_size),
            batch,
            commands,
            in_flight: FuturesUnordered::new(),
            in_flight_spans: 0,
            closing: false,
            duties,
        }
    }

    /// The worker loop; returns after shutdown. The supervisor calls it again after a panic.
    pub(super) async fn run(&mut self) {
        let mut tick = tokio::time::interval(self.batch.scheduled_delay);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await;
        let mut window = tokio::time::interval(OVERHEAD_WINDOW);
        window.set_missed_tick_behavior(MissedTickBehavior::Delay);
        window.tick().await;
        let upkeep_every = self
            .upkeep
            .map_or(Duration::from_secs(3600), |(sync, _)| sync);
        let mut upkeep = tokio::time::interval(upkeep_every);
        upkeep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        upkeep.tick().await;
        let mut housekeeping = tokio::time::interval(self.duties.interval);
        housekeeping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first reading before anything else: process metrics exist from the start
        // (the loop serves commands first).
        housekeeping.tick().await;
        self.housekeeping();
        let metrics_every = self
            .duties
            .metrics_export
            .as_ref()
            .map_or(Duration::from_secs(3600), |(_, every)| *every);
        let mut metrics_export = tokio::time::interval(metrics_every);
        metrics_export.set_missed_tick_behavior(MissedTickBehavior::Delay);
        metrics_export.tick().await;
        loop {
            self.start_replay();
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Control::Flush { reply }) => {
                        self.drain(None).await;
                        self.settle(None).await;
                        let _ = reply.send(());
                    }
                    Some(Control::Shutdown { deadline, reply }) => {
                        self.closing = true;
                        self.delivery.set_deadline(deadline);
                        self.drain(Some(deadline)).await;
                        self.settle(Some(deadline)).await;
                        // After the spans, so that the last export counts all of them.
                        if let Some((export, _)) = &mut self.duties.metrics_export {
                            export.finish(&self.shared, deadline).await;
                        }
                        // A replay in flight may end before the deadline (the collector
                        // may have its batch already); else it is abandoned, and its
                        // batch stays in the spool.
                        let wait = self.delivery.time_left().unwrap_or_default();
                        let _ = tokio::time::timeout(wait, self.finish_replay()).await;
                        self.replaying.clear();
                        self.delivery.close();
                        let _ = tokio::time::timeout_at(deadline.into(), self.delivery.shutdown()).await;
                        let _ = reply.send(());
                        return;
                    }
                    // The Observer is gone without a shutdown (it always sends one): stop.
                    None => return,
                },
                Some(outcome) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.record(outcome);
                }
                // Cheap and once a second: before the batches, which may always be ready.
                // Sampled-out spans first: they carry their roots' host time.
                _ = window.tick() => {
                    self.observe_sampled_out();
                    self.shared.sampling.overhead.adjust();
                }
                () = self.shared.queue.wait_for_batch() => self.export_full_batches().await,
                _ = tick.tick() => {
                    self.drain(None).await;
                    let stats = self.shared.snapshot();
                    self.shared.diagnostics.check(&stats);
                }
                _ = upkeep.tick(), if self.upkeep.is_some() => self.maintain(),
                _ = housekeeping.tick() => self.housekeeping(),
                _ = metrics_export.tick(), if self.duties.metrics_export.is_some() => {
                    if let Some((export, _)) = &mut self.duties.metrics_export {
                        export.tick(&self.shared);
                    }
                }
                Some(delivered) = self.replaying.next(), if !self.replaying.is_empty() => {
                    self.replayed(delivered);
                }
            }
        }
    }

    /// Samples process resources and refreshes the self-metrics.
    fn housekeeping(&mut self) {
        self.observe_sampled_out();
        self.duties
            .resources
            .sample(Instant::now(), &self.shared.metrics);
        let metrics = &self.shared.pipeline_metrics;
        metrics.set_sampling_ratio(self.duties.span_metrics.sampling_ratio());
        self.shared.update_metrics();
        self.shared.metrics.upkeep();
    }

    /// Counts the spans head sampling dropped; their roots' durations are host time.
    fn observe_sampled_out(&mut self) {
        let (shared, duties) = (&self.shared, &mut self.duties);
        shared.sampled_out.harvest(
            |metadata, samples| {
                let span_metrics = &mut duties.span_metrics;
                span_metrics.observe_sampled_out(metadata, samples, &shared.metrics);
            },
            |root_ns| shared.sampling.overhead.add_host_time(root_ns),
        );
    }

    /// A record left the queue: count it, feed the overhead meter (roots) and the span metrics.
    fn receive(&mut self, record: &SpanRecord) {
        self.shared.stats.received(record);
        if record.parent_span_id.is_none() || record.parent_is_remote {
            let took = record.timing.duration_ns();
            self.shared.sampling.overhead.add_host_time(took);
        }
        self.duties
            .span_metrics
            .observe_record(record, &self.shared.metrics);
    }

    /// After the observer disabled itself: answer flush and shutdown at once, so the
    /// host is never held up; the queue's leftovers are counted at shutdown.
    pub(super) async fn run_disabled(&mut self) {
        while let Some(command) = self.commands.recv().await {
            match command {
                Control::Flush { reply } => {
                    let _ = reply.send(());
                }
                Control::Shutdown { reply, .. } => {
                    self.in_flight.clear();
                    self.replaying.clear();
                    self.shared
                        .stats
                        .cut_by_shutdown(self.in_flight_spans as u64);
                    self.in_flight_spans = 0;
                    self.delivery.close();
                    let _ = reply.send(());
                    return;
                }
            }
        }
    }

    /// Waits for the replay in flight, if any, and counts its outcome.
    async fn finish_replay(&mut self) {
        while let Some(delivered) = self.replaying.next().await {
            self.replayed(delivered);
        }
    }

    /// Starts replaying one spooled batch if nothing stands in the way.
    fn start_replay(&mut self) {
        if self.replaying.is_empty()
            && self.in_flight.len() < self.batch.max_concurrent_exports
            && Instant::now() >= self.replay_after
            && self.delivery.can_replay()
        {
            self.replaying
                .push(Box::pin(Rc::clone(&self.delivery).replay_one()));
        }
    }

    fn replayed(&mut self, delivered: bool) {
        if delivered {
            self.replay_failures = 0;
        } else {
            // Back off before the next try; the breaker decides when to really stop.
            self.replay_failures = (self.replay_failures + 1).min(6);
            self.replay_after = Instant::now() + Duration::from_millis(100 << self.replay_failures);
        }
    }

    fn maintain(&mut self) {
        let Some((_, cleanup_every)) = self.upkeep else {
            return;
        };
        let cleanup = self.last_cleanup.elapsed() >= cleanup_every;
        if cleanup {
            self.last_cleanup = Instant::now();
        }
        self.delivery.maintain(cleanup);
    }

    /// Moves queued records into `pending`; returns whether a full batch is ready.
    fn fill(&mut self) -> bool {
        self.observe_sampled_out();
        while self.pending.len() < self.batch.max_export_batch_size {
            match self.shared.queue.pop() {
                Some(record) => {
                    self.receive(&record);
                    self.pending.push(record);
                }
                None => return false,
            }
        }
        true
    }

    /// Exports full batches only; a partial one waits for the next tick.
    ///
    /// At most `max_concurrent_exports` batches per call: under a flood a full batch is
    /// always ready, and the select loop must come round to its timers and commands.
    async fn export_full_batches(&mut self) {
        for _ in 0..self.batch.max_concurrent_exports {
            if !self.fill() {
                return;
            }
            self.launch(None).await;
        }
    }

    /// Exports everything queued, in batches. Past `deadline` the rest is counted as dropped.
    ///
    /// Without a deadline (tick, flush) only what was queued on entry is drained, so a
    /// producer that outpaces the worker cannot keep it here forever.
    async fn drain(&mut self, deadline: Option<Instant>) {
        let mut left = self.shared.queue.len() + self.pending.len();
        loop {
            let full = self.fill();
            if self.pending.is_empty() {
                return;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let mut cut = self.pending.len() as u64;
                self.pending.clear();
                while let Some(record) = self.shared.queue.pop() {
                    self.shared.stats.received(&record);
                    self.duties
                        .span_metrics
                        .observe_record(&record, &self.shared.metrics);
                    cut += 1;
                }
                self.shared.stats.cut_by_shutdown(cut);
                return;
            }
            left = left.saturating_sub(self.pending.len());
            self.launch(deadline).await;
            if !full || (deadline.is_none() && left == 0) {
                return;
            }
        }
    }

    /// Waits for the exports in flight; past `deadline` they are abandoned and counted.
    async fn settle(&mut self, deadline: Option<Instant>) {
        while !self.in_flight.is_empty() {
            let next = self.in_flight.next();
            let outcome = match deadline {
                None => next.await,
                Some(d) => match tokio::time::timeout_at(d.into(), next).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        self.in_flight.clear();
                        self.shared
                            .stats
                            .cut_by_shutdown(self.in_flight_spans as u64);
                        self.in_flight_spans = 0;
                        return;
                    }
                },
            };
            if let Some(outcome) = outcome {
                self.record(outcome);
            }
        }
    }

    /// Starts exporting `pending`, first waiting for a slot when the limit is reached.
    async fn launch(&mut self, deadline: Option<Instant>) {
        let count = self.pending.len();
        let request = self.requests.request(&self.pending);
        for record in self.pending.drain(..) {
            self.shared.recycle(record);
        }
        // Yield once per batch, so that the runtime drives its timers under a flood.
        tokio::task::yield_now().await;
        let delivery = Rc::clone(&self.delivery);
        self.in_flight_spans += count;
        self.in_flight.push(Box::pin(async move {
            let started = Instant::now();
            let (delivered, panic) = match AssertUnwindSafe(delivery.deliver(request, count))
                .catch_unwind()
                .await
            {
                Ok(delivered) => (delivered, None),
                Err(panic) => (Delivered::Dropped(DropReason::ExportFailed), Some(panic)),
            };
            Outcome {
                spans: count,
                delivered,
                elapsed: started.elapsed(),
                panic,
            }
        }));
        while self.in_flight.len() >= self.batch.max_concurrent_exports {
            let next = self.in_flight.next();
            let outcome = match deadline {
                None => next.await,
                // At shutdown a slot is waited for only until the deadline; `settle` counts the rest.
                Some(d) => match tokio::time::timeout_at(d.into(), next).await {
                    Ok(outcome) => outcome,
                    Err(_) => return,
                },
            };
            match outcome {
                Some(outcome) => self.record(outcome),
                None => return,
            }
        }
    }

    /// Counts how a batch ended; re-raises a delivery panic for the supervisor
    /// (unless shutting down) once the batch is counted as failed.
    fn record(&mut self, outcome: Outcome) {
        self.in_flight_spans -= outcome.spans;
        self.shared
            .pipeline_metrics
            .export_took(outcome.elapsed.as_secs_f64());
        self.shared
            .stats
            .delivered(outcome.spans, outcome.delivered);
        if let Some(panic) = outcome.panic {
            let error = ExportError::new(
                ExportErrorKind::Other,
                format!("the exporter panicked: {}", panic_message(&*panic)),
            );
            self.shared.stats.attempt_failed(&error);
            if !self.closing {
                std::panic::resume_unwind(panic);
            }
        }
    }
}
