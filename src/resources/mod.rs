//! Resources: what the process uses, sampled on the worker, and what a span uses,
//! read on the host's threads.
//!
//! - [`ResourceMonitor`] reads the process's CPU time, memory, threads and open file
//!   descriptors; [`SysinfoMonitor`] is the real one, [`NullMonitor`] reads nothing
//!   (no process metrics are exported), and tests plug in their own. The worker samples
//!   it every `resource_interval` and exports OpenTelemetry process metrics.
//! - [`thread_cpu_time`] reads the calling thread's CPU clock: cheap enough to read on
//!   every span enter and exit.
//! - [`CountingAllocator`] counts the bytes and allocations of each thread, so a span
//!   can report what it allocated while entered.
//!
//! ```
//! use tracing_observer::resources::{thread_cpu_time, NullMonitor};
//! // No process metrics:
//! let builder = tracing_observer::Observer::builder().resource_monitor(NullMonitor);
//! // The calling thread's CPU time so far:
//! let cpu = thread_cpu_time();
//! ```

mod alloc;

pub use alloc::{thread_allocations, CountingAllocator, ThreadAllocations};

use crate::metrics::MetricsRegistry;
use metrics::{Counter, Gauge, Unit};
use std::time::{Duration, Instant};

/// One reading of the process's resources.
///
/// ```
/// use tracing_observer::resources::ProcessSample;
/// let sample = ProcessSample {
///     cpu_time: std::time::Duration::from_millis(1500),
///     memory_usage: 64 << 20,
///     ..ProcessSample::default()
/// };
/// assert_eq!(sample.threads, None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessSample {
    /// CPU time consumed since the process started, user and system (`process.cpu.time`).
    pub cpu_time: Duration,
    /// Resident memory, in bytes (`process.memory.usage`).
    pub memory_usage: u64,
    /// Virtual memory, in bytes (`process.memory.virtual`).
    pub memory_virtual: u64,
    /// Threads of the process (`process.thread.count`), where the platform tells.
    pub threads: Option<u64>,
    /// Open file descriptors (`process.unix.file_descriptor.count`), where the platform tells.
    pub open_fds: Option<u64>,
}

/// Reads the process's resources; sampled on the observer's worker every
/// `resource_interval`.
///
/// ```
/// use tracing_observer::resources::{ProcessSample, ResourceMonitor};
///
/// /// A monitor with fixed readings, for deterministic tests.
/// struct Fixed(ProcessSample);
///
/// impl ResourceMonitor for Fixed {
///     fn sample(&mut self) -> Option<ProcessSample> {
///         Some(self.0)
///     }
/// }
///
/// let builder = tracing_observer::Observer::builder()
///     .resource_monitor(Fixed(ProcessSample { memory_usage: 1 << 20, ..Default::default() }));
/// ```
pub trait ResourceMonitor: Send + 'static {
    /// A reading now; `None` when nothing can be read (then no process metric is updated).
    fn sample(&mut self) -> Option<ProcessSample>;
}

/// A monitor that reads nothing: no process metrics are exported.
///
/// ```
/// use tracing_observer::resources::{NullMonitor, ResourceMonitor};
/// assert_eq!(NullMonitor.sample(), None);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NullMonitor;

impl ResourceMonitor for NullMonitor {
    fn sample(&mut self) -> Option<ProcessSample> {
        None
    }
}

/// The process's resources through [`sysinfo`](https://docs.rs/sysinfo); the default monitor.
///
/// ```
/// use tracing_observer::resources::{ResourceMonitor, SysinfoMonitor};
/// let sample = SysinfoMonitor::new().sample().expect("this process can be read");
/// assert!(sample.memory_usage > 0);
/// ```
pub struct SysinfoMonitor {
    system: sysinfo::System,
    pid: Option<sysinfo::Pid>,
}

impl std::fmt::Debug for SysinfoMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SysinfoMonitor")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Default for SysinfoMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl SysinfoMonitor {
    /// A monitor of the current process.
    ///
    /// ```
    /// use tracing_observer::resources::SysinfoMonitor;
    /// let builder = tracing_observer::Observer::builder().resource_monitor(SysinfoMonitor::new());
    /// ```
    pub fn new() -> Self {
        Self {
            system: sysinfo::System::new(),
            pid: sysinfo::get_current_pid().ok(),
        }
    }
}

impl ResourceMonitor for SysinfoMonitor {
    fn sample(&mut self) -> Option<ProcessSample> {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate};
        let pid = self.pid?;
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_tasks(),
        );
        let process = self.system.process(pid)?;
        Some(ProcessSample {
            cpu_time: Duration::from_millis(process.accumulated_cpu_time()),
            memory_usage: process.memory(),
            memory_virtual: process.virtual_memory(),
            threads: process.tasks().map(|tasks| tasks.len() as u64),
            open_fds: process.open_files().map(|n| n as u64),
        })
    }
}

/// The CPU time the calling thread has consumed, from the platform's per-thread clock
/// (`CLOCK_THREAD_CPUTIME_ID` on Unix); `None` where there is none.
///
/// Costs a few tens of nanoseconds (a vDSO call on Linux): read it on enter and exit
/// and add the differences to get the CPU time a span used while entered.
///
/// ```
/// use tracing_observer::resources::thread_cpu_time;
/// if let Some(before) = thread_cpu_time() {
///     let mut x = 0u64;
///     for i in 0..100_000 { x = x.wrapping_add(std::hint::black_box(i)); }
///     assert!(thread_cpu_time().unwrap() >= before);
/// }
/// ```
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc != 0 {
            return None;
        }
        Some(Duration::new(
            u64::try_from(ts.tv_sec).ok()?,
            u32::try_from(ts.tv_nsec).ok()?,
        ))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The process metrics, in the Prometheus spelling of the OpenTelemetry names.
///
/// A series exists once the monitor has given a value for it: [`NullMonitor`] (or a
/// monitor that cannot read the process) exports none, rather than zeros a dashboard
/// would take for readings.
pub(crate) struct ResourceMetrics {
    monitor: Box<dyn ResourceMonitor>,
    last: Option<(Instant, Duration)>,
    cpus: f64,
    /// Registered at the first reading.
    series: Option<ProcessSeries>,
}

/// The series every reading updates, and the two a platform may not provide.
struct ProcessSeries {
    cpu_time: Counter,
    cpu_utilization: Gauge,
    memory_usage: Gauge,
    memory_virtual: Gauge,
    threads: Option<Gauge>,
    open_fds: Option<Gauge>,
}

impl std::fmt::Debug for ResourceMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceMetrics").finish_non_exhaustive()
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
        r.describe_counter(
            CPU_TIME,
            Unit::Seconds,
            "CPU time used by the process, user and system (process.cpu.time).",
        );
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
            cpu_time: r.counter(CPU_TIME, vec![]),
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

impl ResourceMetrics {
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
        // Whole milliseconds: sysinfo's resolution, and what a counter can hold exactly.
        series
            .cpu_time
            .absolute(u64::try_from(sample.cpu_time.as_millis()).unwrap_or(u64::MAX) / 1000);
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
        let mut metrics = ResourceMetrics::new(Box::new(Script(vec![sample(2000), sample(2500)])));
        metrics.cpus = 1.0;
        let t0 = Instant::now();
        metrics.sample(t0, &registry);
        metrics.sample(t0 + Duration::from_secs(1), &registry);
        // The script is empty: nothing changes.
        metrics.sample(t0 + Duration::from_secs(2), &registry);
        let text = registry.render();
        for expected in [
            "process_cpu_time_seconds_total 2",
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
        let mut metrics = ResourceMetrics::new(Box::new(NullMonitor));
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
        let mut metrics = ResourceMetrics::new(Box::new(Script(vec![partial])));
        metrics.sample(Instant::now(), &registry);
        let text = registry.render();
        assert!(text.contains("process_memory_usage_bytes 1000"), "{text}");
        assert!(
            !text.contains(THREADS) && !text.contains(OPEN_FDS),
            "{text}"
        );
    }

    #[test]
    fn sysinfo_reads_this_process() {
        let sample = SysinfoMonitor::new().sample().expect("readable");
        assert!(sample.memory_usage > 0 && sample.memory_virtual >= sample.memory_usage);
        #[cfg(target_os = "linux")]
        {
            assert!(sample.threads.unwrap() >= 1);
            assert!(sample.open_fds.unwrap() >= 3);
        }
    }

    #[cfg(unix)]
    #[test]
    fn thread_cpu_time_counts_busy_not_sleeping() {
        let start = thread_cpu_time().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let slept = thread_cpu_time().unwrap() - start;
        assert!(slept < Duration::from_millis(10), "sleeping used {slept:?}");
        // Busy-loop until the clock shows 30 ms of CPU (bounded: the machine may be busy).
        let start = thread_cpu_time().unwrap();
        let give_up = Instant::now() + Duration::from_secs(10);
        let mut busy = Duration::ZERO;
        while busy < Duration::from_millis(30) && Instant::now() < give_up {
            std::hint::spin_loop();
            busy = thread_cpu_time().unwrap() - start;
        }
        assert!(
            busy >= Duration::from_millis(30),
            "busy looping used only {busy:?}"
        );
    }
}
