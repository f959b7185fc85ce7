//! The ports: what the domain's operations need from outside that is not a
//! repository, as traits the service implements (the api crate hashes on its
//! own bounded thread pool; tests use simple stand-ins).
//!
//! An operation receives them, with the repositories and the time, in one
//! [`Ctx`], so a dialect calls one function and the operation loads,
//! validates, authorizes, hashes and writes in that order.

use std::fmt;

use time::OffsetDateTime;

use crate::auth::TokenLifetimes;
use crate::error::{DomainError, StorageError};
use crate::password::{Password, PasswordHash, Verification};
use crate::throttle::ThrottlePolicy;

/// Makes and checks password hashes. Slow by design: implementations bound
/// how many run at once and may refuse with [`HashError::Busy`].
pub trait PasswordHasher {
    /// Hash `password` under the current parameters.
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Check `password` against `stored`. With no stored hash (an unknown
    /// user, a user without a password) the same work is spent on a stand-in
    /// and the answer is [`Verification::Mismatch`], so timing does not tell
    /// the cases apart.
    fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, HashError>;

    /// [`verify`](Self::verify), and when the password is right but its
    /// hash was made with other parameters, a new hash of it (a re-hash
    /// that fails is `None`: the verification stands). Implementations may
    /// do both in one slot.
    fn verify_and_rehash(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<(Verification, Option<PasswordHash>), HashError> {
        let outcome = self.verify(stored, password)?;
        let rehashed = match outcome {
            Verification::Match { needs_rehash: true } => self.hash(password).ok(),
            _ => None,
        };
        Ok((outcome, rehashed))
    }
}

/// Hashing could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the configured wait.
    #[error("every password hashing slot is busy")]
    Busy {
        /// Seconds the client should wait before retrying.
        retry_after: u64,
    },
    /// The hash could not be computed (bad parameters, a failed worker).
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl From<HashError> for DomainError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy { retry_after } => DomainError::Busy { retry_after },
            HashError::Failed(detail) => {
                DomainError::Internal(StorageError::new(format!("password hashing: {detail}")))
            }
        }
    }
}

/// What an operation runs with: the repositories, the ports, the settings
/// and the time.
pub struct Ctx<'a, R> {
    /// The repositories.
    pub repo: &'a R,
    /// Password hashing.
    pub hasher: &'a dyn PasswordHasher,
    /// When failed password attempts are refused for a while (the counts
    /// are in the repositories: see [`crate::throttle`]).
    pub throttle: ThrottlePolicy,
    /// How long the tokens of a login live.
    pub tokens: TokenLifetimes,
    /// The time of the request, at the storage's precision.
    pub now: OffsetDateTime,
}

impl<R> fmt::Debug for Ctx<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("tokens", &self.tokens)
            .field("throttle", &self.throttle)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}
