//! The `opentelemetry` feature's dependencies stay out of the default build: the
//! crate depends on `opentelemetry` and `opentelemetry_sdk` only through that feature.
//! (Both are in the default dependency tree anyway, as non-optional dependencies of
//! `opentelemetry-proto`; what the feature adds is the crate's own edges to them and
//! the code in `tracing_observer::otel`.)

#[test]
fn opentelemetry_crates_are_optional_and_enabled_by_the_feature_alone() {
    let manifest: toml::Table = include_str!("../Cargo.toml").parse().unwrap();
    let dependencies = manifest["dependencies"].as_table().unwrap();
    let features = manifest["features"].as_table().unwrap();
    for name in ["opentelemetry", "opentelemetry_sdk"] {
        let dependency = dependencies[name].as_table().unwrap();
        assert_eq!(dependency["optional"].as_bool(), Some(true), "{name}");
        assert_eq!(
            dependency["default-features"].as_bool(),
            Some(false),
            "{name}"
        );
        assert_eq!(dependency["version"].as_str(), Some("0.33"), "{name}");
        let enabling: Vec<&String> = features
            .iter()
            .filter(|(_, members)| {
                members
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m.as_str() == Some(&format!("dep:{name}")))
            })
            .map(|(feature, _)| feature)
            .collect();
        assert_eq!(enabling, ["opentelemetry"], "{name}");
    }
    let default = features.get("default").and_then(|d| d.as_array());
    assert!(
        default.is_none_or(|d| !d.iter().any(|m| m.as_str() == Some("opentelemetry"))),
        "the feature is not on by default: {default:?}"
    );
}
