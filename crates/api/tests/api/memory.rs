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

use std::sync::{Arc, Barrier, Mutex, PoisonError};

use serde_json::json;

use userhub_testkit::{Backend, TestDatabase};

use crate::helpers::STRONG;
use crate::process::{Server, admin, exchange, post, wait_until_healthy};

/// Hashing slots of the server under test.
const CONCURRENCY: u64 = 2;
/// What the issue allows each slot: its 19 MiB argon2 buffer and some room
/// for everything else a storm leaves behind. The buffers are taken when the
/// server starts, so they are part of `idle`; what this leaves room for is
/// the rest: 20-32 MiB in these storms (debug build; about 25 MiB in a
/// release build, the same before and after issue 8), mostly the stacks
/// and allocator arenas of the ~200 blocking threads that the storm's
/// database calls occupy (one per request waiting for a connection).
const PER_SLOT_KIB: u64 = 25 * 1024;
const STORMS: usize = 10;
const REQUESTS_PER_STORM: usize = 200;
/// How far the last five storms may go above the highest of the first
/// five, besides what new blocking threads bring (below). Room for slow
/// settling: arena fragmentation, SQLite's page cache as the database gains
/// users (measured: at most 2 MiB between the
/// halves once new threads are accounted for). Growth per storm shows five
/// times over, so this catches 1.6 MiB a storm; and it is less than one
/// argon2 buffer (19 MiB), so a single buffer kept beyond the pool's fails.
const NOISE_KIB: u64 = 8 * 1024;
/// What one more blocking thread may add. A storm leaves behind as many
/// blocking threads as its peak of requests waiting on the database needed
/// (between 60 and 220 here, depending on timing), and a later storm can
/// raise that mark: each new thread's stack and allocator state cost about
/// 120 KiB (debug build). Before issue 8 a new thread that hashed kept an
/// argon2 buffer: 19 MiB, 76 times this.
const PER_THREAD_KIB: u64 = 256;

/// What one storm's requests were answered.
#[derive(Debug, Default)]
struct Tally {
    created: usize,
    refused_logins: usize,
    busy: usize,
}

/// 200 requests at once, each on its own connection from its own thread,
/// released together: half creates with a password, half logins of users
/// that do not exist. (Threads rather than an async client, so that how
/// many requests are in flight at once does not depend on how busy the
/// test's own runtime is.)
fn storm(server: &Server, key: &str, round: usize) -> Tally {
    let go = Arc::new(Barrier::new(REQUESTS_PER_STORM));
    let clients: Vec<_> = (0..REQUESTS_PER_STORM)
        .map(|i| {
            let is_create = i % 2 == 0;
            let request = if is_create {
                post(
                    &server.address,
                    "/v1/users/create",
                    &[format!("Authorization: Bearer {key}")],
                    &json!({
                        "username": format!("storm{round}-{i}@example.com"),
                        "password": STRONG,
                        "firstName": "Storm",
                        "lastName": "User",
                        "locale": "en_US",
                        "timezone": "Europe/Zurich",
                        "roles": ["STANDARD_USER"],
                        "status": "ACTIVE",
                    }),
                )
            } else {
                post(
                    &server.address,
                    "/v1/auth/login",
                    &["tenant: acme".to_owned()],
                    &json!({
                        "username": format!("nobody{round}-{i}@example.com"),
                        "password": STRONG,
                    }),
                )
            };
            let (address, go) = (server.address.clone(), Arc::clone(&go));
            std::thread::spawn(move || {
                go.wait();
                (is_create, exchange(&address, &request))
            })
        })
        .collect();
    let mut tally = Tally::default();
    for client in clients {
        let (is_create, answer) = client.join().unwrap();
        match (is_create, answer) {
            (_, Ok((503, _))) => tally.busy += 1,
            (true, Ok((200, _))) => tally.created += 1,
            (false, Ok((401, _))) => tally.refused_logins += 1,
            (_, answer) => panic!(
                "create: {is_create}, answered {answer:?}\nthe server's log:\n{}",
                server.log_tail()
            ),
        }
    }
    tally
}

fn memory_stays_bounded_under_password_storms(backend: Backend) {
    // One storm test at a time: two servers storming the same two cores
    // would only slow each other down.
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let database = TestDatabase::new(backend);
    admin(database.url(), &["migrate"]);
    admin(database.url(), &["tenant", "create", "acme"]);
    let out = admin(
        database.url(),
        &["api-key", "create", "--tenant", "acme", "--role", "ADMIN"],
    );
    let key = out.lines().last().unwrap().trim().to_owned();
    let server = Server::start(
        database.url(),
        &[
            ("USERHUB_HASH_CONCURRENCY", CONCURRENCY.to_string()),
            ("USERHUB_WORKERS", "2".to_owned()),
        ],
    );
    wait_until_healthy(&server);

    let idle = server.rss_kib();
    let bound = idle + CONCURRENCY * PER_SLOT_KIB;
    let mut after = Vec::new();
    let (mut created, mut refused) = (0, 0);
    for round in 0..STORMS {
        let tally = storm(&server, &key, round);
        let rss = server.rss_kib();
        let threads = server.thread_names().len() as u64;
        eprintln!(
            "{backend:?} storm {}: RSS {rss} KiB (idle {idle} KiB, bound {bound} KiB), {threads} threads, {tally:?}",
            round + 1,
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
        after.push((rss, threads));
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

    for (round, (rss, _)) in after.iter().enumerate() {
        assert!(
            *rss <= bound,
            "after storm {}: RSS {rss} KiB > idle {idle} KiB + {CONCURRENCY} × {PER_SLOT_KIB} KiB; (RSS, threads) after each: {after:?}",
            round + 1
        );
    }
    // No growth: the last five storms stay where the first five left RSS,
    // but for what any new blocking threads explain.
    let (first, last) = after.split_at(STORMS / 2);
    let first_rss = first.iter().map(|(rss, _)| *rss).max().unwrap_or(idle);
    let first_threads = first.iter().map(|(_, n)| *n).max().unwrap_or(0);
    for (round, (rss, threads)) in last.iter().enumerate() {
        let new_threads = threads.saturating_sub(first_threads);
        let allowed = first_rss + NOISE_KIB + new_threads * PER_THREAD_KIB;
        assert!(
            *rss <= allowed,
            "RSS grew: {rss} KiB after storm {} > {first_rss} KiB (the most after storms 1-{}) + {NOISE_KIB} KiB + {new_threads} new threads × {PER_THREAD_KIB} KiB; (RSS, threads) after each: {after:?}",
            STORMS / 2 + round + 1,
            STORMS / 2
        );
    }
}

/// One storm test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

userhub_testkit::both_backends!(memory_stays_bounded_under_password_storms);
