//! The `userhub` binary's administrator commands, on the test's database,
//! and the keys they make used over HTTP.

use std::process::Output;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, answer, spawn_app};

async fn userhub(app: &TestApp, args: &[&str]) -> Output {
    let url = app.database_url.clone();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_userhub"))
            .args(&args)
            .env("DATABASE_URL", url)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stderr.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn tenants(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = userhub(&app, &["tenant", "create", "beta"]).await;
    assert!(created.status.success(), "{created:?}");
    assert!(stdout(&created).contains("created tenant beta"));

    let again = userhub(&app, &["tenant", "create", "beta"]).await;
    assert_eq!(again.status.code(), Some(1));
    let lines = stderr_lines(&again);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("tenant `beta` already exists"),
        "{lines:?}"
    );

    let bad = userhub(&app, &["tenant", "create", "Not Valid"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(stderr_lines(&bad).len(), 1);

    let list = userhub(&app, &["tenant", "list"]).await;
    assert!(list.status.success());
    let text = stdout(&list);
    assert!(text.contains("acme") && text.contains("beta"), "{text}");
}

async fn api_keys_made_by_the_cli_work(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = userhub(
        &app,
        &[
            "api-key", "create", "--tenant", "acme", "--role", "ADMIN", "--role", "api_user",
            "--label", "ci",
        ],
    )
    .await;
    assert!(created.status.success(), "{created:?}");
    let text = stdout(&created);
    let key = text.lines().last().unwrap().to_owned();
    assert!(key.starts_with("uhk_"), "{text}");
    assert_eq!(text.matches(&key).count(), 1);

    let (status, body) = answer(app.post("/v1/users/page", &key, &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let list = userhub(&app, &["api-key", "list", "--tenant", "acme"]).await;
    let listing = stdout(&list);
    assert!(!listing.contains(&key));
    let prefix = key.split('_').take(2).collect::<Vec<_>>().join("_");
    let line = listing.lines().find(|l| l.contains(&prefix)).unwrap();
    assert!(line.contains("active") && line.contains("ci"), "{line}");
    assert!(line.contains("API_USER,ADMIN"), "{line}");
    let id = line.split_whitespace().next().unwrap();

    let revoked = userhub(&app, &["api-key", "revoke", id]).await;
    assert!(revoked.status.success(), "{revoked:?}");
    let (status, _) = answer(app.post("/v1/users/page", &key, &json!({})).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let listing = stdout(&userhub(&app, &["api-key", "list", "--tenant", "acme"]).await);
    assert!(
        listing
            .lines()
            .any(|l| l.contains(&prefix) && l.contains("revoked"))
    );
}

async fn every_failure_is_one_line(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (args, code) in [
        (
            &["api-key", "create", "--tenant", "nope", "--role", "ADMIN"][..],
            1,
        ),
        (
            &["api-key", "create", "--tenant", "acme", "--role", "ROOT"][..],
            1,
        ),
        (&["api-key", "revoke", "not-an-id"][..], 1),
        (
            &["api-key", "revoke", "00000000-0000-0000-0000-000000000000"][..],
            1,
        ),
    ] {
        let output = userhub(&app, args).await;
        assert_eq!(output.status.code(), Some(code), "{args:?}: {output:?}");
        let lines = stderr_lines(&output);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(!stdout(&output).contains("uhk_"));
    }
    let defined = userhub(
        &app,
        &[
            "attribute",
            "define",
            "--tenant",
            "acme",
            "costCenter",
            "--description",
            "billing",
        ],
    )
    .await;
    assert!(defined.status.success(), "{defined:?}");
    let again = userhub(
        &app,
        &["attribute", "define", "--tenant", "acme", "costCenter"],
    )
    .await;
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(stderr_lines(&again).len(), 1, "{again:?}");
    let migrated = userhub(&app, &["migrate"]).await;
    assert!(migrated.status.success(), "{migrated:?}");
}

/// `user history` shows what the admin API shows; `attribute list` and
/// `attribute remove` see what HTTP declared.
async fn history_and_attributes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("cli@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let id = user["userId"].as_str().unwrap().to_owned();
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": id, "firstName": "Renamed", "password": "An0ther!Str0ng#Secret"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let history = userhub(&app, &["user", "history", "--tenant", "acme", &id]).await;
    assert!(history.status.success(), "{history:?}");
    let text = stdout(&history);
    let versions: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(versions, ["2", "1"], "{text}");
    assert!(
        text.contains("firstName: \"Test\" -> \"Renamed\""),
        "{text}"
    );
    assert!(text.contains("password: changed"), "{text}");
    assert!(
        !text.contains("argon2") && !text.contains("An0ther"),
        "{text}"
    );
    let unknown = userhub(
        &app,
        &[
            "user",
            "history",
            "--tenant",
            "acme",
            "00000000-0000-0000-0000-000000000000",
        ],
    )
    .await;
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(stderr_lines(&unknown).len(), 1);

    let (status, _) = answer(
        app.post(
            "/admin/v1/attributes",
            &app.admin_key,
            &json!({"name": "costCenter", "description": "billing"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let list = stdout(&userhub(&app, &["attribute", "list", "--tenant", "acme"]).await);
    assert!(
        list.lines()
            .any(|l| l.starts_with("costCenter") && l.ends_with("billing")),
        "{list}"
    );
    let removed = userhub(
        &app,
        &["attribute", "remove", "--tenant", "acme", "costCenter"],
    )
    .await;
    assert!(removed.status.success(), "{removed:?}");
    let list = stdout(&userhub(&app, &["attribute", "list", "--tenant", "acme"]).await);
    assert!(!list.contains("costCenter"), "{list}");
}

both_backends!(
    tenants,
    api_keys_made_by_the_cli_work,
    every_failure_is_one_line,
    history_and_attributes,
    lists_are_tables_or_json
);

fn run_binary(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_userhub"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A command line clap refuses gets clap's whole message, its hint naming
/// the help of the subcommand reached; `userhub` alone, or a command group
/// alone, prints that command's help.
#[test]
fn usage_errors_say_everything() {
    let missing = run_binary(&["api-key", "create", "--tenant", "acme"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    let text = stderr(&missing);
    assert!(
        text.contains("the following required arguments were not provided"),
        "{text}"
    );
    assert!(text.contains("--role <ROLE>"), "{text}");
    assert!(text.contains("'userhub api-key create --help'"), "{text}");

    let unknown = run_binary(&["frobnicate"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    let text = stderr(&unknown);
    assert!(
        text.contains("unrecognized subcommand 'frobnicate'"),
        "{text}"
    );
    assert!(text.contains("'userhub --help'"), "{text}");

    for (args, env) in [
        (&[][..], &[][..]),
        (&[][..], &[("DATABASE_URL", "sqlite://x.db")][..]),
    ] {
        let alone = run_binary(args, env);
        assert_eq!(alone.status.code(), Some(2));
        let text = stderr(&alone);
        assert!(
            text.contains("Commands:") && text.contains("api-key"),
            "{text}"
        );
    }
    let group = run_binary(&["tenant"], &[("DATABASE_URL", "sqlite://x.db")]);
    let text = stderr(&group);
    assert!(text.contains("Usage: userhub tenant"), "{text}");
    assert!(text.contains("create") && text.contains("list"), "{text}");

    // The help never shows DATABASE_URL's value (it may hold a password).
    let help = run_binary(
        &["--help"],
        &[("DATABASE_URL", "postgres://u:hunter2@db/x")],
    );
    assert!(help.status.success());
    assert!(!String::from_utf8(help.stdout).unwrap().contains("hunter2"));
}

/// A bad value in a `USERHUB_*` variable stops the command with one line
/// naming the variable; the same value given as a flag gets clap's message.
#[test]
fn a_bad_environment_value_is_one_line_naming_it() {
    for (name, value) in [
        ("USERHUB_POOL_SIZE", "many"),
        ("USERHUB_LOG_FORMAT", "xml"),
        ("USERHUB_HASH_QUEUE_WAIT_MS", "-1"),
    ] {
        let output = run_binary(&["serve", "--bind", "127.0.0.1:0"], &[(name, value)]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "{name}: {text}");
        assert!(text.contains(name) && text.contains(value), "{text}");
    }
}

/// Only `serve` and `migrate` create a SQLite database that does not
/// exist: for any other command a missing file is a mistyped path.
#[test]
fn a_missing_sqlite_file_is_an_error_except_to_create_it() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("typo.db");
    let url = format!("sqlite://{}", file.display());
    for args in [
        &["tenant", "list"][..],
        &["tenant", "create", "acme"][..],
        &["api-key", "list", "--tenant", "acme"][..],
        &["attribute", "define", "--tenant", "acme", "costCenter"][..],
    ] {
        let output = run_binary(args, &[("DATABASE_URL", &url)]);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(
            text.contains("no database at") && text.contains("typo.db"),
            "{text}"
        );
        assert!(!file.exists(), "{args:?} created the file");
    }
    let migrated = run_binary(&["migrate", "--database-url", &url], &[]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(file.exists());
    let listed = run_binary(&["tenant", "list", "--database-url", &url], &[]);
    assert!(listed.status.success(), "{listed:?}");
}

/// `tenant list` and `api-key list`: aligned tables, or JSON with --json.
async fn lists_are_tables_or_json(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = userhub(
        &app,
        &[
            "api-key", "create", "--tenant", "acme", "--role", "API_USER", "--label", "a note",
        ],
    )
    .await;
    assert!(created.status.success(), "{created:?}");
    let key = stdout(&created).lines().last().unwrap().to_owned();

    let table = stdout(&userhub(&app, &["tenant", "list"]).await);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("ID") && lines[0].contains("NAME"),
        "{table}"
    );
    let column = |line: &str, word: &str| line.find(word);
    assert_eq!(
        column(lines[0], "NAME"),
        column(lines[1], "acme"),
        "{table}"
    );

    let tenants: Value =
        serde_json::from_str(&stdout(&userhub(&app, &["tenant", "list", "--json"]).await)).unwrap();
    assert_eq!(tenants[0]["name"], "acme");
    assert_eq!(tenants[0]["id"], app.tenant.id.to_string());

    let keys_table = stdout(&userhub(&app, &["api-key", "list", "--tenant", "acme"]).await);
    assert!(!keys_table.contains(&key));
    let header = keys_table.lines().next().unwrap();
    let row = keys_table.lines().find(|l| l.contains("a note")).unwrap();
    assert_eq!(
        column(header, "STATE"),
        column(row, "active"),
        "{keys_table}"
    );

    let listed = userhub(&app, &["api-key", "list", "--tenant", "acme", "--json"]).await;
    assert!(!stdout(&listed).contains(&key));
    let keys: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let noted = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["label"] == "a note")
        .unwrap();
    assert_eq!(noted["state"], "active");
    assert_eq!(noted["roles"], json!(["API_USER"]));
    assert!(key.starts_with(noted["prefix"].as_str().unwrap()));
}
