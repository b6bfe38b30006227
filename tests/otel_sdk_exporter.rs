//! `otel::SdkExporter` in a running observer: spans recorded through `tracing` reach
//! an `opentelemetry_sdk` span exporter as the SDK would have made them, and a failing
//! SDK exporter is retried, spooled or counted like any other exporter.
#![cfg(feature = "opentelemetry")]

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_observer::config::RetryPolicy;
use tracing_observer::otel::SdkExporter;
use tracing_observer::{Observer, ObserverBuilder, ObserverSpanExt, SpanContext};
use tracing_subscriber::prelude::*;

const SHUTDOWN: Duration = Duration::from_secs(10);

fn builder() -> ObserverBuilder {
    Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("checkout")
        .spool(false)
        .scheduled_delay(Duration::from_millis(20))
}

fn observe<T>(observer: &Observer, f: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing_subscriber::registry().with(observer.layer()), f)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
}

#[test]
fn recorded_spans_arrive_as_sdk_span_data() {
    let memory = InMemorySpanExporter::default();
    let observer = builder()
        .exporter(SdkExporter::new(memory.clone()))
        .build()
        .unwrap();
    let remote =
        SpanContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .unwrap();
    let (root_cx, child_cx, cause_cx) = observe(&observer, || {
        let cause = tracing::info_span!("cause");
        let root = tracing::info_span!(
            "checkout",
            otel.kind = "server",
            order = 7_i64,
            paid = true,
            ratio = 0.5,
            customer = "acme"
        );
        // As tracing-opentelemetry code does: the parent as an opentelemetry::Context.
        assert!(root.set_parent(opentelemetry::Context::from(&remote)));
        let child = tracing::info_span!(parent: &root, "charge", otel.kind = "client");
        child.follows_from(&cause);
        child.in_scope(|| {
            tracing::info!(attempt = 1_i64, "charging");
            tracing::error!("card declined");
        });
        let ids = (
            root.span_context().unwrap(),
            child.span_context().unwrap(),
            cause.span_context().unwrap(),
        );
        assert_eq!(
            root.context().span().span_context().span_id().to_string(),
            ids.0.span_id().to_string()
        );
        ids
    });
    observer.force_flush(SHUTDOWN).unwrap();
    // Read before shutdown: the in-memory exporter forgets its spans when shut down.
    let spans = memory.get_finished_spans().unwrap();
    let report = observer.shutdown(SHUTDOWN);
    assert_eq!(report.stats.recorded, 3, "{report}");
    assert!(report.is_complete(), "{report}");
    assert!(
        memory.is_shutdown_called(),
        "the observer's shutdown reaches the exporter"
    );

    assert_eq!(spans.len(), 3);
    let hex = |id: &dyn ToString| id.to_string();
    let root = named(&spans, "checkout");
    assert_eq!(hex(&root.span_context.trace_id()), hex(&remote.trace_id()));
    assert_eq!(hex(&root.span_context.span_id()), hex(&root_cx.span_id()));
    assert_eq!(hex(&root.parent_span_id), hex(&remote.span_id()));
    assert!(root.parent_span_is_remote);
    assert!(root.span_context.is_sampled());
    assert_eq!(root.span_kind, SpanKind::Server);
    assert_eq!(attribute(&root.attributes, "order"), Some(&Value::I64(7)));
    assert_eq!(
        attribute(&root.attributes, "paid"),
        Some(&Value::Bool(true))
    );
    assert_eq!(attribute(&root.attributes, "ratio"), Some(&Value::F64(0.5)));
    assert_eq!(
        attribute(&root.attributes, "customer"),
        Some(&Value::from("acme"))
    );
    assert_eq!(root.status, Status::Unset);
    assert!(root.end_time >= root.start_time);

    let child = named(&spans, "charge");
    assert_eq!(hex(&child.span_context.span_id()), hex(&child_cx.span_id()));
    assert_eq!(hex(&child.span_context.trace_id()), hex(&remote.trace_id()));
    assert_eq!(hex(&child.parent_span_id), hex(&root_cx.span_id()));
    assert!(!child.parent_span_is_remote);
    assert_eq!(child.span_kind, SpanKind::Client);
    assert!(
        matches!(&child.status, Status::Error { description } if description == "card declined"),
        "{:?}",
        child.status
    );
    let names: Vec<&str> = child.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["charging", "exception"]);
    assert_eq!(
        attribute(&child.events[0].attributes, "attempt"),
        Some(&Value::I64(1))
    );
    assert_eq!(child.links.len(), 1);
    assert_eq!(
        hex(&child.links[0].span_context.span_id()),
        hex(&cause_cx.span_id())
    );

    let cause = named(&spans, "cause");
    assert_eq!(cause.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert_eq!(cause.span_kind, SpanKind::Internal);

    let scope = &root.instrumentation_scope;
    assert_eq!(scope.name(), "tracing-observer");
    assert_eq!(scope.version(), Some(env!("CARGO_PKG_VERSION")));
}

/// An SDK exporter that fails its first `failures` exports (`usize::MAX`: all) and
/// records the resources it is given.
#[derive(Debug, Clone)]
struct Flaky {
    failures: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
    exported: Arc<AtomicUsize>,
    resources: Arc<Mutex<Vec<opentelemetry_sdk::Resource>>>,
}

impl Flaky {
    fn failing(failures: usize) -> Self {
        Self {
            failures: Arc::new(AtomicUsize::new(failures)),
            attempts: Arc::default(),
            exported: Arc::default(),
            resources: Arc::default(),
        }
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Flaky {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                0 => None,
                usize::MAX => Some(usize::MAX),
                n => Some(n - 1),
            })
            .is_ok();
        if failing {
            return Err(OTelSdkError::InternalFailure("connection refused".into()));
        }
        self.exported.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resources.lock().unwrap().push(resource.clone());
    }
}

fn quick_retries(builder: ObserverBuilder) -> ObserverBuilder {
    builder.retry_policy(
        RetryPolicy::default()
            .initial_backoff(Duration::from_millis(10))
            .max_backoff(Duration::from_millis(20))
            .max_elapsed_time(Duration::from_secs(5)),
    )
}

fn produce(observer: &Observer, spans: u64) {
    observe(observer, || {
        for i in 0..spans {
            let _span = tracing::info_span!("op", i).entered();
        }
    });
}

#[test]
fn a_failing_sdk_exporter_is_retried() {
    const SPANS: u64 = 10;
    let flaky = Flaky::failing(2);
    let observer = quick_retries(builder())
        .max_export_batch_size(SPANS as usize)
        .exporter(SdkExporter::new(flaky.clone()))
        .build()
        .unwrap();
    produce(&observer, SPANS);
    observer.force_flush(SHUTDOWN).unwrap();
    let report = observer.shutdown(SHUTDOWN);
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.exported, SPANS, "{report}");
    assert_eq!(s.dropped.total() + s.spooled + s.pending, 0, "{report}");
    assert_eq!(s.export_retries, 2, "{report}");
    assert_eq!(
        s.export_errors.get("unavailable").copied(),
        Some(2),
        "{report}"
    );
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(flaky.exported.load(Ordering::SeqCst), SPANS as usize);
    let resources = flaky.resources.lock().unwrap();
    assert_eq!(resources.len(), 1, "one resource, given once");
    assert_eq!(
        resources[0].get(&Key::new("service.name")),
        Some(Value::from("checkout"))
    );
}

#[test]
fn a_failing_sdk_exporter_s_batches_are_spooled() {
    const SPANS: u64 = 25;
    let dir = std::env::temp_dir().join(format!(
        "tracing-observer-otel-sdk-spool-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let flaky = Flaky::failing(usize::MAX);
    let observer = quick_retries(builder())
        .spool(true)
        .spool_dir(&dir)
        .max_export_batch_size(10)
        .exporter(SdkExporter::new(flaky.clone()))
        .build()
        .unwrap();
    produce(&observer, SPANS);
    let report = observer.shutdown(SHUTDOWN);
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.exported, 0, "{report}");
    assert_eq!(s.spooled, SPANS, "{report}");
    assert_eq!(s.dropped.total(), 0, "{report}");
    assert!(report.is_lossless(), "{report}");
    assert!(
        flaky.attempts.load(Ordering::SeqCst) >= 3,
        "every batch was tried"
    );
    assert_eq!(flaky.exported.load(Ordering::SeqCst), 0);
    let summary = tracing_observer::spool::summary(&dir).unwrap();
    assert_eq!(summary.spans, SPANS, "{summary:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_spool_a_failing_sdk_exporter_s_spans_are_counted_dropped() {
    const SPANS: u64 = 5;
    let flaky = Flaky::failing(usize::MAX);
    let observer = builder()
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(10))
                .max_elapsed_time(Duration::from_millis(100)),
        )
        .exporter(SdkExporter::new(flaky.clone()))
        .build()
        .unwrap();
    produce(&observer, SPANS);
    let report = observer.shutdown(SHUTDOWN);
    let s = &report.stats;
    assert_eq!(s.recorded, SPANS, "{report}");
    assert_eq!(s.exported + s.spooled + s.pending, 0, "{report}");
    assert_eq!(s.dropped.export_failed, SPANS, "{report}");
    assert_eq!(s.dropped.total(), SPANS, "{report}");
}
