//! The logs path of `otel-config/`: collector → Loki (native OTLP endpoint) →
//! Grafana, with links between Loki and Tempo both ways. No Loki binary is run
//! here: the configs are checked against each other and the dashboards' LogQL
//! is parsed and checked against the dashboards' variables.

use super::*;

/// The provisioned data sources.
fn datasources() -> Vec<Yaml> {
    yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]
        .as_sequence()
        .unwrap()
        .clone()
}

fn datasource_of_type(kind: &str) -> Yaml {
    let found: Vec<_> = datasources()
        .into_iter()
        .filter(|d| d["type"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} data source");
    found.into_iter().next().unwrap()
}

fn str_of<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {value:?}"))
}

/// Hours in a duration written `Nh`, `Nd` or `Nw` (Loki and Tempo both accept these).
fn hours(duration: &str) -> u64 {
    let (number, unit) = duration.split_at(duration.len() - 1);
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("duration {duration}"));
    match unit {
        "h" => number,
        "d" => number * 24,
        "w" => number * 24 * 7,
        _ => panic!("duration {duration}: unit {unit}"),
    }
}

/// One matcher of a LogQL stream selector or label filter: `label op "value"`.
#[derive(Debug, PartialEq)]
struct Matcher {
    label: String,
    op: String,
    value: String,
}

impl Matcher {
    /// Loki refuses a selector without a matcher that cannot match the empty
    /// value; `=` with a non-empty value and `=~".+"` are such matchers.
    fn excludes_empty(&self) -> bool {
        (self.op == "=" && !self.value.is_empty()) || (self.op == "=~" && self.value == ".+")
    }
}

/// A parsed LogQL log query: the stream selector, the label filters of its
/// pipeline (line filters are skipped), and the text after the pipeline.
#[derive(Debug)]
struct LogQuery<'a> {
    selector: Vec<Matcher>,
    label_filters: Vec<Matcher>,
    rest: &'a str,
}

/// `"..."` or `` `...` `` at the start of `src`: the content and the rest.
fn string_literal(src: &str) -> Result<(String, &str), String> {
    let quote = src
        .chars()
        .next()
        .ok_or("expected a string, found the end")?;
    if quote != '"' && quote != '`' {
        return Err(format!("expected a string at {src:?}"));
    }
    let mut value = String::new();
    let mut chars = src[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                let (_, escaped) = chars.next().ok_or("unterminated escape")?;
                value.push(escaped);
            }
            c if c == quote => return Ok((value, &src[1 + i + 1..])),
            c => value.push(c),
        }
    }
    Err(format!("unterminated string in {src:?}"))
}

/// `label op "value"` at the start of `src` (after blanks).
fn matcher(src: &str) -> Result<(Matcher, &str), String> {
    let src = src.trim_start();
    let end = src
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(src.len());
    let label = &src[..end];
    if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("expected a label name at {src:?}"));
    }
    let src = src[end..].trim_start();
    let op = ["=~", "!~", "!=", "="]
        .into_iter()
        .find(|op| src.starts_with(op))
        .ok_or_else(|| format!("expected a matcher operator at {src:?}"))?;
    let (value, rest) = string_literal(src[op.len()..].trim_start())?;
    let matcher = Matcher {
        label: label.to_owned(),
        op: op.to_owned(),
        value,
    };
    Ok((matcher, rest))
}

/// Parses a LogQL log query: `{m, ...}` then stages `| label op "v"`,
/// `|= "s"`, `!= "s"`, `|~ "s"`, `!~ "s"`; stops at anything else.
fn log_query(src: &str) -> Result<LogQuery<'_>, String> {
    let mut src = src
        .trim_start()
        .strip_prefix('{')
        .ok_or_else(|| format!("expected a stream selector at {src:?}"))?;
    let mut selector = Vec::new();
    loop {
        let (m, rest) = matcher(src)?;
        selector.push(m);
        let rest = rest.trim_start();
        if let Some(rest) = rest.strip_prefix(',') {
            src = rest;
        } else if let Some(rest) = rest.strip_prefix('}') {
            src = rest;
            break;
        } else {
            return Err(format!("expected , or }} at {rest:?}"));
        }
    }
    let mut label_filters = Vec::new();
    loop {
        let trimmed = src.trim_start();
        if let Some(op) = ["|=", "|~", "!=", "!~"]
            .into_iter()
            .find(|op| trimmed.starts_with(op))
        {
            src = string_literal(trimmed[op.len()..].trim_start())?.1;
        } else if let Some(stage) = trimmed.strip_prefix('|') {
            let (m, rest) = matcher(stage)?;
            label_filters.push(m);
            src = rest;
        } else {
            break;
        }
    }
    Ok(LogQuery {
        selector,
        label_filters,
        rest: src.trim(),
    })
}

/// The dashboard variables a query refers to: `$name`, `${name}`, `${name:format}`
/// (not `$1`, a regex group in `label_replace`).
fn variables_used(expr: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for part in expr.split('$').skip(1) {
        let part = part.strip_prefix('{').unwrap_or(part);
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.starts_with(|c: char| c.is_ascii_digit()) {
            used.insert(name);
        }
    }
    used
}

#[test]
fn logql_log_queries_are_parsed() {
    let query = log_query(
        r#"{service_name=~".+", service_name=~"$service"} |= "a\"b" | detected_level=~"$level" [$__interval])"#,
    )
    .unwrap();
    let m = |label: &str, op: &str, value: &str| Matcher {
        label: label.into(),
        op: op.into(),
        value: value.into(),
    };
    assert_eq!(
        query.selector,
        [
            m("service_name", "=~", ".+"),
            m("service_name", "=~", "$service")
        ]
    );
    assert_eq!(query.label_filters, [m("detected_level", "=~", "$level")]);
    assert_eq!(query.rest, "[$__interval])");
    assert!(query.selector[0].excludes_empty());
    assert!(!query.selector[1].excludes_empty());
    for bad in [
        r#"service_name="a""#,
        r#"{service_name="a""#,
        r#"{service_name "a"}"#,
        r#"{service_name=a}"#,
        r#"{="a"}"#,
        r#"{a="b"} | c=~"d"#,
    ] {
        assert!(log_query(bad).is_err(), "{bad}");
    }
    assert_eq!(
        variables_used(r#"{a=~"$service"} | b=~"${level:regex}" [$__interval] "$1""#),
        ["__interval", "level", "service"].map(String::from).into()
    );
}

#[test]
fn every_collector_config_sends_logs_to_loki() {
    let loki = yaml("loki.yaml");
    let port = loki["server"]["http_listen_port"].as_u64().unwrap();
    let compose = yaml("docker-compose.yaml");
    assert!(
        keys(&compose["services"]).contains(&"loki".to_owned()),
        "compose has no loki service"
    );
    let expected = format!("http://loki:{port}/otlp");
    for file in [
        "collector.yaml",
        "collector-spanmetrics.yaml",
        "collector-tailsampling.yaml",
    ] {
        let config = yaml(file);
        let logs = &config["service"]["pipelines"]["logs"];
        assert!(logs.is_mapping(), "{file}: no logs pipeline");
        assert_eq!(names(&logs["receivers"]), ["otlp"], "{file}");
        let to_loki: Vec<_> = names(&logs["exporters"])
            .into_iter()
            .filter(|id| id.split('/').next() == Some("otlphttp"))
            .collect();
        assert_eq!(to_loki.len(), 1, "{file}: one otlphttp exporter in logs");
        let exporter = &config["exporters"][to_loki[0].as_str()];
        assert_eq!(
            str_of(&exporter["endpoint"], file),
            expected,
            "{file}: {} (Loki's OTLP base path; the exporter appends /v1/logs)",
            to_loki[0]
        );
        // The traces keep going where they went.
        let traces = names(&config["service"]["pipelines"]["traces"]["exporters"]);
        for exporter in ["otlp/jaeger", "otlp/tempo", "debug"] {
            assert!(traces.contains(&exporter.to_owned()), "{file}: {traces:?}");
        }
    }
}

#[test]
fn loki_runs_from_compose_and_stores_otlp_logs() {
    let compose = yaml("docker-compose.yaml");
    let service = &compose["services"]["loki"];
    let image = str_of(&service["image"], "loki image");
    assert!(
        image.starts_with("grafana/loki:3."),
        "{image}: Loki 3.x has the OTLP endpoint and detected_level"
    );
    let volumes = names(&service["volumes"]);
    let mounted = volumes
        .iter()
        .find_map(|v| v.strip_prefix("./loki.yaml:"))
        .and_then(|v| v.strip_suffix(":ro"))
        .unwrap_or_else(|| panic!("loki.yaml is not mounted: {volumes:?}"));
    assert_eq!(
        names(&service["command"]),
        [format!("-config.file={mounted}")]
    );
    let loki = yaml("loki.yaml");
    let port = loki["server"]["http_listen_port"].as_u64().unwrap();
    assert_eq!(names(&service["ports"]), [format!("{port}:{port}")]);
    let data = str_of(&loki["common"]["path_prefix"], "path_prefix");
    assert!(
        volumes.iter().any(|v| v == &format!("loki-data:{data}")),
        "Loki's data directory {data} is a volume: {volumes:?}"
    );
    assert!(keys(&compose["volumes"]).contains(&"loki-data".to_owned()));
    for dependent in ["otel-collector", "grafana"] {
        assert!(
            names(&compose["services"][dependent]["depends_on"]).contains(&"loki".to_owned()),
            "{dependent} depends on loki"
        );
    }

    // OTLP ingestion stores trace_id, span_id and attributes as structured
    // metadata: allowed, and on a schema that has it (v13, tsdb).
    let limits = &loki["limits_config"];
    assert_eq!(limits["allow_structured_metadata"].as_bool(), Some(true));
    assert_eq!(limits["discover_log_levels"].as_bool(), Some(true));
    let schemas = loki["schema_config"]["configs"].as_sequence().unwrap();
    let current = schemas.last().unwrap();
    assert_eq!(current["schema"].as_str(), Some("v13"));
    assert_eq!(current["store"].as_str(), Some("tsdb"));
    assert_eq!(current["object_store"].as_str(), Some("filesystem"));
    assert!(loki["common"]["storage"]["filesystem"].is_mapping());

    // Retention: applied by the compactor, a whole number of index periods, as
    // long as Tempo keeps traces (so a log line's trace link finds its trace).
    let retention = hours(str_of(&limits["retention_period"], "retention_period"));
    let period = hours(str_of(&current["index"]["period"], "index period"));
    assert!(
        retention >= 24 && retention.is_multiple_of(period),
        "{retention}h, {period}h"
    );
    let compactor = &loki["compactor"];
    assert_eq!(compactor["retention_enabled"].as_bool(), Some(true));
    assert!(compactor["delete_request_store"].is_string());
    let tempo = yaml("tempo.yaml");
    let traces = hours(str_of(
        &tempo["compactor"]["compaction"]["block_retention"],
        "block_retention",
    ));
    assert_eq!(retention, traces, "Loki and Tempo retention");
}

#[test]
fn loki_and_tempo_data_sources_link_to_each_other() {
    let loki = datasource_of_type("loki");
    let tempo = datasource_of_type("tempo");
    let (loki_uid, tempo_uid) = (str_of(&loki["uid"], "uid"), str_of(&tempo["uid"], "uid"));
    let port = yaml("loki.yaml")["server"]["http_listen_port"]
        .as_u64()
        .unwrap();
    assert_eq!(str_of(&loki["url"], "url"), format!("http://loki:{port}"));

    // Log line → trace: the trace_id structured metadata, read as a label.
    let fields = loki["jsonData"]["derivedFields"]
        .as_sequence()
        .expect("derivedFields");
    let to_tempo: Vec<_> = fields
        .iter()
        .filter(|f| f["datasourceUid"].as_str() == Some(tempo_uid))
        .collect();
    assert_eq!(to_tempo.len(), 1, "{fields:?}");
    let field = to_tempo[0];
    assert_eq!(field["matcherType"].as_str(), Some("label"));
    assert_eq!(field["matcherRegex"].as_str(), Some("trace_id"));
    // `$$` in the file: Grafana's provisioning reads it as `$`.
    assert_eq!(field["url"].as_str(), Some("$${__value.raw}"));

    // Span → logs: the trace's lines of the span's service.
    let link = &tempo["jsonData"]["tracesToLogsV2"];
    assert_eq!(link["datasourceUid"].as_str(), Some(loki_uid));
    let tags = link["tags"].as_sequence().expect("tags");
    assert!(
        tags.iter()
            .any(|t| t["key"].as_str() == Some("service.name")
                && t["value"].as_str() == Some("service_name")),
        "service.name maps to Loki's service_name label: {tags:?}"
    );
    assert_eq!(link["customQuery"].as_bool(), Some(true));
    let query = str_of(&link["query"], "query").replace("$$", "$");
    // Grafana fills `${__tags}` with the mapped tags, `service_name="..."`.
    let filled = query.replace("{${__tags}}", r#"{service_name="x"}"#);
    let parsed = log_query(&filled).unwrap_or_else(|e| panic!("{query}: {e}"));
    assert!(query.starts_with("{${__tags}}"), "{query}");
    assert_eq!(parsed.rest, "", "{query}");
    assert!(
        parsed.label_filters.contains(&Matcher {
            label: "trace_id".into(),
            op: "=".into(),
            value: "${__span.traceId}".into(),
        }),
        "{query}"
    );
    for shift in ["spanStartTimeShift", "spanEndTimeShift"] {
        assert!(link[shift].is_string(), "{shift}");
    }
}

/// Grafana expands `$VAR` and `${VAR}` in provisioning files from its environment,
/// so every `$` meant for Grafana itself is written `$$`.
#[test]
fn datasource_provisioning_escapes_every_dollar() {
    let text = read(&config_dir().join("grafana/provisioning/datasources/datasources.yaml"));
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '$' {
                assert_eq!(chars.next(), Some('$'), "line {}: {line}", number + 1);
            }
        }
    }
}

#[test]
fn every_panel_is_prometheus_or_loki_and_every_variable_query_or_custom() {
    let types: BTreeMap<String, String> = datasources()
        .iter()
        .map(|d| {
            (
                str_of(&d["uid"], "uid").into(),
                str_of(&d["type"], "type").into(),
            )
        })
        .collect();
    for (name, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap();
            let source = &panel["datasource"];
            let kind = source["type"].as_str().unwrap();
            assert!(["prometheus", "loki"].contains(&kind), "{name}: {title}");
            let uid = source["uid"].as_str().unwrap();
            assert_eq!(
                types.get(uid).map(String::as_str),
                Some(kind),
                "{name}: {title}"
            );
            for target in panel["targets"].as_array().unwrap() {
                if !target["datasource"].is_null() {
                    assert_eq!(&target["datasource"], source, "{name}: {title}");
                }
            }
        }
        for variable in dashboard["templating"]["list"].as_array().unwrap() {
            let kind = variable["type"].as_str().unwrap();
            assert!(["query", "custom"].contains(&kind), "{name}: {variable}");
        }
    }
}

#[test]
fn log_panels_select_the_service_and_level_variables() {
    let (_, red) = dashboards()
        .into_iter()
        .find(|(name, _)| name == "service-red.json")
        .unwrap();
    let variables: BTreeMap<&str, &Json> = red["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    let level = variables["level"];
    assert_eq!(level["type"], "custom");
    assert_eq!(level["allValue"], ".*");
    // Loki's detected_level values for OTLP severities (tracing's five levels).
    let levels: Vec<&str> = level["query"].as_str().unwrap().split(',').collect();
    assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
    // With All selected, `service_name=~".*"` matches the empty value: the
    // selector needs a matcher that does not.
    assert_eq!(variables["service"]["allValue"], ".*");

    let mut kinds = BTreeSet::new();
    for panel in red["panels"].as_array().unwrap() {
        if panel["datasource"]["type"] != "loki" {
            continue;
        }
        let title = panel["title"].as_str().unwrap();
        let kind = panel["type"].as_str().unwrap();
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let inner = match kind {
                "logs" => expr,
                "timeseries" => expr
                    .strip_prefix("sum by (detected_level) (count_over_time(")
                    .unwrap_or_else(|| panic!("{title}: {expr}")),
                _ => panic!("{title}: a {kind} panel on Loki"),
            };
            let query = log_query(inner).unwrap_or_else(|e| panic!("{title}: {expr}: {e}"));
            let expected_rest = if kind == "logs" {
                ""
            } else {
                "[$__interval]))"
            };
            assert_eq!(query.rest, expected_rest, "{title}: {expr}");
            assert!(
                query.selector.iter().any(Matcher::excludes_empty),
                "{title}: {expr}"
            );
            // service_name: what Loki makes of service.name, as Tempo's link maps it.
            let has = |list: &[Matcher], label: &str, value: &str| {
                list.iter()
                    .any(|m| m.label == label && m.op == "=~" && m.value == value)
            };
            assert!(has(&query.selector, "service_name", "$service"), "{title}");
            assert!(
                has(&query.label_filters, "detected_level", "$level"),
                "{title}"
            );
            kinds.insert(kind);
        }
    }
    assert_eq!(kinds, ["logs", "timeseries"].into(), "log panels");
}

#[test]
fn every_variable_a_query_uses_is_defined() {
    for (name, dashboard) in dashboards() {
        let defined: BTreeSet<String> = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap_or_default();
                for used in variables_used(expr) {
                    assert!(
                        used.starts_with("__") || defined.contains(&used),
                        "{name}: {}: ${used} is not a variable",
                        panel["title"]
                    );
                }
            }
        }
    }
}
