//! The worker loop: a command, a finished export, a due duty, a full batch or a
//! replayed one; each handled, then round again.
//!
//! Up to `max_concurrent_exports` requests are in flight at once, so the collector's
//! latency does not cap throughput. Shutdown drains the queue, waits for what is in
//! flight until its deadline (delivery spools an export still under way just before
//! it), and counts what the deadline cut off as `dropped.shutdown`.
//!
//! Each batch goes through [`Delivery`] (retry, circuit breaker, spool). Spooled
//! batches are replayed oldest first in the export slots live batches leave free (the
//! replay branch comes last in the biased `select!`); a replay waits for the breaker
//! itself.
//! At shutdown, once the live batches are settled, spooled batches are replayed until
//! the deadline while the collector takes them.
//!
//! Every record taken from the queue (and every tally of sampled-out spans) feeds
//! the span metrics. Timed work — the partial batch, the overhead window, process
//! resources, the spool's `fsync` and cleanup, the OTLP metrics push — is a
//! [`Duty`] with its own interval. A panic while delivering a batch counts the batch
//! as failed and is then re-raised, for the supervisor to restart (or disable) the
//! worker.

use super::duties::{Duty, Schedule};
use super::logs::{LogEvent, LogLane};
use super::replays::Replays;
use super::status::Status;
use super::Control;
use crate::config::BatchConfig;
use crate::delivery::{Delivered, Delivery, DropReason};
use crate::error::{ExportError, ExportErrorKind};
use crate::export::encode::RequestEncoder;
use crate::export::resource::ClockAnchor;
use crate::metrics::process::ProcessMetrics;
use crate::metrics::push::MetricsPush;
use crate::metrics::span::SpanMetrics;
use crate::panic_hook::panic_message;
use crate::record::SpanRecord;
use crate::recorder::Recorder;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

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

/// What waiting for the next export to finish came to.
enum Waited {
    Finished(Outcome),
    /// Nothing is in flight.
    Idle,
    DeadlinePassed,
}

/// The worker's parts besides delivery, as the pipeline hands them over.
pub(super) struct Parts {
    pub(super) status: Arc<Status>,
    pub(super) requests: RequestEncoder,
    pub(super) batch: BatchConfig,
    pub(super) commands: UnboundedReceiver<Control>,
    pub(super) span_metrics: SpanMetrics,
    pub(super) process_metrics: ProcessMetrics,
    pub(super) resource_interval: Duration,
    /// The spool's `fsync` and cleanup intervals, when there is a spool.
    pub(super) spool_upkeep: Option<(Duration, Duration)>,
    /// The OTLP metrics push and its interval, when on.
    pub(super) metrics_push: Option<(MetricsPush, Duration)>,
    /// The logs lane, when the logs pipeline is on.
    pub(super) logs: Option<LogLane>,
}

pub(super) struct Worker {
    status: Arc<Status>,
    recorder: Arc<Recorder>,
    delivery: Rc<Delivery>,
    replays: Replays,
    requests: RequestEncoder,
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
    span_metrics: SpanMetrics,
    process_metrics: ProcessMetrics,
    metrics_push: Option<MetricsPush>,
    logs: Option<LogLane>,
    /// The duties and their intervals; a new schedule starts with each run.
    duties: Vec<(Duty, Duration)>,
}

impl Worker {
    pub(super) fn new(parts: Parts, delivery: Delivery) -> Self {
        let delivery = Rc::new(delivery);
        let mut duties = vec![
            (Duty::OverheadWindow, OVERHEAD_WINDOW),
            (Duty::ExportPartial, parts.batch.scheduled_delay),
            (Duty::Housekeeping, parts.resource_interval),
        ];
        if let Some((sync, cleanup)) = parts.spool_upkeep {
            duties.extend([(Duty::SpoolSync, sync), (Duty::SpoolCleanup, cleanup)]);
        }
        let metrics_push = parts.metrics_push.map(|(push, every)| {
            duties.push((Duty::MetricsPush, every));
            push
        });
        if let Some(logs) = &parts.logs {
            duties.push((Duty::ExportPartialLogs, logs.scheduled_delay()));
        }
        Self {
            recorder: Arc::clone(&parts.status.recorder),
            status: parts.status,
            replays: Replays::new(Rc::clone(&delivery)),
            delivery,
            requests: parts.requests,
            pending: Vec::with_capacity(parts.batch.max_export_batch_size),
            batch: parts.batch,
            commands: parts.commands,
            in_flight: FuturesUnordered::new(),
            in_flight_spans: 0,
            closing: false,
            span_metrics: parts.span_metrics,
            process_metrics: parts.process_metrics,
            metrics_push,
            logs: parts.logs,
            duties,
        }
    }

    /// The worker loop; returns after shutdown. The supervisor calls it again after a panic.
    pub(super) async fn run(&mut self) {
        let mut schedule = Schedule::new(self.duties.iter().copied(), Instant::now());
        let mut due = Vec::with_capacity(self.duties.len());
        // The first reading before anything else: process metrics exist from the start
        // (the loop serves commands first).
        self.housekeeping();
        loop {
            self.start_replay();
            if let Some(logs) = &mut self.logs {
                logs.start_replay();
            }
            let next_duty = schedule.next_due();
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Control::Flush { reply }) => {
                        self.drain(None).await;
                        if let Some(logs) = &mut self.logs {
                            logs.drain(None).await;
                            logs.settle(None).await;
                        }
                        self.settle(None).await;
                        let _ = reply.send(());
                    }
                    Some(Control::Shutdown { deadline, reply }) => {
                        self.shut_down(deadline).await;
                        let _ = reply.send(());
                        return;
                    }
                    // The Observer is gone without a shutdown (it always sends one): stop.
                    None => return,
                },
                Some(outcome) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.record(outcome);
                }
                // Before the batches: under a flood a full batch is always ready, and the
                // duties (the partial batch, fsync, metrics) must still come round.
                () = sleep_until(next_duty), if next_duty.is_some() => {
                    schedule.take_due(Instant::now(), &mut due);
                    for &duty in &due {
                        self.perform(duty).await;
                    }
                }
                () = self.recorder.queue.wait_for_batch() => self.export_full_batches().await,
                event = next_log_event(&mut self.logs) => self.handle_logs(event).await,
                Some(_) = self.replays.next(), if !self.replays.is_empty() => {}
            }
        }
    }

    async fn handle_logs(&mut self, event: LogEvent) {
        let Some(logs) = &mut self.logs else { return };
        match event {
            LogEvent::Finished(outcome) => logs.record(outcome),
            LogEvent::BatchReady => logs.export_full_batches().await,
            LogEvent::Replayed => {}
        }
    }

    async fn perform(&mut self, duty: Duty) {
        match duty {
            // Sampled-out spans first: they carry their roots' host time.
            Duty::OverheadWindow => {
                self.observe_sampled_out();
                self.recorder.sampling.overhead.adjust();
            }
            Duty::ExportPartial => {
                self.drain(None).await;
                self.recorder.diagnostics.check(&self.status.snapshot());
            }
            Duty::ExportPartialLogs => {
                if let Some(logs) = &mut self.logs {
                    logs.drain(None).await;
                }
            }
            Duty::Housekeeping => self.housekeeping(),
            Duty::SpoolSync => {
                self.delivery.sync_spool();
                if let Some(logs) = &self.logs {
                    logs.sync_spool();
                }
            }
            Duty::SpoolCleanup => {
                self.delivery.clean_spool();
                if let Some(logs) = &self.logs {
                    logs.clean_spool();
                }
            }
            Duty::MetricsPush => {
                if let Some(push) = &mut self.metrics_push {
                    push.tick(&self.status);
                }
            }
        }
    }

    /// Drains, waits for the exports in flight and a replay under way, and closes
    /// delivery, all by `deadline`.
    async fn shut_down(&mut self, deadline: Instant) {
        self.closing = true;
        self.delivery.set_deadline(deadline);
        if let Some(logs) = &self.logs {
            logs.set_deadline(deadline);
        }
        // Spans and logs side by side: a log export that hangs takes no time from the spans.
        let mut logs = self.logs.take();
        let settle_logs = async {
            if let Some(logs) = &mut logs {
                logs.drain(Some(deadline)).await;
                logs.settle(Some(deadline)).await;
            }
        };
        let settle_spans = async {
            self.drain(Some(deadline)).await;
            self.settle(Some(deadline)).await;
        };
        tokio::join!(settle_spans, settle_logs);
        self.logs = logs;
        // After the spans, so that the last export counts all of them.
        if let Some(push) = &mut self.metrics_push {
            push.finish(&self.status, deadline).await;
        }
        // Spooled batches go while the collector takes them; a replay cut off by the
        // deadline is abandoned, and its batch stays in the spool.
        let wait = self.delivery.time_left().unwrap_or_default();
        let mut logs = self.logs.take();
        let finish_logs = async {
            if let Some(logs) = &mut logs {
                logs.finish(deadline).await;
            }
        };
        let finish_spans = async {
            let _ = tokio::time::timeout(wait, self.replay_until_refused()).await;
            self.replays.clear();
            self.delivery.close();
            let _ = tokio::time::timeout_at(deadline.into(), self.delivery.shutdown()).await;
        };
        tokio::join!(finish_spans, finish_logs);
        self.logs = logs;
    }

    /// Samples process resources and refreshes the self-metrics.
    fn housekeeping(&mut self) {
        self.observe_sampled_out();
        let metrics = &self.status.metrics;
        self.process_metrics.sample(Instant::now(), metrics);
        let pipeline_metrics = &self.status.pipeline_metrics;
        pipeline_metrics.set_sampling_ratio(self.span_metrics.sampling_ratio());
        self.status.update_metrics();
        metrics.upkeep();
    }

    /// Counts the spans head sampling dropped (their roots' durations are host time)
    /// and the metric events handed over, both from the host's threads.
    fn observe_sampled_out(&mut self) {
        self.status.observe_events();
        let (recorder, metrics) = (&self.recorder, &self.status.metrics);
        let span_metrics = &mut self.span_metrics;
        recorder.sampled_out.harvest(
            |metadata, samples| span_metrics.observe_sampled_out(metadata, samples, metrics),
            |root_ns| recorder.sampling.overhead.add_host_time(root_ns),
        );
    }

    /// The next record from the queue, counted, fed to the overhead meter (roots) and
    /// to the span metrics: the one way a record leaves the queue.
    fn take(&mut self) -> Option<Box<SpanRecord>> {
        let record = self.recorder.queue.pop()?;
        self.status.stats.received(&record);
        if record.parent_span_id.is_none() || record.parent_is_remote {
            let took = record.timing.duration_ns();
            self.recorder.sampling.overhead.add_host_time(took);
        }
        self.span_metrics
            .observe_record(&record, &self.status.metrics);
        Some(record)
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
                    self.abandon_in_flight();
                    self.replays.clear();
                    self.delivery.close();
                    if let Some(logs) = &mut self.logs {
                        logs.abandon();
                    }
                    let _ = reply.send(());
                    return;
                }
            }
        }
    }

    /// At shutdown, once the live batches are settled: replays until refused.
    async fn replay_until_refused(&mut self) {
        let (live, slots) = (self.in_flight.len(), self.batch.max_concurrent_exports);
        self.replays.until_refused(live, slots).await;
    }

    /// Starts replaying spooled batches in the export slots live batches leave free.
    fn start_replay(&mut self) {
        (self.replays).start(self.in_flight.len(), self.batch.max_concurrent_exports);
    }

    /// Moves queued records into `pending`; returns whether a full batch is ready.
    fn fill(&mut self) -> bool {
        self.observe_sampled_out();
        while self.pending.len() < self.batch.max_export_batch_size {
            match self.take() {
                Some(record) => self.pending.push(record),
                None => return false,
            }
        }
        true
    }

    /// Exports full batches only; a partial one waits for its duty.
    ///
    /// At most `max_concurrent_exports` batches per call: under a flood a full batch is
    /// always ready, and the select loop must come round to its duties and commands.
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
    /// Without a deadline (duty, flush) only what was queued on entry is drained, so a
    /// producer that outpaces the worker cannot keep it here forever.
    async fn drain(&mut self, deadline: Option<Instant>) {
        let mut left = self.recorder.queue.len() + self.pending.len();
        loop {
            let full = self.fill();
            if self.pending.is_empty() {
                return;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let mut cut = self.pending.len() as u64;
                self.pending.clear();
                while self.take().is_some() {
                    cut += 1;
                }
                self.status.stats.cut_by_shutdown(cut);
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
        loop {
            match self.next_finished(deadline).await {
                Waited::Finished(outcome) => self.record(outcome),
                Waited::Idle => return,
                Waited::DeadlinePassed => {
                    self.abandon_in_flight();
                    return;
                }
            }
        }
    }

    /// The next export in flight to finish, waited for at most until `deadline`.
    async fn next_finished(&mut self, deadline: Option<Instant>) -> Waited {
        let next = self.in_flight.next();
        let finished = match deadline {
            None => next.await,
            Some(d) => match tokio::time::timeout_at(d.into(), next).await {
                Ok(finished) => finished,
                Err(_) => return Waited::DeadlinePassed,
            },
        };
        finished.map_or(Waited::Idle, Waited::Finished)
    }

    /// Gives up on the exports in flight, counting their spans as cut by shutdown.
    fn abandon_in_flight(&mut self) {
        self.in_flight.clear();
        self.status
            .stats
            .cut_by_shutdown(self.in_flight_spans as u64);
        self.in_flight_spans = 0;
    }

    /// Starts exporting `pending`, first waiting for a slot when the limit is reached.
    async fn launch(&mut self, deadline: Option<Instant>) {
        let request = self.requests.encode(&self.pending, &ClockAnchor::now());
        let count = request.spans();
        for record in self.pending.drain(..) {
            self.recorder.recycle(record);
        }
        // Yield once per batch, so that the runtime drives its timers under a flood.
        tokio::task::yield_now().await;
        let delivery = Rc::clone(&self.delivery);
        self.in_flight_spans += count;
        self.in_flight.push(Box::pin(async move {
            let started = Instant::now();
            let (delivered, panic) = match AssertUnwindSafe(delivery.deliver(request))
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
        // At shutdown a slot is waited for only until the deadline; `settle` counts the rest.
        while self.in_flight.len() >= self.batch.max_concurrent_exports {
            match self.next_finished(deadline).await {
                Waited::Finished(outcome) => self.record(outcome),
                Waited::Idle | Waited::DeadlinePassed => return,
            }
        }
    }

    /// Counts how a batch ended; re-raises a delivery panic for the supervisor
    /// (unless shutting down) once the batch is counted as failed.
    fn record(&mut self, outcome: Outcome) {
        self.in_flight_spans -= outcome.spans;
        self.status
            .pipeline_metrics
            .export_took(outcome.elapsed.as_secs_f64());
        self.status
            .stats
            .delivered(outcome.spans, outcome.delivered);
        if let Some(panic) = outcome.panic {
            let error = ExportError::new(
                ExportErrorKind::Other,
                format!("the exporter panicked: {}", panic_message(&*panic)),
            );
            self.status.stats.attempt_failed(&error);
            if !self.closing {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// The logs lane's next event; never, without a logs lane.
async fn next_log_event(logs: &mut Option<LogLane>) -> LogEvent {
    match logs {
        Some(logs) => logs.next_event().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at` (forever without it: the caller disables the branch then).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
