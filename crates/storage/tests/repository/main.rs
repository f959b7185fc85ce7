//! The repository test suite: every test runs on SQLite (a file in a
//! temporary folder) and, when `TEST_DATABASE_URL` is set, on PostgreSQL (a
//! fresh database per test, dropped afterwards). With `CI=true` and no
//! `TEST_DATABASE_URL`, the PostgreSQL tests fail instead of skipping.
//!
//! One binary (`tests/repository/`) with modules, not one per file: each
//! `tests/*.rs` would be linked separately.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Instantiate each named test body (`fn name(store: &Store)` in the
/// calling module) as `sqlite::name` and `postgres::name`.
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = crate::support::sqlite();
                    super::$name(&db.store);
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = crate::support::postgres() {
                        super::$name(&db.store);
                    }
                }
            )+
        }
    };
}

mod concurrency;
mod credentials;
mod identifiers;
mod listing;
mod store;
mod support;
mod tenants;
mod users;
