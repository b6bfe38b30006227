//! The `tracing-observer` command-line tool on a real spool: stats, show, export,
//! replay, and its errors (missing directory, locked spool, corrupt segment).
//! Spool append and replay throughput are measured by `benches/spool.rs`.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
use tracing_observer::{ExportError, ExportErrorKind, Observer, RetryPolicy, SpanExporter};
use tracing_subscriber::prelude::*;

/// Refuses every batch, so that everything is spooled.
struct Down;

impl SpanExporter for Down {
    fn export(&self, _: ExportTraceServiceRequest) -> BoxFuture<'static, Result<(), ExportError>> {
        Box::pin(async { Err(ExportError::new(ExportErrorKind::Connect, "collector down")) })
    }
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracing-observer"))
        .args(args)
        .output()
        .expect("the CLI runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Spools `ops` traces of 3 spans (every 4th failing) into a fresh directory.
fn spool(name: &str, ops: usize) -> (PathBuf, tracing_observer::ShutdownReport) {
    let dir = std::env::temp_dir().join(format!("observer-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("cli-test")
        .spool_dir(&dir)
        .retry_policy(RetryPolicy::none())
        .exporter(Down)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..ops {
            let _request = tracing::info_span!("request", order = i as u64).entered();
            let _load = tracing::info_span!("load").entered();
            if i.is_multiple_of(4) {
                tracing::error!("disk on fire");
            }
            drop(tracing::info_span!("price").entered());
        }
    });
    let report = observer.shutdown(Duration::from_secs(10));
    (dir, report)
}

#[test]
fn stats_show_and_export_read_what_was_spooled() {
    let (dir, report) = spool("read", 40);
    assert_eq!(report.stats.spooled, 120, "{report}");
    let d = dir.to_str().unwrap();

    let out = cli(&["spool", "stats", d, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["spans"], 120);
    assert!(stats["error_batches"].as_u64().unwrap() >= 1);
    assert_eq!(stats["corrupt_records"], 0);

    let out = cli(&["spool", "show", d, "--errors", "--limit", "2"]);
    let shown = text(&out.stdout);
    assert!(out.status.success());
    assert!(shown.contains("trace "), "{shown}");
    assert!(
        shown.contains("    load") && shown.contains("ERROR"),
        "{shown}"
    );

    let out = cli(&["spool", "export", d, "--format", "otlp-json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut spans = 0;
    for line in text(&out.stdout).lines() {
        let request: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
        spans += request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum::<usize>();
    }
    assert_eq!(spans, 120);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_are_clear_and_a_corrupt_record_is_skipped_and_counted() {
    let out = cli(&["spool", "stats", "/nonexistent/spool"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );

    let (dir, _) = spool("corrupt", 8);
    let segment = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[60] ^= 0xff; // Inside the first record's payload.
    std::fs::write(&segment, bytes).unwrap();
    let out = cli(&["spool", "export", dir.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("skipped 1 corrupt records"),
        "{}",
        text(&out.stderr)
    );

    // A running observer holds the lock: replay refuses and says who holds it.
    let holder = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .spool_dir(&dir)
        .exporter(Down)
        .build()
        .unwrap();
    holder.force_flush(Duration::from_secs(5)).unwrap();
    let out = cli(&[
        "spool",
        "replay",
        dir.to_str().unwrap(),
        "--endpoint",
        "http://127.0.0.1:9",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("locked"),
        "{}",
        text(&out.stderr)
    );
    drop(holder);
    std::fs::remove_dir_all(&dir).unwrap();
}
