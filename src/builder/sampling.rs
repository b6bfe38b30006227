//! [`ObserverBuilder`] setters: which traces are kept: the head sampler, rules, and what is kept although dropped.

use super::ObserverBuilder;
use crate::config::key;
use crate::sampling::Sampler;
use crate::sampling::SamplingRule;
use std::time::Duration;

impl ObserverBuilder {
    /// The head sampler.
    ///
    /// Environment: `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    /// Default: `parentbased_always_on`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, Sampler};
    /// let builder = Observer::builder().sampler(Sampler::AlwaysOff).keep_errors(false);
    /// ```
    pub fn sampler(self, sampler: Sampler) -> Self {
        self.set::<key::sampler>(sampler)
    }

    /// Adds a sampling rule; rules are tried in order, the first match decides.
    /// Rules given here replace those from the environment or the config file.
    ///
    /// Environment: `OBSERVER_SAMPLING_RULES=TARGET[/NAME]=RATIO[@RATE],…`. Default: none.
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let builder = Observer::builder().sampling_rule(SamplingRule::target("my_app::db").ratio(0.1));
    /// ```
    pub fn sampling_rule(mut self, rule: SamplingRule) -> Self {
        let mut rules = self.overrides.sampling_rules.take().unwrap_or_default();
        rules.push(rule);
        self.set_as::<key::sampling_rules>("sampling_rule", rules)
    }

    /// Keeps spans that fail although head sampling dropped them, with their local
    /// ancestors (marked `observer.sampling.kept_by=error`).
    ///
    /// Environment: `OBSERVER_KEEP_ERRORS`. Default: true.
    ///
    /// ```
    /// use tracing_observer::{Observer, Sampler};
    /// let builder = Observer::builder().sampler(Sampler::TraceIdRatio(0.01)).keep_errors(true);
    /// ```
    pub fn keep_errors(self, keep: bool) -> Self {
        self.set::<key::keep_errors>(keep)
    }

    /// Keeps spans at least this slow although head sampling dropped them, with
    /// their local ancestors (marked `observer.sampling.kept_by=slow`).
    ///
    /// Environment: `OBSERVER_SLOW_SPAN_THRESHOLD` (`500ms`). Default: off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_observer::{Observer, Sampler};
    /// let builder = Observer::builder().sampler(Sampler::TraceIdRatio(0.01)).slow_span_threshold(Duration::from_millis(500));
    /// ```
    pub fn slow_span_threshold(self, threshold: Duration) -> Self {
        self.set::<key::slow_span_threshold>(threshold)
    }

    /// Keeps the observer's own cost under this fraction of the host's traced time
    /// (e.g. `0.02`): above it the head-sampling ratio of non-error traces is halved
    /// each second, below half of it doubled back (never above the configured ratio).
    /// The measured ratio is always in [`PipelineStats::overhead_ratio`](crate::PipelineStats).
    ///
    /// Environment: `OBSERVER_OVERHEAD_BUDGET` (`0.02` or `2%`; the former name
    /// `OBSERVER_OVERHEAD_THRESHOLD` is still read). Default: off.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// let builder = Observer::builder().overhead_budget(0.02);
    /// ```
    pub fn overhead_budget(self, fraction: f64) -> Self {
        self.set::<key::overhead_budget>(fraction)
    }
}
