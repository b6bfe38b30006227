//! Event metrics, the worker's side: the samples the host's threads captured
//! ([`crate::event_metrics`]) aggregated into metric families of the registry.
//!
//! | event field | becomes (Prometheus) | OTLP |
//! |---|---|---|
//! | `monotonic_counter.NAME = n` | counter `NAME_total`, incremented by `n` (not below zero) | monotonic `Sum` of doubles |
//! | `counter.NAME = n` | gauge `NAME`, incremented by `n` (an up-down counter) | `Gauge` |
//! | `histogram.NAME = n` | histogram `NAME` (OpenTelemetry's default bounds, 0 to 10 000) | `Histogram` |
//! | `gauge.NAME = n` | gauge `NAME`, set to `n` | `Gauge` |
//!
//! `NAME` is sanitized for Prometheus (`http.requests` → `http_requests`). The event's
//! other fields are the labels (sorted by name; `message` is not one), so one event
//! can update several metrics with the same labels. Label sets are capped at
//! `event_metrics_max_series` over all event metrics: a measurement that would create
//! one more goes to its metric's `otel_metric_overflow="true"` series (the
//! OpenTelemetry SDK's overflow attribute) and counts in
//! `tracing_observer_event_metrics_overflow_total`. A value that cannot be taken is
//! counted in `tracing_observer_event_metrics_dropped_total{reason}`: `queue_full`
//! (the hand-off from the host was full), `invalid_value` (not a number, not finite,
//! or a negative monotonic increment), `kind_conflict` (a name already used by
//! another kind) and `reserved_name` (a name in this crate's own namespaces).

use super::{label_name, MetricsRegistry};
use crate::event_metrics::{EventMetricsCapture, EventSample, FieldValue};
use metrics::{Counter, Label, Unit};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

const OVERFLOW_TOTAL: &str = "tracing_observer_event_metrics_overflow_total";
const DROPPED_TOTAL: &str = "tracing_observer_event_metrics_dropped_total";
/// The label of a metric's overflow series, as the OpenTelemetry SDK names it.
const OVERFLOW_LABEL: (&str, &str) = ("otel_metric_overflow", "true");
/// Metric-name prefixes of this crate's own families, refused for event metrics.
const RESERVED: [&str; 3] = ["tracing_observer_", "traces_span", "process_"];

/// The OpenTelemetry SDK's default explicit bucket bounds, which tracing-opentelemetry's
/// `MetricsLayer` histograms get.
pub(crate) const HISTOGRAM_BOUNDS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Event-metrics settings, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventMetricsConfig {
    pub(crate) enabled: bool,
    /// Label sets at most over all event metrics; further ones go to overflow series.
    pub(crate) max_series: usize,
}

/// What a metric field measures, from its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    MonotonicCounter,
    UpDownCounter,
    Histogram,
    Gauge,
}

impl Kind {
    /// The kind and the name after the prefix, for a metric field's name.
    fn of(field: &str) -> Option<(Self, &str)> {
        [
            ("monotonic_counter.", Self::MonotonicCounter),
            ("counter.", Self::UpDownCounter),
            ("histogram.", Self::Histogram),
            ("gauge.", Self::Gauge),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| field.strip_prefix(prefix).map(|name| (kind, name)))
    }

    fn prometheus_type(self) -> &'static str {
        match self {
            Self::MonotonicCounter => "counter",
            Self::UpDownCounter | Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// Why a measurement was not taken (in the order of [`Refusal::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    QueueFull,
    InvalidValue,
    KindConflict,
    ReservedName,
}

impl Refusal {
    const ALL: [Self; 4] = [
        Self::QueueFull,
        Self::InvalidValue,
        Self::KindConflict,
        Self::ReservedName,
    ];

    fn reason(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::InvalidValue => "invalid_value",
            Self::KindConflict => "kind_conflict",
            Self::ReservedName => "reserved_name",
        }
    }
}

/// A label set: sanitized names and values, sorted by name.
type Labels = Vec<(String, String)>;

/// One series' value.
#[derive(Clone, Debug, PartialEq)]
enum Point {
    Number(f64),
    /// Counts per bucket of [`HISTOGRAM_BOUNDS`] (not cumulative; the last is `+Inf`).
    Histogram {
        buckets: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

impl Point {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Histogram => Self::Histogram {
                buckets: vec![0; HISTOGRAM_BOUNDS.len() + 1],
                sum: 0.0,
                count: 0,
            },
            _ => Self::Number(0.0),
        }
    }

    fn apply(&mut self, kind: Kind, value: f64) {
        match (self, kind) {
            (Self::Number(n), Kind::Gauge) => *n = value,
            (Self::Number(n), _) => *n += value,
            (
                Self::Histogram {
                    buckets,
                    sum,
                    count,
                },
                _,
            ) => {
                let i = HISTOGRAM_BOUNDS
                    .iter()
                    .position(|&bound| value <= bound)
                    .unwrap_or(HISTOGRAM_BOUNDS.len());
                buckets[i] += 1;
                *sum += value;
                *count += 1;
            }
        }
    }
}

/// One event metric: its kind, the field it came from first, and its series.
#[derive(Debug)]
struct Family {
    kind: Kind,
    field: &'static str,
    series: HashMap<Labels, Point>,
    /// Measurements past the label-set cap.
    overflow: Option<Point>,
}

/// The event metrics' families, kept in the registry and rendered with it.
#[derive(Debug, Default)]
pub(crate) struct EventFamilies {
    families: BTreeMap<String, Family>,
    /// Label sets over all families, overflow series excluded.
    series: usize,
}

impl EventFamilies {
    /// Whether `name` is an event counter (its values are doubles).
    pub(crate) fn is_counter(&self, name: &str) -> bool {
        self.families
            .get(name)
            .is_some_and(|f| f.kind == Kind::MonotonicCounter)
    }

    /// Appends every family in the Prometheus text format.
    pub(crate) fn render_into(&self, out: &mut String) {
        for (name, family) in &self.families {
            let _ = writeln!(
                out,
                "# HELP {name} Event metric from the `{}` field of tracing events.",
                family.field
            );
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.prometheus_type());
            let overflow = family.overflow.iter().map(|p| {
                let labels = vec![(OVERFLOW_LABEL.0.to_owned(), OVERFLOW_LABEL.1.to_owned())];
                (labels, p)
            });
            let series = family.series.iter().map(|(l, p)| (l.clone(), p));
            for (labels, point) in series.chain(overflow) {
                render_point(out, name, &labels, point);
            }
            out.push('\n');
        }
    }
}

fn render_point(out: &mut String, name: &str, labels: &Labels, point: &Point) {
    match point {
        Point::Number(value) => {
            let _ = writeln!(out, "{name}{} {value}", label_text(labels, None));
        }
        Point::Histogram {
            buckets,
            sum,
            count,
        } => {
            let mut cumulative = 0;
            for (i, n) in buckets.iter().enumerate() {
                cumulative += n;
                let le = HISTOGRAM_BOUNDS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                let labels = label_text(labels, Some(&le));
                let _ = writeln!(out, "{name}_bucket{labels} {cumulative}");
            }
            let labels = label_text(labels, None);
            let _ = writeln!(out, "{name}_sum{labels} {sum}");
            let _ = writeln!(out, "{name}_count{labels} {count}");
        }
    }
}

/// `{a="x",b="y"}` (with `le` last), or nothing without labels.
fn label_text(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The aggregator, on the worker: samples in, families of the registry updated.
#[derive(Debug)]
pub(crate) struct EventMetrics {
    config: EventMetricsConfig,
    overflow_total: Counter,
    /// By [`Refusal::ALL`]'s order.
    dropped: [Counter; 4],
    /// Counted here; `queue_full` is the capture's own count.
    dropped_here: [u64; 4],
    /// A metric field's name → its family's name, or why it is refused.
    names: HashMap<&'static str, Result<(Kind, String), Refusal>>,
}

impl EventMetrics {
    /// Registers the overflow and drop counters on `registry`.
    pub(crate) fn new(config: EventMetricsConfig, registry: &MetricsRegistry) -> Self {
        registry.describe_counter(
            OVERFLOW_TOTAL,
            Unit::Count,
            "Event-metric measurements counted in an otel_metric_overflow=\"true\" series because the event-metrics label-set cap was reached.",
        );
        registry.describe_counter(
            DROPPED_TOTAL,
            Unit::Count,
            "Event-metric measurements not taken, by reason: queue_full, invalid_value, kind_conflict, reserved_name.",
        );
        let dropped = Refusal::ALL
            .map(|d| registry.counter(DROPPED_TOTAL, vec![Label::new("reason", d.reason())]));
        Self {
            config,
            overflow_total: registry.counter(OVERFLOW_TOTAL, vec![]),
            dropped,
            dropped_here: [0; 4],
            names: HashMap::new(),
        }
    }

    /// Aggregates every sample `capture` holds into `registry`'s event families.
    pub(crate) fn observe(&mut self, capture: &EventMetricsCapture, registry: &MetricsRegistry) {
        if !self.config.enabled {
            return;
        }
        registry.with_event_families(|families| {
            capture.drain(|sample| self.apply(&sample, families));
        });
        self.dropped[0].absolute(capture.dropped());
        for (counter, &n) in self.dropped.iter().zip(&self.dropped_here).skip(1) {
            counter.absolute(n);
        }
    }

    /// One metric event: each of its measurements, with its other fields as labels.
    pub(crate) fn apply(&mut self, sample: &EventSample, families: &mut EventFamilies) {
        let mut labels: Labels = Vec::new();
        let mut measurements = Vec::new();
        for (field, value) in &sample.fields {
            if Kind::of(field).is_some() {
                measurements.push((*field, value));
                continue;
            }
            let mut name = label_name(field);
            if name == "le" || name == OVERFLOW_LABEL.0 {
                name.insert_str(0, "exported_");
            }
            if !labels.iter().any(|(n, _)| *n == name) {
                labels.push((name, label_value(value)));
            }
        }
        labels.sort();
        for (field, value) in measurements {
            if let Err(refusal) = self.measure(field, value, &labels, families) {
                self.dropped_here[refusal as usize] += 1;
            }
        }
    }

    fn measure(
        &mut self,
        field: &'static str,
        value: &FieldValue,
        labels: &Labels,
        families: &mut EventFamilies,
    ) -> Result<(), Refusal> {
        let (kind, name) = self
            .names
            .entry(field)
            .or_insert_with(|| family_name(field))
            .clone()?;
        let value = number(value).ok_or(Refusal::InvalidValue)?;
        if !value.is_finite() || (kind == Kind::MonotonicCounter && value < 0.0) {
            return Err(Refusal::InvalidValue);
        }
        let family = families.families.entry(name).or_insert_with(|| Family {
            kind,
            field,
            series: HashMap::new(),
            overflow: None,
        });
        if family.kind != kind {
            return Err(Refusal::KindConflict);
        }
        if let Some(point) = family.series.get_mut(labels) {
            point.apply(kind, value);
        } else if families.series < self.config.max_series {
            let mut point = Point::new(kind);
            point.apply(kind, value);
            family.series.insert(labels.clone(), point);
            families.series += 1;
        } else {
            self.overflow_total.increment(1);
            family
                .overflow
                .get_or_insert_with(|| Point::new(kind))
                .apply(kind, value);
        }
        Ok(())
    }
}

/// A metric field's family: its kind and Prometheus name (`_total` on counters).
fn family_name(field: &str) -> Result<(Kind, String), Refusal> {
    let (kind, name) = Kind::of(field).ok_or(Refusal::InvalidValue)?;
    let mut name = label_name(name);
    if RESERVED.iter().any(|r| name.starts_with(r)) {
        return Err(Refusal::ReservedName);
    }
    if kind == Kind::MonotonicCounter && !name.ends_with("_total") {
        name.push_str("_total");
    }
    Ok((kind, name))
}

fn number(value: &FieldValue) -> Option<f64> {
    match *value {
        FieldValue::U64(n) => Some(n as f64),
        FieldValue::I64(n) => Some(n as f64),
        FieldValue::F64(n) => Some(n),
        FieldValue::Bool(_) | FieldValue::Str(_) => None,
    }
}

fn label_value(value: &FieldValue) -> String {
    match value {
        FieldValue::U64(n) => n.to_string(),
        FieldValue::I64(n) => n.to_string(),
        FieldValue::F64(n) => n.to_string(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Str(s) => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
