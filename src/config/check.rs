//! The validation of settings' values: one function per rule, run on the value from
//! every source (environment, config file, builder) by [`Settings::set`](super::Settings::set).

use crate::sampling::SamplingRule;

/// Every value of the type is valid.
pub(crate) fn any<T>(_: &T) -> Result<(), String> {
    Ok(())
}

/// A count, size or duration above zero.
pub(crate) fn positive<T: PartialEq + Default>(value: &T) -> Result<(), String> {
    if *value == T::default() {
        Err("must be greater than zero".into())
    } else {
        Ok(())
    }
}

/// What a ratio must be, for the parsers' and the check's errors alike.
pub(crate) const RATIO: &str = "expected a ratio between 0.0 and 1.0";

/// A ratio between 0 and 1, both included (a sampling ratio).
pub(crate) fn ratio(value: &f64) -> Result<(), String> {
    if (0.0..=1.0).contains(value) {
        Ok(())
    } else {
        Err(RATIO.into())
    }
}

/// A fraction above 0 and below 1 (an overhead budget).
pub(crate) fn fraction(value: &f64) -> Result<(), String> {
    if *value > 0.0 && *value < 1.0 {
        Ok(())
    } else {
        Err("expected a fraction such as 0.02 or a percentage such as 2%".into())
    }
}

/// The breaker's failure-rate rule: a rate above 0 and at most 1, a minimum of calls above zero.
pub(crate) fn failure_rate(&(rate, min_calls): &(f64, u32)) -> Result<(), String> {
    if rate.is_nan() || rate <= 0.0 || rate > 1.0 {
        return Err("the rate must be above 0 and at most 1, e.g. 0.5/20".into());
    }
    if min_calls == 0 {
        return Err("the minimum number of calls after / must be greater than zero".into());
    }
    Ok(())
}

/// Every key a baggage key (an RFC 9110 token); the error names the first that is not.
#[allow(clippy::ptr_arg)] // the setting's type is the `Vec`
pub(crate) fn baggage_keys(keys: &Vec<String>) -> Result<(), String> {
    match keys
        .iter()
        .find(|key| !crate::propagation::is_baggage_key(key))
    {
        Some(key) => Err(format!(
            "{key:?} is not a baggage key (a token: letters, digits, !#$%&'*+-.^_`|~)"
        )),
        None => Ok(()),
    }
}

/// Every rule valid; the error names the rule.
#[allow(clippy::ptr_arg)] // the setting's type is the `Vec`
pub(crate) fn sampling_rules(rules: &Vec<SamplingRule>) -> Result<(), String> {
    rules.iter().try_for_each(|rule| {
        rule.validate()
            .map_err(|reason| format!("{rule:?}: {reason}"))
    })
}
