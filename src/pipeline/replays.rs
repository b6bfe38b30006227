//! The spooled batches being replayed through one [`Delivery`]: as many at once as the
//! export slots live batches leave free, for the span worker and the logs lane alike.

use crate::delivery::{Delivery, Replayed};
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::rc::Rc;

pub(super) struct Replays {
    delivery: Rc<Delivery>,
    running: FuturesUnordered<LocalBoxFuture<'static, Replayed>>,
}

impl Replays {
    pub(super) fn new(delivery: Rc<Delivery>) -> Self {
        Self {
            delivery,
            running: FuturesUnordered::new(),
        }
    }

    /// Starts replays while they and the `live` exports in flight stay below `slots`
    /// and the spool has batches not yet handed out.
    pub(super) fn start(&mut self, live: usize, slots: usize) {
        while self.running.len() + live < slots && self.delivery.can_replay() {
            (self.running).push(Box::pin(Rc::clone(&self.delivery).replay_one()));
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The next replay to finish; `None` when none runs.
    pub(super) async fn next(&mut self) -> Option<Replayed> {
        self.running.next().await
    }

    /// Abandons the replays under way (their batches stay in the spool).
    pub(super) fn clear(&mut self) {
        self.running.clear();
    }

    /// At shutdown: finishes the replays under way (whatever became of them, they were
    /// made before shutdown and say nothing of the collector now), then replays spooled
    /// batches, up to `slots` at once beside `live` exports, until one is not delivered
    /// (or none is left).
    pub(super) async fn until_refused(&mut self, live: usize, slots: usize) {
        while self.next().await.is_some() {}
        self.start(live, slots);
        while let Some(replayed) = self.next().await {
            if replayed != Replayed::Done {
                // The rest in flight finish; no more start.
                while self.next().await.is_some() {}
                return;
            }
            self.start(live, slots);
        }
    }
}
