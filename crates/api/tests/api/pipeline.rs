//! What every dialect shares through the one request pipeline, asked of each
//! dialect in its own format: bodies that are not JSON objects, wrong-typed
//! fields (named by path, never echoed), unknown routes and wrong methods
//! under each dialect's prefix, and a database that fails during
//! authentication (503 with `Retry-After`, never 500).

use std::time::Duration;

use reqwest::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, spawn_app, spawn_app_with};

/// One dialect as a client sees it: how to send it a body, and how to read
/// the fields and status its error body names. (Also used by the timeout
/// tests, which speak HTTP over plain sockets.)
pub(crate) struct Dialect {
    pub(crate) name: &'static str,
    /// A route that takes a JSON body, and the status of invalid content.
    pub(crate) body_route: &'static str,
    invalid: StatusCode,
    /// A field the body route takes as a string.
    text_field: &'static str,
    /// An authenticated route that reads (GET).
    read_route: &'static str,
    /// A path under the dialect's prefix that no route serves.
    missing: &'static str,
    /// A route, a method it does not answer, and the methods it does.
    wrong_method: (&'static str, Method, &'static str),
}

pub(crate) const DIALECTS: [Dialect; 4] = [
    Dialect {
        name: "iklim",
        body_route: "/v1/users/create",
        invalid: StatusCode::BAD_REQUEST,
        text_field: "firstName",
        read_route: "/v1/accounts/00000000-0000-4000-8000-000000000000",
        missing: "/v1/users/nothing",
        wrong_method: ("/v1/users/create", Method::DELETE, "POST"),
    },
    Dialect {
        name: "nevis",
        body_route: "/nevis/api/v1/users",
        invalid: StatusCode::UNPROCESSABLE_ENTITY,
        text_field: "loginId",
        read_route: "/nevis/api/v1/users",
        missing: "/nevis/api/v1/nothing",
        wrong_method: (
            "/nevis/api/v1/users/{id}",
            Method::PUT,
            "DELETE, GET, PATCH",
        ),
    },
    Dialect {
        name: "cl2c",
        body_route: "/v1/cl2c/user",
        invalid: StatusCode::BAD_REQUEST,
        text_field: "firstName",
        read_route: "/v1/cl2c/users",
        missing: "/v1/cl2c/nothing",
        wrong_method: ("/v1/cl2c/user", Method::DELETE, "POST, PUT"),
    },
    Dialect {
        name: "blocks",
        body_route: "/idp/v1/Iam/Create",
        invalid: StatusCode::BAD_REQUEST,
        text_field: "firstName",
        read_route: "/idp/v1/Iam/GetUser?Id=00000000-0000-4000-8000-000000000000",
        missing: "/idp/v1/Iam/Nothing",
        wrong_method: ("/idp/v1/Iam/Create", Method::GET, "POST"),
    },
];

impl Dialect {
    /// A request with this dialect's credential headers, as `acme`'s ADMIN.
    fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        let request = app.client.request(method, app.url(path));
        match self.name {
            "cl2c" => request
                .header("tenant", "acme")
                .header("X-API-Key", &app.admin_key),
            "blocks" => request.header("x-blocks-key", &app.admin_key),
            _ => request.bearer_auth(&app.admin_key),
        }
    }

    /// The same credential as raw header lines (`Name: value`), for a
    /// request written on a plain socket.
    pub(crate) fn credential_lines(&self, app: &TestApp) -> Vec<String> {
        match self.name {
            "cl2c" => vec![
                "tenant: acme".to_owned(),
                format!("X-API-Key: {}", app.admin_key),
            ],
            "blocks" => vec![format!("x-blocks-key: {}", app.admin_key)],
            _ => vec![format!("Authorization: Bearer {}", app.admin_key)],
        }
    }

    /// The fields an error body names, in order.
    fn fields(&self, body: &Value) -> Vec<String> {
        match self.name {
            "cl2c" => body["errors"]
                .as_object()
                .map(|errors| errors.keys().cloned().collect())
                .unwrap_or_default(),
            _ => body["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .filter_map(|e| e["field"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether `body` is this dialect's error body.
    pub(crate) fn is_error_body(&self, body: &Value, status: StatusCode) -> bool {
        match self.name {
            "nevis" => {
                body.as_object().is_some_and(|o| o.len() == 1)
                    && body["errors"][0]["code"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("errors."))
            }
            "cl2c" => {
                body["status"] == status.as_u16()
                    && body["type"].is_string()
                    && body["instance"].is_string()
            }
            _ => body["status"] == status.as_u16() && body["code"].is_string(),
        }
    }
}

async fn send(
    label: &str,
    request: RequestBuilder,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (status, headers, text)
}

fn json_of(label: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("{label}: not JSON: {text}"))
}

async fn bodies_that_are_not_objects_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for dialect in &DIALECTS {
        for body in [
            "[]",
            "[\"name@domain.com\", \"secret\"]",
            "\"text\"",
            "42",
            "null",
        ] {
            let label = format!("{} {body}", dialect.name);
            let (status, _, text) = send(
                &label,
                dialect
                    .request(&app, Method::POST, dialect.body_route)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body),
            )
            .await;
            assert_eq!(status, dialect.invalid, "{label}: {text}");
            let json = json_of(&label, &text);
            assert!(dialect.is_error_body(&json, status), "{label}: {text}");
            assert!(
                !text.contains("struct"),
                "{label}: a Rust type leaked: {text}"
            );
        }
    }
    // iklim's login too: an array never logs in.
    let user = app
        .create_user("name@domain.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    assert!(user["userId"].is_string());
    let (status, _, text) = send(
        "login with an array",
        app.request(Method::POST, "/v1/auth/login", None)
            .header("tenant", "acme")
            .header(CONTENT_TYPE, "application/json")
            .body(format!("[\"name@domain.com\", \"{STRONG}\"]")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
}

async fn wrong_types_are_named_and_never_echoed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    const VALUE: u64 = 31_415_926_535;
    for dialect in &DIALECTS {
        let label = dialect.name;
        let (status, _, text) = send(
            label,
            dialect
                .request(&app, Method::POST, dialect.body_route)
                .json(&json!({ dialect.text_field: VALUE })),
        )
        .await;
        assert_eq!(status, dialect.invalid, "{label}: {text}");
        let body = json_of(label, &text);
        assert!(
            dialect
                .fields(&body)
                .iter()
                .any(|f| f == dialect.text_field),
            "{label}: {text}"
        );
        assert!(
            !text.contains(&VALUE.to_string()),
            "{label}: echoed: {text}"
        );
    }
    // A secret of the wrong type is named, its value absent.
    let (status, _, text) = send(
        "login",
        app.request(Method::POST, "/v1/auth/login", None)
            .header("tenant", "acme")
            .json(&json!({"username": "name@domain.com", "password": VALUE})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let body = json_of("login", &text);
    assert_eq!(DIALECTS[0].fields(&body), ["password"]);
    assert!(!text.contains(&VALUE.to_string()), "{text}");
}

async fn null_for_what_iklim_cannot_remove_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app
        .create_user("name@domain.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    for field in ["username", "password", "roles", "status"] {
        let (status, body) = answer(
            app.patch(
                "/v1/users/update",
                &app.admin_key,
                &json!({"userId": user["userId"], field: null}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(DIALECTS[0].fields(&body), [field]);
        assert_eq!(body["errors"][0]["code"], "not_nullable");
    }
    let stored = app.stored_user(&user["userId"]);
    assert_eq!(stored.version, 1, "nothing changed");
}

async fn unknown_routes_and_wrong_methods_answer_in_the_dialects_body(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let id = uuid::Uuid::new_v4().to_string();
    for dialect in &DIALECTS {
        let (status, headers, text) = send(
            dialect.missing,
            dialect.request(&app, Method::GET, dialect.missing),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}: {text}", dialect.missing);
        assert!(
            dialect.is_error_body(&json_of(dialect.missing, &text), status),
            "{}: {text}",
            dialect.missing
        );
        if dialect.name == "cl2c" {
            assert_eq!(headers[CONTENT_TYPE], "application/problem+json");
        }

        let (path, method, allow) = &dialect.wrong_method;
        let path = path.replace("{id}", &id);
        let label = format!("{method} {path}");
        let (status, headers, text) =
            send(&label, dialect.request(&app, method.clone(), &path)).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{label}: {text}");
        assert_eq!(headers[ALLOW], *allow, "{label}");
        assert!(
            dialect.is_error_body(&json_of(&label, &text), status),
            "{label}: {text}"
        );
    }
    // A path no dialect owns answers in the service's own body.
    let (status, body) = answer(
        app.request(Method::GET, "/nothing/here", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
}

/// A pool of one connection and a 1 ms wait: many concurrent requests find
/// no connection in time. Each is answered 200 or 503 with `Retry-After`,
/// authentication included — never 500.
async fn an_exhausted_pool_is_503_never_500(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| {
        config.pool_size = 1;
        config.database_wait = Duration::from_millis(1);
    })
    .await
    else {
        return;
    };
    for dialect in &DIALECTS {
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..48 {
            let request = dialect.request(&app, Method::GET, dialect.read_route);
            requests.spawn(async move { request.send().await.unwrap() });
        }
        let mut unavailable = 0;
        while let Some(response) = requests.join_next().await {
            let response = response.unwrap();
            let status = response.status();
            match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    unavailable += 1;
                    assert!(
                        response.headers().contains_key(RETRY_AFTER),
                        "{}",
                        dialect.name
                    );
                    let text = response.text().await.unwrap();
                    assert!(
                        dialect.is_error_body(&json_of(dialect.name, &text), status),
                        "{}: {text}",
                        dialect.name
                    );
                }
                // Blocks' read route names a user that does not exist.
                StatusCode::OK | StatusCode::NOT_FOUND => {}
                other => panic!(
                    "{}: {other}: {}",
                    dialect.name,
                    response.text().await.unwrap()
                ),
            }
        }
        eprintln!("{}: {unavailable} of 48 answered 503", dialect.name);
    }
}

/// The database refuses connections (PostgreSQL: `ALLOW_CONNECTIONS false`
/// and every session ended): every dialect answers its authenticated routes
/// 503 with `Retry-After` in its own body, and serves again once the
/// database is back.
async fn a_lost_database_during_authentication_is_503(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| {
        config.database_wait = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    app.refuse_connections(true);
    for dialect in &DIALECTS {
        let (status, headers, text) = send(
            dialect.name,
            dialect.request(&app, Method::GET, dialect.read_route),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: {text}",
            dialect.name
        );
        assert!(headers.contains_key(RETRY_AFTER), "{}", dialect.name);
        assert!(
            dialect.is_error_body(&json_of(dialect.name, &text), status),
            "{}: {text}",
            dialect.name
        );
    }
    app.refuse_connections(false);
    for dialect in &DIALECTS {
        let (status, _, text) = send(
            dialect.name,
            dialect.request(&app, Method::GET, dialect.read_route),
        )
        .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{}: {status}: {text}",
            dialect.name
        );
    }
}

both_backends!(
    bodies_that_are_not_objects_are_refused,
    wrong_types_are_named_and_never_echoed,
    null_for_what_iklim_cannot_remove_is_refused,
    unknown_routes_and_wrong_methods_answer_in_the_dialects_body,
    an_exhausted_pool_is_503_never_500;
    postgres_only: a_lost_database_during_authentication_is_503
);
