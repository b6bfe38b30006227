//! Where `spool replay` sends: `--endpoint` / `--protocol`, else the OTLP environment
//! variables a program observed by tracing-observer reads:
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (a
//! base URL: `v1/traces` appended for HTTP), `OTEL_EXPORTER_OTLP_{TRACES_,}PROTOCOL`.

use tracing_observer::config::Protocol;

/// The collector to replay to, and where the endpoint came from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) endpoint: String,
    pub(crate) protocol: Protocol,
    /// `--endpoint`, or the variable it was read from.
    pub(crate) source: &'static str,
}

/// Resolves the target from the flags, else from `env` (a variable's value, if set).
///
/// # Errors
/// No endpoint anywhere, or a protocol variable with an unknown value.
pub(crate) fn resolve(
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Target, String> {
    let env = |name: &'static str| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    };
    let protocol = match protocol {
        Some(protocol) => protocol,
        None => match env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        {
            None => Protocol::Grpc,
            Some((name, value)) => match value.trim() {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::HttpProtobuf,
                "http/json" => Protocol::HttpJson,
                other => {
                    return Err(format!(
                        "{name}={other}: expected grpc, http/protobuf or http/json"
                    ))
                }
            },
        },
    };
    if let Some(endpoint) = endpoint {
        return Ok(Target {
            endpoint,
            protocol,
            source: "--endpoint",
        });
    }
    if let Some((source, endpoint)) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Ok(Target {
            endpoint,
            protocol,
            source,
        });
    }
    if let Some((source, base)) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
        let endpoint = match protocol {
            Protocol::Grpc => base,
            _ => format!("{}/v1/traces", base.trim_end_matches('/')),
        };
        return Ok(Target {
            endpoint,
            protocol,
            source,
        });
    }
    Err("no collector to replay to: give --endpoint URL, or set \
         OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT"
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn flags_win_then_the_traces_variables_then_the_base_ones() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ];
        let from_base = resolve(None, None, env(&vars)).unwrap();
        assert_eq!(from_base.endpoint, "http://base:4318/v1/traces");
        assert_eq!(from_base.protocol, Protocol::HttpProtobuf);
        assert_eq!(from_base.source, "OTEL_EXPORTER_OTLP_ENDPOINT");

        let flags = resolve(
            Some("http://flag:4317".into()),
            Some(Protocol::Grpc),
            env(&vars),
        );
        assert_eq!(
            flags.unwrap(),
            Target {
                endpoint: "http://flag:4317".into(),
                protocol: Protocol::Grpc,
                source: "--endpoint"
            }
        );

        let traces = [
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:4318/custom",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ];
        let target = resolve(None, None, env(&traces)).unwrap();
        assert_eq!(target.endpoint, "http://traces:4318/custom", "as is");
        assert_eq!(target.protocol, Protocol::HttpJson);

        let grpc = resolve(
            None,
            None,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4317")]),
        );
        assert_eq!(
            grpc.unwrap().endpoint,
            "http://base:4317",
            "grpc by default, no path"
        );
    }

    #[test]
    fn nothing_set_or_a_bad_protocol_is_an_error() {
        let none = resolve(None, None, env(&[])).unwrap_err();
        assert!(
            none.contains("--endpoint") && none.contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
            "{none}"
        );
        let bad = [("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")];
        let err = resolve(Some("http://x:1".into()), None, env(&bad)).unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL=thrift"), "{err}");
    }
}
