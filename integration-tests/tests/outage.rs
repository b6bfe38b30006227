//! `examples/outage.rs` as a black box: its simulated collector is down for two of
//! the five seconds the service produces spans. Its report must say that nothing
//! was lost or dropped, and its counts must add up: every span produced reached the
//! collector once or still waits in the spool, and every spooled span was replayed
//! or still waits. A spool left with spans in it is kept, an empty one deleted.
//!
//! The example binary is built by `cargo test --workspace` (examples of the root
//! package are built before tests run) or by `cargo build --example outage`.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest the example may take (it runs ~5 s, plus up to 5 s of replay and 5 s of
/// shutdown) before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn read_all(stream: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut stream) = stream {
            let _ = stream.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[test]
fn the_outage_example_loses_nothing_and_its_counts_add_up() {
    let mut command = Command::new(common::example_path("outage"));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::without_observer_env(&mut command);
    let mut child = command.spawn().expect("cannot start the outage example");
    let pid = child.id();
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("cannot wait for the example") {
            Some(status) => break status,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the outage example did not finish within {RUN_TIMEOUT:?} (killed)");
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let context = format!("status: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(status.success(), "the example reports a loss; {context}");

    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("outage: "))
        .unwrap_or_else(|| panic!("no `outage:` report line; {context}"));
    let counts: HashMap<&str, u64> = line
        .split_whitespace()
        .map(|kv| {
            let (key, value) = kv.split_once('=').expect("key=value");
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("{key} is not a count in {line:?}"));
            (key, value)
        })
        .collect();
    let n = |key: &str| -> u64 {
        *counts
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {line:?}"))
    };
    eprintln!("outage: {line}");

    assert_eq!((n("lost"), n("dropped")), (0, 0), "{context}");
    assert!(
        n("spooled") > 0,
        "the outage sent spans to the spool; {context}"
    );
    assert!(n("replayed") > 0, "spooled spans were replayed; {context}");
    assert_eq!(n("duplicates"), 0, "{context}");
    assert_eq!(
        n("received") + n("in_spool"),
        n("produced"),
        "every span produced reached the collector or waits in the spool; {context}"
    );
    assert_eq!(
        n("exported") + n("replayed"),
        n("received"),
        "every span the collector acknowledged reached it once; {context}"
    );
    assert_eq!(
        n("replayed") + n("in_spool"),
        n("spooled"),
        "every spooled span was replayed or waits in the spool; {context}"
    );

    // The observer's own count agrees with the example's (the JSON report line).
    let report: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report line; {context}"));
    assert_eq!(report["recorded"], n("produced"), "{context}");

    let spool = std::env::temp_dir().join(format!("tracing-observer-outage-{pid}"));
    let kept = spool.exists();
    if kept {
        std::fs::remove_dir_all(&spool).expect("delete the spool the example kept");
    }
    assert_eq!(
        kept,
        n("in_spool") > 0,
        "the spool is kept exactly when spans wait in it; {context}"
    );
}
