//! A production observer pipeline for programs instrumented with [`tracing`].
//!
//! Add one layer to the subscriber and every span — its timing, fields, events,
//! errors and links — is exported over OTLP (gRPC or HTTP) to an OpenTelemetry
//! collector, from a background thread, without blocking or panicking in the host:
//!
//! ```no_run
//! use std::time::Duration;
//! use tracing_subscriber::prelude::*;
//!
//! let observer = tracing_observer::Observer::builder().service_name("checkout").build()?;
//! tracing_subscriber::registry().with(observer.layer()).init();
//!
//! #[tracing::instrument]
//! fn handle(order: u64) { tracing::info!("handled"); }
//! handle(7);
//!
//! let report = observer.shutdown(Duration::from_secs(5));
//! println!("{report}");
//! # Ok::<(), tracing_observer::BuildError>(())
//! ```
//!
//! # How it works
//!
//! ```text
//!  host threads                          │  worker thread "tracing-observer"
//!  on_new_span: ids, parent, fields      │  (own current-thread tokio runtime,
//!  on_enter/exit: busy/idle time         │   tracing switched off)
//!  on_record / on_event / follows_from   │
//!  on_close: record ──► bounded queue ───┼─► batch ─► OTLP request ─► exporter
//!             (full? drop + count)       │   (size or delay)   (gRPC / HTTP / console)
//! ```
//!
//! * One record per span, whatever the number of enters, threads or clones.
//! * `otel.name`, `otel.kind`, `otel.status_code`, `otel.status_description` fields
//!   work as in `tracing-opentelemetry`; an ERROR event or an `error` field marks the
//!   span failed and adds an `exception` event.
//! * A `traceparent` field (or [`ObserverSpanExt::set_parent`]) continues a remote trace.
//! * Every span is exported or counted as dropped with a reason: see [`ShutdownReport`].
//!
//! # Configuration
//!
//! [`ObserverBuilder`] methods, the standard `OTEL_*` environment variables, and an
//! optional TOML file (`OBSERVER_CONFIG`); see the README for the full table.
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "bench-support")]
#[doc(hidden)]
pub mod bench_support;
mod builder;
mod clock;
pub mod config;
mod delivery;
mod diagnostics;
mod error;
mod export;
pub mod health;
mod ids;
mod layer;
mod metrics;
mod observer;
mod panic_hook;
mod pipeline;
mod propagation;
mod queue;
mod record;
mod recorder;
mod report;
pub mod resources;
mod sampling;
mod server;
mod span_ext;
pub mod spool;
mod stats;
mod tally;

// === propagation helpers and middleware (ecosystem) ===
mod current;
mod entered;
pub mod http;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
pub use current::{current_span_context, current_span_id, current_trace_id};
// === end propagation ===

pub use builder::ObserverBuilder;
pub use config::{Compression, MetricsExporter, Protocol, TracesExporter};
pub use delivery::{
    breakers, BreakerConfig, BreakerError, BreakerRegistry, BreakerSnapshot, BreakerState,
    CircuitBreaker, Permit, RetryPolicy, EXPORT_BREAKER,
};
pub use error::{BuildError, ExportError, ExportErrorKind, FlushError};
pub use export::{InMemoryExporter, SpanExporter};
pub use ids::{SpanId, TraceId};
pub use layer::ObserverLayer;
pub use observer::Observer;
pub use propagation::SpanContext;
pub use report::{DroppedSpans, PipelineStats, ShutdownReport, SpoolStats};
pub use sampling::{Sampler, SamplingRule};
pub use span_ext::ObserverSpanExt;
pub use tally::SpanMetricsProfile;

/// The OTLP protobuf types batches are made of (re-exported from `opentelemetry-proto`),
/// for custom [`SpanExporter`]s.
///
/// ```
/// use tracing_observer::proto::collector::trace::v1::ExportTraceServiceRequest;
/// use tracing_observer::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// let span = Span { name: "work".into(), ..Default::default() };
/// let scope = ScopeSpans { spans: vec![span], ..Default::default() };
/// let request = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans { scope_spans: vec![scope], ..Default::default() }],
/// };
/// assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].name, "work");
/// ```
pub mod proto {
    pub use opentelemetry_proto::tonic::*;
}
