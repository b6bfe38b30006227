//! Checks of the test harness itself, independent of `tracing-observer`.

use std::time::{Duration, Instant};

use integration_tests::{
    attr_str, find_span, hex, resource_attr_str, single_span_request, Behavior, OtlpReceiver,
    Rotel, Transport,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tonic::codec::CompressionEncoding;

const WAIT: Duration = Duration::from_secs(10);

async fn send_grpc(
    endpoint: String,
    request: ExportTraceServiceRequest,
    gzip: bool,
) -> Result<(), tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut client = TraceServiceClient::new(channel);
    if gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    client.export(request).await.map(|_| ())
}

async fn send_http(url: String, request: &ExportTraceServiceRequest) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("HTTP export failed")
        .status()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn receiver_records_grpc_export_from_sync_test() {
    let receiver = OtlpReceiver::start();
    let request = single_span_request("svc", "grpc-span", [1; 16], [2; 8]);
    runtime()
        .block_on(send_grpc(receiver.endpoint(), request.clone(), true))
        .unwrap();

    let spans = receiver.wait_for_spans(1, WAIT);
    assert_eq!(spans.len(), 1);
    let span = find_span(&spans, "grpc-span").unwrap();
    assert_eq!(span.span.trace_id, vec![1; 16]);
    assert_eq!(span.span_id_hex(), "0202020202020202");
    assert_eq!(span.scope_name(), "integration-tests");
    assert_eq!(attr_str(span, "test.attr").as_deref(), Some("value"));
    assert_eq!(
        resource_attr_str(span, "service.name").as_deref(),
        Some("svc")
    );

    assert_eq!(receiver.requests(), vec![request]);
    let received = receiver.received();
    assert_eq!(received[0].transport, Transport::Grpc);
    assert_eq!(received[0].header("grpc-encoding"), Some("gzip"));
    assert_eq!(receiver.attempts(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn receiver_works_from_current_thread_async_test() {
    let receiver = OtlpReceiver::start();
    let request = single_span_request("svc", "async-span", [3; 16], [4; 8]);
    send_grpc(receiver.endpoint(), request, false)
        .await
        .unwrap();
    let spans = receiver.wait_for_spans_async(1, WAIT).await;
    assert_eq!(spans[0].name(), "async-span");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_records_http_protobuf_and_json() {
    let receiver = OtlpReceiver::start();
    let request = single_span_request("svc", "http-span", [5; 16], [6; 8]);
    let status = send_http(receiver.http_traces_url(), &request).await;
    assert_eq!(status, reqwest::StatusCode::OK);

    let json =
        serde_json::to_vec(&single_span_request("svc", "json-span", [7; 16], [8; 8])).unwrap();
    let status = reqwest::Client::new()
        .post(receiver.http_traces_url())
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::OK);

    let spans = receiver.wait_for_spans(2, WAIT);
    assert_eq!(spans.len(), 2);
    assert_eq!(
        find_span(&spans, "http-span").unwrap().span.span_id,
        vec![6; 8]
    );
    assert_eq!(
        find_span(&spans, "json-span").unwrap().trace_id_hex(),
        hex(&[7; 16])
    );
    let transports: Vec<_> = receiver.received().iter().map(|r| r.transport).collect();
    assert_eq!(
        transports,
        vec![Transport::HttpProtobuf, Transport::HttpJson]
    );
}

#[test]
fn receiver_unavailable_and_hang_modes() {
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let rt = runtime();
    let request = single_span_request("svc", "rejected", [9; 16], [9; 8]);

    let err = rt
        .block_on(send_grpc(receiver.endpoint(), request.clone(), false))
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let status = rt.block_on(send_http(receiver.http_traces_url(), &request));
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(receiver.attempts(), 2);
    assert_eq!(receiver.span_count(), 0);

    receiver.set_behavior(Behavior::Hang);
    let started = Instant::now();
    let err = rt
        .block_on(send_grpc(receiver.endpoint(), request.clone(), false))
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Cancelled, "{err:?}"); // client-side timeout
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(receiver.attempts(), 3);

    receiver.set_behavior(Behavior::Accept);
    rt.block_on(send_grpc(receiver.endpoint(), request, false))
        .unwrap();
    assert_eq!(receiver.wait_for_spans(1, WAIT).len(), 1);
    // Dropping a receiver with a hung call must not block.
}

/// The `google.rpc.Status` details of a throttling answer, decoded: the `RetryInfo` delay.
fn retry_info_delay(status: &tonic::Status) -> Option<Duration> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(message, repeated, tag = "3")]
        details: Vec<Any>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct Any {
        #[prost(string, tag = "1")]
        type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        retry_delay: Option<ProtoDuration>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct ProtoDuration {
        #[prost(int64, tag = "1")]
        seconds: i64,
        #[prost(int32, tag = "2")]
        nanos: i32,
    }
    let details = RpcStatus::decode(status.details()).ok()?;
    let any = details
        .details
        .iter()
        .find(|d| d.type_url == "type.googleapis.com/google.rpc.RetryInfo")?;
    let delay = RetryInfo::decode(any.value.as_slice()).ok()?.retry_delay?;
    Some(Duration::new(
        u64::try_from(delay.seconds).ok()?,
        u32::try_from(delay.nanos).ok()?,
    ))
}

#[test]
fn receiver_reject_throttle_and_scripted_answers() {
    let receiver = OtlpReceiver::start_with(Behavior::Reject);
    let rt = runtime();
    let request = single_span_request("svc", "refused", [9; 16], [9; 8]);

    let err = rt
        .block_on(send_grpc(receiver.endpoint(), request.clone(), false))
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let status = rt.block_on(send_http(receiver.http_traces_url(), &request));
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);

    let retry_after = Duration::from_millis(1500);
    receiver.set_behavior(Behavior::Throttle { retry_after });
    let err = rt
        .block_on(send_grpc(receiver.endpoint(), request.clone(), false))
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    assert_eq!(retry_info_delay(&err), Some(retry_after));
    let response = rt.block_on(async {
        reqwest::Client::new()
            .post(receiver.http_traces_url())
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .unwrap()
    });
    assert_eq!(response.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.headers()["retry-after"],
        "2",
        "whole seconds, rounded up"
    );
    assert_eq!(receiver.span_count(), 0);

    // Scripted: the next two calls are refused, then the behaviour applies again.
    receiver.set_behavior(Behavior::Accept);
    receiver.answer_next([Behavior::Unavailable, Behavior::Reject]);
    let codes: Vec<_> = (0..3)
        .map(|_| {
            rt.block_on(send_grpc(receiver.endpoint(), request.clone(), false))
                .map_err(|e| e.code())
        })
        .collect();
    assert_eq!(
        codes,
        [
            Err(tonic::Code::Unavailable),
            Err(tonic::Code::InvalidArgument),
            Ok(())
        ]
    );
    let log = receiver.attempt_log();
    let answers: Vec<_> = log.iter().map(|a| a.answer).collect();
    assert_eq!(
        answers,
        [
            Behavior::Reject,
            Behavior::Reject,
            Behavior::Throttle { retry_after },
            Behavior::Throttle { retry_after },
            Behavior::Unavailable,
            Behavior::Reject,
            Behavior::Accept,
        ]
    );
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at), "arrival order");
    assert_eq!(receiver.attempts(), log.len());
    assert_eq!(receiver.span_count(), 1);
}

#[test]
fn wait_for_spans_returns_what_it_has_after_timeout() {
    let receiver = OtlpReceiver::start();
    let started = Instant::now();
    assert!(receiver
        .wait_for_spans(1, Duration::from_millis(200))
        .is_empty());
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn rotel_forwards_grpc_and_http_to_receiver() {
    let receiver = OtlpReceiver::start();
    let mut rotel = Rotel::start(&receiver.endpoint());
    let rt = runtime();

    let grpc_request = single_span_request("svc", "via-rotel-grpc", [0x11; 16], [0x12; 8]);
    rt.block_on(send_grpc(rotel.grpc_endpoint(), grpc_request, false))
        .unwrap();
    let http_request = single_span_request("svc", "via-rotel-http", [0x21; 16], [0x22; 8]);
    let status = rt.block_on(send_http(rotel.http_traces_url(), &http_request));
    assert!(status.is_success(), "{status}");

    let spans = receiver.wait_for_spans(2, WAIT);
    let grpc_span = find_span(&spans, "via-rotel-grpc").expect("gRPC span not forwarded");
    assert_eq!(grpc_span.span.trace_id, vec![0x11; 16]);
    assert_eq!(grpc_span.span.span_id, vec![0x12; 8]);
    assert_eq!(attr_str(grpc_span, "test.attr").as_deref(), Some("value"));
    assert_eq!(
        resource_attr_str(grpc_span, "service.name").as_deref(),
        Some("svc")
    );
    let http_span = find_span(&spans, "via-rotel-http").expect("HTTP span not forwarded");
    assert_eq!(http_span.span.trace_id, vec![0x21; 16]);
    assert_eq!(http_span.span.span_id, vec![0x22; 8]);
    assert!(rotel.is_running());
}

#[test]
#[ignore = "needs rotel; run scripts/test"]
fn rotel_restarts_on_same_ports_and_retries_forwarding() {
    let receiver = OtlpReceiver::start_with(Behavior::Unavailable);
    let mut rotel = Rotel::start(&receiver.endpoint());
    let (grpc_endpoint, http_endpoint) = (rotel.grpc_endpoint(), rotel.http_endpoint());
    let rt = runtime();

    // Collector outage: nothing listens.
    rotel.stop();
    assert!(!rotel.is_running());
    let request = single_span_request("svc", "after-restart", [0x31; 16], [0x32; 8]);
    assert!(rt
        .block_on(send_grpc(grpc_endpoint.clone(), request.clone(), false))
        .is_err());

    rotel.restart();
    assert_eq!(rotel.grpc_endpoint(), grpc_endpoint);
    assert_eq!(rotel.http_endpoint(), http_endpoint);
    rt.block_on(send_grpc(grpc_endpoint, request, false))
        .unwrap();

    // Rotel retries while the backend is down, and delivers once it is back.
    assert!(receiver.wait_for_attempts(1, WAIT) >= 1);
    receiver.set_behavior(Behavior::Accept);
    let spans = receiver.wait_for_spans(1, WAIT);
    assert!(
        find_span(&spans, "after-restart").is_some(),
        "{}",
        rotel.logs()
    );

    assert!(rotel.terminate().is_some());
    assert!(rotel.logs().contains("Starting Rotel."));
}
