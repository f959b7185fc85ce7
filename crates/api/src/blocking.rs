//! Blocking work, kept off the actix event loop.
//!
//! Database calls run on the blocking thread pool ([`db`]). Argon2 runs there
//! too, but behind a semaphore sized to the cores ([`Hasher`]): a request
//! that cannot get a slot within the configured wait is answered 503 with
//! `Retry-After` instead of queueing without bound. The slot travels into the
//! blocking task, so a client that hangs up does not free it before the hash
//! is done: at most `concurrency` hashes ever run at once.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::sync::Semaphore;
use userhub_domain::password::{HashParams, Password, PasswordHash, Verification, hash_password};
use userhub_domain::{DomainError, StorageError};
use userhub_storage::Store;

use crate::error::ApiError;

/// The current time at the storage's precision (microseconds), so that a
/// value written and read back compares equal.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// Run `f` with the store on the blocking pool.
pub async fn db<T, F>(store: &Store, f: F) -> Result<T, DomainError>
where
    F: FnOnce(&Store) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    web::block(move || f(&store))
        .await
        .map_err(|_| DomainError::Internal(StorageError::new("blocking task failed")))?
}

/// Argon2 work, bounded.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    wait: Duration,
    params: HashParams,
    /// A hash of nothing anyone knows, verified against when a login names
    /// an unknown user, so that timing does not tell the two cases apart.
    dummy: PasswordHash,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("available", &self.permits.available_permits())
            .field("wait", &self.wait)
            .field("params", &self.params)
            .finish()
    }
}

/// Seconds a client is told to wait when no hashing slot was free.
const BUSY_RETRY_AFTER: u64 = 1;

impl Hasher {
    /// A hasher running at most `concurrency` hashes at once under `params`.
    /// Fails (with one line) if argon2 refuses the parameters.
    pub fn new(params: HashParams, concurrency: usize, wait: Duration) -> Result<Self, String> {
        let secret: [u8; 32] = rand::random();
        let dummy_password = Password::for_verification(&hex(&secret));
        let dummy = hash_password(&dummy_password, &params)
            .map_err(|e| format!("argon2 parameters are not usable: {}", e.message))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            wait,
            params,
            dummy,
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Run `f` on the blocking pool once a slot is free; 503 if none frees
    /// up within the configured wait.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&HashParams) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Busy {
                retry_after: BUSY_RETRY_AFTER,
            })?
            .map_err(|_| ApiError::Internal("hashing semaphore closed".into()))?;
        let params = self.params;
        web::block(move || {
            let _slot = permit;
            f(&params)
        })
        .await
        .map_err(|_| ApiError::Internal("hashing task failed".into()))
    }

    /// Hash `password` under the current parameters.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, ApiError> {
        self.run(move |params| hash_password(&password, params))
            .await?
            .map_err(|e| ApiError::Internal(format!("hashing failed: {}", e.message)))
    }

    /// Check `password` against `stored`; with no stored hash, spend the
    /// same time on the dummy and answer [`Verification::Mismatch`].
    pub async fn verify(
        &self,
        stored: Option<PasswordHash>,
        password: Password,
    ) -> Result<Verification, ApiError> {
        let dummy = self.dummy.clone();
        self.run(move |params| match stored {
            Some(hash) => hash.verify(&password, params),
            None => {
                let _ = dummy.verify(&password, params);
                Verification::Mismatch
            }
        })
        .await
    }

    /// Verify, and when the password is right but its hash is outdated,
    /// make a new hash in the same slot. Returns the outcome and the new
    /// hash, if one was made.
    pub async fn verify_and_upgrade(
        &self,
        stored: Option<PasswordHash>,
        password: Password,
    ) -> Result<(Verification, Option<PasswordHash>), ApiError> {
        let dummy = self.dummy.clone();
        self.run(move |params| match stored {
            Some(hash) => {
                let outcome = hash.verify(&password, params);
                let upgraded = match outcome {
                    Verification::Match { needs_rehash: true } => {
                        hash_password(&password, params).ok()
                    }
                    _ => None,
                };
                (outcome, upgraded)
            }
            None => {
                let _ = dummy.verify(&password, params);
                (Verification::Mismatch, None)
            }
        })
        .await
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CHEAP: HashParams = HashParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    #[tokio::test]
    async fn a_request_that_gets_no_slot_in_time_is_busy() {
        let hasher = Hasher::new(CHEAP, 1, Duration::from_millis(20)).unwrap();
        // Hold the only slot, as a long hash would.
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let outcome = hasher.run(|_| ()).await;
        assert!(matches!(outcome, Err(ApiError::Busy { retry_after: 1 })));
        drop(held);
        assert!(hasher.run(|_| ()).await.is_ok());
    }

    #[tokio::test]
    async fn unknown_users_verify_against_the_dummy() {
        let hasher = Hasher::new(CHEAP, 2, Duration::from_secs(5)).unwrap();
        let outcome = hasher
            .verify(None, Password::for_verification("anything"))
            .await
            .unwrap();
        assert_eq!(outcome, Verification::Mismatch);
        let hash = hasher
            .hash(Password::for_verification("correct horse"))
            .await
            .unwrap();
        let outcome = hasher
            .verify(Some(hash), Password::for_verification("correct horse"))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn bad_parameters_are_refused_at_start() {
        let bad = HashParams {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        };
        assert!(Hasher::new(bad, 1, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn now_has_microsecond_precision() {
        assert_eq!(now().nanosecond() % 1_000, 0);
    }
}
