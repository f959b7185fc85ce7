//! # userhub-storage
//!
//! The user store of userhub: every repository trait of
//! `userhub_domain::repository` on PostgreSQL (production) and on embedded
//! SQLite (the default, a file under the data directory), through one code
//! path (diesel's `MultiConnection`) and an r2d2 pool.
//!
//! ```no_run
//! use userhub_domain::repository::TenantRepository;
//! use userhub_storage::{Store, StoreOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open("sqlite://data/userhub.db", StoreOptions::default())?;
//! store.migrate()?;
//! let tenants = store.list_tenants()?;
//! # Ok(())
//! # }
//! ```
//!
//! Security intent: the errors this crate returns through the repository
//! traits ([`userhub_domain::StorageError`]) name only the kind of failure;
//! SQL, values and secrets (password hashes, token hashes, the database
//! URL) stay out of errors and logs. Every write is one transaction, and
//! every query of user data is scoped by the tenant in its `WHERE` clause.
//!
//! The schema, the type decisions and the index plans are described in
//! `docs/storage.md`.

mod codec;
mod connection;
mod credentials;
mod error;
mod feed;
mod groups;
mod list;
mod profile;
mod schema;
mod secrets;
mod store;
mod tenants;
mod throttle;
mod users;
mod webhooks;

pub use error::{MigrateError, OpenError};

#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    //! Entry points for the fuzz targets (`fuzz/` at the repository root,
    //! built with the `fuzzing` feature): the client input storage reads
    //! itself. Not an API.

    use userhub_domain::query::{Cursor, Sort};

    /// Read a continuation token a client sent back, as a list sorted by
    /// `sort` does: whether it names a position in that list.
    pub fn decode_cursor(token: &str, sort: Sort) -> bool {
        crate::list::decode_cursor(&Cursor::from_token(token), sort).is_ok()
    }
}
pub use store::{Backend, PoolState, Store, StoreOptions, sqlite_file};
