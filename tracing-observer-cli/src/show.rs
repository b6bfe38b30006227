//! `spool show`: spooled spans as trace trees in the terminal.

use std::collections::BTreeMap;
use tracing_observer::proto::common::v1::any_value::Value;
use tracing_observer::proto::common::v1::KeyValue;
use tracing_observer::proto::trace::v1::status::StatusCode;
use tracing_observer::proto::trace::v1::Span;
use tracing_observer::spool::SpooledBatch;

/// Which traces to show.
pub(crate) struct Filter {
    pub(crate) errors: bool,
    pub(crate) trace: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) limit: usize,
}

/// Attributes worth a glance; the code location and thread ones are left out.
fn key_attributes(span: &Span) -> String {
    span.attributes
        .iter()
        .filter(|kv| {
            !kv.key.starts_with("code.")
                && !kv.key.starts_with("thread.")
                && !matches!(kv.key.as_str(), "busy_ns" | "idle_ns" | "level")
        })
        .take(4)
        .map(|kv| format!("{}={}", kv.key, value(kv)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn value(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.chars().take(60).collect(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn failed(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

/// Prints the traces the filter selects.
pub(crate) fn print(batches: &[SpooledBatch], filter: &Filter) {
    // trace id -> (service, spans)
    let mut traces: BTreeMap<Vec<u8>, (String, Vec<&Span>)> = BTreeMap::new();
    for batch in batches {
        for resource in &batch.request.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .map(value)
                .unwrap_or_default();
            if filter.service.as_ref().is_some_and(|s| *s != service) {
                continue;
            }
            for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                if filter
                    .trace
                    .as_ref()
                    .is_some_and(|t| !t.eq_ignore_ascii_case(&hex(&span.trace_id)))
                {
                    continue;
                }
                traces
                    .entry(span.trace_id.clone())
                    .or_insert_with(|| (service.clone(), Vec::new()))
                    .1
                    .push(span);
            }
        }
    }
    let mut shown = 0;
    for (trace_id, (service, spans)) in &traces {
        if filter.errors && !spans.iter().any(|s| failed(s)) {
            continue;
        }
        if shown == filter.limit {
            println!("… more traces (raise --limit)");
            break;
        }
        shown += 1;
        println!("trace {} ({service}, {} spans)", hex(trace_id), spans.len());
        let ids: Vec<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
        let mut roots: Vec<&Span> = spans
            .iter()
            .copied()
            .filter(|s| !ids.contains(&s.parent_span_id.as_slice()))
            .collect();
        roots.sort_by_key(|s| s.start_time_unix_nano);
        for root in roots {
            print_tree(root, spans, 1);
        }
    }
    if shown == 0 {
        println!("no traces match");
    }
}

fn print_tree(span: &Span, spans: &[&Span], depth: usize) {
    let duration_ms = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e6;
    let status = if failed(span) {
        let message = span.status.as_ref().map_or("", |s| s.message.as_str());
        format!(" ERROR {message}")
    } else {
        String::new()
    };
    println!(
        "{}{} {:.3}ms{} {}",
        "  ".repeat(depth),
        span.name,
        duration_ms,
        status,
        key_attributes(span)
    );
    let mut children: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| s.parent_span_id == span.span_id && s.trace_id == span.trace_id)
        .collect();
    children.sort_by_key(|s| s.start_time_unix_nano);
    for child in children {
        print_tree(child, spans, depth + 1);
    }
}
