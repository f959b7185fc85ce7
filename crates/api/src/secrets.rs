//! Making and recognising the bearer secrets: API keys, access tokens and
//! refresh tokens; and the key continuation tokens are signed with
//! ([`TokenKey`]).
//!
//! Security intent: every secret carries 256 random bits from the operating
//! system's generator; only its SHA-256 is stored (a fast hash is right for
//! random secrets: there is nothing to guess). An API key starts with a short
//! public prefix so that it is found by an index lookup, then its full hash is
//! compared in constant time. Secrets never print (`Debug` shows `***`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use userhub_domain::auth::PresentedCredential;

/// What every API key starts with: `uhk_<prefix>_<secret>`.
pub const API_KEY_MARK: &str = "uhk_";
/// What every access token starts with.
pub const ACCESS_TOKEN_MARK: &str = "uha_";
/// What every refresh token starts with.
pub const REFRESH_TOKEN_MARK: &str = "uhr_";

/// Bytes of the public lookup prefix of an API key (shown as hex).
const PREFIX_BYTES: usize = 6;
/// Bytes of randomness in every secret.
const SECRET_BYTES: usize = 32;

/// A secret to hand out once. It does not print.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret, to show to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the secret, as stored (hex).
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A new API key: its public prefix and the full secret.
pub fn new_api_key() -> (String, Secret) {
    let prefix = hex(&random_bytes::<PREFIX_BYTES>());
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<SECRET_BYTES>());
    let key = format!("{API_KEY_MARK}{prefix}_{secret}");
    (prefix, Secret(key))
}

/// What every webhook signing secret starts with.
pub const WEBHOOK_SECRET_MARK: &str = "whsec_";

/// A new webhook signing secret (kept as is: signing needs it).
pub fn new_webhook_secret() -> Secret {
    token(WEBHOOK_SECRET_MARK)
}

/// A new access token.
pub fn new_access_token() -> Secret {
    token(ACCESS_TOKEN_MARK)
}

/// A new refresh token.
pub fn new_refresh_token() -> Secret {
    token(REFRESH_TOKEN_MARK)
}

fn token(mark: &str) -> Secret {
    Secret(format!(
        "{mark}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<SECRET_BYTES>())
    ))
}

/// The public prefix of something shaped like an API key.
pub fn api_key_prefix(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(API_KEY_MARK)?;
    let (prefix, secret) = rest.split_once('_')?;
    let hex_prefix = prefix.len() == PREFIX_BYTES * 2
        && prefix
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex_prefix && !secret.is_empty()).then_some(prefix)
}

/// SHA-256 of `text`, lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
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

/// What a presented bearer secret is, by its form, hashed for lookup: an
/// API key (its prefix and hash), an access token (its hash), or nothing
/// this service hands out.
pub fn recognise(presented: &str) -> PresentedCredential {
    if let Some(prefix) = api_key_prefix(presented) {
        PresentedCredential::ApiKey {
            prefix: prefix.to_owned(),
            hash: sha256_hex(presented),
        }
    } else if presented.starts_with(ACCESS_TOKEN_MARK) {
        PresentedCredential::AccessToken {
            hash: sha256_hex(presented),
        }
    } else {
        PresentedCredential::Unrecognised
    }
}

/// The key continuation tokens are signed with (HMAC-SHA256): 256 random
/// bits, made by the first node that starts and stored in the database
/// (`server_secrets`, name [`TokenKey::NAME`]), so every node signs and
/// checks with the same key. It does not print.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey([u8; SECRET_BYTES]);

impl TokenKey {
    /// The name of its row in `server_secrets`.
    pub const NAME: &'static str = "token_key";

    /// A new random key, as stored (base64url).
    pub fn new_text() -> String {
        URL_SAFE_NO_PAD.encode(random_bytes::<SECRET_BYTES>())
    }

    /// The key stored as `text`; an error (one line, without the text) if
    /// it is not 32 bytes of base64url.
    pub fn from_text(text: &str) -> Result<Self, String> {
        URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; SECRET_BYTES]>::try_from(bytes).ok())
            .map(TokenKey)
            .ok_or_else(|| "the stored token key is not 32 bytes of base64url".to_owned())
    }

    /// The key's bytes, for the MAC.
    pub fn bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

/// A fresh pair of session tokens, and their hashes for the domain.
pub fn new_session_tokens() -> (Secret, Secret, userhub_domain::auth::TokenHashes) {
    let access = new_access_token();
    let refresh = new_refresh_token();
    let hashes = userhub_domain::auth::TokenHashes {
        access: access.hash(),
        refresh: refresh.hash(),
    };
    (access, refresh, hashes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_a_public_prefix_and_256_secret_bits() {
        let (prefix, key) = new_api_key();
        assert_eq!(api_key_prefix(key.expose()), Some(prefix.as_str()));
        let secret = key
            .expose()
            .strip_prefix(&format!("{API_KEY_MARK}{prefix}_"))
            .unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
        assert_eq!(format!("{key:?}"), "Secret(***)");
        assert_ne!(new_api_key().1, key);
    }

    #[test]
    fn only_key_shaped_text_has_a_prefix() {
        assert_eq!(api_key_prefix("uhk_0123456789ab_x"), Some("0123456789ab"));
        for text in [
            "uhk_0123456789ab_",
            "uhk_0123456789AB_x",
            "uhk_0123_x",
            "uha_abc",
            "",
        ] {
            assert_eq!(api_key_prefix(text), None, "{text}");
        }
    }

    #[test]
    fn token_keys_round_trip_and_do_not_print() {
        let text = TokenKey::new_text();
        let key = TokenKey::from_text(&text).unwrap();
        assert_eq!(key.bytes().len(), 32);
        assert_eq!(format!("{key:?}"), "TokenKey(***)");
        assert_ne!(TokenKey::new_text(), text);
        assert!(TokenKey::from_text("short").is_err());
    }

    #[test]
    fn tokens_are_marked_and_hashes_compare() {
        let access = new_access_token();
        assert!(access.expose().starts_with(ACCESS_TOKEN_MARK));
        assert!(new_refresh_token().expose().starts_with(REFRESH_TOKEN_MARK));
        assert_eq!(access.hash().len(), 64);
        assert_eq!(access.hash(), sha256_hex(access.expose()));
        assert_ne!(access.hash(), new_access_token().hash());
        assert_eq!(
            recognise(access.expose()),
            PresentedCredential::AccessToken {
                hash: access.hash()
            }
        );
        let (prefix, key) = new_api_key();
        assert_eq!(
            recognise(key.expose()),
            PresentedCredential::ApiKey {
                prefix,
                hash: key.hash()
            }
        );
        assert_eq!(recognise("uhr_refresh"), PresentedCredential::Unrecognised);
    }
}
