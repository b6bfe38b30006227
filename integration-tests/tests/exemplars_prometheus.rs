//! Exemplars through a real Prometheus: it scrapes the observer's `/metrics` as
//! OpenMetrics (`--enable-feature=exemplar-storage`), and `query_exemplars` on the
//! span-metrics duration histogram answers trace ids of spans the collector (the
//! in-process OTLP receiver) received. Without that `Accept`, `/metrics` stays the
//! Prometheus text format, without exemplars. Event metrics scrape the same way.
//!
//! Needs `prometheus` (`scripts/test` installs it and sets `$PROMETHEUS`).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{builder_for, observe, WAIT};
use integration_tests::{http_get, http_get_with, OtlpReceiver, Prometheus};
use tracing_observer::config::Protocol;

const DURATION: &str = "traces_span_metrics_duration_milliseconds";
const SPANS: usize = 40;

#[test]
#[ignore = "needs prometheus; run scripts/test"]
fn prometheus_stores_exemplars_with_trace_ids_the_collector_received() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let addr = observer.http_addr().unwrap();
    observe(&observer, || {
        for i in 0..SPANS {
            let span = tracing::info_span!("handle", i);
            span.in_scope(|| {
                std::thread::sleep(Duration::from_micros(200 * (i as u64 % 5)));
                // Event metrics are in the same exposition.
                tracing::info!(monotonic_counter.orders = 1_u64, histogram.order.value = i);
            });
        }
    });
    observer.force_flush(WAIT).unwrap();
    let received: HashSet<String> = receiver
        .wait_for_spans(SPANS, WAIT)
        .iter()
        .map(|s| s.trace_id_hex())
        .collect();
    assert_eq!(received.len(), SPANS);

    // The plain scrape has no exemplars; the OpenMetrics one does.
    let plain = http_get(addr, "/metrics").unwrap();
    assert!(plain
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(!plain.body.contains("trace_id="), "{}", plain.body);
    let accept = [("Accept", "application/openmetrics-text;version=1.0.0")];
    let open = http_get_with(addr, "/metrics", &accept).unwrap();
    assert!(
        open.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        open.headers
    );
    assert!(open.body.ends_with("# EOF\n"));
    assert!(open.body.contains("_bucket{") && open.body.contains(" # {trace_id=\""));

    let prometheus = Prometheus::start_with_flags(
        &[("observer", &[addr])],
        &["--enable-feature=exemplar-storage"],
    );
    // Scraped cleanly, as OpenMetrics.
    let up = prometheus.query_until("up{job=\"observer\"}", WAIT, |r| {
        r.first().is_some_and(|s| s["value"][1] == "1")
    });
    assert_eq!(up[0]["value"][1], "1", "{up:?}\n{}", prometheus.logs());
    let orders = prometheus.query_until("orders_total", WAIT, |r| !r.is_empty());
    assert_eq!(orders[0]["value"][1], SPANS.to_string(), "{orders:?}");
    let values = prometheus.query("order_value_count");
    assert_eq!(values[0]["value"][1], SPANS.to_string(), "{values:?}");
    let deadline = Instant::now() + WAIT;
    let stored: HashSet<String> = loop {
        let data = prometheus.query_exemplars(&format!("{DURATION}_bucket"));
        let ids: HashSet<String> = data
            .iter()
            .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect();
        if !ids.is_empty() || Instant::now() > deadline {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        !stored.is_empty(),
        "no exemplars stored; log:\n{}",
        prometheus.logs()
    );
    let unknown: Vec<&String> = stored.difference(&received).collect();
    assert!(
        unknown.is_empty(),
        "exemplars of traces the collector never received: {unknown:?}"
    );
    // Each stored exemplar carries a span id too, and its value lies in the histogram's range.
    let data = prometheus.query_exemplars(&format!("{DURATION}_bucket"));
    for exemplar in data
        .iter()
        .flat_map(|s| s["exemplars"].as_array().cloned().unwrap())
    {
        assert_eq!(exemplar["labels"]["span_id"].as_str().unwrap().len(), 16);
        let value: f64 = exemplar["value"].as_str().unwrap().parse().unwrap();
        assert!((0.0..1000.0).contains(&value), "{exemplar}");
    }
    observer.shutdown(WAIT);
}
