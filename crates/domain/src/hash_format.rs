//! The formats a stored password hash may have: userhub's own argon2id, and
//! the hashes of the systems a tenant imports its users from (argon2i/d,
//! bcrypt, PBKDF2 in PHC, passlib and Django form, scrypt, SHA-crypt).
//!
//! A [`HashFormat`] exists only parsed: its parameters read, its salt and
//! digest decoded, its cost within the bounds below. A hash that does not
//! parse is refused where it enters (an import line naming `passwordHash`),
//! never stored as a user who could never log in.
//!
//! Security intent: the costs are bounded so that one stored hash cannot
//! make a login take minutes or gigabytes; the bounds are far above what
//! the systems we import from make by default (bcrypt 10–12, Django's
//! 1,000,000 PBKDF2 iterations, passlib's 656,000 SHA-crypt rounds, scrypt
//! `ln=16`). This module only reads hashes: verifying the foreign ones is
//! the job of the service's hasher, which has their implementations.

use argon2::Params;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroize;

use crate::error::ValueError;

/// Most memory an argon2 hash may ask for: 2 GiB (RFC 9106's first
/// recommended setting).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 2 * 1024 * 1024;
/// Highest bcrypt cost (2^16 rounds: seconds a verification).
pub const MAX_BCRYPT_COST: u32 = 16;
/// Most PBKDF2 iterations (five times Django 5's default).
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// Most memory an scrypt hash may ask for, in KiB (1 GiB: `ln=20, r=8`).
pub const MAX_SCRYPT_MEMORY_KIB: u64 = 1024 * 1024;
/// Most SHA-crypt rounds (about seven times passlib's default).
pub const MAX_SHA_CRYPT_ROUNDS: u32 = 5_000_000;

/// Which argon2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Variant {
    /// argon2id, what userhub makes.
    Id,
    /// argon2i.
    I,
    /// argon2d.
    D,
}

/// The hash function under PBKDF2's HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// The written form of a PBKDF2 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pbkdf2Style {
    /// PHC: `$pbkdf2-sha256$i=600000,l=32$<B64 salt>$<B64 hash>` (RustCrypto).
    Phc,
    /// passlib: `$pbkdf2-sha256$29000$<ab64 salt>$<ab64 hash>`.
    Passlib,
    /// Django: `pbkdf2_sha256$1000000$<salt text>$<base64 hash>`.
    Django,
}

/// Which SHA-crypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaCryptDigest {
    /// `$5$`, SHA-256.
    Sha256,
    /// `$6$`, SHA-512.
    Sha512,
}

/// A stored password hash, parsed: its scheme and what a verifier needs.
#[derive(Debug, Clone, PartialEq, Eq, Zeroize)]
pub enum HashFormat {
    /// An argon2 PHC string; its parameters are read from the string.
    Argon2 {
        /// Which argon2.
        #[zeroize(skip)]
        variant: Argon2Variant,
        /// Its memory, KiB.
        memory_kib: u32,
    },
    /// bcrypt, `$2a$`, `$2b$` or `$2y$` (verified from the string).
    Bcrypt {
        /// The cost (log2 of the rounds).
        cost: u32,
    },
    /// PBKDF2 with HMAC.
    Pbkdf2 {
        /// The HMAC's hash.
        #[zeroize(skip)]
        digest: Pbkdf2Digest,
        /// How it was written.
        #[zeroize(skip)]
        style: Pbkdf2Style,
        /// Iterations.
        iterations: u32,
        /// The salt's bytes.
        salt: Vec<u8>,
        /// The derived key.
        hash: Vec<u8>,
    },
    /// scrypt in PHC form: `$scrypt$ln=16,r=8,p=1$<salt>$<hash>`.
    Scrypt {
        /// log2 of N.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
        /// The salt's bytes.
        salt: Vec<u8>,
        /// The derived key.
        hash: Vec<u8>,
    },
    /// SHA-crypt, `$5$[rounds=N$]<salt>$<hash>` or `$6$…`.
    ShaCrypt {
        /// Which one.
        #[zeroize(skip)]
        digest: ShaCryptDigest,
        /// Rounds (5000 when the string names none).
        rounds: u32,
        /// The salt as written (up to 16 characters, used as they are).
        salt: Vec<u8>,
        /// The hash as written, in crypt's base64.
        hash: Vec<u8>,
    },
}

fn invalid(message: impl Into<String>) -> ValueError {
    ValueError::new("invalid_format", message)
}

fn too_costly(message: impl Into<String>) -> ValueError {
    ValueError::new("too_costly", message)
}

/// Standard alphabet, padding optional, trailing bits tolerated: how
/// Django and passlib (after its `.` → `+` swap) write base64.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn decode(text: &str, what: &str) -> Result<Vec<u8>, ValueError> {
    LENIENT
        .decode(text)
        .map_err(|_| invalid(format!("its {what} is not base64")))
}

impl HashFormat {
    /// Read `text` as one of the supported formats.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        if text.len() > 512 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("is not a password hash"));
        }
        if let Some(rest) = text.strip_prefix("pbkdf2_") {
            return Self::django(rest);
        }
        let mut parts = text.split('$');
        if parts.next() != Some("") {
            return Err(invalid(
                "is not a supported password hash (argon2, bcrypt, PBKDF2, scrypt, SHA-crypt)",
            ));
        }
        match parts.next().unwrap_or_default() {
            "argon2id" | "argon2i" | "argon2d" => Self::argon2(text),
            "2a" | "2b" | "2y" => Self::bcrypt(text),
            "pbkdf2" | "pbkdf2-sha256" | "pbkdf2-sha512" => Self::pbkdf2(text),
            "scrypt" => Self::scrypt(text),
            "5" => Self::sha_crypt(text, ShaCryptDigest::Sha256),
            "6" => Self::sha_crypt(text, ShaCryptDigest::Sha512),
            _ => Err(invalid(
                "is not a supported password hash (argon2, bcrypt, PBKDF2, scrypt, SHA-crypt)",
            )),
        }
    }

    /// Whether this is userhub's own format (argon2id): any other is
    /// replaced by an argon2id hash at the first successful login.
    pub fn is_native(&self) -> bool {
        matches!(
            self,
            Self::Argon2 {
                variant: Argon2Variant::Id,
                ..
            }
        )
    }

    /// The scheme's name as the docs spell it (`bcrypt`, `pbkdf2-sha256`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Argon2 { variant, .. } => match variant {
                Argon2Variant::Id => "argon2id",
                Argon2Variant::I => "argon2i",
                Argon2Variant::D => "argon2d",
            },
            Self::Bcrypt { .. } => "bcrypt",
            Self::Pbkdf2 { digest, .. } => match digest {
                Pbkdf2Digest::Sha1 => "pbkdf2-sha1",
                Pbkdf2Digest::Sha256 => "pbkdf2-sha256",
                Pbkdf2Digest::Sha512 => "pbkdf2-sha512",
            },
            Self::Scrypt { .. } => "scrypt",
            Self::ShaCrypt { digest, .. } => match digest {
                ShaCryptDigest::Sha256 => "sha256-crypt",
                ShaCryptDigest::Sha512 => "sha512-crypt",
            },
        }
    }

    /// The working memory a verification needs, in KiB (0 for the formats
    /// that need next to none).
    pub fn memory_kib(&self) -> u64 {
        match self {
            Self::Argon2 { memory_kib, .. } => u64::from(*memory_kib),
            Self::Scrypt { log_n, r, .. } => scrypt_kib(*log_n, *r),
            _ => 0,
        }
    }

    fn argon2(text: &str) -> Result<Self, ValueError> {
        let parsed = argon2::PasswordHash::new(text)
            .map_err(|_| invalid("is not a well-formed argon2 PHC string"))?;
        let variant = match parsed.algorithm.as_str() {
            "argon2id" => Argon2Variant::Id,
            "argon2i" => Argon2Variant::I,
            _ => Argon2Variant::D,
        };
        let params = Params::try_from(&parsed)
            .map_err(|_| invalid("its argon2 parameters are not valid"))?;
        match parsed.version {
            None | Some(0x10) | Some(0x13) => {}
            Some(_) => return Err(invalid("its argon2 version is not 16 or 19")),
        }
        let (Some(salt), Some(_)) = (parsed.salt, parsed.hash) else {
            return Err(invalid("has no salt or no hash"));
        };
        let mut buffer = [0u8; 64];
        salt.decode_b64(&mut buffer)
            .map_err(|_| invalid("its salt is not base64"))?;
        if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
            return Err(too_costly(format!(
                "asks for {} KiB of memory, more than the {MAX_ARGON2_MEMORY_KIB} allowed",
                params.m_cost()
            )));
        }
        Ok(Self::Argon2 {
            variant,
            memory_kib: params.m_cost(),
        })
    }

    fn bcrypt(text: &str) -> Result<Self, ValueError> {
        // `$2b$12$` + 22 characters of salt + 31 of hash.
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 60
            && bytes.get(6) == Some(&b'$')
            && bytes[7..]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'/');
        if !well_formed {
            return Err(invalid("is not a well-formed bcrypt hash"));
        }
        let cost: u32 = text
            .get(4..6)
            .unwrap_or_default()
            .parse()
            .map_err(|_| invalid("its bcrypt cost is not a number"))?;
        if cost < 4 {
            return Err(invalid("its bcrypt cost is below 4"));
        }
        if cost > MAX_BCRYPT_COST {
            return Err(too_costly(format!(
                "its bcrypt cost {cost} is above the {MAX_BCRYPT_COST} allowed"
            )));
        }
        Ok(Self::Bcrypt { cost })
    }

    fn pbkdf2(text: &str) -> Result<Self, ValueError> {
        let parts: Vec<&str> = text.split('$').collect();
        let [_, ident, params, salt, hash] = parts[..] else {
            return Err(invalid("is not a well-formed PBKDF2 hash"));
        };
        let digest = match ident {
            "pbkdf2" => Pbkdf2Digest::Sha1,
            "pbkdf2-sha256" => Pbkdf2Digest::Sha256,
            _ => Pbkdf2Digest::Sha512,
        };
        let (style, iterations, salt, hash) = if params.bytes().all(|b| b.is_ascii_digit()) {
            // passlib's "adapted base64": `.` where base64 has `+`.
            let salt = decode(&salt.replace('.', "+"), "salt")?;
            let hash = decode(&hash.replace('.', "+"), "hash")?;
            (Pbkdf2Style::Passlib, parse_count(params)?, salt, hash)
        } else {
            let parsed = argon2::PasswordHash::new(text)
                .map_err(|_| invalid("is not a well-formed PBKDF2 PHC string"))?;
            let iterations = parsed
                .params
                .get_decimal("i")
                .ok_or_else(|| invalid("names no PBKDF2 iterations (i=)"))?;
            let mut buffer = [0u8; 64];
            let salt = parsed
                .salt
                .ok_or_else(|| invalid("has no salt"))?
                .decode_b64(&mut buffer)
                .map_err(|_| invalid("its salt is not base64"))?
                .to_vec();
            let hash = parsed
                .hash
                .ok_or_else(|| invalid("has no hash"))?
                .as_bytes()
                .to_vec();
            let length = parsed.params.get_decimal("l");
            if length.is_some_and(|l| usize::try_from(l).ok() != Some(hash.len())) {
                return Err(invalid("its hash is not as long as its l= says"));
            }
            (Pbkdf2Style::Phc, iterations, salt, hash)
        };
        Self::pbkdf2_checked(digest, style, iterations, salt, hash)
    }

    /// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (and
    /// `pbkdf2_sha1`), the `pbkdf2_` already taken off.
    fn django(rest: &str) -> Result<Self, ValueError> {
        let parts: Vec<&str> = rest.split('$').collect();
        let [algorithm, iterations, salt, hash] = parts[..] else {
            return Err(invalid("is not a well-formed Django PBKDF2 hash"));
        };
        let digest = match algorithm {
            "sha256" => Pbkdf2Digest::Sha256,
            "sha1" => Pbkdf2Digest::Sha1,
            _ => return Err(invalid("is not a Django pbkdf2_sha256 or pbkdf2_sha1 hash")),
        };
        if salt.is_empty() {
            return Err(invalid("has no salt"));
        }
        let hash = decode(hash, "hash")?;
        Self::pbkdf2_checked(
            digest,
            Pbkdf2Style::Django,
            parse_count(iterations)?,
            salt.as_bytes().to_vec(),
            hash,
        )
    }

    fn pbkdf2_checked(
        digest: Pbkdf2Digest,
        style: Pbkdf2Style,
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, ValueError> {
        if iterations == 0 {
            return Err(invalid("its iteration count is 0"));
        }
        if iterations > MAX_PBKDF2_ITERATIONS {
            return Err(too_costly(format!(
                "its {iterations} iterations are more than the {MAX_PBKDF2_ITERATIONS} allowed"
            )));
        }
        if !(10..=64).contains(&hash.len()) {
            return Err(invalid("its hash is not 10 to 64 bytes long"));
        }
        if salt.is_empty() {
            return Err(invalid("has no salt"));
        }
        Ok(Self::Pbkdf2 {
            digest,
            style,
            iterations,
            salt,
            hash,
        })
    }

    fn scrypt(text: &str) -> Result<Self, ValueError> {
        let parsed = argon2::PasswordHash::new(text)
            .map_err(|_| invalid("is not a well-formed scrypt PHC string"))?;
        let number = |name: &str| {
            parsed
                .params
                .get_decimal(name)
                .ok_or_else(|| invalid(format!("names no scrypt {name}=")))
        };
        let (log_n, r, p) = (number("ln")?, number("r")?, number("p")?);
        let log_n = u8::try_from(log_n)
            .ok()
            .filter(|n| (1..64).contains(n))
            .ok_or_else(|| invalid("its scrypt ln is not 1 to 63"))?;
        if r == 0 || p == 0 || u64::from(r) * u64::from(p) >= 1 << 30 {
            return Err(invalid("its scrypt r and p are not valid"));
        }
        let memory = scrypt_kib(log_n, r);
        if memory > MAX_SCRYPT_MEMORY_KIB || p > 16 {
            return Err(too_costly(format!(
                "asks for {memory} KiB and p={p}, more than the {MAX_SCRYPT_MEMORY_KIB} KiB and p=16 allowed"
            )));
        }
        let mut buffer = [0u8; 64];
        let salt = parsed
            .salt
            .ok_or_else(|| invalid("has no salt"))?
            .decode_b64(&mut buffer)
            .map_err(|_| invalid("its salt is not base64"))?
            .to_vec();
        let hash = parsed
            .hash
            .ok_or_else(|| invalid("has no hash"))?
            .as_bytes()
            .to_vec();
        if !(10..=64).contains(&hash.len()) {
            return Err(invalid("its hash is not 10 to 64 bytes long"));
        }
        Ok(Self::Scrypt {
            log_n,
            r,
            p,
            salt,
            hash,
        })
    }

    fn sha_crypt(text: &str, digest: ShaCryptDigest) -> Result<Self, ValueError> {
        let parts: Vec<&str> = text.split('$').collect();
        let (rounds, salt, hash) = match parts[..] {
            [_, _, rounds, salt, hash] => {
                let rounds = rounds
                    .strip_prefix("rounds=")
                    .ok_or_else(|| invalid("is not a well-formed SHA-crypt hash"))?;
                (parse_count(rounds)?, salt, hash)
            }
            [_, _, salt, hash] => (5000, salt, hash),
            _ => return Err(invalid("is not a well-formed SHA-crypt hash")),
        };
        let crypt_alphabet = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
        };
        let length = match digest {
            ShaCryptDigest::Sha256 => 43,
            ShaCryptDigest::Sha512 => 86,
        };
        if salt.is_empty() || salt.len() > 16 || salt.contains(':') || salt.contains('\n') {
            return Err(invalid("its salt is not 1 to 16 characters"));
        }
        if hash.len() != length || !crypt_alphabet(hash) {
            return Err(invalid("its hash is not well-formed"));
        }
        if rounds < 1000 {
            return Err(invalid("its rounds are fewer than 1000"));
        }
        if rounds > MAX_SHA_CRYPT_ROUNDS {
            return Err(too_costly(format!(
                "its {rounds} rounds are more than the {MAX_SHA_CRYPT_ROUNDS} allowed"
            )));
        }
        Ok(Self::ShaCrypt {
            digest,
            rounds,
            salt: salt.as_bytes().to_vec(),
            hash: hash.as_bytes().to_vec(),
        })
    }
}

fn parse_count(text: &str) -> Result<u32, ValueError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("its iteration count is not a number"));
    }
    text.parse()
        .map_err(|_| too_costly("its iteration count is too large"))
}

/// scrypt's memory, `128 × r × 2^ln` bytes, in KiB.
fn scrypt_kib(log_n: u8, r: u32) -> u64 {
    let n = 1u128 << log_n.min(63);
    let bytes = 128u128 * u128::from(r) * n;
    u64::try_from(bytes / 1024).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_read() {
        let cases = [
            (
                "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$T+jSkdfbPmSRKbxN3lLWgA",
                "argon2i",
            ),
            (
                "$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m",
                "bcrypt",
            ),
            (
                "$pbkdf2-sha256$29000$N2YuTqk1ZqwVwpjTWosxpg$Lx1rZ.Rub9zNq3AQLwcZWVSn3QnEhGmGJ1iMW6rEG1c",
                "pbkdf2-sha256",
            ),
            (
                "$pbkdf2-sha512$i=1000,l=16$c29tZXNhbHQ$T+jSkdfbPmSRKbxN3lLWgA",
                "pbkdf2-sha512",
            ),
            (
                "pbkdf2_sha256$870000$abcdefgh$T+jSkdfbPmSRKbxN3lLWgAT+jSkdfbPmSRKbxN3lLWg=",
                "pbkdf2-sha256",
            ),
            (
                "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
                "scrypt",
            ),
            (
                "$5$rounds=535000$saltsalt$1234567890123456789012345678901234567890123",
                "sha256-crypt",
            ),
        ];
        for (text, name) in cases {
            let format = HashFormat::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(format.name(), name);
            assert!(!format.is_native());
        }
    }

    #[test]
    fn malformed_and_unbounded_hashes_are_refused() {
        for (text, code) in [
            ("", "invalid_format"),
            ("secret", "invalid_format"),
            ("$1$saltsalt$abcdefghijklmnopqrstuv", "invalid_format"),
            ("$2b$12$short", "invalid_format"),
            (
                "$2b$31$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m",
                "too_costly",
            ),
            (
                "pbkdf2_sha256$0$salt$T+jSkdfbPmSRKbxN3lLWgA==",
                "invalid_format",
            ),
            (
                "pbkdf2_sha256$99999999$salt$T+jSkdfbPmSRKbxN3lLWgA==",
                "too_costly",
            ),
            (
                "pbkdf2_md5$1000$salt$T+jSkdfbPmSRKbxN3lLWgA==",
                "invalid_format",
            ),
            (
                "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
                "too_costly",
            ),
            (
                "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$T+jSkdfbPmSRKbxN3lLWgA",
                "too_costly",
            ),
            ("$argon2id$v=19$m=16,t=2,p=1$c29tZXNhbHQ", "invalid_format"),
            ("$6$salt$tooshort", "invalid_format"),
            (
                "$5$rounds=999$saltsalt$1234567890123456789012345678901234567890123",
                "invalid_format",
            ),
        ] {
            assert_eq!(
                HashFormat::parse(text).map(|f| f.name()).unwrap_err().code,
                code,
                "{text}"
            );
        }
    }
}
