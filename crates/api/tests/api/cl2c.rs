//! The cl2c dialect: the vendor's documented examples, validation as RFC 7807
//! problems, the `tenant` / `X-API-Key` pair, the logged-in user's update,
//! the list, and tenant isolation.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use userhub_domain::types::Role;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, spawn_app};

const PROBLEM_JSON: &str = "application/problem+json";

/// The vendor's documented request body, as printed.
fn documented_body() -> Value {
    json!({
        "firstName": "string",
        "lastName": "string",
        "email": "string",
        "userName": "string",
        "phoneNumber": "string"
    })
}

/// The vendor's code sample's body (its phone number is not a valid +1 number).
fn sample_body() -> Value {
    json!({
        "firstName": "John",
        "lastName": "Doe",
        "email": "john.doe@example.com",
        "userName": "johndoe",
        "phoneNumber": "+1234567890"
    })
}

fn valid_body(user_name: &str) -> Value {
    json!({
        "firstName": "John",
        "lastName": "Doe",
        "email": format!("{user_name}@example.com"),
        "userName": user_name,
        "phoneNumber": "+14155552671"
    })
}

/// A request with cl2c's headers (each only when given).
fn with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    tenant: Option<&str>,
    key: Option<&str>,
) -> RequestBuilder {
    let mut request = app.client.request(method, app.url(path));
    if let Some(tenant) = tenant {
        request = request.header("tenant", tenant);
    }
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    request
}

async fn send(request: RequestBuilder) -> Response {
    request.send().await.unwrap()
}

/// `POST /v1/cl2c/user` as `acme`'s ADMIN key.
async fn create(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    answer(
        send(
            with_key(
                app,
                Method::POST,
                "/v1/cl2c/user",
                Some("acme"),
                Some(&app.admin_key),
            )
            .json(body),
        )
        .await,
    )
    .await
}

async fn create_ok(app: &TestApp, user_name: &str) -> Value {
    let (status, body) = create(app, &valid_body(user_name)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `GET path` as `acme`'s ADMIN key.
async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    answer(
        send(with_key(
            app,
            Method::GET,
            path,
            Some("acme"),
            Some(&app.admin_key),
        ))
        .await,
    )
    .await
}

/// `PUT /v1/cl2c/user` with a bearer credential.
async fn put(app: &TestApp, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    answer(
        app.request(Method::PUT, "/v1/cl2c/user", token)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Assert that `response` is a problem of `status` about `instance`; answers its body.
async fn problem(response: Response, status: StatusCode, instance: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let (got, body) = answer(response).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON), "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert_eq!(body["instance"], instance, "{body}");
    for member in ["type", "title", "detail"] {
        assert!(
            body[member].as_str().is_some_and(|s| !s.is_empty()),
            "{member}: {body}"
        );
    }
    assert!(body["errors"].is_object(), "{body}");
    body
}

/// The fields named in a problem's `errors` map, sorted.
fn problem_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors map in {body}"))
        .keys()
        .cloned()
        .collect()
}

/// Give a user created through cl2c a password (through iklim, as ADMIN)
/// and log them in; answers the access token.
async fn log_in(app: &TestApp, user: &Value) -> String {
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": user["id"], "password": STRONG}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login(user["userName"].as_str().unwrap(), STRONG)
        .await
        .0
}

async fn documented_example_body_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // The documented body, literally: "string" is a username, but neither
    // an e-mail address nor a phone number.
    let response = send(
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
        .json(&documented_body()),
    )
    .await;
    let body = problem(response, StatusCode::BAD_REQUEST, "/v1/cl2c/user").await;
    assert_eq!(problem_fields(&body), ["email", "phoneNumber"]);

    // The code sample's body: only its phone number is wrong (+1 numbers
    // have ten national digits; this one has nine).
    let response = send(
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
        .json(&sample_body()),
    )
    .await;
    let body = problem(response, StatusCode::BAD_REQUEST, "/v1/cl2c/user").await;
    assert_eq!(problem_fields(&body), ["phoneNumber"]);
    assert_eq!(
        body["errors"]["phoneNumber"],
        json!(["is not a valid number for its country calling code"])
    );
    // Nothing was created.
    let (_, list) = get(&app, "/v1/cl2c/users").await;
    assert_eq!(list, json!([]));
}

async fn create_with_a_valid_number(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = sample_body();
    body["phoneNumber"] = json!("+14155552671");
    body["walletAddress"] = json!("0xignored"); // unknown to create: ignored
    let response = send(
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
        .json(&body),
    )
    .await;
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let (status, user) = answer(response).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert_eq!(
        user,
        json!({
            "id": user["id"],
            "userName": "johndoe",
            "firstName": "John",
            "lastName": "Doe",
            "email": "john.doe@example.com",
            "emailConfirmed": false,
            "authenticated": false,
            "authValidUpto": null,
            "authLocation": null,
            "phoneNumber": "+14155552671",
            "walletAddress": null
        })
    );
    // The domain holds what was answered.
    let stored = app.stored_user(&user["id"]);
    assert_eq!(stored.username.as_str(), "johndoe");
    assert_eq!(stored.email.as_str(), "john.doe@example.com");
    assert_eq!(stored.first_name.unwrap().as_str(), "John");
    assert_eq!(stored.last_name.unwrap().as_str(), "Doe");
    assert_eq!(stored.phone.unwrap().as_str(), "+14155552671");
    assert_eq!(stored.wallet_address, None);
    assert_eq!(stored.roles, [Role::StandardUser].into());
    assert!(stored.password.is_none());

    // Read back through iklim: the same user.
    let (status, account) = answer(
        app.get(
            &format!("/v1/accounts/{}", user["id"].as_str().unwrap()),
            &app.admin_key,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["mobilePhoneNumber"], "+14155552671");
}

async fn taken_user_name_or_email_is_409(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    create_ok(&app, "johndoe").await;
    // The same userName in other letters' case, another e-mail.
    let mut body = valid_body("JohnDoe");
    body["email"] = json!("other@example.com");
    let response = send(
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
        .json(&body),
    )
    .await;
    let problem_body = problem(response, StatusCode::CONFLICT, "/v1/cl2c/user").await;
    assert_eq!(problem_fields(&problem_body), ["userName"]);
    assert_eq!(
        problem_body["errors"]["userName"],
        json!(["is already taken"])
    );
    // Another userName, the same e-mail.
    let mut body = valid_body("jane");
    body["email"] = json!("JOHNDOE@example.com");
    let (status, problem_body) = create(&app, &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem_body}");
    assert_eq!(problem_fields(&problem_body), ["email"]);
}

async fn every_bad_field_is_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = create(&app, &json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        problem_fields(&body),
        ["email", "firstName", "lastName", "phoneNumber", "userName"]
    );
    assert_eq!(body["errors"]["firstName"], json!(["a value is required"]));

    let (status, body) = create(
        &app,
        &json!({
            "firstName": 5,
            "lastName": "  ",
            "email": "not-an-email",
            "userName": "john doe",
            "phoneNumber": "+41 44 668 18 00",
            "somethingElse": "ignored"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["title"], "One or more fields are invalid");
    assert_eq!(body["detail"], "5 fields are invalid: see `errors`");
    assert_eq!(
        problem_fields(&body),
        ["email", "firstName", "lastName", "phoneNumber", "userName"]
    );
    assert_eq!(body["errors"]["firstName"], json!(["must be a string"]));
    assert_eq!(
        body["errors"]["userName"],
        json!(["must not contain whitespace or control characters"])
    );
}

async fn malformed_bodies_are_problems(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let request = || {
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
    };
    let response = send(
        request()
            .header("content-type", "application/json")
            .body("{\"firstName\": "),
    )
    .await;
    let body = problem(response, StatusCode::BAD_REQUEST, "/v1/cl2c/user").await;
    assert!(
        body["detail"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    let response = send(
        request()
            .header("content-type", "application/json")
            .body("[1, 2]"),
    )
    .await;
    problem(response, StatusCode::BAD_REQUEST, "/v1/cl2c/user").await;
    let response = send(request().header("content-type", "text/plain").body("{}")).await;
    problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "/v1/cl2c/user",
    )
    .await;
    let big = json!({"firstName": "x".repeat(70 * 1024)});
    let response = send(request().json(&big)).await;
    problem(response, StatusCode::PAYLOAD_TOO_LARGE, "/v1/cl2c/user").await;

    // The same on PUT, with a user's token.
    let user = create_ok(&app, "johndoe").await;
    let token = log_in(&app, &user).await;
    let response = app
        .request(Method::PUT, "/v1/cl2c/user", Some(&token))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST, "/v1/cl2c/user").await;
}

async fn tenant_and_key_must_match(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create_ok(&app, "johndoe").await;
    let beta = app.new_tenant("beta");
    let beta_key = app.key(beta.clone(), &[Role::Admin]);
    let acme_id = app.tenant.id.to_string();
    let revoked_looking = format!("{}x", app.admin_key);
    let user_path = format!("/v1/cl2c/users/{}", user["id"].as_str().unwrap());
    let token = log_in(&app, &user).await;

    for (method, path, body) in [
        (Method::POST, "/v1/cl2c/user", Some(valid_body("jane"))),
        (Method::GET, "/v1/cl2c/users", None),
        (Method::GET, user_path.as_str(), None),
    ] {
        let call = |tenant: Option<&str>, key: Option<&str>| {
            let mut request = with_key(&app, method.clone(), path, tenant, key);
            if let Some(body) = &body {
                request = request.json(body);
            }
            request
        };
        // A wrong key: the reference answer.
        let response = send(call(Some("acme"), Some("uhk_not_a_real_key"))).await;
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "ApiKey realm=\"userhub\", header=\"X-API-Key\""
        );
        let wrong_key = problem(response, StatusCode::UNAUTHORIZED, path).await;
        // Every other mismatch answers exactly the same.
        for (tenant, key) in [
            ("acme", beta_key.as_str()),           // a valid key of another tenant
            ("beta", app.admin_key.as_str()),      // the other way round
            (acme_id.as_str(), beta_key.as_str()), // the tenant by id
            ("nobody", app.admin_key.as_str()),    // an unknown tenant
            ("ACME!", app.admin_key.as_str()),     // not a tenant name at all
            ("acme", revoked_looking.as_str()),    // a key that does not match
            ("acme", "not-even-a-key"),            // not a key's shape
        ] {
            let response = send(call(Some(tenant), Some(key))).await;
            let body = problem(response, StatusCode::UNAUTHORIZED, path).await;
            assert_eq!(body, wrong_key, "{method} {path} tenant={tenant}");
        }
        // An access token is not an API key.
        let body = problem(
            send(call(Some("acme"), Some(&token))).await,
            StatusCode::UNAUTHORIZED,
            path,
        )
        .await;
        assert_eq!(body, wrong_key);
        // Missing headers are a 401 problem too.
        for (tenant, key) in [(None, Some(app.admin_key.as_str())), (Some("acme"), None)] {
            problem(
                send(call(tenant, key)).await,
                StatusCode::UNAUTHORIZED,
                path,
            )
            .await;
        }
        // The right pair, by name or by id, works.
        for tenant in ["acme", acme_id.as_str()] {
            let response = send(call(Some(tenant), Some(&app.admin_key))).await;
            let (status, body) = answer(response).await;
            if method == Method::POST && tenant == acme_id {
                // Created by name just before: now taken.
                assert_eq!(status, StatusCode::CONFLICT, "{body}");
            } else {
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        }
    }
}

async fn list_and_get(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = create_ok(&app, "ada").await;
    let second = create_ok(&app, "grace").await;
    let response = send(with_key(
        &app,
        Method::GET,
        "/v1/cl2c/users",
        Some("acme"),
        Some(&app.admin_key),
    ))
    .await;
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let (status, list) = answer(response).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // A plain array, oldest first, each user in the create answer's shape.
    assert_eq!(list, json!([first, second]));

    let (status, got) = get(
        &app,
        &format!("/v1/cl2c/users/{}", second["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got, second);

    // An unknown id, and one that is not a UUID.
    let unknown = format!("/v1/cl2c/users/{}", uuid::Uuid::new_v4());
    let body = problem(
        send(with_key(
            &app,
            Method::GET,
            &unknown,
            Some("acme"),
            Some(&app.admin_key),
        ))
        .await,
        StatusCode::NOT_FOUND,
        &unknown,
    )
    .await;
    assert_eq!(body["errors"], json!({}));
    let body = problem(
        send(with_key(
            &app,
            Method::GET,
            "/v1/cl2c/users/42",
            Some("acme"),
            Some(&app.admin_key),
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "/v1/cl2c/users/42",
    )
    .await;
    assert_eq!(problem_fields(&body), ["id"]);

    // Roles: an API_USER key reads and lists but does not create; a GUEST
    // key does none of it.
    let api_user = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let guest = app.key(app.tenant.clone(), &[Role::Guest]);
    let (status, list) = answer(
        send(with_key(
            &app,
            Method::GET,
            "/v1/cl2c/users",
            Some("acme"),
            Some(&api_user),
        ))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    for key in [&api_user, &guest] {
        let response = send(
            with_key(&app, Method::POST, "/v1/cl2c/user", Some("acme"), Some(key))
                .json(&valid_body("newbie")),
        )
        .await;
        problem(response, StatusCode::FORBIDDEN, "/v1/cl2c/user").await;
    }
    let response = send(with_key(
        &app,
        Method::GET,
        "/v1/cl2c/users",
        Some("acme"),
        Some(&guest),
    ))
    .await;
    problem(response, StatusCode::FORBIDDEN, "/v1/cl2c/users").await;
}

/// A problem body without its `instance` (which is the request's path).
fn without_instance(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("instance");
    body
}

async fn tenants_do_not_mix(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme_user = create_ok(&app, "johndoe").await;
    let beta = app.new_tenant("beta");
    let beta_key = app.key(beta, &[Role::Admin]);
    let as_beta =
        |method: Method, path: &str| with_key(&app, method, path, Some("beta"), Some(&beta_key));

    // Beta's list does not show acme's user.
    let (status, list) = answer(send(as_beta(Method::GET, "/v1/cl2c/users")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([]));

    // Acme's user through beta's key: exactly an unknown user.
    let foreign = format!("/v1/cl2c/users/{}", acme_user["id"].as_str().unwrap());
    let unknown = format!("/v1/cl2c/users/{}", uuid::Uuid::new_v4());
    let foreign_body = problem(
        send(as_beta(Method::GET, &foreign)).await,
        StatusCode::NOT_FOUND,
        &foreign,
    )
    .await;
    let unknown_body = problem(
        send(as_beta(Method::GET, &unknown)).await,
        StatusCode::NOT_FOUND,
        &unknown,
    )
    .await;
    assert_eq!(
        without_instance(foreign_body),
        without_instance(unknown_body)
    );

    // Usernames are unique per tenant: beta may have its own johndoe.
    let (status, beta_user) =
        answer(send(as_beta(Method::POST, "/v1/cl2c/user").json(&valid_body("johndoe"))).await)
            .await;
    assert_eq!(status, StatusCode::OK, "{beta_user}");
    assert_ne!(beta_user["id"], acme_user["id"]);
    let (_, list) = answer(send(as_beta(Method::GET, "/v1/cl2c/users")).await).await;
    assert_eq!(list, json!([beta_user]));
    let (_, list) = get(&app, "/v1/cl2c/users").await;
    assert_eq!(list, json!([acme_user]));

    // A beta user's token cannot change acme's user: the same answer as
    // for an id that does not exist, and nothing changes.
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &beta_key,
            &json!({"userId": beta_user["id"], "password": STRONG}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, tokens) = answer(
        app.request(Method::POST, "/v1/auth/login", None)
            .header("tenant", "beta")
            .json(&json!({"username": "johndoe", "password": STRONG}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let beta_token = tokens["accessToken"].as_str().unwrap();
    let acme_before = app.stored_user(&acme_user["id"]);
    let (status, foreign_put) = put(
        &app,
        Some(beta_token),
        &json!({"id": acme_user["id"], "firstName": "Mallory"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{foreign_put}");
    let (_, unknown_put) = put(
        &app,
        Some(beta_token),
        &json!({"id": uuid::Uuid::new_v4(), "firstName": "Mallory"}),
    )
    .await;
    assert_eq!(foreign_put, unknown_put);
    assert_eq!(app.stored_user(&acme_user["id"]), acme_before);
}

async fn deleted_users_answer_as_unknown(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let kept = create_ok(&app, "kept").await;
    let gone = create_ok(&app, "gone").await;
    let (status, body) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": gone["id"], "status": "DELETED"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deleted = format!("/v1/cl2c/users/{}", gone["id"].as_str().unwrap());
    let unknown = format!("/v1/cl2c/users/{}", uuid::Uuid::new_v4());
    let (status, deleted_body) = get(&app, &deleted).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, unknown_body) = get(&app, &unknown).await;
    assert_eq!(deleted_body["instance"], deleted);
    assert_eq!(
        without_instance(deleted_body),
        without_instance(unknown_body)
    );
    let (_, list) = get(&app, "/v1/cl2c/users").await;
    assert_eq!(list, json!([kept]));
    // Its userName stays taken.
    let (status, body) = create(&app, &valid_body("gone")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn the_logged_in_user_changes_themselves(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create_ok(&app, "johndoe").await;
    let other = create_ok(&app, "jane").await;
    let before_login = OffsetDateTime::now_utc();
    let token = log_in(&app, &user).await;

    // The login shows: authenticated, until when, from where.
    let path = format!("/v1/cl2c/users/{}", user["id"].as_str().unwrap());
    let (_, read) = get(&app, &path).await;
    assert_eq!(read["authenticated"], true, "{read}");
    let until = OffsetDateTime::parse(read["authValidUpto"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(until > before_login, "{read}");
    let stored = app.stored_user(&user["id"]);
    assert_eq!(stored.last_authentication.unwrap().valid_until, until);
    assert_eq!(read["authLocation"], "127.0.0.1");
    let (_, unread) = get(
        &app,
        &format!("/v1/cl2c/users/{}", other["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(unread["authenticated"], false);
    assert_eq!(unread["authValidUpto"], Value::Null);

    // The documented body: id, firstName, lastName, phoneNumber.
    let (status, changed) = put(
        &app,
        Some(&token),
        &json!({
            "id": user["id"],
            "firstName": "Johnny",
            "lastName": "Dough",
            "phoneNumber": "+447911123456"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["firstName"], "Johnny");
    assert_eq!(changed["lastName"], "Dough");
    assert_eq!(changed["phoneNumber"], "+447911123456");
    assert_eq!(changed["userName"], "johndoe");
    assert_eq!(changed["email"], "johndoe@example.com");
    assert_eq!(changed["authenticated"], true);
    let (_, read) = get(&app, &path).await;
    assert_eq!(read, changed);
    let stored = app.stored_user(&user["id"]);
    assert_eq!(stored.version, 3); // created, password set, this change

    // Absent leaves a field, null removes it; the tenant header may name
    // the token's tenant.
    let response = app
        .request(Method::PUT, "/v1/cl2c/user", Some(&token))
        .header("tenant", "acme")
        .json(&json!({"id": user["id"], "lastName": null}))
        .send()
        .await
        .unwrap();
    let (status, changed) = answer(response).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["firstName"], "Johnny");
    assert_eq!(changed["lastName"], Value::Null);
    assert_eq!(changed["phoneNumber"], "+447911123456");

    // Every bad field at once.
    let (status, body) = put(
        &app,
        Some(&token),
        &json!({"firstName": "", "lastName": 7, "phoneNumber": "+1234567890"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        problem_fields(&body),
        ["firstName", "id", "lastName", "phoneNumber"]
    );

    // Another user's id, or an unknown one: the same 403, nothing changes.
    let other_before = app.stored_user(&other["id"]);
    let response = app
        .request(Method::PUT, "/v1/cl2c/user", Some(&token))
        .json(&json!({"id": other["id"], "firstName": "Mallory"}))
        .send()
        .await
        .unwrap();
    let refused = problem(response, StatusCode::FORBIDDEN, "/v1/cl2c/user").await;
    assert_eq!(problem_fields(&refused), ["id"]);
    let (status, unknown) = put(
        &app,
        Some(&token),
        &json!({"id": uuid::Uuid::new_v4(), "firstName": "Mallory"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(unknown, refused);
    assert_eq!(app.stored_user(&other["id"]), other_before);

    // An API key is not a user: 403 as a bearer, 401 as X-API-Key.
    let response = app
        .request(Method::PUT, "/v1/cl2c/user", Some(&app.admin_key))
        .json(&json!({"id": user["id"], "firstName": "Key"}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::FORBIDDEN, "/v1/cl2c/user").await;
    let response = send(
        with_key(
            &app,
            Method::PUT,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
        .json(&json!({"id": user["id"], "firstName": "Key"})),
    )
    .await;
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer realm=\"userhub\""
    );
    problem(response, StatusCode::UNAUTHORIZED, "/v1/cl2c/user").await;

    // A bad token, and a good token with another tenant's header: alike.
    let (status, bad_token) = put(
        &app,
        Some("uha_not_a_token"),
        &json!({"id": user["id"], "firstName": "X"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.new_tenant("beta");
    let response = app
        .request(Method::PUT, "/v1/cl2c/user", Some(&token))
        .header("tenant", "beta")
        .json(&json!({"id": user["id"], "firstName": "X"}))
        .send()
        .await
        .unwrap();
    let mismatch = problem(response, StatusCode::UNAUTHORIZED, "/v1/cl2c/user").await;
    assert_eq!(mismatch, bad_token);
    assert_eq!(
        app.stored_user(&user["id"]).first_name.unwrap().as_str(),
        "Johnny"
    );
}

async fn openapi_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .request(Method::GET, "/openapi/cl2c.json", None)
        .send()
        .await
        .unwrap();
    let (status, document) = answer(response).await;
    assert_eq!(status, StatusCode::OK);
    let paths = &document["paths"];
    for (path, method) in [
        ("/v1/cl2c/user", "post"),
        ("/v1/cl2c/user", "put"),
        ("/v1/cl2c/users", "get"),
        ("/v1/cl2c/users/{id}", "get"),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{path} {method}");
        assert!(
            operation["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{path} {method}"
        );
        let responses = operation["responses"].as_object().unwrap();
        for (code, response) in responses {
            if code.starts_with('2') {
                continue;
            }
            assert!(
                response["content"][PROBLEM_JSON]["schema"]["$ref"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("/Problem")),
                "{path} {method} {code}"
            );
        }
        assert!(responses.contains_key("401"), "{path} {method}");
    }
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["CreateUserRequest"]["required"],
        json!(["firstName", "lastName", "email", "userName", "phoneNumber"])
    );
    assert_eq!(schemas["UpdateUserRequest"]["required"], json!(["id"]));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["apiKey"]["name"], "X-API-Key");
    assert_eq!(schemes["tenant"]["name"], "tenant");
    assert_eq!(
        paths["/v1/cl2c/user"]["post"]["security"],
        json!([{"tenant": [], "apiKey": []}])
    );
}

async fn unknown_routes_and_methods_are_problems(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A path cl2c has, with another method: 405 naming the methods it has.
    let response = send(with_key(&app, Method::DELETE, "/v1/cl2c/user", None, None)).await;
    assert_eq!(response.headers().get("allow").unwrap(), "POST, PUT");
    problem(response, StatusCode::METHOD_NOT_ALLOWED, "/v1/cl2c/user").await;
    // A path under cl2c's prefix that no route has.
    let response = send(with_key(&app, Method::GET, "/v1/cl2c/nothing", None, None)).await;
    problem(response, StatusCode::NOT_FOUND, "/v1/cl2c/nothing").await;
}

async fn credentials_are_judged_before_the_body(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A bad key with a bad body: the key's answer.
    let response = send(
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some("uhk_wrong"),
        )
        .header("content-type", "application/json")
        .body("[1, 2]"),
    )
    .await;
    problem(response, StatusCode::UNAUTHORIZED, "/v1/cl2c/user").await;
    // With a good key: a body that is not an object, and null for the id.
    let response = send(
        with_key(
            &app,
            Method::POST,
            "/v1/cl2c/user",
            Some("acme"),
            Some(&app.admin_key),
        )
        .header("content-type", "application/json")
        .body("\"johndoe\""),
    )
    .await;
    let body = problem(response, StatusCode::BAD_REQUEST, "/v1/cl2c/user").await;
    assert_eq!(body["errors"], json!({}));
    let user = create_ok(&app, "johndoe").await;
    let token = log_in(&app, &user).await;
    let (status, body) = put(&app, Some(&token), &json!({"id": null, "firstName": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"]["id"], json!(["a value is required"]));
    assert_eq!(body["errors"]["firstName"], json!(["must be a string"]));
}

both_backends!(
    documented_example_body_is_refused,
    create_with_a_valid_number,
    taken_user_name_or_email_is_409,
    every_bad_field_is_named,
    malformed_bodies_are_problems,
    tenant_and_key_must_match,
    list_and_get,
    tenants_do_not_mix,
    deleted_users_answer_as_unknown,
    the_logged_in_user_changes_themselves,
    openapi_document,
    unknown_routes_and_methods_are_problems,
    credentials_are_judged_before_the_body,
);
