//! Failed password attempts: counted per (login, address) and per login,
//! shared by every connection, and atomic when attempts race; and the
//! secrets every node shares.

use std::sync::Barrier;

use time::Duration;
use userhub_domain::repository::LoginThrottleRepository;
use userhub_domain::throttle::{
    ClientAddress, Failures, Limit, ThrottleKey, ThrottlePolicy, Verdict,
};
use userhub_storage::Store;

use crate::support::{now, tenant};

/// `free` failures per address and `per_login` per login, then an hour.
fn policy(free: u32, per_login: u32) -> ThrottlePolicy {
    let hour = Duration::hours(1);
    ThrottlePolicy {
        per_address: Limit {
            free,
            first_delay: hour,
            max_delay: hour,
        },
        per_login: Limit {
            free: per_login,
            first_delay: hour,
            max_delay: hour,
        },
        forget_after: Duration::hours(2),
    }
}

fn key(tenant: &userhub_domain::tenant::Tenant, address: &str) -> ThrottleKey {
    ThrottleKey::new(
        tenant.id,
        "Ada",
        Some(ClientAddress::of(address.parse().unwrap())),
    )
}

fn counts_refuses_and_clears(store: &Store) {
    let tenant = tenant(store);
    let policy = policy(2, 3);
    let at = now();
    let attacker = key(&tenant, "203.0.113.1");
    for count in 1..=2 {
        assert_eq!(
            store.take_login_attempt(&attacker, &policy, at).unwrap(),
            Verdict::Allowed {
                per_address: Failures { count, last: at },
                per_login: Failures { count, last: at },
            }
        );
    }
    assert_eq!(
        store.take_login_attempt(&attacker, &policy, at).unwrap(),
        Verdict::Refused { retry_after: 3600 }
    );
    // Another address: its own count starts; the login's goes on.
    let user = key(&tenant, "198.51.100.7");
    assert_eq!(
        store.take_login_attempt(&user, &policy, at).unwrap(),
        Verdict::Allowed {
            per_address: Failures { count: 1, last: at },
            per_login: Failures { count: 3, last: at },
        }
    );
    // The login as a whole waits now, from a third address too.
    let third = key(&tenant, "192.0.2.3");
    assert!(matches!(
        store.take_login_attempt(&third, &policy, at).unwrap(),
        Verdict::Refused { .. }
    ));
    // The right password from the user's address clears the login's count
    // and that address's, not the attacker's.
    store.clear_login_failures(&user).unwrap();
    assert!(matches!(
        store.take_login_attempt(&third, &policy, at).unwrap(),
        Verdict::Allowed {
            per_login: Failures { count: 1, .. },
            ..
        }
    ));
    assert!(matches!(
        store.take_login_attempt(&attacker, &policy, at).unwrap(),
        Verdict::Refused { .. }
    ));
    // Forgotten after two hours (and pruned: the next attempt starts at 1).
    let later = at + Duration::hours(3);
    assert_eq!(
        store.take_login_attempt(&attacker, &policy, later).unwrap(),
        Verdict::Allowed {
            per_address: Failures {
                count: 1,
                last: later
            },
            per_login: Failures {
                count: 1,
                last: later
            },
        }
    );
    // Other tenants count apart.
    let other = tenant_key(store);
    assert!(matches!(
        store.take_login_attempt(&other, &policy, at).unwrap(),
        Verdict::Allowed {
            per_login: Failures { count: 1, .. },
            ..
        }
    ));
}

fn tenant_key(store: &Store) -> ThrottleKey {
    let tenant = tenant(store);
    key(&tenant, "203.0.113.1")
}

/// `n` threads released together, each taking one attempt for its key.
fn race(store: &Store, keys: &[ThrottleKey], policy: &ThrottlePolicy) -> usize {
    let barrier = Barrier::new(keys.len());
    let at = now();
    std::thread::scope(|s| {
        let handles: Vec<_> = keys
            .iter()
            .map(|key| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    store.take_login_attempt(key, policy, at).unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|v| matches!(v, Verdict::Allowed { .. }))
            .count()
    })
}

fn racing_attempts_from_one_address_pass_the_free_count_only(store: &Store) {
    let tenant = tenant(store);
    let keys = vec![key(&tenant, "203.0.113.1"); 16];
    assert_eq!(race(store, &keys, &policy(4, 100)), 4);
}

fn racing_attempts_from_many_addresses_pass_the_login_count_only(store: &Store) {
    let tenant = tenant(store);
    let keys: Vec<_> = (0..16)
        .map(|i| key(&tenant, &format!("203.0.113.{i}")))
        .collect();
    assert_eq!(race(store, &keys, &policy(100, 5)), 5);
}

fn a_server_secret_is_made_once_and_shared(store: &Store) {
    let first = store
        .server_secret("token_key", || "one".to_owned())
        .unwrap();
    assert_eq!(first, "one");
    let again = store
        .server_secret("token_key", || unreachable!("the secret exists"))
        .unwrap();
    assert_eq!(again, "one");
    // Racing makers: one value wins, and every racer reads it.
    let values: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| s.spawn(move || store.server_secret("other", || format!("v{i}")).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(values.iter().all(|v| v == &values[0]), "{values:?}");
}

backend_tests!(
    a_server_secret_is_made_once_and_shared,
    counts_refuses_and_clears,
    racing_attempts_from_one_address_pass_the_free_count_only,
    racing_attempts_from_many_addresses_pass_the_login_count_only,
);
