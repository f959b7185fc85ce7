//! A fresh, migrated store for each test (on a `userhub_testkit`
//! database), and small builders for the values the tests store.

use std::time::Duration;

use time::OffsetDateTime;
use userhub_domain::authz::ActorRef;
use userhub_domain::history::HistoryEntry;
use userhub_domain::repository::{UserRepository, UserUpdate};
use userhub_domain::tenant::{Tenant, TenantName};
use userhub_domain::types::{Email, TenantId, Username};
use userhub_domain::{NewUser, User};
use userhub_storage::{Store, StoreOptions};
use userhub_testkit::{Backend, TestDatabase};
use uuid::Uuid;

fn options() -> StoreOptions {
    StoreOptions {
        pool_size: 8,
        min_idle: Some(1),
        connection_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    }
}

/// Run `test` on a migrated store over a database of its own on `backend`
/// (the setup of `backend_tests!`).
pub fn with_store(backend: Backend, test: impl FnOnce(&Store)) {
    // Declared first, dropped last: the pool closes before the database goes.
    let database = TestDatabase::new(backend);
    let store = Store::open(database.url(), options()).unwrap();
    let expected = match backend {
        Backend::Sqlite => userhub_storage::Backend::Sqlite,
        Backend::Postgres => userhub_storage::Backend::Postgres,
    };
    assert_eq!(store.backend(), expected);
    store.migrate().unwrap();
    test(&store);
}

/// Now, at the storage's precision (microseconds).
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap()
}

/// A tenant with a random name, stored.
pub fn tenant(store: &Store) -> Tenant {
    use userhub_domain::repository::TenantRepository;
    let name = format!("t-{}", Uuid::new_v4().simple());
    let tenant = Tenant::new(TenantName::parse(&name).unwrap(), now());
    store.create_tenant(&tenant).unwrap();
    tenant
}

/// A minimal valid user `name` (e-mail `name@example.com`), not stored.
pub fn user(tenant: TenantId, name: &str) -> User {
    NewUser::new(
        Username::parse(name).unwrap(),
        Email::parse(&format!("{name}@example.com")).unwrap(),
    )
    .into_user(tenant, now())
}

/// Store `user` with its creation history entry.
pub fn create(store: &Store, user: &User) {
    store
        .create_user(user, &creation(user))
        .unwrap_or_else(|e| panic!("create {}: {e}", user.username));
}

/// The creation history entry of `user`, made by the system.
pub fn creation(user: &User) -> HistoryEntry {
    HistoryEntry::for_creation(user, ActorRef::System, None)
}

/// The update the domain's service would write for `changes` to `current`
/// (version bumped, history entry, last-admin flag).
pub fn change(current: &User, changes: &userhub_domain::UserChanges) -> UserUpdate {
    let applied = current.apply(changes);
    let mut next = applied.user;
    next.version = current.version + 1;
    next.updated_at = now();
    let history =
        HistoryEntry::for_change(current, &next, &applied.changed, ActorRef::System, None);
    UserUpdate {
        removes_active_admin: userhub_domain::authz::removes_active_admin(current, &next),
        user: next,
        expected_version: current.version,
        history,
        revoke_sessions: false,
    }
}

/// How many migrations there are (one folder each; both backends have the
/// same), so tests that count applied migrations need no edit when one is
/// added.
pub fn migrations() -> usize {
    std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/sqlite"
    ))
    .unwrap()
    .filter(|entry| entry.as_ref().unwrap().path().is_dir())
    .count()
}
