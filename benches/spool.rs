//! Disk spool throughput: appending batches, and replaying them.
//!
//! It drives the spool through the library's `bench-support` feature:
//! `cargo bench --features bench-support --bench spool`.
//!
//! The batches are real ones: spans recorded through the observer's layer (an HTTP
//! request span with three attributes, a database child span with two, a pricing
//! child span, an ERROR event in one request in four), batched by its worker into
//! requests of [`BATCH_SPANS`] spans and captured by an [`InMemoryExporter`], then
//! encoded once with `prost`, as the worker encodes a batch before it exports or
//! spools it. Every benchmark iteration is one batch; criterion reports batches/s
//! (elements) and bytes/s (the mean encoded batch size).
//!
//! Benchmarks (group `spool`), on spools with the default settings in directories
//! under `CARGO_TARGET_TMPDIR` (on the disk the build runs on):
//! - `append`: appends without the periodic `fsync`: the data goes to the page cache
//!   (the cost each spooled batch adds to the worker between two of its `fsync`s),
//!   except that a segment sealed when full (64 MiB) is `fsync`ed, as in the worker;
//! - `append_synced`: the same with the worker's periodic `fsync` timed in, one per
//!   `DEFAULT_SYNC_INTERVAL` (1 s) of appending time;
//! - `replay`: a fresh spool filled (untimed) with the iteration count's batches and
//!   synced, then replayed the way the worker replays once its breaker lets it:
//!   oldest batch read and checked, decoded, exported, acknowledged (ledger written),
//!   segment deleted when done. The exporter ([`InMemoryExporter::counting`])
//!   acknowledges at once, so this is the spool's side of replay, not a network's.
//!   The segments were just written, so they are read from the page cache.
//!
//! The appending benchmarks keep one spool across criterion's samples, so that
//! segments fill and rotate as in a long run. No spool takes more than half its
//! 1 GiB budget, so nothing is evicted: a full one is `fsync`ed (timed: the `fsync`
//! its open segment would get next) and replaced by a fresh one (untimed); replay
//! measures larger iteration counts in parts, each on a fresh spool.
//!
//! One line starting with `spool-batches:` is printed on stderr (batch spans, mean
//! encoded bytes); `scripts/bench` reads it, and criterion's samples, into
//! BENCHMARKS.md. Criterion times come from `BENCH_WARMUP_MS`, `BENCH_MEASURE_MS` and
//! `BENCH_SAMPLES` (defaults 1000, 3000, 30).

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing_observer::bench_support::SpoolBench;
use tracing_observer::spool::{DEFAULT_MAX_BYTES, DEFAULT_SYNC_INTERVAL};
use tracing_observer::{export::InMemoryExporter, Observer};
use tracing_subscriber::layer::SubscriberExt as _;

/// Spans per batch: the default `max_export_batch_size`.
const BATCH_SPANS: usize = 512;
/// Distinct batches built; the benchmarks cycle through them.
const BATCHES: usize = 8;

/// Encoded batches of [`BATCH_SPANS`] spans each, recorded through the observer.
fn batches() -> Vec<Vec<u8>> {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("checkout")
        .spool(false)
        .max_export_batch_size(BATCH_SPANS)
        // Only full batches: the worker's timer never fires during the run.
        .scheduled_delay(Duration::from_secs(3600))
        .exporter(exporter.clone())
        .build()
        .expect("the observer builds");
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        // Three spans per request; one more request fills the last batch.
        for order in 0..(BATCHES * BATCH_SPANS / 3 + 1) as u64 {
            let _request = tracing::info_span!(
                "POST /checkout",
                http.request.method = "POST",
                http.route = "/checkout",
                order
            )
            .entered();
            {
                let _load =
                    tracing::info_span!("load_cart", db.system = "postgresql", rows = 12).entered();
                if order.is_multiple_of(4) {
                    tracing::error!(order, "payment declined");
                }
            }
            drop(tracing::info_span!("price_cart").entered());
        }
    });
    observer.shutdown(Duration::from_secs(60));
    let full: Vec<Vec<u8>> = exporter
        .requests()
        .iter()
        .filter(|r| {
            r.resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum::<usize>()
                == BATCH_SPANS
        })
        .map(Message::encode_to_vec)
        .collect();
    assert_eq!(full.len(), BATCHES, "{BATCHES} full batches expected");
    full
}

/// A fresh spool directory.
fn fresh_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bench-spool-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// An open spool in a directory of its own, deleted on drop.
struct Scratch {
    spool: Option<SpoolBench>,
    dir: PathBuf,
    /// Batches appended to it.
    held: u64,
}

impl Scratch {
    fn open() -> Self {
        let dir = fresh_dir();
        let spool = SpoolBench::open(&dir, InMemoryExporter::counting()).expect("the spool opens");
        Self {
            spool: Some(spool),
            dir,
            held: 0,
        }
    }

    fn spool(&self) -> &SpoolBench {
        self.spool.as_ref().expect("open until dropped")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.spool.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Appends batches to one spool across criterion's samples, so that its segments
/// fill, rotate and are `fsync`ed as in a long run; the spool is replaced by a fresh
/// one (untimed) when it holds `per_spool` batches.
struct Appender<'a> {
    batches: &'a [Vec<u8>],
    per_spool: u64,
    /// `fsync` after this much appending time, as the worker's upkeep tick does.
    sync_every: Option<Duration>,
    scratch: Scratch,
    /// Appending time since the last `fsync`.
    unsynced: Duration,
}

impl<'a> Appender<'a> {
    fn new(batches: &'a [Vec<u8>], per_spool: u64, sync_every: Option<Duration>) -> Self {
        Self {
            batches,
            per_spool,
            sync_every,
            scratch: Scratch::open(),
            unsynced: Duration::ZERO,
        }
    }

    /// Appends `n` batches; returns the time they took, periodic `fsync`s included.
    fn append(&mut self, n: u64) -> Duration {
        let mut took = Duration::ZERO;
        for _ in 0..n {
            if self.scratch.held == self.per_spool {
                // Timed: the `fsync` the open segment would get when sealed, or on the next tick.
                let started = Instant::now();
                self.scratch.spool().sync();
                took += started.elapsed();
                self.unsynced = Duration::ZERO;
                self.scratch = Scratch::open();
            }
            let batch = &self.batches[self.scratch.held as usize % self.batches.len()];
            let started = Instant::now();
            let spooled = self.scratch.spool().append(batch, BATCH_SPANS);
            if let Some(every) = self.sync_every {
                if self.unsynced + started.elapsed() >= every {
                    self.scratch.spool().sync();
                    self.unsynced = Duration::ZERO;
                } else {
                    self.unsynced += started.elapsed();
                }
            }
            took += started.elapsed();
            assert!(spooled, "every batch is spooled");
            self.scratch.held += 1;
        }
        took
    }
}

/// Fills a fresh spool with `n` batches and `fsync`s it (untimed), then replays them
/// all; returns the time replay took.
fn replay(batches: &[Vec<u8>], n: u64) -> Duration {
    let scratch = Scratch::open();
    for i in 0..n as usize {
        let spooled = scratch
            .spool()
            .append(&batches[i % batches.len()], BATCH_SPANS);
        assert!(spooled, "every batch is spooled");
    }
    scratch.spool().sync();
    let started = Instant::now();
    let replayed = scratch.spool().replay();
    let took = started.elapsed();
    assert_eq!(replayed, n, "every spooled batch is replayed");
    took
}

fn spool(c: &mut Criterion) {
    let batches = batches();
    let bytes = batches.iter().map(Vec::len).sum::<usize>() / batches.len();
    eprintln!("spool-batches: spans={BATCH_SPANS} mean_bytes={bytes} distinct={BATCHES}");
    // Half the spool's budget: nothing is evicted.
    let per_spool = (DEFAULT_MAX_BYTES / 2 / bytes as u64).max(1);
    let mut group = c.benchmark_group("spool");
    group.throughput(Throughput::ElementsAndBytes {
        elements: 1,
        bytes: bytes as u64,
    });
    let mut appender = Appender::new(&batches, per_spool, None);
    group.bench_function("append", |b| b.iter_custom(|iters| appender.append(iters)));
    drop(appender);
    let mut appender = Appender::new(&batches, per_spool, Some(DEFAULT_SYNC_INTERVAL));
    group.bench_function("append_synced", |b| {
        b.iter_custom(|iters| appender.append(iters))
    });
    drop(appender);
    group.bench_function("replay", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(per_spool);
                took += replay(&batches, n);
                left -= n;
            }
            took
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = spool
}
criterion_main!(benches);
