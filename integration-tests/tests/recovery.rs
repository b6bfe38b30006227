//! Recovery after a collector outage, through real rotel behind a TCP proxy that
//! refuses connections on a schedule, with the observer's default delivery settings:
//! every span produced reaches the collector before the program exits, and the
//! exporter is back within a second of the collector accepting again.
//!
//! The load is that of `loadgen --ops 30000 --rate 3000 --depth 2 --error-rate 0.1`:
//! 3000 operations a second for 10 s, each a root span and a child, one child in ten
//! failing: 60 000 spans.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{dispatch, spool_builder, spool_dir};
use integration_tests::{OtlpReceiver, Rotel, TcpProxy};
use tracing_observer::config::Protocol;

const SECOND: Duration = Duration::from_secs(1);
/// Longest the exporter may take to send again once the collector accepts.
const RECOVERY: Duration = Duration::from_secs(1);

/// `ops` operations (root + child) at `rate` a second, one child in ten failing.
fn produce(observer: &tracing_observer::Observer, ops: u64, rate: u64) {
    let dispatch = dispatch(observer);
    let per_tick = rate / 100;
    let started = Instant::now();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..ops {
            let root = tracing::info_span!("op", i).entered();
            tracing::info_span!("step", i).in_scope(|| {
                if i % 10 == 0 {
                    tracing::error!("step failed");
                }
            });
            drop(root);
            if i % per_tick == per_tick - 1 {
                let due = started + Duration::from_millis((i + 1) / per_tick * 10);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        }
    });
}

/// Distinct spans that reached the receiver, waited for up to `limit`.
fn arrived(receiver: &OtlpReceiver, want: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let ids: HashSet<String> = receiver.spans().iter().map(|s| s.span_id_hex()).collect();
        if ids.len() >= want || Instant::now() >= deadline {
            return ids.len();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the load through a proxy following `schedule`; asserts every span arrived and
/// the exporter came back within [`RECOVERY`] of each outage's end.
fn through_outages(
    name: &str,
    protocol: Protocol,
    schedule: &[(bool, Duration)],
    ops: u64,
    rate: u64,
) {
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let upstream = match protocol {
        Protocol::Grpc => rotel.grpc_addr(),
        _ => rotel.http_addr(),
    };
    let proxy = TcpProxy::start(upstream, schedule);
    let dir = spool_dir(name);
    let observer = spool_builder(&dir)
        .endpoint(format!("http://{}", proxy.addr()))
        .protocol(protocol)
        .build()
        .unwrap();
    let started = Instant::now();
    produce(&observer, ops, rate);
    let produced_in = started.elapsed();
    let report = observer.shutdown(Duration::from_secs(5));
    let spans = (ops * 2) as usize;
    let got = arrived(&receiver, spans, Duration::from_secs(10));
    let recoveries = proxy.recoveries();
    eprintln!(
        "{name}: produced in {produced_in:?}; {got} of {spans} arrived; recoveries {recoveries:?}\n{report}"
    );
    assert_eq!(report.stats.recorded, spans as u64, "{report}");
    assert_eq!(report.stats.dropped.total(), 0, "{report}");
    assert_eq!(got, spans, "every span reached the collector: {report}");
    let outages = schedule.iter().filter(|(up, _)| !up).count();
    assert_eq!(recoveries.len(), outages, "{recoveries:?}");
    for took in &recoveries {
        assert!(
            *took < RECOVERY,
            "back {took:?} after the collector: {recoveries:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const REFUSED_4S: &[(bool, Duration)] = &[(false, Duration::from_secs(4))];

fn up_down_up() -> Vec<(bool, Duration)> {
    vec![
        (true, 2 * SECOND),
        (false, 3 * SECOND),
        (true, 2 * SECOND),
        (false, 3 * SECOND),
    ]
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn refused_for_4s_then_forwarded_every_span_arrives_grpc() {
    through_outages("refused-4s-grpc", Protocol::Grpc, REFUSED_4S, 30_000, 3000);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn refused_for_4s_then_forwarded_every_span_arrives_http() {
    through_outages(
        "refused-4s-http",
        Protocol::HttpProtobuf,
        REFUSED_4S,
        30_000,
        3000,
    );
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn up_2_down_3_up_2_down_3_up_every_span_arrives_grpc() {
    through_outages("flapping-grpc", Protocol::Grpc, &up_down_up(), 30_000, 3000);
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn up_2_down_3_up_2_down_3_up_every_span_arrives_http() {
    through_outages(
        "flapping-http",
        Protocol::HttpProtobuf,
        &up_down_up(),
        30_000,
        3000,
    );
}

/// The collector comes back 10 s into a 12 s run: by the end of `shutdown` every span
/// was delivered, the spooled ones replayed.
#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_collector_back_after_10s_of_12s_gets_every_span_by_the_end_of_shutdown() {
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let proxy = TcpProxy::start(rotel.grpc_addr(), &[(false, 10 * SECOND)]);
    let dir = spool_dir("back-after-10s");
    let observer = spool_builder(&dir)
        .endpoint(format!("http://{}", proxy.addr()))
        .build()
        .unwrap();
    produce(&observer, 12_000, 1000);
    let report = observer.shutdown(Duration::from_secs(5));
    eprintln!(
        "back-after-10s: recoveries {:?}\n{report}",
        proxy.recoveries()
    );
    let s = &report.stats;
    assert_eq!(s.recorded, 24_000, "{report}");
    assert_eq!(s.dropped.total(), 0, "{report}");
    assert!(s.spooled > 0, "the outage was spooled: {report}");
    assert_eq!(s.exported + s.spooled, s.recorded, "{report}");
    assert_eq!(
        s.replayed, s.spooled,
        "every spooled span was replayed: {report}"
    );
    assert_eq!(s.spool.pending_spans, 0, "{report}");
    assert_eq!(
        arrived(&receiver, 24_000, Duration::from_secs(10)),
        24_000,
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The collector is unreachable for the whole run and comes up just before
/// `shutdown`: what the run spooled is replayed by shutdown's end.
#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_collector_up_just_before_shutdown_gets_every_spooled_span_by_its_end() {
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let proxy = TcpProxy::start(rotel.grpc_addr(), &[(false, Duration::from_secs(3600))]);
    let dir = spool_dir("up-before-shutdown");
    let observer = spool_builder(&dir)
        .endpoint(format!("http://{}", proxy.addr()))
        .build()
        .unwrap();
    produce(&observer, 2000, 1000);
    let deadline = Instant::now() + Duration::from_secs(30);
    while observer.stats().spooled == 0 {
        assert!(Instant::now() < deadline, "{:?}", observer.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = observer.stats();
    assert_eq!(before.exported, 0, "{before:?}");
    proxy.come_up();
    let report = observer.shutdown(Duration::from_secs(5));
    eprintln!(
        "up-before-shutdown: spooled before shutdown {}\n{report}",
        before.spooled
    );
    let s = &report.stats;
    assert_eq!(s.recorded, 4000, "{report}");
    assert_eq!(s.dropped.total(), 0, "{report}");
    assert!(s.spooled >= before.spooled, "{report}");
    assert_eq!(
        s.replayed, s.spooled,
        "every spooled span was replayed: {report}"
    );
    assert_eq!(s.spool.pending_spans, 0, "{report}");
    assert_eq!(
        arrived(&receiver, 4000, Duration::from_secs(10)),
        4000,
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
