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
mod list;
mod profile;
mod schema;
mod secrets;
mod store;
mod tenants;
mod throttle;
mod users;

pub use error::{MigrateError, OpenError};
pub use store::{Backend, PoolState, Store, StoreOptions, sqlite_file};
