//! The observer's own health components, computed from a [`PipelineView`].

use super::{ComponentHealth, HealthStatus};
use crate::delivery::{BreakerSnapshot, BreakerState};
use crate::report::{PipelineStats, SpoolStats};

/// Queue fill at which the queue component is degraded, then unhealthy.
const QUEUE_DEGRADED: f64 = 0.5;
const QUEUE_UNHEALTHY: f64 = 0.9;
/// Spool fill at which the spool component is degraded, then unhealthy (the oldest
/// batches are about to be evicted).
const SPOOL_DEGRADED: f64 = 0.8;
const SPOOL_UNHEALTHY: f64 = 0.95;

/// What the built-in components are read from: the pipeline's state at one instant.
#[derive(Debug)]
pub(crate) struct PipelineView<'a> {
    /// Why the observer disabled itself, once it did.
    pub(crate) disabled_reason: Option<&'a str>,
    /// Whether spans are still recorded (false once shutdown began).
    pub(crate) accepting: bool,
    pub(crate) queue_len: usize,
    pub(crate) queue_capacity: usize,
    /// The last export failure, while exports keep failing.
    pub(crate) last_export_failure: Option<String>,
    /// The same for the logs export; `None` when the logs pipeline is off.
    pub(crate) logs_export_failure: Option<Option<String>>,
    pub(crate) stats: &'a PipelineStats,
    pub(crate) overhead_budget: Option<f64>,
    /// The observer's export breaker and the application's.
    pub(crate) breakers: &'a [BreakerSnapshot],
}

/// `worker`, `queue`, `exporter`, `logs_exporter` (with logs on), `spool` (when on or
/// failed), `overhead` and
/// `circuit_breakers` (when any exists); never critical.
pub(crate) fn builtin(view: &PipelineView<'_>) -> Vec<ComponentHealth> {
    use HealthStatus::*;
    let mut components = Vec::with_capacity(6);
    let worker = match view.disabled_reason {
        Some(reason) => ComponentHealth::builtin("worker", Unhealthy, Some(reason.to_owned())),
        None if !view.accepting => {
            ComponentHealth::builtin("worker", Degraded, Some("shut down".into()))
        }
        None => ComponentHealth::builtin("worker", Healthy, None),
    };
    components.push(worker);

    let (len, capacity) = (view.queue_len, view.queue_capacity);
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

    // Live and replayed spans alike.
    let rejected = view.stats.dropped.rejected + view.stats.spool.replay_rejected;
    let exporter = match &view.last_export_failure {
        Some(error) => ComponentHealth::builtin("exporter", Unhealthy, Some(error.clone())),
        None if rejected > 0 => ComponentHealth::builtin(
            "exporter",
            Degraded,
            Some(format!(
                "the collector rejected {rejected} spans (partial success, or on replay): {}",
                view.stats.last_rejection.as_deref().unwrap_or("no message")
            )),
        ),
        None => ComponentHealth::builtin("exporter", Healthy, None),
    };
    components.push(exporter);
    if let Some(failure) = &view.logs_export_failure {
        let rejected = view.stats.logs.dropped.rejected;
        components.push(match failure {
            Some(error) => {
                ComponentHealth::builtin("logs_exporter", Unhealthy, Some(error.clone()))
            }
            None if rejected > 0 => ComponentHealth::builtin(
                "logs_exporter",
                Degraded,
                Some(format!(
                    "the collector rejected {rejected} log records (partial success)"
                )),
            ),
            None => ComponentHealth::builtin("logs_exporter", Healthy, None),
        });
    }

    components.extend(spool(&view.stats.spool));
    components.push(overhead(
        view.stats.overhead_ratio,
        view.overhead_budget,
        view.stats.sampling_factor,
    ));

    if !view.breakers.is_empty() {
        let open: Vec<&str> = view
            .breakers
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

/// The spool's fill against its bound, or why it could not be opened or written
/// (unhealthy: batches that need it are dropped); `None` when the spool is off.
fn spool(spool: &SpoolStats) -> Option<ComponentHealth> {
    use HealthStatus::*;
    if !spool.enabled {
        let error = spool.last_error.clone()?;
        return Some(ComponentHealth::builtin(
            "spool",
            Unhealthy,
            Some(format!("not open: {error}")),
        ));
    }
    let fill = spool.bytes as f64 / spool.max_bytes.max(1) as f64;
    let status = if spool.writes_failing || fill >= SPOOL_UNHEALTHY {
        Unhealthy
    } else if fill >= SPOOL_DEGRADED {
        Degraded
    } else {
        Healthy
    };
    let mut message = format!(
        "{} of {} bytes used, {} spans waiting for replay",
        spool.bytes, spool.max_bytes, spool.pending_spans
    );
    if let Some(error) = &spool.last_error {
        message.push_str(if spool.writes_failing {
            "; writes failing: "
        } else {
            "; last error: "
        });
        message.push_str(error);
    }
    Some(ComponentHealth::builtin("spool", status, Some(message)))
}

/// The measured overhead against the budget: degraded while over it (sampling is
/// being lowered), healthy otherwise or without a budget.
fn overhead(ratio: f64, budget: Option<f64>, factor: f64) -> ComponentHealth {
    let percent = ratio * 100.0;
    match budget {
        Some(budget) if ratio > budget => ComponentHealth::builtin(
            "overhead",
            HealthStatus::Degraded,
            Some(format!(
                "{percent:.2} % of traced time, over the {:.2} % budget; sampling factor {factor}",
                budget * 100.0
            )),
        ),
        Some(budget) => ComponentHealth::builtin(
            "overhead",
            HealthStatus::Healthy,
            Some(format!(
                "{percent:.2} % of traced time, within the {:.2} % budget",
                budget * 100.0
            )),
        ),
        None => ComponentHealth::builtin(
            "overhead",
            HealthStatus::Healthy,
            Some(format!("{percent:.2} % of traced time (no budget set)")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool_stats(bytes: u64, max_bytes: u64) -> SpoolStats {
        SpoolStats {
            enabled: true,
            bytes,
            max_bytes,
            ..SpoolStats::default()
        }
    }

    #[test]
    fn spool_health_follows_its_fill() {
        let status = |bytes| spool(&spool_stats(bytes, 1000)).unwrap().status;
        assert_eq!(status(0), HealthStatus::Healthy);
        assert_eq!(status(799), HealthStatus::Healthy);
        assert_eq!(status(800), HealthStatus::Degraded);
        assert_eq!(status(950), HealthStatus::Unhealthy);
        let component = spool(&spool_stats(10, 1000)).unwrap();
        assert!(
            !component.critical,
            "the observer's components never fail the host"
        );
        assert_eq!(
            component.message.as_deref(),
            Some("10 of 1000 bytes used, 0 spans waiting for replay")
        );
    }

    #[test]
    fn failing_writes_make_the_spool_unhealthy_until_one_succeeds() {
        let error = "writing to the spool: No space left on device (os error 28)";
        let failing = SpoolStats {
            last_error: Some(error.into()),
            writes_failing: true,
            ..spool_stats(10, 1000)
        };
        let component = spool(&failing).unwrap();
        assert_eq!(component.status, HealthStatus::Unhealthy);
        assert_eq!(
            component.message.as_deref(),
            Some(
                format!(
                    "10 of 1000 bytes used, 0 spans waiting for replay; writes failing: {error}"
                )
                .as_str()
            )
        );
        let recovered = SpoolStats {
            writes_failing: false,
            ..failing
        };
        assert_eq!(spool(&recovered).unwrap().status, HealthStatus::Healthy);
    }

    #[test]
    fn an_off_spool_is_absent_and_a_failed_one_unhealthy() {
        assert!(spool(&SpoolStats::default()).is_none());
        let failed = SpoolStats {
            last_error: Some("lock: held by pid 7".into()),
            ..SpoolStats::default()
        };
        let component = spool(&failed).unwrap();
        assert_eq!(component.status, HealthStatus::Unhealthy);
        assert_eq!(
            component.message.as_deref(),
            Some("not open: lock: held by pid 7")
        );
    }

    #[test]
    fn overhead_is_degraded_only_over_its_budget() {
        assert_eq!(overhead(0.05, None, 1.0).status, HealthStatus::Healthy);
        assert_eq!(
            overhead(0.01, Some(0.02), 1.0).status,
            HealthStatus::Healthy
        );
        let over = overhead(0.03, Some(0.02), 0.5);
        assert_eq!(over.status, HealthStatus::Degraded);
        assert_eq!(
            over.message.as_deref(),
            Some("3.00 % of traced time, over the 2.00 % budget; sampling factor 0.5")
        );
    }

    #[test]
    fn spooled_spans_rejected_on_replay_degrade_the_exporter() {
        let stats = PipelineStats {
            spool: SpoolStats {
                replay_rejected: 4,
                ..SpoolStats::default()
            },
            ..PipelineStats::default()
        };
        let view = PipelineView {
            disabled_reason: None,
            accepting: true,
            queue_len: 0,
            queue_capacity: 10,
            last_export_failure: None,
            logs_export_failure: None,
            stats: &stats,
            overhead_budget: None,
            breakers: &[],
        };
        let components = builtin(&view);
        let exporter = components.iter().find(|c| c.name == "exporter").unwrap();
        assert_eq!(exporter.status, HealthStatus::Degraded);
        assert_eq!(
            exporter.message.as_deref(),
            Some("the collector rejected 4 spans (partial success, or on replay): no message")
        );
    }

    #[test]
    fn the_logs_exporter_is_a_component_only_with_logs_on() {
        let stats = PipelineStats::default();
        let view = |logs_export_failure| PipelineView {
            disabled_reason: None,
            accepting: true,
            queue_len: 0,
            queue_capacity: 10,
            last_export_failure: None,
            logs_export_failure,
            stats: &stats,
            overhead_budget: None,
            breakers: &[],
        };
        let logs = |components: Vec<ComponentHealth>| {
            components.into_iter().find(|c| c.name == "logs_exporter")
        };
        assert!(logs(builtin(&view(None))).is_none());
        let healthy = logs(builtin(&view(Some(None)))).expect("logs on");
        assert_eq!(healthy.status, HealthStatus::Healthy);
        let failing = logs(builtin(&view(Some(Some("connection refused".into()))))).unwrap();
        assert_eq!(failing.status, HealthStatus::Unhealthy);
        assert_eq!(failing.message.as_deref(), Some("connection refused"));
    }
}
