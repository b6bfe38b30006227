//! Delivery: what happens to a batch between the worker and the wire.
//!
//! ```text
//! batch ─► breaker open? ──yes──────────────────────────────► spool
//!            │ no                                              ▲
//!            ▼                                                 │
//!          export (timeout) ─ok─► Exported                     │
//!            │ error                                           │
//!            ├─ not retryable (rejected) ─► spool, "rejected" ─┤
//!            └─ retryable ─► backoff / Retry-After ─► again, ──┘ until max elapsed,
//!                                                     the breaker opens or shutdown nears
//! ```
//!
//! With no spool (`OBSERVER_SPOOL=off`) what would be spooled is dropped and counted.
//! Replay of spooled batches (oldest first, one at a time, after live traffic) is
//! driven by the worker through [`Delivery::replay_one`].

mod breaker;
mod registry;
mod retry;

pub use breaker::{
    BreakerConfig, BreakerError, BreakerSnapshot, BreakerState, CircuitBreaker, Permit,
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_OPEN_TIMEOUT, DEFAULT_WINDOW,
};
pub use registry::{breakers, BreakerRegistry};
pub use retry::{
    RetryPolicy, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_ELAPSED_TIME,
};

use crate::error::{ExportError, ExportErrorKind};
use crate::export::{EncodedRequest, SpanExporter};
use crate::spool::segment::Kind;
use crate::spool::{AppendError, Replay, Spool};
use crate::stats::Stats;
pub(crate) use crate::stats::{Delivered, DropReason};

use retry::{classify, RetryClass};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The start of each observer's export breaker name: `otlp-export:<service.name>`, so
/// that two observers in one process are told apart (see [`Observer::export_breaker`]).
///
/// ```
/// assert_eq!(tracing_observer::breaker::EXPORT_BREAKER, "otlp-export");
/// ```
///
/// [`Observer::export_breaker`]: crate::Observer::export_breaker
pub const EXPORT_BREAKER: &str = "otlp-export";

/// Retry, circuit breaker and spool settings, resolved.
#[derive(Clone, Debug)]
pub(crate) struct DeliveryConfig {
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: BreakerConfig,
    pub(crate) spool: Option<crate::spool::SpoolConfig>,
}

/// Time kept before the shutdown deadline to write to the spool.
const SPOOL_MARGIN: Duration = Duration::from_millis(50);

/// The worker's delivery state; lives on the worker thread only.
pub(crate) struct Delivery {
    exporter: Option<Box<dyn SpanExporter>>,
    breaker: CircuitBreaker,
    retry: RetryPolicy,
    export_timeout: Duration,
    spool: RefCell<Option<Spool>>,
    stats: Arc<Stats>,
    deadline: Cell<Option<Instant>>,
    seed: Cell<u64>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("breaker", &self.breaker)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

// === impl Delivery ===

impl Delivery {
    pub(crate) fn new(
        exporter: Option<Box<dyn SpanExporter>>,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        export_timeout: Duration,
        spool: Option<Spool>,
        stats: Arc<Stats>,
    ) -> Self {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self {
            exporter,
            breaker,
            retry,
            export_timeout,
            spool: RefCell::new(spool),
            stats,
            deadline: Cell::new(None),
            seed: Cell::new(seed ^ u64::from(std::process::id())),
        }
    }

    /// From now on, stop retrying in time to spool before `deadline`.
    pub(crate) fn set_deadline(&self, deadline: Instant) {
        self.deadline.set(Some(deadline));
    }

    /// Time left before the deadline, less the spool margin.
    pub(crate) fn time_left(&self) -> Option<Duration> {
        self.deadline.get().map(|d| {
            d.saturating_duration_since(Instant::now())
                .saturating_sub(SPOOL_MARGIN)
        })
    }

    /// Exports one batch with retries, or spools it, or drops it with a reason.
    pub(crate) async fn deliver(self: std::rc::Rc<Self>, request: EncodedRequest) -> Delivered {
        let spans = request.spans();
        let kind = if request.has_errors() {
            Kind::Priority
        } else {
            Kind::Normal
        };
        // What each attempt sends (a clone shares the bytes) and what the spool stores.
        let encoded = request.bytes().clone();
        let Some(exporter) = &self.exporter else {
            return self.spool_bytes(&encoded, spans, kind, DropReason::NoExporter);
        };
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let Ok(permit) = self.breaker.try_acquire() else {
                return self.spool_bytes(&encoded, spans, kind, DropReason::ExportFailed);
            };
            let timeout = match self.time_left() {
                Some(left) if left.is_zero() => {
                    drop(permit);
                    return self.spool_bytes(&encoded, spans, kind, DropReason::ExportFailed);
                }
                Some(left) => left.min(self.export_timeout),
                None => self.export_timeout,
            };
            let error = match export(exporter.as_ref(), request.clone(), timeout).await {
                Ok(()) => {
                    permit.success();
                    return Delivered::Exported;
                }
                Err(error) => error,
            };
            self.stats.attempt_failed(&error);
            let class = classify(&error);
            if class == RetryClass::NonRetryable {
                // The collector is up and answered: not a breaker failure.
                drop(permit);
                return self.spool_bytes(&encoded, spans, Kind::Rejected, DropReason::ExportFailed);
            }
            permit.failure();
            attempt += 1;
            let delay = match class {
                RetryClass::Throttled(delay) => delay,
                _ => self.retry.backoff(attempt, self.next_seed()),
            };
            let out_of_time = started.elapsed() + delay > self.retry.max_elapsed_time
                || self.time_left().is_some_and(|left| delay >= left);
            if out_of_time {
                return self.spool_bytes(&encoded, spans, kind, DropReason::ExportFailed);
            }
            self.stats.retried();
            tokio::time::sleep(delay).await;
        }
    }

    fn next_seed(&self) -> u64 {
        let seed = retry::splitmix(self.seed.get());
        self.seed.set(seed);
        seed
    }

    /// Appends an encoded batch to the spool; without one, drops with `otherwise`.
    pub(crate) fn spool_bytes(
        &self,
        encoded: &[u8],
        spans: usize,
        kind: Kind,
        otherwise: DropReason,
    ) -> Delivered {
        let mut slot = self.spool.borrow_mut();
        let Some(spool) = slot.as_mut() else {
            return Delivered::Dropped(otherwise);
        };
        let spans_u32 = u32::try_from(spans).unwrap_or(u32::MAX);
        match spool.append(encoded, spans_u32, kind, SystemTime::now()) {
            Ok(()) => Delivered::Spooled,
            Err(AppendError::Full) => Delivered::Dropped(DropReason::SpoolFull),
            Err(AppendError::Io) => Delivered::Dropped(DropReason::SpoolError),
        }
    }

    /// Whether a replay may start now: an exporter, something spooled, the breaker not open.
    pub(crate) fn can_replay(&self) -> bool {
        self.exporter.is_some()
            && self.deadline.get().is_none()
            && self.breaker.state() != BreakerState::Open
            && self
                .spool
                .borrow()
                .as_ref()
                .is_some_and(Spool::has_replayable)
    }

    /// Sends the oldest spooled batch; returns whether it was delivered.
    pub(crate) async fn replay_one(self: std::rc::Rc<Self>) -> bool {
        let Some(exporter) = &self.exporter else {
            return false;
        };
        let Some(mut batch) = self
            .spool
            .borrow_mut()
            .as_mut()
            .and_then(Spool::next_replay)
        else {
            return false;
        };
        // Sent as stored: the spool's checksums already vouch for the bytes.
        let payload = bytes::Bytes::from(std::mem::take(&mut batch.payload));
        let request = EncodedRequest::new(payload.clone(), batch.spans as usize);
        let Ok(permit) = self.breaker.try_acquire() else {
            self.rewind();
            return false;
        };
        match export(exporter.as_ref(), request, self.export_timeout).await {
            Ok(()) => {
                permit.success();
                self.ack(&batch);
                self.stats.replayed(u64::from(batch.spans));
                true
            }
            Err(error) => {
                self.stats.attempt_failed(&error);
                if classify(&error) == RetryClass::NonRetryable {
                    drop(permit);
                    // Keep it for inspection, out of replay's way.
                    let spans = batch.spans as usize;
                    self.spool_bytes(&payload, spans, Kind::Rejected, DropReason::SpoolError);
                    self.ack(&batch);
                    return true;
                }
                permit.failure();
                self.rewind();
                false
            }
        }
    }

    fn ack(&self, batch: &Replay) {
        if let Some(spool) = self.spool.borrow_mut().as_mut() {
            spool.ack(batch);
        }
    }

    fn rewind(&self) {
        if let Some(spool) = self.spool.borrow_mut().as_mut() {
            spool.rewind();
        }
    }

    /// `fsync`s the spool, when there is one.
    pub(crate) fn sync_spool(&self) {
        if let Some(spool) = self.spool.borrow_mut().as_mut() {
            spool.sync();
        }
    }

    /// Deletes (or archives) spool segments past retention, when there is a spool.
    pub(crate) fn clean_spool(&self) {
        if let Some(spool) = self.spool.borrow_mut().as_mut() {
            spool.cleanup(SystemTime::now());
        }
    }

    /// At shutdown: `fsync` and release the spool's lock.
    pub(crate) fn close(&self) {
        self.spool.borrow_mut().take();
    }

    /// The exporter's own shutdown.
    pub(crate) fn shutdown(&self) -> futures_util::future::BoxFuture<'static, ()> {
        match &self.exporter {
            Some(exporter) => exporter.shutdown(),
            None => Box::pin(async {}),
        }
    }
}

async fn export(
    exporter: &dyn SpanExporter,
    request: EncodedRequest,
    timeout: Duration,
) -> Result<(), ExportError> {
    match tokio::time::timeout(timeout, exporter.export(request)).await {
        Ok(result) => result,
        Err(_) => Err(ExportError::new(
            ExportErrorKind::Timeout,
            format!("export did not complete within {timeout:?}"),
        )),
    }
}
