//! The process metrics against the kernel's own figures in `/proc`: the thread count
//! (`/proc/self/status` `Threads:`) and the CPU time (`/proc/self/stat` utime + stime).
//!
//! One test in its own binary, so that no other test starts or ends threads while
//! the counts are compared.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};
use tracing_observer::export::InMemoryExporter;
use tracing_observer::resources::{ResourceMonitor, SysinfoMonitor};
use tracing_observer::Observer;

/// `Threads:` of `/proc/self/status`.
fn proc_threads() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line["Threads:".len()..].trim().parse().unwrap()
}

/// utime + stime of `/proc/self/stat`, in seconds.
fn proc_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command name, which may hold spaces: field 3 (state) first.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks as f64 / per_second as f64
}

/// The value of the sample line `name value` in a Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn burn_cpu(at_least: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < at_least {
        x = x.wrapping_add(std::hint::black_box(1));
    }
    std::hint::black_box(x);
}

#[test]
fn process_metrics_match_proc() {
    // Threads that stay parked until the end, so the process has a few more than the harness.
    let (stop, wait) = std::sync::mpsc::channel::<()>();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
    let parked: Vec<_> = (0..3)
        .map(|_| {
            let wait = wait.clone();
            std::thread::spawn(move || {
                let _ = wait.lock().unwrap().recv();
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));

    let before = proc_threads();
    let read = SysinfoMonitor::new().sample().unwrap();
    assert_eq!(
        before,
        proc_threads(),
        "the thread count moved during the test"
    );
    assert_eq!(read.threads, Some(before), "the monitor's thread count");

    // CPU time with its fractions: what the monitor reads lies between two /proc reads.
    burn_cpu(Duration::from_millis(120));
    let cpu_before = proc_cpu_seconds();
    let read = SysinfoMonitor::new()
        .sample()
        .unwrap()
        .cpu_time
        .as_secs_f64();
    let cpu_after = proc_cpu_seconds();
    assert!(
        (cpu_before - 0.001..=cpu_after + 0.001).contains(&read),
        "monitor {read} s, /proc {cpu_before}..{cpu_after} s"
    );

    // The same figures through an observer's registry, as `/metrics` shows them.
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .exporter(InMemoryExporter::counting())
        .resource_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    burn_cpu(Duration::from_millis(60));
    let cpu_floor = proc_cpu_seconds();
    let give_up = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = observer.metrics_text();
        let cpu = sample(&text, "process_cpu_time_seconds_total");
        if cpu.is_some_and(|cpu| cpu >= cpu_floor - 0.001) || Instant::now() > give_up {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let cpu_ceiling = proc_cpu_seconds();
    let threads = proc_threads();
    let cpu = sample(&text, "process_cpu_time_seconds_total").expect(&text);
    assert!(
        (cpu_floor - 0.001..=cpu_ceiling + 0.001).contains(&cpu),
        "process_cpu_time_seconds_total {cpu}, /proc {cpu_floor}..{cpu_ceiling} s\n{text}"
    );
    assert!(
        cpu.fract() != 0.0 || cpu_floor.fract() == 0.0,
        "whole seconds only: {cpu}"
    );
    assert!(text.contains("# TYPE process_cpu_time_seconds_total counter\n"));
    assert_eq!(
        sample(&text, "process_threads"),
        Some(threads as f64),
        "process_threads against /proc ({threads} threads)\n{text}"
    );

    observer.shutdown(Duration::from_secs(5));
    drop(stop);
    for thread in parked {
        thread.join().unwrap();
    }
}
