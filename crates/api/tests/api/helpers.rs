//! `spawn_app`: the real server on 127.0.0.1:0 over a fresh database, and
//! the requests the tests make of it.
//!
//! The databases come from `userhub_testkit`: SQLite, a file in a temporary
//! folder; PostgreSQL, a database of its own on the server in
//! `TEST_DATABASE_URL`, dropped afterwards. The PostgreSQL tests are
//! `#[ignore]`d, saying they need that variable (`make test` runs them when
//! it is set); one made to run without it fails, saying so.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use userhub_api::app::{build_server, open_store};
use userhub_api::config::Config;
use userhub_api::secrets;
use userhub_api::state::AppState;
use userhub_domain::credentials::ApiKey;
use userhub_domain::password::HashParams;
use userhub_domain::repository::{ApiKeyRepository, TenantRepository, UserRepository};
use userhub_domain::tenant::{Tenant, TenantName};
use userhub_domain::types::{ApiKeyId, Role, UserId};
use userhub_domain::user::User;
use userhub_storage::Store;
pub use userhub_testkit::Backend;
use userhub_testkit::TestDatabase;

/// A password every policy accepts.
pub const STRONG: &str = "newStr0ng!P@ssw0rd";

/// Cheap argon2 so the suite is fast; production uses OWASP's parameters.
pub const CHEAP: HashParams = HashParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

/// Instantiate each test once per backend: `both_backends!(a, b);` expects
/// `async fn a(backend: Backend)` in the same module and makes
/// `sqlite::a` and `postgres::a`. Tests that need PostgreSQL (taking the
/// database away) follow `; postgres_only:`, as in
/// `both_backends!(a, b; postgres_only: c)`. (`userhub_testkit`'s macro,
/// under the name the test modules use.)
#[macro_export]
macro_rules! both_backends {
    ($($tests:tt)*) => {
        userhub_testkit::both_backends_async!($($tests)*);
    };
}

pub fn test_config() -> Config {
    Config {
        hash_params: CHEAP,
        hash_concurrency: 2,
        hash_queue_wait: Duration::from_secs(60),
        workers: Some(2),
        pool_size: 8,
        shutdown_timeout: Duration::from_secs(1),
        ..Config::default()
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub database_url: String,
    /// Tenant `acme`, made at start.
    pub tenant: Tenant,
    /// An ADMIN API key of `acme`.
    pub admin_key: String,
    config: Config,
    server: Option<(ServerHandle, JoinHandle<()>)>,
    // Dropped last: the server and the store go first.
    database: TestDatabase,
}

/// The app on a fresh database on `backend`.
///
/// Always `Some`: the `Option` stays so that the tests'
/// `let Some(app) = spawn_app(backend).await else { return };` compiles.
/// Without `TEST_DATABASE_URL` a PostgreSQL test fails here, saying why; it
/// no longer returns early as if it had passed.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let database = TestDatabase::new(backend);
    let url = database.url().to_owned();
    let mut config = test_config();
    config.database_url = url.clone();
    configure(&mut config);
    let store = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_store(&config))
            .await
            .unwrap()
            .unwrap()
    };
    let tenant = Tenant::new(
        TenantName::parse("acme").unwrap(),
        userhub_api::state::now(),
    );
    store.create_tenant(&tenant).unwrap();
    let mut app = TestApp {
        address: String::new(),
        // The server closes a connection idle for its keep-alive (5 s); a
        // client that reuses one at that moment gets a reset. Retire idle
        // connections well before, as a production client should.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        store,
        database_url: url,
        admin_key: String::new(),
        tenant,
        config,
        server: None,
        database,
    };
    app.admin_key = app.key(app.tenant.clone(), &[Role::Admin]);
    app.start();
    Some(app)
}

impl TestApp {
    fn start(&mut self) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        self.address = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(self.store.clone(), self.config.clone()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = build_server(state, listener).unwrap();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            });
        });
        let handle = rx.recv().unwrap();
        self.server = Some((handle, thread));
    }

    fn stop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            // `stop` sends the command before its future is polled.
            drop(handle.stop(false));
            let _ = thread.join();
        }
    }

    /// Take the database away under the running server (PostgreSQL only:
    /// refuse new connections and end the open ones; the server's pool
    /// cannot reconnect). Returns false on SQLite, whose file cannot be
    /// taken from connections that hold it open.
    pub fn lose_database(&self) -> bool {
        let Some(database) = self.database.as_postgres() else {
            return false;
        };
        database.set_allow_connections(false);
        database.drop_connections();
        true
    }

    /// Make the database refuse new connections and end every open one
    /// (`refuse`), or accept them again (PostgreSQL only; panics on SQLite).
    pub fn refuse_connections(&self, refuse: bool) {
        let database = self
            .database
            .as_postgres()
            .expect("only a PostgreSQL database can refuse connections");
        database.set_allow_connections(!refuse);
        if refuse {
            database.drop_connections();
        }
    }

    /// Restart the server on the same database with a changed configuration.
    pub fn restart_with(&mut self, configure: impl FnOnce(&mut Config)) {
        self.stop();
        configure(&mut self.config);
        self.start();
    }

    /// A new API key of `tenant` with `roles`.
    pub fn key(&self, tenant: Tenant, roles: &[Role]) -> String {
        let (prefix, secret) = secrets::new_api_key();
        let key = ApiKey {
            id: ApiKeyId::new_random(),
            tenant: tenant.id,
            prefix,
            key_hash: secret.hash(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            label: None,
            created_at: userhub_api::state::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.create_api_key(&key).unwrap();
        secret.expose().to_owned()
    }

    /// A new tenant.
    pub fn new_tenant(&self, name: &str) -> Tenant {
        let tenant = Tenant::new(TenantName::parse(name).unwrap(), userhub_api::state::now());
        self.store.create_tenant(&tenant).unwrap();
        tenant
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    /// Create a user through iklim as `acme`'s ADMIN; answers its JSON.
    pub async fn create_user(&self, username: &str, roles: &[&str], status: &str) -> Value {
        let response = self
            .post(
                "/v1/users/create",
                &self.admin_key,
                &json!({
                    "username": username,
                    "password": STRONG,
                    "firstName": "Test",
                    "lastName": "User",
                    "locale": "en_US",
                    "timezone": "Europe/Zurich",
                    "roles": roles,
                    "status": status,
                }),
            )
            .await;
        let status_code = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status_code, StatusCode::OK, "{body}");
        body
    }

    /// Log in to `acme`; answers the access and refresh tokens.
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let response = self.login_response(username, password).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            body["accessToken"].as_str().unwrap().to_owned(),
            body["refreshToken"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn login_response(&self, username: &str, password: &str) -> Response {
        self.request(Method::POST, "/v1/auth/login", None)
            .header("tenant", "acme")
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// The stored user.
    pub fn stored_user(&self, id: &Value) -> User {
        let id = UserId::parse(id.as_str().unwrap()).unwrap();
        self.store.get_user(self.tenant.id, id).unwrap().unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status and JSON body of a response.
pub async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

/// The fields named in an error body, in order.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}
