//! Metrics: span metrics (RED) and the observer's own, in Prometheus text.
//!
//! Every observer owns a [`MetricsRegistry`]: a `metrics-exporter-prometheus` recorder
//! that is *not* installed as the global `metrics` recorder, so several observers (or
//! tests) in one process never mix their series, and the application keeps the global
//! recorder for itself. The worker registers handles on it through the `metrics`
//! facade's [`Recorder`] trait once per series and then only bumps atomics.
//!
//! ```no_run
//! # let observer = tracing_observer::Observer::builder().build()?;
//! // What `/metrics` serves, in the Prometheus text format.
//! let text = observer.metrics_text();
//! # Ok::<(), tracing_observer::BuildError>(())
//! ```

pub(crate) mod events;
pub(crate) mod exemplars;
pub(crate) mod exposition;
pub(crate) mod logs;
pub(crate) mod openmetrics;
pub(crate) mod otlp;
pub(crate) mod pipeline;
pub(crate) mod process;
pub(crate) mod push;
pub(crate) mod span;

use events::EventFamilies;
use exemplars::Exemplars;
use exposition::{FloatCounter, FloatFamily};
use metrics::{Counter, Gauge, Histogram, Key, Label, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// The `metrics` metadata every series of this crate is registered with.
const METADATA: metrics::Metadata<'static> = metrics::Metadata::new(
    "tracing_observer",
    metrics::Level::INFO,
    Some(module_path!()),
);

/// Bucket bounds of the observer's own duration histograms, in seconds.
pub(crate) const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One observer's metric registry: a private Prometheus recorder and its render handle.
pub(crate) struct MetricsRegistry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The unit each described metric was given, by name: the Prometheus text leaves
    /// units out, OTLP export puts them back. Written when series are described (at
    /// start, on the worker), read at each OTLP export; never on the host's threads.
    units: Mutex<HashMap<&'static str, Unit>>,
    /// Counters with fractions, which the Prometheus recorder cannot hold (see
    /// [`exposition`]); registered on the worker, rendered with the rest.
    floats: Mutex<Vec<FloatFamily>>,
    /// The event metrics (see [`events`]): their names come from the application's
    /// fields, so the registry keeps and renders them itself.
    events: Mutex<EventFamilies>,
    /// The span-metrics duration histograms' exemplars (see [`exemplars`]).
    pub(crate) exemplars: Exemplars,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry").finish_non_exhaustive()
    }
}

impl MetricsRegistry {
    /// A registry whose histograms use `buckets` (metric name → upper bounds); every
    /// other histogram gets [`SECONDS_BUCKETS`].
    pub(crate) fn new(buckets: &[(&str, &[f64])]) -> Self {
        let mut builder = PrometheusBuilder::new();
        for (name, bounds) in buckets {
            builder = builder
                .set_buckets_for_metric(Matcher::Full((*name).to_owned()), bounds)
                .expect("bucket lists are not empty");
        }
        let recorder = builder
            .set_buckets(SECONDS_BUCKETS)
            .expect("bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        Self {
            recorder,
            handle,
            units: Mutex::new(HashMap::new()),
            floats: Mutex::new(Vec::new()),
            events: Mutex::new(EventFamilies::default()),
            exemplars: Exemplars::default(),
        }
    }

    /// The unit `name` was described with, if it was.
    pub(crate) fn unit(&self, name: &str) -> Option<Unit> {
        self.units.lock().ok()?.get(name).copied()
    }

    fn remember_unit(&self, name: &'static str, unit: Unit) {
        if let Ok(mut units) = self.units.lock() {
            units.insert(name, unit);
        }
    }

    /// The Prometheus text exposition of every series, families sorted by name.
    pub(crate) fn render(&self) -> String {
        let mut text = self.handle.render();
        if let Ok(floats) = self.floats.lock() {
            exposition::append_floats(&mut text, &floats);
        }
        if let Ok(events) = self.events.lock() {
            events.render_into(&mut text);
        }
        exposition::sorted(&text)
    }

    /// Whether `name` is a counter with fractions (its OTLP points are doubles).
    pub(crate) fn is_float_counter(&self, name: &str) -> bool {
        self.floats
            .lock()
            .is_ok_and(|floats| floats.iter().any(|f| f.name == name))
            || self.events.lock().is_ok_and(|e| e.is_counter(name))
    }

    /// Runs `update` on the event metrics' families (on the worker, or while rendering).
    pub(crate) fn with_event_families(&self, update: impl FnOnce(&mut EventFamilies)) {
        if let Ok(mut events) = self.events.lock() {
            update(&mut events);
        }
    }

    /// Drains histogram samples into their buckets; run every few seconds so memory stays bounded.
    pub(crate) fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    pub(crate) fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    /// A counter without labels that keeps fractions (seconds of CPU time), described
    /// with `unit` and `help`; the same handle for the same name.
    pub(crate) fn float_counter(
        &self,
        name: &'static str,
        unit: Unit,
        help: &'static str,
    ) -> FloatCounter {
        debug_assert!(name.ends_with("_total"), "{name}");
        self.remember_unit(name, unit);
        let Ok(mut floats) = self.floats.lock() else {
            return FloatCounter::default();
        };
        if let Some(family) = floats.iter().find(|f| f.name == name) {
            return family.counter.clone();
        }
        let counter = FloatCounter::default();
        floats.push(FloatFamily {
            name,
            help,
            counter: counter.clone(),
        });
        counter
    }

    pub(crate) fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    pub(crate) fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    /// Describes a counter (`# HELP` / unit); counters' names end in `_total`.
    pub(crate) fn describe_counter(&self, name: &'static str, unit: Unit, help: &'static str) {
        debug_assert!(name.ends_with("_total"), "{name}");
        self.remember_unit(name, unit);
        self.recorder
            .describe_counter(name.into(), Some(unit), SharedString::const_str(help));
    }

    pub(crate) fn describe_gauge(&self, name: &'static str, unit: Unit, help: &'static str) {
        self.remember_unit(name, unit);
        self.recorder
            .describe_gauge(name.into(), Some(unit), SharedString::const_str(help));
    }

    pub(crate) fn describe_histogram(&self, name: &'static str, unit: Unit, help: &'static str) {
        self.remember_unit(name, unit);
        self.recorder
            .describe_histogram(name.into(), Some(unit), SharedString::const_str(help));
    }
}

/// A Prometheus label name for an attribute key (`code.module.name` → `code_module_name`).
pub(crate) fn label_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_sanitised() {
        assert_eq!(label_name("code.module.name"), "code_module_name");
        assert_eq!(label_name("http-route"), "http_route");
        assert_eq!(label_name("1x"), "_1x");
    }

    #[test]
    fn registries_are_private_to_each_observer() {
        let a = MetricsRegistry::new(&[]);
        let b = MetricsRegistry::new(&[]);
        a.counter("only_in_a_total", vec![]).increment(3);
        assert!(a.render().contains("only_in_a_total 3"));
        assert!(!b.render().contains("only_in_a_total"));
    }
}
