use super::*;
use crate::metrics::span::tests::checkout;
use crate::metrics::span::{SpanMetrics, SpanMetricsConfig};
use crate::metrics::MetricsRegistry;
use tracing_core::callsite::{Callsite, Identifier};
use tracing_core::field::FieldSet;
use tracing_core::{Interest, Kind, Level};

const MS: u64 = 1_000_000;

fn collector() -> Buckets {
    Buckets::new(SpanMetricsProfile::Collector)
}

fn tally(capacity: usize) -> SampledOutTally {
    SampledOutTally::new(capacity, SpanMetricsProfile::Collector)
}

/// Distinct callsites (leaked: a callsite is `'static`).
fn callsites(n: usize) -> Vec<&'static Metadata<'static>> {
    struct Site;
    impl Callsite for Site {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            checkout()
        }
    }
    static SITE: Site = Site;
    (0..n)
        .map(|_| {
            let fields = FieldSet::new(&[], Identifier(&SITE));
            let metadata = Metadata::new(
                "generated",
                "test",
                Level::INFO,
                None,
                None,
                None,
                fields,
                Kind::SPAN,
            );
            &*Box::leak(Box::new(metadata))
        })
        .collect()
}

/// Everything a harvest passes on: spans counted per callsite, their samples,
/// and the roots' time.
#[derive(Default)]
struct Harvested {
    spans: HashMap<usize, u64>,
    samples: Vec<(f64, u64)>,
    root_ns: u64,
}

impl Harvested {
    fn total(&self) -> u64 {
        self.spans.values().sum()
    }
}

fn harvest(tally: &SampledOutTally) -> Harvested {
    let mut out = Harvested::default();
    let mut root_ns = 0;
    tally.harvest(
        |metadata, samples| {
            let n: u64 = samples.iter().map(|&(_, n)| n).sum();
            *out.spans
                .entry(std::ptr::from_ref(metadata) as usize)
                .or_default() += n;
            out.samples.extend_from_slice(samples);
        },
        |ns| root_ns += ns,
    );
    out.root_ns = root_ns;
    out
}

#[test]
fn durations_fall_in_the_bucket_the_histogram_gives_their_value() {
    for profile in [SpanMetricsProfile::Collector, SpanMetricsProfile::Tempo] {
        let (bounds, per_unit) = (profile.buckets(), profile.ns_per_unit());
        let buckets = Buckets::new(profile);
        let expected = |ns: u64| {
            let value = ns as f64 / per_unit;
            bounds
                .iter()
                .position(|&b| value <= b)
                .unwrap_or(bounds.len())
        };
        for &bound in bounds {
            let at = (bound * per_unit).round() as u64;
            for ns in [at - 1, at, at + 1, 0, 1, u64::MAX] {
                assert_eq!(buckets.index(ns), expected(ns), "{profile:?} {ns} ns");
            }
        }
        // Every bucket's range holds exactly the values of the spans it counts.
        for index in 0..=bounds.len() {
            let (low, high) = buckets.range(index);
            assert!(low <= high);
            if index > 0 {
                assert!(low > bounds[index - 1], "{profile:?} bucket {index}");
            }
            if index < bounds.len() {
                assert!(high <= bounds[index], "{profile:?} bucket {index}");
            }
        }
    }
}

#[test]
fn samples_stay_in_their_buckets_and_add_up_to_the_total() {
    let buckets = collector();
    let mut counts = [0u64; BUCKETS];
    // 3 spans under 2 ms, 2 between 10 and 50 ms, 1 past the last bound (15 s).
    counts[0] = 3;
    counts[5] = 2;
    counts[MAX_BOUNDS] = 1;
    let total = 1.0 + 1.5 + 0.5 + 20.0 + 30.0 + 40_000.0;
    let mut out = Vec::new();
    let carry = samples_into(&mut out, &buckets, &counts, total);
    assert!(carry.abs() < 1e-6, "{carry}");
    assert_eq!(out.iter().map(|&(_, n)| n).collect::<Vec<_>>(), [3, 2, 1]);
    let sum: f64 = out.iter().map(|&(v, n)| v * n as f64).sum();
    assert!((sum - total).abs() < 1e-6, "{sum}");
    for (&(value, _), index) in out.iter().zip([0, 5, MAX_BOUNDS]) {
        let (low, high) = buckets.range(index);
        assert!((low..=high).contains(&value), "{value} in bucket {index}");
    }
}

#[test]
fn a_total_no_placement_reaches_is_carried() {
    let buckets = collector();
    let mut counts = [0u64; BUCKETS];
    counts[0] = 2; // two spans of at most 2 ms
    let mut out = Vec::new();
    // A sum read ahead of its counts: more than two spans of 2 ms can hold.
    let carry = samples_into(&mut out, &buckets, &counts, 7.0);
    assert_eq!(out, [(2.0, 2)]);
    assert!((carry - 3.0).abs() < 1e-9, "{carry}");
    // Behind: the lowest placement is over the total.
    counts[0] = 0;
    counts[1] = 1; // one span between 2 and 4 ms
    let carry = samples_into(&mut out, &buckets, &counts, 1.0);
    assert_eq!(out.len(), 1);
    assert!(out[0].0 > 2.0 && carry < 0.0 && (out[0].0 + carry - 1.0).abs() < 1e-9);
}

#[test]
fn a_sum_read_ahead_of_its_count_is_given_back_at_the_next_harvest() {
    let tally = tally(16);
    let metadata = checkout();
    assert_eq!(tally.record(metadata, MS, false), Handoff::Taken);
    // What a harvest between the two stores of a span sees: its duration in the
    // sum, not yet in a count.
    let local = LOCAL.with(|local| Arc::clone(&local.borrow()[0].1));
    let slot = local.slots[ThreadTally::home(metadata)].get().unwrap();
    bump(&slot.sum_ns, 3 * MS);
    let first = harvest(&tally);
    assert_eq!(
        first.samples,
        [(2.0, 1)],
        "as much as one span under 2 ms holds"
    );
    bump(&slot.counts[1], 1); // the span's count lands: 3 ms
    let second = harvest(&tally);
    assert_eq!(second.total(), 1);
    let (low, high) = collector().range(1);
    assert!(
        (low..=high).contains(&second.samples[0].0),
        "{:?}",
        second.samples
    );
    // 1 + 3 ms in all, as two spans would have shown (to the nanosecond by which
    // the lowest value of the span's bucket exceeds what was left: carried on).
    let sum: f64 = [first.samples, second.samples]
        .concat()
        .iter()
        .map(|&(v, n)| v * n as f64)
        .sum();
    assert!((sum - 4.0).abs() <= 1.5e-6, "{sum}");
}

#[test]
fn a_harvest_renders_as_recording_every_span_would() {
    let profile = SpanMetricsProfile::Collector;
    let config = SpanMetricsConfig {
        enabled: true,
        profile,
        dimensions: Vec::new(),
        max_series: 100,
        cpu_time: false,
    };
    let durations_ms = [1, 3, 3, 4, 30, 999, 1000, 20_000];
    let tallied = MetricsRegistry::new(&[(profile.duration_name(), profile.buckets())]);
    let mut metrics = SpanMetrics::new(config.clone(), "shop", &tallied);
    let tally = tally(16);
    for ms in durations_ms {
        assert_eq!(tally.record(checkout(), ms * MS, false), Handoff::Taken);
    }
    tally.harvest(
        |metadata, samples| metrics.observe_sampled_out(metadata, samples, &tallied),
        |_| {},
    );
    let one_by_one = MetricsRegistry::new(&[(profile.duration_name(), profile.buckets())]);
    let mut reference = SpanMetrics::new(config, "shop", &one_by_one);
    for ms in durations_ms {
        reference.observe_sampled_out(checkout(), &[(ms as f64, 1)], &one_by_one);
    }
    let lines = |registry: &MetricsRegistry, suffix: &str| -> Vec<String> {
        let text = registry.render();
        text.lines()
            .filter(|l| l.contains(suffix))
            .map(str::to_owned)
            .collect()
    };
    let buckets = lines(&tallied, "_bucket{");
    assert_eq!(buckets.len(), profile.buckets().len() + 1);
    assert_eq!(buckets, lines(&one_by_one, "_bucket{"));
    assert_eq!(lines(&tallied, "_count{"), lines(&one_by_one, "_count{"));
    assert_eq!(
        lines(&tallied, "calls_total{"),
        lines(&one_by_one, "calls_total{")
    );
    let sum = |registry| -> f64 {
        let line = lines(registry, "_sum{").pop().unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!((sum(&tallied) - 22_040.0).abs() < 1e-6, "{}", sum(&tallied));
    assert_eq!(sum(&one_by_one), 22_040.0);
}

#[test]
fn every_thread_tallies_its_own_spans_and_ended_threads_are_forgotten() {
    let tally = tally(16);
    // Registrations one at a time: a thread that finds the list locked hands its
    // span to the shared queue instead (tested below), which is not what this
    // test is about.
    let registering = Mutex::new(());
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    {
                        let _one = registering.lock().unwrap();
                        assert_eq!(tally.record(checkout(), 10, true), Handoff::Taken);
                    }
                    for i in 1..500 {
                        let root = i % 5 == 0;
                        assert_eq!(tally.record(checkout(), 10, root), Handoff::Taken);
                    }
                })
            })
            .collect();
        // Joined one by one: a join returns once the thread has ended, its
        // thread-local tally dropped (the scope's own end may come before that).
        for thread in threads {
            thread.join().unwrap();
        }
    });
    assert_eq!(tally.threads.lock().unwrap().len(), 4);
    let harvested = harvest(&tally);
    assert_eq!(harvested.total(), 2000);
    assert_eq!(harvested.root_ns, 4 * 100 * 10);
    assert!(
        tally.threads.lock().unwrap().is_empty(),
        "the threads ended"
    );
    assert_eq!(harvest(&tally).total(), 0);
    assert_eq!((tally.shared.len(), tally.dropped()), (0, 0));
}

#[test]
fn a_thread_that_finds_the_list_locked_hands_its_span_to_the_shared_queue() {
    let tally = tally(16);
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // The worker (or another thread registering) holds the list: the
                // caller does not wait for it.
                let held = tally.threads.lock().unwrap();
                assert_eq!(tally.record(checkout(), 10, true), Handoff::Taken);
                drop(held);
                assert_eq!(tally.shared.len(), 1);
                assert!(tally.threads.lock().unwrap().is_empty());
                // The next span registers the thread.
                assert_eq!(tally.record(checkout(), 10, true), Handoff::Taken);
                assert_eq!(tally.threads.lock().unwrap().len(), 1);
                let harvested = harvest(&tally);
                assert_eq!(harvested.total(), 2);
                assert_eq!(harvested.root_ns, 20);
            })
            .join()
            .unwrap();
    });
    assert_eq!(tally.dropped(), 0);
}

#[test]
fn a_thread_keeps_the_tallies_of_its_last_observers() {
    let tallies: Vec<SampledOutTally> = (0..TALLIES_PER_THREAD + 1).map(|_| tally(16)).collect();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                for _ in 0..3 {
                    for tally in &tallies[..TALLIES_PER_THREAD] {
                        tally.record(checkout(), 10, false);
                    }
                }
                // Each of the first observers registered this thread once.
                for tally in &tallies[..TALLIES_PER_THREAD] {
                    assert_eq!(tally.threads.lock().unwrap().len(), 1);
                }
                // One more pushes out the least recently used: its spans stay counted.
                tallies[TALLIES_PER_THREAD].record(checkout(), 10, false);
                assert_eq!(harvest(&tallies[0]).total(), 3);
                assert!(tallies[0].threads.lock().unwrap().is_empty());
                tallies[0].record(checkout(), 10, false);
                assert_eq!(harvest(&tallies[0]).total(), 1);
            })
            .join()
            .unwrap();
    });
    for tally in &tallies[1..] {
        assert_eq!(tally.dropped(), 0);
    }
}

#[test]
fn callsites_past_the_table_go_through_the_shared_queue_and_then_are_dropped() {
    let capacity = 64;
    let tally = tally(capacity);
    let sites = callsites(SLOTS + capacity + 10);
    let outcomes: Vec<Handoff> = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                sites
                    .iter()
                    .map(|&site| tally.record(site, 10, true))
                    .collect()
            })
            .join()
            .unwrap()
    });
    let taken = outcomes.iter().filter(|&&h| h != Handoff::Dropped).count();
    let dropped = outcomes.len() - taken;
    assert!(dropped >= 10, "{dropped}");
    assert_eq!(tally.dropped(), dropped as u64);
    assert!(
        outcomes.contains(&Handoff::TakenFilling),
        "a filling queue wakes the worker"
    );
    let harvested = harvest(&tally);
    assert_eq!(
        harvested.total(),
        taken as u64,
        "the table and the queue, all counted"
    );
    assert_eq!(harvested.spans.len(), taken);
    assert_eq!(harvested.root_ns, 10 * taken as u64);
}
