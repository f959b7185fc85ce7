//! Password hashing off the request threads. (Interim: replaced by the
//! bounded pool of dedicated threads.)

use std::time::Duration;

use userhub_domain::password::{HashParams, Password, PasswordHash, Verification, hash_password};
use userhub_domain::ports::{HashError, PasswordHasher};

/// Bounded argon2 work.
#[derive(Debug, Clone)]
pub struct HasherPool {
    params: HashParams,
    dummy: PasswordHash,
}

impl HasherPool {
    /// A pool hashing under `params`.
    pub fn new(params: HashParams, _concurrency: usize, _wait: Duration) -> Result<Self, String> {
        let dummy = hash_password(&Password::for_verification("dummy"), &params)
            .map_err(|e| format!("argon2 parameters are not usable: {}", e.message))?;
        Ok(Self { params, dummy })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }
}

impl PasswordHasher for HasherPool {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        hash_password(password, &self.params).map_err(|e| HashError::Failed(e.message))
    }

    fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, HashError> {
        Ok(match stored {
            Some(hash) => hash.verify(password, &self.params),
            None => {
                let _ = self.dummy.verify(password, &self.params);
                Verification::Mismatch
            }
        })
    }
}
