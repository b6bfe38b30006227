//! `OTEL_TRACES_EXPORTER=console` (and `OTEL_LOGS_EXPORTER=console`): OTLP/JSON, one
//! request per line, on standard error.
//!
//! Each request is decoded from its protobuf into OTLP structs to be written as JSON.

use super::endpoint::Signal;
use super::{Accepted, EncodedRequest, SpanExporter};
use crate::error::{ExportError, ExportErrorKind};
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use std::io::Write;

/// Writes each batch as one OTLP/JSON line to standard error.
pub(crate) struct ConsoleExporter {
    signal: Signal,
}

impl ConsoleExporter {
    /// A console exporter of `signal`'s requests (traces or logs).
    pub(crate) fn new(signal: Signal) -> Self {
        Self { signal }
    }
}

/// The request as JSON, decoded as the signal's message.
fn json(batch: &EncodedRequest, signal: Signal) -> Result<Vec<u8>, ExportError> {
    let encode = |e: serde_json::Error| ExportError::new(ExportErrorKind::Encode, e.to_string());
    if signal == Signal::Logs {
        let request = ExportLogsServiceRequest::decode(batch.bytes().clone())
            .map_err(|e| ExportError::new(ExportErrorKind::Encode, e.to_string()))?;
        return serde_json::to_vec(&request).map_err(encode);
    }
    serde_json::to_vec(&batch.decode()?).map_err(encode)
}

impl SpanExporter for ConsoleExporter {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        let result = json(&batch, self.signal)
            .and_then(|mut line| {
                line.push(b'\n');
                std::io::stderr()
                    .lock()
                    .write_all(&line)
                    .map_err(|e| ExportError::new(ExportErrorKind::Other, e.to_string()))
            })
            .map(|()| Accepted::all());
        Box::pin(async move { result })
    }
}
