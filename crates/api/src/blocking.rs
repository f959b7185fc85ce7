//! Blocking work, kept off the actix event loop.
//!
//! Database calls run on the blocking thread pool ([`db`]). Argon2 does not:
//! it runs on the hashing threads of a [`HasherPool`], each with its own
//! reusable buffer, so hashing memory stays at concurrency × argon2 memory
//! however many requests arrive ([`Hasher`] is the async face of that
//! pool). A request whose hash is not started within the configured wait is
//! answered 503 with `Retry-After` instead of queueing without bound; once
//! started, a hash runs to the end even if the client hangs up, so at most
//! `concurrency` hashes ever run at once.

use std::time::Duration;

use actix_web::web;
use userhub_domain::password::{HashParams, Password, PasswordHash, Verification};
use userhub_domain::{DomainError, StorageError};
use userhub_storage::Store;

use crate::error::ApiError;
use crate::hasher::{HashError, HasherPool};

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

/// Argon2 work, bounded, for async handlers: a thin face of a
/// [`HasherPool`]. Waiting for a hashing slot holds no thread.
#[derive(Clone, Debug)]
pub struct Hasher {
    pool: HasherPool,
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy { retry_after } => ApiError::Busy { retry_after },
            HashError::Failed(message) => ApiError::Internal(format!("hashing failed: {message}")),
        }
    }
}

impl Hasher {
    /// A hasher running at most `concurrency` hashes at once under `params`.
    /// Fails (with one line) if argon2 refuses the parameters.
    pub fn new(params: HashParams, concurrency: usize, wait: Duration) -> Result<Self, String> {
        Ok(Self {
            pool: HasherPool::new(params, concurrency, wait)?,
        })
    }

    /// The pool itself, for code that already runs on a blocking thread.
    pub fn pool(&self) -> &HasherPool {
        &self.pool
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.pool.params()
    }

    /// Hash `password` under the current parameters.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, ApiError> {
        Ok(self.pool.hash_async(password).await?)
    }

    /// Check `password` against `stored`; with no stored hash, spend the
    /// same time on the dummy and answer [`Verification::Mismatch`].
    pub async fn verify(
        &self,
        stored: Option<PasswordHash>,
        password: Password,
    ) -> Result<Verification, ApiError> {
        let (outcome, _) = self.verify_and_upgrade(stored, password).await?;
        Ok(outcome)
    }

    /// Verify, and when the password is right but its hash is outdated,
    /// make a new hash in the same slot. Returns the outcome and the new
    /// hash, if one was made.
    pub async fn verify_and_upgrade(
        &self,
        stored: Option<PasswordHash>,
        password: Password,
    ) -> Result<(Verification, Option<PasswordHash>), ApiError> {
        Ok(self.pool.verify_and_upgrade_async(stored, password).await?)
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

    #[test]
    fn a_busy_pool_is_a_503_with_retry_after() {
        // The pool's own tests show when it is busy; this is the answer.
        let busy = ApiError::from(HashError::Busy { retry_after: 1 });
        assert!(matches!(busy, ApiError::Busy { retry_after: 1 }));
        let failed = ApiError::from(HashError::Failed("x".into()));
        assert!(matches!(failed, ApiError::Internal(_)));
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
