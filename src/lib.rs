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
mod current;
mod delivery;
mod diagnostics;
mod entered;
mod error;
mod event_metrics;
pub mod export;
pub mod health;
pub mod http;
mod ids;
mod layer;
mod logs;
mod metrics;
mod observer;
#[cfg(feature = "opentelemetry")]
mod otel_interop;
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
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

pub use builder::ObserverBuilder;
pub use delivery::CircuitBreaker;
pub use error::{BuildError, ExportError, ExportErrorKind, FlushError};
pub use export::SpanExporter;
pub use health::HealthCheck;
pub use layer::ObserverLayer;
pub use observer::Observer;
pub use propagation::SpanContext;
pub use report::{DroppedLogs, DroppedSpans, LogStats, PipelineStats, ShutdownReport, SpoolStats};
pub use sampling::{Sampler, SamplingRule};
pub use span_ext::{IntoParent, ObserverSpanExt};

/// Circuit breakers for the application's own calls, and the types around them.
///
/// Each observer has its own export breaker ([`Observer::export_breaker`]); the
/// application's breakers live in the process-wide [`breakers()`](breaker::breakers) registry, which
/// every observer's `/circuit-breakers` endpoint, health and metrics list after it.
///
/// ```
/// use tracing_observer::breaker::{breakers, BreakerConfig, BreakerError};
///
/// let inventory = breakers().get_or_create("inventory", BreakerConfig::default().failure_threshold(3));
/// match inventory.call(|| Ok::<_, std::io::Error>("in stock")) {
///     Ok(answer) => println!("{answer}"),
///     Err(BreakerError::Open { retry_in, .. }) => println!("try again in {retry_in:?}"),
///     Err(BreakerError::Inner(e)) => println!("failed: {e}"),
/// }
/// ```
pub mod breaker {
    pub use crate::delivery::{
        breakers, BreakerConfig, BreakerError, BreakerRegistry, BreakerSnapshot, BreakerState,
        CircuitBreaker, Permit, EXPORT_BREAKER, LOGS_BREAKER,
    };
}

/// The trace context of the current span and its identifiers.
///
/// [`SpanContext`] (also at the crate root) is what propagation reads and writes,
/// with its [`Baggage`](context::Baggage); [`http`] (and `tower`, with the `tower`
/// feature) carry it across services in the process-wide
/// [`Propagators`](context::Propagators) formats.
///
/// ```
/// use tracing_observer::context::{current_trace_id, TraceId};
///
/// // Outside any span recorded by an observer there is no trace.
/// assert_eq!(current_trace_id(), None::<TraceId>);
/// ```
pub mod context {
    pub use crate::current::{baggage, current_span_context, current_span_id, current_trace_id};
    pub use crate::ids::{SpanId, TraceId};
    pub use crate::propagation::{
        propagators, set_propagators, Baggage, BaggageError, Propagator, Propagators, SpanContext,
    };
}

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

/// Interoperation with OpenTelemetry 0.33 (the `opentelemetry` feature), for code
/// written against `opentelemetry` and `tracing-opentelemetry`.
///
/// * [`SpanContext`] and [`Baggage`](context::Baggage) convert to and from
///   `opentelemetry::trace::SpanContext`, `opentelemetry::baggage::Baggage` and
///   `opentelemetry::Context` (`From` / `TryFrom`).
/// * [`ObserverSpanExt::set_parent`] takes an `opentelemetry::Context`;
///   [`ObserverSpanExt::context`] and [`current_context`](otel::current_context)
///   give one, as `tracing-opentelemetry`'s `Span::current().context()` does.
/// * [`ObserverPropagator`](otel::ObserverPropagator) is a `TextMapPropagator` in
///   the observer's formats (`OTEL_PROPAGATORS`), for
///   `opentelemetry::global::set_text_map_propagator` and `opentelemetry-http`.
/// * [`SdkExporter`](otel::SdkExporter) makes any `opentelemetry_sdk` span exporter
///   the observer's exporter, behind its retry, circuit breaker and spool.
///
/// The types are those of `opentelemetry` and `opentelemetry_sdk` 0.33: this
/// version of the crate works with that release line only.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use tracing_observer::{otel::ObserverPropagator, ObserverSpanExt};
///
/// let mut incoming = std::collections::HashMap::new();
/// incoming.insert("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned());
/// let parent = ObserverPropagator::new().extract(&incoming);
/// let span = tracing::info_span!("request");
/// span.set_parent(parent);
/// ```
#[cfg(feature = "opentelemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
pub mod otel {
    pub use crate::current::current_context;
    pub use crate::export::sdk::SdkExporter;
    pub use crate::otel_interop::{InvalidSpanContext, ObserverPropagator};
}
