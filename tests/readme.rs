//! The README's configuration table (between `<!-- config:begin -->` and
//! `<!-- config:end -->`) against the real configuration surface, so that neither
//! drifts from the other:
//!
//! - builder methods: exactly the public methods of `ObserverBuilder` (but `build`);
//! - environment variables: exactly those the crate reads (`config::vars::ALL`, which
//!   the settings table makes);
//! - config-file keys: exactly those the file parser accepts (as listed by its own
//!   "unknown field" error);
//! - defaults: the crate's `DEFAULT_*` constants and enum defaults.

use std::collections::BTreeSet;
use std::time::Duration;

use tracing_observer::config::{self, vars};
use tracing_observer::{
    config::Compression, config::MetricsExporter, config::Protocol, config::SpanMetricsProfile,
    config::TracesExporter, spool, Observer,
};

const README: &str = include_str!("../README.md");
const BUILDER_SRC: &[&str] = &[
    include_str!("../src/builder/mod.rs"),
    include_str!("../src/builder/delivery.rs"),
    include_str!("../src/builder/export.rs"),
    include_str!("../src/builder/logs.rs"),
    include_str!("../src/builder/operations.rs"),
    include_str!("../src/builder/propagation.rs"),
    include_str!("../src/builder/recording.rs"),
    include_str!("../src/builder/sampling.rs"),
];

/// One row of the table.
#[derive(Debug)]
struct Row {
    methods: Vec<String>,
    vars: Vec<String>,
    keys: Vec<String>,
    default: String,
}

/// The texts between backticks in `cell`.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// `cell`'s cells, split on `|` but not on `\|`.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.trim().trim_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().unwrap().push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_owned()).collect()
}

/// The leading `[a-z_][a-z0-9_]*` of `text`, if it starts with one.
fn identifier(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let ident = &text[..end];
    ident
        .starts_with(|c: char| c.is_ascii_lowercase())
        .then_some(ident)
}

/// `OTEL_EXPORTER_OTLP_{TRACES_,}TIMEOUT=...` → both names; other names as they are.
fn expand_var(span: &str) -> Vec<String> {
    let name = span.split('=').next().unwrap_or_default();
    match name.split_once("{TRACES_,}") {
        Some((before, after)) => vec![
            format!("{before}TRACES_{after}"),
            format!("{before}{after}"),
        ],
        None => vec![name.to_owned()],
    }
}

fn rows() -> Vec<Row> {
    let (begin, end) = ("<!-- config:begin -->", "<!-- config:end -->");
    let start = README.find(begin).expect("config:begin marker") + begin.len();
    let stop = README.find(end).expect("config:end marker");
    let mut lines = README[start..stop].lines().filter(|l| l.starts_with('|'));
    assert_eq!(
        cells(lines.next().unwrap()),
        [
            "builder method",
            "environment variable",
            "config-file key",
            "default"
        ]
    );
    lines
        .skip(1)
        .map(|line| {
            let cells = cells(line);
            assert_eq!(cells.len(), 4, "{line}");
            Row {
                methods: code_spans(&cells[0])
                    .into_iter()
                    .filter_map(identifier)
                    .map(str::to_owned)
                    .collect(),
                vars: code_spans(&cells[1])
                    .into_iter()
                    .filter(|s| s.starts_with("OTEL_") || s.starts_with("OBSERVER_"))
                    .flat_map(expand_var)
                    .collect(),
                keys: code_spans(&cells[2])
                    .into_iter()
                    .filter(|s| identifier(s) == Some(*s))
                    .map(str::to_owned)
                    .collect(),
                default: cells[3].clone(),
            }
        })
        .collect()
}

fn set<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    items.into_iter().collect()
}

#[test]
fn the_table_lists_exactly_the_builder_methods() {
    // The `pub fn`s inside `impl ObserverBuilder` blocks (the module also holds
    // `Observer::builder`).
    let mut in_builder = false;
    let public: BTreeSet<String> = BUILDER_SRC
        .iter()
        .flat_map(|source| source.lines())
        .filter_map(|l| {
            if l.starts_with("impl") {
                in_builder = l.starts_with("impl ObserverBuilder");
            }
            l.strip_prefix("    pub fn ").filter(|_| in_builder)
        })
        .filter_map(identifier)
        .filter(|name| *name != "build")
        .map(str::to_owned)
        .collect();
    assert!(public.len() > 40, "{public:?}");
    let listed = set(rows().into_iter().flat_map(|r| r.methods));
    assert_eq!(
        listed, public,
        "README config table vs ObserverBuilder's methods"
    );
}

#[test]
fn the_table_lists_exactly_the_variables_read() {
    let read = set(vars::ALL.iter().map(|name| (*name).to_owned()));
    for name in [
        vars::OTEL_SERVICE_NAME,
        vars::OBSERVER_HTTP_ADDR,
        vars::OBSERVER_SPOOL,
        vars::OBSERVER_OVERHEAD_BUDGET,
        vars::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        vars::OTEL_EXPORTER_OTLP_ENDPOINT,
    ] {
        assert!(read.contains(name), "{name}");
    }
    assert_eq!(read.len(), vars::ALL.len(), "a variable listed twice");
    assert!(read.len() > 50, "{read:?}");
    let listed = set(rows().into_iter().flat_map(|r| r.vars));
    assert_eq!(listed, read, "README config table vs the variables read");
}

#[test]
fn the_table_lists_exactly_the_config_file_keys() {
    // The file parser names every key it accepts when it meets one it does not.
    let dir = std::env::temp_dir().join(format!("tracing-observer-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("observer.toml");
    std::fs::write(&path, "no_such_key = 1\n").unwrap();
    let error = Observer::builder()
        .environment(std::iter::empty::<(String, String)>())
        .config_file(&path)
        .build()
        .expect_err("an unknown key is an error")
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    let expected = error
        .split_once("expected one of")
        .unwrap_or_else(|| panic!("{error}"))
        .1;
    let accepted = set(code_spans(expected).into_iter().map(str::to_owned));
    assert!(accepted.len() > 50, "{error}");
    let listed = set(rows().into_iter().flat_map(|r| r.keys));
    assert_eq!(
        listed, accepted,
        "README config table vs the config file's keys"
    );
}

/// `65536` → `65 536` (thin groups of three, as the README writes numbers).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() <= 4 {
        return digits;
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `5 s`, `6 h`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    assert_eq!(Duration::from_secs(secs), d, "whole seconds");
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else {
        format!("{secs} s")
    }
}

/// `64 MiB`, `1 GiB`.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n.is_multiple_of(1 << 30) => format!("{} GiB", n >> 30),
        n if n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        n => format!("{n} bytes"),
    }
}

/// The lower-case `Debug` name of an enum's default, as the README writes it.
fn variant(value: impl std::fmt::Debug) -> String {
    format!("`{}`", format!("{value:?}").to_lowercase())
}

#[test]
fn the_defaults_are_the_crates() {
    let count = |n: usize| grouped(n as u64);
    let expected: Vec<(&str, String)> = vec![
        ("traces_exporter", variant(TracesExporter::default())),
        (
            "endpoint",
            format!(
                "`{}` (gRPC), `{}` (HTTP)",
                config::DEFAULT_GRPC_ENDPOINT,
                config::DEFAULT_HTTP_ENDPOINT
            ),
        ),
        ("protocol", variant(Protocol::default())),
        ("metrics_exporter", variant(MetricsExporter::default())),
        (
            "metric_export_interval",
            duration(config::DEFAULT_METRIC_EXPORT_INTERVAL),
        ),
        (
            "metric_export_timeout",
            duration(config::DEFAULT_METRIC_EXPORT_TIMEOUT),
        ),
        (
            "metrics_endpoint",
            format!(
                "`{}` (gRPC), `{}` (HTTP)",
                config::DEFAULT_GRPC_ENDPOINT,
                config::DEFAULT_HTTP_METRICS_ENDPOINT
            ),
        ),
        (
            "logs_endpoint",
            format!(
                "`{}` (gRPC), `{}` (HTTP)",
                config::DEFAULT_GRPC_ENDPOINT,
                config::DEFAULT_HTTP_LOGS_ENDPOINT
            ),
        ),
        (
            "logs_scheduled_delay",
            duration(config::DEFAULT_LOGS_SCHEDULED_DELAY),
        ),
        (
            "logs_export_timeout",
            duration(config::DEFAULT_EXPORT_TIMEOUT),
        ),
        (
            "logs_max_queue_size",
            format!("{} records", count(config::DEFAULT_LOGS_MAX_QUEUE_SIZE)),
        ),
        (
            "logs_max_export_batch_size",
            count(config::DEFAULT_MAX_EXPORT_BATCH_SIZE),
        ),
        (
            "max_attributes_per_log",
            count(config::DEFAULT_MAX_ATTRIBUTES_PER_EVENT),
        ),
        ("logs_rate_limit", count(config::DEFAULT_LOGS_RATE_LIMIT)),
        (
            "compression",
            format!("{:?}", Compression::default()).to_lowercase(),
        ),
        ("request_timeout", duration(config::DEFAULT_REQUEST_TIMEOUT)),
        (
            "max_queue_size",
            format!("{} spans", count(config::DEFAULT_MAX_QUEUE_SIZE)),
        ),
        (
            "max_queue_bytes",
            bytes(config::DEFAULT_MAX_QUEUE_BYTES as u64),
        ),
        (
            "max_export_batch_size",
            count(config::DEFAULT_MAX_EXPORT_BATCH_SIZE),
        ),
        (
            "max_concurrent_exports",
            count(config::DEFAULT_MAX_CONCURRENT_EXPORTS),
        ),
        ("scheduled_delay", duration(config::DEFAULT_SCHEDULED_DELAY)),
        ("export_timeout", duration(config::DEFAULT_EXPORT_TIMEOUT)),
        (
            "max_attributes_per_span",
            count(config::DEFAULT_MAX_ATTRIBUTES_PER_SPAN),
        ),
        (
            "max_events_per_span",
            count(config::DEFAULT_MAX_EVENTS_PER_SPAN),
        ),
        (
            "max_links_per_span",
            count(config::DEFAULT_MAX_LINKS_PER_SPAN),
        ),
        (
            "max_attributes_per_event",
            count(config::DEFAULT_MAX_ATTRIBUTES_PER_EVENT),
        ),
        (
            "max_attribute_value_bytes",
            bytes(config::DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES as u64),
        ),
        (
            "shutdown_timeout",
            duration(config::DEFAULT_SHUTDOWN_TIMEOUT),
        ),
        ("spool_max_bytes", bytes(spool::DEFAULT_MAX_BYTES)),
        ("spool_retention", duration(spool::DEFAULT_RETENTION)),
        (
            "spool_cleanup_interval",
            format!(
                "{}, {}",
                duration(spool::DEFAULT_CLEANUP_INTERVAL),
                duration(spool::DEFAULT_SYNC_INTERVAL)
            ),
        ),
        (
            "circuit_breaker_threshold",
            config::DEFAULT_FAILURE_THRESHOLD.to_string(),
        ),
        (
            "circuit_breaker_timeout",
            duration(config::DEFAULT_OPEN_TIMEOUT),
        ),
        ("circuit_breaker_window", duration(config::DEFAULT_WINDOW)),
        (
            "retry_initial_backoff",
            duration(config::DEFAULT_INITIAL_BACKOFF),
        ),
        ("retry_max_backoff", duration(config::DEFAULT_MAX_BACKOFF)),
        (
            "retry_max_elapsed_time",
            duration(config::DEFAULT_MAX_ELAPSED_TIME),
        ),
        (
            "span_metrics_profile",
            variant(SpanMetricsProfile::default()),
        ),
        (
            "span_metrics_max_series",
            format!(
                "{} label sets",
                count(config::DEFAULT_SPAN_METRICS_MAX_SERIES)
            ),
        ),
        (
            "event_metrics_max_series",
            format!(
                "{} label sets",
                count(config::DEFAULT_EVENT_METRICS_MAX_SERIES)
            ),
        ),
        (
            "resource_interval",
            duration(config::DEFAULT_RESOURCE_INTERVAL),
        ),
        (
            "max_worker_restarts",
            count(config::DEFAULT_MAX_WORKER_RESTARTS),
        ),
    ];
    let rows = rows();
    let mut mismatches = Vec::new();
    for (method, default) in &expected {
        let row = rows
            .iter()
            .find(|r| r.methods.first().map(String::as_str) == Some(*method))
            .unwrap_or_else(|| panic!("no row for {method}"));
        if &row.default != default {
            mismatches.push(format!(
                "{method}: README says {:?}, the crate {default:?}",
                row.default
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // A number in a default that this test does not check would drift unseen.
    for row in &rows {
        let checked = row
            .methods
            .first()
            .is_some_and(|m| expected.iter().any(|(e, _)| e == m));
        let has_number = row.default.chars().any(|c| c.is_ascii_digit());
        assert!(
            checked || !has_number,
            "{row:?}: add its default to this test"
        );
    }
}
