//! The curl examples of the documentation, run: every fenced block marked
//! `doc-test` in `README.md` and `docs/**/*.md` runs, in the order of its
//! file, against a real server on a random port over a fresh SQLite file,
//! and its output must match the answer the page shows. So a page cannot
//! drift from the server. The convention is in `docs/architecture.md`,
//! "Examples that run".
//!
//! Each file is one terminal session: a fresh database with the tenant
//! `acme`, `$BASE` (the server), `$KEY` (an ADMIN key of `acme`),
//! `DATABASE_URL` (the server's database, for `userhub` commands) and
//! `userhub` on `PATH`; shell variables a block sets are seen by the blocks
//! after it. Ids, times, tokens and the server's port are ignored in the
//! comparison; `…` in a documented answer stands for any text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

/// The marker of a block that runs, in its fence's info string.
const RUN: &str = "doc-test";
/// The marker of the block holding the answer of the block before it.
const ANSWER: &str = "doc-answer";

/// One command to run and what it must print.
#[derive(Debug)]
struct Step {
    line: usize,
    script: String,
    /// The statuses of the HTTP answers, in order (from the `` `200` `` line
    /// after the block), when the page gives them.
    statuses: Option<Vec<u16>>,
    /// The documented output, when the page gives it.
    answer: Option<String>,
    /// Shell variables taken from the answer: `NAME=/json/pointer`.
    captures: Vec<(String, String)>,
}

#[derive(Debug)]
struct Fence {
    line: usize,
    info: Vec<String>,
    body: String,
    /// The first non-blank prose line after the block, before the next one.
    after: Option<String>,
}

fn fences(text: &str) -> Vec<Fence> {
    let mut fences: Vec<Fence> = Vec::new();
    let mut open: Option<Fence> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.as_mut() {
            Some(fence) => {
                if trimmed.trim_end() == "```" {
                    fences.extend(open.take());
                } else {
                    fence.body.push_str(line);
                    fence.body.push('\n');
                }
            }
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some(Fence {
                        line: index + 1,
                        info: info.split_whitespace().map(str::to_owned).collect(),
                        body: String::new(),
                        after: None,
                    });
                } else if let Some(last) = fences.last_mut()
                    && last.after.is_none()
                    && !line.trim().is_empty()
                {
                    last.after = Some(line.trim().to_owned());
                }
            }
        }
    }
    fences
}

/// `` `200` `` or `` `401`, `401` `` alone on a line: the statuses.
fn statuses(line: &str) -> Option<Vec<u16>> {
    static STATUS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([1-5][0-9]{2})`").unwrap());
    if !line.starts_with('`') {
        return None;
    }
    let codes: Vec<u16> = STATUS
        .captures_iter(line)
        .map(|c| c[1].parse().unwrap())
        .collect();
    (!codes.is_empty()).then_some(codes)
}

fn steps(text: &str) -> Vec<Step> {
    let fences = fences(text);
    let mut steps = Vec::new();
    for (index, fence) in fences.iter().enumerate() {
        if !fence.info.iter().any(|word| word == RUN) {
            continue;
        }
        if fence.info.first().map(String::as_str) == Some("console") {
            steps.extend(console_steps(fence));
            continue;
        }
        let next = fences
            .get(index + 1)
            .filter(|next| next.info.iter().any(|word| word == ANSWER));
        steps.push(Step {
            line: fence.line,
            script: fence.body.clone(),
            statuses: fence.after.as_deref().and_then(statuses),
            answer: next.map(|next| next.body.clone()),
            captures: next
                .map(|next| {
                    next.info
                        .iter()
                        .filter_map(|word| word.split_once('='))
                        .map(|(name, pointer)| (name.to_owned(), pointer.to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    steps
}

/// A transcript: `$ command` lines (continued by a trailing `\`), each
/// followed by what it prints.
fn console_steps(fence: &Fence) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (offset, line) in fence.body.lines().enumerate() {
        if continued {
            let step = steps.last_mut().unwrap();
            step.script.push_str(line);
            step.script.push('\n');
            continued = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: fence.line + 1 + offset,
                script: format!("{command}\n"),
                statuses: None,
                answer: Some(String::new()),
                captures: Vec::new(),
            });
            continued = command.ends_with('\\');
        } else if let Some(step) = steps.last_mut() {
            let answer = step.answer.get_or_insert_with(String::new);
            answer.push_str(line);
            answer.push('\n');
        }
    }
    steps
}

/// What varies from run to run, made equal: ids, times, tokens, the port.
fn normalise(text: &str) -> String {
    static RULES: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
        [
            (
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                "<id>",
            ),
            (
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})",
                "<time>",
            ),
            (r"\b(uh[a-z]|whsec)_(…|[A-Za-z0-9_-]+)", "${1}_<token>"),
            (r"https?://(127\.0\.0\.1|localhost):[0-9]+", "<base>"),
        ]
        .into_iter()
        .map(|(pattern, with)| (Regex::new(pattern).unwrap(), with))
        .collect()
    });
    let mut text = text.replace('\r', "");
    for (pattern, with) in RULES.iter() {
        text = pattern.replace_all(&text, *with).into_owned();
    }
    text
}

/// `documented` (normalised, `…` matching any text) against `actual`.
fn text_matches(documented: &str, actual: &str) -> bool {
    let documented = normalise(documented);
    let actual = normalise(actual);
    let mut parts = documented.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn json_matches(documented: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (documented, actual) {
        (Value::String(d), Value::String(a)) if text_matches(d, a) => Ok(()),
        (Value::Array(d), Value::Array(a)) if d.len() == a.len() => d
            .iter()
            .zip(a)
            .enumerate()
            .try_for_each(|(i, (d, a))| json_matches(d, a, &format!("{at}/{i}"))),
        (Value::Object(d), Value::Object(a))
            if d.keys().collect::<Vec<_>>() == a.keys().collect::<Vec<_>>() =>
        {
            d.iter()
                .try_for_each(|(key, d)| json_matches(d, &a[key], &format!("{at}/{key}")))
        }
        (d, a) if d == a => Ok(()),
        (d, a) => Err(format!("at `{at}`: documented {d}, got {a}")),
    }
}

/// Every JSON value in `text`, if it is nothing but JSON values.
fn json_values(text: &str) -> Option<Vec<Value>> {
    let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
        .into_iter()
        .collect();
    values.ok().filter(|values| !values.is_empty())
}

fn body_matches(documented: &str, actual: &str) -> Result<(), String> {
    if let Some(documented) = json_values(documented) {
        let Some(actual) = json_values(actual) else {
            return Err("documented JSON, got something else".to_owned());
        };
        if documented.len() != actual.len() {
            return Err(format!(
                "documented {} JSON values, got {}",
                documented.len(),
                actual.len()
            ));
        }
        documented
            .iter()
            .zip(&actual)
            .try_for_each(|(d, a)| json_matches(d, a, ""))
    } else if text_matches(documented.trim_end(), actual.trim_end()) {
        Ok(())
    } else {
        Err("the text differs".to_owned())
    }
}

/// An answer printed with `curl -i`: status, headers, body.
#[derive(Debug)]
struct Exchange {
    status: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// `text` cut into answers where it holds `HTTP/` status lines (`curl
/// -i`); `None` when it holds none.
fn exchanges(text: &str) -> Option<Vec<Exchange>> {
    let text = text.replace('\r', "");
    if !text.starts_with("HTTP/") {
        return None;
    }
    let mut exchanges: Vec<Exchange> = Vec::new();
    let mut in_head = false;
    for line in text.lines() {
        if line.starts_with("HTTP/") {
            let status = line.split_whitespace().nth(1).unwrap_or_default();
            exchanges.push(Exchange {
                status: status.to_owned(),
                headers: Vec::new(),
                body: String::new(),
            });
            in_head = true;
        } else if let Some(exchange) = exchanges.last_mut() {
            // A page may trim the blank line after the head: the head ends
            // at the first line that is not a header.
            let header = line.split_once(':').filter(|(name, _)| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
            if in_head && let Some((name, value)) = header {
                exchange
                    .headers
                    .push((name.to_ascii_lowercase(), value.trim().to_owned()));
            } else if in_head && line.is_empty() {
                in_head = false;
            } else {
                in_head = false;
                exchange.body.push_str(line);
                exchange.body.push('\n');
            }
        }
    }
    Some(exchanges)
}

fn output_matches(documented: &str, actual: &str) -> Result<(), String> {
    let Some(documented) = exchanges(documented) else {
        return body_matches(documented, actual);
    };
    let actual = exchanges(actual).ok_or("documented `curl -i` answers, got none")?;
    if documented.len() != actual.len() {
        return Err(format!(
            "documented {} answers, got {}",
            documented.len(),
            actual.len()
        ));
    }
    for (d, a) in documented.iter().zip(&actual) {
        if d.status != a.status {
            return Err(format!("documented status {}, got {}", d.status, a.status));
        }
        // The documented headers must be there; others may be too.
        for (name, value) in &d.headers {
            let found = a
                .headers
                .iter()
                .any(|(n, v)| n == name && text_matches(value, v));
            if !found {
                return Err(format!("header `{name}: {value}` not answered"));
            }
        }
        body_matches(&d.body, &a.body)?;
    }
    Ok(())
}

/// Quoted for the shell, whatever it holds.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Wrapping every block: the session's variables back, `curl` recording
/// each answer's head (for the statuses), the variables kept at the end.
const PRELUDE: &str = r#"set -a
[ -f "$DOC_TEST_DIR/state" ] && . "$DOC_TEST_DIR/state"
curl() {
    command curl -D "$DOC_TEST_DIR/head" "$@"
    local status=$?
    cat "$DOC_TEST_DIR/head" >>"$DOC_TEST_DIR/heads" 2>/dev/null
    rm -f "$DOC_TEST_DIR/head"
    return $status
}
trap 'export -p >"$DOC_TEST_DIR/state.new" && mv "$DOC_TEST_DIR/state.new" "$DOC_TEST_DIR/state"' EXIT
"#;

struct Session {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Session {
    fn run(&self, step: &Step) -> Result<(), String> {
        let dir = self.dir.path();
        let heads = dir.join("heads");
        let _ = std::fs::remove_file(&heads);
        let output = Command::new("bash")
            .arg("-c")
            .arg(format!("{PRELUDE}{}", step.script))
            .current_dir(dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("DOC_TEST_DIR", dir)
            .output()
            .map_err(|e| format!("bash: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = || format!("\n--- output:\n{stdout}\n--- stderr:\n{stderr}");
        // For whoever writes a page: every example's output, to paste.
        if std::env::var_os("DOC_EXAMPLES_PRINT").is_some() {
            println!("=== line {}:\n{}{}", step.line, step.script, shown());
        }
        if !output.status.success() {
            return Err(format!("exited with {}{}", output.status, shown()));
        }
        if let Some(documented) = &step.statuses {
            let heads = std::fs::read_to_string(&heads).unwrap_or_default();
            let actual: Vec<u16> = heads
                .lines()
                .filter(|line| line.starts_with("HTTP/"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse().ok())
                .filter(|status| *status != 100)
                .collect();
            if documented != &actual {
                return Err(format!(
                    "documented statuses {documented:?}, got {actual:?}{}",
                    shown()
                ));
            }
        }
        if let Some(answer) = &step.answer {
            output_matches(answer, &stdout).map_err(|e| format!("{e}{}", shown()))?;
        }
        if !step.captures.is_empty() {
            let body = match exchanges(&stdout) {
                Some(exchanges) => exchanges.last().map(|e| e.body.clone()).unwrap_or_default(),
                None => stdout.clone(),
            };
            let value = json_values(&body)
                .and_then(|values| values.into_iter().next())
                .ok_or_else(|| format!("no JSON to take variables from{}", shown()))?;
            let mut state = String::new();
            for (name, pointer) in &step.captures {
                let taken = match value.pointer(pointer) {
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                    None => return Err(format!("no `{pointer}` in the answer for ${name}")),
                };
                writeln!(state, "{name}={}", quoted(&taken)).unwrap();
            }
            let path = dir.join("state");
            let before = std::fs::read_to_string(&path).unwrap_or_default();
            std::fs::write(&path, before + &state).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

fn documents(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    let mut found = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut found);
    found
}

/// Every marked example of one page, in order, on a server of its own.
async fn run_document(path: &Path, steps: &[Step]) -> Vec<String> {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_userhub"), bin.path().join("userhub")).unwrap();
    let path_var = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let session = Session {
        dir: tempfile::tempdir().unwrap(),
        env: vec![
            ("BASE".to_owned(), app.address.clone()),
            ("KEY".to_owned(), app.admin_key.clone()),
            ("DATABASE_URL".to_owned(), app.database_url.clone()),
            ("PATH".to_owned(), path_var),
        ],
    };
    let mut failures = Vec::new();
    for step in steps {
        if let Err(why) = session.run(step) {
            failures.push(format!(
                "{}:{}: {why}\n--- script:\n{}",
                path.display(),
                step.line,
                step.script
            ));
            // The steps after it build on it: one failure a page.
            break;
        }
    }
    failures
}

#[tokio::test]
async fn documented_examples_answer_as_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut failures = Vec::new();
    let mut counts = BTreeMap::new();
    for path in documents(&root) {
        let text = std::fs::read_to_string(&path).unwrap();
        let steps = steps(&text);
        if steps.is_empty() {
            continue;
        }
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        counts.insert(name, steps.len());
        failures.extend(run_document(&path, &steps).await);
    }
    assert!(
        !counts.is_empty(),
        "no documented example is marked `{RUN}`"
    );
    assert!(
        failures.is_empty(),
        "documented examples that do not answer as documented:\n\n{}",
        failures.join("\n\n")
    );
    println!("documented examples run: {counts:?}");
}

#[test]
fn the_comparison_ignores_ids_times_tokens_and_ports() {
    assert!(text_matches(
        r#"{"userId": "97dbb113-4a2e-43ad-89dc-d2ec128bfd76", "at": "2026-11-23T21:26:12.465854Z"}"#,
        r#"{"userId": "0b6c20a8-b18f-40f3-9d99-e9e37f4e6796", "at": "2026-12-01T10:00:00Z"}"#,
    ));
    assert!(text_matches("uha_…", "uha_abcDEF012_-"));
    assert!(!text_matches("uha_…", "uhr_abc"));
    assert!(text_matches(
        "http://127.0.0.1:18081/scim/v2/Users/…",
        "http://127.0.0.1:40211/scim/v2/Users/x"
    ));
    assert!(text_matches("a…c…e", "abcde"));
    assert!(!text_matches("a…c…e", "abde"));
    assert!(!text_matches("Johnny", "John"));
    let documented = "HTTP/1.1 201 Created\nlocation: …/1\n\n{\"a\": 1}\n";
    let actual = "HTTP/1.1 201 Created\r\nLocation: http://x/1\r\ndate: now\r\n\r\n{\"a\":1}";
    assert_eq!(output_matches(documented, actual), Ok(()));
    assert!(output_matches(documented, &actual.replace("201", "200")).is_err());
    assert!(output_matches("{\"a\": 1}", "{\"a\": 1, \"b\": 2}").is_err());
    assert_eq!(
        output_matches("{\"a\": 1}\n{\"b\": 2}", "{\"a\":1}{\"b\":2}"),
        Ok(())
    );
}

#[test]
fn a_page_reads_into_steps() {
    let page = "text\n\n```sh doc-test\ncurl -s $BASE/x\n```\n\n`201`\n\n```json doc-answer ID=/id\n{\"id\": 1}\n```\n\n```console doc-test\n$ echo a \\\n  b\na b\n$ true\n```\n";
    let steps = steps(page);
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0].statuses, Some(vec![201]));
    assert_eq!(steps[0].answer.as_deref(), Some("{\"id\": 1}\n"));
    assert_eq!(steps[0].captures, vec![("ID".to_owned(), "/id".to_owned())]);
    assert_eq!(steps[1].script, "echo a \\\n  b\n");
    assert_eq!(steps[1].answer.as_deref(), Some("a b\n"));
    assert_eq!(steps[2].answer.as_deref(), Some(""));
}
