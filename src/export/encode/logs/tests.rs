//! Events captured by the real layer, encoded and decoded back with prost: severity,
//! body, attributes, trace context, and what sampling and limits did to them.

use super::*;
use crate::layer::ObserverLayer;
use crate::logs::{LogCapture, LogSettings};
use crate::record::policy::FieldPolicy;
use crate::record::Limits;
use crate::recorder::{QueueBounds, Recorder};
use crate::sampling::{HeadSampler, OverheadMeter, SampledOutTable, Sampler, Sampling};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::logs::v1::LogRecord as ProtoLog;
use prost::Message;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tracing_core::LevelFilter;
use tracing_subscriber::prelude::*;

fn recorder(sampler: Sampler, settings: LogSettings, span_events: bool) -> Arc<Recorder> {
    crate::clock::start();
    let limits = Limits {
        max_attributes: 16,
        max_event_attributes: 16,
        max_events: 16,
        max_links: 4,
        max_value_bytes: 64,
        thread_cpu_time: false,
    };
    let recorder = Recorder::new(
        QueueBounds {
            max_spans: 10_000,
            max_bytes: 1 << 26,
            batch_size: 512,
        },
        limits,
        FieldPolicy::new(&["password".into()], None),
        Sampling {
            head: HeadSampler::new(&sampler, &[]),
            table: SampledOutTable::new(),
            keep_errors: true,
            slow_span_threshold: None,
            overhead: OverheadMeter::new(None),
        },
        None,
        false,
    );
    let logs = LogCapture::new(&settings, &limits);
    Arc::new(recorder.with_events(Some(logs), span_events))
}

fn settings() -> LogSettings {
    LogSettings {
        level: LevelFilter::INFO,
        per_callsite_rate: None,
        max_attributes: 8,
        max_value_bytes: 64,
        max_queue_size: 10_000,
        max_queue_bytes: 1 << 26,
        batch_size: 512,
    }
}

/// Runs `f` under a subscriber with the observer's layer over `recorder`; returns the
/// log records, encoded and decoded.
fn logs_of(recorder: &Arc<Recorder>, f: impl FnOnce()) -> Vec<ProtoLog> {
    let subscriber = tracing_subscriber::registry().with(ObserverLayer::new(
        Some(Arc::clone(recorder)),
        Arc::from([]),
    ));
    tracing::subscriber::with_default(subscriber, f);
    let queue = &recorder.logs.as_ref().expect("logs on").queue;
    let mut records = Vec::new();
    while let Some(record) = queue.pop() {
        records.push(record);
    }
    let resource = ServiceResource::new("shop", &[]);
    let request = LogEncoder::new(&resource).encode(&records, &ClockAnchor::now());
    let decoded = ExportLogsServiceRequest::decode(request.bytes().clone()).expect("decodes");
    assert_eq!(decoded.resource_logs.len(), 1);
    let resource_logs = &decoded.resource_logs[0];
    let service = resource_logs
        .resource
        .as_ref()
        .expect("resource")
        .attributes
        .iter();
    assert!(service
        .clone()
        .any(|kv| kv.key == "service.name" && text(kv.value.as_ref()) == Some("shop")));
    resource_logs.scope_logs[0].log_records.clone()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> Option<&str> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attribute<'a>(log: &'a ProtoLog, key: &str) -> Option<&'a any_value::Value> {
    let kv = log.attributes.iter().find(|kv| kv.key == key)?;
    kv.value.as_ref()?.value.as_ref()
}

fn string<'a>(log: &'a ProtoLog, key: &str) -> Option<&'a str> {
    match attribute(log, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

#[test]
fn events_become_log_records_with_severity_body_attributes_and_their_span() {
    let recorder = recorder(Sampler::AlwaysOn, settings(), true);
    let logs = logs_of(&recorder, || {
        tracing::error!(component = "startup", "no config file");
        let span = tracing::info_span!("checkout");
        let _entered = span.enter();
        tracing::info!(
            order = 42,
            paid = true,
            password = "hunter2",
            "order placed"
        );
        tracing::debug!("below the logs level");
        tracing::warn!(error = "card declined", "order rejected");
    });
    assert_eq!(logs.len(), 3, "{logs:#?}");
    let span = recorder.queue.pop().expect("the span");
    // Warnings and errors take the priority lane: find each by its body.
    let by_body = |body: &str| {
        (logs.iter())
            .find(|l| text(l.body.as_ref()) == Some(body))
            .unwrap_or_else(|| panic!("no log {body:?} in {logs:#?}"))
    };

    let startup = by_body("no config file");
    assert_eq!(startup.severity_number, 17);
    assert_eq!(startup.severity_text, "ERROR");
    assert_eq!(text(startup.body.as_ref()), Some("no config file"));
    assert_eq!(string(startup, "component"), Some("startup"));
    assert!(
        startup.trace_id.is_empty() && startup.span_id.is_empty(),
        "outside any span"
    );
    assert_eq!(string(startup, "exception.type"), Some(module_path!()));
    assert!(string(startup, "code.file.path").is_some_and(|f| f.ends_with("tests.rs")));
    assert!(attribute(startup, "code.line.number").is_some());
    assert!(attribute(startup, "thread.id").is_some());
    assert_eq!(string(startup, "target"), Some(module_path!()));
    assert!(
        startup.time_unix_nano > 0 && startup.observed_time_unix_nano >= startup.time_unix_nano
    );

    let placed = by_body("order placed");
    assert_eq!(placed.severity_number, 9);
    assert_eq!(text(placed.body.as_ref()), Some("order placed"));
    assert_eq!(
        attribute(placed, "order"),
        Some(&any_value::Value::IntValue(42))
    );
    assert_eq!(
        attribute(placed, "paid"),
        Some(&any_value::Value::BoolValue(true))
    );
    assert_eq!(string(placed, "password"), Some("[REDACTED]"));
    assert_eq!(placed.trace_id, span.trace_id.to_bytes().to_vec());
    assert_eq!(placed.span_id, span.span_id.to_bytes().to_vec());
    assert_eq!(placed.flags & 0xff, 1, "sampled");

    let rejected = by_body("order rejected");
    assert_eq!(rejected.severity_text, "WARN");
    assert_eq!(text(rejected.body.as_ref()), Some("order rejected"));
    assert_eq!(string(rejected, "exception.message"), Some("card declined"));
    assert!(
        attribute(rejected, "message").is_none(),
        "the message is the body"
    );

    // The span keeps its events (the DEBUG one too: the logs level is the logs'), and
    // a handled error at WARN leaves its status alone.
    assert_eq!(span.events.len(), 3);
    assert_eq!(span.status, crate::record::StatusCode::Unset);
}

#[test]
fn in_a_sampled_out_trace_warnings_and_errors_are_kept_with_its_ids() {
    let recorder = recorder(Sampler::AlwaysOff, settings(), true);
    let mut propagated = None;
    let logs = logs_of(&recorder, || {
        use crate::ObserverSpanExt;
        let span = tracing::info_span!("sampled out");
        let _entered = span.enter();
        propagated = span.span_context();
        tracing::info!("dropped with its trace");
        tracing::warn!("kept");
        tracing::error!("kept too");
    });
    let propagated = propagated.expect("a sampled-out span has a context");
    assert_eq!(logs.len(), 2);
    let counters = recorder.logs.as_ref().expect("logs on");
    assert_eq!(counters.sampled_out.load(Relaxed), 1);
    for log in &logs {
        assert_eq!(log.trace_id, propagated.trace_id().to_bytes().to_vec());
        assert_eq!(log.span_id, propagated.span_id().to_bytes().to_vec());
        // The error promoted the span (errors are kept): its record is exported, and
        // its log record says so; the warning came while the trace was sampled out.
        let expected = if log.severity_text == "ERROR" { 1 } else { 0 };
        assert_eq!(log.flags & 0xff, expected, "{}", log.severity_text);
    }
    let promoted = recorder.queue.pop().expect("the promoted span");
    assert_eq!(
        promoted.span_id,
        propagated.span_id(),
        "the ids it propagated"
    );
}

#[test]
fn a_flood_from_one_callsite_is_rate_limited_and_counted() {
    let recorder = recorder(
        Sampler::AlwaysOn,
        LogSettings {
            per_callsite_rate: Some(100.0),
            ..settings()
        },
        false,
    );
    let logs = logs_of(&recorder, || {
        for i in 0..1000 {
            tracing::info!(i, "flood");
        }
        tracing::info!("another line");
    });
    let limited = recorder
        .logs
        .as_ref()
        .expect("logs on")
        .rate_limited
        .load(Relaxed);
    // A burst of one second's worth, then the rate (the loop takes far less than 1 s).
    assert!((100..=110).contains(&logs.len()), "{} kept", logs.len());
    assert_eq!(logs.len() as u64 + limited, 1001);
    assert_eq!(
        text(logs.last().and_then(|l| l.body.as_ref())),
        Some("another line")
    );
}

#[test]
fn the_log_limits_cut_attributes_and_count_them() {
    let recorder = recorder(
        Sampler::AlwaysOn,
        LogSettings {
            max_attributes: 2,
            ..settings()
        },
        false,
    );
    let logs = logs_of(&recorder, || {
        tracing::info!(a = 1, b = 2, c = 3, d = 4, "four fields");
    });
    assert_eq!(logs[0].dropped_attributes_count, 2);
    assert!(attribute(&logs[0], "a").is_some() && attribute(&logs[0], "c").is_none());
}
