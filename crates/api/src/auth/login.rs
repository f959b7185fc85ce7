//! Password logins, refresh-token rotation and a user's change of their own
//! password: the flows every dialect's login routes share.
//!
//! Security intent:
//! - a login answers 401 `invalid_credentials` alike for an unknown tenant,
//!   an unknown (or deleted) user and a wrong password, and spends the same
//!   argon2 work on each (a dummy hash stands in for the missing one);
//! - repeated failures for one username are refused with 429 before any
//!   password is checked ([`super::throttle`]);
//! - a refresh token works once: it is rotated atomically by the store, and
//!   presenting a used one again revokes every session of its user (it was
//!   copied, by someone);
//! - a password change (by the user, or by an ADMIN's update) ends every
//!   session of the user.

use std::time::Instant;

use userhub_domain::auth::{
    LoginRefusal, TokenLifetimes, change_own_password, find_login_user, may_log_in,
    rehash_password, user_for_password_change,
};
use userhub_domain::authz::Actor;
use userhub_domain::credentials::Session;
use userhub_domain::password::{Password, Verification};
use userhub_domain::repository::{
    RotateSessionError, SessionRepository, TenantRepository, UserRepository,
};
use userhub_domain::tenant::{Tenant, TenantName};
use userhub_domain::types::{AuthLocation, SessionId, TenantId, UserId};
use userhub_domain::user::{LastAuthentication, User};
use userhub_domain::{DomainError, ValidationErrors};
use userhub_storage::Store;

use super::secrets::{self, Secret};
use super::throttle;
use crate::app::AppState;
use crate::blocking::{db, now};
use crate::error::{ApiError, Failure};

/// The header naming the tenant of a login.
pub const TENANT_HEADER: &str = "tenant";

/// The tokens of a new or refreshed session, and its user.
#[derive(Debug)]
pub struct IssuedSession {
    /// The user who logged in.
    pub user: User,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Secret,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn new_session(
    tenant: TenantId,
    user: UserId,
    lifetimes: TokenLifetimes,
    at: time::OffsetDateTime,
) -> (Session, Secret, Secret) {
    let access = secrets::new_access_token();
    let refresh = secrets::new_refresh_token();
    let session = Session {
        id: SessionId::new_random(),
        tenant,
        user,
        access_hash: access.hash(),
        // Lifetimes are bounded by the configuration, so these cannot
        // overflow; if they did, the token would be born expired.
        access_expires_at: at.checked_add(lifetimes.access).unwrap_or(at),
        refresh_hash: refresh.hash(),
        refresh_expires_at: at.checked_add(lifetimes.refresh).unwrap_or(at),
        created_at: at,
        revoked_at: None,
    };
    (session, access, refresh)
}

/// Which tenant a login is for: the `tenant` header (a tenant's name or id);
/// without it, the only tenant if there is exactly one. `Ok(None)` when the
/// header names no tenant.
fn resolve_tenant(store: &Store, header: Option<&str>) -> Result<Option<Tenant>, Failure> {
    match header.map(str::trim) {
        Some(given) if !given.is_empty() => {
            if let Ok(id) = TenantId::parse(given) {
                return Ok(store.get_tenant(id).map_err(DomainError::from)?);
            }
            match TenantName::parse(given) {
                Ok(name) => Ok(store
                    .find_tenant_by_name(&name)
                    .map_err(DomainError::from)?),
                Err(_) => Ok(None),
            }
        }
        _ => {
            let mut tenants = store.list_tenants().map_err(DomainError::from)?;
            if tenants.len() == 1 {
                Ok(tenants.pop())
            } else {
                Err(ApiError::BadRequest {
                    code: "tenant_required",
                    message: format!(
                        "name the tenant to log in to in the `{TENANT_HEADER}` header (its name or id): this service has {} tenants",
                        tenants.len()
                    ),
                }
                .into())
            }
        }
    }
}

/// Log `login` in with `password` in the tenant named by `tenant_header`.
pub async fn login(
    state: &AppState,
    tenant_header: Option<String>,
    login: String,
    password: Password,
    location: Option<String>,
) -> Result<IssuedSession, Failure> {
    let lookup = login.clone();
    let found = db(&state.store, move |store| {
        let tenant = match resolve_tenant(store, tenant_header.as_deref()) {
            Ok(tenant) => tenant,
            Err(Failure::Domain(e)) => return Err(e),
            Err(Failure::Api(answer)) => return Ok(Err(answer)),
        };
        let Some(tenant) = tenant else {
            return Ok(Ok(None));
        };
        let user = find_login_user(store, tenant.id, &lookup)?;
        Ok(Ok(Some((tenant, user))))
    })
    .await??;

    let Some((tenant, user)) = found else {
        // An unknown tenant: the same work and answer as a wrong password.
        state.hasher.verify(None, password).await?;
        return Err(ApiError::InvalidCredentials.into());
    };
    let key = throttle::key(tenant.id, &login);
    if let Err(retry_after) = state.throttle.check(&key, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after }.into());
    }
    let stored = user.as_ref().and_then(|u| u.password.clone());
    let (outcome, upgraded) = state.hasher.verify_and_upgrade(stored, password).await?;
    let user = match (outcome, user) {
        (Verification::Match { .. }, Some(user)) => user,
        _ => {
            state.throttle.record_failure(key, Instant::now());
            return Err(ApiError::InvalidCredentials.into());
        }
    };
    state.throttle.record_success(&key);
    if let Err(LoginRefusal::NotActive(status)) = may_log_in(&user) {
        return Err(ApiError::Forbidden {
            message: format!("the user's status is {status}: only ACTIVE users may log in"),
            fields: Vec::new(),
        }
        .into());
    }

    let lifetimes = state.config.tokens;
    let at = now();
    let issued = db(&state.store, move |store| {
        if let Some(hash) = upgraded {
            rehash_password(store, &user, hash, at)?;
        }
        let (session, access, refresh) = new_session(user.tenant, user.id, lifetimes, at);
        store.create_session(&session)?;
        let authentication = LastAuthentication {
            at,
            valid_until: session.refresh_expires_at,
            location: location.and_then(|l| AuthLocation::parse(&l).ok()),
        };
        store.record_authentication(user.tenant, user.id, &authentication)?;
        Ok(IssuedSession {
            user,
            access_token: access,
            refresh_token: refresh,
            expires_in: lifetimes.access.whole_seconds(),
        })
    })
    .await?;
    Ok(issued)
}

/// Exchange a refresh token for a new pair; the old one stops working.
pub async fn refresh(state: &AppState, token: String) -> Result<IssuedSession, Failure> {
    const INVALID: &str = "the refresh token is not valid (unknown, used, revoked or expired)";
    if !token.starts_with(secrets::REFRESH_TOKEN_MARK) {
        return Err(ApiError::Unauthenticated(INVALID).into());
    }
    let hash = secrets::sha256_hex(&token);
    let lifetimes = state.config.tokens;
    let at = now();
    let issued = db(&state.store, move |store| {
        let Some(old) = store.find_session_by_refresh_hash(&hash)? else {
            return Ok(None);
        };
        if old.revoked_at.is_some() {
            // A used refresh token came back: someone holds a copy. End
            // every session of the user rather than guess which is genuine.
            log::warn!(
                "a used refresh token was presented again: revoking every session of user {}",
                old.user
            );
            store.revoke_user_sessions(old.tenant, old.user, at)?;
            return Ok(None);
        }
        if !old.refresh_valid_at(at) {
            return Ok(None);
        }
        let Some(user) = store
            .get_user(old.tenant, old.user)?
            .filter(|user| may_log_in(user).is_ok())
        else {
            return Ok(None);
        };
        let (session, access, refresh) = new_session(user.tenant, user.id, lifetimes, at);
        match store.rotate_session(old.id, &session, at) {
            Ok(()) => Ok(Some(IssuedSession {
                user,
                access_token: access,
                refresh_token: refresh,
                expires_in: lifetimes.access.whole_seconds(),
            })),
            Err(RotateSessionError::AlreadyRevoked) => Ok(None),
            Err(RotateSessionError::Storage(e)) => Err(e.into()),
        }
    })
    .await?;
    issued.ok_or_else(|| ApiError::Unauthenticated(INVALID).into())
}

/// The names a dialect gives the two fields of a password change.
#[derive(Debug, Clone, Copy)]
pub struct PasswordFields {
    /// The current password's field.
    pub old: &'static str,
    /// The new password's field.
    pub new: &'static str,
}

/// The actor changes their own password from `old` to `new`. Every session
/// of the user ends; the caller logs in again with the new password.
pub async fn change_password(
    state: &AppState,
    actor: Actor,
    user: UserId,
    old: Password,
    new: String,
    fields: PasswordFields,
) -> Result<User, Failure> {
    let who = actor.clone();
    let (current, new) = db(&state.store, move |store| {
        let current = user_for_password_change(store, &who, user)?;
        let policy = store
            .get_tenant(who.tenant)?
            .map(|t| t.password_policy)
            .unwrap_or_default();
        let mut errors = ValidationErrors::new();
        let new = errors.check(
            fields.new,
            Password::parse(&new, &policy, &current.password_context()),
        );
        match new {
            Some(new) => Ok((current, new)),
            None => Err(errors.into()),
        }
    })
    .await?;

    let key = throttle::key(current.tenant, current.username.as_str());
    if let Err(retry_after) = state.throttle.check(&key, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after }.into());
    }
    let stored = current.password.clone();
    let checked = match state.hasher.verify(stored, old).await? {
        Verification::Match { .. } => Some(state.hasher.hash(new).await?),
        Verification::Mismatch => None,
    };
    let Some(new_hash) = checked else {
        state.throttle.record_failure(key, Instant::now());
        let mut errors = ValidationErrors::new();
        errors.push(
            userhub_domain::ValueError::new("mismatch", "is not the user's current password")
                .at(fields.old),
        );
        return Err(errors.into());
    };
    state.throttle.record_success(&key);

    let at = now();
    let version = current.version;
    let updated = db(&state.store, move |store| {
        let updated = change_own_password(store, &actor, user, version, new_hash, at)?;
        store.revoke_user_sessions(updated.tenant, updated.id, at)?;
        Ok(updated)
    })
    .await?;
    Ok(updated)
}
