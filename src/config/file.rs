//! The TOML config file (`OBSERVER_CONFIG`): the builder's settings under the builder's names.
//!
//! ```toml
//! service_name = "checkout"
//! endpoint = "http://collector:4317"
//! protocol = "grpc"
//! request_timeout = "10s"
//! scheduled_delay = "1s"
//! max_queue_size = 65536
//! headers = { authorization = "Bearer token" }
//! resource_attributes = { "deployment.environment.name" = "prod" }
//! ```

use super::{parse, Settings};
use crate::error::BuildError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Reads and parses a config file into a settings layer.
pub(crate) fn load(path: &Path) -> Result<Settings, BuildError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| BuildError::ConfigFileUnreadable {
            path: path.to_owned(),
            source,
        })?;
    Ok(Settings::read_file(&text, path)?.finish_layer())
}

/// A value as written in the file, for error messages (strings without their quotes).
pub(crate) fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A string.
pub(crate) fn text(value: &toml::Value) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "expected a string".into())
}

/// A string read by one of the [`parse`] functions.
pub(crate) fn with<T>(
    value: &toml::Value,
    parser: fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    parser(&text(value)?)
}

/// A duration string (`"250ms"`, `"5s"`, `"2m"`, `"1h"`).
pub(crate) fn duration(value: &toml::Value) -> Result<Duration, String> {
    with(value, parse::duration)
}

/// A path string.
pub(crate) fn path(value: &toml::Value) -> Result<PathBuf, String> {
    text(value).map(PathBuf::from)
}

pub(crate) fn boolean(value: &toml::Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| "expected true or false".into())
}

/// A non-negative integer (its range is checked by [`check`](super::check)).
pub(crate) fn integer(value: &toml::Value) -> Result<usize, String> {
    value
        .as_integer()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| "expected a positive integer".into())
}

/// A number meant as a ratio (its range is checked by [`check::ratio`](super::check::ratio)).
pub(crate) fn ratio(value: &toml::Value) -> Result<f64, String> {
    match value {
        toml::Value::Float(f) => Ok(*f),
        toml::Value::Integer(n) => Ok(*n as f64),
        _ => Err(super::check::RATIO.into()),
    }
}

/// An overhead budget: a fraction (`0.02`) or a string (`"0.02"`, `"2%"`); its range is
/// checked by [`check::fraction`](super::check::fraction).
pub(crate) fn budget(value: &toml::Value) -> Result<f64, String> {
    match value {
        toml::Value::Float(f) => Ok(*f),
        other => with(other, parse::budget),
    }
}

/// An array of strings.
pub(crate) fn names(value: &toml::Value) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| "expected an array of strings".into())
}

/// A table of strings, as `key=value` pairs.
pub(crate) fn table(value: &toml::Value) -> Result<Vec<(String, String)>, String> {
    value
        .as_table()
        .and_then(|table| {
            table
                .iter()
                .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .ok_or_else(|| "expected a table of strings".into())
}

/// `[[sampling_rules]]` tables.
pub(crate) fn sampling_rules(
    value: &toml::Value,
) -> Result<Vec<crate::sampling::SamplingRule>, String> {
    value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_owned())
}
