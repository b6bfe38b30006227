//! The logs lane of the worker: log records batched, encoded and delivered beside
//! the spans, through a [`Delivery`] of their own (retry, their own breaker, their
//! own spool directory, replay).
//!
//! The worker's loop waits on [`LogLane::next_event`] next to its span sources and
//! hands each event back to the lane; flush and shutdown drain and settle the lane
//! with the spans, by the same deadline. A panic while delivering a log batch
//! counts the batch as failed; it does not restart the worker.

use super::replays::Replays;
use crate::config::BatchConfig;
use crate::delivery::{Delivered, Delivery, DropReason};
use crate::export::encode::logs::LogEncoder;
use crate::export::resource::ClockAnchor;
use crate::logs::LogCapture;
use crate::record::log::LogRecord;
use crate::recorder::Recorder;
use crate::stats::Stats;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one log batch ended: its size and what became of it.
type Outcome = (usize, Delivered);

/// What the lane needs the worker to do next.
pub(super) enum LogEvent {
    /// An export finished: count it.
    Finished(Outcome),
    /// A full batch may be waiting.
    BatchReady,
    /// A replay finished (it counted itself).
    Replayed,
}

pub(super) struct LogLane {
    recorder: Arc<Recorder>,
    encoder: LogEncoder,
    delivery: Rc<Delivery>,
    stats: Arc<Stats>,
    batch: BatchConfig,
    #[allow(
        clippy::vec_box,
        reason = "records arrive boxed from the queue; unboxing would copy each"
    )]
    pending: Vec<Box<LogRecord>>,
    in_flight: FuturesUnordered<LocalBoxFuture<'static, Outcome>>,
    in_flight_records: usize,
    replays: Replays,
}

impl LogLane {
    /// A lane for `recorder`'s log capture (which must be on).
    pub(super) fn new(
        recorder: Arc<Recorder>,
        encoder: LogEncoder,
        delivery: Delivery,
        stats: Arc<Stats>,
        batch: BatchConfig,
    ) -> Self {
        let delivery = Rc::new(delivery);
        Self {
            replays: Replays::new(Rc::clone(&delivery)),
            recorder,
            encoder,
            delivery,
            stats,
            pending: Vec::with_capacity(batch.max_export_batch_size),
            batch,
            in_flight: FuturesUnordered::new(),
            in_flight_records: 0,
        }
    }

    fn capture(&self) -> Option<&LogCapture> {
        self.recorder.logs.as_ref()
    }

    /// The next thing to do: an export finished, a batch filled, a replay ended.
    pub(super) async fn next_event(&mut self) -> LogEvent {
        let Some(capture) = self.recorder.logs.as_ref() else {
            return std::future::pending().await;
        };
        tokio::select! {
            biased;
            Some(outcome) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                LogEvent::Finished(outcome)
            }
            () = capture.queue.wait_for_batch() => LogEvent::BatchReady,
            Some(_) = self.replays.next(), if !self.replays.is_empty() => LogEvent::Replayed,
        }
    }

    /// Counts how a batch ended.
    pub(super) fn record(&mut self, (records, delivered): Outcome) {
        self.in_flight_records -= records;
        self.stats.delivered(records, delivered);
    }

    fn take(&mut self) -> Option<Box<LogRecord>> {
        let record = self.capture()?.queue.pop()?;
        self.stats.received_log(&record);
        Some(record)
    }

    /// Moves queued records into `pending`; returns whether a full batch is ready.
    fn fill(&mut self) -> bool {
        while self.pending.len() < self.batch.max_export_batch_size {
            match self.take() {
                Some(record) => self.pending.push(record),
                None => return false,
            }
        }
        true
    }

    /// Exports full batches only (at most `max_concurrent_exports` per call).
    pub(super) async fn export_full_batches(&mut self) {
        for _ in 0..self.batch.max_concurrent_exports {
            if !self.fill() {
                return;
            }
            self.launch(None).await;
        }
    }

    /// Exports what was queued on entry (everything by `deadline`, when given: past
    /// it the rest is counted as cut by shutdown).
    pub(super) async fn drain(&mut self, deadline: Option<Instant>) {
        let mut left = self.capture().map_or(0, |c| c.queue.len()) + self.pending.len();
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
                self.stats.cut_by_shutdown(cut);
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
    pub(super) async fn settle(&mut self, deadline: Option<Instant>) {
        loop {
            let next = self.in_flight.next();
            let finished = match deadline {
                None => next.await,
                Some(d) => match tokio::time::timeout_at(d.into(), next).await {
                    Ok(finished) => finished,
                    Err(_) => {
                        self.abandon_in_flight();
                        return;
                    }
                },
            };
            match finished {
                Some(outcome) => self.record(outcome),
                None => return,
            }
        }
    }

    fn abandon_in_flight(&mut self) {
        self.in_flight.clear();
        (self.stats).cut_by_shutdown(self.in_flight_records as u64);
        self.in_flight_records = 0;
    }

    /// Starts exporting `pending`, first waiting for a slot when the limit is reached.
    async fn launch(&mut self, deadline: Option<Instant>) {
        let request = self.encoder.encode(&self.pending, &ClockAnchor::now());
        let count = request.spans();
        if let Some(capture) = self.recorder.logs.as_ref() {
            for record in self.pending.drain(..) {
                capture.recycle(record);
            }
        }
        self.pending.clear();
        tokio::task::yield_now().await;
        let delivery = Rc::clone(&self.delivery);
        self.in_flight_records += count;
        self.in_flight.push(Box::pin(async move {
            let delivered = AssertUnwindSafe(delivery.deliver(request))
                .catch_unwind()
                .await
                .unwrap_or(Delivered::Dropped(DropReason::ExportFailed));
            (count, delivered)
        }));
        while self.in_flight.len() >= self.batch.max_concurrent_exports {
            let next = self.in_flight.next();
            let finished = match deadline {
                None => next.await,
                Some(d) => tokio::time::timeout_at(d.into(), next).await.ok().flatten(),
            };
            match finished {
                Some(outcome) => self.record(outcome),
                None => return,
            }
        }
    }

    /// Starts replaying spooled log batches in the export slots live ones leave free.
    pub(super) fn start_replay(&mut self) {
        (self.replays).start(self.in_flight.len(), self.batch.max_concurrent_exports);
    }

    /// Shutdown: from now on, retries stop in time to spool before `deadline`.
    pub(super) fn set_deadline(&self, deadline: Instant) {
        self.delivery.set_deadline(deadline);
    }

    /// At shutdown, after the live batches: replays spooled batches until one is not
    /// delivered or the deadline comes, then closes the spool and the exporter.
    pub(super) async fn finish(&mut self, deadline: Instant) {
        let wait = self.delivery.time_left().unwrap_or_default();
        let (live, slots) = (self.in_flight.len(), self.batch.max_concurrent_exports);
        let _ = tokio::time::timeout(wait, self.replays.until_refused(live, slots)).await;
        self.replays.clear();
        self.delivery.close();
        let _ = tokio::time::timeout_at(deadline.into(), self.delivery.shutdown()).await;
    }

    /// After the observer disabled itself: drop what is in flight (counted) and
    /// close the spool.
    pub(super) fn abandon(&mut self) {
        self.abandon_in_flight();
        self.replays.clear();
        self.delivery.close();
    }

    /// `fsync`s and cleans the logs spool (with the span spool's duties).
    pub(super) fn sync_spool(&self) {
        self.delivery.sync_spool();
    }

    pub(super) fn clean_spool(&self) {
        self.delivery.clean_spool();
    }

    /// The partial batch's interval.
    pub(super) fn scheduled_delay(&self) -> Duration {
        self.batch.scheduled_delay
    }
}
