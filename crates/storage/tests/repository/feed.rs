//! The change feed's positions and the history's pages: positions follow
//! commit order without gaps, on both backends, and on PostgreSQL a writer
//! cannot take a position before an earlier writer of the tenant commits.

use userhub_domain::repository::{FeedRepository, UpdateUserError, UserRepository};
use userhub_domain::types::PersonName;
use userhub_domain::{Patch, UserChanges};
use userhub_storage::Store;

use crate::support::{change, create, tenant, user};

fn renamed(name: &str) -> UserChanges {
    UserChanges {
        first_name: Patch::Set(PersonName::parse(name).unwrap()),
        ..UserChanges::default()
    }
}

fn positions_are_gapless_in_commit_order_per_tenant(store: &Store) {
    let a = tenant(store);
    let b = tenant(store);
    let ada = user(a.id, "ada");
    let bob = user(b.id, "bob");
    create(store, &ada);
    create(store, &bob);
    let update = change(&ada, &renamed("Ada"));
    store.update_user(&update).unwrap();
    // A refused write takes no position.
    let stale = change(&ada, &renamed("Stale"));
    assert!(matches!(
        store.update_user(&stale),
        Err(UpdateUserError::Stale { current: 2 })
    ));
    let again = change(&update.user, &renamed("Adele"));
    store.update_user(&again).unwrap();

    let feed = store.feed_from(a.id, 1, 10).unwrap();
    let seen: Vec<(u64, u64)> = feed.iter().map(|r| (r.position, r.entry.version)).collect();
    assert_eq!(seen, [(1, 1), (2, 2), (3, 3)]);
    assert!(feed.iter().all(|r| r.entry.user == ada.id));
    // Each tenant has its own positions.
    let other = store.feed_from(b.id, 1, 10).unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!((other[0].position, other[0].entry.user), (1, bob.id));
    // From a position on, and at most `limit`.
    let tail: Vec<u64> = store
        .feed_from(a.id, 2, 1)
        .unwrap()
        .iter()
        .map(|r| r.position)
        .collect();
    assert_eq!(tail, [2]);
    assert!(store.feed_from(a.id, 4, 10).unwrap().is_empty());
}

fn history_pages_newest_first_and_after_purge(store: &Store) {
    let t = tenant(store);
    let ada = user(t.id, "ada");
    create(store, &ada);
    let mut current = ada.clone();
    for name in ["B", "C", "D"] {
        let update = change(&current, &renamed(name));
        store.update_user(&update).unwrap();
        current = update.user;
    }
    let versions = |before, limit| -> Vec<u64> {
        store
            .user_history_page(t.id, ada.id, before, limit)
            .unwrap()
            .iter()
            .map(|e| e.version)
            .collect()
    };
    assert_eq!(versions(None, 10), [4, 3, 2, 1]);
    assert_eq!(versions(None, 2), [4, 3]);
    assert_eq!(versions(Some(3), 2), [2, 1]);
    assert!(versions(Some(1), 2).is_empty());
    store.purge_user(t.id, ada.id).unwrap();
    assert_eq!(versions(None, 10), [4, 3, 2, 1]);
    // Another tenant sees none of it.
    let other = tenant(store);
    assert!(
        store
            .user_history_page(other.id, ada.id, None, 10)
            .unwrap()
            .is_empty()
    );
}

backend_tests!(
    positions_are_gapless_in_commit_order_per_tenant,
    history_pages_newest_first_and_after_purge,
);

/// The hazard of plain sequence ids: writer 1 takes id 1, writer 2 takes
/// id 2 and commits first, a consumer reads 2 and moves its cursor past 1,
/// and then 1 commits and is never read. Here writer 2 cannot take a
/// position while writer 1's transaction is open.
mod commit_order {
    use std::time::{Duration, Instant};

    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    use userhub_domain::repository::FeedRepository;
    use userhub_storage::{Store, StoreOptions};
    use userhub_testkit::{Backend, TestDatabase};

    use crate::support::{create, tenant, user};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// The setup: a migrated store and the database's URL, for a second
    /// connection of the test's own.
    fn with_database(backend: Backend, test: fn(&Store, &str)) {
        let database = TestDatabase::new(backend);
        let store = Store::open(database.url(), StoreOptions::default()).unwrap();
        store.migrate().unwrap();
        test(&store, database.url());
    }

    fn a_later_writer_waits_for_the_earlier_ones_commit(store: &Store, url: &str) {
        let t = tenant(store);
        let first = user(t.id, "first");
        let second = user(t.id, "second");

        // Writer 1, by hand: a history row in an open transaction.
        let mut writer = PgConnection::establish(url).unwrap();
        diesel::sql_query("BEGIN").execute(&mut writer).unwrap();
        diesel::sql_query(
            "INSERT INTO user_history (tenant_id, user_id, version, actor, at, changes) \
             VALUES ($1, $2, 1, 'system', 0, '[]')",
        )
        .bind::<diesel::sql_types::Text, _>(t.id.to_string())
        .bind::<diesel::sql_types::Text, _>(first.id.to_string())
        .execute(&mut writer)
        .unwrap();

        std::thread::scope(|s| {
            // Writer 2, through the store: it must wait.
            let later = s.spawn(|| create(store, &second));
            let mut watcher = PgConnection::establish(url).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let waiting: Count = diesel::sql_query(
                    "SELECT count(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .get_result(&mut watcher)
                .unwrap();
                if waiting.n >= 1 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "writer 2 never waited for a lock"
                );
                std::thread::yield_now();
            }
            // Nothing is committed yet: a consumer sees nothing and keeps
            // its cursor where it was.
            assert!(store.feed_from(t.id, 1, 10).unwrap().is_empty());
            diesel::sql_query("COMMIT").execute(&mut writer).unwrap();
            later.join().unwrap();
        });

        let feed = store.feed_from(t.id, 1, 10).unwrap();
        let order: Vec<(u64, _)> = feed.iter().map(|r| (r.position, r.entry.user)).collect();
        assert_eq!(order, [(1, first.id), (2, second.id)]);
    }

    userhub_testkit::both_backends!(
        with crate::feed::commit_order::with_database;
        ; postgres_only: a_later_writer_waits_for_the_earlier_ones_commit
    );
}
