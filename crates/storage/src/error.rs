//! The storage's own errors (opening, migrating) and the translation of
//! diesel's errors into the domain's.
//!
//! Security intent: a [`StorageError`] may reach a client's error response,
//! so it names only the kind of failure ("database unavailable", "query
//! failed"). The diesel error itself is logged here, and only its primary
//! message: PostgreSQL puts row values (which may include a password hash)
//! in the error's DETAIL, which is never logged or returned.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use userhub_domain::{StorageError, UniqueField};

/// Opening a [`Store`](crate::Store) failed. Meant for the operator starting
/// the service: the URL itself (which may hold a password) is never shown.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is neither `postgres://`, `postgresql://`, `sqlite://` nor `sqlite:`.
    #[error(
        "unsupported database URL: expected postgres://..., postgresql://..., sqlite://PATH or sqlite:PATH"
    )]
    UnsupportedUrl,
    /// The SQLite URL names no usable file (empty, or an in-memory database,
    /// which a pool of connections cannot share).
    #[error("the SQLite URL must name a database file")]
    InvalidSqlitePath,
    /// The SQLite database's folder could not be created.
    #[error("cannot create the database folder: {0}")]
    CreateFolder(#[source] std::io::Error),
    /// The database refused or did not answer.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
}

/// Applying the migrations failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// No connection could be had.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed; nothing of it was applied (each migration runs
    /// in its own transaction).
    #[error("migration failed: {0}")]
    Failed(String),
}

/// A pool checkout failed: the database is down or every connection is busy.
pub(crate) fn unavailable(op: &'static str, error: &diesel::r2d2::PoolError) -> StorageError {
    log::error!("storage: {op}: no database connection: {error}");
    StorageError::transient("database unavailable")
}

/// Any database failure that is not an outcome the caller handles.
pub(crate) fn failure(op: &'static str, error: &DieselError) -> StorageError {
    log::error!("storage: {op} failed: {error}");
    let (kind, transient) = kind(error);
    if transient {
        StorageError::transient(kind)
    } else {
        StorageError::new(kind)
    }
}

/// A stored value that no longer parses (a row written by hand, or a rule
/// tightened since it was stored).
pub(crate) fn corrupt(op: &'static str, what: &str) -> StorageError {
    log::error!("storage: {op}: unreadable stored data: {what}");
    StorageError::new("stored data unreadable")
}

/// The kind of a failure, and whether it is transient.
fn kind(error: &DieselError) -> (&'static str, bool) {
    match error {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                ("database unavailable", true)
            }
            DatabaseErrorKind::SerializationFailure => ("transaction conflict", false),
            DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::NotNullViolation
            | DatabaseErrorKind::CheckViolation => ("constraint violated", false),
            DatabaseErrorKind::ReadOnlyTransaction => ("database is read-only", false),
            _ if is_busy(info.message()) => ("database busy", true),
            // PostgreSQL broke a lock cycle by ending this transaction (two
            // writers' count rows, say): nothing was written, a retry works.
            _ if info.message().contains("deadlock detected") => ("transaction conflict", true),
            _ => ("query failed", false),
        },
        DieselError::DeserializationError(_) => ("stored data unreadable", false),
        DieselError::BrokenTransactionManager => ("database unavailable", true),
        _ => ("query failed", false),
    }
}

fn is_busy(message: &str) -> bool {
    // SQLite's SQLITE_BUSY / SQLITE_LOCKED, after busy_timeout ran out.
    message.contains("database is locked") || message.contains("database table is locked")
}

/// Which unique key a unique violation hit, or `None` if it is not a unique
/// violation of the `users` table.
///
/// PostgreSQL names the constraint (`users_tenant_username_key`, ...);
/// SQLite names the columns (`UNIQUE constraint failed: users.tenant_id,
/// users.username_key`). Both forms come from the names chosen in the
/// migrations, so they are matched together here.
pub(crate) fn user_unique_field(error: &DieselError) -> Option<UniqueField> {
    let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = error else {
        return None;
    };
    match info.constraint_name() {
        Some("users_tenant_username_key") => return Some(UniqueField::Username),
        Some("users_tenant_email_key") => return Some(UniqueField::Email),
        Some("users_tenant_external_id") => return Some(UniqueField::ExternalId),
        // (tenant_id, id): the id is taken in this tenant.
        Some("users_pkey") => return Some(UniqueField::Id),
        Some(_) => return None,
        None => {}
    }
    let message = info.message();
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    match columns {
        "users.tenant_id, users.username_key" => Some(UniqueField::Username),
        "users.tenant_id, users.email_key" => Some(UniqueField::Email),
        "users.tenant_id, users.external_id" => Some(UniqueField::ExternalId),
        // users_pkey: an id is unique within its tenant only.
        "users.tenant_id, users.id" => Some(UniqueField::Id),
        _ => None,
    }
}

/// Whether `error` is a unique violation of the named PostgreSQL constraint
/// (or, on SQLite, of the listed columns).
pub(crate) fn is_unique_violation(error: &DieselError, constraint: &str, columns: &str) -> bool {
    let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = error else {
        return false;
    };
    match info.constraint_name() {
        Some(name) => name == constraint,
        None => info
            .message()
            .strip_prefix("UNIQUE constraint failed: ")
            .is_some_and(|c| c == columns),
    }
}

/// Whether `error` is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
}
