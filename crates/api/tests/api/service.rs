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

/// `/openapi.json` holds every dialect's operations in one document, with
/// the component names two dialects share told apart; each dialect's own
/// document says where the API is (`servers`) and what every answer
/// carries (`X-Request-Id`).
async fn combined_openapi_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .request(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let combined: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(combined["openapi"].as_str().unwrap().starts_with("3."));
    assert!(combined["servers"][0]["url"].is_string());
    let paths = combined["paths"].as_object().unwrap();
    let schemas = combined["components"]["schemas"].as_object().unwrap();
    for dialect in ["iklim", "nevis", "cl2c", "blocks", "scim", "admin"] {
        let (status, doc) = answer(
            app.request(Method::GET, &format!("/openapi/{dialect}.json"), None)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{dialect}");
        let servers = doc["servers"]
            .as_array()
            .unwrap_or_else(|| panic!("{dialect}: no servers"));
        assert!(
            !servers.is_empty() && servers[0]["url"].is_string(),
            "{dialect}"
        );
        for (path, item) in doc["paths"].as_object().unwrap() {
            let combined_item = paths
                .get(path)
                .unwrap_or_else(|| panic!("{dialect}: {path} is not in /openapi.json"));
            for (method, operation) in item.as_object().unwrap() {
                assert!(
                    combined_item[method].is_object(),
                    "{dialect}: {method} {path}"
                );
                for (status, response) in operation["responses"].as_object().unwrap() {
                    assert!(
                        response["headers"]["X-Request-Id"].is_object(),
                        "{dialect}: {method} {path} {status} has no X-Request-Id"
                    );
                }
            }
        }
    }
    // Two dialects' `UserResponse`s are different shapes: each has its own
    // name, and every reference points at a schema that exists.
    assert!(schemas.contains_key("iklim_UserResponse"));
    assert!(schemas.contains_key("nevis_UserResponse"));
    assert!(!schemas.contains_key("UserResponse"));
    let text = combined.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref to {name}");
    }
}

/// A method no route of a path answers is 405 with `Allow` listing the
/// methods that path does answer — the service's own paths included, and
/// a literal path (`.search`) not taken for the `{id}` next to it.
async fn other_methods_get_405_with_allow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (method, path, allow) in [
        (Method::TRACE, "/healthz", "GET"),
        (Method::POST, "/readyz", "GET"),
        (Method::OPTIONS, "/scim/v2/Users/.search", "POST"),
        (Method::OPTIONS, "/scim/v2/Groups/.search", "POST"),
    ] {
        let response = app
            .request(method.clone(), path, Some(&app.admin_key))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()[header::ALLOW], allow, "{method} {path}");
    }
}

both_backends!(
    health_and_readiness,
    errors_are_json,
    bodies_over_the_limit_get_413,
    openapi_document,
    combined_openapi_document,
    other_methods_get_405_with_allow;
    postgres_only: readiness_follows_the_database,
);
