//! The worker loop: wait for a batch, a tick or a command; drain; export.

use super::{Control, Shared};
use crate::config::BatchConfig;
use crate::error::{ExportError, ExportErrorKind};
use crate::export::convert::RequestBuilder;
use crate::export::SpanExporter;
use crate::record::SpanRecord;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

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
}

impl Worker {
    pub(super) fn new(
        shared: Arc<Shared>,
        exporter: Option<Box<dyn SpanExporter>>,
        requests: RequestBuilder,
        batch: BatchConfig,
        commands: UnboundedReceiver<Control>,
    ) -> Self {
        let pending = Vec::with_capacity(batch.max_export_batch_size);
        Self {
            shared,
            exporter,
            requests,
            batch,
            commands,
            pending,
        }
    }

    pub(super) async fn run(mut self) {
        let mut tick = tokio::time::interval(self.batch.scheduled_delay);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Control::Flush { reply }) => {
                        self.drain(None).await;
                        let _ = reply.send(());
                    }
                    Some(Control::Shutdown { deadline, reply }) => {
                        self.drain(Some(deadline)).await;
                        if let Some(exporter) = self.exporter.as_mut() {
                            let _ = tokio::time::timeout_at(deadline.into(), exporter.shutdown()).await;
                        }
                        let _ = reply.send(());
                        return;
                    }
                    // The Observer is gone without a shutdown (it always sends one): stop.
                    None => return,
                },
                () = self.shared.queue.wait_for_batch() => self.export_full_batches().await,
                _ = tick.tick() => self.drain(None).await,
            }
        }
    }

    /// Moves queued records into `pending`; returns whether a full batch is ready.
    fn fill(&mut self) -> bool {
        while self.pending.len() < self.batch.max_export_batch_size {
            match self.shared.queue.pop() {
                Some(record) => {
                    self.shared.stats.received(&record);
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
            self.export_pending(None).await;
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
                let left = self.pending.len() as u64;
                self.pending.clear();
                let mut rest = 0;
                while let Some(record) = self.shared.queue.pop() {
                    self.shared.stats.received(&record);
                    rest += 1;
                }
                self.shared.stats.shutdown_dropped(left + rest);
                return;
            }
            self.export_pending(deadline).await;
            if !full {
                return;
            }
        }
    }

    async fn export_pending(&mut self, deadline: Option<Instant>) {
        let count = self.pending.len();
        let Some(exporter) = self.exporter.as_mut() else {
            self.shared.stats.no_exporter(count);
            self.pending.clear();
            return;
        };
        let request = self.requests.request(&self.pending);
        self.pending.clear();
        let limit = Instant::now() + self.batch.export_timeout;
        let until = deadline.map_or(limit, |d| d.min(limit));
        let budget = until.saturating_duration_since(Instant::now());
        let result = match tokio::time::timeout_at(until.into(), exporter.export(request)).await {
            Ok(result) => result,
            Err(_) => Err(ExportError::new(
                ExportErrorKind::Timeout,
                format!("export did not complete within {budget:?}"),
            )),
        };
        match result {
            Ok(()) => self.shared.stats.exported(count),
            Err(error) => self.shared.stats.export_failed(count, &error),
        }
    }
}
