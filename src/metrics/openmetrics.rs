//! The registry in the OpenMetrics text format, with exemplars: what `/metrics`
//! serves a scraper whose `Accept` asks for `application/openmetrics-text`.
//!
//! Written from the Prometheus text the registry renders (sorted, see
//! [`super::exposition`]): a counter family is named without its `_total` (its
//! samples keep it), `"` in descriptions is escaped, blank lines go, and the text
//! ends with `# EOF`. Each `_bucket` line of a histogram series with an exemplar in
//! that bucket gets it: `# {trace_id="…",span_id="…"} VALUE TIMESTAMP`.

use super::exemplars::Exemplars;
use super::otlp::parse_labels;

/// The content type of the exposition below.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether an `Accept` header asks for OpenMetrics.
pub(crate) fn accepted(accept: &str) -> bool {
    accept.split(',').any(|choice| {
        let mut parts = choice.split(';').map(str::trim);
        let refused = |p: &str| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f64>().ok())
                .is_some_and(|q| q <= 0.0)
        };
        parts.next() == Some("application/openmetrics-text") && !parts.any(refused)
    })
}

/// `text` (the registry's Prometheus text) as OpenMetrics, with `exemplars`.
pub(crate) fn from_prometheus(text: &str, exemplars: &Exemplars) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    // The current family's name and whether it is a counter, from its `# TYPE` line.
    let mut family: Option<(String, bool)> = None;
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            // The `# TYPE` line follows its `# HELP` line.
            let counter = lines
                .get(i + 1)
                .is_some_and(|next| is_counter_type(next, name));
            let help = help.replace('"', "\\\"");
            out.push_str(&format!("# HELP {} {help}\n", family_name(name, counter)));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let counter = kind == "counter";
            let kind = if counter && !name.ends_with("_total") {
                "unknown"
            } else {
                kind
            };
            out.push_str(&format!("# TYPE {} {kind}\n", family_name(name, counter)));
            family = Some((name.to_owned(), counter));
        } else if line.starts_with('#') {
            continue;
        } else {
            out.push_str(line);
            if let Some((name, _)) = &family {
                append_exemplar(&mut out, line, name, exemplars);
            }
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

fn is_counter_type(line: &str, name: &str) -> bool {
    line.strip_prefix("# TYPE ")
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|kind| kind == " counter")
}

/// A counter family's OpenMetrics name: without `_total` (kept when it has none).
fn family_name(name: &str, counter: bool) -> &str {
    if counter {
        name.strip_suffix("_total").unwrap_or(name)
    } else {
        name
    }
}

/// ` # {trace_id="…",span_id="…"} value timestamp` after a bucket line that has one.
fn append_exemplar(out: &mut String, line: &str, family: &str, exemplars: &Exemplars) {
    let Some(rest) = line
        .strip_prefix(family)
        .and_then(|r| r.strip_prefix("_bucket{"))
    else {
        return;
    };
    let Some((mut labels, _)) = parse_labels(rest) else {
        return;
    };
    let Some(at) = labels.iter().position(|(k, _)| k == "le") else {
        return;
    };
    let le = labels.remove(at).1;
    let le = if le == "+Inf" {
        f64::INFINITY
    } else {
        match le.parse() {
            Ok(le) => le,
            Err(_) => return,
        }
    };
    let Some(exemplar) = exemplars
        .find(family, &labels)
        .and_then(|series| series.for_bound(le))
    else {
        return;
    };
    let seconds = exemplar.unix_nanos / 1_000_000_000;
    let millis = exemplar.unix_nanos % 1_000_000_000 / 1_000_000;
    out.push_str(&format!(
        " # {{trace_id=\"{}\",span_id=\"{}\"}} {} {seconds}.{millis:03}",
        exemplar.trace_id, exemplar.span_id, exemplar.value
    ));
}

#[cfg(test)]
mod tests;
