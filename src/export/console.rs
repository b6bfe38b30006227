//! `OTEL_TRACES_EXPORTER=console`: OTLP/JSON, one request per line, on standard error.
//!
//! Each request is decoded from its protobuf into OTLP structs to be written as JSON.

use super::{Accepted, EncodedRequest, SpanExporter};
use crate::error::{ExportError, ExportErrorKind};
use futures_util::future::BoxFuture;
use std::io::Write;

/// Writes each batch as one OTLP/JSON line to standard error.
pub(crate) struct ConsoleExporter;

impl SpanExporter for ConsoleExporter {
    fn export(&self, batch: EncodedRequest) -> BoxFuture<'static, Result<Accepted, ExportError>> {
        let result = batch
            .decode()
            .and_then(|request| {
                serde_json::to_vec(&request)
                    .map_err(|e| ExportError::new(ExportErrorKind::Encode, e.to_string()))
            })
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
