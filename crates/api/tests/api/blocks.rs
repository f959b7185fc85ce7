//! The SELISE Blocks dialect: the documented Create example, every route,
//! the `x-blocks-key` credential, field errors in Blocks' words, GetUsers
//! paging, sorting and filters, tenant isolation, deleted users and the
//! update rules.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use userhub_api::secrets;
use userhub_domain::repository::ApiKeyRepository;
use userhub_domain::types::{Role, Status};

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, error_fields, spawn_app};

const CREATE: &str = "/idp/v1/Iam/Create";
const UPDATE: &str = "/idp/v1/Iam/Update";
const GET_USER: &str = "/idp/v1/Iam/GetUser";
const GET_USERS: &str = "/idp/v1/Iam/GetUsers";
/// The documented example's password; strong enough for the default policy.
const DOCUMENTED_PASSWORD: &str = "SecurePassword123!";

/// The vendor's documented Create body, as published.
fn documented_create() -> Value {
    json!({
        "language": "en-US",
        "tags": ["developer", "internal"],
        "email": "newuser@example.com",
        "userName": "newuser",
        "phoneNumber": "+1234567890",
        "password": DOCUMENTED_PASSWORD,
        "salutation": "Mr.",
        "firstName": "John",
        "lastName": "Doe",
        "mailPurpose": "user_creation",
        "userPassType": 0,
        "userCreationType": 0,
        "varifiedType": 0,
        "platform": "web",
        "profileImageUrl": "https://example.com/image.jpg",
        "profileImageId": "img_123",
        "userMfaType": 0,
        "mfaEnabled": false,
        "allowedLogInType": [0],
        "memberships": [
            {
                "organizationId": "org_123",
                "roles": ["admin", "user"],
                "permissions": ["read", "write"]
            }
        ],
        "projectKey": "YOUR_PROJECT_KEY",
        "organizationId": "org_123"
    })
}

/// A Blocks request with `x-blocks-key: key` (none when `None`).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = app.request(method, path, None);
    if let Some(key) = key {
        request = request.header("x-blocks-key", key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    answer(request.send().await.unwrap()).await
}

async fn post(app: &TestApp, path: &str, key: &str, body: &Value) -> (StatusCode, Value) {
    call(app, Method::POST, path, Some(key), Some(body)).await
}

async fn get_user(app: &TestApp, key: &str, query: &str) -> (StatusCode, Value) {
    call(
        app,
        Method::GET,
        &format!("{GET_USER}?{query}"),
        Some(key),
        None,
    )
    .await
}

/// Create a user through Blocks as `acme`'s ADMIN; answers its JSON.
async fn create(app: &TestApp, fields: Value) -> Value {
    let mut body = json!({
        "email": format!("{}@example.com", fields["userName"].as_str().unwrap()),
        "password": STRONG,
    });
    for (name, value) in fields.as_object().unwrap() {
        body[name] = value.clone();
    }
    let (status, body) = post(app, CREATE, &app.admin_key, &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The body without its request id, to compare two answers.
fn without_request_id(mut body: Value) -> Value {
    if let Some(object) = body.as_object_mut() {
        object.remove("requestId");
    }
    body
}

async fn create_documented_example(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // As published, the example's phone number is not a valid number: +1
    // numbers have ten national digits.
    let mut body = documented_create();
    body["projectKey"] = json!(app.admin_key);
    let (status, error) = post(&app, CREATE, &app.admin_key, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["code"], "validation_failed");
    assert_eq!(error_fields(&error), ["phoneNumber"]);
    assert_eq!(error["errors"][0]["code"], "invalid_phone_number");

    body["phoneNumber"] = json!("+14155552671");
    let response = app
        .request(Method::POST, CREATE, None)
        .header("x-blocks-key", &app.admin_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(DOCUMENTED_PASSWORD) && !text.contains("password"),
        "{text}"
    );
    let user: Value = serde_json::from_str(&text).unwrap();
    let id = user["itemId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(user["email"], "newuser@example.com");
    assert_eq!(user["userName"], "newuser");
    assert_eq!(user["firstName"], "John");
    assert_eq!(user["lastName"], "Doe");
    assert_eq!(user["active"], true);
    assert_eq!(user["isVarified"], false);
    assert_eq!(user["mfaEnabled"], false);
    // The top-level organizationId is already listed: one membership.
    assert_eq!(
        user["memberships"],
        json!([{"organizationId": "org_123", "roles": ["admin", "user"], "permissions": ["read", "write"]}])
    );
    assert_eq!(user["language"], "en-US");
    assert_eq!(user["tags"], json!(["developer", "internal"]));
    assert_eq!(user["phoneNumber"], "+14155552671");
    assert_eq!(user["salutation"], "Mr.");
    assert_eq!(user["platform"], "web");
    assert_eq!(user["profileImageUrl"], "https://example.com/image.jpg");
    assert_eq!(user["profileImageId"], "img_123");
    assert_eq!(user["userMfaType"], 0);
    assert_eq!(user["allowedLogInType"], json!([0]));
    for at in ["createdDate", "lastUpdatedDate"] {
        let text = user[at].as_str().unwrap();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{at} {text}: {e}"));
    }

    let stored = app.stored_user(&user["itemId"]);
    assert_eq!(stored.locale.unwrap().as_str(), "en-US");
    assert_eq!(stored.title.unwrap().as_str(), "Mr.");
    assert_eq!(stored.status, Status::Active);
    assert_eq!(stored.roles, [Role::StandardUser].into());
    assert!(!stored.mfa.enabled);
    assert_eq!(stored.mfa.mfa_type, Some(0));
    assert_eq!(stored.allowed_login_types, [0].into());
    assert_eq!(
        stored.account.profile_picture_id.unwrap().as_str(),
        "img_123"
    );
    assert!(stored.password.unwrap().as_phc().starts_with("$argon2id$"));
    assert_eq!(stored.version, 1);
    // The user logs in with the password given.
    app.login("newuser", DOCUMENTED_PASSWORD).await;

    // The username and the e-mail are each unique, in any letter case.
    let mut again = body.clone();
    again["userName"] = json!("NEWUSER");
    again["email"] = json!("other@example.com");
    let (status, error) = post(&app, CREATE, &app.admin_key, &again).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "conflict");
    assert_eq!(error_fields(&error), ["userName"]);
    again["userName"] = json!("other");
    again["email"] = json!("NewUser@Example.com");
    let (status, error) = post(&app, CREATE, &app.admin_key, &again).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error_fields(&error), ["email"]);

    // A top-level organization not listed becomes a membership of its own.
    let user = create(
        &app,
        json!({"userName": "orgs", "memberships": [{"organizationId": "org_1", "roles": ["user"]}], "organizationId": "org_2"}),
    )
    .await;
    assert_eq!(
        user["memberships"],
        json!([
            {"organizationId": "org_1", "roles": ["user"], "permissions": []},
            {"organizationId": "org_2", "roles": [], "permissions": []}
        ])
    );
    // Only the required fields.
    let user = create(&app, json!({"userName": "bare"})).await;
    assert_eq!(user["memberships"], json!([]));
    assert_eq!(user["tags"], json!([]));
    assert_eq!(user["language"], Value::Null);
    assert_eq!(user["userMfaType"], Value::Null);
}

async fn create_lists_every_invalid_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = post(
        &app,
        CREATE,
        &app.admin_key,
        &json!({
            "language": "english",
            "tags": ["ok", " "],
            "email": "not-an-email",
            "userName": "has space",
            "phoneNumber": "0044 20 7946 0958",
            "salutation": "x".repeat(51),
            "firstName": "Ann\u{1b}[31m",
            "platform": 5,
            "profileImageUrl": "javascript:alert(1)",
            "userMfaType": 256,
            "mfaEnabled": "yes",
            "allowedLogInType": [0, -1],
            "memberships": [{"roles": ["admin"]}, {"organizationId": "org_1", "permissions": [""]}],
            "userPassType": "ignored, whatever it is"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["status"], 400);
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(
        error_fields(&body),
        [
            "language",
            "tags[1]",
            "email",
            "userName",
            "phoneNumber",
            "password",
            "salutation",
            "firstName",
            "platform",
            "profileImageUrl",
            "userMfaType",
            "mfaEnabled",
            "allowedLogInType[1]",
            "memberships[0].organizationId",
            "memberships[1].permissions[0]",
        ]
    );
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes[5], "required");
    assert_eq!(codes[8], "invalid_type");
    assert_eq!(codes[10], "out_of_range");
    assert_eq!(body["message"], "15 fields are invalid");
    assert!(body["requestId"].is_string());

    // A weak password is named, and never repeated.
    let (status, body) = post(
        &app,
        CREATE,
        &app.admin_key,
        &json!({"email": "a@example.com", "userName": "a", "password": "password"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_fields(&body), ["password"]);
    assert_eq!(body["errors"][0]["code"], "too_weak");
    // Nor is a password built from the user's own names strong.
    let (status, body) = post(
        &app,
        CREATE,
        &app.admin_key,
        &json!({"email": "jonathan.harker@example.com", "userName": "jonathanharker", "password": "JonathanHarker"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_fields(&body), ["password"]);

    // Not JSON, and not an object: 400 in the same error body.
    let response = app
        .request(Method::POST, CREATE, None)
        .header("x-blocks-key", &app.admin_key)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");
    let (status, body) = post(&app, CREATE, &app.admin_key, &json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");
    let response = app
        .request(Method::POST, CREATE, None)
        .header("x-blocks-key", &app.admin_key)
        .body("email=a@example.com")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], "unsupported_media_type");

    // Creating needs POWER_USER or ADMIN.
    let api_key = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let (status, body) = post(
        &app,
        CREATE,
        &api_key,
        &json!({"email": "b@example.com", "userName": "b", "password": STRONG}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "forbidden");
}

async fn every_route_needs_a_valid_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(&app, json!({"userName": "someone"})).await;
    let revoked = app.key(app.tenant.clone(), &[Role::Admin]);
    let prefix = secrets::api_key_prefix(&revoked).unwrap();
    let id = app
        .store
        .find_api_key_by_prefix(prefix)
        .unwrap()
        .unwrap()
        .id;
    app.store
        .revoke_api_key(id, userhub_api::state::now())
        .unwrap();
    let get_path = format!("{GET_USER}?Id={}", user["itemId"].as_str().unwrap());
    let routes: [(Method, &str, Option<Value>); 4] = [
        (
            Method::POST,
            CREATE,
            Some(json!({"email": "x@example.com", "userName": "x", "password": STRONG})),
        ),
        (
            Method::POST,
            UPDATE,
            Some(json!({"itemId": user["itemId"], "firstName": "Mallory"})),
        ),
        (Method::GET, &get_path, None),
        (Method::POST, GET_USERS, Some(json!({}))),
    ];
    for (method, path, body) in routes {
        for key in [
            None,
            Some(""),
            Some("uhk_notakey"),
            Some("garbage"),
            Some(revoked.as_str()),
        ] {
            let (status, answer_body) = call(&app, method.clone(), path, key, body.as_ref()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {key:?}: {answer_body}"
            );
            assert_eq!(answer_body["code"], "unauthenticated");
        }
        // A bearer credential does not stand in for x-blocks-key.
        let mut request = app.request(method.clone(), path, Some(&app.admin_key));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (status, _) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} bearer");
    }
    // Nothing was created or changed.
    assert_eq!(app.stored_user(&user["itemId"]).version, 1);
    let (_, page) = post(&app, GET_USERS, &app.admin_key, &json!({})).await;
    assert_eq!(page["totalCount"], 1);
}

async fn update_changes_only_what_is_given(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = documented_create();
    body["phoneNumber"] = json!("+14155552671");
    body["userMfaType"] = json!(2);
    body["projectKey"] = json!("acme");
    let (status, user) = post(&app, CREATE, &app.admin_key, &body).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let id = user["itemId"].clone();
    let (_, refresh) = app.login("newuser", DOCUMENTED_PASSWORD).await;

    // Partial: only the fields sent change; e-mail and userName are ignored.
    let (status, updated) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({
            "itemId": id,
            "firstName": "Johnny",
            "language": "de_CH",
            "tags": ["vip", "vip"],
            "email": "changed@example.com",
            "userName": "changed",
            "mfaEnabled": true,
            "projectKey": app.tenant.id.to_string()
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["itemId"], id);
    assert_eq!(updated["firstName"], "Johnny");
    assert_eq!(updated["lastName"], "Doe");
    assert_eq!(updated["language"], "de-CH");
    assert_eq!(updated["tags"], json!(["vip"]));
    assert_eq!(updated["email"], "newuser@example.com");
    assert_eq!(updated["userName"], "newuser");
    // mfaEnabled alone keeps the MFA type.
    assert_eq!(updated["mfaEnabled"], true);
    assert_eq!(updated["userMfaType"], 2);
    assert_eq!(updated["salutation"], "Mr.");
    assert_eq!(updated["memberships"], user["memberships"]);
    assert_ne!(updated["lastUpdatedDate"], user["lastUpdatedDate"]);
    assert_eq!(updated["createdDate"], user["createdDate"]);
    let stored = app.stored_user(&id);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.email.as_str(), "newuser@example.com");
    assert_eq!(stored.username.as_str(), "newuser");

    // null removes; the MFA type alone keeps mfaEnabled; organizationId adds
    // a membership once; the flags map onto status and e-mail verification.
    let (status, updated) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({
            "itemId": id,
            "salutation": null,
            "phoneNumber": null,
            "tags": null,
            "userMfaType": null,
            "organizationId": "org_456",
            "active": false,
            "isVarified": true,
            "profileImageUrl": "https://cdn.example.com/p.png"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["salutation"], Value::Null);
    assert_eq!(updated["phoneNumber"], Value::Null);
    assert_eq!(updated["tags"], json!([]));
    assert_eq!(updated["userMfaType"], Value::Null);
    assert_eq!(updated["mfaEnabled"], true);
    assert_eq!(
        updated["memberships"],
        json!([
            {"organizationId": "org_123", "roles": ["admin", "user"], "permissions": ["read", "write"]},
            {"organizationId": "org_456", "roles": [], "permissions": []}
        ])
    );
    assert_eq!(updated["active"], false);
    assert_eq!(updated["isVarified"], true);
    assert_eq!(updated["profileImageUrl"], "https://cdn.example.com/p.png");
    let stored = app.stored_user(&id);
    assert_eq!(stored.status, Status::Inactive);
    assert!(stored.account.email_verified);
    assert_eq!(stored.version, 3);

    // An organization the user already has changes nothing; memberships
    // replace the list.
    let (status, same) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": id, "organizationId": "org_456", "active": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(app.stored_user(&id).version, 3);
    let (status, updated) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": id, "memberships": [{"organizationId": "org_9", "roles": ["owner"]}], "allowedLogInType": [1, 2], "active": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["memberships"],
        json!([{"organizationId": "org_9", "roles": ["owner"], "permissions": []}])
    );
    assert_eq!(updated["allowedLogInType"], json!([1, 2]));
    assert_eq!(updated["active"], true);

    // A password is refused, with every other bad field, and nothing changes.
    let (status, error) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": id, "password": "An0ther!Str0ng#Secret", "language": "english", "memberships": [{}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(
        error_fields(&error),
        ["password", "language", "memberships[0].organizationId"]
    );
    assert_eq!(error["errors"][0]["code"], "not_updatable");
    assert_eq!(app.stored_user(&id).version, 4);
    // The password is unchanged: the session's refresh token still works
    // and the old password still logs in.
    let (status, _) = answer(
        app.request(Method::POST, "/v1/auth/refresh", None)
            .json(&json!({"refreshToken": refresh}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.login("newuser", DOCUMENTED_PASSWORD).await;

    // itemId: required, a UUID, an existing user.
    let (status, error) = post(&app, UPDATE, &app.admin_key, &json!({"firstName": "X"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&error), ["itemId"]);
    let (status, error) = post(&app, UPDATE, &app.admin_key, &json!({"itemId": "user_123"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&error), ["itemId"]);
    let (status, error) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": uuid::Uuid::new_v4(), "firstName": "X"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["code"], "not_found");
    // A partial MFA change of an unknown user is just as unknown.
    let (status, _) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": uuid::Uuid::new_v4(), "mfaEnabled": false}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn get_user_answers_the_envelope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(
        &app,
        json!({"userName": "reader", "firstName": "Rea", "language": "tr_TR"}),
    )
    .await;
    let id = user["itemId"].as_str().unwrap();
    let (status, body) = get_user(&app, &app.admin_key, &format!("Id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["errors"], json!({}));
    assert_eq!(body["data"], user);
    assert_eq!(body["data"]["language"], "tr-TR");
    assert_eq!(body.as_object().unwrap().len(), 2);

    // ProjectKey: the project's name, its id, or the key itself.
    for project in [
        "acme".to_owned(),
        app.tenant.id.to_string(),
        app.admin_key.clone(),
    ] {
        let (status, body) = get_user(
            &app,
            &app.admin_key,
            &format!("Id={id}&ProjectKey={project}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{project}: {body}");
        assert_eq!(body["data"]["itemId"], id);
    }
    // Another project's name answers as an unknown user does.
    let (status, unknown) = get_user(
        &app,
        &app.admin_key,
        &format!("Id={}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["code"], "not_found");
    assert_eq!(unknown["message"], "user not found");
    app.new_tenant("beta");
    for project in ["beta", "nosuchproject", "NOT A NAME"] {
        let (status, body) = get_user(
            &app,
            &app.admin_key,
            &format!("Id={id}&ProjectKey={}", project.replace(' ', "%20")),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{project}");
        assert_eq!(
            without_request_id(body),
            without_request_id(unknown.clone())
        );
    }

    // Id: required and a UUID.
    let (status, body) = get_user(&app, &app.admin_key, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["Id"]);
    assert_eq!(body["errors"][0]["code"], "required");
    let (status, body) = get_user(&app, &app.admin_key, "Id=user_123").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["Id"]);

    // A user reads themselves (access token in x-blocks-key); reading
    // others needs ADMIN, POWER_USER or API_USER.
    let (token, _) = app.login("reader", STRONG).await;
    let (status, _) = get_user(&app, &token, &format!("Id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    let other = create(&app, json!({"userName": "other"})).await;
    let other_path = format!("Id={}", other["itemId"].as_str().unwrap());
    let (status, body) = get_user(&app, &token, &other_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let api_key = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let (status, _) = get_user(&app, &api_key, &other_path).await;
    assert_eq!(status, StatusCode::OK);
}

async fn get_users_pages_sorts_and_filters(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let alice = create(
        &app,
        json!({"userName": "alice", "firstName": "Alice", "lastName": "Zimmer", "email": "alice@alpha.example",
               "memberships": [{"organizationId": "org_a"}]}),
    )
    .await;
    let bob = create(
        &app,
        json!({"userName": "bob", "firstName": "Bob", "lastName": "Young", "email": "bob@beta.example",
               "organizationId": "org_b"}),
    )
    .await;
    let carol = create(
        &app,
        json!({"userName": "carol", "firstName": "Carol", "lastName": "Xavier", "email": "carol@alpha.example",
               "memberships": [{"organizationId": "org_a"}, {"organizationId": "org_b"}]}),
    )
    .await;
    let dave = create(
        &app,
        json!({"userName": "dave", "firstName": "Dave", "lastName": "Alvarez", "email": "dave@beta.example"}),
    )
    .await;
    // Carol becomes INACTIVE, and so the most recently changed.
    let (status, _) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": carol["itemId"], "active": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let list = |body: Value| {
        let app = &app;
        async move {
            let (status, body) = post(app, GET_USERS, &app.admin_key, &body).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["errors"], json!({}));
            body
        }
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = list(json!({})).await;
    assert_eq!(names(&all), ["alice", "bob", "carol", "dave"]);
    assert_eq!(all["totalCount"], 4);
    assert_eq!(all["data"][0], alice);

    // Pages count from 1.
    let first = list(json!({"page": 1, "pageSize": 3})).await;
    assert_eq!(names(&first), ["alice", "bob", "carol"]);
    assert_eq!(first["totalCount"], 4);
    let second = list(json!({"page": 2, "pageSize": 3})).await;
    assert_eq!(names(&second), ["dave"]);
    assert_eq!(second["totalCount"], 4);
    let beyond = list(json!({"page": 3, "pageSize": 3})).await;
    assert_eq!(names(&beyond), Vec::<String>::new());
    assert_eq!(beyond["totalCount"], 4);

    // Sort by each property, both ways.
    let sorted = |property: &str, descending: bool| {
        list(json!({"sort": {"property": property, "isDescending": descending}}))
    };
    assert_eq!(
        names(&sorted("createdDate", true).await),
        ["dave", "carol", "bob", "alice"]
    );
    assert_eq!(
        names(&sorted("lastUpdatedDate", true).await),
        ["carol", "dave", "bob", "alice"]
    );
    assert_eq!(
        names(&sorted("userName", true).await),
        ["dave", "carol", "bob", "alice"]
    );
    assert_eq!(
        names(&sorted("UserName", false).await),
        ["alice", "bob", "carol", "dave"]
    );
    assert_eq!(
        names(&sorted("email", false).await),
        ["alice", "bob", "carol", "dave"]
    );

    // Each filter.
    let filtered = |filter: Value| list(json!({"filter": filter}));
    assert_eq!(
        names(&filtered(json!({"email": "CAROL@alpha.example"})).await),
        ["carol"]
    );
    assert_eq!(names(&filtered(json!({"email": "bob@"})).await), ["bob"]);
    assert_eq!(
        names(&filtered(json!({"email": "", "name": ""})).await),
        ["alice", "bob", "carol", "dave"]
    );
    // name: first name, last name or username, from the start.
    assert_eq!(names(&filtered(json!({"name": "ali"})).await), ["alice"]);
    assert_eq!(
        names(&filtered(json!({"name": "al"})).await),
        ["alice", "dave"]
    );
    assert_eq!(names(&filtered(json!({"name": "young"})).await), ["bob"]);
    assert_eq!(
        names(&filtered(json!({"name": "ob"})).await),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&filtered(json!({"userIds": [bob["itemId"], dave["itemId"]]})).await),
        ["bob", "dave"]
    );
    assert_eq!(names(&filtered(json!({"status": false})).await), ["carol"]);
    assert_eq!(
        names(&filtered(json!({"status": true})).await),
        ["alice", "bob", "dave"]
    );
    assert_eq!(
        names(&filtered(json!({"status": "inactive"})).await),
        ["carol"]
    );
    assert_eq!(
        names(&filtered(json!({"status": ["ACTIVE", "INACTIVE"]})).await),
        ["alice", "bob", "carol", "dave"]
    );
    assert_eq!(
        names(&filtered(json!({"organizationId": "org_a"})).await),
        ["alice", "carol"]
    );
    assert_eq!(
        names(&filtered(json!({"organization": "org_b"})).await),
        ["bob", "carol"]
    );
    // Filters combine.
    let both =
        list(json!({"filter": {"organizationId": "org_b", "status": true}, "pageSize": 1})).await;
    assert_eq!(names(&both), ["bob"]);
    assert_eq!(both["totalCount"], 1);

    // Every bad field at once.
    let (status, body) = post(
        &app,
        GET_USERS,
        &app.admin_key,
        &json!({"page": 0, "pageSize": 101, "sort": {"property": "password", "isDescending": "yes"},
                "filter": {"userIds": [bob["itemId"], "x"], "status": "GONE"}, "projectKey": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "page",
            "pageSize",
            "sort.property",
            "sort.isDescending",
            "filter.userIds[1]",
            "filter.status",
            "projectKey"
        ]
    );

    // Listing needs ADMIN, POWER_USER or API_USER.
    let standard = app.key(app.tenant.clone(), &[Role::StandardUser]);
    let (status, _) = post(&app, GET_USERS, &standard, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let api_key = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let (status, body) = post(&app, GET_USERS, &api_key, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalCount"], 4);
}

/// A key of another project sees the users of this one as not existing.
async fn other_projects_see_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(&app, json!({"userName": "private", "firstName": "Pat"})).await;
    let id = user["itemId"].as_str().unwrap();
    let beta = app.new_tenant("beta");
    let beta_key = app.key(beta, &[Role::Admin]);
    let unknown = uuid::Uuid::new_v4().to_string();

    // GetUser: the same answer as for a user that does not exist, with or
    // without a ProjectKey naming the user's project.
    let (status, expected) = get_user(&app, &beta_key, &format!("Id={unknown}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for query in [format!("Id={id}"), format!("Id={id}&ProjectKey=acme")] {
        let (status, body) = get_user(&app, &beta_key, &query).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{query}");
        assert_eq!(
            without_request_id(body),
            without_request_id(expected.clone())
        );
    }
    // Update: the same answer as for a user that does not exist.
    let (status, expected) = post(
        &app,
        UPDATE,
        &beta_key,
        &json!({"itemId": unknown, "firstName": "Mallory"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for body in [
        json!({"itemId": id, "firstName": "Mallory"}),
        json!({"itemId": id, "mfaEnabled": true}),
        json!({"itemId": id, "organizationId": "org_x"}),
        json!({"itemId": id, "firstName": "Mallory", "projectKey": "acme"}),
    ] {
        let (status, answer_body) = post(&app, UPDATE, &beta_key, &body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(
            without_request_id(answer_body),
            without_request_id(expected.clone())
        );
    }
    assert_eq!(app.stored_user(&user["itemId"]).version, 1);
    // GetUsers: none of this project's users, whatever the filter.
    for filter in [
        json!({}),
        json!({"userIds": [id]}),
        json!({"name": "pat"}),
        json!({"email": "private@example.com"}),
    ] {
        let (status, body) = post(&app, GET_USERS, &beta_key, &json!({"filter": filter})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"], json!([]), "{filter}");
        assert_eq!(body["totalCount"], 0);
    }
    // A projectKey naming another project, existing or not, is one answer.
    let (status, expected) = post(
        &app,
        GET_USERS,
        &beta_key,
        &json!({"projectKey": "nosuchproject"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(expected["message"], "project not found");
    for project in [
        json!("acme"),
        json!(app.tenant.id.to_string()),
        json!(app.admin_key),
    ] {
        let (status, body) =
            post(&app, GET_USERS, &beta_key, &json!({"projectKey": project})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            without_request_id(body),
            without_request_id(expected.clone())
        );
        let mut create = json!({"email": "p@example.com", "userName": "p", "password": STRONG});
        create["projectKey"] = project;
        let (status, body) = post(&app, CREATE, &beta_key, &create).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            without_request_id(body),
            without_request_id(expected.clone())
        );
    }
    // The same userName and e-mail are free in the other project.
    let (status, body) = post(
        &app,
        CREATE,
        &beta_key,
        &json!({"email": "private@example.com", "userName": "private", "password": STRONG, "projectKey": "beta"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = post(&app, GET_USERS, &app.admin_key, &json!({})).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["data"][0]["itemId"], id);
}

/// A deleted user answers exactly as one that never existed.
async fn deleted_users_are_unknown(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(&app, json!({"userName": "gone", "firstName": "Gone"})).await;
    let id = user["itemId"].as_str().unwrap();
    create(&app, json!({"userName": "stays"})).await;
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": id, "status": "DELETED"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let unknown = uuid::Uuid::new_v4().to_string();

    let (_, expected) = get_user(&app, &app.admin_key, &format!("Id={unknown}")).await;
    let (status, body) = get_user(&app, &app.admin_key, &format!("Id={id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(without_request_id(body), without_request_id(expected));

    let (_, expected) = post(
        &app,
        UPDATE,
        &app.admin_key,
        &json!({"itemId": unknown, "active": true}),
    )
    .await;
    for change in [
        json!({"itemId": id, "active": true}),
        json!({"itemId": id, "userMfaType": 1}),
    ] {
        let (status, body) = post(&app, UPDATE, &app.admin_key, &change).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{change}");
        assert_eq!(
            without_request_id(body),
            without_request_id(expected.clone())
        );
    }

    let (_, page) = post(&app, GET_USERS, &app.admin_key, &json!({})).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["data"][0]["userName"], "stays");
    for filter in [
        json!({"userIds": [id]}),
        json!({"status": "DELETED"}),
        json!({"name": "gone"}),
    ] {
        let (_, page) = post(&app, GET_USERS, &app.admin_key, &json!({"filter": filter})).await;
        assert_eq!(page["totalCount"], 0, "{filter}");
    }
    // Its username stays taken until it is purged.
    let (status, body) = post(
        &app,
        CREATE,
        &app.admin_key,
        &json!({"email": "new@example.com", "userName": "gone", "password": STRONG}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_fields(&body), ["userName"]);
}

/// Who may change what through Update: every kind of caller against
/// fields of each rule.
async fn update_rules_matrix(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let power_key = app.key(app.tenant.clone(), &[Role::PowerUser]);
    let api_key = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let standard_key = app.key(app.tenant.clone(), &[Role::StandardUser]);
    create(&app, json!({"userName": "other"})).await;
    let (other_token, _) = app.login("other", STRONG).await;

    #[derive(Clone, Copy, Debug)]
    enum Who {
        Admin,
        Power,
        ApiUser,
        StandardKey,
        SelfUser,
        OtherUser,
    }
    let fields: [(&str, Value, bool); 7] = [
        // (field, new value, whether only an ADMIN may change it)
        ("firstName", json!("Changed"), false),
        ("salutation", json!("Dr."), false),
        ("mfaEnabled", json!(true), false),
        ("active", json!(false), true),
        ("isVarified", json!(true), true),
        (
            "memberships",
            json!([{"organizationId": "org_1", "roles": ["owner"]}]),
            true,
        ),
        ("allowedLogInType", json!([3]), true),
    ];
    let mut n = 0;
    for who in [
        Who::Admin,
        Who::Power,
        Who::ApiUser,
        Who::StandardKey,
        Who::SelfUser,
        Who::OtherUser,
    ] {
        for (field, value, admin_only) in &fields {
            n += 1;
            let name = format!("target{n}");
            let target = create(&app, json!({"userName": name})).await;
            let key = match who {
                Who::Admin => app.admin_key.clone(),
                Who::Power => power_key.clone(),
                Who::ApiUser => api_key.clone(),
                Who::StandardKey => standard_key.clone(),
                Who::OtherUser => other_token.clone(),
                Who::SelfUser => app.login(&name, STRONG).await.0,
            };
            let mut body = json!({"itemId": target["itemId"]});
            body[*field] = value.clone();
            let (status, answer_body) = post(&app, UPDATE, &key, &body).await;
            let stored = app.stored_user(&target["itemId"]);
            let allowed = match who {
                Who::Admin => true,
                Who::Power | Who::SelfUser => !admin_only,
                Who::ApiUser | Who::StandardKey | Who::OtherUser => false,
            };
            if allowed {
                assert_eq!(status, StatusCode::OK, "{who:?} {field}: {answer_body}");
                assert_eq!(stored.version, 2, "{who:?} {field}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{who:?} {field}: {answer_body}"
                );
                assert_eq!(answer_body["code"], "forbidden");
                assert_eq!(error_fields(&answer_body), [*field], "{who:?}");
                assert_eq!(stored.version, 1, "{who:?} {field}: nothing changes");
            }
        }
    }

    // A mixed request names every refused field and changes nothing.
    let target = create(&app, json!({"userName": "mixed", "firstName": "Test"})).await;
    let (token, _) = app.login("mixed", STRONG).await;
    let (status, body) = post(
        &app,
        UPDATE,
        &token,
        &json!({
            "itemId": target["itemId"],
            "firstName": "Mallory",
            "active": false,
            "isVarified": true,
            "organizationId": "org_evil",
            "mfaEnabled": false
        }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // mfaEnabled is unchanged (already false), so it is not refused.
    assert_eq!(error_fields(&body), ["active", "isVarified", "memberships"]);
    let stored = app.stored_user(&target["itemId"]);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.first_name.unwrap().as_str(), "Test");
    assert_eq!(stored.status, Status::Active);
    assert!(stored.memberships.is_empty());

    // The last active ADMIN cannot make themselves inactive.
    let admin = create(&app, json!({"userName": "boss"})).await;
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": admin["itemId"], "roles": ["ADMIN"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (boss, _) = app.login("boss", STRONG).await;
    let (status, body) = post(
        &app,
        UPDATE,
        &boss,
        &json!({"itemId": admin["itemId"], "active": false}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_fields(&body), ["active"]);
}

async fn openapi_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .request(Method::GET, "/openapi/blocks.json", None)
        .send()
        .await
        .unwrap();
    let (status, document) = answer(response).await;
    assert_eq!(status, StatusCode::OK);
    let paths = document["paths"].as_object().unwrap();
    for path in [CREATE, UPDATE, GET_USER, GET_USERS] {
        let item = &paths[path];
        let operation = item
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap_or_else(|| panic!("{path}"));
        let responses = operation["responses"].as_object().unwrap();
        for code in ["200", "400", "401", "404", "500"] {
            assert!(responses.contains_key(code), "{path} {code}");
        }
        assert_eq!(operation["security"], json!([{"blocksKey": []}]), "{path}");
    }
    assert!(paths.contains_key("/healthz"));
    let scheme = &document["components"]["securitySchemes"]["blocksKey"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "x-blocks-key");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in [
        "CreateUserRequest",
        "UpdateUserRequest",
        "GetUsersRequest",
        "UserResponse",
        "GetUserResponse",
        "GetUsersResponse",
        "MembershipInput",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    let create = &schemas["CreateUserRequest"]["properties"];
    for field in [
        "language",
        "tags",
        "email",
        "userName",
        "phoneNumber",
        "password",
        "salutation",
        "firstName",
        "lastName",
        "mailPurpose",
        "userPassType",
        "userCreationType",
        "varifiedType",
        "platform",
        "profileImageUrl",
        "profileImageId",
        "userMfaType",
        "mfaEnabled",
        "allowedLogInType",
        "memberships",
        "projectKey",
        "organizationId",
    ] {
        assert!(create.get(field).is_some(), "CreateUserRequest.{field}");
    }
}

/// Unknown routes and wrong methods under `/idp` answer in Blocks' error
/// body; the credential is judged before the body (a bad key with a bad body
/// is a 401); errors the domain finds are named in Blocks' words.
async fn routes_methods_and_credentials_come_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .request(Method::GET, CREATE, None)
        .header("x-blocks-key", &app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["code"], "method_not_allowed");
    assert!(body["requestId"].is_string());
    let (status, body) = call(&app, Method::GET, "/idp/v1/Iam/Nothing", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");

    for key in [None, Some("uhk_notakey")] {
        let response = app.request(Method::POST, UPDATE, None);
        let response = match key {
            Some(key) => response.header("x-blocks-key", key),
            None => response,
        };
        let response = response
            .header("content-type", "application/json")
            .body("[1, 2]")
            .send()
            .await
            .unwrap();
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}: {body}");
    }
    // With a good key, the same body is refused as not an object.
    let (status, body) = post(&app, UPDATE, &app.admin_key, &json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "malformed_json");

    // The domain judges one membership per organization; Blocks names it.
    let (status, body) = post(
        &app,
        CREATE,
        &app.admin_key,
        &json!({"email": "d@example.com", "userName": "d", "password": STRONG,
                "memberships": [{"organizationId": "o"}, {"organizationId": "o"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_fields(&body), ["memberships[1].organizationId"]);
    assert_eq!(body["errors"][0]["code"], "duplicate");
}

/// A nested object sent as an array is refused naming the field: serde
/// alone would read `[null, null]` as a `filter` with its first two fields
/// null, and list every user.
async fn nested_objects_must_be_objects(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.admin_key.clone();
    for (field, value) in [
        ("filter", json!([null, null])),
        ("sort", json!(["email", true])),
    ] {
        let mut body = json!({"page": 1, "pageSize": 10});
        body[field] = value;
        let (status, answer) = post(&app, GET_USERS, &key, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert_eq!(error_fields(&answer), vec![field.to_owned()], "{answer}");
    }
}

both_backends!(
    nested_objects_must_be_objects,
    create_documented_example,
    create_lists_every_invalid_field,
    every_route_needs_a_valid_key,
    update_changes_only_what_is_given,
    get_user_answers_the_envelope,
    get_users_pages_sorts_and_filters,
    other_projects_see_nothing,
    deleted_users_are_unknown,
    update_rules_matrix,
    openapi_document,
    routes_methods_and_credentials_come_first,
);
