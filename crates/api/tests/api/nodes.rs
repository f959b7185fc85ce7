//! Several nodes, one PostgreSQL database: three `userhub serve` processes
//! (the real binary) behind no balancer but the test itself, which spreads
//! its requests across them. Everything two nodes must agree on is in the
//! database, so a decision taken on one node holds on the others:
//! throttling counts, refresh-token reuse, username uniqueness under a race,
//! API key revocation, continuation tokens.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use userhub_api::secrets;
use userhub_domain::credentials::ApiKey;
use userhub_domain::repository::{ApiKeyRepository, TenantRepository};
use userhub_domain::tenant::{Tenant, TenantName};
use userhub_domain::types::{ApiKeyId, Role, TenantId};
use userhub_storage::{Store, StoreOptions};
use userhub_testkit::TestDatabase;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, answer};

/// How long a node may take to start, or a request to be answered.
const DEADLINE: Duration = Duration::from_secs(60);

/// One `userhub serve` process; killed when dropped.
struct Node {
    child: Child,
    address: String,
    /// Its log lines so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    /// Start `userhub serve` on `database_url` on a free port, and wait
    /// (until the deadline) for it to say where it listens.
    fn start(database_url: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_userhub"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info")
            // The test is every client's proxy: it says which address each
            // request comes from.
            .env("USERHUB_TRUSTED_PROXIES", "127.0.0.1")
            // 3 free failures per (username, address), then a minute: no
            // answer depends on how fast the test runs.
            .env("USERHUB_LOGIN_FREE_FAILURES", "3")
            .env("USERHUB_LOGIN_FIRST_DELAY", "60")
            .env("USERHUB_LOGIN_MAX_DELAY", "60")
            // Cheap hashes, few threads: three nodes share two cores.
            .env("USERHUB_ARGON2_MEMORY_KIB", "256")
            .env("USERHUB_ARGON2_ITERATIONS", "1")
            .env("USERHUB_HASH_CONCURRENCY", "2")
            .env("USERHUB_HASH_QUEUE_WAIT_MS", "60000")
            .env("USERHUB_WORKERS", "2")
            .env("USERHUB_POOL_SIZE", "8")
            .env("USERHUB_SHUTDOWN_TIMEOUT", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        // Read the log to its end (a full pipe would stall the node); hand
        // over the address from the "listening" line.
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, address)) = line.split_once("listening on http://") {
                    let _ = tx.send(address.trim().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let address = match rx.recv_timeout(DEADLINE) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("userhub serve did not start within {DEADLINE:?}");
            }
        };
        Node {
            child,
            address,
            log,
        }
    }

    /// Wait (until the deadline) for a log line containing `text`.
    async fn logged(&self, text: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.log.lock().unwrap().iter().any(|l| l.contains(text)) {
            assert!(Instant::now() < deadline, "never logged: {text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three nodes on one database, and a client that spreads requests.
struct Cluster {
    nodes: Vec<Node>,
    client: reqwest::Client,
    store: Store,
    database_url: String,
    tenant: Tenant,
    admin_key: String,
    // Dropped last.
    _database: TestDatabase,
}

impl Cluster {
    async fn start() -> Cluster {
        let database = TestDatabase::new(Backend::Postgres);
        let database_url = database.url().to_owned();
        let store = {
            let url = database_url.clone();
            tokio::task::spawn_blocking(move || {
                let store = Store::open(&url, StoreOptions::default()).unwrap();
                store.migrate().unwrap();
                store
            })
            .await
            .unwrap()
        };
        let tenant = Tenant::new(
            TenantName::parse("acme").unwrap(),
            userhub_api::state::now(),
        );
        store.create_tenant(&tenant).unwrap();
        let (_, admin_key) = api_key(&store, tenant.id);
        // The nodes start together, as behind a balancer after a deploy:
        // they race to make the shared token key.
        let nodes = {
            let url = database_url.clone();
            tokio::task::spawn_blocking(move || {
                std::thread::scope(|s| {
                    let starting: Vec<_> = (0..3).map(|_| s.spawn(|| Node::start(&url))).collect();
                    starting
                        .into_iter()
                        .map(|h| h.join().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .await
            .unwrap()
        };
        let cluster = Cluster {
            nodes,
            // Idle connections retire before the nodes' 5 s keep-alive
            // closes them (see helpers.rs).
            client: reqwest::Client::builder()
                .timeout(DEADLINE)
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
            store,
            database_url,
            tenant,
            admin_key,
            _database: database,
        };
        for node in 0..3 {
            cluster.wait_ready(node).await;
        }
        cluster
    }

    async fn wait_ready(&self, node: usize) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let ready = self
                .client
                .get(self.url(node, "/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "node {node} never got ready");
            tokio::task::yield_now().await;
        }
    }

    fn url(&self, node: usize, path: &str) -> String {
        format!("http://{}{path}", self.nodes[node % 3].address)
    }

    fn request(&self, node: usize, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(node, path))
    }

    async fn create_user(&self, node: usize, username: &str) -> reqwest::Response {
        self.request(node, Method::POST, "/v1/users/create")
            .bearer_auth(&self.admin_key)
            .json(&json!({
                "username": username,
                "password": STRONG,
                "firstName": "Test",
                "lastName": "User",
                "locale": "en_US",
                "timezone": "Europe/Zurich",
                "roles": ["STANDARD_USER"],
                "status": "ACTIVE",
            }))
            .send()
            .await
            .unwrap()
    }

    async fn login(
        &self,
        node: usize,
        client: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        self.request(node, Method::POST, "/v1/auth/login")
            .header("tenant", "acme")
            .header("X-Forwarded-For", client)
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn me(&self, node: usize, token: &str) -> StatusCode {
        self.request(node, Method::GET, "/v1/users/me")
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn refresh(&self, node: usize, token: &str) -> (StatusCode, Value) {
        answer(
            self.request(node, Method::POST, "/v1/auth/refresh")
                .json(&json!({"refreshToken": token}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// A new ADMIN key of `tenant`: its id and the secret.
fn api_key(store: &Store, tenant: TenantId) -> (ApiKeyId, String) {
    let (prefix, secret) = secrets::new_api_key();
    let key = ApiKey {
        id: ApiKeyId::new_random(),
        tenant,
        prefix,
        key_hash: secret.hash(),
        roles: BTreeSet::from([Role::Admin]),
        label: None,
        created_at: userhub_api::state::now(),
        last_used_at: None,
        revoked_at: None,
    };
    store.create_api_key(&key).unwrap();
    (key.id, secret.expose().to_owned())
}

fn tokens(body: &Value) -> (String, String) {
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

async fn three_nodes_share_every_decision(_backend: Backend) {
    let cluster = Cluster::start().await;
    let (status, body) = answer(cluster.create_user(0, "ada@example.com").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Throttling counts across nodes: three failures from one address, one
    // on each node, and the fourth attempt waits on any node, even with the
    // right password. The real user's own address is not locked out.
    const ATTACKER: &str = "203.0.113.66";
    for node in 0..3 {
        let response = cluster
            .login(node, ATTACKER, "ada@example.com", "Wr0ng!Password#1")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "node {node}");
    }
    for node in 0..3 {
        let response = cluster
            .login(node, ATTACKER, "ada@example.com", STRONG)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "node {node}"
        );
        assert!(response.headers().contains_key("retry-after"));
    }
    let response = cluster
        .login(1, "198.51.100.7", "ada@example.com", STRONG)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The access log names the forwarded client, not the proxy.
    cluster.nodes[1]
        .logged("client=198.51.100.7 dialect=iklim method=POST route=/v1/auth/login status=200")
        .await;

    // A refresh token reused on another node ends the sessions everywhere.
    let (_, first) = answer(
        cluster
            .login(0, "198.51.100.7", "ada@example.com", STRONG)
            .await,
    )
    .await;
    let (old_access, old_refresh) = tokens(&first);
    let (status, renewed) = cluster.refresh(1, &old_refresh).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let (access, refresh) = tokens(&renewed);
    for node in 0..3 {
        assert_eq!(
            cluster.me(node, &access).await,
            StatusCode::OK,
            "node {node}"
        );
        assert_eq!(
            cluster.me(node, &old_access).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, _) = cluster.refresh(2, &old_refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for node in 0..3 {
        assert_eq!(
            cluster.me(node, &access).await,
            StatusCode::UNAUTHORIZED,
            "node {node}: the reuse ended the session"
        );
    }
    let (status, _) = cluster.refresh(0, &refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // 32 concurrent creates of one username (in 32 letter cases), spread
    // across the nodes: exactly one user.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..32_usize {
        let name: String = "racer@example.com"
            .chars()
            .enumerate()
            .map(|(bit, c)| {
                if bit < 5 && i >> bit & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let request = cluster
            .request(i, Method::POST, "/v1/users/create")
            .bearer_auth(&cluster.admin_key)
            .json(&json!({
                "username": name,
                "password": STRONG,
                "firstName": "Test",
                "lastName": "User",
                "locale": "en_US",
                "timezone": "Europe/Zurich",
                "roles": ["STANDARD_USER"],
                "status": "ACTIVE",
            }));
        racers.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses: Vec<StatusCode> = racers.join_all().await;
    let created = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let (status, page) = answer(
        cluster
            .request(
                2,
                Method::GET,
                "/nevis/api/v1/users?loginId=racer@example.com",
            )
            .bearer_auth(&cluster.admin_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // A continuation token from one node continues on another.
    let (status, page) = answer(
        cluster
            .request(0, Method::GET, "/nevis/api/v1/users?limit=1")
            .bearer_auth(&cluster.admin_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let token = page["_pagination"]["continuationToken"].as_str().unwrap();
    let (status, next) = answer(
        cluster
            .request(
                1,
                Method::GET,
                &format!("/nevis/api/v1/users?limit=1&continuationToken={token}"),
            )
            .bearer_auth(&cluster.admin_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_ne!(next["items"][0]["userId"], page["items"][0]["userId"]);

    // A key revoked (by the operator's command on the shared database) is
    // refused by every node at once.
    let (id, key) = api_key(&cluster.store, cluster.tenant.id);
    for node in 0..3 {
        let status = cluster.list_with(node, &key).await;
        assert_eq!(status, StatusCode::OK, "node {node}");
    }
    let revoked = Command::new(env!("CARGO_BIN_EXE_userhub"))
        .args(["api-key", "revoke", &id.to_string()])
        .env("DATABASE_URL", &cluster.database_url)
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    for node in 0..3 {
        let status = cluster.list_with(node, &key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "node {node}");
    }
}

impl Cluster {
    /// A read with the API key `key` on `node` (a Nevis list): its status.
    async fn list_with(&self, node: usize, key: &str) -> StatusCode {
        self.request(node, Method::GET, "/nevis/api/v1/users?limit=1")
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
    }
}

both_backends!(; postgres_only: three_nodes_share_every_decision);
