//! Signed continuation tokens: an opaque position (a storage cursor, a
//! change-feed offset) handed to a client and handed back, sealed so that
//! only this service can have made it, for this tenant and this query.
//!
//! A token is `<position>.<mac>`, both base64url: the MAC is HMAC-SHA256
//! under the shared [`TokenKey`] over a version tag, the list's name (its
//! purpose, e.g. `nevis.users`), the caller's tenant, the query's filters
//! in a canonical order, and the position, each length-prefixed so no two
//! inputs read alike.
//!
//! Security intent: a forged token, an altered one, one made for another
//! tenant, for another list or for other filters, and one made with
//! another key (another installation) all fail [`open`] alike, before the
//! position reaches storage; the check is constant-time. The position is
//! not secret (it is signed, not encrypted): it holds only what the
//! client's own page showed it. Every node signs with the same key (stored
//! in the database), so a token from one node works on every other.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use userhub_domain::error::{Field, FieldError, ValueError};
use userhub_domain::query::{Cursor, PageRequest};
use userhub_domain::service::ListUsers;
use userhub_domain::types::TenantId;

use crate::secrets::TokenKey;

/// Tokens longer than this are refused unread.
const MAX_TOKEN_LEN: usize = 2048;

/// Tags the MAC input, so a future format cannot accept this one's tokens.
const VERSION: &[u8] = b"userhub-token-v1";

/// What a token is bound to: the list, the tenant and the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScope {
    purpose: &'static str,
    tenant: TenantId,
    query: Vec<(String, String)>,
}

impl TokenScope {
    /// The scope of list `purpose` read by `tenant` with the query
    /// parameters `params`, leaving out those in `ignore` (the token
    /// itself, and what does not choose the rows, such as a page size).
    /// The order of the parameters does not matter.
    pub fn new(
        purpose: &'static str,
        tenant: TenantId,
        params: &[(String, String)],
        ignore: &[&str],
    ) -> Self {
        let mut query: Vec<(String, String)> = params
            .iter()
            .filter(|(name, _)| !ignore.contains(&name.as_str()))
            .cloned()
            .collect();
        query.sort();
        Self {
            purpose,
            tenant,
            query,
        }
    }

    fn mac(&self, key: &TokenKey, position: &[u8]) -> Hmac<Sha256> {
        // HMAC pads a key shorter than the hash's block with zeros; padding
        // it here gives the same MAC through the constructor that cannot
        // fail.
        let mut block = [0_u8; 64];
        block[..32].copy_from_slice(key.bytes());
        let mut mac = <Hmac<Sha256> as KeyInit>::new((&block).into());
        let mut field = |bytes: &[u8]| {
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        field(VERSION);
        field(self.purpose.as_bytes());
        field(self.tenant.to_string().as_bytes());
        field(&(self.query.len() as u64).to_be_bytes());
        for (name, value) in &self.query {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        field(position);
        mac
    }
}

/// A token that was not made by this service for this scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the continuation token is not one this service handed out for this query")]
pub struct InvalidToken;

impl InvalidToken {
    /// The field error every dialect answers for it (422 in Nevis, named
    /// by the dialect's name for [`Field::Cursor`]): the domain's answer for
    /// a cursor storage cannot read, so both look alike.
    pub fn field_error(self) -> FieldError {
        ValueError::new(
            "invalid_cursor",
            "is not a cursor this service handed out for this order",
        )
        .at(Field::Cursor)
    }
}

/// A list command's continuation token (the client's, sealed) replaced by
/// the position it holds; a token that does not open becomes the command's
/// field error (and the list starts nowhere: the error is answered).
pub fn open_page(key: &TokenKey, scope: &TokenScope, command: &mut ListUsers) {
    if let PageRequest::Cursor { after, .. } = &mut command.query.page
        && let Some(token) = after.take()
    {
        match open(key, scope, token.as_token()) {
            Ok(position) => *after = Some(Cursor::from_token(position)),
            Err(invalid) => command.errors.push(invalid.field_error()),
        }
    }
}

/// The token to hand out for the page after `next` (empty at the end, as
/// Nevis and the change feed answer).
pub fn seal_next(key: &TokenKey, scope: &TokenScope, next: Option<&Cursor>) -> String {
    next.map(|cursor| seal(key, scope, cursor.as_token()))
        .unwrap_or_default()
}

/// Seal `position` for `scope`.
pub fn seal(key: &TokenKey, scope: &TokenScope, position: &str) -> String {
    let tag = scope.mac(key, position.as_bytes()).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(position),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The position sealed in `token`, if this service sealed it for `scope`.
pub fn open(key: &TokenKey, scope: &TokenScope, token: &str) -> Result<String, InvalidToken> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(InvalidToken);
    }
    let (position, tag) = token.split_once('.').ok_or(InvalidToken)?;
    let position = URL_SAFE_NO_PAD.decode(position).map_err(|_| InvalidToken)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidToken)?;
    scope
        .mac(key, &position)
        .verify_slice(&tag)
        .map_err(|_| InvalidToken)?;
    String::from_utf8(position).map_err(|_| InvalidToken)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::from_text(&TokenKey::new_text()).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn scope(tenant: TenantId, pairs: &[(&str, &str)]) -> TokenScope {
        TokenScope::new(
            "nevis.users",
            tenant,
            &params(pairs),
            &["continuationToken", "limit"],
        )
    }

    #[test]
    fn a_sealed_position_opens_in_its_scope_only() {
        let key = key();
        let tenant = TenantId::new_random();
        let here = scope(tenant, &[("email", "a@example.com"), ("limit", "2")]);
        let token = seal(&key, &here, "cursor-17");
        assert_eq!(open(&key, &here, &token), Ok("cursor-17".to_owned()));
        // The page size and the parameters' order do not matter.
        let same = scope(
            tenant,
            &[
                ("limit", "5"),
                ("continuationToken", "x"),
                ("email", "a@example.com"),
            ],
        );
        assert_eq!(open(&key, &same, &token), Ok("cursor-17".to_owned()));
        // Another tenant, other filters, another list, another key: refused.
        let foreign = scope(TenantId::new_random(), &[("email", "a@example.com")]);
        assert_eq!(open(&key, &foreign, &token), Err(InvalidToken));
        let other_query = scope(tenant, &[("email", "b@example.com")]);
        assert_eq!(open(&key, &other_query, &token), Err(InvalidToken));
        let no_filter = scope(tenant, &[]);
        assert_eq!(open(&key, &no_filter, &token), Err(InvalidToken));
        let other_list = TokenScope::new(
            "events",
            tenant,
            &params(&[("email", "a@example.com")]),
            &[],
        );
        assert_eq!(open(&key, &other_list, &token), Err(InvalidToken));
        assert_eq!(open(&self::key(), &here, &token), Err(InvalidToken));
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        let key = key();
        let here = scope(TenantId::new_random(), &[]);
        let token = seal(&key, &here, "cursor-17");
        let (position, tag) = token.split_once('.').unwrap();
        let altered = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("cursor-18"));
        let mut flipped = tag.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = format!("{position}.{}", String::from_utf8(flipped).unwrap());
        for bad in [
            "",
            "garbage",
            position,
            &format!("{position}."),
            &altered,
            &flipped,
            &format!("{token}x"),
            &"A".repeat(5000),
            "###.###",
        ] {
            assert_eq!(open(&key, &here, bad), Err(InvalidToken), "{bad}");
        }
    }

    #[test]
    fn the_invalid_token_error_is_the_cursor_error() {
        let error = InvalidToken.field_error();
        assert_eq!(error.field, Field::Cursor);
        assert_eq!(error.code, "invalid_cursor");
    }
}
