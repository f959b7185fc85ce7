//! Stored credentials: API keys and login sessions. Only hashes of the
//! secrets are kept; making and checking the secrets is the api's job.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::types::{ApiKeyId, Role, SessionId, TenantId, UserId};

/// An API key as stored: a public prefix to find it by, and a hash of the
/// whole secret to check it against in constant time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Identifier.
    pub id: ApiKeyId,
    /// The tenant the key acts in.
    pub tenant: TenantId,
    /// The key's short public prefix (unique), used to look it up.
    pub prefix: String,
    /// Hash of the full key (hex).
    pub key_hash: String,
    /// The roles the key carries.
    pub roles: BTreeSet<Role>,
    /// A note for people (what the key is for).
    pub label: Option<String>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it was last used to authenticate.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether the key may still authenticate.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A login session: an access token and a refresh token, both stored hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Identifier.
    pub id: SessionId,
    /// The tenant.
    pub tenant: TenantId,
    /// The user who logged in.
    pub user: UserId,
    /// Hash of the access token (hex).
    pub access_hash: String,
    /// When the access token stops working.
    pub access_expires_at: OffsetDateTime,
    /// Hash of the refresh token (hex).
    pub refresh_hash: String,
    /// When the refresh token stops working.
    pub refresh_expires_at: OffsetDateTime,
    /// When the session was made.
    pub created_at: OffsetDateTime,
    /// When it was revoked (by use of its refresh token, or a logout).
    pub revoked_at: Option<OffsetDateTime>,
}

impl Session {
    /// Whether the access token is valid at `now`.
    pub fn access_valid_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.access_expires_at
    }

    /// Whether the refresh token is valid at `now`.
    pub fn refresh_valid_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.refresh_expires_at
    }
}
