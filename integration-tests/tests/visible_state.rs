//! What the observer shows of its delivery state: the report names the spool
//! directory whenever something was spooled, replayed or recovered; the warning says
//! whether exports failed or spans were dropped; a spool directory open to others is
//! warned about once.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{closed_endpoint, endpoint_for, observe, spool_builder, spool_dir, SHUTDOWN};
use integration_tests::OtlpReceiver;
use tracing_observer::config::{Protocol, TracesExporter};
use tracing_observer::{Observer, ObserverBuilder};
use tracing_subscriber::prelude::*;

/// The observer's own warnings: each one's message.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "tracing_observer" {
            return;
        }
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().unwrap().push(message.0);
    }
}

impl Warnings {
    fn wait_for(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + common::WAIT;
        loop {
            let said = self.0.lock().unwrap().clone();
            if said.iter().any(|w| w.contains(needle)) || Instant::now() >= deadline {
                return said;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Records `n` spans through a subscriber with the observer's layer and `warnings`.
fn record(observer: &Observer, warnings: &Warnings, n: u64) -> tracing::Dispatch {
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(observer.layer())
            .with(warnings.clone()),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..n {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
    dispatch
}

fn shown_dir(dir: &Path) -> String {
    format!("spool {}:", dir.display())
}

#[test]
fn the_report_names_the_spool_when_something_was_spooled_recovered_or_replayed() {
    let dir = spool_dir("visible-report");
    let run = |builder: ObserverBuilder| {
        let observer = builder.build().unwrap();
        observe(&observer, || tracing::info_span!("work").in_scope(|| {}));
        observer.shutdown(SHUTDOWN)
    };
    let spooled = run(spool_builder(&dir).traces_exporter(TracesExporter::None));
    assert_eq!(spooled.stats.spooled, 1, "{spooled}");
    assert!(spooled.to_string().contains(&shown_dir(&dir)), "{spooled}");
    assert_eq!(spooled.stats.spool.dir.as_deref(), Some(dir.as_path()));

    let receiver = OtlpReceiver::start();
    let replayed = run(spool_builder(&dir).endpoint(endpoint_for(&receiver, Protocol::Grpc)));
    let s = &replayed.stats;
    assert!(
        s.spool.recovered_batches >= 1 && s.replayed == 1,
        "{replayed}"
    );
    assert!(
        replayed.to_string().contains(&shown_dir(&dir)),
        "{replayed}"
    );

    let nothing = run(spool_builder(&dir).endpoint(endpoint_for(&receiver, Protocol::Grpc)));
    let s = &nothing.stats;
    assert_eq!(
        (s.spooled, s.replayed, s.spool.recovered_batches),
        (0, 0, 0),
        "{nothing}"
    );
    assert!(!nothing.to_string().contains(&shown_dir(&dir)), "{nothing}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_warning_says_exports_failed_and_nothing_was_dropped() {
    let dir = spool_dir("visible-warning");
    let observer = spool_builder(&dir)
        .endpoint(closed_endpoint())
        .scheduled_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    let warnings = Warnings::default();
    let _dispatch = record(&observer, &warnings, 10);
    let said = warnings.wait_for("failed exports");
    let report = observer.shutdown(SHUTDOWN);
    assert_eq!(report.stats.dropped.total(), 0, "{report}");
    let warning = said
        .iter()
        .find(|w| w.contains("failed exports"))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(
        warning.starts_with("tracing-observer had ")
            && warning.ends_with(
                " failed exports (nothing dropped: retried or spooled) since its last warning"
            ),
        "{warning}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_spool_directory_open_to_others_is_used_and_warned_about_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = spool_dir("visible-open-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let observer = spool_builder(&dir)
        .traces_exporter(TracesExporter::None)
        .scheduled_delay(Duration::from_millis(20))
        .build()
        .unwrap();
    let warnings = Warnings::default();
    let _dispatch = record(&observer, &warnings, 5);
    warnings.wait_for("open to others");
    // Several more rounds of the duty that says pending warnings.
    std::thread::sleep(Duration::from_millis(200));
    let report = observer.shutdown(SHUTDOWN);
    assert_eq!(report.stats.spooled, 5, "the directory is used: {report}");
    let said = warnings.0.lock().unwrap().clone();
    let about_it: Vec<_> = said
        .iter()
        .filter(|w| w.contains("open to others"))
        .collect();
    assert_eq!(about_it.len(), 1, "once: {said:?}");
    assert!(
        about_it[0].contains(&dir.display().to_string()) && about_it[0].contains("755"),
        "{said:?}"
    );
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "left as it was");
    let _ = std::fs::remove_dir_all(&dir);
}
