//! What a collector acknowledges at most: one pre-encoded OTLP trace request sent
//! again and again, several in flight, by a sender that does no other work.
//!
//! ```sh
//! cargo run --release --example otlp_ceiling -- --endpoint http://127.0.0.1:4317 --protocol grpc
//! ```
//!
//! The request holds `--spans` spans shaped like `examples/loadgen`'s (recorded once
//! through the observer into an `InMemoryExporter`, then encoded). The sender runs
//! `--in-flight` concurrent exports for `--duration` seconds over gRPC (tonic, the
//! bytes sent as they are) or HTTP/protobuf (reqwest) and prints one JSON line:
//! `{"protocol":..,"spans_per_s":..,"requests":..,"errors":..,"request_bytes":..}`.
//! `scripts/throughput` runs it against the same rotel as the observer, for the
//! ceiling the observer's delivery is compared with.

use bytes::{BufMut, Bytes};
use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tracing_observer::export::{EncodedRequest, InMemoryExporter};
use tracing_observer::proto::collector::trace::v1::ExportTraceServiceResponse;
use tracing_observer::Observer;
use tracing_subscriber::prelude::*;

#[derive(Debug, Parser)]
#[command(name = "otlp_ceiling")]
struct Args {
    /// The collector's OTLP endpoint (base URL)
    #[arg(long)]
    endpoint: String,
    /// `grpc` or `http/protobuf`
    #[arg(long, default_value = "grpc")]
    protocol: String,
    /// Spans in the request
    #[arg(long, default_value_t = 512)]
    spans: usize,
    /// Concurrent exports
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Seconds to send for
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let request = EncodedRequest::from_request(&recorded(args.spans)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let acknowledged = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs_f64(args.duration);
    let started = Instant::now();
    runtime.block_on(async {
        let sender = Sender::new(&args)?;
        let tasks: Vec<_> = (0..args.in_flight)
            .map(|_| {
                let (sender, bytes) = (sender.clone(), request.bytes().clone());
                let (acknowledged, errors) = (Arc::clone(&acknowledged), Arc::clone(&errors));
                let spans = request.spans() as u64;
                tokio::spawn(async move {
                    while started.elapsed() < duration {
                        match sender.send(bytes.clone()).await {
                            Ok(()) => acknowledged.fetch_add(spans, Ordering::Relaxed),
                            Err(()) => errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await?;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let spans = acknowledged.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "protocol": args.protocol,
            "spans_per_s": spans as f64 / secs,
            "requests": spans / request.spans().max(1) as u64,
            "errors": errors.load(Ordering::Relaxed),
            "request_bytes": request.bytes().len(),
        })
    );
    Ok(())
}

/// `spans` spans like loadgen's `node` spans, recorded through the observer.
fn recorded(
    spans: usize,
) -> Result<
    tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest,
    Box<dyn std::error::Error>,
> {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .service_name("loadgen")
        .spool(false)
        .max_export_batch_size(spans)
        .exporter(exporter.clone())
        .build()?;
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        for op in 0..spans as u64 {
            let _span = tracing::info_span!("node", op, nesting = 0u32, depth = 3u32).entered();
        }
    });
    observer.shutdown(Duration::from_secs(5));
    let mut request = exporter
        .requests()
        .into_iter()
        .next()
        .ok_or("nothing recorded")?;
    for other in exporter.requests().into_iter().skip(1) {
        let more = other.resource_spans.into_iter().flat_map(|r| r.scope_spans);
        let spans = more.flat_map(|s| s.spans);
        request.resource_spans[0].scope_spans[0].spans.extend(spans);
    }
    Ok(request)
}

/// Sends the same bytes over gRPC or HTTP/protobuf.
#[derive(Clone)]
enum Sender {
    Grpc(tonic::client::Grpc<tonic::transport::Channel>),
    Http(reqwest::Client, String),
}

impl Sender {
    fn new(args: &Args) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(match args.protocol.as_str() {
            "grpc" => {
                let channel = tonic::transport::Endpoint::from_shared(args.endpoint.clone())?
                    .tcp_nodelay(true)
                    .initial_stream_window_size(Some(4 << 20))
                    .initial_connection_window_size(Some(16 << 20))
                    .connect_lazy();
                Sender::Grpc(tonic::client::Grpc::new(channel))
            }
            _ => Sender::Http(
                reqwest::Client::builder().tcp_nodelay(true).build()?,
                format!("{}/v1/traces", args.endpoint.trim_end_matches('/')),
            ),
        })
    }

    async fn send(&self, bytes: Bytes) -> Result<(), ()> {
        match self {
            Sender::Grpc(client) => {
                let mut client = client.clone();
                client.ready().await.map_err(drop)?;
                let path = http::uri::PathAndQuery::from_static(
                    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                );
                client
                    .unary(tonic::Request::new(bytes), path, Raw)
                    .await
                    .map(drop)
                    .map_err(drop)
            }
            Sender::Http(client, url) => {
                let response = client
                    .post(url)
                    .header("content-type", "application/x-protobuf")
                    .body(bytes)
                    .send()
                    .await
                    .map_err(drop)?;
                if response.status().is_success() {
                    let _ = response.bytes().await;
                    Ok(())
                } else {
                    Err(())
                }
            }
        }
    }
}

/// A gRPC codec sending bytes as they are and decoding the export response.
#[derive(Clone, Copy)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, tonic::Status> {
        prost::Message::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}
