//! Passwords: the plaintext a person typed, the tenant's policy it must meet,
//! and the argon2id hash that is all we ever store.
//!
//! Security intent: a [`Password`] never prints (its `Debug` shows `***`) and
//! its bytes are zeroed when it is dropped; a [`PasswordHash`] is a PHC string
//! that never leaves the storage layer in a response, a log line or an error.
//! Hashing is deliberately slow (memory-hard); callers on an async runtime must
//! run [`hash_password`] and [`PasswordHash::verify`] on a blocking thread.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::ValueError;

/// A plaintext password that met a [`PasswordPolicy`].
///
/// It cannot be printed and is zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(String);

impl Password {
    /// Check `plaintext` against `policy`. `context` holds words that must
    /// not make a password strong (the user's name, username, e-mail), as
    /// the strength estimator penalises passwords built from them.
    pub fn parse(
        plaintext: &str,
        policy: &PasswordPolicy,
        context: &[&str],
    ) -> Result<Self, ValueError> {
        let length = plaintext.chars().count();
        if length < policy.min_length {
            return Err(ValueError::new(
                "too_short",
                format!("must be at least {} characters", policy.min_length),
            ));
        }
        if length > policy.max_length {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {} characters", policy.max_length),
            ));
        }
        if policy.min_strength > 0 {
            let score = u8::from(zxcvbn::zxcvbn(plaintext, context).score());
            if score < policy.min_strength {
                return Err(ValueError::new(
                    "too_weak",
                    format!(
                        "is too easy to guess (strength {score} of 4, at least {} required)",
                        policy.min_strength
                    ),
                ));
            }
        }
        Ok(Self(plaintext.to_owned()))
    }

    /// A password taken as it is, without the policy: for checking a login
    /// attempt against a stored hash, never for setting a password.
    pub fn for_verification(plaintext: &str) -> Self {
        Self(plaintext.to_owned())
    }

    /// The plaintext, for hashing or verification only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password exactly as a request carried it, not yet judged by any policy:
/// what a command hands the domain, which checks it (with the tenant's
/// policy and the user's own words) before anything is hashed.
///
/// It cannot be printed and is zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PlainPassword(String);

impl PlainPassword {
    /// Wrap the text a request carried.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text, to check or hash.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Judge it by `policy`, with `context` the words it must not be built from.
    pub fn check(&self, policy: &PasswordPolicy, context: &[&str]) -> Result<Password, ValueError> {
        Password::parse(&self.0, policy, context)
    }

    /// Take it as it is, to check against a stored hash (never to set one).
    pub fn for_verification(&self) -> Password {
        Password::for_verification(&self.0)
    }
}

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainPassword(***)")
    }
}

/// A tenant's rules for new passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values).
    pub min_length: usize,
    /// Most characters; bounds the work of hashing.
    pub max_length: usize,
    /// Least `zxcvbn` score, 0 (anything) to 4 (very hard to guess).
    pub min_strength: u8,
}

impl Default for PasswordPolicy {
    /// Length 8 to 256 and a `zxcvbn` score of at least 3 (NIST SP 800-63B
    /// asks for at least 8 characters and a check against guessable values).
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            min_strength: 3,
        }
    }
}

/// Cost parameters of argon2id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashParams {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Iterations (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for HashParams {
    /// OWASP's recommendation for argon2id: m = 19456 KiB, t = 2, p = 1.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    fn argon2(&self) -> Result<Argon2<'static>, ValueError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| {
                ValueError::new("invalid_parameters", format!("argon2 parameters: {e}"))
            })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// An argon2id hash in PHC string form (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
#[derive(Clone, PartialEq, Eq, Zeroize)]
pub struct PasswordHash(String);

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password is right. `needs_rehash` says the hash was made with
    /// other parameters than the current ones and should be replaced.
    Match {
        /// Whether to store a fresh hash made with the current parameters.
        needs_rehash: bool,
    },
    /// The password is wrong.
    Mismatch,
}

/// Hash `password` with argon2id under `params` and a fresh random salt.
///
/// Slow by design (tens of milliseconds): run it off any event loop.
pub fn hash_password(password: &Password, params: &HashParams) -> Result<PasswordHash, ValueError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = params
        .argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| ValueError::new("hash_failed", format!("argon2 failed: {e}")))?;
    Ok(PasswordHash(hash.to_string()))
}

impl PasswordHash {
    /// Accept a stored PHC string; it must be an argon2id hash.
    pub fn parse(phc: &str) -> Result<Self, ValueError> {
        let parsed = argon2::PasswordHash::new(phc)
            .map_err(|_| ValueError::new("invalid_format", "is not a PHC hash string"))?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(ValueError::new("invalid_format", "is not an argon2id hash"));
        }
        Ok(Self(phc.to_owned()))
    }

    /// The PHC string, for storage only.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Check `password` against this hash, reading the cost parameters from
    /// the hash itself, and say whether it should be re-hashed under `current`.
    ///
    /// Slow by design: run it off any event loop.
    pub fn verify(&self, password: &Password, current: &HashParams) -> Verification {
        let Ok(parsed) = argon2::PasswordHash::new(&self.0) else {
            return Verification::Mismatch;
        };
        // The hash carries its own parameters; Argon2::default() reads them from it.
        if Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_err()
        {
            return Verification::Mismatch;
        }
        let stored = Params::try_from(&parsed).ok();
        let needs_rehash = match stored {
            Some(p) => {
                p.m_cost() != current.memory_kib
                    || p.t_cost() != current.iterations
                    || p.p_cost() != current.parallelism
                    || parsed.version != Some(Version::V0x13 as u32)
            }
            None => true,
        };
        Verification::Match { needs_rehash }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Cheap parameters so the suite stays fast; the default is tested once.
    const FAST: HashParams = HashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    const STRONG: &str = "correct-horse-battery-staple-42";

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::parse(STRONG, &PasswordPolicy::default(), &[]).unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
        let hash = hash_password(&password, &FAST).unwrap();
        assert_eq!(format!("{hash:?}"), "PasswordHash(***)");
    }

    #[test]
    fn policy_bounds_length_and_strength() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            Password::parse("Ab1!", &policy, &[]).unwrap_err().code,
            "too_short"
        );
        let long = "x".repeat(257);
        assert_eq!(
            Password::parse(&long, &policy, &[]).unwrap_err().code,
            "too_long"
        );
        // The vendors' documented example values.
        assert_eq!(
            Password::parse("password", &policy, &[]).unwrap_err().code,
            "too_weak"
        );
        assert!(Password::parse("newStr0ng!P@ssw0rd", &policy, &[]).is_ok());
        // SELISE Blocks' documented example is strong enough for zxcvbn.
        assert!(Password::parse("SecurePassword123!", &policy, &[]).is_ok());
        // Built from the user's own name: weak in context.
        assert_eq!(
            Password::parse("johndoe1990", &policy, &["john", "doe", "johndoe1990"])
                .unwrap_err()
                .code,
            "too_weak"
        );
        let lax = PasswordPolicy {
            min_strength: 0,
            ..policy
        };
        assert!(Password::parse("password", &lax, &[]).is_ok());
    }

    #[test]
    fn hash_is_argon2id_with_owasp_defaults() {
        let password = Password::for_verification(STRONG);
        let hash = hash_password(&password, &HashParams::default()).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hash.verify(&password, &HashParams::default()),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn verify_reads_parameters_from_the_hash_and_asks_for_rehash() {
        let password = Password::for_verification(STRONG);
        let old = hash_password(&password, &FAST).unwrap();
        let stronger = HashParams {
            memory_kib: 2048,
            ..FAST
        };
        assert_eq!(
            old.verify(&password, &stronger),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            old.verify(&password, &FAST),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            old.verify(&Password::for_verification("wrong one"), &FAST),
            Verification::Mismatch
        );
    }

    #[test]
    fn salts_differ_and_parse_round_trips() {
        let password = Password::for_verification(STRONG);
        let a = hash_password(&password, &FAST).unwrap();
        let b = hash_password(&password, &FAST).unwrap();
        assert_ne!(a, b);
        assert_eq!(PasswordHash::parse(a.as_phc()).unwrap(), a);
        assert_eq!(
            PasswordHash::parse("plaintext").unwrap_err().code,
            "invalid_format"
        );
        let argon2i = "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$T+jSkdfbPmSRKbxN3lLWgA";
        assert_eq!(
            PasswordHash::parse(argon2i).unwrap_err().code,
            "invalid_format"
        );
    }
}
