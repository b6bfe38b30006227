//! Span metrics (RED: rate, errors, duration), aggregated on the worker from every span.
//!
//! Recorded spans arrive as [`SpanRecord`]s; spans that head sampling dropped are
//! tallied per callsite on the host's threads (bucket counts and a duration sum —
//! never their attributes) and harvested from the
//! [`SampledOutTally`](crate::tally::SampledOutTally), so call and error rates
//! stay exact at any sampling ratio.
//!
//! Names and labels follow one of two conventions ([`SpanMetricsProfile`]), so that
//! existing dashboards work unchanged. Each label set is registered once; afterwards a
//! span costs a hash look-up, one atomic add and one histogram sample. The number
//! of label sets is capped: spans that would create more are counted under
//! `span_name="other"` (and `other` for every extra dimension), and
//! `tracing_observer_span_metrics_overflow_total` counts them.

use super::exemplars::{BucketExemplars, Exemplar};
use super::{label_name, MetricsRegistry};
use crate::ids::{SpanId, TraceId};
use crate::record::{Attribute, SpanKind, SpanRecord, StatusCode, Value};
use crate::tally::SpanMetricsProfile;
use metrics::{Counter, Histogram, Label, Unit};
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tracing_core::Metadata;

/// The per-span CPU time histogram (with `cpu_time` on), labelled like the span metrics.
pub(crate) const CPU_TIME: &str = "tracing_observer_span_cpu_time_seconds";

/// Buckets of [`CPU_TIME`], in seconds: spans' CPU time is mostly micro- to milliseconds.
pub(crate) const CPU_TIME_BUCKETS_S: &[f64] = &[
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

const OVERFLOW_TOTAL: &str = "tracing_observer_span_metrics_overflow_total";
const SAMPLED_OUT_TOTAL: &str = "tracing_observer_spans_sampled_out_total";
const OTHER: &str = "other";

/// Span-metrics settings, resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SpanMetricsConfig {
    pub(crate) enabled: bool,
    pub(crate) profile: SpanMetricsProfile,
    /// Extra label dimensions: attribute keys, or `code.module.name`,
    /// `code.function.name`, `code.file.path`, `level` (from the callsite).
    pub(crate) dimensions: Vec<String>,
    /// Label sets at most; further ones go to the `other` series.
    pub(crate) max_series: usize,
    /// Whether recorded spans' thread CPU time also goes to the [`CPU_TIME`] histogram.
    pub(crate) cpu_time: bool,
}

/// What span metrics label a finished span by, besides its name and attributes:
/// its callsite, kind and status.
#[derive(Clone, Copy, Debug)]
struct SpanSummary {
    /// The span's callsite; its name is the span name.
    metadata: &'static Metadata<'static>,
    kind: SpanKind,
    status: StatusCode,
}

/// Histogram samples recorded between two sweeps into buckets (~1 MiB held at most).
const SWEEP_EVERY: u32 = 1 << 16;

/// What a recorded span adds to its series besides its duration: its CPU time and
/// its identity, the duration histogram's exemplar.
#[derive(Clone, Copy, Debug)]
struct Recorded {
    cpu: Option<Duration>,
    trace_id: TraceId,
    span_id: SpanId,
}

/// The counter and histograms of one label set.
#[derive(Clone)]
struct Series {
    calls: Counter,
    duration: Histogram,
    cpu: Option<Histogram>,
    /// The latest recorded span of each duration bucket.
    exemplars: Arc<BucketExemplars>,
}

impl Series {
    /// Counts spans: `samples` are duration values and how many spans each stands
    /// for. `unswept` is the number of histogram samples not yet folded into buckets;
    /// they are folded every [`SWEEP_EVERY`], and the new number returned.
    fn add(
        &self,
        samples: &[(f64, u64)],
        recorded: Option<Recorded>,
        mut unswept: u32,
        registry: &MetricsRegistry,
    ) -> u32 {
        let mut calls = 0;
        for &(value, n) in samples {
            calls += n;
            let mut left = n;
            while left > 0 {
                let now = left.min(u64::from(SWEEP_EVERY - unswept));
                self.duration.record_many(value, now as usize);
                left -= now;
                unswept += now as u32;
                if unswept >= SWEEP_EVERY {
                    unswept = 0;
                    registry.upkeep();
                }
            }
        }
        self.calls.increment(calls);
        let Some(recorded) = recorded else {
            return unswept;
        };
        if let (Some(histogram), Some(cpu)) = (&self.cpu, recorded.cpu) {
            histogram.record(cpu.as_secs_f64());
        }
        if let [(value, _)] = *samples {
            self.exemplars.record(Exemplar {
                trace_id: recorded.trace_id,
                span_id: recorded.span_id,
                value,
                unix_nanos: crate::clock::unix_nanos(SystemTime::now()),
            });
        }
        unswept
    }
}

/// Identifies a label set by its values (the names are fixed by the configuration).
#[derive(Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    name: String,
    kind: u8,
    status: u8,
    dimensions: Vec<String>,
}

/// Where an extra dimension's value comes from.
#[derive(Clone, Debug)]
enum Dimension {
    Module,
    Function,
    File,
    Level,
    Attribute(String),
}

/// The span-metrics aggregator, owned by the worker.
pub(crate) struct SpanMetrics {
    config: SpanMetricsConfig,
    service: String,
    dimensions: Vec<(String, Dimension)>,
    /// Whether every dimension comes from the callsite (then a callsite is one label set).
    callsite_only: bool,
    /// Keyed by callsite address (not by anything the host's data controls).
    by_callsite: FxHashMap<(usize, u8, u8), Series>,
    by_key: HashMap<SeriesKey, Series>,
    overflow: HashMap<(u8, u8), Series>,
    overflow_total: Counter,
    sampled_out_total: Counter,
    records: u64,
    sampled_out: u64,
    /// Histogram samples recorded since the registry last folded them into buckets.
    unswept: u32,
}

impl std::fmt::Debug for SpanMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanMetrics")
            .field("config", &self.config)
            .field("series", &self.by_key.len())
            .finish_non_exhaustive()
    }
}

impl SpanMetrics {
    /// An aggregator registering on `registry`; describes its metrics there.
    pub(crate) fn new(
        config: SpanMetricsConfig,
        service: &str,
        registry: &MetricsRegistry,
    ) -> Self {
        let profile = config.profile;
        if config.enabled {
            registry.describe_counter(
                profile.calls_name(),
                Unit::Count,
                "Spans that finished, by service, name, kind and status (span metrics).",
            );
            let (unit, help) = match profile {
                SpanMetricsProfile::Collector => (
                    Unit::Milliseconds,
                    "Span duration in milliseconds, creation to close (span metrics).",
                ),
                SpanMetricsProfile::Tempo => (
                    Unit::Seconds,
                    "Span duration in seconds, creation to close (span metrics).",
                ),
            };
            registry.describe_histogram(profile.duration_name(), unit, help);
            if config.cpu_time {
                registry.describe_histogram(
                    CPU_TIME,
                    Unit::Seconds,
                    "Thread CPU time of recorded spans while entered, in seconds (cpu_time on).",
                );
            }
        }
        registry.describe_counter(
            OVERFLOW_TOTAL,
            Unit::Count,
            "Spans counted under span_name=\"other\" because the span-metrics label-set cap was reached.",
        );
        registry.describe_counter(
            SAMPLED_OUT_TOTAL,
            Unit::Count,
            "Spans head sampling dropped; they still count in span metrics.",
        );
        let dimensions: Vec<(String, Dimension)> = config
            .dimensions
            .iter()
            .map(|key| {
                let source = match key.as_str() {
                    "code.module.name" => Dimension::Module,
                    "code.function.name" => Dimension::Function,
                    "code.file.path" => Dimension::File,
                    "level" => Dimension::Level,
                    other => Dimension::Attribute(other.to_owned()),
                };
                (label_name(key), source)
            })
            .collect();
        let callsite_only = !dimensions
            .iter()
            .any(|(_, d)| matches!(d, Dimension::Attribute(_)));
        Self {
            service: service.to_owned(),
            dimensions,
            callsite_only,
            by_callsite: FxHashMap::default(),
            by_key: HashMap::new(),
            overflow: HashMap::new(),
            overflow_total: registry.counter(OVERFLOW_TOTAL, vec![]),
            sampled_out_total: registry.counter(SAMPLED_OUT_TOTAL, vec![]),
            records: 0,
            sampled_out: 0,
            unswept: 0,
            config,
        }
    }

    /// Counts spans of one callsite that head sampling dropped (`INTERNAL`, `UNSET`):
    /// `samples` are duration values in the histogram's unit and how many spans each
    /// stands for.
    pub(crate) fn observe_sampled_out(
        &mut self,
        metadata: &'static Metadata<'static>,
        samples: &[(f64, u64)],
        registry: &MetricsRegistry,
    ) {
        let spans: u64 = samples.iter().map(|&(_, n)| n).sum();
        self.sampled_out += spans;
        self.sampled_out_total.increment(spans);
        let summary = SpanSummary {
            metadata,
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
        };
        self.count(&summary, metadata.name(), &[], samples, None, registry);
    }

    /// Counts a recorded span.
    pub(crate) fn observe_record(&mut self, record: &SpanRecord, registry: &MetricsRegistry) {
        self.records += 1;
        let summary = SpanSummary {
            metadata: record.metadata,
            kind: record.kind,
            status: record.status,
        };
        let value = self
            .config
            .profile
            .duration_value(record.timing.duration_ns());
        let recorded = Recorded {
            cpu: record.timing.cpu,
            trace_id: record.trace_id,
            span_id: record.span_id,
        };
        let (name, attributes) = (record.name(), &record.attributes);
        let samples = [(value, 1)];
        self.count(
            &summary,
            name,
            attributes,
            &samples,
            Some(recorded),
            registry,
        );
    }

    /// The share of finished spans that were recorded (1 when nothing was sampled out).
    pub(crate) fn sampling_ratio(&self) -> f64 {
        let total = self.records + self.sampled_out;
        if total == 0 {
            1.0
        } else {
            self.records as f64 / total as f64
        }
    }

    /// Counts spans of one label set (see [`Series::add`] for `samples`).
    fn count(
        &mut self,
        summary: &SpanSummary,
        name: &str,
        attributes: &[Attribute],
        samples: &[(f64, u64)],
        recorded: Option<Recorded>,
        registry: &MetricsRegistry,
    ) {
        if !self.config.enabled {
            return;
        }
        let kind = kind_index(summary.kind);
        let status = status_index(summary.status);
        let metadata = summary.metadata;
        if self.callsite_only && name == metadata.name() {
            let callsite = (std::ptr::from_ref(metadata) as usize, kind, status);
            if let Some(series) = self.by_callsite.get(&callsite) {
                self.unswept = series.add(samples, recorded, self.unswept, registry);
            } else {
                let series = self.series(summary, name, attributes, registry);
                self.unswept = series.add(samples, recorded, self.unswept, registry);
                self.by_callsite.insert(callsite, series);
            }
        } else {
            let series = self.series(summary, name, attributes, registry);
            self.unswept = series.add(samples, recorded, self.unswept, registry);
        }
    }

    /// The series of this span's label set: registered now if new, `other` past the cap.
    fn series(
        &mut self,
        summary: &SpanSummary,
        name: &str,
        attributes: &[Attribute],
        registry: &MetricsRegistry,
    ) -> Series {
        let key = SeriesKey {
            name: name.to_owned(),
            kind: kind_index(summary.kind),
            status: status_index(summary.status),
            dimensions: self
                .dimensions
                .iter()
                .map(|(_, source)| dimension_value(source, summary.metadata, attributes))
                .collect(),
        };
        if let Some(series) = self.by_key.get(&key) {
            return series.clone();
        }
        if self.by_key.len() >= self.config.max_series {
            self.overflow_total.increment(1);
            let (kind, status) = (key.kind, key.status);
            let other = SeriesKey {
                name: OTHER.to_owned(),
                kind,
                status,
                dimensions: vec![OTHER.to_owned(); self.dimensions.len()],
            };
            let series = self.overflow.entry((kind, status)).or_insert_with(|| {
                register(
                    &self.config,
                    &self.service,
                    &self.dimensions,
                    &other,
                    registry,
                )
            });
            return series.clone();
        }
        let series = register(
            &self.config,
            &self.service,
            &self.dimensions,
            &key,
            registry,
        );
        self.by_key.insert(key, series.clone());
        series
    }
}

fn register(
    config: &SpanMetricsConfig,
    service: &str,
    dimensions: &[(String, Dimension)],
    key: &SeriesKey,
    registry: &MetricsRegistry,
) -> Series {
    let profile = config.profile;
    let mut labels = vec![
        Label::new(profile.service_label(), service.to_owned()),
        Label::new("span_name", key.name.clone()),
        Label::new("span_kind", KIND_NAMES[usize::from(key.kind)]),
        Label::new("status_code", STATUS_NAMES[usize::from(key.status)]),
    ];
    for ((label, _), value) in dimensions.iter().zip(&key.dimensions) {
        labels.push(Label::new(label.clone(), value.clone()));
    }
    let exemplar_labels = labels
        .iter()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    Series {
        exemplars: (registry.exemplars).series(
            profile.duration_name(),
            exemplar_labels,
            profile.buckets(),
        ),
        calls: registry.counter(profile.calls_name(), labels.clone()),
        cpu: config
            .cpu_time
            .then(|| registry.histogram(CPU_TIME, labels.clone())),
        duration: registry.histogram(profile.duration_name(), labels),
    }
}

const KIND_NAMES: [&str; 5] = [
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

const STATUS_NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

fn kind_index(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Internal => 0,
        SpanKind::Server => 1,
        SpanKind::Client => 2,
        SpanKind::Producer => 3,
        SpanKind::Consumer => 4,
    }
}

fn status_index(status: StatusCode) -> u8 {
    match status {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

fn dimension_value(
    source: &Dimension,
    metadata: &'static Metadata<'static>,
    attributes: &[Attribute],
) -> String {
    match source {
        Dimension::Module => metadata.module_path().unwrap_or_default().to_owned(),
        Dimension::Function => match metadata.module_path() {
            Some(module) => format!("{module}::{}", metadata.name()),
            None => metadata.name().to_owned(),
        },
        Dimension::File => metadata.file().unwrap_or_default().to_owned(),
        Dimension::Level => metadata.level().as_str().to_owned(),
        Dimension::Attribute(key) => attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| value_string(&a.value))
            .unwrap_or_default(),
    }
}

fn value_string(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I64(n) => n.to_string(),
        Value::F64(x) => x.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Static(s) => (*s).to_owned(),
        Value::StrArray(items) => items.join(","),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tracing_core::callsite::Callsite;
    use tracing_core::field::FieldSet;
    use tracing_core::{Kind, Level};

    struct Site;
    impl Callsite for Site {
        fn set_interest(&self, _: tracing_core::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &CHECKOUT
        }
    }
    static SITE: Site = Site;
    static CHECKOUT: Metadata<'static> = Metadata::new(
        "checkout",
        "shop::cart",
        Level::INFO,
        Some("src/cart.rs"),
        Some(7),
        Some("shop::cart"),
        FieldSet::new(&[], tracing_core::identify_callsite!(&SITE)),
        Kind::SPAN,
    );

    fn config(
        profile: SpanMetricsProfile,
        dimensions: &[&str],
        max_series: usize,
    ) -> SpanMetricsConfig {
        SpanMetricsConfig {
            enabled: true,
            profile,
            dimensions: dimensions.iter().map(|d| (*d).to_owned()).collect(),
            max_series,
            cpu_time: false,
        }
    }

    /// The `checkout` callsite.
    pub(crate) fn checkout() -> &'static Metadata<'static> {
        &CHECKOUT
    }

    /// A `checkout` server span's labels.
    fn summary(status: StatusCode) -> SpanSummary {
        SpanSummary {
            metadata: &CHECKOUT,
            kind: SpanKind::Server,
            status,
        }
    }

    /// Counts a recorded `checkout` server span of `millis` ms (Collector profile).
    fn count_recorded(
        metrics: &mut SpanMetrics,
        status: StatusCode,
        millis: f64,
        registry: &MetricsRegistry,
    ) {
        let samples = [(millis, 1)];
        metrics.count(&summary(status), "checkout", &[], &samples, None, registry);
    }

    fn line<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn collector_profile_names_labels_and_buckets() {
        let profile = SpanMetricsProfile::Collector;
        let registry = MetricsRegistry::new(&[(profile.duration_name(), profile.buckets())]);
        let mut metrics = SpanMetrics::new(
            config(profile, &["code.module.name"], 100),
            "shop",
            &registry,
        );
        // Two sampled-out spans of 3 and 30 ms (a tally's samples), and a recorded error.
        metrics.observe_sampled_out(&CHECKOUT, &[(3.0, 1), (30.0, 1)], &registry);
        count_recorded(&mut metrics, StatusCode::Error, 3.0, &registry);
        let text = registry.render();
        let labels = r#"service_name="shop",span_name="checkout",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET",code_module_name="shop::cart""#;
        assert!(
            text.contains(&format!("traces_span_metrics_calls_total{{{labels}}} 2")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"4\"}} 1"
        )));
        assert!(text.contains(&format!(
            "traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"50\"}} 2"
        )));
        assert!(text.contains(&format!(
            "traces_span_metrics_duration_milliseconds_count{{{labels}}} 2"
        )));
        assert!(text.contains(&format!(
            "traces_span_metrics_duration_milliseconds_sum{{{labels}}} 33"
        )));
        assert!(text.contains(r#"span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR""#));
        assert!(text.contains("# TYPE traces_span_metrics_calls_total counter"));
        assert!(text.contains("tracing_observer_spans_sampled_out_total 2"));
        assert_eq!(metrics.sampling_ratio(), 0.0);
    }

    #[test]
    fn tempo_profile_uses_seconds_and_service() {
        let profile = SpanMetricsProfile::Tempo;
        let registry = MetricsRegistry::new(&[(profile.duration_name(), profile.buckets())]);
        let mut metrics = SpanMetrics::new(config(profile, &[], 100), "shop", &registry);
        let samples = [(0.003, 1)];
        metrics.count(
            &summary(StatusCode::Ok),
            "checkout",
            &[],
            &samples,
            None,
            &registry,
        );
        let text = registry.render();
        let labels = r#"service="shop",span_name="checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_OK""#;
        assert!(
            text.contains(&format!("traces_spanmetrics_calls_total{{{labels}}} 1")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "traces_spanmetrics_latency_bucket{{{labels},le=\"0.004\"}} 1"
        )));
        assert!(text.contains(&format!("traces_spanmetrics_latency_sum{{{labels}}} 0.003")));
    }

    #[test]
    fn label_sets_past_the_cap_go_to_other() {
        let profile = SpanMetricsProfile::Collector;
        let registry = MetricsRegistry::new(&[(profile.duration_name(), profile.buckets())]);
        let mut metrics = SpanMetrics::new(config(profile, &["user"], 2), "shop", &registry);
        for user in ["a", "b", "c", "d", "a"] {
            let attributes = [Attribute {
                key: "user",
                value: Value::Static(user),
            }];
            let samples = [(1.0, 1)];
            let summary = summary(StatusCode::Unset);
            metrics.count(&summary, "checkout", &attributes, &samples, None, &registry);
        }
        let text = registry.render();
        assert!(text.contains(r#"span_name="other",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",user="other"} 2"#), "{text}");
        assert!(text.contains(r#"user="a"} 2"#), "{text}");
        assert!(text.contains("tracing_observer_span_metrics_overflow_total 2"));
        assert_eq!(line(&text, "traces_span_metrics_calls_total{").len(), 3);
    }

    #[test]
    fn cpu_time_goes_to_its_histogram_only_when_on() {
        let registry = MetricsRegistry::new(&[(CPU_TIME, CPU_TIME_BUCKETS_S)]);
        let mut on = config(SpanMetricsProfile::Collector, &[], 10);
        on.cpu_time = true;
        let mut metrics = SpanMetrics::new(on, "shop", &registry);
        let cpu = Some(Recorded {
            cpu: Some(Duration::from_micros(300)),
            trace_id: TraceId::from_u128(1),
            span_id: SpanId::from_hex("0000000000000001").unwrap(),
        });
        let samples = [(1.0, 1)];
        let internal = SpanSummary {
            kind: SpanKind::Internal,
            ..summary(StatusCode::Unset)
        };
        metrics.count(&internal, "checkout", &[], &samples, cpu, &registry);
        // A sampled-out span has no CPU time: counted, not in the histogram.
        metrics.observe_sampled_out(&CHECKOUT, &samples, &registry);
        let text = registry.render();
        let labels = r#"service_name="shop",span_name="checkout",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET""#;
        assert!(
            text.contains(&format!("traces_span_metrics_calls_total{{{labels}}} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{CPU_TIME}_count{{{labels}}} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{CPU_TIME}_bucket{{{labels},le=\"0.0005\"}} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{CPU_TIME}_bucket{{{labels},le=\"0.0001\"}} 0")),
            "{text}"
        );
        assert!(text.contains(&format!("# HELP {CPU_TIME} ")), "{text}");

        let registry = MetricsRegistry::new(&[]);
        let mut metrics = SpanMetrics::new(
            config(SpanMetricsProfile::Collector, &[], 10),
            "shop",
            &registry,
        );
        metrics.count(&internal, "checkout", &[], &samples, cpu, &registry);
        assert!(!registry.render().contains(CPU_TIME));
    }

    #[test]
    fn recorded_spans_leave_their_bucket_s_latest_exemplar() {
        let profile = SpanMetricsProfile::Collector;
        let registry = MetricsRegistry::new(&[(profile.duration_name(), profile.buckets())]);
        let mut metrics = SpanMetrics::new(config(profile, &[], 10), "shop", &registry);
        let recorded = |trace: u128, span: &str| {
            Some(Recorded {
                cpu: None,
                trace_id: TraceId::from_u128(trace),
                span_id: SpanId::from_hex(span).unwrap(),
            })
        };
        let ok = summary(StatusCode::Ok);
        for (millis, trace, span) in [
            (3.0, 1, "00000000000000a1"),
            (3.5, 2, "00000000000000a2"),
            (30.0, 3, "00000000000000a3"),
        ] {
            let samples = [(millis, 1)];
            metrics.count(
                &ok,
                "checkout",
                &[],
                &samples,
                recorded(trace, span),
                &registry,
            );
        }
        // Sampled-out spans leave none.
        metrics.count(&ok, "checkout", &[], &[(3.0, 5)], None, &registry);
        let labels: Vec<(String, String)> = [
            ("service_name", "shop"),
            ("span_name", "checkout"),
            ("span_kind", "SPAN_KIND_SERVER"),
            ("status_code", "STATUS_CODE_OK"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let exemplars = (registry.exemplars)
            .find(profile.duration_name(), &labels)
            .expect("the series has exemplars");
        let in_4 = exemplars.for_bound(4.0).unwrap();
        assert_eq!((in_4.trace_id, in_4.value), (TraceId::from_u128(2), 3.5));
        assert_eq!(
            exemplars.for_bound(50.0).unwrap().trace_id,
            TraceId::from_u128(3)
        );
        assert_eq!(exemplars.all().len(), 2);
    }

    #[test]
    fn disabled_span_metrics_register_nothing() {
        let registry = MetricsRegistry::new(&[]);
        let mut config = config(SpanMetricsProfile::Collector, &[], 10);
        config.enabled = false;
        let mut metrics = SpanMetrics::new(config, "shop", &registry);
        metrics.observe_sampled_out(&CHECKOUT, &[(1.0, 1)], &registry);
        assert!(!registry.render().contains("traces_span_metrics"));
    }
}
