//! The real `userhub serve`, logging at debug in JSON, through a run that
//! uses every kind of secret: an API key (in a header and in a SELISE Blocks
//! `?ProjectKey=` query), passwords (right, wrong, changed, in a malformed
//! body), access and refresh tokens, and the stored hashes. Its whole log is
//! then searched for each of them: none may appear. Every line is one JSON
//! object, and every request has its one access line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use userhub_api::secrets::{API_KEY_MARK, sha256_hex};
use userhub_domain::repository::{TenantRepository, UserRepository};
use userhub_domain::tenant::TenantName;
use userhub_domain::types::UserId;
use userhub_storage::{Store, StoreOptions};

const PASSWORD: &str = "Log-Test-Secret-0ne!x";
const NEW_PASSWORD: &str = "Log-Test-Secret-Tw0!y";
const WRONG_PASSWORD: &str = "Log-Test-Wr0ng-Guess!z";
const TRUNCATED_PASSWORD: &str = "Log-Test-Truncat3d!w";

fn userhub(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_userhub"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `userhub serve` on a free port, its standard error read by a thread.
struct Server {
    child: Child,
    address: String,
    reader: JoinHandle<Vec<String>>,
}

impl Server {
    fn start(database_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_userhub"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--argon2-memory-kib",
                "256",
                "--argon2-iterations",
                "1",
                "--hash-concurrency",
                "1",
                "--workers",
                "1",
            ])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "debug")
            .env("USERHUB_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (listening, address) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once("userhub listening on http://") {
                    let address = rest.split('"').next().unwrap_or_default();
                    let _ = listening.send(address.to_owned());
                }
                lines.push(line);
            }
            lines
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not say where it listens");
        Server {
            child,
            address: format!("http://{address}"),
            reader,
        }
    }

    /// Stop the server and answer every line it logged.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reader.join().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log() {
    let folder = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", folder.path().join("logs.db").display());
    assert!(userhub(&database_url, &["migrate"]).status.success());
    assert!(
        userhub(&database_url, &["tenant", "create", "acme"])
            .status
            .success()
    );
    let created = userhub(
        &database_url,
        &["api-key", "create", "--tenant", "acme", "--role", "ADMIN"],
    );
    assert!(created.status.success(), "{created:?}");
    let key = String::from_utf8(created.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();

    let server = Server::start(&database_url);
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.address);
    let mut requests = 0;

    let mut send = async |request: reqwest::RequestBuilder| -> (StatusCode, Value) {
        requests += 1;
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    };

    let (status, user) = send(client.post(url("/v1/users/create")).bearer_auth(&key).json(
        &json!({
            "username": "logtest@example.com",
            "password": PASSWORD,
            "firstName": "Log",
            "lastName": "Test",
            "locale": "en_US",
            "timezone": "Europe/Zurich",
            "roles": ["STANDARD_USER"],
            "status": "ACTIVE",
        }),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let id = user["userId"].as_str().unwrap().to_owned();

    let login = |password: &str| {
        client
            .post(url("/v1/auth/login"))
            .header("tenant", "acme")
            .json(&json!({"username": "logtest@example.com", "password": password}))
    };
    let (status, _) = send(login(WRONG_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, tokens) = send(login(PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();

    let (status, me) = send(client.get(url("/v1/users/me")).bearer_auth(&access)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, renewed) = send(
        client
            .post(url("/v1/auth/refresh"))
            .json(&json!({"refreshToken": refresh})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let access2 = renewed["accessToken"].as_str().unwrap().to_owned();
    let refresh2 = renewed["refreshToken"].as_str().unwrap().to_owned();
    let (status, changed) = send(
        client
            .post(url("/v1/users/change-password"))
            .bearer_auth(&access2)
            .json(&json!({"userId": id, "oldPassword": PASSWORD, "newPassword": NEW_PASSWORD})),
    )
    .await;
    assert!(status.is_success(), "{status} {changed}");

    // SELISE Blocks: the key in its header and again in the query string.
    let (status, blocks) = send(
        client
            .get(url(&format!(
                "/idp/v1/Iam/GetUser?Id={id}&ProjectKey={key}"
            )))
            .header("x-blocks-key", &key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{blocks}");
    // A key and a token where no route takes them: the query of a 404.
    let (status, _) = send(client.get(url(&format!("/nowhere?key={key}&token={access2}")))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A body cut short in the middle of a password.
    let (status, _) = send(
        client
            .post(url("/v1/auth/login"))
            .header("tenant", "acme")
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"username": "logtest@example.com", "password": "{TRUNCATED_PASSWORD}"#
            )),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A bad bearer credential that is a real key's neighbour.
    let (status, _) = send(
        client
            .get(url("/v1/users/me"))
            .bearer_auth(format!("{key}x")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let store = Store::open(&database_url, StoreOptions::default()).unwrap();
    let tenant = store
        .find_tenant_by_name(&TenantName::parse("acme").unwrap())
        .unwrap()
        .unwrap();
    let stored = store
        .get_user(tenant.id, UserId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    let password_hash = stored.password.unwrap().as_phc().to_owned();
    let hash_part = password_hash.rsplit('$').next().unwrap().to_owned();

    let lines = server.stop();
    let log = lines.join("\n");
    // `uhk_<hex prefix>_<base64url secret>`: the secret itself may hold `_`.
    let key_secret = key
        .strip_prefix(API_KEY_MARK)
        .and_then(|rest| rest.split_once('_'))
        .map(|(_, secret)| secret.to_owned())
        .unwrap();
    for (name, secret) in [
        ("the API key", key.clone()),
        ("the API key's secret part", key_secret),
        ("the API key's hash", sha256_hex(&key)),
        ("the password", PASSWORD.to_owned()),
        ("the new password", NEW_PASSWORD.to_owned()),
        ("the wrong password", WRONG_PASSWORD.to_owned()),
        (
            "the password of a malformed body",
            TRUNCATED_PASSWORD.to_owned(),
        ),
        ("the access token", access.clone()),
        ("the access token's hash", sha256_hex(&access)),
        ("the refresh token", refresh.clone()),
        ("the refresh token's hash", sha256_hex(&refresh)),
        ("the renewed access token", access2.clone()),
        ("the renewed refresh token", refresh2.clone()),
        ("the stored password hash", password_hash.clone()),
        ("the stored password hash's digest", hash_part),
    ] {
        assert!(secret.len() >= 16, "{name} is too short to search for");
        assert!(!log.contains(&secret), "{name} is in the log:\n{log}");
    }

    // Every line is one JSON object; one access line per request, each
    // with its request id, dialect, route pattern, status and latency.
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access_lines: Vec<&Value> = parsed
        .iter()
        .filter(|l| l["target"] == "userhub::access")
        .collect();
    assert_eq!(access_lines.len(), requests, "{log}");
    for line in &access_lines {
        for member in ["id", "dialect", "method", "route", "status", "latency_ms"] {
            assert!(!line[member].is_null(), "{member} missing: {line}");
        }
    }
    assert!(access_lines.iter().any(|l| l["dialect"] == "blocks"
        && l["route"] == "/idp/v1/Iam/GetUser"
        && l["status"] == 200));
    assert!(
        access_lines
            .iter()
            .any(|l| l["route"] == "unmatched" && l["status"] == 404)
    );
}
