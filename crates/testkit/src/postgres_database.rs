//! A PostgreSQL test database: created on the server named by
//! `TEST_DATABASE_URL`, dropped with the sessions still on it.

use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use crate::TEST_DATABASE_URL;

/// How long [`PostgresDatabase::drop_connections`] waits for the sessions
/// it ended to be gone.
const SESSIONS_GONE_WITHIN: Duration = Duration::from_secs(10);

/// A PostgreSQL database of its own for one test, `userhub_test_<random>`,
/// dropped on drop with `WITH (FORCE)`, which ends the sessions still on it
/// (a pool a test leaked into a thread, a server it did not stop).
///
/// It runs with `synchronous_commit = off`: a throwaway database need not
/// wait for the disk at every commit.
pub struct PostgresDatabase {
    /// `TEST_DATABASE_URL`: the maintenance database the test databases
    /// are created from and dropped from.
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    /// A new, empty database on the server in `TEST_DATABASE_URL`.
    ///
    /// # Panics
    ///
    /// Without `TEST_DATABASE_URL` (saying how to set it), or when the
    /// server refuses to create the database.
    pub fn create() -> PostgresDatabase {
        let admin_url = admin_url(std::env::var(TEST_DATABASE_URL).ok());
        let name = format!("userhub_test_{}", uuid::Uuid::new_v4().simple());
        let url = database_url(&admin_url, &name);
        let mut admin = connect(&admin_url);
        execute(&mut admin, &format!("CREATE DATABASE \"{name}\""));
        // From here on, drop cleans up.
        let database = PostgresDatabase {
            admin_url,
            name,
            url,
        };
        execute(
            &mut admin,
            &format!(
                "ALTER DATABASE \"{}\" SET synchronous_commit = off",
                database.name
            ),
        );
        database
    }

    /// The URL to open a store on: `TEST_DATABASE_URL` with its database
    /// name replaced.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// End every client session on the database, as a server restart or a network
    /// failure would, and wait until they are gone. Answers how many there
    /// were.
    ///
    /// New connections are still accepted (a pool reconnects at once);
    /// [`set_allow_connections(false)`](Self::set_allow_connections) first
    /// to take the database away.
    ///
    /// # Panics
    ///
    /// When the server cannot be asked, or a session outlives the wait.
    pub fn drop_connections(&self) -> usize {
        #[derive(QueryableByName)]
        struct Ended {
            #[diesel(sql_type = Integer)]
            pid: i32,
            #[diesel(sql_type = Bool)]
            terminated: bool,
        }
        #[derive(QueryableByName)]
        struct Remaining {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }

        let mut admin = connect(&self.admin_url);
        let ended: Vec<Ended> = diesel::sql_query(
            "SELECT pid, pg_terminate_backend(pid) AS terminated \
             FROM pg_stat_activity \
             WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        .bind::<Text, _>(&self.name)
        .load(&mut admin)
        .unwrap_or_else(|e| panic!("cannot end the sessions on {}: {e}", self.name));
        let pids: Vec<i32> = ended
            .into_iter()
            .filter(|session| session.terminated)
            .map(|session| session.pid)
            .collect();

        // pg_terminate_backend only signals; a session is gone when its
        // process has exited. Waiting on those pids (not on the database
        // being empty) ignores the reconnections that may follow.
        let deadline = Instant::now() + SESSIONS_GONE_WITHIN;
        loop {
            let remaining: Remaining = diesel::sql_query(
                "SELECT count(*) AS count FROM pg_stat_activity WHERE pid = ANY($1)",
            )
            .bind::<Array<Integer>, _>(&pids)
            .get_result(&mut admin)
            .unwrap_or_else(|e| panic!("cannot see the sessions on {}: {e}", self.name));
            if remaining.count == 0 {
                return pids.len();
            }
            assert!(
                Instant::now() < deadline,
                "{} sessions on {} still there {SESSIONS_GONE_WITHIN:?} after being ended",
                remaining.count,
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Refuse (`false`) or accept again (`true`) new connections to the
    /// database (`ALTER DATABASE … ALLOW_CONNECTIONS`); refusing leaves
    /// open sessions alone. PostgreSQL then answers a new connection
    /// "database … is not currently accepting connections", superusers
    /// included.
    ///
    /// # Panics
    ///
    /// When the server cannot be asked.
    pub fn set_allow_connections(&self, allow: bool) {
        let mut admin = connect(&self.admin_url);
        execute(
            &mut admin,
            &format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}", self.name),
        );
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // No panic here: drop also runs while a failed test unwinds, and a
        // second panic would abort the whole test binary.
        let drop_database = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                diesel::sql_query(drop_database)
                    .execute(&mut admin)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

impl std::fmt::Debug for PostgresDatabase {
    // The URLs may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The server to create test databases on, from `TEST_DATABASE_URL`'s
/// value: a missing, empty or non-URL value fails the test, saying why.
fn admin_url(value: Option<String>) -> String {
    let Some(url) = value.filter(|url| !url.trim().is_empty()) else {
        panic!(
            "{TEST_DATABASE_URL} is not set: this PostgreSQL test needs a server where it may \
             create a database, e.g. \
             {TEST_DATABASE_URL}=postgres://postgres@127.0.0.1:5432/postgres \
             (`make test` then runs the PostgreSQL tests; plain `cargo test` needs \
             `-- --include-ignored`)"
        );
    };
    assert!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "{TEST_DATABASE_URL} must be a postgres:// or postgresql:// URL \
         (the test databases are named by replacing its path)"
    );
    url
}

/// `url` with its database name (the path) replaced by `name`; the query
/// string is kept.
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

fn connect(admin_url: &str) -> PgConnection {
    // Not the URL: it may hold a password.
    PgConnection::establish(admin_url)
        .unwrap_or_else(|e| panic!("cannot connect to the server in {TEST_DATABASE_URL}: {e}"))
}

fn execute(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Backend;

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
        assert_eq!(
            database_url("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h", "x"), "postgres://h/x");
        // A Unix socket: no host in the authority, the folder in the query.
        assert_eq!(
            database_url("postgres:///postgres?host=/run/postgresql", "x"),
            "postgres:///x?host=/run/postgresql"
        );
    }

    #[test]
    #[should_panic(expected = "TEST_DATABASE_URL is not set: this PostgreSQL test needs a server")]
    fn without_the_variable_a_test_fails_saying_why() {
        admin_url(None);
    }

    #[test]
    #[should_panic(expected = "TEST_DATABASE_URL is not set")]
    fn an_empty_variable_is_not_set() {
        admin_url(Some(" ".to_owned()));
    }

    #[test]
    #[should_panic(expected = "must be a postgres:// or postgresql:// URL")]
    fn key_value_connection_strings_are_refused() {
        admin_url(Some("host=localhost dbname=postgres".to_owned()));
    }

    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Text)]
        value: String,
    }

    fn query(conn: &mut PgConnection, sql: &str) -> String {
        diesel::sql_query(sql)
            .get_result::<Value>(conn)
            .unwrap()
            .value
    }

    fn exists(db: &PostgresDatabase, name: &str) -> bool {
        let mut admin = connect(&db.admin_url);
        let sql =
            format!("SELECT count(*)::text AS value FROM pg_database WHERE datname = '{name}'");
        query(&mut admin, &sql) == "1"
    }

    fn a_fresh_database_that_goes_on_drop(backend: Backend) {
        assert_eq!(backend, Backend::Postgres);
        let db = PostgresDatabase::create();
        let name = db.name().to_owned();
        assert!(db.url().ends_with(&format!("/{name}")), "{db:?}");
        let mut conn = PgConnection::establish(db.url()).unwrap();
        assert_eq!(query(&mut conn, "SELECT current_database() AS value"), name);
        assert_eq!(
            query(
                &mut conn,
                "SELECT current_setting('synchronous_commit') AS value"
            ),
            "off"
        );
        let tables = "SELECT count(*)::text AS value FROM pg_tables WHERE schemaname = 'public'";
        assert_eq!(query(&mut conn, tables), "0");

        // Dropped even with a session still open on it.
        let other = PostgresDatabase::create();
        assert!(exists(&other, &name));
        drop(db);
        assert!(!exists(&other, &name));
        assert!(diesel::sql_query("SELECT 1").execute(&mut conn).is_err());
    }

    fn connections_can_be_refused_and_ended(backend: Backend) {
        assert_eq!(backend, Backend::Postgres);
        let db = PostgresDatabase::create();
        let mut open = PgConnection::establish(db.url()).unwrap();

        db.set_allow_connections(false);
        let refused = PgConnection::establish(db.url()).err().unwrap();
        assert!(
            refused
                .to_string()
                .contains("is not currently accepting connections"),
            "{refused}"
        );
        // Refusing leaves the open session alone; ending it does not.
        diesel::sql_query("SELECT 1").execute(&mut open).unwrap();
        assert_eq!(db.drop_connections(), 1);
        assert!(diesel::sql_query("SELECT 1").execute(&mut open).is_err());
        assert_eq!(db.drop_connections(), 0);

        db.set_allow_connections(true);
        let mut back = PgConnection::establish(db.url()).unwrap();
        diesel::sql_query("SELECT 1").execute(&mut back).unwrap();
    }

    crate::both_backends!(; postgres_only: a_fresh_database_that_goes_on_drop, connections_can_be_refused_and_ended);
}
