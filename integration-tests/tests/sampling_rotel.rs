//! Sampling rules through the real collector: a rate-limited rule keeps about its
//! rate over a timed run, every failing span is still kept by the error rule, and
//! span metrics count every span whatever was sampled out.
//!
//! Needs `rotel-agent` (`scripts/test` installs it and sets `$ROTEL_AGENT`).

mod common;

use std::time::{Duration, Instant};

use common::{builder, dispatch, SHUTDOWN, WAIT};
use integration_tests::{attr_str, OtlpReceiver, Rotel};
use tracing_observer::SamplingRule;

/// Traces per second the `tick` rule admits.
const RATE: f64 = 40.0;
/// How long the host produces spans.
const RUN: Duration = Duration::from_millis(1500);
/// Every this many ticks fails.
const FAIL_EVERY: u64 = 97;

#[tracing::instrument(fields(n))]
fn tick(n: u64) {
    if n % FAIL_EVERY == FAIL_EVERY - 1 {
        tracing::error!(n, "tick failed");
    }
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn a_rate_limited_rule_keeps_its_rate_and_every_error_through_rotel() {
    let receiver = OtlpReceiver::start();
    let rotel = Rotel::start(&receiver.endpoint());
    let observer = builder()
        .service_name("sampling-rotel")
        .endpoint(rotel.grpc_endpoint())
        .sampling_rule(SamplingRule::name("tick").rate_limit(RATE))
        .scheduled_delay(Duration::from_millis(50))
        .build()
        .expect("observer builds");

    let dispatch = dispatch(&observer);
    let (produced, failed, elapsed) = tracing::dispatcher::with_default(&dispatch, || {
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < RUN {
            tick(n);
            n += 1;
            if n.is_multiple_of(64) {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        (n, n / FAIL_EVERY, started.elapsed())
    });
    let report = observer.shutdown(SHUTDOWN);
    assert!(report.is_lossless(), "{report}");
    let exported = report.stats.exported as usize;
    let spans = receiver.wait_for_spans(exported, WAIT);
    assert_eq!(spans.len(), exported, "rotel output:\n{}", rotel.logs());

    let errors = spans.iter().filter(|s| s.is_error()).count() as u64;
    let kept_by_error = spans
        .iter()
        .filter(|s| attr_str(*s, "observer.sampling.kept_by").as_deref() == Some("error"))
        .count() as u64;
    let admitted = spans.iter().filter(|s| !s.is_error()).count() as f64;
    // The token bucket admits the rate over the run plus one second of burst; a
    // failing span the rule admitted arrives as an ordinary ERROR span.
    let ceiling = RATE * (elapsed.as_secs_f64() + 1.0) + 1.0;
    eprintln!(
        "produced={produced} failed={failed} elapsed={elapsed:?} admitted={admitted} \
         errors={errors} kept_by_error={kept_by_error} ceiling={ceiling:.0}"
    );
    assert!(
        produced > 20 * ceiling as u64,
        "the host outran the limit: {produced}"
    );
    assert_eq!(errors, failed, "every failing tick arrives");
    assert!(kept_by_error >= failed - (ceiling as u64 / FAIL_EVERY + 2));
    assert!(
        admitted <= ceiling,
        "{admitted} admitted, at most {ceiling:.0}"
    );
    assert!(
        admitted >= RATE * elapsed.as_secs_f64() * 0.5,
        "{admitted} admitted over {elapsed:?} at {RATE}/s"
    );

    // Span metrics count every tick, sampled out or not.
    let metrics = observer.metrics_text();
    let calls: f64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("traces_span_metrics_calls_total{") && l.contains(r#"span_name="tick""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(calls, produced as f64, "{metrics}");
}
