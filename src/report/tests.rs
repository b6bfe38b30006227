use super::{DroppedLogs, LogStats, PipelineStats, ShutdownReport, SpoolStats};
use std::time::Duration;

fn report(stats: PipelineStats) -> ShutdownReport {
    ShutdownReport {
        stats,
        elapsed: Duration::from_millis(20),
        timed_out: false,
        disabled: false,
    }
}

/// Spooled spans the collector rejected on replay were counted as spooled, not as
/// dropped (the identity stays exact); the report still says they are lost.
#[test]
fn spooled_spans_rejected_on_replay_are_a_loss() {
    let stats = PipelineStats {
        recorded: 10,
        exported: 4,
        spooled: 6,
        replayed: 3,
        spool: SpoolStats {
            enabled: true,
            replay_rejected: 3,
            ..SpoolStats::default()
        },
        ..PipelineStats::default()
    };
    let lost = report(stats.clone());
    assert!(!lost.is_lossless(), "{lost}");
    assert!(
        lost.to_string()
            .contains("\n  lost: 3 spooled spans rejected by the collector on replay"),
        "{lost}"
    );
    let kept = report(PipelineStats {
        spool: SpoolStats {
            enabled: true,
            ..SpoolStats::default()
        },
        ..stats
    });
    assert!(kept.is_lossless(), "{kept}");
    assert!(!kept.to_string().contains("lost"), "{kept}");
}

/// The logs line appears once the logs pipeline saw an event, with its drops by reason.
#[test]
fn the_report_has_a_logs_line_once_events_were_logged() {
    let quiet = report(PipelineStats {
        logs: LogStats {
            enabled: true,
            ..LogStats::default()
        },
        ..PipelineStats::default()
    });
    assert!(!quiet.to_string().contains("logs:"), "{quiet}");
    let logged = report(PipelineStats {
        logs: LogStats {
            enabled: true,
            recorded: 12,
            exported: 9,
            sampled_out: 4,
            dropped: DroppedLogs {
                rate_limited: 3,
                ..DroppedLogs::default()
            },
            ..LogStats::default()
        },
        ..PipelineStats::default()
    });
    let text = logged.to_string();
    assert!(
        text.contains("\n  logs: 12 recorded, 9 exported, 0 spooled, 3 dropped, 4 sampled out"),
        "{text}"
    );
    assert!(text.contains("rate_limited=3"), "{text}");
}
