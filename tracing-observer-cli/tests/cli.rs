//! The `tracing-observer` command-line tool on a real spool: stats, show, export,
//! replay, and its errors (missing directory, locked spool, corrupt segment).
//! Spool append and replay throughput are measured by the library's `benches/spool.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tracing_observer::export::{Accepted, EncodedRequest};
use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
use tracing_observer::{config::RetryPolicy, ExportError, ExportErrorKind, Observer, SpanExporter};
use tracing_subscriber::prelude::*;

/// Refuses every batch, so that everything is spooled.
struct Down;

impl SpanExporter for Down {
    fn export(&self, _: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
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
    let dir = fresh_dir(name);
    let report = spool_into(&dir, "cli-test", ops);
    (dir, report)
}

/// An empty directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("observer-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Spools `ops` traces of 3 spans (every 4th failing) of `service` into `dir`, after
/// what it holds (in new segments).
fn spool_into(dir: &Path, service: &str, ops: usize) -> tracing_observer::ShutdownReport {
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name(service)
        .spool_dir(dir)
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
    observer.shutdown(Duration::from_secs(10))
}

/// The segment files in `dir`, in sequence order.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    segments
}

/// The `trace ID (SERVICE, N spans)` header lines `show` printed.
fn shown_traces(out: &Output) -> Vec<String> {
    text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("trace "))
        .map(str::to_owned)
        .collect()
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

#[test]
fn show_filters_by_trace_and_by_service() {
    let dir = fresh_dir("filters");
    assert_eq!(spool_into(&dir, "checkout", 3).stats.spooled, 9);
    assert_eq!(spool_into(&dir, "billing", 2).stats.spooled, 6);
    let d = dir.to_str().unwrap();

    let out = cli(&["spool", "show", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(shown_traces(&out).len(), 5, "{}", text(&out.stdout));

    let out = cli(&["spool", "show", d, "--service", "billing"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let billing = shown_traces(&out);
    assert_eq!(billing.len(), 2, "{}", text(&out.stdout));
    assert!(
        billing.iter().all(|l| l.ends_with("(billing, 3 spans)")),
        "{billing:?}"
    );

    // One trace, by its id (case does not matter): its three spans, nothing else.
    let id = billing[0].split_whitespace().nth(1).unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let out = cli(&["spool", "show", d, "--trace", &id.to_uppercase()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(shown_traces(&out), vec![billing[0].clone()]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("  request ")
            && shown.contains("    load ")
            && shown.contains("      price "),
        "{shown}"
    );

    let out = cli(&["spool", "show", d, "--trace", &id, "--service", "checkout"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "no traces match");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stats_skips_a_segment_with_a_damaged_header_names_it_and_counts_its_bytes() {
    let dir = fresh_dir("header");
    spool_into(&dir, "first", 4);
    let second = spool_into(&dir, "second", 4);
    let segments = segments(&dir);
    assert_eq!(segments.len(), 2, "one per run: {segments:?}");
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    bytes[0] ^= 0xff; // The segment's magic.
    let damaged_len = bytes.len() as u64;
    std::fs::write(&segments[0], bytes).unwrap();
    let name = segments[0].file_name().unwrap().to_str().unwrap();
    let d = dir.to_str().unwrap();

    let out = cli(&["spool", "stats", d, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["segments"], 2);
    assert_eq!(stats["lost_bytes"], damaged_len);
    assert_eq!(
        stats["spans"], second.stats.spooled,
        "the other segment is read"
    );
    assert_eq!(stats["unreadable_segments"].as_array().unwrap().len(), 1);

    let out = cli(&["spool", "stats", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("skipped unreadable segment {name}"))
            && stderr.contains("bad magic"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("lost bytes      {damaged_len}"))
            && stdout.contains("unreadable      1 segments"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
