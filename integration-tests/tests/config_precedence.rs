//! A valid config file is honoured (its service name, resource attributes and
//! endpoint show up in what the receiver gets), and the layers override each
//! other in the documented order: file < environment < builder.

mod common;

use common::{builder, observe, only, shutdown_complete, TempFile};
use integration_tests::{resource_attr_str, OtlpReceiver, ReceivedSpan, Transport};
use tracing_observer::Observer;

/// Emits one span and shuts down; returns what the receiver got.
fn one_span(observer: &Observer, receiver: &OtlpReceiver) -> ReceivedSpan {
    observe(observer, || {
        tracing::info_span!("configured").in_scope(|| {})
    });
    shutdown_complete(observer);
    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    only(&spans, "configured").clone()
}

fn file_for(receiver: &OtlpReceiver, extra: &str) -> TempFile {
    TempFile::new(&format!(
        r#"
service_name = "from-file"
service_version = "1.0.0-file"
endpoint = "{endpoint}"
protocol = "http/json"
compression = "gzip"
scheduled_delay = "100ms"
headers = {{ x-origin = "file" }}
resource_attributes = {{ team = "file-team", "deployment.environment.name" = "file-env" }}
{extra}
"#,
        endpoint = receiver.http_endpoint(),
    ))
}

#[test]
fn config_file_is_honoured() {
    let receiver = OtlpReceiver::start();
    let file = file_for(&receiver, "");
    let observer = builder()
        .environment([("OBSERVER_CONFIG", file.path().display().to_string())])
        .build()
        .expect("valid config file");
    let span = one_span(&observer, &receiver);

    let resource = |key| resource_attr_str(&span, key);
    assert_eq!(resource("service.name").as_deref(), Some("from-file"));
    assert_eq!(resource("service.version").as_deref(), Some("1.0.0-file"));
    assert_eq!(resource("team").as_deref(), Some("file-team"));
    assert_eq!(
        resource("deployment.environment.name").as_deref(),
        Some("file-env")
    );
    let request = &receiver.received()[0];
    assert_eq!(request.transport, Transport::HttpJson);
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.header("x-origin"), Some("file"));
}

#[test]
fn builder_config_file_method_is_honoured() {
    let receiver = OtlpReceiver::start();
    let file = file_for(&receiver, "");
    let observer = builder()
        .config_file(file.path())
        .build()
        .expect("valid config file");
    let span = one_span(&observer, &receiver);
    assert_eq!(
        resource_attr_str(&span, "service.name").as_deref(),
        Some("from-file")
    );
}

#[test]
fn environment_overrides_the_file() {
    let receiver = OtlpReceiver::start();
    // The file points at a dead endpoint; the environment's endpoint must win.
    let dead = TempFile::new(&format!(
        "service_name = \"from-file\"\nendpoint = \"{}\"\nresource_attributes = {{ team = \"file-team\", keep = \"file\" }}\n",
        common::closed_endpoint()
    ));
    let observer = builder()
        .environment([
            ("OBSERVER_CONFIG", dead.path().display().to_string()),
            ("OTEL_SERVICE_NAME", "from-env".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=env-team".to_owned()),
        ])
        .build()
        .expect("valid configuration");
    let span = one_span(&observer, &receiver);
    assert_eq!(
        resource_attr_str(&span, "service.name").as_deref(),
        Some("from-env")
    );
    assert_eq!(
        resource_attr_str(&span, "team").as_deref(),
        Some("env-team")
    );
    assert_eq!(
        resource_attr_str(&span, "keep").as_deref(),
        Some("file"),
        "attributes the environment does not set stay"
    );
}

#[test]
fn builder_overrides_environment_and_file() {
    let receiver = OtlpReceiver::start();
    let dead = TempFile::new(&format!(
        "service_name = \"from-file\"\nendpoint = \"{}\"\n",
        common::closed_endpoint()
    ));
    let observer = builder()
        .environment([
            ("OBSERVER_CONFIG", dead.path().display().to_string()),
            ("OTEL_SERVICE_NAME", "from-env".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", common::closed_endpoint()),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=env-team".to_owned()),
        ])
        .service_name("from-builder")
        .endpoint(receiver.endpoint())
        .resource_attribute("team", "builder-team")
        .build()
        .expect("valid configuration");
    let span = one_span(&observer, &receiver);
    assert_eq!(
        resource_attr_str(&span, "service.name").as_deref(),
        Some("from-builder")
    );
    assert_eq!(
        resource_attr_str(&span, "team").as_deref(),
        Some("builder-team")
    );
}

#[test]
fn service_name_defaults_from_resource_attributes_then_executable() {
    let receiver = OtlpReceiver::start();
    let observer = builder()
        .environment([("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")])
        .endpoint(receiver.endpoint())
        .build()
        .unwrap();
    let span = one_span(&observer, &receiver);
    assert_eq!(
        resource_attr_str(&span, "service.name").as_deref(),
        Some("from-attributes")
    );
    let names = span
        .resource_attributes
        .iter()
        .filter(|kv| kv.key == "service.name")
        .count();
    assert_eq!(names, 1, "service.name appears once");

    let receiver = OtlpReceiver::start();
    let observer = builder().endpoint(receiver.endpoint()).build().unwrap();
    let span = one_span(&observer, &receiver);
    let name = resource_attr_str(&span, "service.name").unwrap_or_default();
    assert!(name.starts_with("unknown_service:"), "{name}");
}
