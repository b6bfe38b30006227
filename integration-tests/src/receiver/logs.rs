//! The receiver's logs side: the gRPC `LogsService` and what `/v1/logs` accepted.
//!
//! Logs are kept apart from spans and do not count as export attempts, so tests
//! that count trace attempts see only those; they follow the receiver's standing
//! [`Behavior`] (not the scripted answers).

use super::serve;
use super::*;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsService;
pub use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;

/// One log record as received, with the resource's `service.name`.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    pub service_name: String,
    pub transport: Transport,
    pub record: LogRecord,
}

impl ReceivedLog {
    /// The body, when it is a string.
    pub fn body(&self) -> Option<&str> {
        match self.record.body.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// A string attribute.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        let kv = self.record.attributes.iter().find(|kv| kv.key == key)?;
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// The trace id as lowercase hex (empty outside a trace).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.record.trace_id)
    }

    /// The span id as lowercase hex (empty outside a span).
    pub fn span_id_hex(&self) -> String {
        hex(&self.record.span_id)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The records of an export request, each with its resource's service name.
pub(super) fn flatten(
    request: &ExportLogsServiceRequest,
    transport: Transport,
) -> Vec<ReceivedLog> {
    let mut out = Vec::new();
    for resource_logs in &request.resource_logs {
        let service_name = (resource_logs.resource.as_ref())
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in &resource_logs.scope_logs {
            for record in &scope.log_records {
                out.push(ReceivedLog {
                    service_name: service_name.clone(),
                    transport,
                    record: record.clone(),
                });
            }
        }
    }
    out
}

#[tonic::async_trait]
impl LogsService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        match self.shared.behavior() {
            Behavior::Accept | Behavior::PartialSuccess => {
                self.shared
                    .push_logs(flatten(&request.into_inner(), Transport::Grpc));
                Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
            }
            Behavior::Hang => std::future::pending().await,
            refusal => Err(serve::grpc_refusal(refusal)),
        }
    }
}

impl OtlpReceiver {
    /// Every log record accepted so far, in arrival order.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.shared.lock_logs().clone()
    }

    /// Blocks until at least `n` log records have been accepted or `timeout` has
    /// passed, then returns all accepted records (possibly fewer than `n`).
    pub fn wait_for_logs(&self, n: usize, timeout: Duration) -> Vec<ReceivedLog> {
        let deadline = Instant::now() + timeout;
        loop {
            let logs = self.logs();
            if logs.len() >= n || Instant::now() >= deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
