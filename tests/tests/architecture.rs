//! The layers point one way, and the compiler keeps them so: the domain
//! crate depends on no AWS, HTTP or Lambda crate (checked on its manifest,
//! as cargo reads it), and no module of a crate under shared/ imports a
//! module that imports it back (checked on the `use` paths of its sources).
//! And docs/security.md names only tests that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Workspace package name → the names of its normal (non-dev) dependencies.
fn dependency_graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut graph = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let deps = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        graph.insert(p["name"].as_str().unwrap().to_string(), deps);
    }
    graph
}

/// Everything `package` depends on through the workspace's own crates.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, package: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![package.to_string()];
    while let Some(p) = todo.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn the_domain_depends_on_no_aws_http_or_lambda_crate() {
    let graph = dependency_graph();
    let forbidden = |name: &str| {
        name.starts_with("aws-")
            || ["lambda_http", "lambda_runtime", "http", "hyper", "axum", "reqwest"].contains(&name)
    };
    let all = closure(&graph, "domain");
    let bad: Vec<_> = all.iter().filter(|d| forbidden(d)).collect();
    assert!(bad.is_empty(), "the domain crate depends on {bad:?}");
    // And the arrows between the workspace's own crates point one way.
    let ours = ["domain", "memory", "aws", "edge"];
    for (crate_, must_not) in [
        ("domain", &["memory", "aws", "edge"][..]),
        ("memory", &["aws", "edge"]),
        ("aws", &["memory", "edge"]),
    ] {
        let deps = closure(&graph, crate_);
        for m in must_not {
            assert!(!deps.contains(*m), "{crate_} depends on {m}");
        }
        assert!(ours.contains(&crate_));
    }
}

/// A crate's modules: path (`crate::codes::send`) → source file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut todo = vec![src.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> =
                rel.iter().map(|p| p.to_string_lossy().to_string()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(
                std::iter::once("crate".to_string()).chain(parts).collect::<Vec<_>>().join("::"),
                path,
            );
        }
    }
    out
}

/// The paths a source file's `use` items name, group braces expanded.
fn use_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    for item in code.split(';') {
        // Without comments and attributes (`#[cfg(…)] use …`).
        let item: String = item
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("//") && !l.starts_with("#["))
            .collect::<Vec<_>>()
            .join(" ");
        let item = item.trim_start();
        let item = match item.strip_prefix("pub(") {
            Some(rest) => rest.split_once(')').map_or(item, |(_, r)| r.trim_start()),
            None => item.strip_prefix("pub ").unwrap_or(item),
        };
        let Some(rest) = item.strip_prefix("use ") else {
            continue;
        };
        let rest: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        match rest.split_once("::{") {
            Some((prefix, group)) => {
                for name in group.trim_end_matches('}').split(',').filter(|n| !n.is_empty()) {
                    out.push(format!("{prefix}::{}", name.split("::{").next().unwrap()));
                }
            }
            None => out.push(rest),
        }
    }
    // And paths written out in code (`crate::captcha::render::ImageRenderer`).
    for start in ["crate::", "super::"] {
        for (at, _) in code.match_indices(start) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.trim_end_matches(':').to_string());
        }
    }
    out
}

/// The module a `use` path in module `from` refers to, if it is one of ours.
fn resolve(from: &str, path: &str, known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut segments: Vec<&str> = from.split("::").collect();
    let mut rest = path.split("::").peekable();
    match rest.peek().copied() {
        Some("crate") => {
            segments = vec!["crate"];
            rest.next();
        }
        Some("super") => {
            while rest.peek() == Some(&"super") {
                segments.pop();
                rest.next();
            }
        }
        Some("self") => {
            rest.next();
        }
        _ => return None,
    }
    let mut best = None;
    let mut current = segments.join("::");
    if known.contains_key(&current) {
        best = Some(current.clone());
    }
    for s in rest {
        current = format!("{current}::{s}");
        if known.contains_key(&current) {
            best = Some(current.clone());
        }
    }
    best
}

/// A path of imports from a module back to itself, if any (depth first).
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    for start in edges.keys() {
        let mut todo: Vec<Vec<String>> = vec![vec![start.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = todo.pop() {
            let last = path.last().unwrap();
            for next in edges.get(last).into_iter().flatten() {
                if next == start {
                    return Some([path.clone(), vec![start.clone()]].concat());
                }
                if seen.insert(next.clone()) {
                    todo.push([path.clone(), vec![next.clone()]].concat());
                }
            }
        }
    }
    None
}

/// `crate::codes::send` → `crate::codes`.
fn top_level(module: &str) -> String {
    module.split("::").take(2).collect::<Vec<_>>().join("::")
}

/// No module imports one that imports it back, file by file nor between
/// a crate's top-level modules (`codes` and `outbox` with all they hold).
#[test]
fn no_module_imports_one_that_imports_it_back() {
    for krate in ["domain", "memory", "aws", "edge"] {
        let src = root().join("shared").join(krate).join("src");
        let known = modules(&src);
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, file) in &known {
            let text = std::fs::read_to_string(file).unwrap();
            for path in use_paths(&text) {
                if let Some(to) = resolve(module, &path, &known).filter(|to| to != module) {
                    let (from_top, to_top) = (top_level(module), top_level(&to));
                    if from_top != to_top && to_top != "crate" {
                        tops.entry(from_top).or_default().insert(to_top);
                    }
                    edges.entry(module.clone()).or_default().insert(to);
                }
            }
        }
        if let Some(path) = circle(&edges) {
            panic!("{krate}: import circle {}", path.join(" -> "));
        }
        if let Some(path) = circle(&tops) {
            panic!("{krate}: import circle between top-level modules {}", path.join(" -> "));
        }
        assert!(known.len() > 2, "{krate}: found its modules");
    }
}

/// The check finds a circle planted between top-level modules through
/// their files, and none where the arrows point one way.
#[test]
fn a_planted_module_circle_is_found() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in pairs {
            out.entry(top_level(from)).or_default().insert(top_level(to));
        }
        out
    };
    let planted = edges(&[
        ("crate::codes::send", "crate::outbox::contents"),
        ("crate::outbox::deliver", "crate::sms::guard"),
        ("crate::outbox::deliver", "crate::codes::policy"),
    ]);
    let found = circle(&planted).expect("the planted circle");
    assert!(found.contains(&"crate::codes".to_string()) && found.len() == 3, "{found:?}");
    let one_way = edges(&[
        ("crate::codes::send", "crate::outbox::contents"),
        ("crate::outbox::deliver", "crate::sms::guard"),
        ("crate::codes::check", "crate::sms::guard"),
    ]);
    assert_eq!(circle(&one_way), None);
}

/// docs/security.md's threat table stays true: every test it names
/// (`file::test`) exists in `tests/tests/<file>.rs`, and every row has a
/// cell for each column.
#[test]
fn the_threat_model_names_tests_that_exist() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let mut named = 0;
    for piece in doc.split('`').skip(1).step_by(2) {
        let Some((file, test)) = piece.split_once("::") else { continue };
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !is_name(file) || !is_name(test) {
            continue;
        }
        let path = root.join("tests/tests").join(format!("{file}.rs"));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("docs/security.md names {piece}: no tests/tests/{file}.rs"));
        assert!(
            source.contains(&format!("fn {test}(")),
            "docs/security.md names {piece}, which does not exist"
        );
        named += 1;
    }
    assert!(named >= 40, "the table names tests ({named})");
    let rows: Vec<_> = doc.lines().filter(|l| l.starts_with("| **")).collect();
    assert_eq!(rows.len(), 12, "one row per attacker");
    for row in rows {
        assert_eq!(row.matches(" | ").count() + 1, 7, "a cell per column: {row}");
    }
}
