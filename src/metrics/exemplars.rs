//! Exemplars of the span-metrics duration histograms: per series and bucket, the
//! latest recorded span that fell in it (its trace id and span id, its value, when).
//!
//! The Prometheus recorder has no exemplars, so the registry keeps them beside it,
//! keyed by metric name and label set, and adds them where the format has room:
//! the OpenMetrics exposition ([`super::exposition::openmetrics`]) and the OTLP
//! histogram data points ([`super::otlp`]). Memory is bounded by the series cap:
//! one exemplar per bucket per series. Only recorded spans give exemplars (a
//! sampled-out span has no trace to link to); written and read on the worker, or
//! while rendering.

use crate::ids::{SpanId, TraceId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A label set in a canonical order (sorted by name), so a series is found whatever
/// order its labels were registered or rendered in.
pub(crate) type SeriesLabels = Vec<(String, String)>;

/// One span that fell in a bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    /// The span's duration in the histogram's unit.
    pub(crate) value: f64,
    /// When it was observed, in Unix nanoseconds.
    pub(crate) unix_nanos: u64,
}

/// The exemplars of one histogram series: one slot per bucket, `+Inf` last.
#[derive(Debug)]
pub(crate) struct BucketExemplars {
    bounds: &'static [f64],
    slots: Mutex<Vec<Option<Exemplar>>>,
}

impl BucketExemplars {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            slots: Mutex::new(vec![None; bounds.len() + 1]),
        }
    }

    /// Keeps `exemplar` as its bucket's latest.
    pub(crate) fn record(&self, exemplar: Exemplar) {
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| exemplar.value <= bound)
            .unwrap_or(self.bounds.len());
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots[bucket] = Some(exemplar);
    }

    /// The exemplar of the bucket whose upper bound is `le` (`+Inf` included).
    pub(crate) fn for_bound(&self, le: f64) -> Option<Exemplar> {
        let bucket = if le.is_infinite() {
            self.bounds.len()
        } else {
            self.bounds.iter().position(|&bound| bound == le)?
        };
        self.slots.lock().ok()?[bucket]
    }

    /// Every bucket's exemplar, in bucket order.
    pub(crate) fn all(&self) -> Vec<Exemplar> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.iter().flatten().copied().collect()
    }
}

/// Every series' exemplars, by metric name and label set.
#[derive(Debug, Default)]
pub(crate) struct Exemplars {
    series: Mutex<HashMap<(String, SeriesLabels), Arc<BucketExemplars>>>,
}

impl Exemplars {
    /// The slots of a histogram series with upper bounds `bounds` (made on first use).
    pub(crate) fn series(
        &self,
        name: &str,
        labels: SeriesLabels,
        bounds: &'static [f64],
    ) -> Arc<BucketExemplars> {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (name.to_owned(), canonical(labels));
        Arc::clone(
            series
                .entry(key)
                .or_insert_with(|| Arc::new(BucketExemplars::new(bounds))),
        )
    }

    /// The slots of a series, if it has any.
    pub(crate) fn find(
        &self,
        name: &str,
        labels: &[(String, String)],
    ) -> Option<Arc<BucketExemplars>> {
        let series = self.series.lock().ok()?;
        if series.is_empty() {
            return None;
        }
        series
            .get(&(name.to_owned(), canonical(labels.to_vec())))
            .cloned()
    }
}

fn canonical(mut labels: SeriesLabels) -> SeriesLabels {
    labels.sort();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exemplar(value: f64, span: u64) -> Exemplar {
        Exemplar {
            trace_id: TraceId::from_u128(7),
            span_id: SpanId::from_hex(&format!("{span:016x}")).unwrap(),
            value,
            unix_nanos: 1,
        }
    }

    #[test]
    fn each_bucket_keeps_its_latest_exemplar() {
        let exemplars = Exemplars::default();
        let labels = vec![
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ];
        let series = exemplars.series("latency", labels, &[1.0, 10.0]);
        series.record(exemplar(0.5, 1));
        series.record(exemplar(0.7, 2));
        series.record(exemplar(20.0, 3));
        assert_eq!(series.for_bound(1.0), Some(exemplar(0.7, 2)));
        assert_eq!(series.for_bound(10.0), None);
        assert_eq!(series.for_bound(f64::INFINITY), Some(exemplar(20.0, 3)));
        assert_eq!(series.all().len(), 2);
        // Found by its labels in any order.
        let rendered = [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert!(exemplars.find("latency", &rendered).is_some());
        assert!(exemplars.find("latency", &rendered[..1]).is_none());
        assert!(exemplars.find("other", &rendered).is_none());
    }
}
