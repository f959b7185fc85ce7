//! The iklim dialect: the vendor's documented examples as requests, the
//! update rules as a matrix, pages, tenant isolation and concurrent creates.

use reqwest::StatusCode;
use serde_json::{Value, json};
use userhub_domain::types::{Role, Status};

use crate::both_backends;
use crate::helpers::{Backend, STRONG, answer, error_fields, spawn_app};

/// iklim's documented create example, with a strong password.
fn documented_create() -> Value {
    json!({
        "username": "name@domain.com",
        "password": STRONG,
        "firstName": "John",
        "midName": "Bob",
        "lastName": "Doe",
        "locale": "tr_TR",
        "timezone": "Europe/Istanbul",
        "roles": "['STANDARD_USER', 'API_USER']",
        "status": "['ACTIVE']"
    })
}

async fn create_documented_example(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .post("/v1/users/create", &app.admin_key, &documented_create())
        .await;
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(
        !text.contains(STRONG) && !text.contains("password"),
        "{text}"
    );
    let id = body["userId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(body["username"], "name@domain.com");
    assert_eq!(body["firstName"], "John");
    assert_eq!(body["midName"], "Bob");
    assert_eq!(body["lastName"], "Doe");
    assert_eq!(body["locale"], "tr_TR");
    assert_eq!(body["timezone"], "Europe/Istanbul");
    assert_eq!(body["roles"], json!(["API_USER", "STANDARD_USER"]));
    assert_eq!(body["status"], "ACTIVE");
    let account = &body["account"];
    assert_eq!(account["id"], id);
    assert_eq!(account["userId"], id);
    assert_eq!(account["type"], "INDIVIDUAL");
    assert_eq!(account["subscriptionPlan"], "NONE");
    assert_eq!(account["emailVerified"], false);
    assert_eq!(account["mobilePhoneNumberVerified"], false);
    for at in ["createdAt", "updatedAt"] {
        let text = account[at].as_str().unwrap();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{at} {text}: {e}"));
    }
    // The username is also the e-mail; the password is stored hashed.
    let stored = app.stored_user(&body["userId"]);
    assert_eq!(stored.email.as_str(), "name@domain.com");
    assert!(stored.password.unwrap().as_phc().starts_with("$argon2id$"));
    assert_eq!(stored.locale.unwrap().as_str(), "tr-TR");

    // The same username again, in other letters' case: taken.
    let mut again = documented_create();
    again["username"] = json!("NAME@domain.com");
    let (status, body) = answer(app.post("/v1/users/create", &app.admin_key, &again).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "conflict");
    assert_eq!(error_fields(&body), ["username"]);
}

async fn documented_password_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = documented_create();
    body["password"] = json!("password");
    let (status, body) = answer(app.post("/v1/users/create", &app.admin_key, &body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["status"], 400);
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(error_fields(&body), ["password"]);
    assert_eq!(body["errors"][0]["code"], "too_weak");
    assert!(!body.to_string().contains("\"password\"\""));
    assert!(body["requestId"].is_string());
}

async fn every_invalid_field_is_listed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = answer(
        app.post(
            "/v1/users/create",
            &app.admin_key,
            &json!({"username": "not-an-email", "timezone": "Mars/Olympus", "roles": 5, "status": "['ACTIVE','BLOCKED']"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "username",
            "firstName",
            "lastName",
            "locale",
            "timezone",
            "roles",
            "status"
        ]
    );
    assert_eq!(body["errors"][4]["code"], "unknown_time_zone");
}

async fn roles_and_status_in_every_form(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let forms = [
        (
            json!(["STANDARD_USER", "API_USER"]),
            json!("ACTIVE"),
            json!(["API_USER", "STANDARD_USER"]),
        ),
        (json!("API_USER"), json!(["ACTIVE"]), json!(["API_USER"])),
        (
            json!("['STANDARD_USER', 'API_USER']"),
            json!("['ACTIVE']"),
            json!(["API_USER", "STANDARD_USER"]),
        ),
    ];
    for (i, (roles, status, expected)) in forms.into_iter().enumerate() {
        let mut body = documented_create();
        body["username"] = json!(format!("form{i}@domain.com"));
        body["roles"] = roles;
        body["status"] = status;
        let (code, body) = answer(app.post("/v1/users/create", &app.admin_key, &body).await).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["roles"], expected);
        assert_eq!(body["status"], "ACTIVE");
    }
}

async fn update_documented_example(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("name@domain.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (_, refresh) = app.login("name@domain.com", STRONG).await;
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({
                "userId": user["userId"],
                "username": "new.name@domain.com",
                "password": "An0ther!Str0ng#Secret",
                "firstName": "Johnny",
                "midName": "B.",
                "lastName": "Doe",
                "locale": "tr_TR",
                "timezone": "Europe/Istanbul",
                "roles": "['API_USER']",
                "status": "INACTIVE",
                "empty": true
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userId"], user["userId"]);
    assert_eq!(body["username"], "new.name@domain.com");
    assert_eq!(body["firstName"], "Johnny");
    assert_eq!(body["midName"], "B.");
    assert_eq!(body["roles"], json!(["API_USER"]));
    assert_eq!(body["status"], "INACTIVE");
    assert!(body.get("password").is_none());
    let stored = app.stored_user(&user["userId"]);
    assert_eq!(stored.email.as_str(), "new.name@domain.com");
    assert_eq!(stored.version, 2);
    // A new password ends the user's sessions.
    let (status, _) = answer(
        app.request(reqwest::Method::POST, "/v1/auth/refresh", None)
            .json(&json!({"refreshToken": refresh}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // null removes the middle name; absent fields stay.
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": user["userId"], "midName": null}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("midName").is_none());
    assert_eq!(body["firstName"], "Johnny");

    // Unknown user, and invalid fields all at once.
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": uuid::Uuid::new_v4(), "firstName": "X"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": "nope", "locale": "english", "roles": "['ROOT']", "password": "password"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The password is judged by the domain, in the target user's own words,
    // once the request names a user: here the malformed fields come first.
    assert_eq!(error_fields(&body), ["userId", "locale", "roles"]);
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": user["userId"], "locale": "english", "password": "password"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["locale", "password"]);
}

/// Who may change what, through HTTP: every actor against every field.
async fn update_rules_matrix(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let power_key = app.key(app.tenant.clone(), &[Role::PowerUser]);
    let api_key = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let _other = app
        .create_user("other@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (other_token, _) = app.login("other@example.com", STRONG).await;

    #[derive(Clone, Copy, Debug)]
    enum Who {
        Admin,
        Power,
        ApiUser,
        SelfUser,
        OtherUser,
    }
    type NewValue = fn(usize) -> Value;
    let fields: [(&str, NewValue); 6] = [
        ("username", |n| json!(format!("renamed{n}@example.com"))),
        ("password", |_| json!("An0ther!Str0ng#Secret")),
        ("firstName", |_| json!("Changed")),
        ("timezone", |_| json!("Asia/Tokyo")),
        ("roles", |_| json!("['API_USER']")),
        ("status", |_| json!("BLOCKED")),
    ];
    let allowed = |who: Who, field: &str| {
        matches!(
            (who, field),
            (Who::Admin, _)
                | (
                    Who::Power | Who::SelfUser,
                    "username" | "firstName" | "timezone"
                )
        )
    };
    let mut n = 0;
    for who in [
        Who::Admin,
        Who::Power,
        Who::ApiUser,
        Who::SelfUser,
        Who::OtherUser,
    ] {
        for (field, value) in fields {
            n += 1;
            let target = app
                .create_user(
                    &format!("target{n}@example.com"),
                    &["STANDARD_USER"],
                    "ACTIVE",
                )
                .await;
            let token = match who {
                Who::Admin => app.admin_key.clone(),
                Who::Power => power_key.clone(),
                Who::ApiUser => api_key.clone(),
                Who::OtherUser => other_token.clone(),
                Who::SelfUser => app.login(&format!("target{n}@example.com"), STRONG).await.0,
            };
            let mut body = json!({"userId": target["userId"]});
            body[field] = value(n);
            let (status, answer_body) =
                answer(app.patch("/v1/users/update", &token, &body).await).await;
            let stored = app.stored_user(&target["userId"]);
            if allowed(who, field) {
                assert_eq!(status, StatusCode::OK, "{who:?} {field}: {answer_body}");
                assert_eq!(stored.version, 2, "{who:?} {field}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{who:?} {field}: {answer_body}"
                );
                assert_eq!(answer_body["code"], "forbidden");
                assert_eq!(error_fields(&answer_body), [field], "{who:?}");
                assert_eq!(stored.version, 1, "{who:?} {field}: nothing changes");
            }
        }
    }

    // A mixed request names every refused field and changes nothing.
    let target = app
        .create_user("mixed@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (token, _) = app.login("mixed@example.com", STRONG).await;
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &token,
            &json!({
                "userId": target["userId"],
                "firstName": "Mallory",
                "password": "An0ther!Str0ng#Secret",
                "roles": ["ADMIN"],
                "status": "ACTIVE"
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // status is unchanged (already ACTIVE), so it is not refused.
    assert_eq!(error_fields(&body), ["password", "roles"]);
    let stored = app.stored_user(&target["userId"]);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.first_name.unwrap().as_str(), "Test");
    assert_eq!(stored.roles, [Role::StandardUser].into());
    assert_eq!(stored.status, Status::Active);
}

/// An update that changes nothing still answers with the user: only callers
/// who may read that user get it.
async fn an_empty_update_reveals_nothing_to_outsiders(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let target = app
        .create_user("quiet@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let _other = app
        .create_user("nosy@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (nosy, _) = app.login("nosy@example.com", STRONG).await;
    let standard_key = app.key(app.tenant.clone(), &[Role::StandardUser]);
    for token in [&nosy, &standard_key] {
        let (status, body) = answer(
            app.patch(
                "/v1/users/update",
                token,
                &json!({"userId": target["userId"]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.get("username").is_none(), "{body}");
    }
    // The user themselves, and a reader, get it.
    let (own, _) = app.login("quiet@example.com", STRONG).await;
    for token in [&own, &app.admin_key] {
        let (status, body) = answer(
            app.patch(
                "/v1/users/update",
                token,
                &json!({"userId": target["userId"]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["username"], "quiet@example.com");
    }
    assert_eq!(app.stored_user(&target["userId"]).version, 1);
}

async fn pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.create_user("a@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    app.create_user("b@example.com", &["API_USER"], "ACTIVE")
        .await;
    app.create_user("c@example.com", &["STANDARD_USER", "POWER_USER"], "BLOCKED")
        .await;
    let deleted = app
        .create_user("d@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": deleted["userId"], "status": "DELETED"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let page = |body: Value| {
        let app = &app;
        async move {
            let (status, body) =
                answer(app.post("/v1/users/page", &app.admin_key, &body).await).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let names = |body: &Value| -> Vec<String> {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = page(json!({})).await;
    assert_eq!(
        names(&all),
        ["a@example.com", "b@example.com", "c@example.com"]
    );
    assert_eq!(all["totalRecords"], 3);
    assert_eq!(all["pageNumber"], 0);
    assert_eq!(all["pageSize"], 20);
    assert!(all["users"][0].get("account").is_none());

    let first = page(json!({"pageNumber": 0, "pageSize": 2, "sortBy": {"createdAt": "desc"}, "includeAccount": true})).await;
    assert_eq!(names(&first), ["c@example.com", "b@example.com"]);
    assert_eq!(first["totalRecords"], 3);
    assert!(first["users"][0]["account"]["createdAt"].is_string());
    let second =
        page(json!({"pageNumber": 1, "pageSize": 2, "sortBy": {"createdAt": "desc"}})).await;
    assert_eq!(names(&second), ["a@example.com"]);

    let standard = page(json!({"roles": "['STANDARD_USER']"})).await;
    assert_eq!(names(&standard), ["a@example.com", "c@example.com"]);
    let blocked = page(json!({"status": ["BLOCKED"], "roles": ["POWER_USER", "API_USER"]})).await;
    assert_eq!(names(&blocked), ["c@example.com"]);
    let none = page(json!({"status": "['DELETED']"})).await;
    assert_eq!(none["totalRecords"], 0);

    let (status, body) = answer(
        app.post(
            "/v1/users/page",
            &app.admin_key,
            &json!({"pageSize": 0, "sortBy": {"password": "asc"}, "status": "GONE"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["status", "sortBy", "pageSize"]);

    // A STANDARD_USER may not list.
    let (token, _) = app.login("a@example.com", STRONG).await;
    let (status, _) = answer(app.post("/v1/users/page", &token, &json!({})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn accounts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("acc@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let path = format!("/v1/accounts/{}", user["userId"].as_str().unwrap());
    let (status, body) = answer(app.get(&path, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userId"], user["userId"]);
    assert_eq!(body["type"], "INDIVIDUAL");
    assert_eq!(body, user["account"]);
    // The user reads their own account.
    let (token, _) = app.login("acc@example.com", STRONG).await;
    let (status, _) = answer(app.get(&path, &token).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = answer(app.get("/v1/accounts/not-a-uuid", &app.admin_key).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["userId"]);
    let unknown = format!("/v1/accounts/{}", uuid::Uuid::new_v4());
    let (status, _) = answer(app.get(&unknown, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A key of tenant B sees tenant A's users as not existing.
async fn tenants_do_not_mix(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("a@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let beta = app.new_tenant("beta");
    let beta_key = app.key(beta, &[Role::Admin]);
    let path = format!("/v1/accounts/{}", user["userId"].as_str().unwrap());
    let (status, body) = answer(app.get(&path, &beta_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &beta_key,
            &json!({"userId": user["userId"], "firstName": "Mallory"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = answer(app.post("/v1/users/page", &beta_key, &json!({})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalRecords"], 0);
    // The same username is free in tenant B.
    let mut create = documented_create();
    create["username"] = json!("a@example.com");
    let (status, _) = answer(app.post("/v1/users/create", &beta_key, &create).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.stored_user(&user["userId"]).version, 1);
}

/// 20 creates of one username at once: one wins, the rest conflict.
async fn concurrent_creates(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = app.client.clone();
        let url = app.url("/v1/users/create");
        let key = app.admin_key.clone();
        let mut body = documented_create();
        // Differently cased, one username key.
        body["username"] = json!(if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@Example.com"
        });
        tasks.spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 19), "{statuses:?}");
}

both_backends!(
    create_documented_example,
    documented_password_is_refused,
    every_invalid_field_is_listed,
    roles_and_status_in_every_form,
    update_documented_example,
    update_rules_matrix,
    an_empty_update_reveals_nothing_to_outsiders,
    pages,
    accounts,
    tenants_do_not_mix,
    concurrent_creates,
);
