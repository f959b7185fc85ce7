//! Verification of the password hashes imported from other systems
//! (bcrypt, PBKDF2, scrypt, SHA-crypt), with RustCrypto's implementations;
//! argon2 of every variant is the domain's own ([`PasswordHash::verify_with`]).
//!
//! Only verification: a password that matches is re-hashed to the
//! tenant's argon2id by the caller, so these formats are never made here.
//! The domain parsed the hash and bounded its cost before it was stored
//! ([`HashFormat`]), so every call here is bounded too; the hasher runs it
//! on its own threads like any argon2 work.
//!
//! Security intent: every comparison of a computed digest with the stored
//! one is constant-time (`subtle` here; `bcrypt` compares with `subtle`
//! itself).

use subtle::ConstantTimeEq;
use userhub_domain::hash_format::{HashFormat, Pbkdf2Digest, ShaCryptDigest};
use userhub_domain::password::{Password, PasswordHash};

/// Whether `password` is the one `stored` was made from. `Err` (for the
/// log) when the hash cannot be computed, or when it is an argon2 hash,
/// which is not verified here.
pub fn verify(stored: &PasswordHash, password: &Password) -> Result<bool, String> {
    let secret = password.expose().as_bytes();
    match stored.format() {
        HashFormat::Argon2 { .. } => Err("argon2 hashes are verified by the domain".into()),
        HashFormat::Bcrypt { .. } => {
            bcrypt::verify(secret, stored.as_phc()).map_err(|e| format!("bcrypt: {e}"))
        }
        HashFormat::Pbkdf2 {
            digest,
            iterations,
            salt,
            hash,
            ..
        } => {
            let mut computed = vec![0u8; hash.len()];
            match digest {
                Pbkdf2Digest::Sha1 => {
                    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(secret, salt, *iterations, &mut computed)
                }
                Pbkdf2Digest::Sha256 => {
                    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, *iterations, &mut computed)
                }
                Pbkdf2Digest::Sha512 => {
                    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(secret, salt, *iterations, &mut computed)
                }
            }
            Ok(computed.ct_eq(hash).into())
        }
        HashFormat::Scrypt {
            log_n,
            r,
            p,
            salt,
            hash,
        } => {
            let params = scrypt::Params::new(*log_n, *r, *p, hash.len())
                .map_err(|e| format!("scrypt parameters: {e}"))?;
            let mut computed = vec![0u8; hash.len()];
            scrypt::scrypt(secret, salt, &params, &mut computed)
                .map_err(|e| format!("scrypt: {e}"))?;
            Ok(computed.ct_eq(hash).into())
        }
        HashFormat::ShaCrypt {
            digest,
            rounds,
            salt,
            hash,
        } => {
            let rounds = usize::try_from(*rounds).map_err(|e| e.to_string())?;
            let computed = match digest {
                ShaCryptDigest::Sha256 => sha_crypt::Sha256Params::new(rounds)
                    .and_then(|params| sha_crypt::sha256_crypt_b64(secret, salt, &params)),
                ShaCryptDigest::Sha512 => sha_crypt::Sha512Params::new(rounds)
                    .and_then(|params| sha_crypt::sha512_crypt_b64(secret, salt, &params)),
            }
            .map_err(|e| format!("sha-crypt: {e:?}"))?;
            Ok(computed.as_bytes().ct_eq(hash).into())
        }
    }
}
