//! Bulk import and export (issue 12): foreign password hashes that log in
//! and are re-hashed, a file of good, duplicate and bad lines, the dry run,
//! resuming after a kill, the round trip, and a 100,000-line import.

use std::io::Cursor;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use userhub_api::import::{self, ImportOptions, ImportSummary, LineResult};
use userhub_api::state::AppState;
use userhub_domain::authz::ActorRef;
use userhub_domain::hash_format::HashFormat;
use userhub_domain::import::OnConflict;
use userhub_domain::query::{PageRequest, UserFilter, UserQuery};
use userhub_domain::repository::UserRepository;
use userhub_domain::types::{Role, TenantId, UserId};
use userhub_domain::user::User;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, spawn_app, test_config};

fn state(app: &TestApp) -> AppState {
    AppState::new(app.store.clone(), test_config()).unwrap()
}

fn options(tenant: TenantId, on_conflict: OnConflict, dry_run: bool) -> ImportOptions {
    ImportOptions {
        tenant,
        by: ActorRef::System,
        on_conflict,
        dry_run,
        batch: 100,
    }
}

/// Import `text` on a blocking thread; the summary and every line's result.
async fn run(
    app: &TestApp,
    options: ImportOptions,
    text: String,
) -> (ImportSummary, Vec<LineResult>) {
    let state = state(app);
    tokio::task::spawn_blocking(move || {
        let mut results = Vec::new();
        let summary = import::import(&state, options, Cursor::new(text), |r| {
            results.push(r.clone())
        })
        .unwrap();
        (summary, results)
    })
    .await
    .unwrap()
}

fn lines(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// Every user of `tenant`, deleted ones too.
fn all_users(app: &TestApp, tenant: TenantId) -> Vec<User> {
    let query = UserQuery {
        filter: UserFilter::default(),
        sort: Default::default(),
        page: PageRequest::Cursor {
            after: None,
            limit: 1000,
        },
        with_total: true,
    };
    app.store.list_users(tenant, &query).unwrap().users
}

fn count(app: &TestApp, tenant: TenantId) -> u64 {
    let query = UserQuery {
        filter: UserFilter::default(),
        sort: Default::default(),
        page: PageRequest::Cursor {
            after: None,
            limit: 1,
        },
        with_total: true,
    };
    app.store.list_users(tenant, &query).unwrap().total.unwrap()
}

#[derive(serde::Deserialize)]
struct Vector {
    name: String,
    password: String,
    hash: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("../fixtures/foreign_hashes.json")).unwrap()
}

async fn foreign_hashes_log_in_and_are_rehashed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // One vector of each kind (the first password), and the Django default.
    let chosen: Vec<Vector> = vectors()
        .into_iter()
        .filter(|v| v.password == "correct horse battery staple")
        .collect();
    let file: Vec<Value> = chosen
        .iter()
        .map(|v| {
            json!({
                "username": format!("{}@example.com", v.name),
                "email": format!("{}@example.com", v.name),
                "passwordHash": v.hash,
            })
        })
        .collect();
    let (summary, results) = run(
        &app,
        options(app.tenant.id, OnConflict::Fail, false),
        lines(&file),
    )
    .await;
    assert_eq!(summary.imported, chosen.len() as u64, "{results:?}");
    for (vector, result) in chosen.iter().zip(&results) {
        let id = result.id.unwrap();
        let stored = app.store.get_user(app.tenant.id, id).unwrap().unwrap();
        assert_eq!(stored.password.as_ref().unwrap().as_phc(), vector.hash);
        let username = format!("{}@example.com", vector.name);
        let (status, _) = answer(app.login_response(&username, "wrong password").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", vector.name);
        app.login(&username, &vector.password).await;
        // The first login stored the tenant's argon2id in its place.
        let stored = app.store.get_user(app.tenant.id, id).unwrap().unwrap();
        let format = stored.password.as_ref().unwrap().format().clone();
        assert!(format.is_native(), "{}: {}", vector.name, format.name());
        app.login(&username, &vector.password).await;
    }
}

async fn a_file_of_good_duplicate_and_bad_lines(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bcrypt = &vectors()[3].hash;
    let text = [
        json!({"username": "one@example.com", "email": "one@example.com", "passwordHash": bcrypt,
               "firstName": "One", "roles": ["ADMIN"], "createdAt": "2019-03-04T05:06:07Z"})
        .to_string(),
        json!({"username": "two@example.com", "email": "two@example.com", "password": STRONG})
            .to_string(),
        // The same username again: taken by line 1.
        json!({"username": "ONE@example.com", "email": "other@example.com"}).to_string(),
        json!({"username": "three@example.com", "email": "three@example.com",
               "passwordHash": "$2b$12$tooshort"})
        .to_string(),
        json!({"username": "four@example.com", "email": "not an e-mail", "roles": ["KING"]})
            .to_string(),
        String::new(),
        "{not json".to_owned(),
        json!({"username": "five@example.com", "email": "five@example.com", "password": "password"})
            .to_string(),
        json!({"email": "six@example.com"}).to_string(),
        json!({"username": "seven@example.com", "email": "seven@example.com",
               "password": STRONG, "passwordHash": bcrypt})
        .to_string(),
    ]
    .join("\n");
    let before = count(&app, app.tenant.id);
    let (dry, dry_results) = run(
        &app,
        options(app.tenant.id, OnConflict::Fail, true),
        text.clone(),
    )
    .await;
    assert_eq!(
        count(&app, app.tenant.id),
        before,
        "a dry run writes nothing"
    );
    let (summary, results) = run(&app, options(app.tenant.id, OnConflict::Fail, false), text).await;
    let without_ids = |results: &[LineResult]| -> Vec<LineResult> {
        results
            .iter()
            .map(|r| LineResult {
                id: None,
                ..r.clone()
            })
            .collect()
    };
    assert_eq!(
        without_ids(&dry_results),
        without_ids(&results),
        "the dry run tells what the import does"
    );
    assert_eq!(
        (dry.lines, dry.imported, dry.refused),
        (summary.lines, summary.imported, summary.refused)
    );
    assert_eq!(summary.lines, 9);
    assert_eq!((summary.imported, summary.refused), (2, 7), "{results:?}");
    assert_eq!(count(&app, app.tenant.id), before + 2);
    let refused: Vec<(u64, Vec<(&str, &str)>)> = results
        .iter()
        .filter(|r| r.outcome == "refused")
        .map(|r| {
            (
                r.line,
                r.errors
                    .iter()
                    .map(|e| (e.field.as_str(), e.code))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (3, vec![("username", "taken")]),
            (4, vec![("passwordHash", "invalid_format")]),
            (
                5,
                vec![("email", "invalid_email"), ("roles[0]", "unknown_value")]
            ),
            (7, vec![("line", "invalid_json")]),
            (8, vec![("password", "too_weak")]),
            (9, vec![("username", "required")]),
            (10, vec![("password", "conflict")]),
        ]
    );
    // Line 1 kept its creation time and has its creation history entry.
    let one = results[0].id.unwrap();
    let stored = app.store.get_user(app.tenant.id, one).unwrap().unwrap();
    assert_eq!(stored.created_at.year(), 2019);
    let history =
        userhub_domain::repository::HistoryRepository::user_history(&app.store, app.tenant.id, one)
            .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].version, 1);
    // The plaintext password was hashed with the tenant's argon2id.
    app.login("two@example.com", STRONG).await;
}

/// Lines for `n` users with ids and bcrypt hashes.
fn numbered(n: usize) -> String {
    let bcrypt = vectors()[3].hash.clone();
    (0..n)
        .map(|i| {
            format!(
                "{}\n",
                json!({
                    "id": UserId::new_random().to_string(),
                    "username": format!("user{i}@example.com"),
                    "email": format!("user{i}@example.com"),
                    "passwordHash": bcrypt,
                    "lastName": format!("Number {i}"),
                })
            )
        })
        .collect()
}

async fn a_rerun_with_skip_imports_nothing_twice(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let text = numbered(1000);
    // An import stopped after 600 lines: those batches are written.
    let head: String = text.lines().take(600).map(|l| format!("{l}\n")).collect();
    let (first, _) = run(&app, options(app.tenant.id, OnConflict::Fail, false), head).await;
    assert_eq!(first.imported, 600);
    let (again, _) = run(
        &app,
        options(app.tenant.id, OnConflict::Skip, false),
        text.clone(),
    )
    .await;
    assert_eq!(
        (again.imported, again.skipped, again.refused),
        (400, 600, 0)
    );
    let (third, _) = run(&app, options(app.tenant.id, OnConflict::Skip, false), text).await;
    assert_eq!((third.imported, third.skipped), (0, 1000));
    // +1: the tenant's own users made at start, if any.
    let users = all_users(&app, app.tenant.id);
    assert_eq!(
        users
            .iter()
            .filter(|u| u.username.as_str().starts_with("user"))
            .count(),
        1000
    );
}

async fn update_replaces_the_stored_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = json!({"username": "ada@example.com", "email": "ada@example.com",
                       "firstName": "Ada"});
    let (_, results) = run(
        &app,
        options(app.tenant.id, OnConflict::Fail, false),
        lines(std::slice::from_ref(&first)),
    )
    .await;
    let id = results[0].id.unwrap();
    let changed = json!({"username": "ada@example.com", "email": "ada@example.com",
                         "firstName": "Augusta"});
    let (summary, results) = run(
        &app,
        options(app.tenant.id, OnConflict::Update, false),
        lines(&[changed, first.clone()]),
    )
    .await;
    // Line 2 sets it back: two updates, each one more version.
    assert_eq!(summary.updated, 2, "{results:?}");
    assert_eq!(results[0].id, Some(id));
    let stored = app.store.get_user(app.tenant.id, id).unwrap().unwrap();
    assert_eq!(stored.version, 3);
    assert_eq!(stored.first_name.unwrap().as_str(), "Ada");
    // The same line again changes nothing.
    let (summary, _) = run(
        &app,
        options(app.tenant.id, OnConflict::Update, false),
        lines(&[first]),
    )
    .await;
    assert_eq!((summary.updated, summary.skipped), (0, 1));
}

async fn export_then_import_gives_the_same_users(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let vectors = vectors();
    let file: Vec<Value> = vectors
        .iter()
        .take(6)
        .enumerate()
        .map(|(i, v)| {
            json!({
                "id": UserId::new_random().to_string(),
                "username": format!("u{i}@example.com"),
                "email": format!("u{i}@example.com"),
                "passwordHash": v.hash,
                "firstName": "Round",
                "lastName": format!("Trip {i}"),
                "locale": "de_CH",
                "timeZone": "Europe/Zurich",
                "phone": "+41446681800",
                "address": {"city": "Zürich", "country": "CH"},
                "roles": ["STANDARD_USER", "API_USER"],
                "status": if i == 5 { "DELETED" } else { "ACTIVE" },
                "tags": ["imported"],
                "memberships": [{"organization": "org-1", "roles": ["owner"]}],
                "createdAt": format!("201{i}-01-02T03:04:05.123456Z"),
            })
        })
        .collect();
    let (summary, results) = run(
        &app,
        options(app.tenant.id, OnConflict::Fail, false),
        lines(&file),
    )
    .await;
    assert_eq!(summary.imported, 6, "{results:?}");
    let export = |tenant: TenantId, deleted: bool| {
        let state = state(&app);
        move || {
            let mut out = Vec::new();
            let n = import::export(&state, tenant, deleted, &mut out).unwrap();
            (n, String::from_utf8(out).unwrap())
        }
    };
    let (live, _) = tokio::task::spawn_blocking(export(app.tenant.id, false))
        .await
        .unwrap();
    let (n, exported) = tokio::task::spawn_blocking(export(app.tenant.id, true))
        .await
        .unwrap();
    assert_eq!((live, n), (5, 6), "deleted users only with the flag");
    let fresh = app.new_tenant("fresh");
    let (summary, results) = run(
        &app,
        options(fresh.id, OnConflict::Fail, false),
        exported.clone(),
    )
    .await;
    assert_eq!(summary.imported, n, "{results:?}");
    let mut before = all_users(&app, app.tenant.id);
    let mut after = all_users(&app, fresh.id);
    before.sort_by_key(|u| u.id);
    after.sort_by_key(|u| u.id);
    assert_eq!(before.len(), after.len());
    for (a, b) in before.iter().zip(&after) {
        let mut b = b.clone();
        b.tenant = a.tenant;
        b.updated_at = a.updated_at;
        b.version = a.version;
        assert_eq!(a, &b, "every field, the same id and hash, createdAt kept");
    }
    // And the export of the copy is the export of the original.
    let (_, again) = tokio::task::spawn_blocking(export(fresh.id, true))
        .await
        .unwrap();
    let strip = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("updatedAt");
                v
            })
            .collect()
    };
    assert_eq!(strip(&exported), strip(&again));
    // The hashes work in the new tenant.
    let (status, _) = answer(
        app.request(reqwest::Method::POST, "/v1/auth/login", None)
            .header("tenant", "fresh")
            .json(&json!({"username": "u0@example.com", "password": vectors[0].password}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_killed_import_finishes_when_run_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.ndjson");
    std::fs::write(&path, numbered(20_000)).unwrap();
    let url = app.database_url.clone();
    let cli = move |on_conflict: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_userhub"));
        command
            .args([
                "import",
                "--tenant",
                "acme",
                "--batch",
                "500",
                "--on-conflict",
            ])
            .arg(on_conflict)
            .arg(&path)
            .env("DATABASE_URL", &url)
            .env("USERHUB_ARGON2_MEMORY_KIB", "256")
            .env("USERHUB_ARGON2_ITERATIONS", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let mut child = cli("fail").spawn().unwrap();
    // Kill it once some batches are in, before the end.
    let deadline = Instant::now() + Duration::from_secs(300);
    let tenant = app.tenant.id;
    loop {
        let n = count(&app, tenant);
        if n >= 1000 || Instant::now() > deadline {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait();
    let partial = count(&app, tenant);
    assert!(partial > 0, "nothing was imported before the kill");
    let output = tokio::task::spawn_blocking(move || cli("skip").output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("0 refused"), "{text}");
    assert!(text.contains("users/s"), "{text}");
    let users = all_users_many(&app, tenant);
    let numbered: Vec<&User> = users
        .iter()
        .filter(|u| u.username.as_str().starts_with("user"))
        .collect();
    assert_eq!(numbered.len(), 20_000);
    let distinct: std::collections::BTreeSet<_> =
        numbered.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(distinct.len(), 20_000);
}

/// Every user of `tenant`, a page at a time.
fn all_users_many(app: &TestApp, tenant: TenantId) -> Vec<User> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let query = UserQuery {
            filter: UserFilter::default(),
            sort: Default::default(),
            page: PageRequest::Cursor { after, limit: 1000 },
            with_total: false,
        };
        let page = app.store.list_users(tenant, &query).unwrap();
        all.extend(page.users);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

async fn a_hundred_thousand_lines(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut options = options(app.tenant.id, OnConflict::Fail, false);
    options.batch = 1000;
    let (summary, _) = run(&app, options, numbered(100_000)).await;
    assert_eq!(
        (summary.lines, summary.imported, summary.refused),
        (100_000, 100_000, 0)
    );
    assert!(count(&app, app.tenant.id) >= 100_000);
    // Each user has its creation history entry.
    let users = all_users(&app, app.tenant.id);
    let history = userhub_domain::repository::HistoryRepository::user_history(
        &app.store,
        app.tenant.id,
        users[0].id,
    )
    .unwrap();
    assert_eq!(history.len(), 1);
}

/// POST `body` to the import route with `key` and `query`; the status and
/// the answer's lines, each parsed.
async fn import_over_http(
    app: &TestApp,
    key: &str,
    query: &str,
    body: String,
) -> (StatusCode, Vec<Value>) {
    let response = app
        .request(
            reqwest::Method::POST,
            &format!("/admin/v1/users/import{query}"),
            Some(key),
        )
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    if status != StatusCode::OK {
        return (status, vec![serde_json::from_str(&text).unwrap()]);
    }
    assert!(text.ends_with('\n'), "every answer line ends: {text}");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (status, lines)
}

/// GET the export with `key` and `query`; the status and the body.
async fn export_over_http(app: &TestApp, key: &str, query: &str) -> (StatusCode, String) {
    let response = app
        .get(&format!("/admin/v1/users/export{query}"), key)
        .await;
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    }
    (status, response.text().await.unwrap())
}

/// An answer line as compared: line number, outcome, (field, code) of each error.
type Outcome = (u64, String, Vec<(String, String)>);

async fn http_import_answers_each_line_then_a_summary(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bcrypt = &vectors()[3].hash;
    let text = [
        json!({"username": "one@example.com", "email": "one@example.com", "passwordHash": bcrypt})
            .to_string(),
        json!({"username": "ONE@example.com", "email": "other@example.com"}).to_string(),
        json!({"username": "two@example.com", "email": "two@example.com", "passwordHash": "$2b$12$x"})
            .to_string(),
        String::new(),
        // Longer than the 1 MiB a line may be: a refused line, not a 413.
        json!({"username": "big@example.com", "email": "big@example.com",
               "remarks": "x".repeat(1024 * 1024)})
        .to_string(),
        "[1, 2]".to_owned(),
        json!({"username": "three@example.com", "email": "three@example.com", "roles": ["KING"]})
            .to_string(),
        json!({"username": "four@example.com", "email": "four@example.com", "password": STRONG})
            .to_string(),
    ]
    .join("\n");
    let before = count(&app, app.tenant.id);
    let (status, dry) = import_over_http(&app, &app.admin_key, "?dryRun=true", text.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        count(&app, app.tenant.id),
        before,
        "a dry run writes nothing"
    );
    let (status, answer) = import_over_http(&app, &app.admin_key, "", text).await;
    assert_eq!(status, StatusCode::OK);
    let outcomes = |answer: &[Value]| -> Vec<Outcome> {
        answer[..answer.len() - 1]
            .iter()
            .map(|l| {
                let errors = l["errors"]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .map(|e| {
                                assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
                                (
                                    e["field"].as_str().unwrap().to_owned(),
                                    e["code"].as_str().unwrap().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    l["line"].as_u64().unwrap(),
                    l["outcome"].as_str().unwrap().to_owned(),
                    errors,
                )
            })
            .collect()
    };
    let expected: Vec<Outcome> = vec![
        (1, "imported".into(), vec![]),
        (
            2,
            "refused".into(),
            vec![("username".into(), "taken".into())],
        ),
        (
            3,
            "refused".into(),
            vec![("passwordHash".into(), "invalid_format".into())],
        ),
        (
            5,
            "refused".into(),
            vec![("line".into(), "too_long".into())],
        ),
        (
            6,
            "refused".into(),
            vec![("line".into(), "invalid_type".into())],
        ),
        (
            7,
            "refused".into(),
            vec![("roles[0]".into(), "unknown_value".into())],
        ),
        (8, "imported".into(), vec![]),
    ];
    assert_eq!(outcomes(&answer), expected);
    assert_eq!(
        outcomes(&dry),
        expected,
        "the dry run tells what the import does"
    );
    let summary = |answer: &[Value]| answer.last().unwrap()["summary"].clone();
    assert_eq!(
        summary(&answer),
        json!({"lines": 7, "imported": 2, "updated": 0, "skipped": 0, "refused": 5,
               "dryRun": false, "complete": true})
    );
    assert_eq!(summary(&dry)["dryRun"], true);
    assert_eq!(summary(&dry)["imported"], 2);
    assert_eq!(count(&app, app.tenant.id), before + 2);
    // Imported lines name the user's id; the users log in with their hashes.
    let id = UserId::parse(answer[0]["id"].as_str().unwrap()).unwrap();
    assert!(app.store.get_user(app.tenant.id, id).unwrap().is_some());
    app.login("one@example.com", &vectors()[3].password).await;
    app.login("four@example.com", STRONG).await;
    // The same body again, skipping what is there.
    let (_, again) = import_over_http(
        &app,
        &app.admin_key,
        "?onConflict=skip&dryRun=false",
        lines(&[json!({"username": "one@example.com", "email": "one@example.com"})]),
    )
    .await;
    assert_eq!(again[0]["outcome"], "skipped");
    assert_eq!(again[1]["summary"]["skipped"], 1);
}

async fn import_and_export_need_an_admin_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = lines(&[json!({"username": "x@example.com", "email": "x@example.com"})]);
    for roles in [&[Role::ApiUser][..], &[Role::PowerUser, Role::StandardUser]] {
        let key = app.key(app.tenant.clone(), roles);
        let (status, answer) = import_over_http(&app, &key, "", body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer:?}");
        let (status, text) = export_over_http(&app, &key, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        assert!(!text.contains("passwordHash"));
    }
    // A user's login, even an ADMIN's, does not reach the admin API.
    app.create_user("boss@example.com", &["ADMIN"], "ACTIVE")
        .await;
    let (token, _) = app.login("boss@example.com", STRONG).await;
    let (status, _) = import_over_http(&app, &token, "", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = export_over_http(&app, &token, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, app.tenant.id), 1, "nothing imported");
    // The request itself: its media type and its parameters.
    let response = app
        .request(
            reqwest::Method::POST,
            "/admin/v1/users/import",
            Some(&app.admin_key),
        )
        .json(&json!({"username": "x@example.com"}))
        .send()
        .await
        .unwrap();
    let (status, error) = answer(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{error}");
    assert!(
        error.to_string().contains("application/x-ndjson"),
        "{error}"
    );
    let (status, error) =
        import_over_http(&app, &app.admin_key, "?onConflict=merge&dryRun=yes", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields = crate::helpers::error_fields(&error[0]);
    assert!(fields.contains(&"onConflict".to_owned()), "{error:?}");
    assert!(fields.contains(&"dryRun".to_owned()), "{error:?}");
    let (status, text) = export_over_http(&app, &app.admin_key, "?includeDeleted=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("includeDeleted"), "{text}");
}

async fn http_export_then_import_into_a_fresh_tenant(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let vectors = vectors();
    // More users than an export page, so the export reads several pages.
    let mut file: Vec<Value> = numbered(2_300)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, v) in vectors.iter().take(4).enumerate() {
        file.push(json!({
            "id": UserId::new_random().to_string(),
            "username": format!("u{i}@example.com"),
            "email": format!("u{i}@example.com"),
            "passwordHash": v.hash,
            "firstName": "Round",
            "roles": ["STANDARD_USER", "API_USER"],
            "status": if i == 3 { "DELETED" } else { "ACTIVE" },
            "createdAt": format!("201{i}-01-02T03:04:05.123456Z"),
        }));
    }
    let (_, answer) = import_over_http(&app, &app.admin_key, "", lines(&file)).await;
    assert_eq!(answer.last().unwrap()["summary"]["imported"], 2_304);
    let (status, live) = export_over_http(&app, &app.admin_key, "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, all) = export_over_http(&app, &app.admin_key, "?includeDeleted=true").await;
    assert_eq!(
        live.lines().count(),
        2_303,
        "no deleted user without the flag"
    );
    assert_eq!(all.lines().count(), 2_304);
    let ids: Vec<String> = all
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "each user once, in id order");
    let deleted: Vec<Value> = all
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["status"] == "DELETED")
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["username"], "u3@example.com");
    // Into a fresh tenant, with that tenant's own ADMIN key.
    let fresh = app.new_tenant("fresh");
    let fresh_key = app.key(fresh.clone(), &[Role::Admin]);
    let (_, answer) = import_over_http(&app, &fresh_key, "", all.clone()).await;
    assert_eq!(
        answer.last().unwrap()["summary"],
        json!({"lines": 2_304, "imported": 2_304, "updated": 0, "skipped": 0, "refused": 0,
               "dryRun": false, "complete": true})
    );
    let (_, copied) = export_over_http(&app, &fresh_key, "?includeDeleted=true").await;
    let strip = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("updatedAt");
                v
            })
            .collect()
    };
    assert_eq!(
        strip(&all),
        strip(&copied),
        "the same users: ids, fields, hashes, createdAt"
    );
    // The hashes work in the new tenant.
    let (status, _) = answer_of(
        app.request(reqwest::Method::POST, "/v1/auth/login", None)
            .header("tenant", "fresh")
            .json(&json!({"username": "u0@example.com", "password": vectors[0].password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn imported_users_are_in_the_change_feed_in_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("before@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    // Two batches (the CLI core with batches of 100), and a line refused
    // in the second, which is retried line by line.
    let mut text = numbered(150);
    text.push_str(&lines(&[
        json!({"username": "user3@example.com", "email": "x@example.com"}),
    ]));
    let (summary, _) = run(&app, options(app.tenant.id, OnConflict::Fail, false), text).await;
    assert_eq!((summary.imported, summary.refused), (150, 1));
    app.create_user("after@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = answer(
            app.get(
                &format!("/admin/v1/events?limit=100&after={after}"),
                &app.admin_key,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = page["events"].as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        after = last["cursor"].as_str().unwrap().to_owned();
        events.extend(page);
    }
    let users: Vec<&str> = events
        .iter()
        .map(|e| e["userId"].as_str().unwrap())
        .collect();
    assert_eq!(events.len(), 152, "one event per user created");
    assert!(events.iter().all(|e| e["type"] == "user.created"));
    let distinct: std::collections::BTreeSet<&str> = users.iter().copied().collect();
    assert_eq!(distinct.len(), 152);
    // The users written around the import come before and after it.
    let username = |id: &str| {
        let id = UserId::parse(id).unwrap();
        app.store
            .get_user(app.tenant.id, id)
            .unwrap()
            .unwrap()
            .username
            .as_str()
            .to_owned()
    };
    assert_eq!(username(users[0]), "before@example.com");
    assert_eq!(username(users[151]), "after@example.com");
}

async fn answer_of(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    answer(request.send().await.unwrap()).await
}

#[test]
fn every_fixture_parses_as_its_format() {
    for vector in vectors() {
        let format = HashFormat::parse(&vector.hash).unwrap();
        assert!(
            vector
                .name
                .starts_with(format.name().split('-').next().unwrap())
                || vector.name.starts_with("django")
                || vector.name.starts_with("sha"),
            "{} read as {}",
            vector.name,
            format.name()
        );
    }
}

/// The planner's statistics are fresh after an import (PostgreSQL): without
/// them a table that grew from empty to a million users is planned as if it
/// were small, and autovacuum may be off.
async fn an_import_refreshes_the_planner_statistics(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let analyzed = || {
        use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_types::Bool};
        #[derive(QueryableByName)]
        struct Analyzed {
            #[diesel(sql_type = Bool)]
            analyzed: bool,
        }
        let mut conn = PgConnection::establish(&app.database_url).unwrap();
        diesel::sql_query(
            "SELECT last_analyze IS NOT NULL AS analyzed \
             FROM pg_stat_user_tables WHERE relname = 'users'",
        )
        .get_result::<Analyzed>(&mut conn)
        .unwrap()
        .analyzed
    };
    assert!(!analyzed(), "a new database has not been analyzed yet");
    let body = json!({"username": "stats@example.com", "email": "stats@example.com"}).to_string();
    let (status, lines) = import_over_http(&app, &app.admin_key, "", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines[0]["outcome"], "imported", "{lines:?}");
    assert!(analyzed(), "the import refreshed the statistics");
}

both_backends!(
    foreign_hashes_log_in_and_are_rehashed,
    a_file_of_good_duplicate_and_bad_lines,
    a_rerun_with_skip_imports_nothing_twice,
    update_replaces_the_stored_user,
    export_then_import_gives_the_same_users,
    a_killed_import_finishes_when_run_again,
    a_hundred_thousand_lines,
    http_import_answers_each_line_then_a_summary,
    import_and_export_need_an_admin_key,
    http_export_then_import_into_a_fresh_tenant,
    imported_users_are_in_the_change_feed_in_order;
    postgres_only: an_import_refreshes_the_planner_statistics,
);
