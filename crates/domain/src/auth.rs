//! Logging in and changing one's own password: who may log in, how long the
//! tokens of a login live, and the writes a login or a password change makes.
//!
//! Security intent: only ACTIVE users log in; deleted users are looked up as
//! if they did not exist, so a login cannot tell them apart from unknown
//! names. A password changes through two doors only: an ADMIN's update
//! ([`crate::service::update_user`]) or the user themselves proving the old
//! one ([`change_own_password`]). Making and checking the secrets (argon2,
//! random tokens) is the caller's job; these functions only decide and write.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::authz::{Actor, ActorRef, Decision, Principal};
use crate::error::DomainError;
use crate::fields::UserField;
use crate::history::{ChangeComment, HistoryEntry};
use crate::password::PasswordHash;
use crate::repository::{UpdateUserError, UserRepository, UserUpdate};
use crate::types::{Email, Status, TenantId, UserId, Username};
use crate::user::User;

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

/// The user `id`, for a change of their own password: authorized first, so
/// nobody else learns whether the user exists.
pub fn user_for_password_change(
    repo: &impl UserRepository,
    actor: &Actor,
    id: UserId,
) -> Result<User, DomainError> {
    authorize_own_password_change(actor, actor.tenant, id).into_result()?;
    current_user(repo, actor)
}

/// Store `new_hash` as the password of the actor's own user `id`, whose old
/// password the caller verified against version `verified_version`. If the
/// user changed since (another password, say), the change is refused as
/// stale rather than applied over it. Writes a history entry; the caller
/// should revoke the user's other sessions.
pub fn change_own_password(
    repo: &impl UserRepository,
    actor: &Actor,
    id: UserId,
    verified_version: u64,
    new_hash: PasswordHash,
    now: OffsetDateTime,
) -> Result<User, DomainError> {
    let current = user_for_password_change(repo, actor, id)?;
    write_password(
        repo,
        &current,
        verified_version,
        new_hash,
        actor.reference(),
        Some("password changed by the user"),
        now,
    )
}

/// After a successful login whose stored hash used older argon2 parameters:
/// store `new_hash` (the same password under the current parameters). Returns
/// whether it was stored; losing a race with another change is not an error
/// (the next login tries again).
pub fn rehash_password(
    repo: &impl UserRepository,
    user: &User,
    new_hash: PasswordHash,
    now: OffsetDateTime,
) -> Result<bool, DomainError> {
    match write_password(
        repo,
        user,
        user.version,
        new_hash,
        ActorRef::System,
        Some("password re-hashed with the current parameters at login"),
        now,
    ) {
        Ok(_) => Ok(true),
        Err(DomainError::StaleVersion { .. } | DomainError::NotFound(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

fn write_password(
    repo: &impl UserRepository,
    current: &User,
    expected_version: u64,
    new_hash: PasswordHash,
    actor: ActorRef,
    comment: Option<&str>,
    now: OffsetDateTime,
) -> Result<User, DomainError> {
    if current.version != expected_version {
        return Err(DomainError::StaleVersion {
            expected: expected_version,
            current: current.version,
        });
    }
    let mut next = current.clone();
    next.password = Some(new_hash);
    next.version = current.version + 1;
    next.updated_at = now;
    let changed = BTreeSet::from([UserField::Password]);
    let comment = comment.and_then(|c| ChangeComment::parse(c).ok());
    let history = HistoryEntry::for_change(current, &next, &changed, actor, comment);
    let update = UserUpdate {
        user: next,
        expected_version,
        history,
        removes_active_admin: false,
    };
    match repo.update_user(&update) {
        Ok(()) => Ok(update.user),
        Err(UpdateUserError::Stale { current }) => Err(DomainError::StaleVersion {
            expected: expected_version,
            current,
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
