//! Entry points for the crate's own benchmarks (`benches/spool.rs`), compiled only with
//! the `bench-support` feature.
//!
//! **Not part of the API**: hidden from the documentation, without any stability
//! promise, and may change or go in any release. Benchmarks see only the public API,
//! while the spool and its replay are internal; this module lets a benchmark drive
//! the very code the worker runs, without a worker thread around it.

use crate::config::DEFAULT_EXPORT_TIMEOUT;
use crate::delivery::{
    BreakerConfig, CircuitBreaker, Delivered, Delivery, DropReason, RetryPolicy, EXPORT_BREAKER,
};
use crate::export::SpanExporter;
use crate::spool::segment::Kind;
use crate::spool::{
    Spool, SpoolConfig, DEFAULT_CLEANUP_INTERVAL, DEFAULT_MAX_BYTES, DEFAULT_RETENTION,
    DEFAULT_SYNC_INTERVAL,
};
use crate::stats::Stats;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

/// A spool with the default settings behind the worker's delivery state, replaying to
/// an exporter of the benchmark's choice.
#[derive(Debug)]
pub struct SpoolBench {
    delivery: Rc<Delivery>,
    runtime: tokio::runtime::Runtime,
}

impl SpoolBench {
    /// Opens (creating it if needed) and locks the spool at `dir`; replay sends to `exporter`.
    ///
    /// # Errors
    /// The directory cannot be created or read, or another process holds its lock.
    pub fn open(dir: &Path, exporter: impl SpanExporter) -> io::Result<Self> {
        let config = SpoolConfig {
            dir: dir.to_owned(),
            max_bytes: DEFAULT_MAX_BYTES,
            retention: DEFAULT_RETENTION,
            archive_dir: None,
            archive_compress: false,
            cleanup_interval: DEFAULT_CLEANUP_INTERVAL,
            sync_interval: DEFAULT_SYNC_INTERVAL,
        };
        let stats = Arc::new(Stats::default());
        let spool = Spool::open(config, Arc::clone(stats.spool()))?;
        let delivery = Delivery::new(
            Some(Box::new(exporter)),
            CircuitBreaker::new(EXPORT_BREAKER, BreakerConfig::default()),
            RetryPolicy::default(),
            DEFAULT_EXPORT_TIMEOUT,
            Some(spool),
            stats,
            None,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            delivery: Rc::new(delivery),
            runtime,
        })
    }

    /// Appends one encoded `ExportTraceServiceRequest` of `spans` spans (without an
    /// error span), as the worker does when its export failed; whether it was spooled.
    pub fn append(&self, encoded: &[u8], spans: usize) -> bool {
        let delivered =
            self.delivery
                .spool_bytes(encoded, spans, Kind::Normal, DropReason::ExportFailed);
        delivered == Delivered::Spooled
    }

    /// `fsync`s what was appended since the last sync: the worker's periodic upkeep.
    pub fn sync(&self) {
        self.delivery.sync_spool();
    }

    /// Replays spooled batches the way the worker does once the breaker lets it (oldest
    /// first, one at a time: read and check, decode, export, acknowledge, delete the
    /// segments done with) until none is left or one is not delivered; returns how many
    /// were delivered.
    pub fn replay(&self) -> u64 {
        self.runtime.block_on(async {
            let mut delivered = 0;
            while self.delivery.can_replay() {
                if !Rc::clone(&self.delivery).replay_one().await {
                    break;
                }
                delivered += 1;
            }
            delivered
        })
    }
}
