//! The files of `otel-config/`, checked without docker:
//!
//! - every YAML file parses; the collector configs use only the components and
//!   settings the allow-list in `otel-config/README.md` documents, and every
//!   pipeline references defined components (connectors on both sides);
//! - every dashboard parses, every Prometheus panel has PromQL targets, and every
//!   metric they name is in the README's documented set; data source uids exist;
//! - the logs path (`logs.rs`): every collector config has a logs pipeline to
//!   Loki's OTLP endpoint, `loki.yaml` stores OTLP logs (structured metadata,
//!   level discovery, retention), Loki and Tempo link to each other, and the log
//!   panels' LogQL selects the dashboard's variables;
//! - `promtool check config` accepts `prometheus.yml` (needs `promtool`);
//! - every panel's PromQL, run by a real Prometheus (started here on loopback) that
//!   scraped a fixed exposition of the documented metrics, parses and returns data
//!   (needs `prometheus`). That proves the queries fit the documented names and
//!   labels, not that the crate emits them: the operations tests check that;
//! - and every panel's PromQL, run by a real Prometheus that scraped two running
//!   `axum_service` examples (frontend with the collector profile calling a backend
//!   with the Tempo profile, under traffic on `/`, `/checkout` and `/fail`), returns
//!   data, each RED query from either profile alone (needs `prometheus` and the
//!   example binary).

#[path = "../common/mod.rs"]
mod common;

use integration_tests::Prometheus;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../otel-config")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(name: &str) -> Yaml {
    let path = config_dir().join(name);
    serde_norway::from_str(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Files under `dir` (recursively) whose name ends with one of `extensions`.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path, extensions));
        } else if extensions
            .iter()
            .any(|e| path.to_string_lossy().ends_with(e))
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The rows of the markdown table between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
/// in otel-config/README.md, as cells (header and separator rows skipped).
fn readme_table(name: &str) -> Vec<Vec<String>> {
    let readme = read(&config_dir().join("README.md"));
    let (begin, end) = (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    );
    let start = readme.find(&begin).expect("begin marker") + begin.len();
    let stop = readme.find(&end).expect("end marker");
    readme[start..stop]
        .lines()
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

/// The documented metric names.
fn documented_metrics() -> BTreeSet<String> {
    readme_table("metrics")
        .into_iter()
        .map(|row| row[0].clone())
        .collect()
}

fn dashboards() -> Vec<(String, Json)> {
    files(&config_dir().join("grafana/dashboards"), &[".json"])
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json = serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, json)
        })
        .collect()
}

/// Every `expr` of every Prometheus panel target: (dashboard, panel title, expr).
/// `logs.rs` checks that every other panel is a Loki one.
fn panel_exprs() -> Vec<(String, String, String)> {
    let mut exprs = Vec::new();
    for (name, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            if panel["datasource"]["type"] != "prometheus" {
                continue;
            }
            let title = panel["title"].as_str().unwrap().to_owned();
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap_or_default().to_owned();
                exprs.push((name.clone(), title.clone(), expr));
            }
        }
    }
    exprs
}

/// The PromQL behind each query variable: `label_values(SEL, L)` becomes
/// `group by (L) (SEL)`, `query_result(Q)` becomes `Q`. `logs.rs` checks that
/// every other variable is a custom one.
fn variable_exprs() -> Vec<(String, String, String)> {
    let mut exprs = Vec::new();
    for (name, dashboard) in dashboards() {
        for variable in dashboard["templating"]["list"].as_array().unwrap() {
            if variable["type"] != "query" {
                continue;
            }
            assert_eq!(variable["datasource"]["type"], "prometheus", "{name}");
            let query = variable["query"]["query"].as_str().unwrap();
            let expr = if let Some(inner) = query.strip_prefix("label_values(") {
                let inner = inner.strip_suffix(')').unwrap();
                let (selector, label) = inner.rsplit_once(',').unwrap();
                format!("group by ({}) ({selector})", label.trim())
            } else {
                let inner = query.strip_prefix("query_result(").expect("known kind");
                inner.strip_suffix(')').unwrap().to_owned()
            };
            let var = variable["name"].as_str().unwrap().to_owned();
            exprs.push((name.clone(), format!("${var}"), expr));
        }
    }
    exprs
}

/// PromQL words that are not metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "by",
    "without",
    "or",
    "and",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "rate",
    "increase",
    "irate",
    "histogram_quantile",
    "label_replace",
    "group",
    "bool",
    "offset",
    "topk",
    "bottomk",
    "abs",
    "clamp_min",
    "clamp_max",
    "vector",
    "scalar",
    "time",
];

/// The metric names a PromQL expression reads: identifiers outside string literals,
/// label matchers, grouping label lists and range selectors, that are not PromQL
/// words, and the alternatives of `__name__=~"a|b"` matchers.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for part in expr.split("__name__=~\"").skip(1) {
        let regex = part.split('"').next().unwrap_or_default();
        names.extend(regex.split('|').map(str::to_owned));
    }
    let mut cleaned = String::new();
    let mut chars = expr.chars().peekable();
    let mut depth_brace = 0;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                cleaned.push(' ');
            }
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => {
                for s in chars.by_ref() {
                    if s == ']' {
                        break;
                    }
                }
                cleaned.push(' ');
            }
            _ if depth_brace > 0 => {}
            _ => cleaned.push(c),
        }
    }
    let mut after_grouping = false;
    let tokens = cleaned
        .split(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '(' || c == ')')
        })
        .flat_map(|t| t.split_inclusive(['(', ')']))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let mut in_labels = false;
    for token in tokens {
        let word = token.trim_end_matches(['(', ')']);
        if in_labels {
            if token.ends_with(')') {
                in_labels = false;
            }
            continue;
        }
        if after_grouping {
            after_grouping = false;
            in_labels = !token.ends_with(')');
            continue;
        }
        if [
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
        ]
        .contains(&word)
        {
            after_grouping = true;
            continue;
        }
        let is_name = word
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if is_name && !PROMQL_WORDS.contains(&word) && !word.starts_with("__") {
            names.insert(word.to_owned());
        }
    }
    names
}

#[test]
fn metric_names_are_found_in_promql() {
    let names = metric_names(
        r#"(sum by (span_name, le) (rate(a_total{job=~"$job", x="by (y)"}[$__rate_interval]))) or 1000 * histogram_quantile(0.9, b_bucket) / on (instance) c"#,
    );
    assert_eq!(names, ["a_total", "b_bucket", "c"].map(String::from).into());
    let names = metric_names(r#"group by(job) ({__name__=~"d_total|e"})"#);
    assert_eq!(names, ["d_total", "e"].map(String::from).into());
}

#[test]
fn every_yaml_file_parses() {
    let paths = files(&config_dir(), &[".yaml", ".yml"]);
    assert!(paths.len() >= 8, "{paths:?}");
    for path in paths {
        let value: Yaml = serde_norway::from_str(&read(&path))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(value.is_mapping(), "{}", path.display());
    }
}

/// The documented components: kind (`receiver`, ...) → name → allowed settings.
fn component_allow_list() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut allowed: BTreeMap<_, BTreeMap<_, _>> = BTreeMap::new();
    for row in readme_table("components") {
        let settings = row[2].split(',').map(|s| s.trim().to_owned()).collect();
        allowed
            .entry(row[0].clone())
            .or_default()
            .insert(row[1].clone(), settings);
    }
    allowed
}

fn keys(value: &Yaml) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn names(list: &Yaml) -> Vec<String> {
    list.as_sequence()
        .map(|s| s.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn collector_configs_use_documented_components_in_valid_pipelines() {
    let allowed = component_allow_list();
    let configs = files(&config_dir(), &[".yaml"])
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("collector")
        })
        .collect::<Vec<_>>();
    assert_eq!(configs.len(), 3, "{configs:?}");
    for path in configs {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let config: Yaml = yaml(&file);
        let mut defined: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (section, kind) in [
            ("receivers", "receiver"),
            ("processors", "processor"),
            ("exporters", "exporter"),
            ("connectors", "connector"),
            ("extensions", "extension"),
        ] {
            for id in keys(&config[section]) {
                let component = id.split('/').next().unwrap();
                let settings = allowed
                    .get(kind)
                    .and_then(|c| c.get(component))
                    .unwrap_or_else(|| panic!("{file}: {kind} {component} is not documented"));
                for key in keys(&config[section][id.as_str()]) {
                    assert!(
                        settings.contains(&key),
                        "{file}: {id}.{key} is not documented"
                    );
                }
                defined.entry(kind).or_default().insert(id);
            }
        }
        let connectors = defined.get("connector").cloned().unwrap_or_default();
        let mut used: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        let (mut connector_in, mut connector_out) = (BTreeSet::new(), BTreeSet::new());
        let pipelines = &config["service"]["pipelines"];
        assert!(!keys(pipelines).is_empty(), "{file}: no pipelines");
        for id in keys(pipelines) {
            let signal = id.split('/').next().unwrap();
            assert!(
                ["traces", "metrics", "logs"].contains(&signal),
                "{file}: {id}"
            );
            let pipeline = &pipelines[id.as_str()];
            for key in keys(pipeline) {
                assert!(
                    ["receivers", "processors", "exporters"].contains(&key.as_str()),
                    "{file}: {id}.{key}"
                );
            }
            assert!(
                !names(&pipeline["receivers"]).is_empty(),
                "{file}: {id} has no receiver"
            );
            assert!(
                !names(&pipeline["exporters"]).is_empty(),
                "{file}: {id} has no exporter"
            );
            for (role, kind) in [
                ("receivers", "receiver"),
                ("processors", "processor"),
                ("exporters", "exporter"),
            ] {
                for name in names(&pipeline[role]) {
                    if role != "processors" && connectors.contains(&name) {
                        if role == "receivers" {
                            &mut connector_out
                        } else {
                            &mut connector_in
                        }
                        .insert(name);
                        continue;
                    }
                    assert!(
                        defined.get(kind).is_some_and(|d| d.contains(&name)),
                        "{file}: pipeline {id} uses undefined {kind} {name}"
                    );
                    used.entry(kind).or_default().insert(name);
                }
            }
        }
        assert_eq!(
            connector_in, connectors,
            "{file}: every connector is fed by a pipeline"
        );
        assert_eq!(
            connector_out, connectors,
            "{file}: every connector feeds a pipeline"
        );
        for kind in ["receiver", "processor", "exporter"] {
            assert_eq!(
                used.get(kind),
                defined.get(kind),
                "{file}: defined but unused {kind}s"
            );
        }
        assert_eq!(
            names(&config["service"]["extensions"])
                .into_iter()
                .collect::<BTreeSet<_>>(),
            defined.get("extension").cloned().unwrap_or_default(),
            "{file}: extensions"
        );
        // memory_limiter first, batch last, in every pipeline that has processors.
        for id in keys(pipelines) {
            let processors = names(&pipelines[id.as_str()]["processors"]);
            if !processors.is_empty() {
                assert_eq!(
                    processors.first().unwrap(),
                    "memory_limiter",
                    "{file}: {id}"
                );
                assert_eq!(processors.last().unwrap(), "batch", "{file}: {id}");
            }
        }
    }
}

#[test]
fn compose_mounts_existing_files_and_grafana_finds_the_dashboards() {
    let compose = yaml("docker-compose.yaml");
    let services = keys(&compose["services"]);
    for service in [
        "otel-collector",
        "jaeger",
        "tempo",
        "loki",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains(&service.to_owned()), "{service}");
    }
    for service in &services {
        for volume in names(&compose["services"][service.as_str()]["volumes"]) {
            let volume = volume.replace("${COLLECTOR_CONFIG:-collector.yaml}", "collector.yaml");
            let source = volume.split(':').next().unwrap();
            let Some(relative) = source.strip_prefix("./") else {
                continue;
            };
            assert!(config_dir().join(relative).exists(), "{service}: {volume}");
        }
    }
    let grafana = names(&compose["services"]["grafana"]["volumes"]);
    let provider = yaml("grafana/provisioning/dashboards/dashboards.yaml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert!(
        grafana
            .iter()
            .any(|v| v == &format!("./grafana/dashboards:{path}:ro")),
        "{grafana:?}"
    );

    let sources = yaml("grafana/provisioning/datasources/datasources.yaml");
    let uids: BTreeSet<String> = sources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        uids,
        ["jaeger", "loki", "prometheus", "tempo"]
            .map(String::from)
            .into()
    );
    for (name, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            let uid = panel["datasource"]["uid"].as_str().unwrap();
            assert!(uids.contains(uid), "{name}: {uid}");
        }
    }
}

#[test]
fn latency_panels_show_exemplars_linked_to_tempo() {
    let (_, red) = dashboards()
        .into_iter()
        .find(|(name, _)| name == "service-red.json")
        .unwrap();
    let mut latency_targets = 0;
    for panel in red["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or_default();
            if expr.contains("traces_span_metrics_duration_milliseconds_bucket") {
                latency_targets += 1;
                assert_eq!(target["exemplar"], true, "{}: {expr}", panel["title"]);
            }
        }
    }
    assert!(latency_targets >= 3, "{latency_targets} latency targets");
    let sources = yaml("grafana/provisioning/datasources/datasources.yaml");
    let prometheus = sources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|d| d["uid"].as_str() == Some("prometheus"))
        .unwrap();
    let destinations = prometheus["jsonData"]["exemplarTraceIdDestinations"]
        .as_sequence()
        .expect("exemplarTraceIdDestinations");
    assert!(
        destinations
            .iter()
            .any(|d| d["name"].as_str() == Some("trace_id")
                && d["datasourceUid"].as_str() == Some("tempo")),
        "{destinations:?}"
    );
    let compose = read(&config_dir().join("docker-compose.yaml"));
    assert!(compose.contains("--enable-feature=exemplar-storage"));
}

#[test]
fn every_dashboard_panel_has_promql_over_documented_metrics() {
    let documented = documented_metrics();
    let dashboards = dashboards();
    let names: Vec<_> = dashboards.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "observer-health.json",
            "process-resources.json",
            "service-red.json"
        ]
    );
    let mut uids = BTreeSet::new();
    for (name, dashboard) in &dashboards {
        assert!(
            uids.insert(dashboard["uid"].as_str().unwrap().to_owned()),
            "{name}: uid"
        );
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(!panels.is_empty(), "{name}");
        for panel in panels {
            let targets = panel["targets"].as_array().unwrap();
            assert!(
                !targets.is_empty(),
                "{name}: {} has no query",
                panel["title"]
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (name, title, expr) in panel_exprs().into_iter().chain(variable_exprs()) {
        assert!(!expr.trim().is_empty(), "{name}: {title}: empty expr");
        let metrics = metric_names(&expr);
        assert!(!metrics.is_empty(), "{name}: {title}: no metric in {expr}");
        for metric in metrics {
            assert!(
                documented.contains(&metric),
                "{name}: {title}: {metric} is not documented"
            );
            seen.insert(metric);
        }
    }
    let unused: Vec<_> = documented.difference(&seen).collect();
    assert!(
        unused.is_empty(),
        "documented but on no dashboard: {unused:?}"
    );
}

mod logs;
mod prometheus;
