//! What every route shares: health, JSON errors for everything, the body
//! limit, request ids, the OpenAPI document.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, answer, spawn_app, spawn_app_with};

async fn health_and_readiness(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for path in ["/healthz", "/readyz"] {
        let (status, body) =
            answer(app.request(Method::GET, path, None).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["status"], "ok");
    }
}

/// /readyz says whether the database answers; /healthz only that the
/// process does. (PostgreSQL: a SQLite file cannot be taken away from a
/// running process.)
async fn readiness_follows_the_database(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| {
        config.database_wait = std::time::Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    assert!(app.lose_database());
    let (status, body) = answer(
        app.request(Method::GET, "/readyz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _) = answer(
        app.request(Method::GET, "/healthz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn errors_are_json(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Malformed JSON: 400 saying what is wrong, with the request id.
    let response = app
        .request(Method::POST, "/v1/users/create", Some(&app.admin_key))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    assert_eq!(body["requestId"], request_id);
    // The wrong shape.
    let (status, body) = answer(
        app.post("/v1/users/create", &app.admin_key, &json!([1, 2]))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");
    // Not JSON at all.
    let (status, body) = answer(
        app.request(Method::POST, "/v1/users/create", Some(&app.admin_key))
            .header(header::CONTENT_TYPE, "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], "unsupported_media_type");
    // No such route.
    let (status, body) = answer(
        app.request(Method::GET, "/v1/nothing", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    // A client's request id is kept.
    let response = app
        .request(Method::GET, "/healthz", None)
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
}

async fn bodies_over_the_limit_get_413(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let big = json!({"username": "a@example.com", "firstName": "x".repeat(70 * 1024)});
    let (status, body) = answer(app.post("/v1/users/create", &app.admin_key, &big).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
    // Just under the limit is read (and refused for its content).
    let fits = json!({"username": "a@example.com", "firstName": "x".repeat(60 * 1024)});
    let (status, body) = answer(app.post("/v1/users/create", &app.admin_key, &fits).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "validation_failed");
}

async fn openapi_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, doc) = answer(
        app.request(Method::GET, "/openapi/iklim.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/users/create", "post"),
        ("/v1/users/update", "patch"),
        ("/v1/users/page", "post"),
        ("/v1/users/me", "get"),
        ("/v1/users/change-password", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/accounts/{userId}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path}");
        assert!(
            operation["description"].is_string() || operation["summary"].is_string(),
            "{path}"
        );
    }
    let update = &paths["/v1/users/update"]["patch"];
    for status in ["200", "400", "401", "403", "404", "409", "413"] {
        assert!(update["responses"][status].is_object(), "update {status}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let (status, _) = answer(
        app.request(Method::GET, "/openapi/nope.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _: Value = doc;
}

both_backends!(
    health_and_readiness,
    errors_are_json,
    bodies_over_the_limit_get_413,
    openapi_document;
    postgres_only: readiness_follows_the_database,
);
