//! The registry's Prometheus text, completed and put in order: counters of seconds
//! with fractions, and every family sorted by metric name.
//!
//! # Fractional counters
//! A `metrics` counter holds a `u64` (`Counter::absolute` and `increment` take
//! integers), and `metrics-exporter-prometheus` renders nothing else as a counter. A
//! cumulative CPU time in seconds needs its fractions, and a gauge would give it the
//! wrong `# TYPE` (a `rate()` over a gauge is wrong, and OTLP would get a `Gauge`
//! instead of a monotonic `Sum`). So the registry keeps these few counters itself as
//! [`FloatCounter`]s (an `f64` in an atomic) and renders them as counter families with
//! the same `# HELP` / `# TYPE` lines the exporter writes.
//!
//! # Order
//! The exporter renders from hash maps: families come in an order that changes from
//! one render to the next. [`sorted`] orders the families by metric name and the
//! series of a family by their labels (a histogram's lines stay together, buckets in
//! order), so `/metrics` reads the same way twice and diffs of two scrapes are short.

use metrics::Unit;
use metrics_exporter_prometheus::formatting::{write_help_line, write_type_line};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A monotonic counter of `f64` (seconds of CPU time), rendered as a Prometheus counter.
#[derive(Clone, Debug, Default)]
pub(crate) struct FloatCounter(Arc<AtomicU64>);

impl FloatCounter {
    /// Sets the counter to `value`, if that is not below its current value (a counter
    /// never goes down) and is finite.
    pub(crate) fn absolute(&self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                (value > f64::from_bits(bits)).then_some(value.to_bits())
            });
    }

    pub(crate) fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A [`FloatCounter`] with what its family's header says.
#[derive(Debug)]
pub(crate) struct FloatFamily {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) counter: FloatCounter,
}

/// Appends the counter families of `floats` to `text`, in the exporter's layout.
pub(crate) fn append_floats(text: &mut String, floats: &[FloatFamily]) {
    for family in floats {
        write_help_line(text, family.name, None::<Unit>, None, family.help);
        write_type_line(text, family.name, None::<Unit>, None, "counter");
        text.push_str(family.name);
        text.push(' ');
        text.push_str(&family.counter.get().to_string());
        text.push_str("\n\n");
    }
}

/// `text` with its families sorted by name and each family's series by labels.
pub(crate) fn sorted(text: &str) -> String {
    let mut families: Vec<Family<'_>> = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        let name = line_name(line);
        match families.last_mut() {
            Some(family) if family.owns(name, line.starts_with('#')) => family.push(line),
            _ => families.push(Family::new(name, line)),
        }
    }
    families.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = String::with_capacity(text.len());
    for family in &families {
        family.write_sorted(&mut out);
    }
    out
}

/// The metric name a line is about: after `# HELP ` / `# TYPE `, or before `{` / ` `.
fn line_name(line: &str) -> &str {
    let rest = line
        .strip_prefix("# HELP ")
        .or_else(|| line.strip_prefix("# TYPE "))
        .unwrap_or(line);
    let end = rest.find(['{', ' ']).unwrap_or(rest.len());
    &rest[..end]
}

/// One family's lines: its header and its samples.
struct Family<'a> {
    name: &'a str,
    /// Its `# TYPE` is `histogram` (or `summary`): a series is several lines.
    histogram: bool,
    header: Vec<&'a str>,
    samples: Vec<&'a str>,
}

impl<'a> Family<'a> {
    fn new(name: &'a str, line: &'a str) -> Self {
        let mut family = Self {
            name,
            histogram: false,
            header: Vec::new(),
            samples: Vec::new(),
        };
        family.push(line);
        family
    }

    /// Whether a line about `name` belongs here: a header line of this name, or a
    /// sample of it (a histogram's `_bucket`, `_sum`, `_count` too).
    fn owns(&self, name: &str, header: bool) -> bool {
        if header {
            return name == self.name;
        }
        let suffixes: &[&str] = if self.histogram {
            &["", "_bucket", "_sum", "_count"]
        } else {
            &[""]
        };
        name.strip_prefix(self.name)
            .is_some_and(|suffix| suffixes.contains(&suffix))
    }

    fn push(&mut self, line: &'a str) {
        if line.starts_with('#') {
            if let Some(kind) = line
                .strip_prefix("# TYPE ")
                .and_then(|t| t.split(' ').nth(1))
            {
                self.histogram = matches!(kind, "histogram" | "summary");
            }
            self.header.push(line);
        } else {
            self.samples.push(line);
        }
    }

    /// Writes the header, then the series ordered by labels: a histogram series (its
    /// buckets, `_sum` and `_count`, or a summary's quantiles) moves as one piece,
    /// ordered by its last line (`_count`, which carries the series' labels).
    fn write_sorted(&self, out: &mut String) {
        let mut series: Vec<&[&str]> = Vec::new();
        let mut start = 0;
        for (i, line) in self.samples.iter().enumerate() {
            if !self.histogram || line_name(line).ends_with("_count") {
                series.push(&self.samples[start..=i]);
                start = i + 1;
            }
        }
        if start < self.samples.len() {
            series.push(&self.samples[start..]);
        }
        series.sort_by_key(|lines| lines.last().copied());
        for line in self.header.iter().chain(series.into_iter().flatten()) {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricsRegistry;
    use metrics::Label;

    /// The names of the `# TYPE` lines, in order.
    fn family_names(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect()
    }

    #[test]
    fn families_and_series_render_sorted() {
        let registry = MetricsRegistry::new(&[]);
        // Enough families that a hash map's order is sorted only by accident.
        for name in [
            "zeta_total",
            "alpha_total",
            "mid_total",
            "beta_total",
            "omega_total",
        ] {
            registry.describe_counter(name, Unit::Count, "A counter.");
            for kind in ["z", "a", "m"] {
                registry
                    .counter(name, vec![Label::new("kind", kind)])
                    .increment(1);
            }
        }
        for name in ["g_two", "g_one", "g_three"] {
            registry.gauge(name, vec![]).set(1.5);
        }
        for route in ["/b", "/a"] {
            registry
                .histogram("latency_seconds", vec![Label::new("route", route)])
                .record(0.002);
        }
        registry
            .float_counter("cpu_seconds_total", Unit::Seconds, "CPU.")
            .absolute(0.25);
        registry.upkeep();
        let text = registry.render();

        let names = family_names(&text);
        let mut expected = names.clone();
        expected.sort_unstable();
        assert_eq!(names, expected, "{text}");
        assert_eq!(names.len(), 10, "{text}");
        let alpha: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("alpha_total{"))
            .collect();
        assert_eq!(
            alpha,
            [
                "alpha_total{kind=\"a\"} 1",
                "alpha_total{kind=\"m\"} 1",
                "alpha_total{kind=\"z\"} 1"
            ]
        );
        // A histogram series stays whole, buckets in order, series by labels.
        let latency: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("latency_seconds"))
            .collect();
        let first_b = latency.iter().position(|l| l.contains("/b")).unwrap();
        assert!(
            latency[..first_b].iter().all(|l| l.contains("/a")),
            "{text}"
        );
        assert!(
            latency[first_b..].iter().all(|l| l.contains("/b")),
            "{text}"
        );
        assert!(latency[first_b - 1].starts_with("latency_seconds_count"));
        let bounds: Vec<f64> = latency[..first_b]
            .iter()
            .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
        assert!(text.contains(
            "# HELP cpu_seconds_total CPU.\n# TYPE cpu_seconds_total counter\ncpu_seconds_total 0.25\n"
        ));
        // Sorting loses and adds no line.
        let mut raw: Vec<&str> = text.lines().collect();
        let again = sorted(&text);
        let mut resorted: Vec<&str> = again.lines().collect();
        raw.sort_unstable();
        resorted.sort_unstable();
        assert_eq!(raw, resorted);
        assert_eq!(again, text, "sorting is stable");
    }

    #[test]
    fn a_float_counter_never_goes_down() {
        let counter = FloatCounter::default();
        counter.absolute(1.5);
        counter.absolute(0.5);
        counter.absolute(f64::NAN);
        assert_eq!(counter.get(), 1.5);
        counter.absolute(1.75);
        assert_eq!(counter.get(), 1.75);
    }

    #[test]
    fn a_gauge_named_like_a_histogram_line_is_its_own_family() {
        let text = "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_bucket{le=\"+Inf\"} 1\na_sum 0.5\na_count 1\n\n# TYPE a_sum gauge\na_sum 3\n\n";
        let out = sorted(text);
        assert_eq!(family_names(&out), ["a", "a_sum"]);
        assert!(out.ends_with("# TYPE a_sum gauge\na_sum 3\n\n"), "{out}");
    }
}
