//! Test support shared by userhub's storage and api tests: a database of
//! its own for each test, on SQLite and on PostgreSQL, and the macros that
//! run one test body on both backends.
//!
//! Dev-only: the crates that use it list it under `[dev-dependencies]`, and
//! it is not published. It knows nothing of userhub's own crates: a test
//! gets a URL and opens its store on it, as the service would.
//!
//! # PostgreSQL, and what happens without it
//!
//! A PostgreSQL test database is created on the server named by
//! `TEST_DATABASE_URL` (a role that may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`). The PostgreSQL tests the
//! macros generate are `#[ignore]`d with the reason [`NEEDS_POSTGRES`], so
//! a plain `cargo test` lists them as *ignored*, saying why, instead of
//! counting them as passed tests that asserted nothing. With the variable
//! set, run them with `cargo test -- --include-ignored` (`make test` does).
//! A PostgreSQL test that runs without the variable fails, saying so.
//!
//! Because `--include-ignored` runs every ignored test, no other test in the
//! workspace may be `#[ignore]`d (`.ci/run` checks).
//!
//! # Failures
//!
//! Everything here panics, with the reason, when it cannot do its job: it
//! runs inside tests, where a panic is how a test fails, and a test cannot
//! carry on without its database.

mod macros;
// Not `postgres`/`sqlite`: CI counts the tests named `…postgres::…` that
// passed, and this module's own unit tests are not PostgreSQL runs.
mod postgres_database;
mod sqlite_database;

#[doc(hidden)]
pub mod __private {
    //! What the macros' expansions call; not an API.

    /// The setup of `both_backends!` without `with`: the body takes the
    /// backend itself.
    pub fn run(backend: crate::Backend, test: impl FnOnce(crate::Backend)) {
        test(backend);
    }
}

pub use postgres_database::PostgresDatabase;
pub use sqlite_database::SqliteDatabase;

/// The reason the generated PostgreSQL tests are ignored, as `cargo test`
/// prints it next to each of them.
///
/// The macros spell it out again (an `#[ignore = …]` reason must be a
/// literal); a test below keeps the copies equal.
pub const NEEDS_POSTGRES: &str =
    "needs TEST_DATABASE_URL: a PostgreSQL server to create test databases on";

/// The environment variable naming the PostgreSQL server to create test
/// databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// One of the two database backends userhub runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite: a file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A database that exists for one test and goes away when dropped.
///
/// Drop it after everything that holds connections to it (declare it
/// first, or keep it in the last field of a struct): PostgreSQL forces the
/// remaining sessions closed, but a SQLite file is only deleted, and an
/// open connection would keep writing to the deleted file.
#[derive(Debug)]
pub enum TestDatabase {
    /// A SQLite file in a fresh temporary folder.
    Sqlite(SqliteDatabase),
    /// A PostgreSQL database of its own.
    Postgres(PostgresDatabase),
}

impl TestDatabase {
    /// A new, empty database on `backend` (not migrated: opening the store
    /// on it does that, as in production).
    ///
    /// # Panics
    ///
    /// For PostgreSQL, without `TEST_DATABASE_URL` or when the database
    /// cannot be created; for SQLite, when no temporary folder can be made.
    pub fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::Sqlite(SqliteDatabase::create()),
            Backend::Postgres => TestDatabase::Postgres(PostgresDatabase::create()),
        }
    }

    /// The URL to open a store on: `sqlite://…` or `postgres://…`.
    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite(db) => db.url(),
            TestDatabase::Postgres(db) => db.url(),
        }
    }

    /// The backend it is on.
    pub fn backend(&self) -> Backend {
        match self {
            TestDatabase::Sqlite(_) => Backend::Sqlite,
            TestDatabase::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL database, for the fault tests only it can serve
    /// (refusing and dropping connections); `None` on SQLite.
    pub fn as_postgres(&self) -> Option<&PostgresDatabase> {
        match self {
            TestDatabase::Sqlite(_) => None,
            TestDatabase::Postgres(db) => Some(db),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_database_of_its_own(backend: Backend) {
        let first = TestDatabase::new(backend);
        let second = TestDatabase::new(backend);
        assert_eq!(first.backend(), backend);
        assert_ne!(first.url(), second.url());
        assert_eq!(first.as_postgres().is_some(), backend == Backend::Postgres);
        let scheme = match backend {
            Backend::Sqlite => "sqlite://",
            Backend::Postgres => "postgres",
        };
        assert!(first.url().starts_with(scheme), "{}", first.url());
    }

    crate::both_backends!(a_database_of_its_own);

    /// The macros cannot name the constant; their copies must not drift.
    #[test]
    fn the_macros_give_the_documented_reason() {
        let source = include_str!("macros.rs");
        let quoted = format!("#[ignore = \"{NEEDS_POSTGRES}\"]");
        assert!(source.contains(&quoted), "{quoted}");
        assert_eq!(
            source.matches(&quoted).count(),
            source.matches("#[ignore =").count()
        );
    }

    mod async_tests {
        use crate::{Backend, TestDatabase};

        async fn runs_once_on_each_backend(backend: Backend) {
            let db = TestDatabase::new(backend);
            assert_eq!(db.backend(), backend);
        }

        async fn runs_on_postgres(backend: Backend) {
            assert_eq!(backend, Backend::Postgres);
        }

        crate::both_backends_async!(runs_once_on_each_backend; postgres_only: runs_on_postgres);
    }
}
