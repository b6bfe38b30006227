//! Interoperation with the `opentelemetry` API (the `opentelemetry` feature):
//! conversions of [`SpanContext`](crate::SpanContext) and
//! [`Baggage`](crate::context::Baggage) to and from `opentelemetry` types, and the
//! observer's header formats as a `TextMapPropagator`.

mod convert;
mod propagator;
#[cfg(test)]
mod tests;

pub use convert::InvalidSpanContext;
pub(crate) use convert::{context_baggage, otel_context};
pub use propagator::ObserverPropagator;
