//! Races: the database decides, and exactly one writer wins.

use std::collections::BTreeSet;
use std::sync::Barrier;

use userhub_domain::repository::{
    CreateUserError, HistoryRepository, RotateSessionError, SessionRepository, UpdateUserError,
    UserRepository,
};
use userhub_domain::types::{Email, PersonName, Role, Username};
use userhub_domain::{NewUser, Patch, UniqueField, UserChanges};
use userhub_storage::Store;

use crate::credentials::session;
use crate::support::{change, create, creation, now, tenant, user};

/// Run `f(i)` on `n` threads released together; their results, by `i`.
fn race<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let barrier = &barrier;
                let f = &f;
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn one_of_32_creates_of_a_username_in_any_case_wins(store: &Store) {
    let tenant = tenant(store);
    // "racer" in 32 letter cases, each with its own e-mail address.
    let users: Vec<_> = (0..32)
        .map(|i: usize| {
            let name: String = "racer"
                .chars()
                .enumerate()
                .map(|(bit, c)| {
                    if i >> bit & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            NewUser::new(
                Username::parse(&name).unwrap(),
                Email::parse(&format!("racer{i}@example.com")).unwrap(),
            )
            .into_user(tenant.id, now())
        })
        .collect();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        32
    );
    let results = race(32, |i| store.create_user(&users[i], &creation(&users[i])));

    let winners: Vec<usize> = (0..32).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        assert!(
            matches!(
                result,
                Ok(()) | Err(CreateUserError::Conflict(UniqueField::Username))
            ),
            "{result:?}"
        );
    }
    let winner = &users[winners[0]];
    let stored = store
        .find_user_by_username(tenant.id, &Username::parse("RACER").unwrap().key())
        .unwrap();
    assert_eq!(stored.as_ref(), Some(winner));
    assert_eq!(store.user_history(tenant.id, winner.id).unwrap().len(), 1);
    for (i, loser) in users.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(store.get_user(tenant.id, loser.id).unwrap(), None);
            assert!(store.user_history(tenant.id, loser.id).unwrap().is_empty());
        }
    }
}

fn one_of_16_updates_from_the_same_version_wins(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    create(store, &alice);
    let updates: Vec<_> = (0..16)
        .map(|i| {
            change(
                &alice,
                &UserChanges {
                    first_name: Patch::Set(PersonName::parse(&format!("Alice{i}")).unwrap()),
                    ..UserChanges::default()
                },
            )
        })
        .collect();
    let results = race(16, |i| store.update_user(&updates[i]));

    let winners: Vec<usize> = (0..16).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        assert!(
            matches!(result, Ok(()) | Err(UpdateUserError::Stale { current: 2 })),
            "{result:?}"
        );
    }
    let stored = store.get_user(tenant.id, alice.id).unwrap().unwrap();
    assert_eq!(stored, updates[winners[0]].user);
    let history = store.user_history(tenant.id, alice.id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], updates[winners[0]].history);
}

fn one_of_8_rotations_of_a_session_wins(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    create(store, &alice);
    let old = session(&tenant, alice.id, "old");
    store.create_session(&old).unwrap();
    let replacements: Vec<_> = (0..8)
        .map(|i| session(&tenant, alice.id, &format!("new{i}")))
        .collect();
    let results = race(8, |i| store.rotate_session(old.id, &replacements[i], now()));

    let winners: Vec<usize> = (0..8).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        assert!(
            matches!(result, Ok(()) | Err(RotateSessionError::AlreadyRevoked)),
            "{result:?}"
        );
    }
    for (i, replacement) in replacements.iter().enumerate() {
        let stored = store
            .find_session_by_access_hash(&replacement.access_hash)
            .unwrap();
        assert_eq!(stored.is_some(), i == winners[0]);
    }
}

fn two_admins_demoting_each_other_leave_one(store: &Store) {
    let tenant = tenant(store);
    let admins: Vec<_> = ["root", "boss"]
        .iter()
        .map(|name| {
            let mut admin = user(tenant.id, name);
            admin.roles = BTreeSet::from([Role::Admin]);
            create(store, &admin);
            admin
        })
        .collect();
    let demotions: Vec<_> = admins
        .iter()
        .map(|admin| {
            change(
                admin,
                &UserChanges {
                    roles: Some(BTreeSet::from([Role::StandardUser])),
                    ..UserChanges::default()
                },
            )
        })
        .collect();
    let results = race(2, |i| store.update_user(&demotions[i]));

    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(UpdateUserError::LastActiveAdmin))),
        "{results:?}"
    );
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 1);
}

backend_tests!(
    one_of_32_creates_of_a_username_in_any_case_wins,
    one_of_16_updates_from_the_same_version_wins,
    one_of_8_rotations_of_a_session_wins,
    two_admins_demoting_each_other_leave_one,
);
