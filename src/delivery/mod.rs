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
//!                                                     the breaker opens or shutdown begins
//! ```
//!
//! Shutdown wakes every batch waiting out a backoff: one last attempt, and on failure
//! the spool at once (the deadline is never slept past). An export still under way
//! when the deadline (less a margin to write) comes is given up and its batch spooled.
//! A collector's throttling delay is waited out in full; a plain backoff also ends
//! when another export succeeds.
//!
//! With no spool (`OBSERVER_SPOOL=off`) what would be spooled is dropped and counted.
//! Replay of spooled batches (oldest first, several in flight in the export slots live
//! traffic leaves free; the spool acknowledges them in order) is driven by the worker
//! through [`Delivery::replay_one`]; a failed replay rewinds the spool and waits
//! before the next (the collector's delay, or 100 ms doubling to 6.4 s). A replay
//! waits for the breaker: the export breaker probes [`EXPORT_PROBE_INTERVAL`] after opening, then
//! twice as long after each failed probe; while connections are refused, a TCP
//! connect to the collector every [`probe::CONNECT_CHECK_INTERVAL`] lets a probe
//! through as soon as it accepts again (once a check was refused: a collector that
//! accepts connections but fails the TLS handshake waits for the breaker's schedule). At shutdown a replay waits for nothing: it is
//! made when the breaker (or one connection check) lets it.

mod breaker;
mod probe;
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
use crate::export::{Accepted, EncodedRequest, SpanExporter};
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

/// The start of each observer's logs export breaker name: `otlp-logs:<service.name>`.
///
/// ```
/// assert_eq!(tracing_observer::breaker::LOGS_BREAKER, "otlp-logs");
/// ```
pub const LOGS_BREAKER: &str = "otlp-logs";

/// How soon the export breaker first probes after opening (doubling with each failed
/// probe, up to `circuit_breaker_timeout`).
pub(crate) const EXPORT_PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// Retry, circuit breaker and spool settings, resolved.
#[derive(Clone, Debug)]
pub(crate) struct DeliveryConfig {
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: BreakerConfig,
    pub(crate) spool: Option<crate::spool::SpoolConfig>,
}

/// Where the exporter connects (`host:port`), for the connection check; none for a
/// custom exporter.
pub(crate) type Reach = Option<String>;

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
    /// Wakes the batches waiting out a retry backoff when shutdown sets the deadline.
    closing: tokio::sync::Notify,
    /// Wakes them when the collector accepts exports again.
    recovered: tokio::sync::Notify,
    reach: Reach,
    /// Whether the last export failed, and whether it failed to connect (the
    /// connection check is worth making then).
    failing: Cell<bool>,
    unreachable: Cell<bool>,
    /// Whether the last connection check was refused: a check lets a probe through
    /// only when the collector starts accepting connections again, so that one that
    /// accepts them but fails the TLS handshake (a connect error too) is probed on the
    /// breaker's own, doubling schedule.
    check_refused: Cell<bool>,
    /// Replays failed in a row: the next waits [`REPLAY_BACKOFF`] doubled as often.
    replay_failures: Cell<u32>,
    /// After a failed replay, no replay starts before this (the wait it chose), also
    /// the ones already waiting for a permit; and whether the collector asked for it
    /// (a plain backoff also ends when an export succeeds).
    replay_pause: Cell<Option<(Instant, bool)>>,
    seed: Cell<u64>,
}

/// The wait after a failed replay (unless the collector asked for another), doubled
/// with each failure in a row up to [`MAX_REPLAY_DOUBLINGS`] times (6.4 s).
const REPLAY_BACKOFF: Duration = Duration::from_millis(100);
const MAX_REPLAY_DOUBLINGS: u32 = 6;

/// How one replay came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replayed {
    /// The collector acknowledged the batch, or refused it for good (kept aside).
    Done,
    /// The export failed and may be retried; the batch stays first in the spool.
    Failed,
    /// No export was made (no permit, nothing to replay).
    NotMade,
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
        reach: Reach,
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
            closing: tokio::sync::Notify::new(),
            recovered: tokio::sync::Notify::new(),
            reach,
            failing: Cell::new(false),
            unreachable: Cell::new(false),
            check_refused: Cell::new(false),
            replay_failures: Cell::new(0),
            replay_pause: Cell::new(None),
            seed: Cell::new(seed ^ u64::from(std::process::id())),
        }
    }

    /// From now on, stop retrying in time to spool before `deadline`: the batches
    /// waiting out a backoff are woken for one last attempt, and a failed attempt is
    /// spooled at once.
    pub(crate) fn set_deadline(&self, deadline: Instant) {
        self.deadline.set(Some(deadline));
        self.closing.notify_waiters();
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
            let attempt_made = tokio::select! {
                result = export(exporter.as_ref(), request.clone(), timeout) => Some(result),
                () = self.until_deadline() => None,
            };
            // Shutdown's deadline came during the attempt: spooled, not cut off.
            let Some(result) = attempt_made else {
                drop(permit);
                self.failed(&ExportError::new(
                    ExportErrorKind::Timeout,
                    "export did not complete before the shutdown deadline",
                ));
                return self.spool_bytes(&encoded, spans, kind, DropReason::ExportFailed);
            };
            let error = match result {
                Ok(accepted) => {
                    self.succeeded(permit);
                    let rejected = self.partly_rejected(accepted);
                    return Delivered::Exported { rejected };
                }
                Err(error) => error,
            };
            self.failed(&error);
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
            // Shutting down: what failed now goes to the spool, not into a backoff.
            let out_of_time = self.deadline.get().is_some()
                || started.elapsed() + delay > self.retry.max_elapsed_time;
            if out_of_time {
                return self.spool_bytes(&encoded, spans, kind, DropReason::ExportFailed);
            }
            self.stats.retried();
            self.backoff(delay, class).await;
        }
    }

    /// Returns when shutdown's deadline (less the spool margin) has come; never
    /// without a shutdown.
    async fn until_deadline(&self) {
        // Registered before the deadline is read: a shutdown in between still wakes it.
        let closing = self.closing.notified();
        if self.deadline.get().is_none() {
            closing.await;
        }
        tokio::time::sleep(self.time_left().unwrap_or_default()).await;
    }

    /// Waits `delay`, or until shutdown sets the deadline, or (unless the collector
    /// throttled, asking for this very delay) until it accepts exports again.
    async fn backoff(&self, delay: Duration, class: RetryClass) {
        // Registered before the deadline is read: a shutdown in between still wakes it.
        let closing = self.closing.notified();
        let recovered = self.recovered.notified();
        if self.deadline.get().is_some() {
            return;
        }
        let throttled = matches!(class, RetryClass::Throttled(_));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = closing => {}
            () = recovered, if !throttled => {}
        }
    }

    /// An export succeeded: the breaker hears it; after failures, the batches in a
    /// backoff are woken.
    fn succeeded(&self, permit: Permit) {
        permit.success();
        // A plain replay pause ends with the collector taking exports again.
        if matches!(self.replay_pause.get(), Some((_, false))) {
            self.replay_pause.set(None);
        }
        self.unreachable.set(false);
        self.check_refused.set(false);
        if self.failing.replace(false) {
            self.recovered.notify_waiters();
        }
    }

    /// Notes what a partial success said; returns the spans rejected.
    fn partly_rejected(&self, accepted: Accepted) -> u64 {
        if accepted.rejected_spans > 0 || accepted.message.is_some() {
            self.stats.partly_rejected(accepted.message);
        }
        accepted.rejected_spans
    }

    /// An export attempt failed: counted, and remembered whether it could not connect.
    fn failed(&self, error: &ExportError) {
        self.stats.attempt_failed(error);
        self.failing.set(true);
        self.unreachable
            .set(error.kind() == ExportErrorKind::Connect);
    }

    /// A permit for a replay: waits while the breaker is open (checking the connection
    /// while it refused connections); at shutdown waits for nothing.
    async fn replay_permit(&self) -> Option<Permit> {
        loop {
            let Some(left) = self.breaker.open_left() else {
                match self.breaker.try_acquire() {
                    Ok(permit) => return Some(permit),
                    // Half-open, a live batch holds the probe.
                    Err(_) if self.deadline.get().is_some() => return None,
                    Err(_) => {
                        self.backoff(probe::PROBE_BUSY_PAUSE, RetryClass::Retryable)
                            .await;
                        continue;
                    }
                }
            };
            let check = self.reach.as_deref().filter(|_| self.unreachable.get());
            if self.deadline.get().is_some() {
                match check {
                    Some(addr) if probe::accepts(addr).await => self.breaker.allow_probe(),
                    _ => return None,
                }
                continue;
            }
            match check {
                Some(addr) => {
                    self.backoff(
                        left.min(probe::CONNECT_CHECK_INTERVAL),
                        RetryClass::Retryable,
                    )
                    .await;
                    if self.deadline.get().is_none() {
                        let accepts = probe::accepts(addr).await;
                        if self.check_refused.replace(!accepts) && accepts {
                            self.breaker.allow_probe();
                        }
                    }
                }
                None => self.backoff(left, RetryClass::Retryable).await,
            }
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

    /// Whether a replay may start: an exporter and something spooled (the replay
    /// itself waits for the breaker).
    pub(crate) fn can_replay(&self) -> bool {
        self.exporter.is_some()
            && self
                .spool
                .borrow()
                .as_ref()
                .is_some_and(Spool::has_replayable)
    }

    /// Sends the oldest spooled batch once the breaker lets it. After a retryable
    /// failure it waits before returning (the collector's delay when it throttled,
    /// else [`REPLAY_BACKOFF`] doubling with each failure in a row), so that the next
    /// replay does not follow at once; shutdown's deadline ends that wait.
    pub(crate) async fn replay_one(self: std::rc::Rc<Self>) -> Replayed {
        let Some(exporter) = &self.exporter else {
            return Replayed::NotMade;
        };
        // A collector's delay holds every replay, not only the one it answered.
        if let Some((until, throttled)) = self.replay_pause.get() {
            let left = until.saturating_duration_since(Instant::now());
            let class = if throttled {
                RetryClass::Throttled(left)
            } else {
                RetryClass::Retryable
            };
            if !left.is_zero() {
                self.backoff(left, class).await;
            }
        }
        let Some(permit) = self.replay_permit().await else {
            return Replayed::NotMade;
        };
        let Some(mut batch) = self
            .spool
            .borrow_mut()
            .as_mut()
            .and_then(Spool::next_replay)
        else {
            return Replayed::NotMade;
        };
        // Sent as stored: the spool's checksums already vouch for the bytes.
        let payload = bytes::Bytes::from(std::mem::take(&mut batch.payload));
        let request = EncodedRequest::new(payload.clone(), batch.spans as usize);
        let timeout = self
            .time_left()
            .map_or(self.export_timeout, |left| left.min(self.export_timeout));
        match export(exporter.as_ref(), request, timeout).await {
            Ok(accepted) => {
                self.succeeded(permit);
                self.replay_failures.set(0);
                let rejected = self.partly_rejected(accepted);
                // Delivered after a rewind handed it out again: counted when it is.
                if self.ack(&batch) {
                    self.stats.replayed(u64::from(batch.spans), rejected);
                }
                Replayed::Done
            }
            Err(error) => {
                self.failed(&error);
                let class = classify(&error);
                if class == RetryClass::NonRetryable {
                    drop(permit);
                    // Kept for inspection, out of replay's way.
                    let spans = batch.spans as usize;
                    let kept =
                        self.spool_bytes(&payload, spans, Kind::Rejected, DropReason::SpoolError);
                    if let Delivered::Dropped(_) = kept {
                        self.stats.replay_lost(u64::from(batch.spans));
                    }
                    let _in_flight = self.ack(&batch);
                    return Replayed::Done;
                }
                permit.failure();
                self.rewind();
                let failures = self.replay_failures.get();
                self.replay_failures.set(failures.saturating_add(1));
                let delay = match class {
                    RetryClass::Throttled(delay) => delay,
                    _ => REPLAY_BACKOFF * (1 << failures.min(MAX_REPLAY_DOUBLINGS)),
                };
                let throttled = matches!(class, RetryClass::Throttled(_));
                self.replay_pause
                    .set(Some((Instant::now() + delay, throttled)));
                self.backoff(delay, class).await;
                Replayed::Failed
            }
        }
    }

    /// Acknowledges a replayed batch; whether it was still in flight.
    fn ack(&self, batch: &Replay) -> bool {
        (self.spool.borrow_mut().as_mut()).is_some_and(|spool| spool.ack(batch))
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
) -> Result<Accepted, ExportError> {
    match tokio::time::timeout(timeout, exporter.export(request)).await {
        Ok(result) => result,
        Err(_) => Err(ExportError::new(
            ExportErrorKind::Timeout,
            format!("export did not complete within {timeout:?}"),
        )),
    }
}
