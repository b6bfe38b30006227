//! W3C trace context between tracing-observer's tower middleware and the
//! OpenTelemetry Python SDK, over real HTTP on loopback:
//!
//! - a Python SDK client (TraceContextTextMapPropagator, OTLP/HTTP exporter) calls a
//!   hyper server wrapped in `TraceServerLayer`: the exported SERVER span has the
//!   Python span as its remote parent (trace id, parent span id, tracestate), both
//!   SDKs' spans reach the same OTLP receiver, and a 500 answer marks it ERROR;
//! - hyper-util's client wrapped in `TraceClientLayer` calls a Python server that
//!   extracts the context with the Python SDK: it sees our CLIENT span.
//!
//! Needs the Python SDK (`scripts/test` installs it and sets `$OTEL_PYTHON`); every
//! child process and wait is bounded in time.

mod common;

use bytes::Bytes;
use common::{dispatch, multi_thread_runtime, observer_for, shutdown_complete, WAIT};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use integration_tests::{attr_i64, attr_str, resource_attr_str, OtlpReceiver, ReceivedSpan};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode as OtlpStatus};
use serde_json::Value;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tower::{service_fn, Layer, ServiceExt};
use tracing_observer::tower::{TraceClientLayer, TraceServerLayer};
use tracing_observer::ObserverSpanExt;

/// The Python interpreter with the OpenTelemetry SDK: `$OTEL_PYTHON`, else the venv
/// `scripts/test` makes.
fn python() -> PathBuf {
    std::env::var_os("OTEL_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/venv/bin/python"),
        PathBuf::from,
    )
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

fn python_command(name: &str) -> Command {
    let mut command = Command::new(python());
    // The SDK reads OTEL_* variables: keep the developer's out.
    command.env_clear().arg(script(name));
    command
}

/// Waits for `child` at most `limit`, killing it on timeout.
fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish in {limit:?}", python().display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Serves `/checkout` (200, the handler's trace id as body) and `/fail` (500) behind
/// `TraceServerLayer` on loopback.
async fn serve() -> SocketAddr {
    let handler = service_fn(|request: Request<hyper::body::Incoming>| async move {
        let trace_id = tracing::info_span!("handler")
            .in_scope(|| tracing_observer::context::current_trace_id().map(|id| id.to_string()));
        let status = match request.uri().path() {
            "/fail" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::OK,
        };
        let mut response = Response::new(Full::new(Bytes::from(trace_id.unwrap_or_default())));
        *response.status_mut() = status;
        Ok::<_, Infallible>(response)
    });
    let service = TraceServerLayer::new()
        .with_route(|parts| Some(parts.uri.path().to_owned()))
        .layer(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Runs the Python client against `url`; its JSON report.
fn python_client(url: &str, receiver: &OtlpReceiver) -> Value {
    let child = python_command("otel_client.py")
        .args([url, &receiver.http_traces_url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let output = wait_bounded(child, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

fn spans_of(spans: &[ReceivedSpan], service: &str, name: &str) -> Vec<ReceivedSpan> {
    spans
        .iter()
        .filter(|s| {
            resource_attr_str(s, "service.name").as_deref() == Some(service) && s.name() == name
        })
        .cloned()
        .collect()
}

#[test]
#[ignore = "needs the Python OpenTelemetry SDK; run scripts/test"]
fn python_client_trace_continues_in_the_tower_server() {
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let runtime = multi_thread_runtime(&dispatch(&observer), 2);
    let addr = runtime.block_on(serve());

    let ok = python_client(&format!("http://{addr}/checkout"), &receiver);
    let failed = python_client(&format!("http://{addr}/fail"), &receiver);
    assert_eq!(ok["status"], 200);
    assert_eq!(failed["status"], 500);
    assert_eq!(
        ok["body"], ok["trace_id"],
        "the handler ran in the Python trace"
    );
    drop(runtime);
    shutdown_complete(&observer);

    // 2 Python client spans (OTLP/HTTP) + 2 server spans + 2 handler spans (gRPC).
    let spans = receiver.wait_for_spans(6, WAIT);
    for (report, path, status, otlp_status) in [
        (&ok, "/checkout", 200, OtlpStatus::Unset),
        (&failed, "/fail", 500, OtlpStatus::Error),
    ] {
        let (trace_id, span_id) = (
            report["trace_id"].as_str().unwrap(),
            report["span_id"].as_str().unwrap(),
        );
        let python_span = spans_of(&spans, "python-client", "python-client")
            .into_iter()
            .find(|s| s.span_id_hex() == span_id)
            .expect("the Python SDK exported its span");
        assert_eq!(python_span.trace_id_hex(), trace_id);

        let name = format!("GET {path}");
        let server = spans_of(&spans, "integration-tests", &name)
            .pop()
            .expect("one server span");
        assert_eq!(server.trace_id_hex(), trace_id, "{name}");
        assert_eq!(
            server.parent_span_id_hex(),
            span_id,
            "{name}: the Python span is the parent"
        );
        assert_eq!(server.span.trace_state, "py=1");
        assert_eq!(server.span.flags & 0x300, 0x300, "remote parent");
        assert_eq!(server.span.kind, SpanKind::Server as i32);
        assert_eq!(
            attr_str(&server, "http.request.method").as_deref(),
            Some("GET")
        );
        assert_eq!(attr_str(&server, "url.path").as_deref(), Some(path));
        assert_eq!(attr_str(&server, "http.route").as_deref(), Some(path));
        assert_eq!(attr_i64(&server, "http.response.status_code"), Some(status));
        let code = server.span.status.as_ref().map_or(0, |s| s.code);
        assert_eq!(code, otlp_status as i32, "{name}");
        let handler = spans_of(&spans, "integration-tests", "handler")
            .into_iter()
            .find(|s| s.span.parent_span_id == server.span.span_id)
            .expect("the handler span is the server span's child");
        assert_eq!(handler.trace_id_hex(), trace_id);
    }
}

/// The Python server, running until dropped.
struct PythonServer {
    child: Child,
    port: u16,
}

impl PythonServer {
    fn start() -> Self {
        let mut child = python_command("otel_server.py")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("port, got {line:?}"));
        Self { child, port }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs the Python OpenTelemetry SDK; run scripts/test"]
fn python_server_reads_the_tower_client_context() {
    let server = PythonServer::start();
    let receiver = OtlpReceiver::start();
    let observer = observer_for(&receiver);
    let dispatch = dispatch(&observer);
    let runtime = multi_thread_runtime(&dispatch, 2);
    let url = format!("http://127.0.0.1:{}/orders?token=secret", server.port);

    let _default = tracing::dispatcher::set_default(&dispatch);
    let (outer, seen) = runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let client = TraceClientLayer::new().layer(client);
        let outer = tracing::info_span!("outer");
        let request = Request::get(&url).body(Empty::new()).unwrap();
        let call = tracing::Instrument::instrument(client.oneshot(request), outer.clone());
        let response = tokio::time::timeout(WAIT, call)
            .await
            .expect("in time")
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let seen: Value = serde_json::from_slice(&body).unwrap();
        (outer.span_context().unwrap(), seen)
    });
    drop(runtime);
    shutdown_complete(&observer);

    let spans = receiver.wait_for_spans(2, WAIT);
    let client = spans
        .iter()
        .find(|s| s.name() == "GET")
        .expect("client span");
    assert_eq!(seen["valid"], true, "{seen}");
    assert_eq!(seen["trace_id"], outer.trace_id().to_string());
    assert_eq!(
        seen["span_id"],
        client.span_id_hex(),
        "the CLIENT span is the parent"
    );
    assert_eq!(seen["sampled"], true);
    assert_eq!(client.trace_id_hex(), outer.trace_id().to_string());
    assert_eq!(client.parent_span_id_hex(), outer.span_id().to_string());
    assert_eq!(client.span.kind, SpanKind::Client as i32);
    assert_eq!(
        attr_str(client, "url.full").as_deref(),
        Some(format!("http://127.0.0.1:{}/orders", server.port).as_str())
    );
    assert_eq!(
        attr_str(client, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attr_i64(client, "server.port"),
        Some(i64::from(server.port))
    );
    assert_eq!(attr_i64(client, "http.response.status_code"), Some(200));
}
