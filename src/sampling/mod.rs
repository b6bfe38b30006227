//! Sampling: the head decision at a local root, and the tail rules that keep errors.
//!
//! * **Head.** At a local root (a span with no recorded local parent) the sampler
//!   decides once for the whole local trace: a remote parent's sampled flag
//!   (parent-based samplers), else the first matching [`SamplingRule`], else the
//!   root sampler. Children follow their local root, so no trace is cut in half.
//!   A sampled-out span keeps no record: its fields are never formatted and it
//!   costs a slot in the [`SampledOutTable`].
//! * **Tail.** A sampled-out span that fails (an error event or `error` field) is
//!   promoted to a full record together with its sampled-out local ancestors, so
//!   the failing path is exported; so is a span slower than `slow_span_threshold`.
//!   Promoted spans carry `observer.sampling.kept_by` (`error` or `slow`).

mod budget;
mod rate;
pub(crate) mod sampled_out;

use crate::ids::TraceId;
use crate::propagation::SpanContext;
pub(crate) use rate::RateLimiter;
use std::fmt;
use tracing_core::Metadata;

pub(crate) use budget::OverheadMeter;
pub(crate) use sampled_out::{Lookup, SampledOutTable};

/// Everything the hot path needs to sample: the head decision, the table of
/// sampled-out spans and the tail rules.
#[derive(Debug)]
pub(crate) struct Sampling {
    pub(crate) head: HeadSampler,
    pub(crate) table: SampledOutTable,
    /// Keep failing sampled-out spans and their local ancestors.
    pub(crate) keep_errors: bool,
    /// Keep sampled-out spans at least this slow (and their local ancestors).
    pub(crate) slow_span_threshold: Option<std::time::Duration>,
    /// The observer's measured cost and the adaptive factor on sampling ratios.
    pub(crate) overhead: OverheadMeter,
}

impl Sampling {
    /// Whether any span can be sampled out.
    #[inline]
    pub(crate) fn may_drop(&self) -> bool {
        self.head.may_drop() || self.overhead.is_adaptive()
    }

    /// The head decision for a new local trace, with the overhead factor applied.
    /// `trace_id` is called only when a ratio needs it.
    pub(crate) fn sample_root(
        &self,
        metadata: &Metadata<'_>,
        trace_id: impl FnOnce() -> TraceId,
        remote: Option<&SpanContext>,
        now: impl FnOnce() -> u64,
    ) -> bool {
        self.head
            .sample_root(metadata, trace_id, remote, now, || self.overhead.factor())
    }

    /// [`Self::sample_root`] for a local root without a remote parent at `now`.
    /// Inline when no rule applies: the root sampler's threshold decides, and the
    /// trace id is derived only when a ratio needs it.
    #[inline]
    pub(crate) fn sample_local_root(
        &self,
        metadata: &Metadata<'_>,
        trace_id: impl FnOnce() -> TraceId,
        now: u64,
    ) -> bool {
        if self.head.rules.is_empty() {
            below(trace_id, self.head.root_threshold, || {
                self.overhead.factor()
            })
        } else {
            self.sample_root(metadata, trace_id, None, || now)
        }
    }
}

/// The head sampler (`OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`).
///
/// ```
/// use tracing_observer::{Observer, Sampler};
/// let builder = Observer::builder().sampler(Sampler::parent_based(Sampler::TraceIdRatio(0.1)));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampler {
    /// Record every trace (`always_on`).
    AlwaysOn,
    /// Record no trace; errors are still kept by the tail rule (`always_off`).
    AlwaysOff,
    /// Record this fraction of traces, chosen by trace id so that every process
    /// makes the same choice for the same trace (`traceidratio`).
    TraceIdRatio(f64),
    /// Follow a remote parent's sampled flag; use the inner sampler for new traces
    /// (`parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`).
    ParentBased(Box<Sampler>),
}

impl Sampler {
    /// A parent-based sampler with `root` for new traces.
    ///
    /// ```
    /// use tracing_observer::Sampler;
    /// let sampler = Sampler::parent_based(Sampler::AlwaysOn);
    /// assert_eq!(sampler, Sampler::default());
    /// assert_eq!(sampler.to_string(), "parentbased_always_on");
    /// ```
    pub fn parent_based(root: Sampler) -> Self {
        Self::ParentBased(Box::new(root))
    }
}

impl Default for Sampler {
    /// `parentbased_always_on`, the OpenTelemetry default.
    fn default() -> Self {
        Self::parent_based(Self::AlwaysOn)
    }
}

impl fmt::Display for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlwaysOn => f.write_str("always_on"),
            Self::AlwaysOff => f.write_str("always_off"),
            Self::TraceIdRatio(r) => write!(f, "traceidratio({r})"),
            Self::ParentBased(root) => write!(f, "parentbased_{root}"),
        }
    }
}

/// A per-module sampling rule: spans whose target starts with a prefix and/or whose
/// name matches get their own ratio and/or rate limit. The first matching rule wins.
///
/// ```no_run
/// use tracing_observer::{Observer, SamplingRule};
/// let observer = Observer::builder()
///     .sampling_rule(SamplingRule::target("checkout::pricing").ratio(0.001))
///     .sampling_rule(SamplingRule::target("checkout::http").ratio(1.0))
///     .sampling_rule(SamplingRule::name("refresh_cache").ratio(0.2).rate_limit(10.0))
///     .build()?;
/// # Ok::<(), tracing_observer::BuildError>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingRule {
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "one")]
    ratio: f64,
    #[serde(default)]
    rate_limit: Option<f64>,
}

fn one() -> f64 {
    1.0
}

impl SamplingRule {
    /// Matches spans whose target (module path, by default) is `prefix` or below it.
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let builder = Observer::builder().sampling_rule(SamplingRule::target("my_app::db").ratio(0.1));
    /// let err = Observer::builder().sampling_rule(SamplingRule::target("")).build().unwrap_err();
    /// assert!(err.to_string().contains("target and name must not be empty"));
    /// ```
    pub fn target(prefix: impl Into<String>) -> Self {
        Self {
            target: Some(prefix.into()),
            name: None,
            ratio: 1.0,
            rate_limit: None,
        }
    }

    /// Matches spans with this name.
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let builder = Observer::builder().sampling_rule(SamplingRule::name("health_check").ratio(0.0));
    /// ```
    pub fn name(name: impl Into<String>) -> Self {
        Self {
            target: None,
            name: Some(name.into()),
            ratio: 1.0,
            rate_limit: None,
        }
    }

    /// Also requires this span name.
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let rule = SamplingRule::target("my_app::cache").with_name("refresh").ratio(0.01);
    /// assert_ne!(rule, SamplingRule::target("my_app::cache").ratio(0.01));
    /// let builder = Observer::builder().sampling_rule(rule);
    /// ```
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The fraction of matching traces recorded (0.0 to 1.0; default 1.0).
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let err = Observer::builder().sampling_rule(SamplingRule::target("my_app").ratio(1.5)).build().unwrap_err();
    /// assert!(err.to_string().contains("ratio 1.5 is outside 0.0..=1.0"));
    /// ```
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// At most this many matching traces per second (token bucket, one second of burst).
    ///
    /// ```
    /// use tracing_observer::{Observer, SamplingRule};
    /// let builder = Observer::builder().sampling_rule(SamplingRule::target("my_app").rate_limit(100.0));
    /// let err = Observer::builder().sampling_rule(SamplingRule::target("my_app").rate_limit(0.0)).build().unwrap_err();
    /// assert!(err.to_string().contains("rate_limit 0 must be a positive number"));
    /// ```
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Checks the values; the message says what is wrong.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.ratio) {
            return Err(format!("ratio {} is outside 0.0..=1.0", self.ratio));
        }
        if let Some(rate) = self.rate_limit {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!("rate_limit {rate} must be a positive number"));
            }
        }
        if self.target.as_deref() == Some("") || self.name.as_deref() == Some("") {
            return Err("target and name must not be empty".into());
        }
        Ok(())
    }

    fn matches(&self, metadata: &Metadata<'_>) -> bool {
        let target_matches = self.target.as_deref().is_none_or(|prefix| {
            let target = metadata.target();
            target.starts_with(prefix)
                && (target.len() == prefix.len() || target[prefix.len()..].starts_with("::"))
        });
        target_matches && self.name.as_deref().is_none_or(|n| n == metadata.name())
    }
}

/// A rule ready for the hot path.
#[derive(Debug)]
struct CompiledRule {
    rule: SamplingRule,
    threshold: u64,
    limiter: Option<RateLimiter>,
}

/// The head decision, compiled from the sampler and the rules.
#[derive(Debug)]
pub(crate) struct HeadSampler {
    parent_based: bool,
    root_threshold: u64,
    rules: Vec<CompiledRule>,
    may_drop: bool,
}

/// The trace-id threshold for a ratio: sampled when the id's low 64 bits are below it.
fn threshold(ratio: f64) -> u64 {
    if ratio >= 1.0 {
        u64::MAX
    } else if ratio <= 0.0 {
        0
    } else {
        (ratio * u64::MAX as f64) as u64
    }
}

/// Whether the trace id's low 64 bits fall below `threshold` scaled by the overhead
/// factor (all do at `u64::MAX` and factor 1, none at 0). Neither the trace id nor
/// the factor is read when the threshold alone decides.
fn below(trace_id: impl FnOnce() -> TraceId, threshold: u64, factor: impl FnOnce() -> f64) -> bool {
    if threshold == 0 {
        return false;
    }
    let factor = factor();
    let threshold = if factor >= 1.0 {
        threshold
    } else {
        (threshold as f64 * factor) as u64
    };
    threshold == u64::MAX || (trace_id().to_u128() as u64) < threshold
}

impl HeadSampler {
    pub(crate) fn new(sampler: &Sampler, rules: &[SamplingRule]) -> Self {
        let (parent_based, root) = match sampler {
            Sampler::ParentBased(root) => (true, root.as_ref()),
            other => (false, other),
        };
        let root_threshold = match root {
            Sampler::AlwaysOn => u64::MAX,
            Sampler::AlwaysOff => 0,
            Sampler::TraceIdRatio(r) => threshold(*r),
            // A parent-based sampler nested in another samples by its own root.
            Sampler::ParentBased(inner) => Self::new(inner, &[]).root_threshold,
        };
        let rules: Vec<CompiledRule> = rules
            .iter()
            .map(|rule| CompiledRule {
                threshold: threshold(rule.ratio),
                limiter: rule.rate_limit.map(RateLimiter::new),
                rule: rule.clone(),
            })
            .collect();
        let may_drop = parent_based
            || root_threshold != u64::MAX
            || rules
                .iter()
                .any(|r| r.threshold != u64::MAX || r.limiter.is_some());
        Self {
            parent_based,
            root_threshold,
            rules,
            may_drop,
        }
    }

    /// Whether any span can be sampled out; when not, the hot path skips sampling entirely.
    pub(crate) fn may_drop(&self) -> bool {
        self.may_drop
    }

    /// The decision for a new local trace. `trace_id` is called only when a ratio
    /// between 0 and 1 applies, `now` only when a rate limit does.
    pub(crate) fn sample_root(
        &self,
        metadata: &Metadata<'_>,
        trace_id: impl FnOnce() -> TraceId,
        remote: Option<&SpanContext>,
        now: impl FnOnce() -> u64,
        factor: impl FnOnce() -> f64,
    ) -> bool {
        if let (true, Some(remote)) = (self.parent_based, remote) {
            return remote.is_sampled();
        }
        match self.rules.iter().find(|r| r.rule.matches(metadata)) {
            Some(rule) => {
                below(trace_id, rule.threshold, factor)
                    && rule.limiter.as_ref().is_none_or(|l| l.admit(now()))
            }
            None => below(trace_id, self.root_threshold, factor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_core::callsite::{Callsite, Identifier};
    use tracing_core::field::FieldSet;
    use tracing_core::metadata::Kind;
    use tracing_core::{Interest, Level};

    /// The callsite the test metadata claims to come from (rules match on target
    /// and name only, so one callsite serves every test span).
    struct Site;
    impl Callsite for Site {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &SITE_METADATA
        }
    }
    static SITE: Site = Site;
    pub(super) static SITE_METADATA: Metadata<'static> = Metadata::new(
        "site",
        "test",
        Level::INFO,
        None,
        None,
        None,
        FieldSet::new(&[], Identifier(&SITE)),
        Kind::SPAN,
    );

    fn meta(target: &'static str, name: &'static str) -> Metadata<'static> {
        Metadata::new(
            name,
            target,
            Level::INFO,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&SITE)),
            Kind::SPAN,
        )
    }

    fn share(sampler: &HeadSampler, metadata: &Metadata<'_>) -> f64 {
        let n = 20_000;
        let kept = (0..n)
            .filter(|_| sampler.sample_root(metadata, TraceId::random, None, || 0, || 1.0))
            .count();
        kept as f64 / n as f64
    }

    #[test]
    fn ratios_hold_statistically() {
        let sampler = HeadSampler::new(&Sampler::TraceIdRatio(0.1), &[]);
        let share = share(&sampler, &meta("app", "op"));
        assert!((0.08..0.12).contains(&share), "{share}");
        assert!(sampler.may_drop());
        assert!(!HeadSampler::new(&Sampler::AlwaysOn, &[]).may_drop());
    }

    #[test]
    fn first_matching_rule_wins_at_module_boundaries() {
        let rules = [
            SamplingRule::target("app::hot").ratio(0.0),
            SamplingRule::target("app").ratio(1.0),
        ];
        let sampler = HeadSampler::new(&Sampler::AlwaysOff, &rules);
        assert_eq!(share(&sampler, &meta("app::hot::inner", "op")), 0.0);
        assert_eq!(share(&sampler, &meta("app::hotter", "op")), 1.0);
        assert_eq!(share(&sampler, &meta("other", "op")), 0.0);
    }

    #[test]
    fn rate_limits_apply_per_rule() {
        let rules = [SamplingRule::name("job").rate_limit(5.0)];
        let sampler = HeadSampler::new(&Sampler::AlwaysOn, &rules);
        let job = meta("app", "job");
        let kept = (0..100)
            .filter(|_| sampler.sample_root(&job, TraceId::random, None, || 1_000_000_000, || 1.0))
            .count();
        assert_eq!(kept, 6);
    }

    #[test]
    fn parent_based_follows_the_remote_flag() {
        let sampler = HeadSampler::new(&Sampler::parent_based(Sampler::AlwaysOn), &[]);
        let remote = SpanContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )
        .unwrap();
        let m = meta("app", "op");
        assert!(!sampler.sample_root(&m, || remote.trace_id(), Some(&remote), || 0, || 1.0));
        assert!(sampler.sample_root(&m, TraceId::random, None, || 0, || 1.0));
    }

    #[test]
    fn rules_are_validated() {
        assert!(SamplingRule::target("a").ratio(1.5).validate().is_err());
        assert!(SamplingRule::target("a")
            .rate_limit(0.0)
            .validate()
            .is_err());
        assert!(SamplingRule::target("").validate().is_err());
        assert!(SamplingRule::target("a").ratio(0.5).validate().is_ok());
    }
}
