//! The `userhub` binary's administrator commands, on the test's database,
//! and the keys they make used over HTTP.

use std::process::Output;

use reqwest::StatusCode;
use serde_json::json;

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
        (&["api-key", "create", "--tenant", "acme"][..], 2),
        (&["api-key", "revoke", "not-an-id"][..], 1),
        (
            &["api-key", "revoke", "00000000-0000-0000-0000-000000000000"][..],
            1,
        ),
        (&["frobnicate"][..], 2),
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
    history_and_attributes
);
