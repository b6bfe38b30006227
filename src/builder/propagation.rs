//! [`ObserverBuilder`] setters: how trace context and baggage cross process boundaries.

use super::ObserverBuilder;
use crate::config::key;
use crate::propagation::{Propagator, Propagators};

impl ObserverBuilder {
    /// The header formats of trace context and baggage, in order: extraction keeps the
    /// first valid context, injection writes them all.
    ///
    /// They are process-wide: building the observer installs them for
    /// [`http::extract`](crate::http::extract) / [`inject`](crate::http::inject), the
    /// tonic metadata helpers and the tower layers (see
    /// [`context::set_propagators`](crate::context::set_propagators)).
    ///
    /// Environment: `OTEL_PROPAGATORS` (`tracecontext`, `baggage`, `b3`, `b3multi`,
    /// `jaeger`, comma-separated, or `none`). Default: `tracecontext,baggage`.
    ///
    /// ```
    /// use tracing_observer::{context::Propagator, Observer};
    /// let builder = Observer::builder().propagators([Propagator::TraceContext, Propagator::B3Multi]);
    /// ```
    pub fn propagators(self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.set::<key::propagators>(Propagators::new(propagators))
    }

    /// Baggage keys recorded as attributes (named as the key, through the field
    /// policy and the attribute limits) of the span the baggage arrives with: the
    /// `TraceServerLayer` span, or the span given
    /// [`set_parent`](crate::ObserverSpanExt::set_parent) /
    /// [`set_baggage`](crate::ObserverSpanExt::set_baggage).
    ///
    /// Environment: `OBSERVER_BAGGAGE_ATTRIBUTES=a,b`. Default: none.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().baggage_attributes(["tenant", "user.tier"]);
    /// ```
    pub fn baggage_attributes<I, T>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.set::<key::baggage_attributes>(keys.into_iter().map(Into::into).collect())
    }
}
