//! Credentials over HTTP: API keys, login, refresh, me, change-password,
//! expiry, throttling, and the re-hash of outdated password hashes.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use userhub_domain::password::HashParams;
use userhub_domain::repository::ApiKeyRepository;
use userhub_domain::throttle::{Limit, ThrottlePolicy};
use userhub_domain::types::Role;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, answer, error_fields, spawn_app, spawn_app_with};

async fn refresh(app: &crate::helpers::TestApp, token: &str) -> (StatusCode, Value) {
    answer(
        app.request(Method::POST, "/v1/auth/refresh", None)
            .json(&json!({"refreshToken": token}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn login_refresh_and_me(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;

    let (status, body) = answer(app.login_response("Ada@Example.com", STRONG).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], "ada@example.com");
    assert_eq!(body["type"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    let access = body["accessToken"].as_str().unwrap().to_owned();
    let refresh_token = body["refreshToken"].as_str().unwrap().to_owned();
    // The login is recorded.
    assert!(
        app.stored_user(&user["userId"])
            .last_authentication
            .is_some()
    );

    let (status, me) = answer(app.get("/v1/users/me", &access).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["userId"], user["userId"]);
    assert_eq!(me["account"]["userId"], user["userId"]);

    // A refresh token works exactly once.
    let (status, renewed) = refresh(&app, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let new_access = renewed["accessToken"].as_str().unwrap().to_owned();
    assert_ne!(new_access, access);
    assert_ne!(renewed["refreshToken"].as_str().unwrap(), refresh_token);
    let (status, _) = answer(app.get("/v1/users/me", &new_access).await).await;
    assert_eq!(status, StatusCode::OK);
    // The rotated session's access token is over.
    let (status, _) = answer(app.get("/v1/users/me", &access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = refresh(&app, &refresh_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // ...and its reuse ended every session of the user.
    let (status, _) = answer(app.get("/v1/users/me", &new_access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = refresh(&app, "uhr_not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
}

async fn refresh_tokens_work_once_under_races(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("race@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (_, refresh_token) = app.login("race@example.com", STRONG).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = app.url("/v1/auth/refresh");
        let body = json!({"refreshToken": refresh_token});
        tasks.spawn(async move { client.post(url).json(&body).send().await.unwrap().status() });
    }
    let mut ok = 0;
    while let Some(status) = tasks.join_next().await {
        let status = status.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
            "{status}"
        );
        ok += usize::from(status == StatusCode::OK);
    }
    assert_eq!(ok, 1);
}

async fn failed_logins_look_alike(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (s1, mut wrong) = answer(
        app.login_response("ada@example.com", "Wr0ng!Password#1")
            .await,
    )
    .await;
    let (s2, mut unknown) = answer(app.login_response("nobody@example.com", STRONG).await).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    wrong["requestId"] = Value::Null;
    unknown["requestId"] = Value::Null;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");

    let (status, body) = answer(
        app.request(Method::POST, "/v1/auth/login", None)
            .json(&json!({"username": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["username", "password"]);
}

async fn only_active_users_log_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("sleepy@example.com", &["STANDARD_USER"], "INACTIVE")
        .await;
    let (status, body) = answer(app.login_response("sleepy@example.com", STRONG).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("INACTIVE"));

    // A user blocked after logging in loses their token.
    let user = app
        .create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (access, _) = app.login("ada@example.com", STRONG).await;
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": user["userId"], "status": "BLOCKED"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = answer(app.get("/v1/users/me", &access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn login_tenant_resolution(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let login = |tenant: Option<String>| {
        let mut request = app
            .request(Method::POST, "/v1/auth/login", None)
            .json(&json!({"username": "ada@example.com", "password": STRONG}));
        if let Some(tenant) = tenant {
            request = request.header("tenant", tenant);
        }
        async move { answer(request.send().await.unwrap()).await }
    };
    // One tenant: the header may be left out.
    assert_eq!(login(None).await.0, StatusCode::OK);
    app.new_tenant("beta");
    let (status, body) = login(None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "tenant_required");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("`tenant` header")
    );
    assert_eq!(login(Some("acme".into())).await.0, StatusCode::OK);
    assert_eq!(
        login(Some(app.tenant.id.to_string())).await.0,
        StatusCode::OK
    );
    // In another tenant the user does not exist; an unknown tenant is the same.
    assert_eq!(login(Some("beta".into())).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(Some("gamma".into())).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// Three free failures per (username, address), then a minute; six per
/// username over every address, then a minute. Long delays, so no answer
/// depends on how fast the test runs.
fn slow_throttle(config: &mut userhub_api::config::Config) {
    let minute = time::Duration::minutes(1);
    config.throttle = ThrottlePolicy {
        per_address: Limit {
            free: 3,
            first_delay: minute,
            max_delay: minute,
        },
        per_login: Limit {
            free: 6,
            first_delay: minute,
            max_delay: minute,
        },
        forget_after: time::Duration::hours(1),
    };
}

/// A login to `acme` as if from `client` (the test's peer, 127.0.0.1, is a
/// trusted proxy in these tests).
async fn login_from(
    app: &crate::helpers::TestApp,
    client: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.request(Method::POST, "/v1/auth/login", None)
        .header("tenant", "acme")
        .header("X-Forwarded-For", client)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn throttled_per_address_without_locking_the_user_out(backend: Backend) {
    let Some(mut app) = spawn_app_with(backend, |c| {
        slow_throttle(c);
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await
    else {
        return;
    };
    app.create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    const ATTACKER: &str = "203.0.113.66";
    for _ in 0..3 {
        let response = login_from(&app, ATTACKER, "ada@example.com", "Wr0ng!Password#1").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // The attacker's address waits, even with the right password...
    let response = login_from(&app, ATTACKER, "ADA@example.com", STRONG).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after(&response)));
    let (_, body) = answer(response).await;
    assert_eq!(body["code"], "too_many_requests");
    // ...and after a restart (the counts are in the database).
    app.restart_with(|_| {});
    let response = login_from(&app, ATTACKER, "ada@example.com", STRONG).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // The real user, from their own address, is not locked out.
    let response = login_from(&app, "198.51.100.7", "ada@example.com", STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Other usernames are not affected.
    app.create_user("bob@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let response = login_from(&app, ATTACKER, "bob@example.com", STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn throttled_per_username_across_addresses(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        slow_throttle(c);
        c.trusted_proxies = "127.0.0.0/8".parse().unwrap();
    })
    .await
    else {
        return;
    };
    app.create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    // Six addresses, one failure each (unknown usernames count alike).
    for i in 1..=6 {
        let response = login_from(
            &app,
            &format!("203.0.113.{i}"),
            "ada@example.com",
            "Wr0ng!Password#1",
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = login_from(&app, "198.51.100.7", "ada@example.com", STRONG).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after(&response)));
}

async fn forwarded_for_is_ignored_from_untrusted_peers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, slow_throttle).await else {
        return;
    };
    app.create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    // 127.0.0.1 is no trusted proxy here: every claimed address is the peer's.
    for i in 1..=3 {
        let client = format!("203.0.113.{i}");
        let response = login_from(&app, &client, "ada@example.com", "Wr0ng!Password#1").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = login_from(&app, "198.51.100.7", "ada@example.com", STRONG).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn access_tokens_expire(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.tokens.access = time::Duration::ZERO).await
    else {
        return;
    };
    app.create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (access, refresh_token) = app.login("ada@example.com", STRONG).await;
    let response = app.get("/v1/users/me", &access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    // The refresh token still works (and gives another born-expired token).
    let (status, _) = refresh(&app, &refresh_token).await;
    assert_eq!(status, StatusCode::OK);
}

async fn change_own_password(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let other = app
        .create_user("bob@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (access, _) = app.login("ada@example.com", STRONG).await;
    let new_password = "Brand!New#Passw0rd";
    let change = |id: &Value, old: &str, new: &str| json!({"userId": id, "oldPassword": old, "newPassword": new});

    let (status, body) = answer(
        app.post(
            "/v1/users/change-password",
            &access,
            &change(&user["userId"], "Wr0ng!Old#1", new_password),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_fields(&body), ["oldPassword"]);
    let (status, body) = answer(
        app.post(
            "/v1/users/change-password",
            &access,
            &change(&user["userId"], STRONG, "password"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["newPassword"]);
    // Not for someone else, not even by an ADMIN key.
    let (status, _) = answer(
        app.post(
            "/v1/users/change-password",
            &access,
            &change(&other["userId"], STRONG, new_password),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = answer(
        app.post(
            "/v1/users/change-password",
            &app.admin_key,
            &change(&user["userId"], STRONG, new_password),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = answer(
        app.post(
            "/v1/users/change-password",
            &access,
            &change(&user["userId"], STRONG, new_password),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains(new_password));
    // Every session ended; the new password logs in, the old one does not.
    let (status, _) = answer(app.get("/v1/users/me", &access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login_response("ada@example.com", STRONG).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("ada@example.com", new_password).await;
}

async fn api_keys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // No credential, a malformed one, an unknown one.
    for token in [
        None,
        Some("garbage"),
        Some("uhk_0123456789ab_nope"),
        Some("uha_nope"),
    ] {
        let response = app
            .request(Method::POST, "/v1/users/page", token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        let (_, body) = answer(response).await;
        assert_eq!(body["code"], "unauthenticated");
    }
    // A key whose secret part is wrong but whose prefix exists.
    // `uhk_` and the 12-character public prefix, then a wrong secret.
    let forged = format!("{}_forged", &app.admin_key[..16]);
    let (status, _) = answer(app.post("/v1/users/page", &forged, &json!({})).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let key = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let (status, _) = answer(app.post("/v1/users/page", &key, &json!({})).await).await;
    assert_eq!(status, StatusCode::OK);
    // An API_USER key lists but may not create.
    let create = json!({
        "username": "x@example.com", "firstName": "X", "lastName": "Y", "locale": "en",
        "timezone": "UTC", "roles": "STANDARD_USER", "status": "ACTIVE"
    });
    let (status, body) = answer(app.post("/v1/users/create", &key, &create).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "forbidden");
    let keys = app.store.list_api_keys(app.tenant.id).unwrap();
    let record = keys
        .iter()
        .find(|k| k.roles.contains(&Role::ApiUser))
        .unwrap();
    assert!(record.last_used_at.is_some());
    app.store
        .revoke_api_key(record.id, userhub_api::state::now())
        .unwrap();
    let (status, _) = answer(app.post("/v1/users/page", &key, &json!({})).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An API key is not a user.
    let (status, body) = answer(app.get("/v1/users/me", &app.admin_key).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

async fn login_rehashes_outdated_hashes(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("ada@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let before = app.stored_user(&user["userId"]);
    assert!(
        before
            .password
            .as_ref()
            .unwrap()
            .as_phc()
            .contains("m=256,t=1,p=1")
    );
    app.restart_with(|c| {
        c.hash_params = HashParams {
            memory_kib: 512,
            iterations: 1,
            parallelism: 1,
        }
    });
    app.login("ada@example.com", STRONG).await;
    let after = app.stored_user(&user["userId"]);
    assert!(
        after
            .password
            .as_ref()
            .unwrap()
            .as_phc()
            .contains("m=512,t=1,p=1")
    );
    assert_eq!(after.version, before.version + 1);
    // Still the same password.
    app.login("ada@example.com", STRONG).await;
    assert_eq!(app.stored_user(&user["userId"]).version, after.version);
}

both_backends!(
    login_refresh_and_me,
    refresh_tokens_work_once_under_races,
    failed_logins_look_alike,
    only_active_users_log_in,
    login_tenant_resolution,
    throttled_per_address_without_locking_the_user_out,
    throttled_per_username_across_addresses,
    forwarded_for_is_ignored_from_untrusted_peers,
    access_tokens_expire,
    change_own_password,
    api_keys,
    login_rehashes_outdated_hashes,
);
