//! [`Store`]: the pool of connections every repository trait runs on, how
//! it is opened from a URL, and the embedded migrations.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::r2d2::{Pool as R2d2Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};
use userhub_domain::StorageError;

use crate::connection::{AnyConnection, Manager, Pool, Target};
use crate::error::{MigrateError, OpenError, unavailable};

/// How long `migrate` waits for a connection.
const MIGRATION_CONNECTION_WAIT: Duration = Duration::from_secs(60);

/// The PostgreSQL migrations, compiled into the binary.
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// The SQLite migrations, compiled into the binary.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Any fixed number: the key of the PostgreSQL advisory lock that keeps two
/// processes from migrating at once.
const MIGRATION_LOCK: i64 = 0x0075_7365_7268_7562; // "userhub" in ASCII

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (production).
    Postgres,
    /// Embedded SQLite (a file; the default for `cargo run`).
    Sqlite,
}

impl Backend {
    /// `postgres` or `sqlite`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a [`Store`] pools and configures its connections.
///
/// ```
/// use std::time::Duration;
/// use userhub_storage::StoreOptions;
///
/// let options = StoreOptions {
///     pool_size: 4,
///     connection_timeout: Duration::from_secs(2),
///     ..StoreOptions::default()
/// };
/// assert_eq!(options.sqlite_busy_timeout, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most connections open at once (at least 1). Default 10.
    pub pool_size: u32,
    /// Connections kept open when idle; `None` keeps `pool_size` open.
    /// Default `Some(1)`.
    pub min_idle: Option<u32>,
    /// How long a caller waits for a free connection (and [`Store::open`]
    /// for the first one) before failing with "database unavailable".
    /// Default 10 s.
    pub connection_timeout: Duration,
    /// SQLite only: how long a writer waits for another writer's lock before
    /// failing with "database busy". Default 5 s.
    pub sqlite_busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            min_idle: Some(1),
            connection_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The user store: PostgreSQL or SQLite behind a pool of connections.
///
/// Implements every repository trait of `userhub_domain::repository`. Cheap
/// to clone (clones share the pool), `Send + Sync`. Every method blocks on
/// the database: call it off any async event loop (`web::block`).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    committed: Arc<RwLock<Vec<CommitHook>>>,
    waits: Arc<WaitCounters>,
    /// In the store a unit of work runs on ([`Store::with_connection`]): the
    /// one connection its calls share, taken from the pool at the first call.
    shared: Option<Arc<SharedConnection>>,
    writers: Arc<WriterQueue>,
}

/// The connection a unit of work shares; empty until its first call, and
/// again after [`Store::release_connection`].
type SharedConnection = Mutex<Option<PooledConnection<Manager>>>;

/// A connection as a repository method uses it: its own from the pool, or
/// the one its unit of work shares (held for the length of the method).
pub(crate) struct Conn<'a> {
    held: Held<'a>,
    /// SQLite only: the store's queue of writers ([`crate::connection::write_tx`]).
    pub(crate) writers: Option<&'a WriterQueue>,
}

enum Held<'a> {
    Pooled(PooledConnection<Manager>),
    Shared(MappedMutexGuard<'a, PooledConnection<Manager>>),
}

/// The writers of one SQLite database in this process, served one at a
/// time in the order they came: SQLite has one writer, and its busy
/// handler makes waiting writers sleep and poll (1, 2, 5 ... 100 ms), so
/// under load a write could wait many times longer than the writes before
/// it took. A waiter here is woken the moment the writer before it ends.
pub(crate) type WriterQueue = Mutex<()>;

impl std::ops::Deref for Conn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.held {
            Held::Pooled(conn) => conn,
            Held::Shared(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.held {
            Held::Pooled(conn) => conn,
            Held::Shared(conn) => conn,
        }
    }
}

/// What callers of [`Store`] went through to get a connection.
#[derive(Debug, Default)]
struct WaitCounters {
    waiting: AtomicU32,
    checkouts: AtomicU64,
    wait_micros: AtomicU64,
    timeouts: AtomicU64,
}

/// The pool as it is now, for metrics: a neutral read of r2d2's state and
/// of the waits for a connection since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolState {
    /// Most connections the pool opens.
    pub max_size: u32,
    /// Connections open now (in use and idle).
    pub connections: u32,
    /// Open connections no caller holds.
    pub idle: u32,
    /// Callers waiting for a connection now.
    pub waiting: u32,
    /// Connections handed out (or refused) since the store was opened.
    pub checkouts: u64,
    /// Seconds callers spent waiting for a connection, in all.
    pub wait_seconds: f64,
    /// Callers that waited the whole connection timeout and got none.
    pub timeouts: u64,
}

/// Called after a transaction that wrote history committed.
type CommitHook = Arc<dyn Fn() + Send + Sync>;

impl fmt::Debug for Store {
    // Not derived: the pool's manager holds the URL, which may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish()
    }
}

impl Store {
    /// Open the database at `url`: `postgres://...` or `postgresql://...`
    /// (libpq's URL syntax), `sqlite://PATH` or `sqlite:PATH` (a file; its
    /// folder is created). Connects once before returning, so a wrong URL
    /// fails here. Does not migrate: see [`Store::migrate`].
    pub fn open(url: &str, options: StoreOptions) -> Result<Store, OpenError> {
        let url = url.trim();
        let (target, backend) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (Target::Postgres(url.to_owned()), Backend::Postgres)
            } else if let Some(path) = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                let path = sqlite_path(path)?;
                if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).map_err(OpenError::CreateFolder)?;
                }
                let target = Target::Sqlite {
                    path,
                    busy_timeout: options.sqlite_busy_timeout,
                };
                (target, Backend::Sqlite)
            } else {
                return Err(OpenError::UnsupportedUrl);
            };
        // One connection first, alone, however long it takes to connect: a
        // wrong URL fails here, and on SQLite it creates the file and
        // switches it to WAL (a persistent setting) before the pool opens
        // more. The pool's `connection_timeout` bounds only the wait for a
        // pooled connection, so a short one cannot keep the service from
        // starting.
        let first = target
            .connect()
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        let pool_size = options.pool_size.max(1);
        let pool = R2d2Pool::builder()
            .max_size(pool_size)
            .min_idle(options.min_idle.map(|n| n.min(pool_size)))
            .connection_timeout(options.connection_timeout)
            .build_unchecked(Manager { target });
        drop(first);
        Ok(Store {
            pool,
            backend,
            committed: Arc::default(),
            waits: Arc::default(),
            shared: None,
            writers: Arc::default(),
        })
    }

    /// Call `hook` after every transaction of this store (and its clones)
    /// that wrote a history entry has committed: the change feed's waiters
    /// and the webhook worker use it to read a new event at once. It runs
    /// on the writing thread: it must be quick and must not block.
    pub fn on_history_commit(&self, hook: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut hooks) = self.committed.write() {
            hooks.push(Arc::new(hook));
        }
    }

    /// Tell the hooks that history was committed.
    pub(crate) fn history_committed(&self) {
        let hooks: Vec<CommitHook> = match self.committed.read() {
            Ok(hooks) => hooks.clone(),
            Err(_) => return,
        };
        for hook in hooks {
            hook();
        }
    }

    /// The pool as it is now (for metrics; cheap, takes no connection).
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            max_size: self.pool.max_size(),
            connections: state.connections,
            idle: state.idle_connections,
            waiting: self.waits.waiting.load(Ordering::Relaxed),
            checkouts: self.waits.checkouts.load(Ordering::Relaxed),
            wait_seconds: Duration::from_micros(self.waits.wait_micros.load(Ordering::Relaxed))
                .as_secs_f64(),
            timeouts: self.waits.timeouts.load(Ordering::Relaxed),
        }
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Apply the embedded migrations not applied yet; returns their
    /// versions, oldest first (empty when the schema is current). Each
    /// migration runs in its own transaction. On PostgreSQL an advisory lock
    /// keeps concurrent `migrate` calls (two instances starting) apart.
    ///
    /// Then, under the same lock, fills in the data that SQL migrations
    /// cannot compute: the confusable skeletons of usernames stored before
    /// they existed (see `docs/storage.md`). That step never fails the
    /// call: rows it cannot fill are logged and retried on the next call.
    pub fn migrate(&self) -> Result<Vec<String>, MigrateError> {
        // A start-up step: it may wait for a connection longer than a
        // request would.
        let mut conn = self
            .pool
            .get_timeout(MIGRATION_CONNECTION_WAIT)
            .map_err(|e| MigrateError::Connect(e.to_string()))?;
        if let AnyConnection::Postgresql(pg) = &mut *conn {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(pg)
                .map_err(|e| MigrateError::Failed(e.to_string()))?;
        }
        let applied = match &mut *conn {
            AnyConnection::Postgresql(pg) => {
                pg.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions)
            }
            AnyConnection::Sqlite(sqlite) => sqlite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(versions),
        };
        if applied.is_ok() {
            crate::users::backfill_username_skeletons(&mut conn);
        }
        if let AnyConnection::Postgresql(pg) = &mut *conn {
            let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(pg);
            if let Err(e) = unlocked {
                // Only a lost connection fails here, and the lock goes
                // with its session.
                log::error!("storage: migrate: cannot release the migration lock: {e}");
            }
        }
        applied.map_err(|e| MigrateError::Failed(e.to_string()))
    }

    /// Refresh the query planner's statistics after a bulk write.
    ///
    /// PostgreSQL plans by them; autovacuum refreshes them eventually (or,
    /// where it is off, never), and until then a table that grew from a few
    /// rows to a million is planned as if it were still small: a
    /// role-filtered page right after a million-user import ran for minutes.
    /// SQLite keeps no statistics unless asked and plans userhub's queries by
    /// their indexes, so there is nothing to refresh there.
    pub fn refresh_statistics(&self) -> Result<(), StorageError> {
        const OP: &str = "refresh statistics";
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut conn = self.conn(OP)?;
        diesel::sql_query("ANALYZE")
            .execute(&mut *conn)
            .map(drop)
            .map_err(|e| crate::error::failure(OP, &e))
    }

    /// Check that the database answers (`SELECT 1`), for readiness probes.
    pub fn ping(&self) -> Result<(), StorageError> {
        const OP: &str = "ping";
        let mut conn = self.conn(OP)?;
        diesel::sql_query("SELECT 1")
            .execute(&mut *conn)
            .map(drop)
            .map_err(|e| crate::error::failure(OP, &e))
    }

    /// Run `f` on a store whose calls share one pooled connection: the
    /// request's authentication and its operation make one checkout (and,
    /// on PostgreSQL, one connection check) instead of one per call. The
    /// connection is taken at the first call that needs one and goes back
    /// to the pool when `f` returns (or at [`release_connection`]). A call
    /// made while another holds it (a store method calling another) takes
    /// its own, so nothing waits on itself.
    ///
    /// Transactions stay scoped to one repository method, as everywhere:
    /// sharing the connection shares no transaction.
    ///
    /// [`release_connection`]: Store::release_connection
    pub fn with_connection<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let unit = Store {
            shared: Some(Arc::new(Mutex::new(None))),
            ..self.clone()
        };
        f(&unit)
    }

    /// Give the connection this unit of work holds back to the pool, for a
    /// wait that needs no database (hashing a password): the pool serves
    /// other requests meanwhile, and the next call takes one again. Does
    /// nothing outside [`with_connection`](Store::with_connection).
    pub fn release_connection(&self) {
        if let Some(shared) = &self.shared
            && let Some(mut slot) = shared.try_lock()
        {
            *slot = None;
        }
    }

    /// A connection: the unit of work's shared one when this store has one
    /// and it is free, else one from the pool.
    pub(crate) fn conn(&self, op: &'static str) -> Result<Conn<'_>, StorageError> {
        if let Some(shared) = &self.shared
            && let Some(mut slot) = shared.try_lock()
        {
            if slot.is_none() {
                *slot = Some(self.checkout(op)?);
            }
            if let Ok(conn) = MutexGuard::try_map(slot, Option::as_mut) {
                return Ok(self.wrap(Held::Shared(conn)));
            }
        }
        let conn = self.checkout(op)?;
        Ok(self.wrap(Held::Pooled(conn)))
    }

    fn wrap<'a>(&'a self, held: Held<'a>) -> Conn<'a> {
        Conn {
            held,
            writers: (self.backend == Backend::Sqlite).then_some(&*self.writers),
        }
    }

    /// A connection from the pool.
    fn checkout(&self, op: &'static str) -> Result<PooledConnection<Manager>, StorageError> {
        let waits = &self.waits;
        waits.waiting.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let got = self.pool.get();
        let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        waits.waiting.fetch_sub(1, Ordering::Relaxed);
        waits.checkouts.fetch_add(1, Ordering::Relaxed);
        waits.wait_micros.fetch_add(waited, Ordering::Relaxed);
        if got.is_err() {
            waits.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        got.map_err(|e| unavailable(op, &e))
    }
}

/// The file a `sqlite://PATH` (or `sqlite:PATH`) URL names; `None` for
/// any other URL. For callers that must not create a database by opening
/// it (an administrator's command given a mistyped path).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let url = url.trim();
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    sqlite_path(path).ok()
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.into_iter().map(|v| v.to_string()).collect()
}

fn sqlite_path(path: &str) -> Result<PathBuf, OpenError> {
    // Strip a query string (`?mode=...`): connection settings are ours.
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || path.starts_with("file::memory:") {
        return Err(OpenError::InvalidSqlitePath);
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_store_can_be_shared_across_threads() {
        fn shared<T: Send + Sync + Clone + 'static>() {}
        shared::<Store>();
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("data/u.db").unwrap(),
            PathBuf::from("data/u.db")
        );
        assert_eq!(
            sqlite_path("/abs/u.db?mode=rwc").unwrap(),
            PathBuf::from("/abs/u.db")
        );
        assert!(sqlite_path("").is_err());
        assert!(sqlite_path(":memory:").is_err());
    }
}
