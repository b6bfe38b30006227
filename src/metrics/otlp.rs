//! The observer's registry as OTLP metrics: span metrics, self-metrics and process
//! metrics, converted from the registry's own Prometheus text rendering.
//!
//! # Why the text, not the handles
//! The registry is a `metrics-exporter-prometheus` recorder, and that recorder keeps its
//! series to itself: it can render them, not list them. Keeping our own list of
//! handles would mean a second registration path in every module that registers
//! series (span metrics add label sets as spans arrive, breaker gauges appear at
//! render), and histogram handles cannot be read back at all — their buckets exist
//! only inside the recorder. The rendering, on the other hand, is produced by this
//! crate's own recorder with a fixed configuration (no unit suffixes, no counter
//! suffix, explicit buckets only), so its shape is known and stable, and what a
//! collector receives over OTLP is exactly what `/metrics` shows at that moment.
//! Rendering and parsing a few hundred lines once per export interval (60 s by
//! default), on the worker, costs nothing the host sees.
//!
//! # Mapping (the OpenTelemetry ⇄ Prometheus compatibility spec, Prometheus → OTLP)
//! - `counter` → cumulative monotonic `Sum` of integers (of doubles for the counters
//!   the registry keeps with fractions, `process_cpu_time_seconds_total`). The name loses its `_total`
//!   suffix (`traces_span_metrics_calls_total` → `traces_span_metrics_calls`); the
//!   unit-word stays in the name (`…_duration_milliseconds`). A collector that
//!   exports OTLP to Prometheus adds `_total` back (and a unit suffix only when it is
//!   missing), so dashboards see the same names either way.
//! - `gauge` → `Gauge` of doubles, the name unchanged.
//! - `histogram` (`_bucket`/`_sum`/`_count`) → cumulative `Histogram` with the
//!   explicit bounds; Prometheus' cumulative `le` counts become per-bucket counts
//!   (the last one for `+Inf`).
//! - The exemplars of a span-metrics duration series (see [`super::exemplars`]) →
//!   its data point's `exemplars`, with trace id and span id.
//! - Labels → string attributes; `# HELP` → description; the unit the series was
//!   described with → the UCUM unit (`s`, `ms`, `By`, `1` for ratios, none for counts).
//! - Start time = when the observer started (all cumulative series start at zero
//!   then); time = now.

use super::exemplars::Exemplar;
use super::MetricsRegistry;
use crate::export::resource::kv_str;
use metrics::Unit;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    self as metrics_v1, metric, number_data_point, AggregationTemporality, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// What every exported metric is sent under, and since when the series count.
#[derive(Clone, Debug)]
pub(crate) struct MetricsContext {
    pub(crate) resource: Resource,
    pub(crate) scope: InstrumentationScope,
    /// When the observer started, in Unix nanoseconds: the start of every cumulative series.
    pub(crate) start_unix_nanos: u64,
}

/// The kind of a Prometheus metric family, from its `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One family being converted.
struct Family {
    /// The name of its `# TYPE` line (the registered name).
    name: String,
    kind: Kind,
    help: String,
    numbers: Vec<NumberDataPoint>,
    histograms: Vec<Series>,
}

/// One histogram series (one label set) being assembled from its lines.
struct Series {
    labels: Vec<(String, String)>,
    bounds: Vec<f64>,
    /// Cumulative counts per bound, `+Inf` excluded.
    cumulative: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Converts the registry's current values into one OTLP export request.
pub(crate) fn request(
    registry: &MetricsRegistry,
    text: &str,
    context: &MetricsContext,
    now_unix_nanos: u64,
) -> ExportMetricsServiceRequest {
    let families = parse(text);
    let metrics = families
        .into_iter()
        .map(|family| to_metric(family, registry, context.start_unix_nanos, now_unix_nanos))
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(context.resource.clone()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(context.scope.clone()),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Splits the exposition into families; sample lines that do not parse are skipped.
fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    let mut help: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, text)) = rest.split_once(' ') {
                help = Some((name.to_owned(), unescape(text)));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let kind = match kind {
                "counter" => Kind::Counter,
                "gauge" => Kind::Gauge,
                "histogram" => Kind::Histogram,
                // Summaries are never configured on this registry.
                _ => continue,
            };
            let help = match help.take() {
                Some((help_name, text)) if help_name == name => text,
                _ => String::new(),
            };
            families.push(Family {
                name: name.to_owned(),
                kind,
                help,
                numbers: Vec::new(),
                histograms: Vec::new(),
            });
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (Some(family), Some(sample)) = (families.last_mut(), Sample::parse(line)) else {
            continue;
        };
        family.add(sample);
    }
    families
}

/// One sample line: `name{label="value",…} value`.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn parse(line: &str) -> Option<Self> {
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return None,
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(rest) => parse_labels(rest)?,
            None => (Vec::new(), rest),
        };
        let value = match value.trim() {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().ok()?,
        };
        Some(Self {
            name: name.to_owned(),
            labels,
            value,
        })
    }
}

/// Parses `k="v",…}` and returns the labels and what follows the `}`.
pub(super) fn parse_labels(mut rest: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after) = rest.split_once("=\"")?;
        // The value ends at the first quote not escaped by a backslash.
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()? {
                    (_, 'n') => value.push('\n'),
                    (_, c) => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        rest = &after[end + 1..];
    }
}

/// Undoes the exposition's escaping of descriptions (`\\` and `\n`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

impl Family {
    fn add(&mut self, sample: Sample) {
        match self.kind {
            Kind::Counter | Kind::Gauge if sample.name == self.name => {
                // A double for now; `to_metric` makes integer counters integers.
                self.numbers.push(NumberDataPoint {
                    attributes: attributes(&sample.labels),
                    value: Some(number_data_point::Value::AsDouble(sample.value)),
                    ..Default::default()
                });
            }
            Kind::Histogram => self.add_histogram_line(sample),
            _ => {}
        }
    }

    fn add_histogram_line(&mut self, mut sample: Sample) {
        let Some(suffix) = sample.name.strip_prefix(self.name.as_str()) else {
            return;
        };
        let le = match suffix {
            "_bucket" => {
                let Some(i) = sample.labels.iter().position(|(k, _)| k == "le") else {
                    return;
                };
                Some(sample.labels.remove(i).1)
            }
            "_sum" | "_count" => None,
            _ => return,
        };
        let series = match self
            .histograms
            .iter_mut()
            .position(|s| s.labels == sample.labels)
        {
            Some(i) => &mut self.histograms[i],
            None => {
                self.histograms.push(Series {
                    labels: sample.labels,
                    bounds: Vec::new(),
                    cumulative: Vec::new(),
                    sum: 0.0,
                    count: 0,
                });
                self.histograms.last_mut().expect("just pushed")
            }
        };
        match (suffix, le) {
            ("_bucket", Some(le)) if le == "+Inf" => {}
            ("_bucket", Some(le)) => {
                if let Ok(bound) = le.parse() {
                    series.bounds.push(bound);
                    series.cumulative.push(sample.value as u64);
                }
            }
            ("_sum", _) => series.sum = sample.value,
            ("_count", _) => series.count = sample.value as u64,
            _ => {}
        }
    }
}

fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels.iter().map(|(k, v)| kv_str(k, v)).collect()
}

fn to_metric(family: Family, registry: &MetricsRegistry, start: u64, now: u64) -> Metric {
    let unit = registry.unit(&family.name).map_or("", ucum).to_owned();
    let timed = |mut point: NumberDataPoint, start: u64| {
        point.start_time_unix_nano = start;
        point.time_unix_nano = now;
        point
    };
    // Counters render as integers, but for the few the registry keeps with fractions.
    let integers = !registry.is_float_counter(&family.name);
    let counted = |mut point: NumberDataPoint| {
        if let (true, Some(number_data_point::Value::AsDouble(value))) = (integers, point.value) {
            // `as` saturates, which is what we want.
            point.value = Some(number_data_point::Value::AsInt(value as i64));
        }
        timed(point, start)
    };
    let (name, data) = match family.kind {
        Kind::Counter => (
            family
                .name
                .strip_suffix("_total")
                .unwrap_or(&family.name)
                .to_owned(),
            metric::Data::Sum(Sum {
                data_points: family.numbers.into_iter().map(counted).collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
        ),
        Kind::Gauge => (
            family.name,
            // A gauge has no start time.
            metric::Data::Gauge(Gauge {
                data_points: family.numbers.into_iter().map(|p| timed(p, 0)).collect(),
            }),
        ),
        Kind::Histogram => (
            family.name.clone(),
            metric::Data::Histogram(Histogram {
                data_points: family
                    .histograms
                    .into_iter()
                    .map(|series| {
                        let exemplars = registry.exemplars.find(&family.name, &series.labels);
                        let mut point = histogram_point(series, start, now);
                        point.exemplars = exemplars
                            .map_or_else(Vec::new, |e| e.all().iter().map(exemplar).collect());
                        point
                    })
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
        ),
    };
    Metric {
        name,
        description: family.help,
        unit,
        metadata: Vec::new(),
        data: Some(data),
    }
}

/// Prometheus' cumulative `le` counts as OTLP's per-bucket counts (`+Inf` last).
fn histogram_point(series: Series, start: u64, now: u64) -> HistogramDataPoint {
    let mut bucket_counts = Vec::with_capacity(series.cumulative.len() + 1);
    let mut below = 0;
    for &cumulative in &series.cumulative {
        bucket_counts.push(cumulative.saturating_sub(below));
        below = below.max(cumulative);
    }
    bucket_counts.push(series.count.saturating_sub(below));
    HistogramDataPoint {
        attributes: attributes(&series.labels),
        start_time_unix_nano: start,
        time_unix_nano: now,
        count: series.count,
        sum: Some(series.sum),
        bucket_counts,
        explicit_bounds: series.bounds,
        ..Default::default()
    }
}

/// A span that fell in a histogram bucket, with its trace id and span id.
fn exemplar(exemplar: &Exemplar) -> metrics_v1::Exemplar {
    metrics_v1::Exemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: exemplar.unix_nanos,
        span_id: exemplar.span_id.to_bytes().to_vec(),
        trace_id: exemplar.trace_id.to_bytes().to_vec(),
        value: Some(metrics_v1::exemplar::Value::AsDouble(exemplar.value)),
    }
}

/// The UCUM spelling of a unit, as OTLP wants it.
fn ucum(unit: Unit) -> &'static str {
    match unit {
        // Counts of things: no unit (`1` would make a Prometheus exporter add `_ratio`).
        Unit::Count => "",
        // This crate describes 0–1 ratios as `Percent` (Prometheus spells it `ratio`).
        Unit::Percent => "1",
        Unit::Seconds => "s",
        Unit::Milliseconds => "ms",
        Unit::Microseconds => "us",
        Unit::Nanoseconds => "ns",
        Unit::Bytes => "By",
        Unit::Kibibytes => "KiBy",
        Unit::Mebibytes => "MiBy",
        Unit::Gibibytes => "GiBy",
        Unit::Tebibytes => "TiBy",
        Unit::BitsPerSecond => "bit/s",
        Unit::KilobitsPerSecond => "kbit/s",
        Unit::MegabitsPerSecond => "Mbit/s",
        Unit::GigabitsPerSecond => "Gbit/s",
        Unit::TerabitsPerSecond => "Tbit/s",
        Unit::CountPerSecond => "1/s",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Label;
    use opentelemetry_proto::tonic::common::v1::any_value;

    fn context() -> MetricsContext {
        MetricsContext {
            resource: Resource {
                attributes: vec![kv_str("service.name", "svc")],
                ..Default::default()
            },
            scope: InstrumentationScope {
                name: "tracing-observer".into(),
                ..Default::default()
            },
            start_unix_nanos: 1_000,
        }
    }

    fn convert(registry: &MetricsRegistry) -> Vec<Metric> {
        let request = request(registry, &registry.render(), &context(), 5_000);
        assert_eq!(request.resource_metrics.len(), 1);
        let resource = &request.resource_metrics[0];
        assert_eq!(resource.resource, Some(context().resource));
        assert_eq!(resource.scope_metrics.len(), 1);
        let scope = &resource.scope_metrics[0];
        assert_eq!(scope.scope.as_ref().unwrap().name, "tracing-observer");
        scope.metrics.clone()
    }

    fn find<'a>(metrics: &'a [Metric], name: &str) -> &'a Metric {
        metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no {name} in {metrics:#?}"))
    }

    fn attrs(attributes: &[KeyValue]) -> Vec<(String, String)> {
        attributes
            .iter()
            .map(|kv| {
                let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => s.clone(),
                    other => panic!("{other:?}"),
                };
                (kv.key.clone(), value)
            })
            .collect()
    }

    #[test]
    fn counters_become_monotonic_cumulative_sums_without_total() {
        let registry = MetricsRegistry::new(&[]);
        registry.describe_counter("calls_total", Unit::Count, "Calls \"made\".");
        let labels = |kind: &'static str| vec![Label::new("kind", kind), Label::new("n", "a\"b")];
        registry.counter("calls_total", labels("ok")).increment(3);
        registry.counter("calls_total", labels("err")).increment(2);
        let metrics = convert(&registry);
        assert!(metrics.iter().all(|m| m.name != "calls_total"));
        let calls = find(&metrics, "calls");
        assert_eq!(calls.description, "Calls \"made\".");
        assert_eq!(calls.unit, "");
        let Some(metric::Data::Sum(sum)) = &calls.data else {
            panic!("{calls:?}")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let mut points: Vec<_> = sum
            .data_points
            .iter()
            .map(|p| {
                (
                    attrs(&p.attributes),
                    p.value,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                )
            })
            .collect();
        points.sort_by(|a, b| a.0.cmp(&b.0));
        let expect = |kind: &str, n: i64| {
            (
                vec![
                    ("kind".to_owned(), kind.to_owned()),
                    ("n".to_owned(), "a\"b".to_owned()),
                ],
                Some(number_data_point::Value::AsInt(n)),
                1_000,
                5_000,
            )
        };
        assert_eq!(points, vec![expect("err", 2), expect("ok", 3)]);
    }

    #[test]
    fn gauges_keep_their_name_and_unit() {
        let registry = MetricsRegistry::new(&[]);
        registry.describe_gauge("queue_bytes", Unit::Bytes, "Bytes queued.\nNow.");
        registry.describe_gauge("cpu_ratio", Unit::Percent, "CPU.");
        registry.gauge("queue_bytes", vec![]).set(4096.5);
        registry.gauge("cpu_ratio", vec![]).set(0.25);
        let metrics = convert(&registry);
        let bytes = find(&metrics, "queue_bytes");
        assert_eq!(bytes.unit, "By");
        assert_eq!(bytes.description, "Bytes queued.\nNow.");
        let Some(metric::Data::Gauge(gauge)) = &bytes.data else {
            panic!("{bytes:?}")
        };
        assert_eq!(gauge.data_points.len(), 1);
        let point = &gauge.data_points[0];
        assert_eq!(
            point.value,
            Some(number_data_point::Value::AsDouble(4096.5))
        );
        assert!(point.attributes.is_empty());
        assert_eq!(
            (point.start_time_unix_nano, point.time_unix_nano),
            (0, 5_000)
        );
        assert_eq!(find(&metrics, "cpu_ratio").unit, "1");
    }

    #[test]
    fn histograms_get_per_bucket_counts_and_explicit_bounds() {
        let registry = MetricsRegistry::new(&[("latency_milliseconds", &[10.0, 100.0, 1000.0])]);
        registry.describe_histogram("latency_milliseconds", Unit::Milliseconds, "Latency.");
        let a = registry.histogram("latency_milliseconds", vec![Label::new("span_name", "a")]);
        let b = registry.histogram("latency_milliseconds", vec![Label::new("span_name", "b")]);
        for v in [1.0, 5.0, 50.0, 500.0, 5000.0, 6000.0] {
            a.record(v);
        }
        b.record(20.0);
        let metrics = convert(&registry);
        let latency = find(&metrics, "latency_milliseconds");
        assert_eq!(latency.unit, "ms");
        let Some(metric::Data::Histogram(histogram)) = &latency.data else {
            panic!("{latency:?}")
        };
        assert_eq!(
            histogram.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(histogram.data_points.len(), 2);
        let point = |name: &str| {
            histogram
                .data_points
                .iter()
                .find(|p| attrs(&p.attributes) == [("span_name".to_owned(), name.to_owned())])
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let a = point("a");
        assert_eq!(a.explicit_bounds, [10.0, 100.0, 1000.0]);
        assert_eq!(a.bucket_counts, [2, 1, 1, 2]);
        assert_eq!(a.count, 6);
        assert_eq!(a.sum, Some(11556.0));
        assert_eq!((a.start_time_unix_nano, a.time_unix_nano), (1_000, 5_000));
        let b = point("b");
        assert_eq!(b.bucket_counts, [0, 1, 0, 0]);
        assert_eq!((b.count, b.sum), (1, Some(20.0)));
        assert!(b.exemplars.is_empty());
    }

    #[test]
    fn histogram_points_carry_their_series_exemplars() {
        use crate::ids::{SpanId, TraceId};
        let bounds: &'static [f64] = &[10.0, 100.0];
        let registry = MetricsRegistry::new(&[("latency_milliseconds", bounds)]);
        let labels = vec![Label::new("span_name", "a"), Label::new("kind", "x")];
        registry
            .histogram("latency_milliseconds", labels)
            .record(50.0);
        let pairs = vec![
            ("span_name".into(), "a".into()),
            ("kind".into(), "x".into()),
        ];
        let series = registry
            .exemplars
            .series("latency_milliseconds", pairs, bounds);
        let trace_id = TraceId::from_u128(0xabc);
        let span_id = SpanId::from_hex("00000000000000ef").unwrap();
        series.record(Exemplar {
            trace_id,
            span_id,
            value: 50.0,
            unix_nanos: 7,
        });
        let metrics = convert(&registry);
        let Some(metric::Data::Histogram(h)) = &find(&metrics, "latency_milliseconds").data else {
            panic!()
        };
        let exemplar = &h.data_points[0].exemplars[..];
        assert_eq!(exemplar.len(), 1, "{exemplar:?}");
        assert_eq!(exemplar[0].trace_id, trace_id.to_bytes());
        assert_eq!(exemplar[0].span_id, span_id.to_bytes());
        assert_eq!(exemplar[0].time_unix_nano, 7);
        assert_eq!(
            exemplar[0].value,
            Some(metrics_v1::exemplar::Value::AsDouble(50.0))
        );
    }

    #[test]
    fn the_observers_own_families_all_convert() {
        let registry = MetricsRegistry::new(&[]);
        let pipeline = super::super::pipeline::PipelineMetrics::new(&registry);
        pipeline.export_took(0.02);
        let text = registry.render();
        let families = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        let metrics = convert(&registry);
        assert_eq!(metrics.len(), families);
        let dropped = find(&metrics, "tracing_observer_spans_dropped");
        let Some(metric::Data::Sum(sum)) = &dropped.data else {
            panic!("{dropped:?}")
        };
        assert_eq!(sum.data_points.len(), 9, "one per reason");
        let duration = find(&metrics, "tracing_observer_export_duration_seconds");
        assert_eq!(duration.unit, "s");
        let Some(metric::Data::Histogram(h)) = &duration.data else {
            panic!("{duration:?}")
        };
        assert_eq!(h.data_points[0].count, 1);
        assert_eq!(
            h.data_points[0].bucket_counts.len(),
            super::super::SECONDS_BUCKETS.len() + 1
        );
    }

    #[test]
    fn counters_with_fractions_become_sums_of_doubles() {
        let registry = MetricsRegistry::new(&[]);
        registry
            .float_counter("cpu_time_seconds_total", Unit::Seconds, "CPU.")
            .absolute(0.02);
        registry.counter("calls_total", vec![]).increment(2);
        let metrics = convert(&registry);
        let cpu = find(&metrics, "cpu_time_seconds");
        assert_eq!(cpu.unit, "s");
        let Some(metric::Data::Sum(sum)) = &cpu.data else {
            panic!("{cpu:?}")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.data_points[0].value,
            Some(number_data_point::Value::AsDouble(0.02))
        );
        let Some(metric::Data::Sum(calls)) = &find(&metrics, "calls").data else {
            panic!("calls")
        };
        assert_eq!(
            calls.data_points[0].value,
            Some(number_data_point::Value::AsInt(2))
        );
    }

    #[test]
    fn label_values_are_unescaped() {
        let (labels, rest) = parse_labels(r#"a="x\"y",b="back\\slash",c="new\nline"} 7"#).unwrap();
        assert_eq!(
            labels,
            [
                ("a".to_owned(), "x\"y".to_owned()),
                ("b".to_owned(), "back\\slash".to_owned()),
                ("c".to_owned(), "new\nline".to_owned()),
            ]
        );
        assert_eq!(rest, " 7");
        assert!(Sample::parse("broken{a=\"x} 1").is_none());
    }
}
