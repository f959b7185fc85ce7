//! Fresh, migrated databases for each test, and small builders for the
//! values the tests store.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use time::OffsetDateTime;
use userhub_domain::authz::ActorRef;
use userhub_domain::history::HistoryEntry;
use userhub_domain::repository::{UserRepository, UserUpdate};
use userhub_domain::tenant::{Tenant, TenantName};
use userhub_domain::types::{Email, TenantId, Username};
use userhub_domain::{NewUser, User};
use userhub_storage::{Backend, Store, StoreOptions};
use uuid::Uuid;

/// A store on a database that exists for one test only.
pub struct TestDb {
    // Field order is drop order: the pool closes before the database goes.
    pub store: Store,
    _cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = self {
            // WITH (FORCE) ends any session still open (a pooled connection
            // of a store a test cloned and leaked into a thread).
            match PgConnection::establish(admin_url) {
                Ok(mut admin) => {
                    let drop_db = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = diesel::sql_query(drop_db).execute(&mut admin) {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("could not drop test database {name}: {e}"),
            }
        }
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        pool_size: 8,
        min_idle: Some(1),
        connection_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    }
}

/// A migrated SQLite database in a fresh temporary folder (in a sub-folder
/// that does not exist yet, so opening also creates folders).
///
/// On Linux the folder is on /dev/shm: still a real file, but the store's
/// `synchronous = FULL` fsync per commit costs nothing there, as the
/// PostgreSQL test databases run with `synchronous_commit = off`.
pub fn sqlite() -> TestDb {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let path = dir.path().join("data").join("userhub.db");
    let store = Store::open(&format!("sqlite://{}", path.display()), options()).unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().unwrap();
    TestDb {
        store,
        _cleanup: Cleanup::Sqlite(dir),
    }
}

/// A migrated PostgreSQL database of its own, or `None` when
/// `TEST_DATABASE_URL` is not set (a failure when `CI=true`).
pub fn postgres() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI"
        );
        eprintln!("TEST_DATABASE_URL not set: skipping the PostgreSQL run of this test");
        return None;
    };
    let name = format!("userhub_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    let cleanup = Cleanup::Postgres {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    // A throwaway database need not wait for the disk on every commit.
    diesel::sql_query(format!(
        "ALTER DATABASE {name} SET synchronous_commit = off"
    ))
    .execute(&mut admin)
    .unwrap();
    let store = Store::open(&database_url(&admin_url, &name), options()).unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    store.migrate().unwrap();
    Some(TestDb {
        store,
        _cleanup: cleanup,
    })
}

/// `url` with its database name replaced by `name`.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
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

#[test]
fn database_urls() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        database_url("postgresql://u:p@h/db?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
    assert_eq!(database_url("postgres://h", "x"), "postgres://h/x");
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
