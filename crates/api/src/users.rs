//! Creating and updating users with a password: the steps every dialect
//! shares around the one domain operation ([`service::create_user`],
//! [`service::update_user`]).
//!
//! A request that sets a password is authorized *before* its password is
//! hashed, so a caller who may not set it cannot make the service spend
//! argon2 work; the domain operation authorizes again when it writes.
//! Setting a password (as an ADMIN) ends every session of the user.

use std::collections::BTreeSet;

use userhub_domain::authz::{Actor, authorize_create, authorize_fields};
use userhub_domain::history::ChangeComment;
use userhub_domain::password::{Password, PasswordPolicy};
use userhub_domain::query::{UserPage, UserQuery};
use userhub_domain::repository::{SessionRepository, TenantRepository, UserRepository};
use userhub_domain::service::{self, UpdateRequest};
use userhub_domain::types::UserId;
use userhub_domain::user::{NewUser, User, UserChanges};
use userhub_domain::{DomainError, UserField, ValidationErrors};
use userhub_storage::Store;

use crate::app::AppState;
use crate::blocking::{db, now};
use crate::error::Failure;

/// A user to create, and the password to give them (already checked
/// against the tenant's policy).
#[derive(Debug)]
pub struct CreateUser {
    /// The user.
    pub new: NewUser,
    /// Their password, if the request set one.
    pub password: Option<Password>,
}

/// A change to a user, and the new password if the change sets one
/// (already checked against the tenant's policy in the request's context).
#[derive(Debug)]
pub struct UpdateUser {
    /// Which user.
    pub id: UserId,
    /// The change, without the password.
    pub changes: UserChanges,
    /// The new password.
    pub password: Option<Password>,
    /// The version the caller based the change on, if it said.
    pub expected_version: Option<u64>,
    /// Why.
    pub comment: Option<ChangeComment>,
}

/// The tenant's password policy.
pub fn password_policy(store: &Store, actor: &Actor) -> Result<PasswordPolicy, DomainError> {
    Ok(store
        .get_tenant(actor.tenant)?
        .map(|t| t.password_policy)
        .unwrap_or_default())
}

/// Parse a request into a command on the blocking pool (password strength
/// estimation is CPU work too), with the tenant's password policy at hand.
pub async fn parse<T, F>(state: &AppState, actor: &Actor, parse: F) -> Result<T, Failure>
where
    F: FnOnce(&PasswordPolicy) -> Result<T, ValidationErrors> + Send + 'static,
    T: Send + 'static,
{
    let who = actor.clone();
    Ok(db(&state.store, move |store| {
        let policy = password_policy(store, &who)?;
        parse(&policy).map_err(DomainError::Validation)
    })
    .await?)
}

/// Create a user in the actor's tenant.
pub async fn create(state: &AppState, actor: Actor, command: CreateUser) -> Result<User, Failure> {
    let CreateUser { mut new, password } = command;
    if let Some(password) = password {
        authorize_create(&actor, &new).into_result()?;
        new.password = Some(state.hasher.hash(password).await?);
    }
    let at = now();
    Ok(db(&state.store, move |store| {
        service::create_user(store, &actor, new, None, at)
    })
    .await?)
}

/// Update a user of the actor's tenant.
pub async fn update(state: &AppState, actor: Actor, command: UpdateUser) -> Result<User, Failure> {
    let UpdateUser {
        id,
        mut changes,
        password,
        expected_version,
        comment,
    } = command;
    let sets_password = password.is_some();
    if let Some(password) = password {
        let who = actor.clone();
        let probe = changes.clone();
        let password = db(&state.store, move |store| {
            // The same lookup the update makes: a deleted user, or one of
            // another tenant, is not found.
            let target = store
                .get_user(who.tenant, id)?
                .filter(|user| !user.is_deleted())
                .ok_or(DomainError::NotFound("user"))?;
            let mut fields: BTreeSet<UserField> = target.apply(&probe).changed;
            fields.insert(UserField::Password);
            authorize_fields(&who, &target, &fields).into_result()?;
            // Judge the password again in the user's own context (their
            // names may not be in the request).
            let after = target.apply(&probe).user;
            let policy = password_policy(store, &who)?;
            let mut errors = ValidationErrors::new();
            let checked = errors.check(
                UserField::Password.as_str(),
                Password::parse(password.expose(), &policy, &after.password_context()),
            );
            checked.ok_or(DomainError::Validation(errors))
        })
        .await?;
        changes.password = Some(state.hasher.hash(password).await?);
    }
    let request = UpdateRequest {
        id,
        changes,
        expected_version,
        comment,
    };
    let at = now();
    Ok(db(&state.store, move |store| {
        let user = service::update_user(store, &actor, &request, at)?;
        if sets_password {
            store.revoke_user_sessions(user.tenant, user.id, at)?;
        }
        Ok(user)
    })
    .await?)
}

/// A page of the actor's tenant's users.
pub async fn list(state: &AppState, actor: Actor, query: UserQuery) -> Result<UserPage, Failure> {
    Ok(db(&state.store, move |store| {
        service::list_users(store, &actor, query)
    })
    .await?)
}

/// One user of the actor's tenant.
pub async fn get(state: &AppState, actor: Actor, id: UserId) -> Result<User, Failure> {
    Ok(db(&state.store, move |store| {
        service::get_user(store, &actor, id)
    })
    .await?)
}

/// The actor's own user.
pub async fn me(state: &AppState, actor: Actor) -> Result<User, Failure> {
    Ok(db(&state.store, move |store| {
        userhub_domain::auth::current_user(store, &actor)
    })
    .await?)
}
