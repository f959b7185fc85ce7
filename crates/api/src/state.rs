//! The application state every request reaches: the store, the password
//! hasher, the login throttle and the settings. A leaf of the module graph:
//! it knows nothing of routes, dialects or rendering.

use std::sync::Arc;

use userhub_domain::ports::Ctx;
use userhub_domain::service::to_stored_precision;
use userhub_storage::Store;

use crate::config::Config;
use crate::hasher::HasherPool;
use crate::metrics::Metrics;
use crate::throttle::MemoryThrottle;

/// What every request can reach. Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct AppState {
    /// The user store.
    pub store: Store,
    /// Bounded argon2 work.
    pub hasher: HasherPool,
    /// Failed-login counts.
    pub throttle: Arc<MemoryThrottle>,
    /// The settings.
    pub config: Arc<Config>,
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
    /// The state for `store` under `config`. Fails (one line) on unusable
    /// argon2 parameters.
    pub fn new(store: Store, config: Config) -> Result<Self, String> {
        let hasher = HasherPool::new(
            config.hash_params,
            config.hash_concurrency,
            config.hash_queue_wait,
        )?;
        Ok(Self {
            store,
            hasher,
            throttle: Arc::new(MemoryThrottle::new(config.throttle)),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()?),
        })
    }

    /// Run `f` with the context a domain operation needs, at the current
    /// time. Blocks: call it on the blocking pool.
    pub fn with_ctx<T>(&self, f: impl FnOnce(&Ctx<'_, Store>) -> T) -> T {
        f(&Ctx {
            repo: &self.store,
            hasher: &self.hasher,
            throttle: &*self.throttle,
            tokens: self.config.tokens,
            now: now(),
        })
    }
}
