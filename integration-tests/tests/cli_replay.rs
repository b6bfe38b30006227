//! `tracing-observer spool replay DIR --endpoint URL` against the in-process OTLP
//! receiver, over gRPC and OTLP/HTTP: every spooled span arrives exactly once, the
//! printed counts are right, and the spool is empty afterwards; damaged records and
//! segments are skipped, the rest delivered, and the losses reported.
//!
//! Runs the `tracing-observer` binary of the `tracing-observer-cli` crate, which
//! `cargo test --workspace --all-features` builds (or `cargo build -p
//! tracing-observer-cli`; see [`common::cli_path`]).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::{cli_path, endpoint_for, observe, spool_builder, spool_dir, SHUTDOWN};
use integration_tests::{OtlpReceiver, Transport};
use tracing_observer::{config::Protocol, config::TracesExporter, spool};

/// A span's identity: trace id and span id.
type SpanKey = (Vec<u8>, Vec<u8>);

/// Spools `ops` traces of two spans into `dir` (no collector: everything is spooled),
/// in batches of at most 16 spans, in a segment after those `dir` holds.
fn spool_traces(dir: &Path, ops: usize) {
    let observer = spool_builder(dir)
        .traces_exporter(TracesExporter::None)
        .max_export_batch_size(16)
        .build()
        .expect("observer builds");
    observe(&observer, || {
        for i in 0..ops {
            let _request = tracing::info_span!("request", order = i as u64).entered();
            drop(tracing::info_span!("load").entered());
        }
    });
    let report = observer.shutdown(SHUTDOWN);
    assert_eq!(report.stats.spooled, 2 * ops as u64, "{report}");
}

/// The spans the spool at `dir` holds (those it can read).
fn spooled(dir: &Path) -> BTreeSet<SpanKey> {
    let mut keys = BTreeSet::new();
    spool::read(dir, |batch| {
        let spans = batch
            .request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans);
        keys.extend(spans.map(|s| (s.trace_id.clone(), s.span_id.clone())));
    })
    .expect("the spool reads");
    keys
}

/// Every span the receiver accepted, duplicates kept.
fn received(receiver: &OtlpReceiver) -> Vec<SpanKey> {
    receiver
        .spans()
        .into_iter()
        .map(|s| (s.span.trace_id, s.span.span_id))
        .collect()
}

fn replay(dir: &Path, receiver: &OtlpReceiver, protocol: Protocol) -> Output {
    let name = match protocol {
        Protocol::Grpc => "grpc",
        _ => "http/protobuf",
    };
    Command::new(cli_path())
        .args(["spool", "replay", dir.to_str().unwrap(), "--endpoint"])
        .arg(endpoint_for(receiver, protocol))
        .args(["--protocol", name])
        .output()
        .expect("the CLI runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn replays_every_spooled_span_exactly_once(protocol: Protocol, transport: Transport) {
    let dir = spool_dir(&format!("cli-replay-{transport:?}"));
    spool_traces(&dir, 40);
    let before = spool::summary(&dir).unwrap();
    let spans = spooled(&dir);
    assert_eq!(spans.len(), 80);
    assert!(before.batches >= 5, "several batches: {before:?}");

    let receiver = OtlpReceiver::start();
    let out = replay(&dir, &receiver, protocol);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("replayed {} batches (80 spans); 0 left", before.batches)
    );
    assert_eq!(stderr, "", "nothing damaged, nothing to warn about");

    let requests = receiver.received();
    assert_eq!(
        requests.len() as u64,
        before.batches,
        "one request per batch"
    );
    assert!(requests.iter().all(|r| r.transport == transport));
    let arrived = received(&receiver);
    assert_eq!(arrived.len(), spans.len(), "each span once");
    assert_eq!(arrived.into_iter().collect::<BTreeSet<_>>(), spans);

    let after = spool::summary(&dir).unwrap();
    assert_eq!((after.segments, after.batches), (0, 0), "{after:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_over_grpc_sends_every_spooled_span_once_and_empties_the_spool() {
    replays_every_spooled_span_exactly_once(Protocol::Grpc, Transport::Grpc);
}

#[test]
fn replay_over_http_sends_every_spooled_span_once_and_empties_the_spool() {
    replays_every_spooled_span_exactly_once(Protocol::HttpProtobuf, Transport::HttpProtobuf);
}

#[test]
fn replay_skips_damage_delivers_the_rest_and_reports_what_was_lost() {
    let dir = spool_dir("cli-replay-damage");
    spool_traces(&dir, 20);
    spool_traces(&dir, 5);
    let mut segments: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 2, "one per run: {segments:?}");
    // The first segment: a byte inside its first batch (8 bytes of magic, 25 of header).
    let mut first = std::fs::read(&segments[0]).unwrap();
    first[8 + 25 + 10] ^= 0xff;
    std::fs::write(&segments[0], first).unwrap();
    // The second: its magic, so that it cannot be read at all.
    let mut second = std::fs::read(&segments[1]).unwrap();
    second[0] ^= 0xff;
    let second_len = second.len();
    std::fs::write(&segments[1], second).unwrap();
    let intact = spooled(&dir);
    assert!(!intact.is_empty() && intact.len() < 40, "{}", intact.len());

    let receiver = OtlpReceiver::start();
    let out = replay(&dir, &receiver, Protocol::HttpProtobuf);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("({} spans); 0 left", intact.len())),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "skipped 1 corrupt records and {second_len} unreadable bytes"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("set aside 1 unreadable segments as *.seg.bad"),
        "{stderr}"
    );
    let arrived = received(&receiver);
    assert_eq!(arrived.len(), intact.len(), "each intact span once");
    assert_eq!(arrived.into_iter().collect::<BTreeSet<_>>(), intact);
    let mut bad = segments[1].clone().into_os_string();
    bad.push(".bad");
    assert!(Path::new(&bad).is_file(), "kept for inspection");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Without `--endpoint` and `--protocol`, `replay` goes where the OTLP variables say
/// (`OTEL_EXPORTER_OTLP_ENDPOINT`, a base URL, and `OTEL_EXPORTER_OTLP_PROTOCOL`), and
/// says so; with none of them set it asks for an endpoint.
#[test]
fn replay_falls_back_to_the_otlp_environment_variables() {
    let dir = spool_dir("cli-replay-env");
    spool_traces(&dir, 10);
    let receiver = OtlpReceiver::start();
    let mut command = Command::new(cli_path());
    command.args(["spool", "replay", dir.to_str().unwrap()]);
    common::without_observer_env(&mut command);
    let out = command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .output()
        .expect("the CLI runs");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("(20 spans); 0 left"), "{stdout}");
    let url = format!("{}/v1/traces", receiver.http_endpoint());
    assert!(
        stderr.contains(&format!(
            "replaying to {url} (from OTEL_EXPORTER_OTLP_ENDPOINT)"
        )),
        "{stderr}"
    );
    let requests = receiver.received();
    assert!(!requests.is_empty());
    assert!(requests
        .iter()
        .all(|r| r.transport == Transport::HttpProtobuf));
    assert_eq!(received(&receiver).len(), 20);

    let mut command = Command::new(cli_path());
    command.args(["spool", "replay", dir.to_str().unwrap()]);
    common::without_observer_env(&mut command);
    let out = command.output().expect("the CLI runs");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("give --endpoint URL, or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
