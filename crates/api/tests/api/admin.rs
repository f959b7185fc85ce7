//! The admin API over HTTP: a user's history through every dialect's
//! changes, the change feed (exactly once, in order, across a consumer's
//! restarts; long polls), and who may use it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use userhub_domain::repository::{ApiKeyRepository, UserRepository};
use userhub_domain::types::{Role, UserId};

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, spawn_app};

const NEVIS_USERS: &str = "/nevis/api/v1/users";

fn history_path(id: &str) -> String {
    format!("/admin/v1/users/{id}/history")
}

async fn get_ok(app: &TestApp, path: &str, key: &str) -> Value {
    let (status, body) = answer(app.get(path, key).await).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn send_ok(request: reqwest::RequestBuilder, expected: StatusCode) -> Value {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "{text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

/// The versions and changed field names of a history answer, in order.
fn summary(history: &Value) -> Vec<(u64, Vec<String>)> {
    history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut fields: Vec<String> =
                e["changes"].as_object().unwrap().keys().cloned().collect();
            fields.sort();
            (e["version"].as_u64().unwrap(), fields)
        })
        .collect()
}

async fn history_through_every_dialect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = &app.admin_key;
    // Created through Nevis with a comment, changed through iklim, Nevis
    // (with a comment), Blocks, then deleted through Nevis.
    let created = send_ok(
        app.request(Method::POST, NEVIS_USERS, Some(key)).json(
            &json!({"loginId": "jane@example.com", "name": {"firstName": "Jane"},
                          "modificationComment": "imported from the CRM"}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let id = text(&created["userId"]);
    send_ok(
        app.request(Method::PATCH, "/v1/users/update", Some(key))
            .json(&json!({"userId": id, "firstName": "Janet"})),
        StatusCode::OK,
    )
    .await;
    send_ok(
        app.request(Method::PATCH, &format!("{NEVIS_USERS}/{id}"), Some(key))
            .json(&json!({"name": {"lastName": "Doe"}, "modificationComment": "married"})),
        StatusCode::OK,
    )
    .await;
    send_ok(
        app.request(Method::POST, "/idp/v1/Iam/Update", None)
            .header("x-blocks-key", key.as_str())
            .json(&json!({"itemId": id, "salutation": "Dr."})),
        StatusCode::OK,
    )
    .await;
    send_ok(
        app.request(Method::DELETE, &format!("{NEVIS_USERS}/{id}"), Some(key)),
        StatusCode::NO_CONTENT,
    )
    .await;

    // A deleted user's history stays readable, newest first.
    let history = get_ok(&app, &history_path(&id), key).await;
    assert_eq!(
        summary(&history)
            .iter()
            .map(|(v, f)| (*v, f.join(",")))
            .collect::<Vec<_>>(),
        vec![
            (5, "status".to_owned()),
            (4, "title".to_owned()),
            (3, "lastName".to_owned()),
            (2, "firstName".to_owned()),
            (
                1,
                "accountType,email,emailVerified,firstName,locale,mfa,phoneVerified,roles,\
                 status,subscriptionPlan,username"
                    .to_owned()
            ),
        ],
        "{history}"
    );
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(
        entries[0]["changes"]["status"],
        json!({"old": "ACTIVE", "new": "DELETED"})
    );
    assert_eq!(
        entries[3]["changes"]["firstName"],
        json!({"old": "Jane", "new": "Janet"})
    );
    assert_eq!(entries[2]["comment"], "married");
    assert_eq!(entries[4]["comment"], "imported from the CRM");
    assert_eq!(entries[3]["comment"], Value::Null);
    let prefix = userhub_api::secrets::api_key_prefix(key).unwrap();
    let key_id = app
        .store
        .find_api_key_by_prefix(prefix)
        .unwrap()
        .unwrap()
        .id
        .to_string();
    for entry in entries {
        assert_eq!(entry["actor"]["type"], "apiKey", "{entry}");
        assert_eq!(entry["actor"]["id"], key_id.as_str());
        assert!(
            time::OffsetDateTime::parse(
                entry["at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
    }
    assert_eq!(history["next"], Value::Null);

    // Paged: two at a time, by the cursor.
    let first = get_ok(&app, &format!("{}?limit=2", history_path(&id)), key).await;
    assert_eq!(
        summary(&first).iter().map(|s| s.0).collect::<Vec<_>>(),
        [5, 4]
    );
    let cursor = text(&first["next"]);
    let second = get_ok(
        &app,
        &format!("{}?limit=2&cursor={cursor}", history_path(&id)),
        key,
    )
    .await;
    assert_eq!(
        summary(&second).iter().map(|s| s.0).collect::<Vec<_>>(),
        [3, 2]
    );
    let cursor = text(&second["next"]);
    let last = get_ok(
        &app,
        &format!("{}?limit=2&cursor={cursor}", history_path(&id)),
        key,
    )
    .await;
    assert_eq!(summary(&last).iter().map(|s| s.0).collect::<Vec<_>>(), [1]);
    assert_eq!(last["next"], Value::Null);

    // And after the user is purged.
    let user_id = UserId::parse(&id).unwrap();
    app.store.purge_user(app.tenant.id, user_id).unwrap();
    assert_eq!(get_ok(&app, &history_path(&id), key).await, history);
}

/// cl2c: a user created with a key, and a user changing themselves: the
/// history names the user and their username as the actor.
async fn history_through_cl2c_names_the_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = send_ok(
        app.request(Method::POST, "/v1/cl2c/user", None)
            .header("tenant", "acme")
            .header("X-API-Key", app.admin_key.as_str())
            .json(&json!({"firstName": "Alan", "lastName": "Turing",
                          "email": "alan@example.com", "userName": "aturing",
                          "phoneNumber": "+14155552671"})),
        StatusCode::OK,
    )
    .await;
    let alan = text(&created["id"]);
    let history = get_ok(&app, &history_path(&alan), &app.admin_key).await;
    assert_eq!(summary(&history).len(), 1);
    assert_eq!(history["entries"][0]["actor"]["type"], "apiKey");

    let me = app
        .create_user("grace@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let me = text(&me["userId"]);
    let (token, _) = app.login("grace@example.com", STRONG).await;
    send_ok(
        app.request(Method::PUT, "/v1/cl2c/user", Some(&token))
            .json(&json!({"id": me, "firstName": "Grace"})),
        StatusCode::OK,
    )
    .await;
    let history = get_ok(&app, &history_path(&me), &app.admin_key).await;
    let latest = &history["entries"][0];
    assert_eq!(
        latest["changes"]["firstName"],
        json!({"old": "Test", "new": "Grace"})
    );
    assert_eq!(
        latest["actor"],
        json!({"type": "user", "id": me, "username": "grace@example.com"})
    );
    // The feed names the same actor.
    let feed = get_ok(&app, "/admin/v1/events", &app.admin_key).await;
    let last = feed["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "user.updated");
    assert_eq!(last["actor"], latest["actor"]);
}

async fn a_password_change_shows_no_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = app
        .create_user("pat@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let id = text(&created["userId"]);
    let new_password = "An0ther!Str0ng#Secret";
    send_ok(
        app.request(Method::PATCH, "/v1/users/update", Some(&app.admin_key))
            .json(&json!({"userId": id, "password": new_password})),
        StatusCode::OK,
    )
    .await;
    let response = app.get(&history_path(&id), &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::OK);
    let raw = response.text().await.unwrap();
    for secret in [STRONG, new_password, "$argon2"] {
        assert!(!raw.contains(secret), "{raw}");
    }
    let history: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        history["entries"][0]["changes"],
        json!({"password": "changed"})
    );
    assert_eq!(history["entries"][1]["changes"]["password"], "changed");

    // The feed says so, and that the sessions ended, without values.
    let feed = get_ok(&app, "/admin/v1/events", &app.admin_key).await;
    let kinds: Vec<String> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| text(&e["type"]))
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.password_changed",
            "user.sessions_revoked"
        ]
    );
    let raw = serde_json::to_string(&feed).unwrap();
    for secret in [STRONG, new_password, "$argon2"] {
        assert!(!raw.contains(secret), "{raw}");
    }
}

async fn only_admin_keys_of_the_tenant(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = app
        .create_user("ann@example.com", &["ADMIN"], "ACTIVE")
        .await;
    let id = text(&created["userId"]);
    let power = app.key(app.tenant.clone(), &[Role::PowerUser, Role::ApiUser]);
    let (token, _) = app.login("ann@example.com", STRONG).await;
    for (who, credential) in [
        ("POWER_USER key", power.as_str()),
        ("ADMIN's login", token.as_str()),
    ] {
        for path in [history_path(&id), "/admin/v1/events".to_owned()] {
            let (status, body) = answer(app.get(&path, credential).await).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {path}: {body}");
            assert_eq!(body["code"], "forbidden", "{body}");
        }
    }
    let (status, body) = answer(
        app.request(Method::GET, "/admin/v1/events", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Another tenant's ADMIN key: the user is unknown, the feed its own.
    let other = app.new_tenant("globex");
    let other_key = app.key(other, &[Role::Admin]);
    let (status, unknown) = answer(app.get(&history_path(&id), &other_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    let made_up = UserId::new_random().to_string();
    let (status, never) = answer(app.get(&history_path(&made_up), &other_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["code"], never["code"]);
    assert_eq!(unknown["message"], never["message"]);
    let feed = get_ok(&app, "/admin/v1/events", &other_key).await;
    assert_eq!(feed, json!({"events": [], "cursor": "0-0"}));

    // Bad parameters are named.
    let (status, body) = answer(
        app.get(
            "/admin/v1/events?after=nope&limit=0&wait=31&colour=red",
            &app.admin_key,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut fields: Vec<String> = crate::helpers::error_fields(&body);
    fields.sort();
    assert_eq!(fields, ["after", "colour", "limit", "wait"], "{body}");
    let (status, body) = answer(app.get(&history_path("not-a-uuid"), &app.admin_key).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(crate::helpers::error_fields(&body), ["id"]);
}

/// What a consumer processed: (type, userId, fields).
type Seen = Vec<(String, String, Value)>;

/// A consumer that keeps only its cursor between runs: it reads pages of
/// `limit` until the feed has nothing more, and returns what it saw and
/// the cursor to keep.
async fn consume(app: &TestApp, cursor: Option<String>, limit: u32) -> (Seen, String) {
    let mut seen = Vec::new();
    let mut cursor = cursor;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/events?after={c}&limit={limit}"),
            None => format!("/admin/v1/events?limit={limit}"),
        };
        let page = get_ok(app, &path, &app.admin_key).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= limit as usize);
        for e in events {
            seen.push((text(&e["type"]), text(&e["userId"]), e["fields"].clone()));
        }
        let next = text(&page["cursor"]);
        if events.is_empty() {
            return (seen, next);
        }
        cursor = Some(next);
    }
}

async fn the_feed_is_every_change_once_in_order(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let mut expected: Seen = Vec::new();
    let mut kept: Option<String> = None;
    let mut seen: Seen = Vec::new();
    for round in 0..3 {
        for i in 0..3 {
            let name = format!("u{round}{i}@example.com");
            let user = app.create_user(&name, &["STANDARD_USER"], "ACTIVE").await;
            let id = text(&user["userId"]);
            expected.push(("user.created".into(), id.clone(), Value::Null));
            send_ok(
                app.request(Method::PATCH, "/v1/users/update", Some(&app.admin_key))
                    .json(&json!({"userId": id, "firstName": "Changed", "lastName": "Too"})),
                StatusCode::OK,
            )
            .await;
            expected.push((
                "user.updated".into(),
                id.clone(),
                json!(["firstName", "lastName"]),
            ));
            if i == 1 {
                send_ok(
                    app.request(
                        Method::DELETE,
                        &format!("{NEVIS_USERS}/{id}"),
                        Some(&app.admin_key),
                    ),
                    StatusCode::NO_CONTENT,
                )
                .await;
                expected.push(("user.deleted".into(), id, Value::Null));
            }
        }
        // The consumer runs, stops (keeping only its cursor), and userhub
        // restarts between its runs.
        let (got, cursor) = consume(&app, kept.clone(), 2).await;
        seen.extend(got);
        kept = Some(cursor);
        app.restart_with(|_| {});
    }
    assert_eq!(seen, expected);
    // Nothing more, and the cursor stays.
    let (nothing, cursor) = consume(&app, kept.clone(), 5).await;
    assert!(nothing.is_empty());
    assert_eq!(Some(cursor), kept);
}

async fn a_long_poll_answers_when_an_event_commits(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let app = std::sync::Arc::new(app);
    let (_, cursor) = consume(&app, None, 10).await;
    let poll = {
        let app = app.clone();
        let cursor = cursor.clone();
        tokio::spawn(async move {
            let path = format!("/admin/v1/events?after={cursor}&wait=30");
            get_ok(&app, &path, &app.admin_key).await
        })
    };
    let user = app
        .create_user("late@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    // Well before the 30 s wait ends (a deadline, not a timing claim):
    // the commit woke the poll.
    let page = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the long poll did not answer after the commit")
        .unwrap();
    assert_eq!(page["events"][0]["type"], "user.created", "{page}");
    assert_eq!(page["events"][0]["userId"], user["userId"]);

    // Without an event, it answers when the wait is up, with the cursor given.
    let path = format!("/admin/v1/events?after={}&wait=1", text(&page["cursor"]));
    let empty = get_ok(&app, &path, &app.admin_key).await;
    assert_eq!(empty, json!({"events": [], "cursor": page["cursor"]}));
}

async fn api_keys_over_http(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = &app.admin_key;
    let created = send_ok(
        app.request(Method::POST, "/admin/v1/api-keys", Some(key))
            .json(&json!({"roles": ["API_USER"], "label": " CRM sync "})),
        StatusCode::CREATED,
    )
    .await;
    let secret = text(&created["key"]);
    assert!(secret.starts_with(&text(&created["prefix"])), "{created}");
    assert_eq!(created["label"], "CRM sync");
    assert_eq!(created["roles"], json!(["API_USER"]));
    // The new key works (API_USER may list users) and is listed, without
    // its secret.
    let (status, _) = answer(
        app.post(
            "/v1/users/page",
            &secret,
            &json!({"pageNumber": 0, "pageSize": 10}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let listed = get_ok(&app, "/admin/v1/api-keys", key).await;
    let keys = listed["apiKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&secret));
    assert!(
        keys.iter()
            .any(|k| k["id"] == created["id"] && k["revokedAt"].is_null())
    );

    // Bad bodies name every field.
    let (status, body) = answer(
        app.post(
            "/admin/v1/api-keys",
            key,
            &json!({"roles": ["ROOT"], "label": 5}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(crate::helpers::error_fields(&body), ["roles[0]", "label"]);
    let (status, body) = answer(
        app.post("/admin/v1/api-keys", key, &json!({"roles": []}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(crate::helpers::error_fields(&body), ["roles"]);

    // Revoked: it authenticates nothing, and stays listed.
    let path = format!("/admin/v1/api-keys/{}", text(&created["id"]));
    send_ok(
        app.request(Method::DELETE, &path, Some(key)),
        StatusCode::NO_CONTENT,
    )
    .await;
    let (status, _) = answer(
        app.post(
            "/v1/users/page",
            &secret,
            &json!({"pageNumber": 0, "pageSize": 10}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let listed = get_ok(&app, "/admin/v1/api-keys", key).await;
    assert!(
        listed["apiKeys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == created["id"] && k["revokedAt"].is_string())
    );

    // Another tenant's key is unknown here.
    let other = app.new_tenant("globex");
    let other_admin = app.key(other, &[Role::Admin]);
    let mine = get_ok(&app, "/admin/v1/api-keys", key).await;
    let first_id = text(&mine["apiKeys"][0]["id"]);
    let (status, _) = answer(
        app.request(
            Method::DELETE,
            &format!("/admin/v1/api-keys/{first_id}"),
            Some(&other_admin),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = answer(app.get("/admin/v1/users/x/history", key).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn attributes_over_http(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = &app.admin_key;
    let defined = send_ok(
        app.request(Method::POST, "/admin/v1/attributes", Some(key))
            .json(&json!({"name": "employeeNumber", "description": "HR id"})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(defined["name"], "employeeNumber");
    let (status, body) = answer(
        app.post(
            "/admin/v1/attributes",
            key,
            &json!({"name": "employeeNumber"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = answer(
        app.post("/admin/v1/attributes", key, &json!({"name": "1bad"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(crate::helpers::error_fields(&body), ["name"]);
    let listed = get_ok(&app, "/admin/v1/attributes", key).await;
    assert_eq!(listed["attributes"][0]["description"], "HR id");

    // Declared, it can be set (through Nevis); in use, it cannot be removed.
    let user = send_ok(
        app.request(Method::POST, NEVIS_USERS, Some(key))
            .json(&json!({"loginId": "eve@example.com", "properties": {"employeeNumber": "E-1"}})),
        StatusCode::CREATED,
    )
    .await;
    let (status, body) = answer(
        app.request(
            Method::DELETE,
            "/admin/v1/attributes/employeeNumber",
            Some(key),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["code"], "in_use", "{body}");
    send_ok(
        app.request(
            Method::PATCH,
            &format!("{NEVIS_USERS}/{}", text(&user["userId"])),
            Some(key),
        )
        .json(&json!({"properties": {"employeeNumber": ""}})),
        StatusCode::OK,
    )
    .await;
    send_ok(
        app.request(
            Method::DELETE,
            "/admin/v1/attributes/employeeNumber",
            Some(key),
        ),
        StatusCode::NO_CONTENT,
    )
    .await;
    let (status, _) = answer(
        app.request(
            Method::DELETE,
            "/admin/v1/attributes/employeeNumber",
            Some(key),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        get_ok(&app, "/admin/v1/attributes", key).await,
        json!({"attributes": []})
    );
}

both_backends!(
    history_through_every_dialect,
    history_through_cl2c_names_the_user,
    a_password_change_shows_no_secret,
    only_admin_keys_of_the_tenant,
    the_feed_is_every_change_once_in_order,
    a_long_poll_answers_when_an_event_commits,
    api_keys_over_http,
    attributes_over_http,
);
