//! Webhooks end to end: a real receiver (an HTTP server in the test) that
//! fails the first attempts and then succeeds gets every event once, in
//! order, signed; a userhub stopped between a commit and its delivery
//! delivers after restart; two userhub nodes on one PostgreSQL deliver each
//! event once.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use userhub_api::app::{build_server, open_store};
use userhub_api::config::Config;
use userhub_api::state::AppState;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, answer, spawn_app_with};
use crate::metrics::{scrape, value};

/// What the receiver got: the signature header, the body, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    body: Vec<u8>,
    status: u16,
}

#[derive(Debug, Default)]
struct Behaviour {
    /// Answer 500 to this many requests first.
    fail_first: usize,
    /// Answer 503 to everything while false.
    closed: bool,
    received: Vec<Received>,
}

struct Receiver {
    url: String,
    state: Arc<Mutex<Behaviour>>,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<Behaviour>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let status = if state.closed {
        503
    } else if state.fail_first > 0 {
        state.fail_first -= 1;
        500
    } else {
        200
    };
    let signature = req
        .headers()
        .get("x-userhub-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    state.received.push(Received {
        signature,
        body: body.to_vec(),
        status,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(behaviour));
        let data = web::Data::from(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/hook", web::post().to(receive))
                })
                .workers(1)
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            });
        });
        let handle = rx.recv().unwrap();
        Receiver {
            url,
            state,
            handle,
            thread: Some(thread),
        }
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The bodies it accepted (2xx), as JSON.
    fn accepted(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 200)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn quick(config: &mut Config) {
    config.webhooks.allow_private = true;
    // A stop mid-delivery holds the webhook's lease this long (+ 5 s).
    config.webhooks.timeout = Duration::from_secs(2);
    config.webhooks.retry_base = Duration::from_millis(20);
    config.webhooks.poll = Duration::from_millis(100);
}

/// The receiver's check of docs/admin-api.md, as written there.
fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> bool {
    let Some((t, v1)) = header.split_once(',') else {
        return false;
    };
    let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else {
        return false;
    };
    let Ok(sent) = t.parse::<i64>() else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let Some(signature) = (0..v1.len())
        .step_by(2)
        .map(|i| {
            v1.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    // verify_slice compares in constant time.
    mac.verify_slice(&signature).is_ok() && (now - sent).abs() <= 300
}

/// Check `received`'s signature under `secret`, independently of userhub.
fn assert_signed(received: &Received, secret: &str) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        verify(secret.as_bytes(), &received.signature, &received.body, now),
        "bad signature {:?}",
        received.signature
    );
    let mut tampered = received.body.clone();
    tampered.push(b' ');
    assert!(!verify(
        secret.as_bytes(),
        &received.signature,
        &tampered,
        now
    ));
}

/// Wait, polling, until `done` holds (at most 30 s).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn make_webhook(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let (status, body) = answer(
        app.post(
            "/admin/v1/webhooks",
            &app.admin_key,
            &json!({"url": url, "eventTypes": types, "description": "test receiver"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Wait until the webhook's cursor is at the end of the feed: every
/// attempt is finished and recorded.
async fn until_caught_up(app: &TestApp, id: &str) {
    let (_, feed) = answer(app.get("/admin/v1/events?limit=100", &app.admin_key).await).await;
    let last = feed["cursor"].clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, webhook) = answer(
            app.get(&format!("/admin/v1/webhooks/{id}"), &app.admin_key)
                .await,
        )
        .await;
        if webhook["cursor"] == last {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the cursor never reached {last}: {webhook}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kinds_and_users(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["userId"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_failing_receiver_gets_every_event_once_in_order(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let receiver = Receiver::start(Behaviour {
        fail_first: 3,
        ..Behaviour::default()
    });
    let (id, secret) = make_webhook(&app, &receiver.url, &["user.created", "user.updated"]).await;
    let mut expected = Vec::new();
    for name in ["a", "b"] {
        let user = app
            .create_user(&format!("{name}@example.com"), &["STANDARD_USER"], "ACTIVE")
            .await;
        let user_id = user["userId"].as_str().unwrap().to_owned();
        expected.push(("user.created".to_owned(), user_id.clone()));
        // Not subscribed: passed over.
        let response = app
            .request(
                Method::DELETE,
                &format!("/nevis/api/v1/users/{user_id}"),
                Some(&app.admin_key),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let c = app
        .create_user("c@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let c_id = c["userId"].as_str().unwrap().to_owned();
    expected.push(("user.created".to_owned(), c_id.clone()));
    let (status, _) = answer(
        app.patch(
            "/v1/users/update",
            &app.admin_key,
            &json!({"userId": c_id, "firstName": "Cee"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    expected.push(("user.updated".to_owned(), c_id));

    until("every event accepted", || {
        receiver.accepted().len() >= expected.len()
    })
    .await;
    // The receiver's 2xx comes before userhub records the attempt: the
    // deliveries read below are complete once the cursor is at the end.
    until_caught_up(&app, &id).await;
    let accepted = receiver.accepted();
    assert_eq!(kinds_and_users(&accepted), expected);
    assert_eq!(accepted[3]["fields"], json!(["firstName"]));
    for received in receiver.received() {
        assert_signed(&received, &secret);
    }
    // The first event failed three times before it went through.
    let first: Vec<Value> = receiver
        .received()
        .iter()
        .take(4)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(first.iter().all(|e| e["cursor"] == first[0]["cursor"]));

    // The attempts are listed, newest first, failures with their status
    // and next retry.
    let (status, deliveries) = answer(
        app.get(
            &format!("/admin/v1/webhooks/{id}/deliveries"),
            &app.admin_key,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let deliveries = deliveries["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 7, "{deliveries:?}");
    let failed: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["statusCode"] == 500)
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(
        failed
            .iter()
            .all(|d| d["nextRetryAt"].is_string() && d["error"].is_string())
    );
    assert_eq!(deliveries.last().unwrap()["attempt"], 1);
    // And counted by outcome for Prometheus, each attempt once.
    let metrics = scrape(&app).await;
    for (outcome, count) in [("delivered", 4.0), ("refused", 3.0), ("unreachable", 0.0)] {
        let series = format!("userhub_webhook_deliveries_total{{outcome=\"{outcome}\"}}");
        assert_eq!(value(&metrics, &series), Some(count), "{series}");
    }
    let (_, webhook) = answer(
        app.get(&format!("/admin/v1/webhooks/{id}"), &app.admin_key)
            .await,
    )
    .await;
    assert_eq!(webhook["state"], "active");
    assert_eq!(webhook["failures"], 0);
    assert!(webhook.get("secret").is_none());
}

async fn a_stopped_userhub_delivers_after_restart(backend: Backend) {
    let Some(mut app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let receiver = Receiver::start(Behaviour {
        closed: true,
        ..Behaviour::default()
    });
    let (id, secret) = make_webhook(&app, &receiver.url, &["user.created"]).await;
    let mut expected = Vec::new();
    for name in ["x", "y", "z"] {
        let user = app
            .create_user(&format!("{name}@example.com"), &["STANDARD_USER"], "ACTIVE")
            .await;
        expected.push((
            "user.created".to_owned(),
            user["userId"].as_str().unwrap().to_owned(),
        ));
    }
    until("a refused attempt", || !receiver.received().is_empty()).await;
    // Committed, not delivered: userhub stops, the receiver opens, userhub
    // comes back and delivers from the cursor it stored.
    app.restart_with(|_| {});
    receiver.state.lock().unwrap().closed = false;
    until("every event accepted", || {
        receiver.accepted().len() >= expected.len()
    })
    .await;
    assert_eq!(kinds_and_users(&receiver.accepted()), expected);
    for received in receiver.received() {
        assert_signed(&received, &secret);
    }
    let (_, webhook) = answer(
        app.get(&format!("/admin/v1/webhooks/{id}"), &app.admin_key)
            .await,
    )
    .await;
    assert_eq!(webhook["failures"], 0);
}

async fn webhooks_are_managed_per_tenant(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    // Without USERHUB_WEBHOOK_ALLOW_PRIVATE, private targets are refused.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/",
    ] {
        let (status, body) = answer(
            app.post(
                "/admin/v1/webhooks",
                &app.admin_key,
                &json!({"url": url, "eventTypes": ["user.created"]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(body["errors"][0]["code"], "private_address");
    }
    let (status, body) = answer(
        app.post(
            "/admin/v1/webhooks",
            &app.admin_key,
            &json!({"url": "ftp://x", "eventTypes": ["user.exploded"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        crate::helpers::error_fields(&body),
        ["url", "eventTypes[0]"]
    );
    let (id, _) = make_webhook(&app, "https://hooks.example.com/userhub", &["user.deleted"]).await;
    let (_, listed) = answer(app.get("/admin/v1/webhooks", &app.admin_key).await).await;
    assert_eq!(listed["webhooks"][0]["id"], id.as_str());
    assert!(!serde_json::to_string(&listed).unwrap().contains("whsec_"));
    // Another tenant sees none of it.
    let other = app.new_tenant("globex");
    let other_key = app.key(other, &[userhub_domain::types::Role::Admin]);
    let (status, _) = answer(
        app.get(&format!("/admin/v1/webhooks/{id}"), &other_key)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let path = format!("/admin/v1/webhooks/{id}");
    let deleted = app
        .request(Method::DELETE, &path, Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, _) = answer(app.get(&path, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Another userhub node on the same database (its own pool, its own
/// worker), as a second process would be.
struct Node {
    address: String,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn start_node(app: &TestApp) -> Node {
    let mut config = crate::helpers::test_config();
    quick(&mut config);
    config.database_url = app.database_url.clone();
    let store = open_store(&config).unwrap();
    let state = AppState::new(store, config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = build_server(state, listener).unwrap();
            tx.send(server.handle()).unwrap();
            let _ = server.await;
        });
    });
    Node {
        address,
        handle: rx.recv().unwrap(),
        thread: Some(thread),
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn two_nodes_deliver_each_event_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let node = start_node(&app);
    let receiver = Receiver::start(Behaviour::default());
    let (id, _) = make_webhook(&app, &receiver.url, &["user.created"]).await;
    let mut expected = Vec::new();
    for i in 0..12 {
        // Every other user through the second node.
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            node.address.clone()
        };
        let response = app
            .client
            .post(format!("{base}/v1/users/create"))
            .bearer_auth(&app.admin_key)
            .json(&json!({
                "username": format!("n{i}@example.com"), "password": crate::helpers::STRONG,
                "firstName": "N", "lastName": "N", "locale": "en_US", "timezone": "UTC",
                "roles": ["STANDARD_USER"], "status": "ACTIVE"
            }))
            .send()
            .await
            .unwrap();
        let (status, user) = answer(response).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        expected.push((
            "user.created".to_owned(),
            user["userId"].as_str().unwrap().to_owned(),
        ));
    }
    until("every event accepted", || {
        receiver.accepted().len() >= expected.len()
    })
    .await;
    // No attempt in flight any more.
    until_caught_up(&app, &id).await;
    assert_eq!(kinds_and_users(&receiver.accepted()), expected);
    assert_eq!(receiver.received().len(), expected.len());
    drop(node);
}

both_backends!(
    a_failing_receiver_gets_every_event_once_in_order,
    a_stopped_userhub_delivers_after_restart,
    webhooks_are_managed_per_tenant;
    postgres_only: two_nodes_deliver_each_event_once
);
