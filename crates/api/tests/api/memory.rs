//! Memory under a password storm (issue 8): the real `userhub` binary,
//! argon2id at its default 19 MiB, two hashing slots, and ten storms of 200
//! concurrent requests that each cost a hash: creates with a password and
//! logins of unknown users (which verify against a dummy hash, so they need
//! no credential). The server's resident memory, read from
//! `/proc/<pid>/status` after each storm, must stay within idle +
//! concurrency × 25 MiB and must not grow from storm to storm.
//!
//! Not a timing test: 503s (no slot in time) are expected and fine; the
//! test only asks that every storm hashed something, which any machine
//! does within the 2-second queue wait.
#![cfg(target_os = "linux")]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::STRONG;

/// Hashing slots of the server under test.
const CONCURRENCY: u64 = 2;
/// What the issue allows each slot: its 19 MiB argon2 buffer and some room
/// for everything else a storm leaves behind. The buffers are taken when the
/// server starts, so they are part of `idle`; what this leaves room for is
/// the rest: about 26 MiB, the same before and after issue 8, mostly the
/// stacks and allocator arenas of the ~200 blocking threads that the
/// storm's database calls occupy (one per request waiting for a connection).
const PER_SLOT_KIB: u64 = 25 * 1024;
const STORMS: usize = 10;
const REQUESTS_PER_STORM: usize = 200;
/// Allowed growth after the first two storms, which warm the process up
/// (blocking threads spawned, arenas and code pages touched). Less than
/// one argon2 buffer (19 MiB), so a buffer kept beyond the pool's fails it,
/// as does the old per-thread hoarding (hundreds of MiB); more than the
/// slow, flattening growth of allocator arenas and SQLite's page cache as
/// the database gains users (measured: at most 6.5 MiB over storms 3-10).
const NOISE_KIB: u64 = 12 * 1024;

/// A database for the server: a temporary SQLite file, or a PostgreSQL
/// database made from `TEST_DATABASE_URL` and dropped afterwards.
enum Database {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Database {
    /// `None` when PostgreSQL is not configured (skipped, as in
    /// `helpers.rs`; under `CI=true` that is a failure).
    fn new(postgres: bool) -> Option<Self> {
        if !postgres {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/userhub.db", dir.path().display());
            return Some(Database::Sqlite { _dir: dir, url });
        }
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests cannot run"
            );
            eprintln!("skipped: set TEST_DATABASE_URL to run the PostgreSQL tests");
            return None;
        };
        use diesel::{Connection, RunQueryDsl};
        let name = format!("userhub_memory_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .unwrap();
        // Replace the database name (the path) of the admin URL.
        let (base, query) = admin_url
            .split_once('?')
            .map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
        let authority = base.find("://").map_or(0, |i| i + 3);
        let path = base[authority..]
            .find('/')
            .map_or(base.len(), |i| authority + i);
        let mut url = format!("{}/{name}", &base[..path]);
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        Some(Database::Postgres {
            admin_url,
            name,
            url,
        })
    }

    fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Database::Postgres {
            admin_url, name, ..
        } = self
        {
            use diesel::{Connection, RunQueryDsl};
            if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

/// The `userhub` binary with a clean environment for its tunables, so that
/// the defaults (argon2's 19 MiB among them) are what runs.
fn userhub(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_userhub"));
    for (name, _) in std::env::vars() {
        if name.starts_with("USERHUB_") || name == "MALLOC_MMAP_THRESHOLD_" {
            command.env_remove(name);
        }
    }
    command.env("DATABASE_URL", database_url);
    command
}

/// Run an administrator command; its standard output.
fn admin(database_url: &str, args: &[&str]) -> String {
    let output = userhub(database_url)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(output.status.success(), "userhub {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The running server; killed when dropped, so a failing test leaves
/// no process behind.
struct Server {
    child: Child,
    address: String,
    /// The last lines the server logged, but for its 200 and 401 answers.
    log: Arc<Mutex<VecDeque<String>>>,
}

/// Log lines kept for a failure message.
const LOG_TAIL: usize = 40;

impl Server {
    fn start(database_url: &str) -> Self {
        let mut child = userhub(database_url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("USERHUB_HASH_CONCURRENCY", CONCURRENCY.to_string())
            .env("USERHUB_WORKERS", "2")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The server names its port in its log; keep reading the log after
        // that (one access line a request), or a full pipe would stall it.
        let stderr = child.stderr.take().unwrap();
        let (found, address) = mpsc::channel();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // The last lines, for the failure message; access lines
                // of answered requests tell nothing.
                if !line.contains("\" 200 ") && !line.contains("\" 401 ") {
                    let mut tail = log.lock().unwrap_or_else(PoisonError::into_inner);
                    if tail.len() == LOG_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line.clone());
                }
                if let Some(at) = line.find("listening on http://")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(line[at + "listening on ".len()..].trim().to_owned());
                }
            }
        });
        let mut server = Server {
            child,
            address: String::new(),
            log: tail,
        };
        match address.recv_timeout(Duration::from_secs(120)) {
            Ok(address) => server.address = address,
            Err(_) => panic!(
                "the server did not say where it listens: {:?}",
                server.child.try_wait()
            ),
        }
        server
    }

    /// The server's last log lines, one a line.
    fn log_tail(&self) -> String {
        let tail = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Resident memory in KiB, from `/proc/<pid>/status`.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in {status}"))
    }

    /// The names of the server's threads.
    fn thread_names(&self) -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `/healthz` until it answers 200.
async fn wait_until_healthy(client: &reqwest::Client, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answer = client
            .get(format!("{}/healthz", server.address))
            .send()
            .await;
        if matches!(&answer, Ok(a) if a.status() == StatusCode::OK) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never answered 200: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one storm's requests were answered.
#[derive(Debug, Default)]
struct Tally {
    created: usize,
    refused_logins: usize,
    busy: usize,
}

/// 200 requests at once: half creates with a password, half logins of
/// users that do not exist.
async fn storm(client: &reqwest::Client, server: &Server, key: &str, round: usize) -> Tally {
    let requests = (0..REQUESTS_PER_STORM).map(|i| {
        let client = client.clone();
        let base = server.address.clone();
        let key = key.to_owned();
        async move {
            let is_create = i % 2 == 0;
            let request = if is_create {
                client
                    .post(format!("{base}/v1/users/create"))
                    .bearer_auth(&key)
                    .json(&json!({
                        "username": format!("storm{round}-{i}@example.com"),
                        "password": STRONG,
                        "firstName": "Storm",
                        "lastName": "User",
                        "locale": "en_US",
                        "timezone": "Europe/Zurich",
                        "roles": ["STANDARD_USER"],
                        "status": "ACTIVE",
                    }))
            } else {
                client
                    .post(format!("{base}/v1/auth/login"))
                    .header("tenant", "acme")
                    .json(&json!({
                        "username": format!("nobody{round}-{i}@example.com"),
                        "password": STRONG,
                    }))
            };
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    (is_create, Ok(status), body)
                }
                Err(error) => (is_create, Err(error.to_string()), String::new()),
            }
        }
    });
    let mut tally = Tally::default();
    for (is_create, status, body) in futures_join_all(requests).await {
        match (is_create, status) {
            (_, Ok(StatusCode::SERVICE_UNAVAILABLE)) => tally.busy += 1,
            (true, Ok(StatusCode::OK)) => tally.created += 1,
            (false, Ok(StatusCode::UNAUTHORIZED)) => tally.refused_logins += 1,
            (_, outcome) => panic!(
                "create: {is_create}, answered {outcome:?}: {body}\nthe server's log:\n{}",
                server.log_tail()
            ),
        }
    }
    tally
}

/// Run every future at once on this runtime and collect their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

async fn memory_stays_bounded_under_password_storms(postgres: bool) {
    let Some(database) = Database::new(postgres) else {
        return;
    };
    let url = database.url().to_owned();
    let key = tokio::task::spawn_blocking(move || {
        admin(&url, &["tenant", "create", "acme"]);
        let out = admin(
            &url,
            &["api-key", "create", "--tenant", "acme", "--role", "ADMIN"],
        );
        out.lines().last().unwrap().trim().to_owned()
    })
    .await
    .unwrap();
    let url = database.url().to_owned();
    let server = tokio::task::spawn_blocking(move || Server::start(&url))
        .await
        .unwrap();
    // Generous: on a loaded 2-core machine a request may queue for long.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        // A new connection a request, as a storm of clients would make, and
        // no race with the server closing an idle kept-alive one.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    wait_until_healthy(&client, &server).await;

    let idle = server.rss_kib();
    let bound = idle + CONCURRENCY * PER_SLOT_KIB;
    let mut after = Vec::new();
    let (mut created, mut refused) = (0, 0);
    for round in 0..STORMS {
        let tally = storm(&client, &server, &key, round).await;
        let rss = server.rss_kib();
        eprintln!(
            "{} storm {}: RSS {} KiB (idle {idle} KiB, bound {bound} KiB), {tally:?}",
            if postgres { "postgres" } else { "sqlite" },
            round + 1,
            rss
        );
        // Something was hashed, or the storm proved nothing. (Which kind
        // gets the slots is up to timing: the first jobs queued always start.)
        assert!(
            tally.created + tally.refused_logins > 0,
            "storm {}: {tally:?}",
            round + 1
        );
        created += tally.created;
        refused += tally.refused_logins;
        after.push(rss);
    }
    assert!(
        created > 0 && refused > 0,
        "created {created}, refused {refused}"
    );

    // All argon2 work ran on exactly CONCURRENCY hashing threads.
    let names = server.thread_names();
    let hashing = names
        .iter()
        .filter(|n| n.starts_with("userhub-hash-"))
        .count();
    assert_eq!(hashing as u64, CONCURRENCY, "{names:?}");

    for (round, rss) in after.iter().enumerate() {
        assert!(
            *rss <= bound,
            "after storm {}: RSS {rss} KiB > idle {idle} KiB + {CONCURRENCY} × {PER_SLOT_KIB} KiB; all: {after:?}",
            round + 1
        );
    }
    let warm = after[0].max(after[1]);
    for (round, rss) in after.iter().enumerate().skip(2) {
        assert!(
            *rss <= warm + NOISE_KIB,
            "RSS grew: {rss} KiB after storm {} > {warm} KiB (after the first two) + {NOISE_KIB} KiB; all: {after:?}",
            round + 1
        );
    }
}

/// One storm test at a time: two servers storming the same two cores
/// would only slow each other down.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

mod sqlite {
    #[tokio::test]
    async fn memory_stays_bounded_under_password_storms() {
        let _turn = super::ONE_AT_A_TIME.lock().await;
        super::memory_stays_bounded_under_password_storms(false).await;
    }
}

mod postgres {
    #[tokio::test]
    async fn memory_stays_bounded_under_password_storms() {
        let _turn = super::ONE_AT_A_TIME.lock().await;
        super::memory_stays_bounded_under_password_storms(true).await;
    }
}
