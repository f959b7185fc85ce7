//! What the domain needs from storage, as synchronous traits. `crates/storage`
//! implements them with diesel on PostgreSQL and SQLite; tests may implement
//! them in memory.
//!
//! Each operation has its own error type naming the outcomes a caller must
//! handle; anything else is an opaque [`StorageError`] that carries no SQL,
//! values or secrets.

use crate::credentials::{ApiKey, Session};
use crate::error::{DomainError, StorageError, UniqueField};
use crate::feed::FeedRecord;
use crate::history::HistoryEntry;
use crate::query::{UserPage, UserQuery};
use crate::tenant::{AttributeDefinition, Tenant, TenantName};
use crate::throttle::{ThrottleKey, ThrottlePolicy, Verdict};
use crate::types::{
    ApiKeyId, AttributeName, DeclaredAttributes, EmailKey, SessionId, TenantId, UserId,
    UsernameKey, WebhookId,
};
use crate::user::{LastAuthentication, User};
use crate::webhook::{Delivery, Webhook};

/// Creating a user failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username, e-mail or id is taken in the tenant.
    #[error("{} is already taken", .0.as_str())]
    Conflict(UniqueField),
    /// The tenant does not exist.
    #[error("tenant not found")]
    TenantNotFound,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Updating a user failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// No such user in the tenant.
    #[error("user not found")]
    NotFound,
    /// The stored version is not the expected one.
    #[error("stale version: current is {current}")]
    Stale {
        /// The version that is stored.
        current: u64,
    },
    /// The new username or e-mail is taken.
    #[error("{} is already taken", .0.as_str())]
    Conflict(UniqueField),
    /// The write would leave the tenant without an active administrator.
    #[error("the last active ADMIN of a tenant must stay an active ADMIN")]
    LastActiveAdmin,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Removing a user for good failed.
#[derive(Debug, thiserror::Error)]
pub enum PurgeUserError {
    /// No such user in the tenant.
    #[error("user not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Listing users failed.
#[derive(Debug, thiserror::Error)]
pub enum ListUsersError {
    /// The cursor was not made by this store for this order.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A change to write: the new state, the version it replaces, and its
/// history entry, all written in one transaction or not at all.
#[derive(Debug, Clone)]
pub struct UserUpdate {
    /// The user after the change, with its version already bumped.
    pub user: User,
    /// The version the change was computed from; the write fails with
    /// [`UpdateUserError::Stale`] if another is stored.
    pub expected_version: u64,
    /// The history entry for the change.
    pub history: HistoryEntry,
    /// Whether the change removes an active administrator, so the store
    /// must check, inside the transaction, that another one remains.
    pub removes_active_admin: bool,
    /// Whether the change ends every session of the user (it sets a new
    /// password): the store revokes them in the same transaction, so there
    /// is no moment when the new password works and an old session too.
    pub revoke_sessions: bool,
}

/// The users of all tenants; every operation is scoped to one tenant.
pub trait UserRepository {
    /// Insert `user` (at version 1) and its creation `history` entry.
    fn create_user(&self, user: &User, history: &HistoryEntry) -> Result<(), CreateUserError>;
    /// The user `id` of `tenant`, deleted or not.
    fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StorageError>;
    /// The user of `tenant` whose username key is `key`.
    fn find_user_by_username(
        &self,
        tenant: TenantId,
        key: &UsernameKey,
    ) -> Result<Option<User>, StorageError>;
    /// The user of `tenant` whose e-mail key is `key`.
    fn find_user_by_email(
        &self,
        tenant: TenantId,
        key: &EmailKey,
    ) -> Result<Option<User>, StorageError>;
    /// Write a change (row, version, history) atomically.
    fn update_user(&self, update: &UserUpdate) -> Result<(), UpdateUserError>;
    /// Remove the row for good; its history stays.
    fn purge_user(&self, tenant: TenantId, id: UserId) -> Result<(), PurgeUserError>;
    /// A page of the users of `tenant`.
    fn list_users(&self, tenant: TenantId, query: &UserQuery) -> Result<UserPage, ListUsersError>;
    /// How many ACTIVE users with the ADMIN role `tenant` has.
    fn count_active_admins(&self, tenant: TenantId) -> Result<u64, StorageError>;
    /// Record a successful password login (not a change: no version, no history).
    fn record_authentication(
        &self,
        tenant: TenantId,
        id: UserId,
        authentication: &LastAuthentication,
    ) -> Result<(), StorageError>;
}

/// The audit trail.
pub trait HistoryRepository {
    /// Every history entry of the user `id` of `tenant`, oldest first (also
    /// after the user was purged).
    fn user_history(&self, tenant: TenantId, id: UserId)
    -> Result<Vec<HistoryEntry>, StorageError>;
}

/// The history read page by page, and the change feed.
pub trait FeedRepository {
    /// Up to `limit` history entries of the user `id` of `tenant`, newest
    /// first, of versions below `before` (all when `None`); also after the
    /// user was purged.
    fn user_history_page(
        &self,
        tenant: TenantId,
        id: UserId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, StorageError>;
    /// Up to `limit` history entries of `tenant` at feed positions `from`
    /// and later, oldest first. Positions follow commit order without gaps:
    /// an entry committed after this call returns gets a position above
    /// every position returned.
    fn feed_from(
        &self,
        tenant: TenantId,
        from: u64,
        limit: u32,
    ) -> Result<Vec<FeedRecord>, StorageError>;
    /// The last position handed out in `tenant`'s feed (0 when none).
    fn feed_head(&self, tenant: TenantId) -> Result<u64, StorageError>;
}

/// Webhooks and their delivery state.
pub trait WebhookRepository {
    /// Insert a webhook.
    fn create_webhook(&self, webhook: &Webhook) -> Result<(), StorageError>;
    /// The webhooks of `tenant`, oldest first.
    fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<Webhook>, StorageError>;
    /// The webhook `id` of `tenant`.
    fn get_webhook(&self, tenant: TenantId, id: WebhookId)
    -> Result<Option<Webhook>, StorageError>;
    /// Delete the webhook `id` of `tenant` and its deliveries; false when
    /// there was none.
    fn delete_webhook(&self, tenant: TenantId, id: WebhookId) -> Result<bool, StorageError>;
    /// The latest `limit` delivery attempts of the webhook, newest first.
    fn list_deliveries(&self, id: WebhookId, limit: u32) -> Result<Vec<Delivery>, StorageError>;
    /// Take the lease of one active webhook due at `now` (its next attempt
    /// due, no valid lease held), other than `skip`, until `until`:
    /// nobody else claims it before then. On PostgreSQL, rows another node
    /// is claiming are skipped (`FOR UPDATE SKIP LOCKED`), not waited for.
    fn claim_webhook(
        &self,
        now: time::OffsetDateTime,
        lease: &str,
        until: time::OffsetDateTime,
        skip: &[WebhookId],
    ) -> Result<Option<Webhook>, StorageError>;
    /// Write the webhook's new delivery state and the attempt made (if
    /// any), and release the lease, in one transaction, if `lease` is
    /// still held; false when it was not (it ran out and another node took
    /// over: nothing is written).
    fn finish_delivery(
        &self,
        webhook: &Webhook,
        lease: &str,
        attempt: Option<&Delivery>,
    ) -> Result<bool, StorageError>;
}

/// Creating a tenant failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateTenantError {
    /// A tenant of that name exists.
    #[error("a tenant of that name exists")]
    NameTaken,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Tenants.
pub trait TenantRepository {
    /// Insert a tenant.
    fn create_tenant(&self, tenant: &Tenant) -> Result<(), CreateTenantError>;
    /// The tenant `id`.
    fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StorageError>;
    /// The tenant named `name`.
    fn find_tenant_by_name(&self, name: &TenantName) -> Result<Option<Tenant>, StorageError>;
    /// Every tenant, by name.
    fn list_tenants(&self) -> Result<Vec<Tenant>, StorageError>;
}

/// Revoking an API key failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokeApiKeyError {
    /// No such key.
    #[error("API key not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// API keys.
pub trait ApiKeyRepository {
    /// Insert a key (its prefix is unique; a collision is a storage error,
    /// as prefixes are random).
    fn create_api_key(&self, key: &ApiKey) -> Result<(), StorageError>;
    /// The key with this public prefix, revoked or not.
    fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>, StorageError>;
    /// The keys of `tenant`, oldest first.
    fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StorageError>;
    /// Revoke a key; revoking a revoked key is not an error.
    fn revoke_api_key(
        &self,
        id: ApiKeyId,
        at: time::OffsetDateTime,
    ) -> Result<(), RevokeApiKeyError>;
    /// Note that the key authenticated a request at `at`.
    fn touch_api_key(&self, id: ApiKeyId, at: time::OffsetDateTime) -> Result<(), StorageError>;
}

/// Rotating a refresh token failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateSessionError {
    /// The old session was already revoked (its refresh token was used).
    #[error("session already used or revoked")]
    AlreadyRevoked,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Login sessions.
pub trait SessionRepository {
    /// Insert a session.
    fn create_session(&self, session: &Session) -> Result<(), StorageError>;
    /// The session whose access token hashes to `hash`.
    fn find_session_by_access_hash(&self, hash: &str) -> Result<Option<Session>, StorageError>;
    /// The session whose refresh token hashes to `hash`.
    fn find_session_by_refresh_hash(&self, hash: &str) -> Result<Option<Session>, StorageError>;
    /// Revoke `old` and insert `new` atomically; fails if `old` was already
    /// revoked, so a refresh token works exactly once even under races.
    fn rotate_session(
        &self,
        old: SessionId,
        new: &Session,
        at: time::OffsetDateTime,
    ) -> Result<(), RotateSessionError>;
    /// Revoke every session of a user (after a password change, say).
    fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        at: time::OffsetDateTime,
    ) -> Result<(), StorageError>;
}

/// Failed password attempts, counted per (login, client address) and per
/// login, shared by every node (see [`crate::throttle`]).
pub trait LoginThrottleRepository {
    /// One attempt for `key` at `now`, in one transaction: read the two
    /// counts, apply `policy`, and when it allows the attempt, store the
    /// new counts (the attempt counted as a failure until
    /// [`clear_login_failures`](Self::clear_login_failures)). Concurrent
    /// attempts for one login are serialised, so none reads a count
    /// another is about to raise. May also delete failures `policy` has
    /// forgotten.
    fn take_login_attempt(
        &self,
        key: &ThrottleKey,
        policy: &ThrottlePolicy,
        now: time::OffsetDateTime,
    ) -> Result<Verdict, StorageError>;
    /// The password proved right: forget the failures of `key`'s login and
    /// of its (login, address); other addresses' counts stay.
    fn clear_login_failures(&self, key: &ThrottleKey) -> Result<(), StorageError>;
}

/// Defining an attribute failed.
#[derive(Debug, thiserror::Error)]
pub enum DefineAttributeError {
    /// The tenant already declared it.
    #[error("attribute already defined")]
    AlreadyDefined,
    /// The tenant does not exist.
    #[error("tenant not found")]
    TenantNotFound,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Removing an attribute definition failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveAttributeError {
    /// The tenant has no such definition.
    #[error("attribute not found")]
    NotFound,
    /// Users of the tenant still carry a value for it.
    #[error("attribute in use")]
    InUse,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Custom attribute definitions.
pub trait AttributeRepository {
    /// Declare an attribute for a tenant.
    fn define_attribute(
        &self,
        definition: &AttributeDefinition,
    ) -> Result<(), DefineAttributeError>;
    /// The tenant's definitions, by name.
    fn list_attributes(&self, tenant: TenantId) -> Result<Vec<AttributeDefinition>, StorageError>;
    /// Remove the tenant's definition `name`, unless a user of the tenant
    /// still carries a value for it.
    fn remove_attribute(
        &self,
        tenant: TenantId,
        name: &AttributeName,
    ) -> Result<(), RemoveAttributeError>;
    /// The tenant's declared attribute names.
    fn declared_attributes(&self, tenant: TenantId) -> Result<DeclaredAttributes, StorageError> {
        Ok(DeclaredAttributes::new(
            self.list_attributes(tenant)?.into_iter().map(|d| d.name),
        ))
    }
}

/// Every repository at once: what the request pipeline hands an operation.
pub trait Repositories:
    UserRepository
    + HistoryRepository
    + TenantRepository
    + ApiKeyRepository
    + SessionRepository
    + AttributeRepository
    + LoginThrottleRepository
{
}

impl<T> Repositories for T where
    T: UserRepository
        + HistoryRepository
        + TenantRepository
        + ApiKeyRepository
        + SessionRepository
        + AttributeRepository
        + LoginThrottleRepository
{
}

impl From<CreateUserError> for DomainError {
    fn from(error: CreateUserError) -> Self {
        match error {
            CreateUserError::Conflict(field) => DomainError::Conflict(field),
            CreateUserError::TenantNotFound => DomainError::NotFound("tenant"),
            CreateUserError::Storage(e) => DomainError::Internal(e),
        }
    }
}

impl From<PurgeUserError> for DomainError {
    fn from(error: PurgeUserError) -> Self {
        match error {
            PurgeUserError::NotFound => DomainError::NotFound("user"),
            PurgeUserError::Storage(e) => DomainError::Internal(e),
        }
    }
}

impl From<CreateTenantError> for DomainError {
    fn from(error: CreateTenantError) -> Self {
        match error {
            CreateTenantError::NameTaken => DomainError::Conflict(UniqueField::TenantName),
            CreateTenantError::Storage(e) => DomainError::Internal(e),
        }
    }
}

impl From<DefineAttributeError> for DomainError {
    fn from(error: DefineAttributeError) -> Self {
        match error {
            DefineAttributeError::AlreadyDefined => {
                DomainError::Conflict(UniqueField::AttributeName)
            }
            DefineAttributeError::TenantNotFound => DomainError::NotFound("tenant"),
            DefineAttributeError::Storage(e) => DomainError::Internal(e),
        }
    }
}

impl From<RevokeApiKeyError> for DomainError {
    fn from(error: RevokeApiKeyError) -> Self {
        match error {
            RevokeApiKeyError::NotFound => DomainError::NotFound("API key"),
            RevokeApiKeyError::Storage(e) => DomainError::Internal(e),
        }
    }
}

impl From<RotateSessionError> for DomainError {
    fn from(error: RotateSessionError) -> Self {
        match error {
            RotateSessionError::AlreadyRevoked => DomainError::Unauthenticated,
            RotateSessionError::Storage(e) => DomainError::Internal(e),
        }
    }
}
