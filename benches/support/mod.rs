//! What the benches share: criterion's settings, read from the environment that
//! `scripts/bench` sets (`BENCH_WARMUP_MS`, `BENCH_MEASURE_MS`, `BENCH_SAMPLES`).

use criterion::Criterion;
use std::time::Duration;

/// Milliseconds from the environment variable `name`, or `default`.
fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default),
    )
}

/// Criterion with the warm-up, measurement time and sample count `scripts/bench` asks for
/// (defaults: 1 s, 3 s, 30 samples; at least 10).
pub fn criterion() -> Criterion {
    let samples = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(30usize)
        .max(10);
    Criterion::default()
        .warm_up_time(env_ms("BENCH_WARMUP_MS", 1000))
        .measurement_time(env_ms("BENCH_MEASURE_MS", 3000))
        .sample_size(samples)
}
