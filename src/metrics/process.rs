//! Process metrics: the worker's readings of a [`ResourceMonitor`] as OpenTelemetry
//! process metrics on the observer's registry.

use super::exposition::FloatCounter;
use super::MetricsRegistry;
use crate::resources::ResourceMonitor;
use metrics::{Gauge, Unit};
use std::time::{Duration, Instant};

/// The process metrics, in the Prometheus spelling of the OpenTelemetry names.
///
/// A series exists once the monitor has given a value for it: [`NullMonitor`] (or a
/// monitor that cannot read the process) exports none, rather than zeros a dashboard
/// would take for readings.
pub(crate) struct ProcessMetrics {
    monitor: Box<dyn ResourceMonitor>,
    last: Option<(Instant, Duration)>,
    cpus: f64,
    /// Registered at the first reading.
    series: Option<ProcessSeries>,
}

/// The series every reading updates, and the two a platform may not provide.
struct ProcessSeries {
    cpu_time: FloatCounter,
    cpu_utilization: Gauge,
    memory_usage: Gauge,
    memory_virtual: Gauge,
    threads: Option<Gauge>,
    open_fds: Option<Gauge>,
}

impl std::fmt::Debug for ProcessMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessMetrics").finish_non_exhaustive()
    }
}

const CPU_TIME: &str = "process_cpu_time_seconds_total";
const CPU_UTILIZATION: &str = "process_cpu_utilization_ratio";
const MEMORY_USAGE: &str = "process_memory_usage_bytes";
const MEMORY_VIRTUAL: &str = "process_memory_virtual_bytes";
const THREADS: &str = "process_threads";
const OPEN_FDS: &str = "process_open_file_descriptors";

impl ProcessSeries {
    fn register(r: &MetricsRegistry) -> Self {
        r.describe_gauge(CPU_UTILIZATION, Unit::Percent, "CPU time used over the last interval divided by wall time and CPUs, 0 to 1 (process.cpu.utilization).");
        r.describe_gauge(
            MEMORY_USAGE,
            Unit::Bytes,
            "Resident memory of the process (process.memory.usage).",
        );
        r.describe_gauge(
            MEMORY_VIRTUAL,
            Unit::Bytes,
            "Virtual memory of the process (process.memory.virtual).",
        );
        Self {
            cpu_time: r.float_counter(
                CPU_TIME,
                Unit::Seconds,
                "CPU time used by the process, user and system (process.cpu.time).",
            ),
            cpu_utilization: r.gauge(CPU_UTILIZATION, vec![]),
            memory_usage: r.gauge(MEMORY_USAGE, vec![]),
            memory_virtual: r.gauge(MEMORY_VIRTUAL, vec![]),
            threads: None,
            open_fds: None,
        }
    }

    /// The gauge in `slot`, registered (and described) the first time it is needed.
    fn optional<'a>(
        slot: &'a mut Option<Gauge>,
        r: &MetricsRegistry,
        name: &'static str,
        help: &'static str,
    ) -> &'a Gauge {
        slot.get_or_insert_with(|| {
            r.describe_gauge(name, Unit::Count, help);
            r.gauge(name, vec![])
        })
    }
}

impl ProcessMetrics {
    pub(crate) fn new(monitor: Box<dyn ResourceMonitor>) -> Self {
        Self {
            monitor,
            last: None,
            cpus: std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
            series: None,
        }
    }

    /// Reads the monitor and updates the metrics on `registry`.
    pub(crate) fn sample(&mut self, now: Instant, registry: &MetricsRegistry) {
        let Some(sample) = self.monitor.sample() else {
            return;
        };
        let series = self
            .series
            .get_or_insert_with(|| ProcessSeries::register(registry));
        series.cpu_time.absolute(sample.cpu_time.as_secs_f64());
        if let Some((then, cpu_then)) = self.last {
            let wall = now.saturating_duration_since(then).as_secs_f64();
            if wall > 0.0 {
                let used = sample.cpu_time.saturating_sub(cpu_then).as_secs_f64();
                series
                    .cpu_utilization
                    .set((used / wall / self.cpus).clamp(0.0, 1.0));
            }
        }
        self.last = Some((now, sample.cpu_time));
        series.memory_usage.set(sample.memory_usage as f64);
        series.memory_virtual.set(sample.memory_virtual as f64);
        if let Some(threads) = sample.threads {
            let help = "Threads of the process (process.thread.count).";
            ProcessSeries::optional(&mut series.threads, registry, THREADS, help)
                .set(threads as f64);
        }
        if let Some(fds) = sample.open_fds {
            let help = "Open file descriptors of the process (process.unix.file_descriptor.count).";
            ProcessSeries::optional(&mut series.open_fds, registry, OPEN_FDS, help).set(fds as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{NullMonitor, ProcessSample};

    struct Script(Vec<ProcessSample>);

    impl ResourceMonitor for Script {
        fn sample(&mut self) -> Option<ProcessSample> {
            (!self.0.is_empty()).then(|| self.0.remove(0))
        }
    }

    #[test]
    fn process_metrics_follow_the_monitor() {
        let registry = MetricsRegistry::new(&[]);
        let sample = |cpu_ms| ProcessSample {
            cpu_time: Duration::from_millis(cpu_ms),
            memory_usage: 1000,
            memory_virtual: 5000,
            threads: Some(4),
            open_fds: Some(9),
        };
        let mut metrics = ProcessMetrics::new(Box::new(Script(vec![sample(2020), sample(2520)])));
        metrics.cpus = 1.0;
        let t0 = Instant::now();
        metrics.sample(t0, &registry);
        metrics.sample(t0 + Duration::from_secs(1), &registry);
        // The script is empty: nothing changes.
        metrics.sample(t0 + Duration::from_secs(2), &registry);
        let text = registry.render();
        for expected in [
            "# TYPE process_cpu_time_seconds_total counter\nprocess_cpu_time_seconds_total 2.52\n",
            "process_cpu_utilization_ratio 0.5",
            "process_memory_usage_bytes 1000",
            "process_memory_virtual_bytes 5000",
            "process_threads 4",
            "process_open_file_descriptors 9",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn no_series_until_the_monitor_reads_something() {
        let registry = MetricsRegistry::new(&[]);
        let mut metrics = ProcessMetrics::new(Box::new(NullMonitor));
        metrics.sample(Instant::now(), &registry);
        assert!(
            !registry.render().contains("process_"),
            "{}",
            registry.render()
        );
        // A platform without thread or descriptor counts gets no such series.
        let partial = ProcessSample {
            memory_usage: 1000,
            ..ProcessSample::default()
        };
        let mut metrics = ProcessMetrics::new(Box::new(Script(vec![partial])));
        metrics.sample(Instant::now(), &registry);
        let text = registry.render();
        assert!(text.contains("process_memory_usage_bytes 1000"), "{text}");
        assert!(
            !text.contains(THREADS) && !text.contains(OPEN_FDS),
            "{text}"
        );
    }
}
