//! The repository test suite: every test runs on SQLite (a file in a
//! temporary folder) and on PostgreSQL (a fresh database per test on the
//! server in `TEST_DATABASE_URL`, dropped afterwards). The PostgreSQL
//! instances are `#[ignore]`d, saying they need `TEST_DATABASE_URL`: run
//! them with `-- --include-ignored` (`make test` does when it is set).
//!
//! One binary (`tests/repository/`) with modules, not one per file: each
//! `tests/*.rs` would be linked separately.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Instantiate each named test body (`fn name(store: &Store)` in the
/// calling module) as `sqlite::name` and `postgres::name`, each on a fresh
/// migrated store of its own (`support::with_store`).
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        userhub_testkit::both_backends!(with crate::support::with_store; $($name),+);
    };
}

mod concurrency;
mod counts;
mod credentials;
mod feed;
mod identifiers;
mod listing;
mod scim;
mod store;
mod support;
mod tenants;
mod throttle;
mod users;
