//! The observer's own health components, read from the pipeline's shared state.

use super::{ComponentHealth, HealthStatus};
use crate::delivery::{breakers, BreakerState};
use crate::pipeline::Shared;

/// Queue fill at which the queue component is degraded, then unhealthy.
const QUEUE_DEGRADED: f64 = 0.5;
const QUEUE_UNHEALTHY: f64 = 0.9;

/// `worker`, `queue`, `exporter` and `circuit_breakers`; never critical.
pub(crate) fn builtin(shared: &Shared) -> Vec<ComponentHealth> {
    use HealthStatus::*;
    let mut components = Vec::with_capacity(4);
    let worker = match shared.disabled_reason() {
        Some(reason) => ComponentHealth::builtin("worker", Unhealthy, Some(reason.to_owned())),
        None if !shared.is_accepting() => {
            ComponentHealth::builtin("worker", Degraded, Some("shut down".into()))
        }
        None => ComponentHealth::builtin("worker", Healthy, None),
    };
    components.push(worker);

    let (len, capacity) = (shared.queue.len(), shared.queue_capacity());
    let fill = len as f64 / capacity.max(1) as f64;
    let status = if fill >= QUEUE_UNHEALTHY {
        Unhealthy
    } else if fill >= QUEUE_DEGRADED {
        Degraded
    } else {
        Healthy
    };
    components.push(ComponentHealth::builtin(
        "queue",
        status,
        Some(format!("{len} of {capacity} spans queued")),
    ));

    let exporter = match shared.stats.last_export_failure() {
        Some(error) => ComponentHealth::builtin("exporter", Unhealthy, Some(error)),
        None => ComponentHealth::builtin("exporter", Healthy, None),
    };
    components.push(exporter);

    let snapshots = breakers().list();
    if !snapshots.is_empty() {
        let open: Vec<&str> = snapshots
            .iter()
            .filter(|b| b.state != BreakerState::Closed)
            .map(|b| b.name.as_str())
            .collect();
        components.push(if open.is_empty() {
            ComponentHealth::builtin("circuit_breakers", Healthy, None)
        } else {
            ComponentHealth::builtin(
                "circuit_breakers",
                Unhealthy,
                Some(format!("not closed: {}", open.join(", "))),
            )
        });
    }
    components
}
