//! B3 (single and multi), Jaeger and W3C baggage headers between tracing-observer and
//! the OpenTelemetry Python SDK's propagators (`opentelemetry-propagator-b3`,
//! `opentelemetry-propagator-jaeger`, `W3CBaggagePropagator`), both directions: what
//! Python injects, `http::extract_with` reads; what `http::inject_with` writes,
//! Python extracts. Then a B3 caller's trace continued through a real rotel
//! collector: the spans arrive downstream in the caller's trace.
//!
//! Needs the Python SDK with both propagator packages (`scripts/test` installs them
//! and sets `$OTEL_PYTHON`) and, for the last test, `$ROTEL_AGENT`.

mod common;

use common::{builder, observe, only, WAIT};
use http::{HeaderMap, HeaderName, HeaderValue};
use integration_tests::{OtlpReceiver, Rotel};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tracing_observer::context::{Baggage, Propagators};
use tracing_observer::http::{extract_with, inject_with};
use tracing_observer::{ObserverSpanExt, SpanContext};

const TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
const SPAN: &str = "e457b5a2e4d86bd1";

fn python() -> PathBuf {
    std::env::var_os("OTEL_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/venv/bin/python"),
        PathBuf::from,
    )
}

/// Runs `otel_propagators.py` with `args` (and `stdin`), bounded in time; its JSON answer.
fn python_propagator(args: &[&str], stdin: Option<&str>) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/otel_propagators.py");
    let mut child = Command::new(python())
        .env_clear()
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("otel_propagators.py {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

/// The headers Python's `format` propagator injects for TRACE/SPAN and `baggage`.
fn python_inject(format: &str, sampled: bool, baggage: &Value) -> HeaderMap {
    let flag = if sampled { "1" } else { "0" };
    let answer = python_propagator(
        &["inject", format, TRACE, SPAN, flag, &baggage.to_string()],
        None,
    );
    let mut headers = HeaderMap::new();
    for (name, value) in answer.as_object().unwrap() {
        headers.insert(
            HeaderName::try_from(name.as_str()).unwrap(),
            HeaderValue::try_from(value.as_str().unwrap()).unwrap(),
        );
    }
    headers
}

/// What Python's `format` propagator extracts from `headers`.
fn python_extract(format: &str, headers: &HeaderMap) -> Value {
    let object: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap())))
        .collect();
    python_propagator(
        &["extract", format],
        Some(&Value::Object(object).to_string()),
    )
}

fn propagators(text: &str) -> Propagators {
    text.parse().unwrap()
}

#[test]
#[ignore = "needs the Python OpenTelemetry SDK; run scripts/test"]
fn python_b3_and_jaeger_headers_are_read() {
    for format in ["b3", "b3multi", "jaeger"] {
        for sampled in [true, false] {
            let headers = python_inject(format, sampled, &json!({}));
            let cx = extract_with(&propagators(format), &headers)
                .unwrap_or_else(|| panic!("{format}: {headers:?}"));
            assert_eq!(cx.trace_id().to_string(), TRACE, "{format}");
            assert_eq!(cx.span_id().to_string(), SPAN, "{format}");
            assert_eq!(cx.is_sampled(), sampled, "{format} {headers:?}");
        }
    }
    // Baggage: Jaeger's uberctx-* and the W3C header. Python's W3C propagator writes
    // a space as `+`, which the W3C spec reads as a literal `+`: no spaces here.
    let entries = json!({"tenant": "acme", "note": "x,y=é;z"});
    for format in ["jaeger", "baggage"] {
        let headers = python_inject(format, true, &entries);
        let cx = extract_with(&propagators(&format!("tracecontext,{format}")), &headers)
            .unwrap_or_else(|| panic!("{format}: {headers:?}"));
        let baggage = cx
            .baggage()
            .unwrap_or_else(|| panic!("{format}: {headers:?}"));
        assert_eq!(baggage.get("tenant"), Some("acme"), "{format}");
        assert_eq!(baggage.get("note"), Some("x,y=é;z"), "{format} {headers:?}");
    }
}

#[test]
#[ignore = "needs the Python OpenTelemetry SDK; run scripts/test"]
fn python_reads_our_b3_and_jaeger_headers() {
    let cx = SpanContext::from_traceparent(&format!("00-{TRACE}-{SPAN}-01"))
        .unwrap()
        .with_baggage(Baggage::from_header("tenant=acme,note=a%20b%2Cc%3D%C3%A9"));
    for format in ["b3", "b3multi", "jaeger", "baggage"] {
        for sampled in [true, false] {
            let cx = cx.clone().with_trace_flags(u8::from(sampled));
            let mut headers = HeaderMap::new();
            let ours = if format == "baggage" {
                "tracecontext,baggage"
            } else {
                format
            };
            inject_with(&propagators(ours), &cx, &mut headers);
            let seen = python_extract(format, &headers);
            assert_eq!(seen["valid"], true, "{format}: {seen} from {headers:?}");
            assert_eq!(seen["trace_id"], TRACE, "{format}");
            assert_eq!(seen["span_id"], SPAN, "{format}");
            assert_eq!(
                seen["sampled"], sampled,
                "{format}: {seen} from {headers:?}"
            );
            if matches!(format, "jaeger" | "baggage") {
                assert_eq!(seen["baggage"]["tenant"], "acme", "{format}: {seen}");
                assert_eq!(seen["baggage"]["note"], "a b,c=é", "{format}: {seen}");
            }
        }
    }
}

#[test]
#[ignore = "needs rotel and the Python OpenTelemetry SDK; run scripts/test"]
fn a_b3_caller_trace_continues_through_rotel() {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let observer = builder()
        .service_name("b3-callee")
        .endpoint(rotel.grpc_endpoint())
        .propagators(
            "b3multi,tracecontext,baggage"
                .parse::<Propagators>()
                .unwrap()
                .iter(),
        )
        .baggage_attributes(["tenant"])
        .build()
        .expect("observer builds");
    // An Envoy/Zipkin-era caller: B3 multi headers from the Python propagator, with
    // W3C baggage.
    let mut incoming = python_inject("b3multi", true, &json!({}));
    incoming.insert("baggage", HeaderValue::from_static("tenant=acme"));
    let outgoing = observe(&observer, || {
        let remote = tracing_observer::http::extract(&incoming).expect("B3 context");
        let request = tracing::info_span!("request");
        request.set_parent(&remote);
        let mut outgoing = HeaderMap::new();
        request.in_scope(|| {
            let call = tracing::info_span!("call");
            tracing_observer::http::inject(&call.span_context().unwrap(), &mut outgoing);
        });
        outgoing
    });
    let report = observer.shutdown(common::SHUTDOWN);
    assert!(report.is_complete(), "{report}");
    receiver.wait_for_spans(2, WAIT);
    assert!(rotel.terminate().is_some(), "rotel was not running");
    let spans = receiver.spans();
    let request = only(&spans, "request");
    let call = only(&spans, "call");
    assert_eq!(request.trace_id_hex(), TRACE);
    assert_eq!(
        request.parent_span_id_hex(),
        SPAN,
        "the B3 caller is the parent"
    );
    assert_eq!(request.span.flags & 0x300, 0x300, "remote parent");
    assert_eq!(call.trace_id_hex(), TRACE);
    assert_eq!(call.span.parent_span_id, request.span.span_id);
    assert_eq!(
        integration_tests::attr_str(request, "tenant").as_deref(),
        Some("acme")
    );
    // The downstream call carries the trace on in B3 (and W3C), with the baggage.
    assert_eq!(outgoing["x-b3-traceid"], TRACE);
    assert_eq!(outgoing["x-b3-spanid"], call.span_id_hex().as_str());
    assert_eq!(outgoing["x-b3-sampled"], "1");
    assert!(outgoing.contains_key("traceparent"));
    assert_eq!(outgoing["baggage"], "tenant=acme");
    let seen = python_extract("b3multi", &outgoing);
    assert_eq!(seen["span_id"], call.span_id_hex());
}
