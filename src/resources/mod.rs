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

use std::time::Duration;

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
            // sysinfo lists the process's other threads: its own id (the main thread)
            // is the process, not one of its tasks.
            threads: process.tasks().map(|tasks| tasks.len() as u64 + 1),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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
