//! Entry points for the crate's own benchmarks (`benches/spool.rs`, `benches/encode.rs`),
//! compiled only with the `bench-support` feature.
//!
//! **Not part of the API**: hidden from the documentation, without any stability
//! promise, and may change or go in any release. Benchmarks see only the public API,
//! while the spool, its replay and the encoder are internal; this module lets a
//! benchmark drive the very code the worker runs, without a worker thread around it.

use crate::config::DEFAULT_EXPORT_TIMEOUT;
use crate::delivery::{
    BreakerConfig, CircuitBreaker, Delivered, Delivery, DropReason, Replayed, RetryPolicy,
    EXPORT_BREAKER,
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

    /// Replays spooled batches as the worker does once the breaker lets it, one at a
    /// time (the worker keeps several in flight): oldest first, read and check, export
    /// as stored, acknowledge, delete the segments done with, until none is left or one is not delivered; returns how many
    /// were delivered.
    pub fn replay(&self) -> u64 {
        self.runtime.block_on(async {
            let mut delivered = 0;
            while self.delivery.can_replay() {
                if Rc::clone(&self.delivery).replay_one().await != Replayed::Done {
                    break;
                }
                delivered += 1;
            }
            delivered
        })
    }
}

/// One batch of spans recorded through the layer, and the two ways of encoding it:
/// the worker's direct encoder and the reference conversion into prost structs.
pub struct EncodeBench {
    #[allow(
        clippy::vec_box,
        reason = "records arrive boxed from the queue, and the encoder takes them so"
    )]
    records: Vec<Box<crate::record::SpanRecord>>,
    resource: crate::export::resource::ServiceResource,
    encoder: crate::export::encode::RequestEncoder,
    caches: crate::export::encode::reference::Caches,
}

impl std::fmt::Debug for EncodeBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeBench")
            .field("spans", &self.records.len())
            .finish_non_exhaustive()
    }
}

impl EncodeBench {
    /// Records `spans` spans with the default limits: `request` spans of 7 attributes
    /// (strings, integers, a float, a bool), every fourth one failed with an ERROR event.
    pub fn new(spans: usize) -> Self {
        use crate::layer::ObserverLayer;
        use crate::record::{policy::FieldPolicy, Limits};
        use crate::recorder::{QueueBounds, Recorder};
        use crate::sampling::{HeadSampler, OverheadMeter, SampledOutTable, Sampler, Sampling};
        use tracing_subscriber::prelude::*;

        crate::clock::start();
        let recorder = Arc::new(Recorder::new(
            QueueBounds {
                max_spans: spans.max(1),
                max_bytes: usize::MAX,
                batch_size: spans.max(1),
            },
            Limits {
                max_attributes: 128,
                max_event_attributes: 128,
                max_events: 128,
                max_links: 128,
                max_value_bytes: 4096,
                thread_cpu_time: false,
            },
            FieldPolicy::new(&[], None),
            Sampling {
                head: HeadSampler::new(&Sampler::AlwaysOn, &[]),
                table: SampledOutTable::new(),
                keep_errors: true,
                slow_span_threshold: None,
                overhead: OverheadMeter::new(None),
            },
            None,
            false,
        ));
        let subscriber = tracing_subscriber::registry().with(ObserverLayer::new(
            Some(Arc::clone(&recorder)),
            Arc::from([]),
        ));
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..spans as u64 {
                let _span = tracing::info_span!(
                    "POST /checkout",
                    http.request.method = "POST",
                    http.route = "/checkout",
                    http.response.status_code = 200,
                    order.id = i,
                    order.total = 99.5,
                    customer.tier = "gold",
                    cache.hit = i % 2 == 0,
                )
                .entered();
                if i % 4 == 0 {
                    tracing::error!(order.id = i, "payment declined");
                }
            }
        });
        let mut records = Vec::with_capacity(spans);
        while let Some(record) = recorder.queue.pop() {
            records.push(record);
        }
        let resource = crate::export::resource::ServiceResource::new("checkout", &[]);
        Self {
            encoder: crate::export::encode::RequestEncoder::new(&resource),
            resource,
            records,
            caches: crate::export::encode::reference::Caches::default(),
        }
    }

    /// Spans in the batch.
    pub fn spans(&self) -> usize {
        self.records.len()
    }

    /// Encodes the batch as the worker does; returns the request's size in bytes.
    pub fn direct(&mut self) -> usize {
        let clock = crate::export::resource::ClockAnchor::now();
        self.encoder.encode(&self.records, &clock).bytes().len()
    }

    /// Converts the batch into prost structs and encodes them with prost (the structs
    /// are dropped too, as a worker would); returns the request's size in bytes.
    pub fn prost(&mut self) -> usize {
        use prost::Message;
        let clock = crate::export::resource::ClockAnchor::now();
        let request = crate::export::encode::reference::request(
            &self.resource,
            &self.records,
            &clock,
            &mut self.caches,
        );
        request.encode_to_vec().len()
    }
}
