//! The application state every request reaches: the store, the password
//! hasher and the settings (the login throttle's counts are in the store).
//! A leaf of the module graph: it knows nothing of routes, dialects or
//! rendering.

use std::sync::Arc;

use userhub_domain::password::{Password, PasswordHash, Verification};
use userhub_domain::ports::{Ctx, HashError, PasswordHasher};
use userhub_domain::service::to_stored_precision;
use userhub_storage::Store;

use crate::config::Config;
use crate::hasher::HasherPool;
use crate::metrics::Metrics;
use crate::secrets::TokenKey;

/// What every request can reach. Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct AppState {
    /// The user store.
    pub store: Store,
    /// Bounded argon2 work.
    pub hasher: HasherPool,
    /// The key continuation tokens are signed with, shared by every node.
    pub token_key: TokenKey,
    /// The settings.
    pub config: Arc<Config>,
    /// Woken whenever this node commits a history entry (the store's
    /// commit hook): the change feed's long polls and the webhook worker
    /// read the new event at once instead of at their next poll.
    pub changes: Arc<tokio::sync::Notify>,
    /// What `/metrics` answers.
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("hasher", &self.hasher)
            .finish_non_exhaustive()
    }
}

/// The current time at the storage's precision (microseconds), so that a
/// value written and read back compares equal.
pub fn now() -> time::OffsetDateTime {
    to_stored_precision(time::OffsetDateTime::now_utc())
}

impl AppState {
    /// The state for `store` under `config`. Reads the shared token key
    /// from the database (making it if this is the first node), so it
    /// blocks. Fails (one line) on unusable argon2 parameters or a database
    /// that does not answer.
    pub fn new(store: Store, config: Config) -> Result<Self, String> {
        let token_key = store
            .server_secret(TokenKey::NAME, TokenKey::new_text)
            .map_err(|e| format!("cannot read the token key from the database: {e}"))
            .and_then(|text| TokenKey::from_text(&text))?;
        let hasher = HasherPool::new(
            config.hash_params,
            config.hash_concurrency,
            config.hash_queue_wait,
        )?;
        let changes = Arc::new(tokio::sync::Notify::new());
        let wake = Arc::clone(&changes);
        store.on_history_commit(move || wake.notify_waiters());
        Ok(Self {
            store,
            hasher,
            token_key,
            config: Arc::new(config),
            changes,
            metrics: Arc::new(Metrics::new()?),
        })
    }

    /// Run `f` with the context a domain operation needs, at the current
    /// time: its repository calls share one pooled connection (see
    /// [`Store::with_connection`]), given back to the pool while a password
    /// is hashed. Blocks: call it on the blocking pool.
    pub fn with_ctx<T>(&self, f: impl FnOnce(&Ctx<'_, Store>) -> T) -> T {
        self.store.with_connection(|store| {
            let hasher = Releasing {
                hasher: &self.hasher,
                store,
            };
            f(&Ctx {
                repo: store,
                hasher: &hasher,
                throttle: self.config.throttle,
                tokens: self.config.tokens,
                now: now(),
            })
        })
    }
}

/// The hasher, as a unit of work sees it: before each hash it gives the
/// shared connection back, so that requests waiting for a hashing slot
/// (up to the queue's wait) do not hold the pool's connections.
struct Releasing<'a> {
    hasher: &'a HasherPool,
    store: &'a Store,
}

impl PasswordHasher for Releasing<'_> {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.store.release_connection();
        PasswordHasher::hash(self.hasher, password)
    }

    fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, HashError> {
        self.store.release_connection();
        PasswordHasher::verify(self.hasher, stored, password)
    }

    fn verify_and_rehash(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<(Verification, Option<PasswordHash>), HashError> {
        self.store.release_connection();
        PasswordHasher::verify_and_rehash(self.hasher, stored, password)
    }
}
