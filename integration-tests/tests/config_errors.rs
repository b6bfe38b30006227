//! Bad configuration is refused by `build()` through the public API, with a
//! message that names the setting (environment variable, config-file key) and
//! the offending value, so the message alone says what to fix. Nothing panics.

mod common;

use common::{builder, TempFile};

/// The message of the error `build()` returns with exactly these variables set.
fn build_error(vars: &[(&str, &str)]) -> String {
    match builder().environment(vars.iter().copied()).build() {
        Ok(_) => panic!("build() accepted {vars:?}"),
        Err(err) => err.to_string(),
    }
}

/// `NAME=value (environment): reason`, as the crate promises for bad variables.
fn assert_names_variable(name: &str, value: &str) {
    let message = build_error(&[(name, value)]);
    let prefix = format!("{name}={value} (environment): ");
    assert!(
        message.starts_with(&prefix),
        "message does not start with `{prefix}`: {message}"
    );
    assert!(message.len() > prefix.len(), "no reason given: {message}");
}

#[test]
fn queue_size_not_a_number() {
    assert_names_variable("OTEL_BSP_MAX_QUEUE_SIZE", "abc");
    assert_eq!(
        build_error(&[("OTEL_BSP_MAX_QUEUE_SIZE", "abc")]),
        "OTEL_BSP_MAX_QUEUE_SIZE=abc (environment): expected a positive integer"
    );
}

#[test]
fn endpoint_without_scheme() {
    assert_names_variable("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317");
    assert_names_variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "localhost:4318");
}

#[test]
fn unknown_protocol() {
    assert_names_variable("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcx");
}

#[test]
fn unsupported_traces_exporter() {
    assert_names_variable("OTEL_TRACES_EXPORTER", "zipkin");
}

#[test]
fn other_bad_variables() {
    assert_names_variable("OTEL_SDK_DISABLED", "maybe");
    assert_names_variable("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd");
    assert_names_variable("OTEL_EXPORTER_OTLP_TIMEOUT", "10s");
    assert_names_variable("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0");
    assert_names_variable("OTEL_RESOURCE_ATTRIBUTES", "novalue");
}

#[test]
fn missing_config_file() {
    let message = build_error(&[("OBSERVER_CONFIG", "/nonexistent.toml")]);
    assert!(message.contains("/nonexistent.toml"), "{message}");
    assert!(
        message.contains("OBSERVER_CONFIG"),
        "the message should say the path came from OBSERVER_CONFIG: {message}"
    );
}

#[test]
fn config_file_with_an_unknown_key() {
    let file = TempFile::new("service_name = \"ok\"\nservce_version = \"1.0\"\n");
    let path = file.path().display().to_string();
    let message = build_error(&[("OBSERVER_CONFIG", &path)]);
    assert!(message.contains("servce_version"), "{message}");
    assert!(message.contains("1.0"), "{message}");
    assert!(message.contains(&path), "{message}");
}

#[test]
fn config_file_with_a_bad_value() {
    let file = TempFile::new("max_queue_size = 0\n");
    let path = file.path().display().to_string();
    let message = build_error(&[("OBSERVER_CONFIG", &path)]);
    assert_eq!(
        message,
        format!("max_queue_size=0 (config file {path}): must be greater than zero")
    );

    let file = TempFile::new("protocol = \"grpcx\"\n");
    let path = file.path().display().to_string();
    let message = build_error(&[("OBSERVER_CONFIG", &path)]);
    assert!(message.contains("protocol"), "{message}");
    assert!(message.contains("grpcx"), "{message}");
}

#[test]
fn config_file_that_is_not_toml() {
    let file = TempFile::new("this is = = not toml\n");
    let path = file.path().display().to_string();
    let message = build_error(&[("OBSERVER_CONFIG", &path)]);
    assert!(message.contains(&path), "{message}");
}

#[test]
fn bad_builder_values() {
    let message = builder()
        .endpoint("localhost:4317")
        .build()
        .unwrap_err()
        .to_string();
    assert!(message.contains("endpoint"), "{message}");
    assert!(message.contains("localhost:4317"), "{message}");

    let message = builder().max_queue_size(0).build().unwrap_err().to_string();
    assert_eq!(
        message,
        "ObserverBuilder::max_queue_size=0 (builder): must be greater than zero"
    );

    let message = builder()
        .certificate("/nonexistent/ca.pem")
        .build()
        .unwrap_err()
        .to_string();
    assert!(message.contains("/nonexistent/ca.pem"), "{message}");
}
