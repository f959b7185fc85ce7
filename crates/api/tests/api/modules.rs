//! The module graph of `crates/api/src` has no circle.
//!
//! `cargo modules dependencies --lib -p userhub-api --acyclic` (crates.io:
//! cargo-modules) checks the same thing, but it is a large tool to install
//! in CI; this test reads the sources the way it does: a module is a file,
//! and module A depends on module B when A names a path into B (`use
//! crate::b::...`, `use super::b`, an inline `crate::b::thing`), a parent
//! naming its child's items included. Declaring a child module (`mod b;`) is
//! ownership, not a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/dialects/iklim/mod.rs` is
/// `dialects::iklim`, `src/lib.rs` is the crate root (empty).
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments and string literals, so paths in docs and
/// messages are not counted.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut in_string = false;
        let mut escaped = false;
        for c in line.chars() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// The longest known module that `path` (a `::`-separated path from the
/// crate root) points into.
fn resolve(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|candidate| modules.contains(candidate))
}

/// Every path a module names, made absolute from the crate root.
fn named_paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let text = code;
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        // Only at the start of a path (not `a_crate::`).
        if start > 0 {
            let before = text[..start].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == ':' {
                continue;
            }
        }
        let rest = &text[start..];
        let path_text: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
            .collect();
        let path_text = path_text.trim_end_matches(['{', ':']);
        let mut segments: Vec<String> = path_text.split("::").map(str::to_owned).collect();
        let mut absolute: Vec<String> = Vec::new();
        match segments.first().map(String::as_str) {
            Some("crate") => {
                segments.remove(0);
            }
            Some("super") => {
                absolute = module.to_vec();
                while segments.first().map(String::as_str) == Some("super") {
                    segments.remove(0);
                    absolute.pop();
                }
            }
            _ => continue,
        }
        absolute.extend(segments.into_iter().filter(|s| !s.is_empty()));
        found.push(absolute);
    }
    found
}

/// Paths relative to the module itself (`handlers::create_user`,
/// `pub use dialect::Dialect`): an identifier naming a child module.
fn child_paths(module: &[String], code: &str, modules: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (start, _) in code.match_indices("::") {
        let before = &code[..start];
        let ident: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let preceding = before[..before.len() - ident.len()]
            .chars()
            .last()
            .unwrap_or(' ');
        if ident.is_empty() || preceding == ':' {
            continue;
        }
        let mut child = module.to_vec();
        child.push(ident);
        if modules.contains(&child) {
            found.push(child);
        }
    }
    found
}

/// The group members of `use prefix::{a, b::c}` statements, made absolute.
fn grouped_paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for statement in code.split(';') {
        let statement = statement.trim();
        let Some(body) = statement
            .strip_prefix("pub use ")
            .or_else(|| statement.strip_prefix("use "))
            .or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let Some((prefix, group)) = body.split_once("::{") else {
            continue;
        };
        let base = match named_paths(module, prefix).into_iter().next() {
            Some(base) => base,
            None if prefix == "crate" => Vec::new(),
            None => continue,
        };
        for member in group.trim_end_matches('}').split(',') {
            let member = member.trim();
            if member.is_empty() || member == "self" {
                continue;
            }
            let mut path = base.clone();
            path.extend(
                member
                    .split(" as ")
                    .next()
                    .unwrap_or_default()
                    .split("::")
                    .map(|s| s.trim().trim_matches(['{', '}']).to_owned())
                    .filter(|s| !s.is_empty()),
            );
            found.push(path);
        }
    }
    found
}

#[test]
fn the_api_crate_has_no_module_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&root, f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&root, file);
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        // Tests inside a module may reach anywhere.
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        let targets = edges.entry(module.clone()).or_default();
        for path in named_paths(&module, code)
            .into_iter()
            .chain(grouped_paths(&module, code))
            .chain(child_paths(&module, code, &modules))
        {
            if let Some(target) = resolve(&path, &modules)
                && target != module
                && !target.is_empty()
            {
                targets.insert(target);
            }
        }
    }
    if std::env::var("SHOW_MODULE_EDGES").is_ok() {
        for (from, to) in &edges {
            eprintln!(
                "{} -> {:?}",
                from.join("::"),
                to.iter().map(|m| m.join("::")).collect::<Vec<_>>()
            );
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.clone());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(circle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            let names: Vec<String> = circle.iter().map(|m| m.join("::")).collect();
            panic!("a module circle: {}", names.join(" -> "));
        }
    }
}
