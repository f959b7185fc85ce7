//! Passwords: the plaintext a person typed, the tenant's policy it must meet,
//! and the argon2id hash that is all we ever store.
//!
//! Security intent: a [`Password`] never prints (its `Debug` shows `***`) and
//! its bytes are zeroed when it is dropped; a [`PasswordHash`] is a stored
//! hash string (argon2id as we make it, or an imported format, see
//! [`crate::hash_format`]) that leaves the storage layer only in an
//! ADMIN's export, never in a response, a log line or an error.
//! Hashing is deliberately slow (memory-hard); callers on an async runtime must
//! run [`hash_password`] and [`PasswordHash::verify`] on a blocking thread.
//!
//! Memory: argon2 needs a working buffer of `m` KiB per hash (19 MiB at
//! OWASP's parameters). [`hash_password`] and [`PasswordHash::verify`]
//! allocate it for the call and free it after. A service that hashes all
//! day should instead keep one [`HashMemory`] per hashing thread and call
//! [`hash_password_with`] and [`PasswordHash::verify_with`]: the allocator
//! then never sees a 19 MiB request again, so it cannot hoard freed ones
//! (glibc keeps them per thread and rarely returns them to the system).

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::ValueError;
use crate::hash_format::HashFormat;

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
    fn argon2_params(&self) -> Result<Params, ValueError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| ValueError::new("invalid_parameters", format!("argon2 parameters: {e}")))
    }
}

/// Reusable working memory for argon2id: enough blocks for one hash or
/// verification at the [`HashParams`] it was made for, or at any cheaper ones.
///
/// Keep one per hashing thread and pass it to [`hash_password_with`] and
/// [`PasswordHash::verify_with`], so that hashing allocates nothing per call.
/// Its contents are derived from the last password hashed with it, so it is
/// zeroed when dropped. It never prints more than its size.
///
/// ```
/// use userhub_domain::password::{
///     hash_password_with, HashMemory, HashParams, Password, Verification,
/// };
///
/// # fn main() -> Result<(), userhub_domain::ValueError> {
/// let params = HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 };
/// let mut memory = HashMemory::for_params(&params)?;
/// let password = Password::for_verification("correct horse battery staple");
/// let hash = hash_password_with(&password, &params, &mut memory)?;
/// // The same buffer again: no allocation of argon2's memory.
/// assert_eq!(
///     hash.verify_with(&password, &params, &mut memory)?,
///     Verification::Match { needs_rehash: false },
/// );
/// # Ok(())
/// # }
/// ```
pub struct HashMemory {
    blocks: Vec<Block>,
}

impl HashMemory {
    /// Memory for hashes at `params`. Fails on parameters argon2 refuses,
    /// and when the memory cannot be had (instead of aborting the process).
    pub fn for_params(params: &HashParams) -> Result<Self, ValueError> {
        let count = params.argon2_params()?.block_count();
        let mut blocks = Vec::new();
        blocks.try_reserve_exact(count).map_err(|_| {
            ValueError::new(
                "out_of_memory",
                format!("cannot allocate {count} KiB for argon2"),
            )
        })?;
        blocks.resize(count, Block::new());
        Ok(Self { blocks })
    }

    /// Whether a hash at `params` fits in this memory. Parameters argon2
    /// refuses need no memory (nothing is computed for them), so they fit.
    pub fn fits(&self, params: &HashParams) -> bool {
        params
            .argon2_params()
            .map_or(true, |p| p.block_count() <= self.blocks.len())
    }

    /// The size in KiB (an argon2 block is 1 KiB).
    pub fn kib(&self) -> usize {
        self.blocks.len() * Block::SIZE / 1024
    }
}

impl Drop for HashMemory {
    fn drop(&mut self) {
        // The blocks are derived from a password: do not leave them in freed memory.
        self.blocks.zeroize();
    }
}

impl fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashMemory")
            .field("kib", &self.kib())
            .finish()
    }
}

/// A stored password hash: an argon2id PHC string
/// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) as userhub makes it, or
/// an imported hash of another system in one of the [`HashFormat`]s,
/// already parsed (it exists only readable and within the cost bounds).
#[derive(Clone, PartialEq, Eq, Zeroize)]
pub struct PasswordHash {
    text: String,
    format: HashFormat,
}

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
/// Slow by design (tens of milliseconds): run it off any event loop. It
/// allocates argon2's memory for this call; see [`hash_password_with`] to
/// reuse a buffer instead.
pub fn hash_password(password: &Password, params: &HashParams) -> Result<PasswordHash, ValueError> {
    hash_password_with(password, params, &mut HashMemory::for_params(params)?)
}

/// [`hash_password`] in caller-supplied `memory`, which must fit `params`
/// ([`HashMemory::fits`]). The PHC string is the same as argon2's own
/// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
pub fn hash_password_with(
    password: &Password,
    params: &HashParams,
    memory: &mut HashMemory,
) -> Result<PasswordHash, ValueError> {
    hash_with_salt(password, params, &SaltString::generate(&mut OsRng), memory)
}

fn hash_failed(e: impl fmt::Display) -> ValueError {
    ValueError::new("hash_failed", format!("argon2 failed: {e}"))
}

/// What argon2's `PasswordHasher::hash_password` does, in `memory`.
fn hash_with_salt(
    password: &Password,
    params: &HashParams,
    salt: &SaltString,
    memory: &mut HashMemory,
) -> Result<PasswordHash, ValueError> {
    let argon2_params = params.argon2_params()?;
    if !memory.fits(params) {
        return Err(ValueError::new(
            "memory_too_small",
            format!(
                "argon2 needs {} KiB, the buffer has {}",
                argon2_params.block_count(),
                memory.kib()
            ),
        ));
    }
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(hash_failed)?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(
                password.expose().as_bytes(),
                salt_bytes,
                out,
                &mut memory.blocks[..],
            )
            .map_err(Into::into)
    })
    .map_err(hash_failed)?;
    let phc = argon2::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&argon2_params).map_err(hash_failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    let text = phc.to_string();
    let format = HashFormat::parse(&text).map_err(hash_failed)?;
    Ok(PasswordHash { text, format })
}

impl PasswordHash {
    /// Accept a stored hash in any of the supported [`HashFormat`]s:
    /// userhub's own argon2id, or one imported from another system.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let format = HashFormat::parse(text)?;
        Ok(Self {
            text: text.to_owned(),
            format,
        })
    }

    /// The stored string, for storage (and an ADMIN's export) only.
    pub fn as_phc(&self) -> &str {
        &self.text
    }

    /// Its format, parsed: what a verifier of that format needs.
    pub fn format(&self) -> &HashFormat {
        &self.format
    }

    /// The argon2 cost parameters this hash was made with; `None` for the
    /// other formats. Compare with [`HashMemory::fits`] before
    /// [`PasswordHash::verify_with`].
    pub fn params(&self) -> Option<HashParams> {
        let HashFormat::Argon2 { .. } = self.format else {
            return None;
        };
        let parsed = argon2::PasswordHash::new(&self.text).ok()?;
        let p = Params::try_from(&parsed).ok()?;
        Some(HashParams {
            memory_kib: p.m_cost(),
            iterations: p.t_cost(),
            parallelism: p.p_cost(),
        })
    }

    /// Check `password` against this hash, reading the cost parameters from
    /// the hash itself, and say whether it should be re-hashed under `current`.
    ///
    /// Slow by design: run it off any event loop. It allocates the memory
    /// the hash needs for this call; see [`PasswordHash::verify_with`] to
    /// reuse a buffer instead. A hash whose memory cannot be had does not
    /// match. Only argon2 is verified here: a hash of another format does
    /// not match (the service's hasher verifies those).
    pub fn verify(&self, password: &Password, current: &HashParams) -> Verification {
        let Some(stored) = self.params() else {
            return Verification::Mismatch;
        };
        let Ok(mut memory) = HashMemory::for_params(&stored) else {
            return Verification::Mismatch;
        };
        self.verify_with(password, current, &mut memory)
            .unwrap_or(Verification::Mismatch)
    }

    /// [`PasswordHash::verify`] in caller-supplied `memory`. Fails when
    /// the hash needs more memory than `memory` has (see [`PasswordHash::params`]
    /// and [`HashMemory::fits`]), and with `other_format` when it is no
    /// argon2 hash ([`PasswordHash::format`] says which it is).
    pub fn verify_with(
        &self,
        password: &Password,
        current: &HashParams,
        memory: &mut HashMemory,
    ) -> Result<Verification, ValueError> {
        if !matches!(self.format, HashFormat::Argon2 { .. }) {
            return Err(ValueError::new(
                "other_format",
                format!("a {} hash is not verified here", self.format.name()),
            ));
        }
        let Ok(parsed) = argon2::PasswordHash::new(&self.text) else {
            return Ok(Verification::Mismatch);
        };
        // The hash carries its own parameters (and its output length).
        let Ok(stored) = Params::try_from(&parsed) else {
            return Ok(Verification::Mismatch);
        };
        if stored.block_count() > memory.blocks.len() {
            return Err(ValueError::new(
                "memory_too_small",
                format!(
                    "the stored hash needs {} KiB, the buffer has {}",
                    stored.block_count(),
                    memory.kib()
                ),
            ));
        }
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(Verification::Mismatch);
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
            return Ok(Verification::Mismatch);
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(version)) => version,
            Some(Err(_)) => return Ok(Verification::Mismatch),
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
            return Ok(Verification::Mismatch);
        };
        let argon2 = Argon2::new(algorithm, version, stored.clone());
        let computed = Output::init_with(expected.len(), |out| {
            argon2
                .hash_password_into_with_memory(
                    password.expose().as_bytes(),
                    salt_bytes,
                    out,
                    &mut memory.blocks[..],
                )
                .map_err(Into::into)
        });
        // `Output`'s equality is constant-time.
        match computed {
            Ok(computed) if computed == expected => {}
            _ => return Ok(Verification::Mismatch),
        }
        let needs_rehash = stored.m_cost() != current.memory_kib
            || stored.t_cost() != current.iterations
            || stored.p_cost() != current.parallelism
            || parsed.version != Some(Version::V0x13.into())
            || !self.format.is_native();
        Ok(Verification::Match { needs_rehash })
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
    fn the_phc_string_is_the_one_argon2_itself_makes() {
        use argon2::password_hash::PasswordHasher as _;
        let password = Password::for_verification(STRONG);
        let salt = SaltString::generate(&mut OsRng);
        let mut memory = HashMemory::for_params(&FAST).unwrap();
        let ours = hash_with_salt(&password, &FAST, &salt, &mut memory).unwrap();
        let params = FAST.argon2_params().unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(STRONG.as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert_eq!(ours.as_phc(), theirs);
        assert!(theirs.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    }

    #[test]
    fn one_buffer_serves_many_hashes_and_cheaper_parameters() {
        let mut memory = HashMemory::for_params(&FAST).unwrap();
        assert_eq!(memory.kib(), 1024);
        assert_eq!(format!("{memory:?}"), "HashMemory { kib: 1024 }");
        let password = Password::for_verification(STRONG);
        let cheaper = HashParams {
            memory_kib: 64,
            ..FAST
        };
        assert!(memory.fits(&cheaper));
        for params in [FAST, cheaper, FAST] {
            let hash = hash_password_with(&password, &params, &mut memory).unwrap();
            assert_eq!(hash.params(), Some(params));
            // The plain functions agree with the buffered ones.
            assert_eq!(
                hash.verify(&password, &params),
                hash.verify_with(&password, &params, &mut memory).unwrap()
            );
            assert_eq!(
                hash.verify_with(&password, &FAST, &mut memory).unwrap(),
                Verification::Match {
                    needs_rehash: params != FAST
                }
            );
            assert_eq!(
                hash.verify_with(&Password::for_verification("wrong"), &FAST, &mut memory)
                    .unwrap(),
                Verification::Mismatch
            );
        }
    }

    #[test]
    fn a_hash_larger_than_the_buffer_is_refused_not_miscomputed() {
        let password = Password::for_verification(STRONG);
        let larger = HashParams {
            memory_kib: 2048,
            ..FAST
        };
        let hash = hash_password(&password, &larger).unwrap();
        let mut small = HashMemory::for_params(&FAST).unwrap();
        assert!(!small.fits(&larger));
        assert_eq!(
            hash.verify_with(&password, &larger, &mut small)
                .unwrap_err()
                .code,
            "memory_too_small"
        );
        assert_eq!(
            hash_password_with(&password, &larger, &mut small)
                .unwrap_err()
                .code,
            "memory_too_small"
        );
        // The allocating form still verifies it.
        assert_eq!(
            hash.verify(&password, &larger),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn unreadable_hashes_do_not_exist() {
        // No output part: nothing to compare with, so nothing to store.
        for text in [
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ",
            "not a hash",
            "",
        ] {
            assert_eq!(
                PasswordHash::parse(text).unwrap_err().code,
                "invalid_format"
            );
        }
    }

    #[test]
    fn other_argon2_variants_verify_and_ask_for_rehash() {
        let password = Password::for_verification(STRONG);
        let params = FAST.argon2_params().unwrap();
        let salt = SaltString::generate(&mut OsRng);
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            use argon2::password_hash::PasswordHasher as _;
            let theirs = Argon2::new(algorithm, Version::V0x13, params.clone())
                .hash_password(STRONG.as_bytes(), &salt)
                .unwrap()
                .to_string();
            let hash = PasswordHash::parse(&theirs).unwrap();
            assert_eq!(hash.params(), Some(FAST));
            assert_eq!(
                hash.verify(&password, &FAST),
                Verification::Match { needs_rehash: true }
            );
            assert_eq!(
                hash.verify(&Password::for_verification("wrong"), &FAST),
                Verification::Mismatch
            );
        }
    }

    #[test]
    fn other_formats_are_not_verified_here() {
        let bcrypt =
            PasswordHash::parse("$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m")
                .unwrap();
        assert_eq!(bcrypt.params(), None);
        let mut memory = HashMemory::for_params(&FAST).unwrap();
        let password = Password::for_verification(STRONG);
        assert_eq!(
            bcrypt
                .verify_with(&password, &FAST, &mut memory)
                .unwrap_err()
                .code,
            "other_format"
        );
        assert_eq!(bcrypt.verify(&password, &FAST), Verification::Mismatch);
    }

    #[test]
    fn unusable_parameters_get_no_memory() {
        let bad = HashParams {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        };
        assert_eq!(
            HashMemory::for_params(&bad).unwrap_err().code,
            "invalid_parameters"
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
            PasswordHash::parse(argon2i).unwrap().format().name(),
            "argon2i"
        );
    }
}
