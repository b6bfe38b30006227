//! The interleaved measurement: every configuration in turn within each round, so
//! that a shared machine's noise cancels out (see [`paired`]).

use super::*;

/// Configurations of the interleaved measurements (`no_subscriber` first: the base).
const PAIRED: [Config; 11] = [
    Config::NoSubscriber,
    Config::Floor,
    Config::Minimal,
    Config::TracingOpentelemetry,
    Config::Fastrace,
    Config::TracingObserver,
    Config::TracingObserverSampledOut,
    Config::TracingObserverRatio,
    Config::TracingObserverNoSpanMetrics,
    Config::TracingObserverSampledOutNoSpanMetrics,
    Config::TracingObserverLogs,
];

/// A workload measured interleaved, with how many ops make one ~1 ms turn.
struct PairedWorkload {
    workload: Workload,
    ops_per_turn: u64,
}

/// Measures `workload` so that a shared machine's noise cancels out: rounds in
/// which every configuration runs `ops_per_turn` ops (~1 ms) in turn, in a rotating
/// order; each round's times are divided by those of `no_subscriber`, `floor` and
/// `tracing_opentelemetry` in the same round, and the medians of these ratios over
/// `BENCH_PAIRED_ROUNDS` rounds (default 1000, after 50 warm-up rounds) are
/// reported. Time is the thread's CPU time (what the host thread pays, preemption
/// by other processes excluded); wall time too. The pipelines stay alive throughout
/// (their export threads run on the other CPU) and are then shut down and counted.
/// Prints one `paired:` line per configuration (and, for `cpu_50us`, the observer's
/// self-reported overhead ratio).
fn paired(spec: &PairedWorkload) {
    let workload = spec.workload;
    let rounds: usize = env_num("BENCH_PAIRED_ROUNDS", 1000);
    let ops = spec.ops_per_turn;
    let built: Vec<(Config, Option<Dispatch>, Sink)> = PAIRED
        .iter()
        .map(|&config| {
            let (dispatch, sink) = config.build();
            (config, dispatch, sink)
        })
        .collect();
    let n = built.len();
    let index = |c: Config| PAIRED.iter().position(|p| p.name() == c.name());
    let (floor_i, otel_i) = (
        index(Config::Floor).expect("floor"),
        index(Config::TracingOpentelemetry).expect("otel"),
    );
    // Per configuration: ratios to no_subscriber (cpu, wall), to floor, otel ÷ it, cpu ns/op.
    let mut samples: Vec<[Vec<f64>; 5]> = (0..n).map(|_| Default::default()).collect();
    let mut produced = vec![0u64; n];
    for round in 0..rounds + 50 {
        let mut times = vec![(0u64, 0u64); n];
        for k in 0..n {
            let i = (k + round) % n;
            let (config, dispatch, _) = &built[i];
            let op = match config {
                Config::Fastrace => workload.fastrace_op,
                _ => workload.op,
            };
            let body = || {
                let wall_start = Instant::now();
                let cpu_start = thread_cpu_ns();
                for _ in 0..ops {
                    op();
                }
                (
                    (thread_cpu_ns() - cpu_start).max(1),
                    (wall_start.elapsed().as_nanos() as u64).max(1),
                )
            };
            times[i] = match dispatch {
                Some(dispatch) => tracing::dispatcher::with_default(dispatch, body),
                None => body(),
            };
            produced[i] += ops;
        }
        if round < 50 {
            continue;
        }
        for i in 0..n {
            let (cpu, wall) = (times[i].0 as f64, times[i].1 as f64);
            let s = &mut samples[i];
            s[0].push(cpu / times[0].0 as f64 - 1.0);
            s[1].push(wall / times[0].1 as f64 - 1.0);
            s[2].push(cpu / times[floor_i].0 as f64);
            s[3].push(times[otel_i].0 as f64 / cpu);
            s[4].push(cpu / ops as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, (config, dispatch, sink)) in built.into_iter().enumerate() {
        let s = &mut samples[i];
        let [cpu, wall, floor, otel, ns] = [
            median(&mut s[0]),
            median(&mut s[1]),
            median(&mut s[2]),
            median(&mut s[3]),
            median(&mut s[4]),
        ];
        let overhead_ratio = sink.overhead_ratio();
        drop(dispatch);
        eprintln!(
            "paired: group={} config={} rounds={rounds} ops_per_round={ops} cpu_ns_per_op={ns:.1} \
             cpu_overhead={cpu:.6} wall_overhead={wall:.6} vs_floor={floor:.4} faster_than_otel={otel:.4}",
            workload.name,
            config.name(),
        );
        if workload.name == "cpu_50us" && matches!(config, Config::TracingObserver) {
            if let Some(r) = overhead_ratio {
                eprintln!("paired: group=cpu_50us self_reported_overhead_ratio={r:.6}");
            }
        }
        let counted = Workload {
            name: match workload.name {
                "simple" => "simple_paired",
                "nested" => "nested_paired",
                _ => "cpu_50us_paired",
            },
            ..workload
        };
        sink.shutdown_and_report(
            counted,
            config,
            Extra {
                ops: produced[i],
                base_rss_kb: None,
                overhead_ratio: None,
            },
        );
    }
}

pub(crate) fn paired_all() {
    let specs = [
        PairedWorkload {
            workload: WORKLOADS[0],
            ops_per_turn: 1000,
        },
        PairedWorkload {
            workload: WORKLOADS[1],
            ops_per_turn: 400,
        },
        PairedWorkload {
            workload: WORKLOADS[2],
            ops_per_turn: 20,
        },
        PairedWorkload {
            workload: WORKLOADS[3],
            ops_per_turn: 250,
        },
    ];
    let only = std::env::var("BENCH_PAIRED_WORKLOADS").unwrap_or_default();
    for spec in &specs {
        if !only.is_empty() && !only.split(',').any(|w| w == spec.workload.name) {
            continue;
        }
        paired(spec);
    }
}
