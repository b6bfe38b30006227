//! The worker loop: wait for a batch, a tick or a command; drain; export.
//!
//! Up to `max_concurrent_exports` requests are in flight at once, so the collector's
//! latency does not cap throughput. Shutdown drains the queue, waits for what is in
//! flight until its deadline, and counts what the deadline cut off as
//! `dropped.shutdown`.

use super::{Control, Shared};
use crate::config::BatchConfig;
use crate::error::{ExportError, ExportErrorKind};
use crate::export::convert::RequestBuilder;
use crate::export::SpanExporter;
use crate::record::SpanRecord;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

/// How often the overhead ratio is computed and the sampling factor adjusted.
const OVERHEAD_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// How one export ended.
struct Outcome {
    spans: usize,
    result: Result<(), ExportError>,
}

pub(super) struct Worker {
    shared: Arc<Shared>,
    exporter: Option<Box<dyn SpanExporter>>,
    requests: RequestBuilder,
    batch: BatchConfig,
    commands: UnboundedReceiver<Control>,
    #[allow(
        clippy::vec_box,
        reason = "records arrive boxed from the queue; unboxing would copy each"
    )]
    pending: Vec<Box<SpanRecord>>,
    in_flight: FuturesUnordered<BoxFuture<'static, Outcome>>,
    in_flight_spans: usize,
}

impl Worker {
    pub(super) fn new(
        shared: Arc<Shared>,
        exporter: Option<Box<dyn SpanExporter>>,
        requests: RequestBuilder,
        batch: BatchConfig,
        commands: UnboundedReceiver<Control>,
    ) -> Self {
        Self {
            shared,
            exporter,
            requests,
            pending: Vec::with_capacity(batch.max_export_batch_size),
            batch,
            commands,
            in_flight: FuturesUnordered::new(),
            in_flight_spans: 0,
        }
    }

    pub(super) async fn run(mut self) {
        let mut tick = tokio::time::interval(self.batch.scheduled_delay);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await;
        let mut window = tokio::time::interval(OVERHEAD_WINDOW);
        window.set_missed_tick_behavior(MissedTickBehavior::Delay);
        window.tick().await;
        loop {
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Control::Flush { reply }) => {
                        self.drain(None).await;
                        self.settle(None).await;
                        let _ = reply.send(());
                    }
                    Some(Control::Shutdown { deadline, reply }) => {
                        self.drain(Some(deadline)).await;
                        self.settle(Some(deadline)).await;
                        if let Some(exporter) = &self.exporter {
                            let _ = tokio::time::timeout_at(deadline.into(), exporter.shutdown()).await;
                        }
                        let _ = reply.send(());
                        return;
                    }
                    // The Observer is gone without a shutdown (it always sends one): stop.
                    None => return,
                },
                Some(outcome) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.record(outcome);
                }
                () = self.shared.queue.wait_for_batch() => self.export_full_batches().await,
                _ = window.tick() => self.shared.sampling.overhead.adjust(),
                _ = tick.tick() => {
                    self.drain(None).await;
                    let stats = self.shared.snapshot();
                    self.shared.diagnostics.check(&stats);
                }
            }
        }
    }

    /// Moves queued records into `pending`; returns whether a full batch is ready.
    fn fill(&mut self) -> bool {
        while self.pending.len() < self.batch.max_export_batch_size {
            match self.shared.queue.pop() {
                Some(record) => {
                    self.shared.stats.received(&record);
                    if record.parent_span_id.is_none() || record.parent_is_remote {
                        let took = record.timing.end - record.timing.start;
                        self.shared
                            .sampling
                            .overhead
                            .add_exported_root(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                    }
                    self.pending.push(record);
                }
                None => return false,
            }
        }
        true
    }

    /// Exports full batches only; a partial one waits for the next tick.
    async fn export_full_batches(&mut self) {
        while self.fill() {
            self.launch(None).await;
        }
    }

    /// Exports everything queued, in batches. Past `deadline` the rest is counted as dropped.
    async fn drain(&mut self, deadline: Option<Instant>) {
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
                    cut += 1;
                }
                self.shared.stats.cut_by_shutdown(cut);
                return;
            }
            self.launch(deadline).await;
            if !full {
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
        let Some(exporter) = &self.exporter else {
            self.shared.stats.no_exporter(count);
            self.pending.clear();
            return;
        };
        let request = self.requests.request(&self.pending);
        for record in self.pending.drain(..) {
            self.shared.recycle(record);
        }
        let export = exporter.export(request);
        let timeout = self.batch.export_timeout;
        self.in_flight_spans += count;
        self.in_flight.push(Box::pin(async move {
            let result = match tokio::time::timeout(timeout, export).await {
                Ok(result) => result,
                Err(_) => Err(ExportError::new(
                    ExportErrorKind::Timeout,
                    format!("export did not complete within {timeout:?}"),
                )),
            };
            Outcome {
                spans: count,
                result,
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

    fn record(&mut self, outcome: Outcome) {
        self.in_flight_spans -= outcome.spans;
        match outcome.result {
            Ok(()) => self.shared.stats.exported(outcome.spans),
            Err(error) => self.shared.stats.export_failed(outcome.spans, &error),
        }
    }
}
