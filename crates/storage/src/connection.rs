//! One connection type for both backends, the pool that hands it out, and
//! the two kinds of transaction every repository operation runs in.
//!
//! Writes on SQLite start with `BEGIN IMMEDIATE`: the write lock is taken up
//! front, so concurrent writers wait on `busy_timeout` instead of failing
//! with `SQLITE_BUSY` when a read lock cannot be upgraded. Within one
//! process they first queue on the store's writer queue (first come, first
//! served), so `busy_timeout` is left to waits on other processes (a CLI
//! import while the server runs).

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use parking_lot::MutexGuard;

use crate::store::Conn;

/// A connection to PostgreSQL or SQLite. Diesel's `MultiConnection` runs the
/// same query-builder code on either; backend-specific statements (row
/// locks, pragmas, transaction modes) match on the variant.
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Where connections go.
#[derive(Clone)]
pub(crate) enum Target {
    /// A libpq connection string (`postgres://...`).
    Postgres(String),
    /// A database file.
    Sqlite {
        path: PathBuf,
        busy_timeout: Duration,
    },
}

impl std::fmt::Debug for Target {
    // Not derived: a PostgreSQL URL may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Postgres(_) => f.write_str("Postgres(..)"),
            Target::Sqlite { path, .. } => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
}

impl Target {
    /// Open one connection, configured.
    pub(crate) fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        match self {
            Target::Postgres(url) => PgConnection::establish(url)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Target::Sqlite { path, busy_timeout } => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first, so that switching to WAL waits for a
                // lock another connection holds instead of failing.
                let pragmas = format!(
                    "PRAGMA busy_timeout = {}; \
                     PRAGMA foreign_keys = ON; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL;",
                    busy_timeout.as_millis()
                );
                conn.batch_execute(&pragmas)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// The r2d2 manager: connects to the [`Target`] and configures each new
/// connection (diesel's own `ConnectionManager` would hand `sqlite://...`
/// to PostgreSQL first and to SQLite as a literal file name).
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) target: Target,
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        self.target.connect()
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        // A thread that panicked mid-transaction must not return its
        // connection to the pool with the transaction open.
        std::thread::panicking() || conn.is_broken()
    }
}

pub(crate) type Pool = r2d2::Pool<Manager>;

/// A failure inside a transaction: the operation's own outcome, or the
/// database's error (mapped by the caller once the transaction is over).
#[derive(Debug)]
pub(crate) enum TxError<E> {
    Op(E),
    Db(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(error: diesel::result::Error) -> Self {
        TxError::Db(error)
    }
}

/// Run `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, after
/// this process's earlier writers (the store's writer queue), a plain
/// `BEGIN` (READ COMMITTED) on PostgreSQL. Commits on `Ok`, rolls back on
/// `Err`. The connection is taken before the turn, so a writer whose turn
/// has come never waits for the pool.
pub(crate) fn write_tx<T, E>(
    conn: &mut Conn<'_>,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, TxError<E>>,
) -> Result<T, TxError<E>> {
    let turn = conn.writers.map(|queue| queue.lock());
    let result = write_tx_unqueued(conn, f);
    if let Some(turn) = turn {
        // Handed straight to the writer that waited longest.
        MutexGuard::unlock_fair(turn);
    }
    result
}

/// [`write_tx`] on a connection outside any store's queue (migrations, which
/// run alone).
pub(crate) fn write_tx_unqueued<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, TxError<E>>,
) -> Result<T, TxError<E>> {
    match conn {
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
        }
    }
    finish(conn, f)
}

/// Run `f` in a read-only transaction that sees one snapshot: REPEATABLE
/// READ on PostgreSQL; on SQLite (WAL) a deferred transaction reads one
/// snapshot from its first statement on.
pub(crate) fn read_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, TxError<E>>,
) -> Result<T, TxError<E>> {
    match conn {
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
    }
    finish(conn, f)
}

fn finish<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, TxError<E>>,
) -> Result<T, TxError<E>> {
    match f(conn) {
        Ok(value) => {
            match conn {
                AnyConnection::Postgresql(c) => AnsiTransactionManager::commit_transaction(c)?,
                AnyConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
            }
            Ok(value)
        }
        Err(error) => {
            let rollback = match conn {
                AnyConnection::Postgresql(c) => AnsiTransactionManager::rollback_transaction(c),
                AnyConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            // The operation's error is the one the caller needs; a failed
            // rollback leaves the connection marked broken, and the pool
            // drops it (`has_broken`).
            if let Err(rollback_error) = rollback {
                log::error!("storage: rollback failed: {rollback_error}");
            }
            Err(error)
        }
    }
}
