//! Delivery across collector outages and crashes: retry, circuit breaker, disk
//! spool and replay, with shrunk limits (short breaker timeout, short backoff,
//! fast fsync) instead of long sleeps.
//!
//! The `rotel` tests need `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{dispatch, spool_builder, spool_dir, SHUTDOWN, WAIT};
use integration_tests::{
    attr_i64, attr_str, flatten_spans, http_get, metric_sample, Behavior, OtlpReceiver,
    ReceivedSpan, Rotel,
};
use tracing_observer::{config::RetryPolicy, Observer, ObserverBuilder, ShutdownReport};

/// Settings that make outages short to test: quick retries, a breaker that opens
/// after 2 failures and probes after 200 ms, small batches, fast fsync.
fn outage_builder(dir: &Path, endpoint: &str) -> ObserverBuilder {
    spool_builder(dir)
        .endpoint(endpoint)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(100))
                .max_elapsed_time(Duration::from_millis(300)),
        )
        .circuit_breaker_threshold(2)
        .circuit_breaker_timeout(Duration::from_millis(200))
        .request_timeout(Duration::from_millis(500))
        .export_timeout(Duration::from_secs(1))
        .scheduled_delay(Duration::from_millis(50))
        .max_export_batch_size(20)
        .spool_sync_interval(Duration::from_millis(20))
}

/// Produces `n` spans named `op-<i>`, `per_tick` at a time, pausing `tick` in between.
fn produce(observer: &Observer, range: std::ops::Range<usize>, per_tick: usize, tick: Duration) {
    let dispatch = dispatch(observer);
    tracing::dispatcher::with_default(&dispatch, || {
        for i in range {
            let _span = tracing::info_span!("op", i = i as u64).entered();
            if i % per_tick == per_tick - 1 {
                std::thread::sleep(tick);
            }
        }
    });
}

/// Distinct spans by span id, and how many arrived more than once.
fn unique(spans: &[ReceivedSpan]) -> (usize, usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for span in spans {
        *seen.entry(span.span_id_hex()).or_default() += 1;
    }
    let duplicates = seen.values().map(|n| n - 1).sum();
    (seen.len(), duplicates)
}

/// Waits until `n` distinct spans arrived.
fn wait_unique(receiver: &OtlpReceiver, n: usize, timeout: Duration) -> (usize, usize) {
    let deadline = Instant::now() + timeout;
    loop {
        let counts = unique(&receiver.spans());
        if counts.0 >= n || Instant::now() >= deadline {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_nothing_lost(report: &ShutdownReport) {
    let s = &report.stats;
    assert_eq!(s.dropped.total(), 0, "{report}");
    assert_eq!(s.recorded, s.exported + s.spooled, "{report}");
}

fn figures(label: &str, produced: usize, report: &ShutdownReport, duplicates: usize) {
    let s = &report.stats;
    eprintln!(
        "{label}: produced={produced} exported={} spooled={} replayed={} dropped={} duplicates={duplicates} retries={}",
        s.exported,
        s.spooled,
        s.replayed,
        s.dropped.total(),
        s.export_retries
    );
}

#[test]
#[ignore = "needs rotel-agent ($ROTEL_AGENT); run by scripts/test"]
fn collector_down_from_the_start_then_started_every_span_arrives() {
    const SPANS: usize = 400;
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    rotel.stop();
    let dir = spool_dir("down-from-start");
    let observer = outage_builder(&dir, &rotel.grpc_endpoint())
        .build()
        .unwrap();
    produce(&observer, 0..SPANS / 2, 20, Duration::from_millis(10));
    // Everything so far is in the spool (or still retrying): nothing arrived.
    assert_eq!(receiver.span_count(), 0);
    rotel.restart();
    produce(&observer, SPANS / 2..SPANS, 20, Duration::from_millis(10));
    let (arrived, duplicates) = wait_unique(&receiver, SPANS, WAIT * 3);
    let report = observer.shutdown(SHUTDOWN);
    figures("down-from-start", SPANS, &report, duplicates);
    assert_eq!(arrived, SPANS, "{report}");
    assert_nothing_lost(&report);
    assert!(report.stats.spooled > 0, "{report}");
    assert_eq!(report.stats.recorded, SPANS as u64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs rotel-agent ($ROTEL_AGENT); run by scripts/test"]
fn collector_killed_mid_run_and_restarted_loses_nothing() {
    const SPANS: usize = 600;
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let dir = spool_dir("killed-mid-run");
    let observer = outage_builder(&dir, &rotel.grpc_endpoint())
        .build()
        .unwrap();
    produce(&observer, 0..200, 20, Duration::from_millis(10));
    rotel.stop();
    produce(&observer, 200..400, 20, Duration::from_millis(10));
    rotel.restart();
    produce(&observer, 400..SPANS, 20, Duration::from_millis(10));
    let (arrived, duplicates) = wait_unique(&receiver, SPANS, WAIT * 3);
    let report = observer.shutdown(SHUTDOWN);
    figures("killed-mid-run", SPANS, &report, duplicates);
    // rotel (SIGKILLed) may have lost what it had accepted but not forwarded: that is
    // the collector's loss, not ours; everything this process handled is accounted for.
    assert_nothing_lost(&report);
    assert!(arrived >= SPANS - 60, "{arrived} of {SPANS}: {report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hanging_collector_opens_the_breaker_without_slowing_the_host_then_replays() {
    const SPANS: usize = 300;
    let receiver = OtlpReceiver::start_with(Behavior::Hang);
    let dir = spool_dir("hanging");
    let observer = outage_builder(&dir, &receiver.endpoint())
        .request_timeout(Duration::from_millis(150))
        .export_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let started = Instant::now();
    produce(&observer, 0..SPANS, 1000, Duration::ZERO);
    let host_time = started.elapsed();
    assert!(
        host_time < Duration::from_millis(500),
        "host slowed: {host_time:?}"
    );
    observer.force_flush(WAIT).unwrap();
    let stats = observer.stats();
    assert_eq!(stats.spooled, SPANS as u64, "{stats:?}");
    // The breaker opened: far fewer attempts than batches times retries.
    assert!(stats.export_failures <= 12, "{stats:?}");
    receiver.set_behavior(Behavior::Accept);
    let (arrived, duplicates) = wait_unique(&receiver, SPANS, WAIT);
    let report = observer.shutdown(SHUTDOWN);
    figures("hanging", SPANS, &report, duplicates);
    assert_eq!(arrived, SPANS, "{report}");
    assert_eq!(report.stats.replayed, SPANS as u64, "{report}");
    assert_eq!(report.stats.spool.pending_spans, 0, "{report}");
    assert_nothing_lost(&report);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of the Prometheus sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> f64 {
    metric_sample(text, series).unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

#[test]
fn an_outage_shows_in_the_spool_metrics_and_health_then_replay_drains_them() {
    const SPANS: usize = 120;
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let dir = spool_dir("metrics");
    let observer = outage_builder(&dir, &receiver.endpoint())
        .http_addr("127.0.0.1:0".parse().unwrap())
        .spool_max_bytes(64 << 20)
        .build()
        .unwrap();
    let addr = observer.http_addr().unwrap();
    let get = |path: &str| http_get(addr, path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    produce(&observer, 0..SPANS, 1000, Duration::ZERO);
    observer.force_flush(WAIT).unwrap();
    assert_eq!(observer.stats().spooled, SPANS as u64);

    let metrics = get("/metrics").body;
    assert_eq!(
        sample(&metrics, "tracing_observer_spans_spooled_total"),
        SPANS as f64
    );
    assert_eq!(
        sample(&metrics, "tracing_observer_spool_pending_spans"),
        SPANS as f64
    );
    assert!(
        sample(&metrics, "tracing_observer_spool_bytes") > 0.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "tracing_observer_spool_segments") >= 1.0,
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "tracing_observer_spool_capacity_bytes"),
        (64 << 20) as f64
    );
    assert!(
        sample(&metrics, "tracing_observer_export_retries_total") >= 1.0,
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "tracing_observer_spool_replayed_total"),
        0.0
    );
    let health = get("/health").json();
    let spool = health["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "spool")
        .unwrap_or_else(|| panic!("no spool component: {health}"))
        .clone();
    assert_eq!(spool["status"], "HEALTHY", "{health}");
    assert!(
        spool["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("bytes used, {SPANS} spans waiting for replay")),
        "{health}"
    );

    receiver.set_behavior(Behavior::Accept);
    let (arrived, _) = wait_unique(&receiver, SPANS, WAIT);
    assert_eq!(arrived, SPANS);
    let deadline = Instant::now() + WAIT;
    let metrics = loop {
        let metrics = get("/metrics").body;
        let replayed = sample(&metrics, "tracing_observer_spool_replayed_total");
        if replayed == SPANS as f64 || Instant::now() >= deadline {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        sample(&metrics, "tracing_observer_spool_replayed_total"),
        SPANS as f64
    );
    assert_eq!(
        sample(&metrics, "tracing_observer_spool_pending_spans"),
        0.0
    );
    let report = observer.shutdown(SHUTDOWN);
    assert_nothing_lost(&report);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Produces spans named `name`, `per_tick` every `tick`, until `stop` is set; returns how many.
fn produce_until(
    observer: &Observer,
    name: &'static str,
    per_tick: u64,
    tick: Duration,
    stop: &AtomicBool,
) -> u64 {
    let mut produced = 0;
    tracing::dispatcher::with_default(&dispatch(observer), || {
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..per_tick {
                let _span = tracing::info_span!("span", phase = name, i = produced).entered();
                produced += 1;
            }
            std::thread::sleep(tick);
        }
    });
    produced
}

#[test]
fn replay_of_a_large_backlog_does_not_starve_live_spans() {
    const BACKLOG: u64 = 10_000; // 500 batches of 20, replayed one at a time
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let dir = spool_dir("pacing");
    let observer = outage_builder(&dir, &receiver.endpoint())
        .spool_max_bytes(256 << 20)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch(&observer), || {
        for i in 0..BACKLOG {
            let _span = tracing::info_span!("span", phase = "backlog", i).entered();
        }
    });
    observer.force_flush(WAIT).unwrap();
    assert_eq!(
        observer.stats().spooled,
        BACKLOG,
        "the backlog is in the spool"
    );

    // The collector is back. Until a probe closes the breaker, batches still go to the
    // spool (behind the backlog, oldest first); once the first replayed batch is
    // acknowledged (the probe: the breaker is closed), live spans are produced while
    // the rest of the backlog replays.
    receiver.set_behavior(Behavior::Accept);
    assert!(
        wait_for(WAIT, || observer.stats().replayed > 0),
        "replay started"
    );
    let stop = AtomicBool::new(false);
    let live = std::thread::scope(|scope| {
        let producer =
            scope.spawn(|| produce_until(&observer, "live", 20, Duration::from_millis(10), &stop));
        let replayed = wait_for(WAIT * 3, || {
            observer.stats().spool.pending_spans == 0 && observer.stats().replayed >= BACKLOG
        });
        stop.store(true, Ordering::Relaxed);
        assert!(replayed, "the backlog replayed: {:?}", observer.stats());
        producer.join().unwrap()
    });
    let (arrived, duplicates) = wait_unique(&receiver, (BACKLOG + live) as usize, WAIT);
    let report = observer.shutdown(SHUTDOWN);
    figures("pacing", (BACKLOG + live) as usize, &report, duplicates);
    assert_eq!(arrived as u64, BACKLOG + live, "{report}");
    assert_eq!(duplicates, 0, "{report}");
    assert_nothing_lost(&report);
    assert_eq!(report.stats.replayed, report.stats.spooled, "{report}");

    // In arrival order: which request held the first live span, and the last of the backlog.
    let requests = receiver.requests();
    let holds = |request: &_, phase: &str, first_only: bool| {
        flatten_spans([request]).iter().any(|span| {
            attr_str(span, "phase").as_deref() == Some(phase)
                && (!first_only || attr_i64(span, "i") == Some(0))
        })
    };
    let first_live = requests
        .iter()
        .position(|r| holds(r, "live", true))
        .expect("the first live span arrived");
    let last_backlog = requests
        .iter()
        .rposition(|r| holds(r, "backlog", false))
        .expect("the backlog arrived");
    let live_during_replay = requests[..last_backlog]
        .iter()
        .filter(|r| holds(r, "live", false))
        .count();
    eprintln!(
        "pacing: {} requests, first live span in #{first_live}, last backlog batch #{last_backlog}, \
         {live_during_replay} live batches during replay",
        requests.len()
    );
    assert!(
        first_live < last_backlog,
        "the first live span (request #{first_live}) waited for the whole backlog (last #{last_backlog})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls `done` until it holds or `limit` passes; returns whether it held.
fn wait_for(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn spooled_batches_are_replayed_at_the_next_start() {
    const SPANS: usize = 100;
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let dir = spool_dir("next-start");
    let observer = outage_builder(&dir, &receiver.endpoint()).build().unwrap();
    produce(&observer, 0..SPANS, 1000, Duration::ZERO);
    let first = observer.shutdown(SHUTDOWN);
    assert_eq!(first.stats.spooled, SPANS as u64, "{first}");
    assert_eq!(receiver.span_count(), 0);
    receiver.set_behavior(Behavior::Accept);
    let observer = outage_builder(&dir, &receiver.endpoint()).build().unwrap();
    let (arrived, _) = wait_unique(&receiver, SPANS, WAIT);
    let second = observer.shutdown(SHUTDOWN);
    assert_eq!(arrived, SPANS, "{second}");
    assert_eq!(second.stats.replayed, SPANS as u64, "{second}");
    assert_eq!(
        second.stats.spool.recovered_batches,
        first.stats.spool.pending_batches
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_no_exporter_every_span_is_spooled_and_nothing_is_sent() {
    const SPANS: usize = 100;
    let receiver = OtlpReceiver::start();
    let dir = spool_dir("no-exporter");
    // A collector is configured and up, but `OTEL_TRACES_EXPORTER=none` says not to use it.
    let no_exporter = || {
        outage_builder(&dir, &receiver.endpoint())
            .environment([(tracing_observer::config::vars::OTEL_TRACES_EXPORTER, "none")])
            .build()
            .unwrap()
    };
    let observer = no_exporter();
    produce(&observer, 0..SPANS, 1000, Duration::ZERO);
    observer.force_flush(WAIT).unwrap();
    std::thread::sleep(Duration::from_millis(300)); // replay rounds, were there any
    let first = observer.shutdown(SHUTDOWN);
    let s = &first.stats;
    assert_eq!(s.recorded, SPANS as u64, "{first}");
    assert_eq!(s.spooled, SPANS as u64, "{first}");
    assert_eq!((s.exported, s.replayed), (0, 0), "{first}");
    assert_eq!(s.dropped.total(), 0, "{first}");
    assert_eq!(s.export_requests, 0, "no export attempted: {first}");
    assert_eq!(s.spool.pending_spans, SPANS as u64, "{first}");
    assert_eq!(receiver.attempts(), 0);
    assert_eq!(
        tracing_observer::spool::summary(&dir).unwrap().spans,
        SPANS as u64
    );

    // The next start without an exporter replays nothing either.
    let observer = no_exporter();
    std::thread::sleep(Duration::from_millis(300));
    let second = observer.shutdown(SHUTDOWN);
    assert_eq!(second.stats.replayed, 0, "{second}");
    assert_eq!(second.stats.spool.pending_spans, SPANS as u64, "{second}");
    assert_eq!(receiver.attempts(), 0);

    // With an exporter, the spool is delivered.
    let observer = outage_builder(&dir, &receiver.endpoint()).build().unwrap();
    let (arrived, duplicates) = wait_unique(&receiver, SPANS, WAIT);
    let third = observer.shutdown(SHUTDOWN);
    assert_eq!((arrived, duplicates), (SPANS, 0), "{third}");
    assert_eq!(third.stats.replayed, SPANS as u64, "{third}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_process_on_the_same_spool_is_refused_and_counted() {
    let dir = spool_dir("locked");
    let receiver = OtlpReceiver::start();
    let first = outage_builder(&dir, &receiver.endpoint()).build().unwrap();
    first.force_flush(WAIT).unwrap();
    let second = outage_builder(&dir, &receiver.endpoint()).build().unwrap();
    second.force_flush(WAIT).unwrap();
    let stats = second.stats();
    assert!(!stats.spool.enabled);
    assert_eq!(stats.spool.errors.get("locked"), Some(&1), "{stats:?}");
    assert!(first.stats().spool.enabled);
    drop(second);
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Env var that turns the SIGKILL test's binary into the child that spools.
const CHILD_DIR: &str = "DELIVERY_TEST_SPOOL_CHILD_DIR";

/// The child: spools forever (no collector), printing `SYNCED n` once `n` spans are
/// spooled and fsynced; the parent kills it while it keeps spooling.
#[test]
fn spool_child_process() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return; // Only meaningful as the child of the SIGKILL test.
    };
    // Port 9 (discard) on localhost: nothing listens, connections are refused.
    let observer = outage_builder(Path::new(&dir), "http://127.0.0.1:9")
        .build()
        .unwrap();
    let mut next = 0;
    let mut reported = false;
    loop {
        produce(&observer, next..next + 20, 20, Duration::from_millis(5));
        next += 20;
        let stats = observer.stats();
        if !reported && stats.spooled >= 200 {
            // Wait for an fsync after these appends before telling the parent.
            let syncs = stats.spool.syncs;
            while observer.stats().spool.syncs == syncs {
                std::thread::sleep(Duration::from_millis(5));
            }
            println!("SYNCED {}", stats.spooled);
            reported = true;
        }
    }
}

#[test]
fn process_killed_while_spooling_replays_every_fsynced_batch_on_restart() {
    let dir = spool_dir("sigkill");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "spool_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let synced: u64 = stdout
        .lines()
        .map_while(Result::ok)
        // The line may follow libtest's `test spool_child_process ... `.
        .find_map(|line| {
            line.split("SYNCED ")
                .nth(1)
                .map(|n| n.trim().parse().unwrap())
        })
        .expect("the child reports what it synced");
    std::thread::sleep(Duration::from_millis(30)); // Killed mid-spooling.
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let receiver = OtlpReceiver::start();
    let observer = outage_builder(&dir, &receiver.endpoint()).build().unwrap();
    let (arrived, duplicates) = wait_unique(&receiver, synced as usize, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    let report = observer.shutdown(SHUTDOWN);
    eprintln!(
        "sigkill: synced={synced} arrived={arrived} duplicates={duplicates} recovered_batches={} truncated_bytes={}",
        report.stats.spool.recovered_batches, report.stats.spool.truncated_bytes
    );
    assert!(arrived as u64 >= synced, "{arrived} < {synced}: {report}");
    assert_eq!(duplicates, 0, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
