//! What every exported request shares: the service's resource and scope, the
//! attributes fixed per callsite, and the mapping of the crate's clock to Unix time.
//!
//! This is where the span's `'static` metadata becomes semantic-convention
//! attributes (once per callsite, on the worker), so the host's threads never pay for them.

use crate::clock::{self, Nanos};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_core::Metadata;

/// The instrumentation scope every span is exported under.
pub(crate) const SCOPE_NAME: &str = "tracing-observer";
/// The crate's version, exported as `telemetry.sdk.version` and the scope version.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Maps readings of the crate's monotonic clock to Unix time, from one reading of both clocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClockAnchor {
    monotonic: Nanos,
    unix_nanos: u64,
}

impl ClockAnchor {
    /// Reads both clocks now; take a fresh anchor per batch so clock steps do not accumulate.
    pub(crate) fn now() -> Self {
        let unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self {
            monotonic: clock::now_nanos(),
            unix_nanos,
        }
    }

    pub(crate) fn unix_nanos(&self, at: Nanos) -> u64 {
        if at >= self.monotonic {
            self.unix_nanos.saturating_add(at - self.monotonic)
        } else {
            self.unix_nanos.saturating_sub(self.monotonic - at)
        }
    }
}

/// The resource and instrumentation scope every request is sent under.
#[derive(Clone, Debug)]
pub(crate) struct ServiceResource {
    resource: Resource,
    scope: InstrumentationScope,
}

impl ServiceResource {
    /// The service's resource: `service.name`, the configured attributes,
    /// `service.instance.id`, `telemetry.sdk.*` and `process.*`.
    pub(crate) fn new(service_name: &str, attributes: &[(String, String)]) -> Self {
        let mut kvs = vec![kv_str("service.name", service_name)];
        kvs.extend(attributes.iter().map(|(k, v)| kv_str(k, v)));
        let has = |key: &str| attributes.iter().any(|(k, _)| k == key);
        if !has("service.instance.id") {
            kvs.push(kv_str("service.instance.id", &instance_id()));
        }
        kvs.push(kv_str("telemetry.sdk.name", SCOPE_NAME));
        kvs.push(kv_str("telemetry.sdk.language", "rust"));
        kvs.push(kv_str("telemetry.sdk.version", VERSION));
        if !has("process.pid") {
            kvs.push(kv(
                "process.pid",
                any_value::Value::IntValue(i64::from(std::process::id())),
            ));
        }
        if let Some(exe) = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            if !has("process.executable.name") {
                kvs.push(kv_str("process.executable.name", &exe));
            }
        }
        Self {
            resource: Resource {
                attributes: kvs,
                ..Default::default()
            },
            scope: InstrumentationScope {
                name: SCOPE_NAME.into(),
                version: VERSION.into(),
                ..Default::default()
            },
        }
    }

    /// The resource every request is sent under (OTLP metrics use it too).
    pub(crate) fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The instrumentation scope every request is sent under.
    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }
}

/// A random version-4 UUID naming this process, stable for its lifetime.
fn instance_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let bits = crate::ids::TraceId::random().to_u128();
        let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    })
    .clone()
}

/// Attributes that depend only on the callsite (`code.*`, `level`), built once each.
pub(crate) fn callsite_attributes(metadata: &Metadata<'static>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(5);
    if let Some(module) = metadata.module_path() {
        attributes.push(kv_str(
            "code.function.name",
            &format!("{module}::{}", metadata.name()),
        ));
        attributes.push(kv_str("code.module.name", module));
    } else {
        attributes.push(kv_str("code.function.name", metadata.name()));
    }
    if let Some(file) = metadata.file() {
        attributes.push(kv_str("code.file.path", file));
    }
    if let Some(line) = metadata.line() {
        attributes.push(kv(
            "code.line.number",
            any_value::Value::IntValue(i64::from(line)),
        ));
    }
    attributes.push(kv_str("level", metadata.level().as_str()));
    attributes
}

pub(crate) fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(crate) fn kv_str(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_anchor_maps_both_directions() {
        let anchor = ClockAnchor::now();
        let later = anchor.monotonic + 5_000_000;
        assert_eq!(anchor.unix_nanos(later) - anchor.unix_nanos, 5_000_000);
        if let Some(earlier) = anchor.monotonic.checked_sub(3_000_000) {
            assert_eq!(anchor.unix_nanos - anchor.unix_nanos(earlier), 3_000_000);
        }
    }

    #[test]
    fn instance_id_is_a_v4_uuid() {
        let id = instance_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(id, instance_id());
    }

    #[test]
    fn resource_has_service_and_sdk_attributes() {
        let builder = ServiceResource::new(
            "checkout",
            &[("deployment.environment.name".into(), "test".into())],
        );
        let keys: Vec<_> = builder
            .resource
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        for key in [
            "service.name",
            "deployment.environment.name",
            "service.instance.id",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version",
            "process.pid",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
    }
}
