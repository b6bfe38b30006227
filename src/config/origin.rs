//! Where a setting's value came from, and how values are shown and layered.

use super::{
    Compression, EndpointSetting, LogsExporter, MetricsExporter, Protocol, TracesExporter,
};
use crate::error::BuildError;
use crate::propagation::Propagators;
use crate::sampling::{Sampler, SamplingRule};
use crate::tally::SpanMetricsProfile;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The source of a value and the name it was given under there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The environment variable, the config-file key or `ObserverBuilder::<method>`.
    pub(crate) name: String,
    /// `environment`, `config file <path>` or `builder`.
    pub(crate) source: String,
}

impl Origin {
    /// A value read from the environment variable `name`.
    pub(crate) fn environment(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            source: "environment".to_owned(),
        }
    }

    /// A value read from `key` of the config file at `path`.
    pub(crate) fn file(key: &str, path: &Path) -> Self {
        Self {
            name: key.to_owned(),
            source: format!("config file {}", path.display()),
        }
    }

    /// A value given to the builder method `method`.
    pub(crate) fn builder(method: &str) -> Self {
        Self {
            name: format!("ObserverBuilder::{method}"),
            source: "builder".to_owned(),
        }
    }

    /// A value set in code inside the crate, named by its setting (no source to name).
    pub(crate) fn resolved(setting: &str) -> Self {
        Self {
            name: setting.to_owned(),
            source: String::new(),
        }
    }

    /// The error for `value` from this origin: `NAME=value (source): reason`.
    pub(crate) fn error(&self, value: impl Into<String>, reason: impl Into<String>) -> BuildError {
        BuildError::InvalidSetting {
            setting: self.name.clone(),
            value: value.into(),
            origin: self.source.clone(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{} ({})", self.name, self.source)
        }
    }
}

/// A type a setting holds: how a value is written in an error message, and how a
/// later layer's value combines with an earlier one's (by default it replaces it).
pub(crate) trait SettingValue: Sized {
    /// The value as a user would write it.
    fn show(&self) -> String;

    /// `over` on top of `base`.
    fn overlay(base: Option<Self>, over: Option<Self>) -> Option<Self> {
        over.or(base)
    }
}

macro_rules! shown_by_display {
    ($($ty:ty),*) => {
        $(impl SettingValue for $ty {
            fn show(&self) -> String {
                self.to_string()
            }
        })*
    };
}
shown_by_display!(
    usize,
    u32,
    u64,
    f64,
    bool,
    String,
    SocketAddr,
    Sampler,
    Propagators,
    tracing_core::Level
);

macro_rules! shown_by_debug {
    ($($ty:ty),*) => {
        $(impl SettingValue for $ty {
            fn show(&self) -> String {
                format!("{self:?}").to_lowercase()
            }
        })*
    };
}
shown_by_debug!(
    TracesExporter,
    LogsExporter,
    Compression,
    MetricsExporter,
    SpanMetricsProfile
);

impl SettingValue for Protocol {
    fn show(&self) -> String {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
        .to_owned()
    }
}

impl SettingValue for Duration {
    /// `0s`, `250ms`, `5s`.
    fn show(&self) -> String {
        if self.subsec_nanos() == 0 {
            format!("{}s", self.as_secs())
        } else if self.subsec_nanos().is_multiple_of(1_000_000) {
            format!("{}ms", self.as_millis())
        } else {
            format!("{self:?}")
        }
    }
}

impl SettingValue for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl SettingValue for EndpointSetting {
    fn show(&self) -> String {
        self.url.to_string()
    }
}

impl SettingValue for (f64, u32) {
    /// `RATE/MIN_CALLS`.
    fn show(&self) -> String {
        format!("{}/{}", self.0, self.1)
    }
}

impl SettingValue for Vec<String> {
    fn show(&self) -> String {
        self.join(",")
    }
}

impl SettingValue for Vec<SamplingRule> {
    fn show(&self) -> String {
        format!("{self:?}")
    }
}

impl SettingValue for Vec<(String, String)> {
    fn show(&self) -> String {
        let pairs: Vec<String> = self.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join(",")
    }

    /// Lists of `key=value` merge by key: a later layer's key replaces an earlier one's.
    fn overlay(base: Option<Self>, over: Option<Self>) -> Option<Self> {
        let Some(over) = over else { return base };
        let mut merged = base.unwrap_or_default();
        for (key, value) in over {
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => merged.push((key, value)),
            }
        }
        Some(merged)
    }
}
