//! The crate's modules depend on each other one way only.
//!
//! Reads the `crate::` and `super::` paths of every source file (outside test code and
//! comments) and fails on an import cycle between top-level modules, or between
//! sibling files of one module. A cycle makes every module in it a change to all the
//! others; the layout the README describes is a stack: host side (layer, record,
//! sampling, queue) at the bottom, the worker's parts above it, the wiring on top.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file and the module path it defines (`src/a/b.rs` is `["a", "b"]`).
struct Source {
    module: Vec<String>,
    code: String,
}

/// The stack, bottom first: a module imports only modules of its own layer or below.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base: identifiers, clock, public report and error types, resource readers, trace context",
        &[
            "clock",
            "ids",
            "error",
            "report",
            "resources",
            "propagation",
            "otel_interop",
        ],
    ),
    (
        "host side: what runs on the application's threads",
        &[
            "record",
            "sampling",
            "queue",
            "tally",
            "event_metrics",
            "logs",
            "diagnostics",
            "entered",
            "recorder",
            "layer",
            "span_ext",
            "current",
            "http",
            "tower",
        ],
    ),
    (
        "worker side",
        &[
            "stats", "export", "spool", "delivery", "metrics", "health", "server",
        ],
    ),
    ("configuration sources", &["config"]),
    (
        "wiring",
        &[
            "panic_hook",
            "pipeline",
            "builder",
            "observer",
            "bench_support",
        ],
    ),
];

/// Top-level module → the top-level modules its code imports.
fn module_graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let reexports = root_reexports(sources);
    let tops: BTreeSet<String> = sources
        .iter()
        .filter_map(|s| s.module.first().cloned())
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources.iter().filter(|s| !s.module.is_empty()) {
        let from = &source.module[0];
        graph.entry(from.clone()).or_default();
        for path in crate_paths(&source.code) {
            let first = &path[0];
            let to = if tops.contains(first) {
                Some(first.clone())
            } else {
                reexports.get(first).cloned()
            };
            if let Some(to) = to.filter(|to| to != from) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

#[test]
fn imports_point_down_the_stack() {
    let layer_of = |module: &str| {
        LAYERS
            .iter()
            .position(|(_, members)| members.contains(&module))
    };
    let graph = module_graph(&sources());
    let unplaced: Vec<&String> = graph.keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules without a layer in LAYERS: {unplaced:?}"
    );
    let upward: Vec<String> = graph
        .iter()
        .flat_map(|(from, tos)| tos.iter().map(move |to| (from, to)))
        .filter(|(from, to)| layer_of(to) > layer_of(from))
        .map(|(from, to)| {
            let layer = |m: &str| LAYERS[layer_of(m).expect("placed")].0;
            format!("{from} ({}) imports {to} ({})", layer(from), layer(to))
        })
        .collect();
    assert!(
        upward.is_empty(),
        "imports up the stack:\n{}",
        upward.join("\n")
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = module_graph(&sources());
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules: {cycles:?}\nedges: {graph:#?}"
    );
}

#[test]
fn sibling_files_form_no_cycle() {
    let sources = sources();
    // Parent module path → (child name → the children it imports).
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let children: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    for source in sources.iter().filter(|s| s.module.len() >= 2) {
        let (name, parent) = source.module.split_last().expect("two segments");
        let mut imports = Vec::new();
        for path in crate_paths(&source.code) {
            if path.len() > parent.len() && path[..parent.len()] == *parent {
                imports.push(path[parent.len()].clone());
            }
        }
        for path in super_paths(&source.code) {
            imports.push(path);
        }
        for sibling in imports {
            let mut module = parent.to_vec();
            module.push(sibling.clone());
            if sibling != *name && children.contains(&module) {
                graphs
                    .entry(parent.to_vec())
                    .or_default()
                    .entry(name.clone())
                    .or_default()
                    .insert(sibling);
            }
        }
    }
    let found: Vec<_> = graphs
        .iter()
        .flat_map(|(parent, graph)| cycles(graph).into_iter().map(move |c| (parent, c)))
        .collect();
    assert!(
        found.is_empty(),
        "import cycles between sibling files: {found:?}"
    );
}

#[test]
fn the_check_finds_a_cycle() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    let code = strip("use crate::a::B; // crate::z\n#[cfg(test)]\nmod tests { use crate::y; }\nfn f() { crate::b::g() }");
    assert_eq!(crate_paths(&code), vec![vec!["a", "B"], vec!["b", "g"]]);
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(&root).expect("under src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            // Test files are not part of the library's layering.
            if module.iter().any(|m| m == "tests") {
                return None;
            }
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            let code = std::fs::read_to_string(&file).expect("readable source");
            Some(Source {
                module,
                code: strip(&code),
            })
        })
        .collect()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The code without comments and without `#[cfg(test)]` items.
fn strip(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for line in code.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    // Remove each `#[cfg(test)]` item: up to its `;` or its balanced braces.
    while let Some(at) = out.find("#[cfg(test)]") {
        let rest = &out[at..];
        let end = match (rest.find(';'), rest.find('{')) {
            (Some(semi), Some(brace)) if semi < brace => at + semi + 1,
            (_, Some(brace)) => {
                let mut depth = 0usize;
                let mut end = out.len();
                for (i, c) in rest[brace..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = at + brace + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (Some(semi), None) => at + semi + 1,
            (None, None) => out.len(),
        };
        out.replace_range(at..end, "");
    }
    out
}

/// Every `crate::a::b…` path, and each path inside `crate::{…}` or `crate::a::{…}`
/// groups, as segments after `crate`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut prefix = Vec::new();
        let mut cursor = rest;
        loop {
            let len = cursor
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(cursor.len());
            if len == 0 {
                if let Some(group) = cursor.strip_prefix('{') {
                    let close = group.find('}').unwrap_or(group.len());
                    for item in group[..close].split(',') {
                        let first: Vec<String> = item
                            .trim()
                            .split("::")
                            .map(|s| s.trim().to_owned())
                            .take_while(|s| !s.is_empty() && !s.contains('{'))
                            .collect();
                        if let Some(head) = first.first().filter(|h| h.as_str() != "self") {
                            let mut path = prefix.clone();
                            path.push(head.clone());
                            paths.push(path);
                        } else if !prefix.is_empty() {
                            paths.push(prefix.clone());
                        }
                    }
                }
                break;
            }
            prefix.push(cursor[..len].to_owned());
            cursor = &cursor[len..];
            match cursor.strip_prefix("::") {
                Some(next) => cursor = next,
                None => {
                    paths.push(prefix.clone());
                    break;
                }
            }
        }
    }
    paths
}

/// The first segment of every `super::x` path (a sibling, or an item of the parent).
fn super_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        rest = &rest[at + "super::".len()..];
        if rest.starts_with("super::") {
            continue;
        }
        let mut push = |segment: &str| {
            let len = segment
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(segment.len());
            if len > 0 {
                found.push(segment[..len].to_owned());
            }
        };
        if let Some(group) = rest.strip_prefix('{') {
            let close = group.find('}').unwrap_or(group.len());
            for item in group[..close].split(',') {
                push(item.trim());
            }
        } else {
            push(rest);
        }
    }
    found
}

/// Root items re-exported by `lib.rs` (`pub use a::b::{X, Y}` makes `X` and `Y` module `a`'s).
fn root_reexports(sources: &[Source]) -> BTreeMap<String, String> {
    let lib = &sources
        .iter()
        .find(|s| s.module.is_empty())
        .expect("lib.rs")
        .code;
    let mut map = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(at) = statement.find("pub use ") else {
            continue;
        };
        let path = statement[at + "pub use ".len()..].trim();
        let path = path.strip_prefix("crate::").unwrap_or(path);
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        let items = items
            .rsplit_once("::")
            .map_or(items, |(_, last)| last)
            .trim_matches(|c| c == '{' || c == '}');
        let items = if path.contains('{') {
            path[path.find('{').expect("group") + 1..].trim_end_matches('}')
        } else {
            items
        };
        for item in items.split(',') {
            let name = item.rsplit("::").next().unwrap_or("").trim();
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            if !name.is_empty() {
                map.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    map
}

/// The strongly connected components with more than one node (Tarjan), each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Search<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, node: &'a str) {
            let next = self.index.len();
            self.index.insert(node, next);
            self.low.insert(node, next);
            self.stack.push(node);
            for to in self.graph.get(node).into_iter().flatten() {
                if !self.index.contains_key(to.as_str()) {
                    self.visit(to);
                    let low = self.low[node].min(self.low[to.as_str()]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&to.as_str()) {
                    let low = self.low[node].min(self.index[to.as_str()]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    component.push(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !search.index.contains_key(node.as_str()) {
            search.visit(node);
        }
    }
    search.found
}
