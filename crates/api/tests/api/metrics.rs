//! `GET /metrics` after real traffic: requests by dialect, route pattern
//! (never the raw path), method and status; logins refused and throttled;
//! the database pool and the hashing slots.

use reqwest::{Method, StatusCode, header};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, spawn_app_with};

/// `GET /metrics`, checked to be Prometheus' text format.
pub async fn scrape(app: &TestApp) -> String {
    let response = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of `series` (its name and labels, as printed) in a scrape.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_follow_the_traffic(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| {
        // One free failure, then a wait far longer than the test.
        config.throttle.per_address.free = 1;
        config.throttle.per_address.first_delay = time::Duration::minutes(10);
        config.throttle.per_address.max_delay = time::Duration::minutes(10);
    })
    .await
    else {
        return;
    };
    let id = "7d1c2b9e-1111-4a2b-8c3d-000000000001";
    let response = app.get(&format!("/v1/accounts/{id}"), &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.login_response("ghost", "not-the-password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.login_response("ghost", "not-the-password").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = app
        .request(Method::GET, "/no/such/route", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let text = scrape(&app).await;
    assert!(!text.contains(id), "a raw path became a label:\n{text}");
    for (series, expected) in [
        (
            r#"userhub_http_requests_total{dialect="iklim",method="GET",route="/v1/accounts/{userId}",status="404"}"#,
            1.0,
        ),
        (
            r#"userhub_http_requests_total{dialect="iklim",method="POST",route="/v1/auth/login",status="401"}"#,
            1.0,
        ),
        (
            r#"userhub_http_requests_total{dialect="iklim",method="POST",route="/v1/auth/login",status="429"}"#,
            1.0,
        ),
        (
            r#"userhub_http_requests_total{dialect="service",method="GET",route="unmatched",status="404"}"#,
            1.0,
        ),
        (
            r#"userhub_http_request_duration_seconds_count{dialect="iklim",method="POST",route="/v1/auth/login"}"#,
            2.0,
        ),
        ("userhub_login_failures_total", 1.0),
        ("userhub_login_throttled_total", 1.0),
        ("userhub_password_hash_slots", 2.0),
        ("userhub_password_hash_rejected_total", 0.0),
        ("userhub_db_pool_max_connections", 8.0),
    ] {
        assert_eq!(value(&text, series), Some(expected), "{series} in\n{text}");
    }
    let idle = value(&text, r#"userhub_db_pool_connections{state="idle"}"#).unwrap();
    let in_use = value(&text, r#"userhub_db_pool_connections{state="in_use"}"#).unwrap();
    assert!(idle + in_use >= 1.0, "{text}");
    assert!(
        value(&text, "userhub_db_pool_checkouts_total").unwrap() >= 3.0,
        "{text}"
    );
    assert!(value(&text, "userhub_password_hash_slots_in_use").is_some());

    // The scrape itself is counted, under its own route.
    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            r#"userhub_http_requests_total{dialect="service",method="GET",route="/metrics",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

both_backends!(metrics_follow_the_traffic);
