//! Who is calling, logging in, refreshing a session and changing one's own
//! password: who may log in, how long the tokens of a login live, and the
//! writes a login or a password change makes.
//!
//! Security intent:
//! - a revoked key, an expired or revoked token, and a token of a user who is
//!   no longer ACTIVE all authenticate nothing, alike ([`authenticate`]);
//! - a login answers [`DomainError::InvalidCredentials`] alike for an unknown
//!   tenant, an unknown (or deleted) user and a wrong password, and spends
//!   the same hashing work on each; repeated failures are refused before any
//!   password is checked, and no address can lock another out
//!   ([`crate::throttle`]);
//! - a refresh token works once, and presenting a used one again ends every
//!   session of its user (someone holds a copy);
//! - a password changes through two doors only: an ADMIN's update
//!   ([`crate::service::update_user`]) or the user themselves proving the old
//!   one ([`change_own_password`]); either ends every session of the user in
//!   the same transaction.
//!
//! Making the random secrets and their hashes is the caller's job (the
//! commands carry the hashes); these functions decide and write.

use std::collections::BTreeSet;

use subtle::ConstantTimeEq as _;
use time::{Duration, OffsetDateTime};

use crate::authz::{Actor, ActorRef, Decision, Principal};
use crate::credentials::Session;
use crate::error::{DomainError, Field, ValidationErrors, ValueError};
use crate::fields::UserField;
use crate::history::{ChangeComment, HistoryEntry};
use crate::password::{PasswordHash, PlainPassword, Verification};
use crate::ports::Ctx;
use crate::repository::{
    ApiKeyRepository, LoginThrottleRepository, RotateSessionError, SessionRepository,
    TenantRepository, UpdateUserError, UserRepository, UserUpdate,
};
use crate::service::{password_policy, to_stored_precision};
use crate::tenant::{Tenant, TenantName};
use crate::throttle::{ClientAddress, ThrottleKey, Verdict};
use crate::types::{AuthLocation, Email, SessionId, Status, TenantId, UserId, Username};
use crate::user::{LastAuthentication, User};

/// How long the two tokens of a password login stay valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// The access token, sent with every request.
    pub access: Duration,
    /// The refresh token, exchanged once for a new pair.
    pub refresh: Duration,
}

impl Default for TokenLifetimes {
    /// Access tokens live 15 minutes (short, as they are bearer secrets sent
    /// on every request); refresh tokens 7 days.
    fn default() -> Self {
        Self {
            access: Duration::minutes(15),
            refresh: Duration::days(7),
        }
    }
}

/// Why a user whose password was right may still not log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Only ACTIVE users log in; this one has another status.
    NotActive(Status),
}

/// May `user` log in (or keep using a token)? ACTIVE users only.
pub fn may_log_in(user: &User) -> Result<(), LoginRefusal> {
    if user.status == Status::Active {
        Ok(())
    } else {
        Err(LoginRefusal::NotActive(user.status))
    }
}

/// The user of `tenant` who logs in as `login`: by username, else by e-mail
/// (a user created through a dialect whose login is an e-mail may type
/// either). A deleted user is not found.
pub fn find_login_user(
    repo: &impl UserRepository,
    tenant: TenantId,
    login: &str,
) -> Result<Option<User>, DomainError> {
    let mut found = None;
    if let Ok(username) = Username::parse(login) {
        found = repo.find_user_by_username(tenant, &username.key())?;
    }
    if found.is_none()
        && let Ok(email) = Email::parse(login)
    {
        found = repo.find_user_by_email(tenant, &email.key())?;
    }
    Ok(found.filter(|user| !user.is_deleted()))
}

/// The user behind the actor's credential (`me`). An API key is no user, so
/// asking is refused; a deleted user is not found.
pub fn current_user(repo: &impl UserRepository, actor: &Actor) -> Result<User, DomainError> {
    let Principal::User(id) = actor.principal else {
        return Err(DomainError::Forbidden {
            fields: Vec::new(),
            reason: "an API key is not a user: log in with a user's password to use this".into(),
        });
    };
    repo.get_user(actor.tenant, id)?
        .filter(|user| !user.is_deleted())
        .ok_or(DomainError::NotFound("user"))
}

/// How stale an API key's "last used" time may get before a request
/// updates it (so that a busy key does not write on every request).
const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// A bearer credential as a request presented it. The caller recognises its
/// form and hashes it; only hashes reach the repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentedCredential {
    /// Something shaped like an API key: its public prefix, and the hash of
    /// the whole key.
    ApiKey {
        /// The public lookup prefix.
        prefix: String,
        /// Hash of the whole presented key (hex).
        hash: String,
    },
    /// Something shaped like an access token: its hash.
    AccessToken {
        /// Hash of the presented token (hex).
        hash: String,
    },
    /// Something of no known form: authenticates nothing.
    Unrecognised,
}

/// Compare two stored-hash strings without leaking where they differ.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The actor behind `presented` at `now`, or [`DomainError::Unauthenticated`]
/// for every kind of bad credential alike. A key's "last used" time is kept
/// roughly current (bookkeeping: failing to write it does not refuse the key).
pub fn authenticate(
    repo: &(impl ApiKeyRepository + SessionRepository + UserRepository),
    presented: &PresentedCredential,
    now: OffsetDateTime,
) -> Result<Actor, DomainError> {
    let actor = match presented {
        PresentedCredential::ApiKey { prefix, hash } => {
            let key = repo
                .find_api_key_by_prefix(prefix)?
                .filter(|key| same_hash(&key.key_hash, hash) && key.is_active());
            key.map(|key| {
                if key
                    .last_used_at
                    .is_none_or(|used| now - used > TOUCH_INTERVAL)
                {
                    // Bookkeeping only: the key is valid, the request goes on.
                    let _ = repo.touch_api_key(key.id, now);
                }
                Actor {
                    tenant: key.tenant,
                    principal: Principal::ApiKey(key.id),
                    roles: key.roles,
                }
            })
        }
        PresentedCredential::AccessToken { hash } => {
            match repo
                .find_session_by_access_hash(hash)?
                .filter(|session| session.access_valid_at(now))
            {
                Some(session) => repo
                    .get_user(session.tenant, session.user)?
                    .filter(|user| may_log_in(user).is_ok())
                    .map(|user| Actor {
                        tenant: user.tenant,
                        principal: Principal::User(user.id),
                        roles: user.roles,
                    }),
                None => None,
            }
        }
        PresentedCredential::Unrecognised => None,
    };
    actor.ok_or(DomainError::Unauthenticated)
}

/// Whether `given` (a tenant's id or its name, as a header or a body field
/// carries it) names the tenant `tenant`. Only `tenant` is looked up: a name
/// of another tenant and a name of none give the same `false`.
pub fn names_tenant(
    repo: &impl TenantRepository,
    tenant: TenantId,
    given: &str,
) -> Result<bool, DomainError> {
    let given = given.trim();
    if let Ok(id) = TenantId::parse(given) {
        return Ok(id == tenant);
    }
    let Ok(name) = TenantName::parse(given) else {
        return Ok(false);
    };
    Ok(repo.get_tenant(tenant)?.is_some_and(|own| own.name == name))
}

/// Which tenant a login is for: the one `given` names (its name or id);
/// without a name, the only tenant if there is exactly one. `Ok(None)` when
/// `given` names no tenant.
fn resolve_tenant(
    repo: &impl TenantRepository,
    given: Option<&str>,
) -> Result<Option<Tenant>, DomainError> {
    match given.map(str::trim).filter(|g| !g.is_empty()) {
        Some(given) => {
            if let Ok(id) = TenantId::parse(given) {
                return Ok(repo.get_tenant(id)?);
            }
            match TenantName::parse(given) {
                Ok(name) => Ok(repo.find_tenant_by_name(&name)?),
                Err(_) => Ok(None),
            }
        }
        None => {
            let mut tenants = repo.list_tenants()?;
            if tenants.len() == 1 {
                Ok(tenants.pop())
            } else {
                Err(DomainError::TenantRequired {
                    tenants: tenants.len(),
                })
            }
        }
    }
}

/// Hashes of the fresh tokens a caller made for a new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHashes {
    /// Hash of the new access token (hex).
    pub access: String,
    /// Hash of the new refresh token (hex).
    pub refresh: String,
}

impl TokenHashes {
    fn session(
        &self,
        tenant: TenantId,
        user: UserId,
        lifetimes: TokenLifetimes,
        at: OffsetDateTime,
    ) -> Session {
        Session {
            id: SessionId::new_random(),
            tenant,
            user,
            access_hash: self.access.clone(),
            // Lifetimes are bounded by the configuration, so these cannot
            // overflow; if they did, the token would be born expired.
            access_expires_at: at.checked_add(lifetimes.access).unwrap_or(at),
            refresh_hash: self.refresh.clone(),
            refresh_expires_at: at.checked_add(lifetimes.refresh).unwrap_or(at),
            created_at: at,
            revoked_at: None,
        }
    }
}

/// A password login.
#[derive(Debug, Clone)]
pub struct LogIn {
    /// The tenant the request named (its name or id), if it named one.
    pub tenant: Option<String>,
    /// The username or e-mail address typed.
    pub login: String,
    /// The password typed.
    pub password: PlainPassword,
    /// Where the login comes from (the client address), if known.
    pub location: Option<String>,
    /// The client address failures are counted for, if known.
    pub client: Option<ClientAddress>,
    /// The new session's tokens, hashed.
    pub tokens: TokenHashes,
}

/// A new session and its user.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The user logged in.
    pub user: User,
    /// The session made (its tokens are the ones the command carried).
    pub session: Session,
}

/// Log in: resolve the tenant, find the user, refuse a throttled name before
/// any password is checked, verify the password (against a stand-in for an
/// unknown user), refuse users who are not ACTIVE, re-hash a hash made with
/// older parameters, and store the session and the login's time and place.
pub fn log_in<R>(ctx: &Ctx<'_, R>, command: LogIn) -> Result<NewSession, DomainError>
where
    R: UserRepository + TenantRepository + SessionRepository + LoginThrottleRepository,
{
    let password = command.password.for_verification();
    let Some(tenant) = resolve_tenant(ctx.repo, command.tenant.as_deref())? else {
        // An unknown tenant: the same work and answer as a wrong password.
        ctx.hasher.verify(None, &password)?;
        return Err(DomainError::InvalidCredentials);
    };
    let user = find_login_user(ctx.repo, tenant.id, &command.login)?;
    // A user found by username or by e-mail is counted under their
    // username, so switching between the two gains no attempts.
    let counted_as = user
        .as_ref()
        .map_or(command.login.as_str(), |u| u.username.as_str());
    let key = ThrottleKey::new(tenant.id, counted_as, command.client);
    take_attempt(ctx, &key)?;
    let stored = user.as_ref().and_then(|u| u.password.as_ref());
    let (outcome, rehashed) = ctx.hasher.verify_and_rehash(stored, &password)?;
    let (Verification::Match { .. }, Some(mut user)) = (outcome, user) else {
        // The attempt was counted as a failure when it was taken.
        return Err(DomainError::InvalidCredentials);
    };
    ctx.repo.clear_login_failures(&key)?;
    if let Err(LoginRefusal::NotActive(status)) = may_log_in(&user) {
        return Err(DomainError::Forbidden {
            fields: Vec::new(),
            reason: format!("the user's status is {status}: only ACTIVE users may log in"),
        });
    }
    let at = to_stored_precision(ctx.now);
    // Best effort: a failed re-hash or a lost race only postpones it to
    // the next login.
    if let Some(hash) = rehashed
        && let Ok(Some(stored)) = rehash_password(ctx.repo, &user, hash, at)
    {
        user = stored;
    }
    let session = command.tokens.session(user.tenant, user.id, ctx.tokens, at);
    ctx.repo.create_session(&session)?;
    let authentication = LastAuthentication {
        at,
        valid_until: session.refresh_expires_at,
        location: command.location.and_then(|l| AuthLocation::parse(&l).ok()),
    };
    ctx.repo
        .record_authentication(user.tenant, user.id, &authentication)?;
    user.last_authentication = Some(authentication);
    Ok(NewSession { user, session })
}

/// Take one password attempt for `key`, or refuse it with the seconds to
/// wait. An allowed attempt counts as a failure until the password proves
/// right (see [`crate::throttle`]).
fn take_attempt<R: LoginThrottleRepository>(
    ctx: &Ctx<'_, R>,
    key: &ThrottleKey,
) -> Result<(), DomainError> {
    match ctx.repo.take_login_attempt(key, &ctx.throttle, ctx.now)? {
        Verdict::Allowed { .. } => Ok(()),
        Verdict::Refused { retry_after } => Err(DomainError::TooManyAttempts { retry_after }),
    }
}

/// Exchange a refresh token for a new session.
#[derive(Debug, Clone)]
pub struct Refresh {
    /// Hash of the refresh token presented.
    pub presented: String,
    /// The new session's tokens, hashed.
    pub tokens: TokenHashes,
}

/// Rotate the session of a refresh token: the old one stops working, a new
/// one starts. A used refresh token presented again ends every session of
/// its user (someone holds a copy; which one is genuine cannot be told).
/// Every refusal is [`DomainError::Unauthenticated`].
pub fn refresh_session<R>(ctx: &Ctx<'_, R>, command: Refresh) -> Result<NewSession, DomainError>
where
    R: UserRepository + SessionRepository,
{
    let at = to_stored_precision(ctx.now);
    let Some(old) = ctx.repo.find_session_by_refresh_hash(&command.presented)? else {
        return Err(DomainError::Unauthenticated);
    };
    if old.revoked_at.is_some() {
        ctx.repo.revoke_user_sessions(old.tenant, old.user, at)?;
        return Err(DomainError::Unauthenticated);
    }
    if !old.refresh_valid_at(at) {
        return Err(DomainError::Unauthenticated);
    }
    let Some(user) = ctx
        .repo
        .get_user(old.tenant, old.user)?
        .filter(|user| may_log_in(user).is_ok())
    else {
        return Err(DomainError::Unauthenticated);
    };
    let session = command.tokens.session(user.tenant, user.id, ctx.tokens, at);
    match ctx.repo.rotate_session(old.id, &session, at) {
        Ok(()) => Ok(NewSession { user, session }),
        Err(RotateSessionError::AlreadyRevoked) => Err(DomainError::Unauthenticated),
        Err(RotateSessionError::Storage(e)) => Err(e.into()),
    }
}

/// May `actor` change the password of user `target` by proving the old one?
/// Only the user themselves (an ADMIN sets passwords through an update).
pub fn authorize_own_password_change(actor: &Actor, tenant: TenantId, target: UserId) -> Decision {
    if actor.tenant == tenant && actor.is_user(target) {
        Decision::Allowed
    } else {
        Decision::Forbidden {
            fields: vec![UserField::Password],
            reason: "only the user themselves may change their password this way".into(),
        }
    }
}

/// A user changes their own password.
#[derive(Debug, Clone)]
pub struct ChangeOwnPassword {
    /// The user: must be the actor.
    pub id: UserId,
    /// The current password, to prove.
    pub current: PlainPassword,
    /// The new password.
    pub new: PlainPassword,
    /// The client address wrong current passwords are counted for, if known.
    pub client: Option<ClientAddress>,
}

/// The actor changes their own password: authorized first (so nobody else
/// learns whether the user exists), the new password judged by the tenant's
/// policy, repeated wrong current passwords throttled like failed logins,
/// and the change written with a history entry and the end of every session
/// of the user, in one transaction. If the user changed since it was read,
/// the change is refused as stale rather than applied over it.
pub fn change_own_password<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: ChangeOwnPassword,
) -> Result<User, DomainError>
where
    R: UserRepository + TenantRepository + LoginThrottleRepository,
{
    authorize_own_password_change(actor, actor.tenant, command.id).into_result()?;
    let current = current_user(ctx.repo, actor)?;
    let policy = password_policy(ctx.repo, actor.tenant)?;
    let mut errors = ValidationErrors::new();
    let new = errors.check(
        Field::NewPassword,
        command.new.check(&policy, &current.password_context()),
    );
    let Some(new) = new else {
        return Err(errors.into());
    };
    let key = ThrottleKey::new(current.tenant, current.username.as_str(), command.client);
    take_attempt(ctx, &key)?;
    let proved = match &current.password {
        Some(stored) => ctx
            .hasher
            .verify(Some(stored), &command.current.for_verification())?,
        None => Verification::Mismatch,
    };
    if proved == Verification::Mismatch {
        return Err(
            ValueError::new("mismatch", "is not the user's current password")
                .at(Field::CurrentPassword)
                .into(),
        );
    }
    ctx.repo.clear_login_failures(&key)?;
    let hash = ctx.hasher.hash(&new)?;
    write_password(
        ctx.repo,
        &current,
        hash,
        PasswordWrite {
            actor: actor.reference(),
            comment: "password changed by the user",
            revoke_sessions: true,
        },
        to_stored_precision(ctx.now),
    )
}

/// After a successful login whose stored hash used older parameters: store
/// `new_hash` (the same password under the current parameters). Returns the
/// user as stored, or `None` when another change won the race (the next
/// login tries again).
pub fn rehash_password(
    repo: &impl UserRepository,
    user: &User,
    new_hash: PasswordHash,
    now: OffsetDateTime,
) -> Result<Option<User>, DomainError> {
    let write = PasswordWrite {
        actor: ActorRef::System,
        comment: "password re-hashed with the current parameters at login",
        revoke_sessions: false,
    };
    match write_password(repo, user, new_hash, write, now) {
        Ok(user) => Ok(Some(user)),
        Err(DomainError::StaleVersion { .. } | DomainError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Who writes a password, why, and whether the user's sessions end with it.
struct PasswordWrite {
    actor: ActorRef,
    comment: &'static str,
    revoke_sessions: bool,
}

fn write_password(
    repo: &impl UserRepository,
    current: &User,
    new_hash: PasswordHash,
    write: PasswordWrite,
    now: OffsetDateTime,
) -> Result<User, DomainError> {
    let mut next = current.clone();
    next.password = Some(new_hash);
    next.version = current.version + 1;
    next.updated_at = now;
    let changed = BTreeSet::from([UserField::Password]);
    let comment = ChangeComment::parse(write.comment).ok();
    let history = HistoryEntry::for_change(current, &next, &changed, write.actor, comment);
    let update = UserUpdate {
        user: next,
        expected_version: current.version,
        history,
        removes_active_admin: false,
        revoke_sessions: write.revoke_sessions,
    };
    match repo.update_user(&update) {
        Ok(()) => Ok(update.user),
        Err(UpdateUserError::Stale { current: stored }) => Err(DomainError::StaleVersion {
            expected: current.version,
            current: stored,
        }),
        Err(UpdateUserError::NotFound) => Err(DomainError::NotFound("user")),
        Err(UpdateUserError::Conflict(field)) => Err(DomainError::Conflict(field)),
        Err(UpdateUserError::LastActiveAdmin) => Err(DomainError::Forbidden {
            fields: vec![UserField::Status],
            reason: crate::authz::LAST_ADMIN_REASON.into(),
        }),
        Err(UpdateUserError::Storage(e)) => Err(DomainError::Internal(e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::{ApiKeyId, Role};
    use crate::user::NewUser;

    fn user(status: Status) -> User {
        let mut new = NewUser::new(
            Username::parse("ada@example.com").unwrap(),
            Email::parse("ada@example.com").unwrap(),
        );
        new.status = status;
        new.into_user(TenantId::new_random(), OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn only_active_users_log_in() {
        assert_eq!(may_log_in(&user(Status::Active)), Ok(()));
        for status in [
            Status::Inactive,
            Status::Expired,
            Status::Blocked,
            Status::Deleted,
        ] {
            assert_eq!(
                may_log_in(&user(status)),
                Err(LoginRefusal::NotActive(status))
            );
        }
    }

    #[test]
    fn only_the_user_changes_their_own_password() {
        let target = user(Status::Active);
        let me = Actor {
            tenant: target.tenant,
            principal: Principal::User(target.id),
            roles: BTreeSet::from([Role::StandardUser]),
        };
        assert!(authorize_own_password_change(&me, target.tenant, target.id).is_allowed());
        let admin_key = Actor {
            principal: Principal::ApiKey(ApiKeyId::new_random()),
            roles: BTreeSet::from([Role::Admin]),
            ..me.clone()
        };
        assert!(!authorize_own_password_change(&admin_key, target.tenant, target.id).is_allowed());
        let other_tenant = Actor {
            tenant: TenantId::new_random(),
            ..me
        };
        assert!(
            !authorize_own_password_change(&other_tenant, target.tenant, target.id).is_allowed()
        );
    }

    #[test]
    fn access_tokens_default_to_fifteen_minutes() {
        assert_eq!(TokenLifetimes::default().access, Duration::minutes(15));
    }
}
