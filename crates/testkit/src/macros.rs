//! The run-on-both-backends macros. Each instantiates the named test bodies
//! of the calling module as `sqlite::<name>` and `postgres::<name>`, so a
//! test's name says its backend (CI counts the `postgres::` ones that
//! passed).
//!
//! The PostgreSQL instances are ignored with the reason
//! [`crate::NEEDS_POSTGRES`], written out in each, because an `ignore`
//! reason must be a literal. Keep the copies equal to it (a test checks).

/// Run synchronous test bodies on both backends.
///
/// `both_backends!(a, b)` expects `fn a(backend: Backend)` and
/// `fn b(backend: Backend)` in the calling module and makes the tests
/// `sqlite::a`, `sqlite::b`, `postgres::a`, `postgres::b`.
///
/// `both_backends!(with setup; a, b)` hands each body to
/// `setup(backend, body)` instead, for a crate whose bodies take a fixture
/// (the storage tests: `fn a(store: &Store)`, with a `setup` that opens a
/// migrated store on a [`TestDatabase`](crate::TestDatabase)). `setup` is
/// called from the generated `sqlite`/`postgres` modules: name it by a
/// `crate::…` path.
///
/// Tests that only make sense on PostgreSQL (taking the database away
/// under a running service) follow `; postgres_only:` and are made as
/// `postgres::<name>` only: `both_backends!(a, b; postgres_only: c)`.
///
/// ```
/// use userhub_testkit::{Backend, TestDatabase};
///
/// fn opens_a_database(backend: Backend) {
///     let db = TestDatabase::new(backend);
///     assert_eq!(db.backend(), backend);
/// }
///
/// userhub_testkit::both_backends!(opens_a_database);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! both_backends {
    (with $setup:path; $($name:ident),* $(,)? $(; postgres_only: $($pg:ident),+ $(,)?)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    $setup($crate::Backend::Sqlite, super::$name);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                #[ignore = "needs TEST_DATABASE_URL: a PostgreSQL server to create test databases on"]
                fn $name() {
                    $setup($crate::Backend::Postgres, super::$name);
                }
            )*
            $($(
                #[test]
                #[ignore = "needs TEST_DATABASE_URL: a PostgreSQL server to create test databases on"]
                fn $pg() {
                    $setup($crate::Backend::Postgres, super::$pg);
                }
            )+)?
        }
    };
    ($($name:ident),* $(,)? $(; postgres_only: $($pg:ident),+ $(,)?)?) => {
        $crate::both_backends!(
            with $crate::__private::run;
            $($name),*
            $(; postgres_only: $($pg),+)?
        );
    };
}

/// Run `async` test bodies on both backends, each on its own
/// `#[tokio::test]` runtime.
///
/// `both_backends_async!(a, b)` expects `async fn a(backend: Backend)` in
/// the calling module; otherwise as [`both_backends!`], `postgres_only`
/// included. The calling crate needs `tokio` with its `macros` and `rt`
/// features (the generated tests name `tokio::test`).
#[macro_export]
macro_rules! both_backends_async {
    ($($name:ident),* $(,)? $(; postgres_only: $($pg:ident),+ $(,)?)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs TEST_DATABASE_URL: a PostgreSQL server to create test databases on"]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await;
                }
            )*
            $($(
                #[tokio::test]
                #[ignore = "needs TEST_DATABASE_URL: a PostgreSQL server to create test databases on"]
                async fn $pg() {
                    super::$pg($crate::Backend::Postgres).await;
                }
            )+)?
        }
    };
}
