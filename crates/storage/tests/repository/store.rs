//! Opening, migrating and pinging a store.

use userhub_storage::{Backend, OpenError, Store, StoreOptions};

fn migrations_are_applied_once(store: &Store) {
    // The test database was migrated when it was made.
    assert_eq!(store.migrate().unwrap(), Vec::<String>::new());
    store.ping().unwrap();
    // Clones share the pool.
    store.clone().ping().unwrap();
}

backend_tests!(migrations_are_applied_once);

#[test]
fn unsupported_urls_are_refused() {
    for url in ["mysql://localhost/db", "", "data/userhub.db", "http://x"] {
        assert!(
            matches!(
                Store::open(url, StoreOptions::default()),
                Err(OpenError::UnsupportedUrl)
            ),
            "{url}"
        );
    }
    for url in ["sqlite://", "sqlite::memory:", "sqlite://:memory:"] {
        assert!(
            matches!(
                Store::open(url, StoreOptions::default()),
                Err(OpenError::InvalidSqlitePath)
            ),
            "{url}"
        );
    }
}

#[test]
fn sqlite_urls_create_the_file_and_its_folders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("userhub.db");
    let store = Store::open(
        &format!("sqlite:{}", path.display()),
        StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.migrate().unwrap().len(), crate::support::migrations());
    assert!(path.is_file());
    // The URL never shows in the store's debug form.
    assert!(!format!("{store:?}").contains("userhub.db"));
}

#[test]
fn an_unreachable_postgres_fails_to_open_without_showing_the_password() {
    let options = StoreOptions {
        connection_timeout: std::time::Duration::from_millis(500),
        ..StoreOptions::default()
    };
    // Port 1 is closed: the connection is refused at once.
    let error = Store::open("postgres://user:s3cret@127.0.0.1:1/db", options).unwrap_err();
    assert!(matches!(error, OpenError::Connect(_)));
    assert!(!error.to_string().contains("s3cret"), "{error}");
}
