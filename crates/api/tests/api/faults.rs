//! Database faults under load (issue 15, point 6), against the real
//! `userhub` binary.
//!
//! - PostgreSQL: while a bounded load of creates and reads runs, the test
//!   database's sessions are ended again and again (`pg_terminate_backend`
//!   from a second connection), then the database refuses connections for
//!   5 s (`ALLOW_CONNECTIONS false`, then `true`). Every answer must be 2xx,
//!   or 503 with `Retry-After`; never 500. The service must serve again
//!   once the database is back (the time it takes is measured and printed,
//!   not asserted), and every acknowledged create must be readable after.
//! - SQLite: the server is killed (`SIGKILL`) in the middle of creates,
//!   three times over; after each, `PRAGMA integrity_check` answers `ok` and
//!   every create that was answered 200 is there.
//!
//! Each prints its counts (run with `--nocapture` to see them when they pass).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::{Value, json};
use userhub_domain::repository::{TenantRepository, UserRepository};
use userhub_domain::tenant::TenantName;
use userhub_domain::types::UserId;
use userhub_storage::{Store, StoreOptions};
use userhub_testkit::{Backend, TestDatabase};

use crate::helpers::STRONG;
use crate::process::{Answer, Server, acme_admin_key, get, post, send, wait_until_healthy};

/// Concurrent clients of the load.
const CLIENTS: usize = 4;
/// Each client's pause between two requests: the load is bounded in rate,
/// not only in time.
const PACE: Duration = Duration::from_millis(5);
/// Most requests a client sends, whatever happens: the load stops by itself.
const MOST_REQUESTS_PER_CLIENT: usize = 5_000;
/// How many times the database's sessions are ended.
const KILLS: usize = 5;
/// How long the database refuses connections.
const REFUSAL: Duration = Duration::from_secs(5);
/// The longest any wait on the service may take before the test gives up:
/// generous, so that only a service that does not recover fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// The server's settings for these tests: cheap hashes, and a short wait
/// for a database connection so a lost database is answered 503 quickly.
fn server_env() -> Vec<(&'static str, String)> {
    vec![
        ("USERHUB_ARGON2_MEMORY_KIB", "1024".to_owned()),
        ("USERHUB_ARGON2_ITERATIONS", "1".to_owned()),
        ("USERHUB_HASH_CONCURRENCY", "2".to_owned()),
        ("USERHUB_WORKERS", "2".to_owned()),
        ("USERHUB_POOL_SIZE", "4".to_owned()),
        ("USERHUB_DATABASE_WAIT_MS", "500".to_owned()),
    ]
}

fn bearer(key: &str) -> Vec<String> {
    vec![format!("Authorization: Bearer {key}")]
}

fn create_request(address: &str, key: &str, username: &str) -> Vec<u8> {
    post(
        address,
        "/v1/users/create",
        &bearer(key),
        &json!({
            "username": username,
            "password": STRONG,
            "firstName": "Fault",
            "lastName": "Test",
            "locale": "en_US",
            "timezone": "Europe/Zurich",
            "roles": ["STANDARD_USER"],
            "status": "ACTIVE",
        }),
    )
}

fn read_request(address: &str, key: &str, id: &str) -> Vec<u8> {
    get(address, &format!("/v1/accounts/{id}"), &bearer(key))
}

/// What the load was answered.
#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    ok: usize,
    unavailable: usize,
    /// 503 without `Retry-After`.
    unavailable_without_retry_after: usize,
    server_errors: usize,
    /// Anything else, and connections that failed: (what was sent, what came back).
    unexpected: Vec<(String, String)>,
    /// The creates answered 200: (username, user id).
    acknowledged: Vec<(String, String)>,
}

impl Tally {
    fn count(&mut self, what: &str, answer: &Result<Answer, String>) {
        self.requests += 1;
        match answer {
            Ok(answer) if (200..300).contains(&answer.status) => self.ok += 1,
            Ok(answer) if answer.status == 503 => {
                self.unavailable += 1;
                if answer.header("retry-after").is_none() {
                    self.unavailable_without_retry_after += 1;
                }
            }
            Ok(answer) => {
                if answer.status >= 500 {
                    self.server_errors += 1;
                }
                self.unexpected.push((
                    what.to_owned(),
                    format!("{} {}", answer.status, answer.body),
                ));
            }
            Err(e) => self.unexpected.push((what.to_owned(), e.clone())),
        }
    }
}

/// The load: `CLIENTS` threads, each alternating a create of a new user and
/// a read of one it created, until told to stop.
struct Load {
    tally: Arc<Mutex<Tally>>,
    /// 2xx answers so far (read without the lock, to wait on progress).
    ok: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    /// The load on the server at `address`; `tag` keeps its usernames apart
    /// from another load's.
    fn start(address: &str, key: &str, tag: &str) -> Load {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let ok = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..CLIENTS)
            .map(|client| {
                let (tally, ok, stop) = (Arc::clone(&tally), Arc::clone(&ok), Arc::clone(&stop));
                let (address, key, tag) = (address.to_owned(), key.to_owned(), tag.to_owned());
                std::thread::spawn(move || {
                    let mut mine: Vec<String> = Vec::new();
                    for i in 0..MOST_REQUESTS_PER_CLIENT {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let read = i % 2 == 1 && !mine.is_empty();
                        let (what, answer, username) = if read {
                            let id = &mine[i % mine.len()];
                            let answer = send(&address, &read_request(&address, &key, id));
                            (format!("read {id}"), answer, None)
                        } else {
                            let username = format!("fault{tag}-{client}-{i}@example.com");
                            let answer = send(&address, &create_request(&address, &key, &username));
                            (format!("create {username}"), answer, Some(username))
                        };
                        // A 2xx cut short (the server killed while it wrote)
                        // acknowledged nothing.
                        let answer = answer.and_then(|a| {
                            let complete = !(200..300).contains(&a.status)
                                || serde_json::from_str::<Value>(&a.body).is_ok();
                            if complete {
                                Ok(a)
                            } else {
                                Err(format!("an answer cut short: {} {:?}", a.status, a.body))
                            }
                        });
                        if matches!(&answer, Ok(a) if (200..300).contains(&a.status)) {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                        tally.count(&what, &answer);
                        if let (Some(username), Ok(answer)) = (username, &answer)
                            && answer.status == 200
                        {
                            let id = answer.json()["userId"].as_str().unwrap().to_owned();
                            mine.push(id.clone());
                            tally.acknowledged.push((username, id));
                        }
                        drop(tally);
                        std::thread::sleep(PACE);
                    }
                })
            })
            .collect();
        Load {
            tally,
            ok,
            stop,
            clients,
        }
    }

    /// Wait until `more` further requests were answered 2xx.
    fn wait_for_progress(&self, more: usize, server: &Server) {
        let target = self.ok.load(Ordering::Relaxed) + more;
        let deadline = Instant::now() + PATIENCE;
        while self.ok.load(Ordering::Relaxed) < target {
            assert!(
                Instant::now() < deadline,
                "the load made no progress within {PATIENCE:?}: {:?}\nthe server's log:\n{}",
                self.tally.lock().unwrap_or_else(PoisonError::into_inner),
                server.log_tail()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.join().unwrap();
        }
        Arc::try_unwrap(self.tally)
            .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
            .unwrap_or_else(|_| panic!("a client still holds the tally"))
    }
}

/// The store on `url`, and `acme`'s id in it.
fn open(url: &str) -> (Store, userhub_domain::types::TenantId) {
    let store = Store::open(url, StoreOptions::default()).unwrap();
    let tenant = store
        .find_tenant_by_name(&TenantName::parse("acme").unwrap())
        .unwrap()
        .unwrap();
    (store, tenant.id)
}

/// How many of the acknowledged creates are in the database with their
/// username; panics naming the first one missing.
fn verify_acknowledged(url: &str, acknowledged: &[(String, String)]) -> usize {
    let (store, tenant) = open(url);
    for (username, id) in acknowledged {
        let user = store
            .get_user(tenant, UserId::parse(id).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged create of {username} ({id}) is lost"));
        assert_eq!(user.username.as_str(), username);
    }
    acknowledged.len()
}

/// PostgreSQL: sessions ended five times, then 5 s of refused connections,
/// under load.
fn database_faults_under_load(backend: Backend) {
    assert_eq!(backend, Backend::Postgres);
    let database = TestDatabase::new(backend);
    let postgres = database.as_postgres().unwrap();
    let key = acme_admin_key(database.url());
    let server = Server::start(database.url(), &server_env());
    wait_until_healthy(&server);
    let load = Load::start(&server.address, &key, "pg");
    load.wait_for_progress(20, &server);

    // Sessions ended under the load, five times; the service serves again
    // after each.
    let mut ended = 0;
    for _ in 0..KILLS {
        ended += postgres.drop_connections();
        load.wait_for_progress(10, &server);
    }

    // The database refuses connections for REFUSAL (the fault's length, not
    // a wait for something), then accepts them again.
    postgres.set_allow_connections(false);
    ended += postgres.drop_connections();
    let refused_at = Instant::now();
    std::thread::sleep(REFUSAL);
    let refused_503 = load
        .tally
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .unavailable;
    postgres.set_allow_connections(true);
    let back = Instant::now();

    // Recovery: from the database's return to the first read answered 200
    // of a probe that asks every 10 ms.
    let probe_id = load
        .tally
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .acknowledged[0]
        .1
        .clone();
    let probe = read_request(&server.address, &key, &probe_id);
    let mut probes = 0;
    let recovery = loop {
        probes += 1;
        let answer = send(&server.address, &probe);
        if matches!(&answer, Ok(a) if a.status == 200) {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < PATIENCE,
            "the service did not recover within {PATIENCE:?} of the database's return: {answer:?}\nthe server's log:\n{}",
            server.log_tail()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    load.wait_for_progress(20, &server);
    let tally = load.finish();

    eprintln!(
        "faults (postgres): requests {}, 2xx {}, 503 {} ({} during the {:?} refusal), 500 {}, other {}, \
         sessions ended {ended} over {KILLS} kills and the refusal, refused for {:?}, \
         recovery {} ms after the database returned ({probes} probes), acknowledged writes {}",
        tally.requests,
        tally.ok,
        tally.unavailable,
        refused_503,
        REFUSAL,
        tally.server_errors,
        tally.unexpected.len(),
        back.duration_since(refused_at),
        recovery.as_millis(),
        tally.acknowledged.len(),
    );
    assert_eq!(tally.server_errors, 0, "{:?}", tally.unexpected);
    assert!(tally.unexpected.is_empty(), "{:?}", tally.unexpected);
    assert_eq!(tally.unavailable_without_retry_after, 0, "{tally:?}");
    assert!(
        tally.unavailable > 0,
        "no request met the refused database: {tally:?}"
    );
    drop(server);
    let verified = verify_acknowledged(database.url(), &tally.acknowledged);
    eprintln!("faults (postgres): writes verified {verified}");
}

#[derive(QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// `PRAGMA integrity_check` of the SQLite file at `path`: its lines.
fn integrity_check(path: &std::path::Path) -> Vec<String> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    diesel::sql_query("PRAGMA integrity_check")
        .load::<IntegrityRow>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| row.integrity_check)
        .collect()
}

/// Rounds of "serve, write, kill -9" on one SQLite file.
const KILL_ROUNDS: usize = 3;

/// SQLite: `kill -9` of the server during creates loses no acknowledged
/// create, and the file stays intact.
fn a_killed_server_loses_no_acknowledged_write(backend: Backend) {
    assert_eq!(backend, Backend::Sqlite);
    let database = TestDatabase::new(backend);
    let TestDatabase::Sqlite(file) = &database else {
        unreachable!("a SQLite database")
    };
    let key = acme_admin_key(database.url());
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let (mut requests, mut lost_in_flight) = (0, 0);
    for round in 1..=KILL_ROUNDS {
        let server = Server::start(database.url(), &server_env());
        wait_until_healthy(&server);
        // Everything acknowledged before is still there, through the server too.
        for (_, id) in &acknowledged {
            let answer = send(&server.address, &read_request(&server.address, &key, id));
            assert!(
                matches!(&answer, Ok(a) if a.status == 200),
                "round {round}: {id}: {answer:?}"
            );
        }
        let load = Load::start(&server.address, &key, &format!("round{round}"));
        load.wait_for_progress(60, &server);
        // Killed while the clients are writing.
        server.kill_9();
        let tally = load.finish();
        requests += tally.requests;
        // Requests in flight when the process died (and any sent after)
        // get no answer: they were never acknowledged. Any answer that came
        // is 2xx, or 503 with `Retry-After` (a busy writer).
        assert_eq!(tally.server_errors, 0, "{:?}", tally.unexpected);
        assert_eq!(tally.unavailable_without_retry_after, 0, "{tally:?}");
        for (what, error) in &tally.unexpected {
            assert!(
                !error.starts_with(|c: char| c.is_ascii_digit()),
                "round {round}: {what} was answered {error}"
            );
        }
        lost_in_flight += tally.unexpected.len();
        acknowledged.extend(tally.acknowledged);

        assert_eq!(integrity_check(file.path()), ["ok"], "round {round}");
        verify_acknowledged(database.url(), &acknowledged);
    }
    let verified = verify_acknowledged(database.url(), &acknowledged);
    eprintln!(
        "faults (sqlite): {KILL_ROUNDS} kill -9 rounds, requests {requests}, unanswered (in flight at the kill or sent after it) \
         {lost_in_flight}, acknowledged writes {}, writes verified {verified}, integrity_check ok",
        acknowledged.len()
    );
}

userhub_testkit::both_backends!(; postgres_only: database_faults_under_load);

#[test]
fn sqlite_kill_9_loses_no_acknowledged_write() {
    a_killed_server_loses_no_acknowledged_write(Backend::Sqlite);
}
