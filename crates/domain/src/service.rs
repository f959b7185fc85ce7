//! The operations a dialect calls, one per request. Each takes a command that
//! carries everything the request said (the plain password, the raw custom
//! attributes, the expected version, the comment), loads what it needs (the
//! tenant's password policy and declared attributes), validates, authorizes,
//! and only then hashes (through the [`PasswordHasher`](crate::ports::PasswordHasher)
//! port) and writes: the row, its version, its history entry and, when the
//! password changes, the end of the user's sessions, in one transaction.
//!
//! Pure logic over the repository traits and ports in a [`Ctx`]: the caller
//! supplies the clock and runs these off any event loop.

use crate::authz::{
    Actor, LAST_ADMIN_REASON, admin_removing_fields, authorize_create, authorize_fields,
    authorize_list, authorize_read, guard_last_admin, removes_active_admin,
};
use crate::error::{DomainError, Field, ValidationErrors};
use crate::fields::UserField;
use crate::history::{ChangeComment, HistoryEntry};
use crate::password::{Password, PasswordPolicy, PlainPassword};
use crate::ports::Ctx;
use crate::query::{UserPage, UserQuery};
use crate::repository::{
    AttributeRepository, ListUsersError, TenantRepository, UpdateUserError, UserRepository,
    UserUpdate,
};
use crate::types::{AttributeInput, Status, TenantId, UserId, memberships_by_organization};
use crate::user::{NewUser, User, UserChanges};

/// How often an unconditional update re-reads and re-applies after losing a
/// race with another writer before it gives up.
const UNCONDITIONAL_ATTEMPTS: usize = 3;

/// Timestamps are kept to the microsecond, the precision both stores have,
/// so a user read back equals the user written.
pub fn to_stored_precision(at: time::OffsetDateTime) -> time::OffsetDateTime {
    let micros = at.nanosecond() / 1_000 * 1_000;
    at.replace_nanosecond(micros).unwrap_or(at)
}

/// The tenant's rules for new passwords (the default for a tenant that is gone).
pub fn password_policy(
    repo: &impl TenantRepository,
    tenant: TenantId,
) -> Result<PasswordPolicy, DomainError> {
    Ok(repo
        .get_tenant(tenant)?
        .map(|t| t.password_policy)
        .unwrap_or_default())
}

/// Judge `password` by the tenant's policy in the words of the user it is
/// for; an error is recorded under `field`.
fn judge_password(
    repo: &impl TenantRepository,
    tenant: TenantId,
    password: &PlainPassword,
    context: &[&str],
    field: Field,
    errors: &mut ValidationErrors,
) -> Result<Option<Password>, DomainError> {
    let policy = password_policy(repo, tenant)?;
    Ok(errors.check(field, password.check(&policy, context)))
}

/// Create a user.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// The user, without a password hash; `None` when the request named no
    /// valid user (its `errors` say why), so that the operation still adds
    /// its own findings to the one answer.
    pub user: Option<NewUser>,
    /// The password to give them, as the request carried it.
    pub password: Option<PlainPassword>,
    /// Custom attributes, as the request gave them.
    pub attributes: AttributeInput,
    /// Why (recorded in history).
    pub comment: Option<ChangeComment>,
    /// What the dialect already found wrong with the request: the operation
    /// adds its own findings and refuses with all of them.
    pub errors: ValidationErrors,
}

impl CreateUser {
    /// A command to create `user`, with nothing else said.
    pub fn new(user: NewUser) -> Self {
        Self::refused(Some(user), ValidationErrors::new())
    }

    /// A command for a request whose reading found `errors` (and, when it
    /// could not even say which user, no user).
    pub fn refused(user: Option<NewUser>, errors: ValidationErrors) -> Self {
        Self {
            user,
            password: None,
            attributes: AttributeInput::default(),
            comment: None,
            errors,
        }
    }
}

/// Create a user in the actor's tenant: memberships one per organization,
/// custom attributes declared by the tenant, the password by the tenant's
/// policy (in the user's own words); then authorize, hash, and write the
/// user with its creation history entry.
pub fn create_user<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: CreateUser,
) -> Result<User, DomainError>
where
    R: UserRepository + TenantRepository + AttributeRepository,
{
    let CreateUser {
        mut user,
        password,
        attributes,
        comment,
        mut errors,
    } = command;
    if let Some(user) = &mut user {
        match memberships_by_organization(std::mem::take(&mut user.memberships)) {
            Ok(memberships) => user.memberships = memberships,
            Err(found) => errors.append(found),
        }
    }
    if !attributes.is_empty() {
        let declared = ctx.repo.declared_attributes(actor.tenant)?;
        match attributes.resolve(&declared) {
            Ok(changes) => {
                let set = changes
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value?)));
                for (name, value) in set {
                    if let Some(user) = &mut user {
                        user.attributes.insert(name, value);
                    }
                }
            }
            Err(found) => errors.append(found),
        }
    }
    let password = match &password {
        Some(plain) => judge_password(
            ctx.repo,
            actor.tenant,
            plain,
            &user
                .as_ref()
                .map(NewUser::password_context)
                .unwrap_or_default(),
            Field::User(UserField::Password),
            &mut errors,
        )?,
        None => None,
    };
    let mut user = match user {
        Some(user) if errors.is_empty() => user,
        _ => return Err(errors.into()),
    };
    // Authorized before any argon2 work is spent on the request.
    authorize_create(actor, &user).into_result()?;
    if let Some(password) = password {
        user.password = Some(ctx.hasher.hash(&password)?);
    }
    let user = user.into_user(actor.tenant, to_stored_precision(ctx.now));
    let history = HistoryEntry::for_creation(&user, actor.reference(), comment);
    ctx.repo.create_user(&user, &history)?;
    Ok(user)
}

/// The user `id` as the actor may see it; a deleted user, or one of another
/// tenant, is not found.
pub fn get_user<R: UserRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    id: UserId,
) -> Result<User, DomainError> {
    authorize_read(actor, actor.tenant, id).into_result()?;
    find_live_user(ctx.repo, actor, id)
}

fn find_live_user(
    repo: &impl UserRepository,
    actor: &Actor,
    id: UserId,
) -> Result<User, DomainError> {
    repo.get_user(actor.tenant, id)?
        .filter(|user| !user.is_deleted())
        .ok_or(DomainError::NotFound("user"))
}

/// Change one user.
#[derive(Debug, Clone)]
pub struct UpdateUser {
    /// Which user.
    pub id: UserId,
    /// What to change (its `password` and `attributes` are the operation's
    /// to fill from the fields below).
    pub changes: UserChanges,
    /// A new password, as the request carried it.
    pub password: Option<PlainPassword>,
    /// Custom attributes to set or remove, as the request gave them.
    pub attributes: AttributeInput,
    /// The version the caller last saw; when given, a newer stored version
    /// refuses the change (optimistic locking).
    pub expected_version: Option<u64>,
    /// Why (recorded in history).
    pub comment: Option<ChangeComment>,
    /// What the dialect already found wrong with the request: the operation
    /// adds its own findings and refuses with all of them.
    pub errors: ValidationErrors,
}

impl UpdateUser {
    /// A command making `changes` to the user `id`, with nothing else said.
    pub fn new(id: UserId, changes: UserChanges) -> Self {
        Self {
            id,
            changes,
            password: None,
            attributes: AttributeInput::default(),
            expected_version: None,
            comment: None,
            errors: ValidationErrors::new(),
        }
    }
}

/// Change a user: check the memberships, the custom attributes and the
/// password, authorize the fields that really change (the password too,
/// before it is hashed), keep the last active ADMIN, and write the new row,
/// its version, its history entry and, with a new password, the end of every
/// session of the user, atomically. A change that changes nothing writes
/// nothing and returns the user as is.
///
/// Parts of composite values (address parts, MFA flag and type, added
/// memberships) are applied to the state the update reads, so without an
/// `expected_version` a lost race is retried on the newer state rather than
/// overwriting it. A `memberships` list that names an organization twice is
/// refused (see [`memberships_by_organization`]).
pub fn update_user<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: UpdateUser,
) -> Result<User, DomainError>
where
    R: UserRepository + TenantRepository + AttributeRepository,
{
    let UpdateUser {
        id,
        mut changes,
        password,
        attributes,
        expected_version,
        comment,
        mut errors,
    } = command;
    if let Some(memberships) = &changes.memberships
        && let Err(found) = memberships_by_organization(memberships.clone())
    {
        errors.append(found);
    }
    if !attributes.is_empty() {
        let declared = ctx.repo.declared_attributes(actor.tenant)?;
        match attributes.resolve(&declared) {
            Ok(resolved) => changes.attributes.extend(resolved),
            Err(found) => errors.append(found),
        }
    }
    if let Some(plain) = &password
        && !errors.is_empty()
    {
        // The request is refused anyway: judge the password by the policy
        // in the request's own words, so this one answer names every field.
        // (In the user's words only once the caller is authorized: they
        // must not be an oracle on another user's names.)
        judge_password(
            ctx.repo,
            actor.tenant,
            plain,
            &changes.password_context(),
            Field::User(UserField::Password),
            &mut errors,
        )?;
    }
    errors.into_result()?;
    let mut read = None;
    if let Some(plain) = password {
        // Authorize the whole change and judge the password before spending
        // argon2 work on it.
        let current = find_live_user(ctx.repo, actor, id)?;
        check_version(expected_version, &current)?;
        let applied = current.apply(&changes);
        let mut fields = applied.changed;
        fields.insert(UserField::Password);
        authorize_fields(actor, &current, &fields).into_result()?;
        let mut errors = ValidationErrors::new();
        let password = judge_password(
            ctx.repo,
            actor.tenant,
            &plain,
            &applied.user.password_context(),
            Field::User(UserField::Password),
            &mut errors,
        )?;
        errors.into_result()?;
        if let Some(password) = password {
            changes.password = Some(ctx.hasher.hash(&password)?);
        }
        read = Some(current);
    }
    let plan = Plan {
        id,
        revoke_sessions: changes.password.is_some(),
        changes,
        expected_version,
        comment,
    };
    write_update(ctx, actor, &plan, read)
}

/// An authorized-to-try update, with its password (if any) already hashed.
struct Plan {
    id: UserId,
    changes: UserChanges,
    expected_version: Option<u64>,
    comment: Option<ChangeComment>,
    revoke_sessions: bool,
}

fn check_version(expected: Option<u64>, current: &User) -> Result<(), DomainError> {
    match expected {
        Some(expected) if expected != current.version => Err(DomainError::StaleVersion {
            expected,
            current: current.version,
        }),
        _ => Ok(()),
    }
}

/// Apply and write `plan`, starting from `read` when the caller already
/// read the user; a lost race without an expected version is retried on
/// the newer state.
fn write_update<R: UserRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    plan: &Plan,
    mut read: Option<User>,
) -> Result<User, DomainError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_update(ctx, actor, plan, read.take()) {
            // Without a version from the caller, a lost race is not the
            // caller's conflict: re-read and re-apply on the newer state.
            Err(UpdateOutcome::Raced(_))
                if plan.expected_version.is_none() && attempt < UNCONDITIONAL_ATTEMPTS => {}
            Err(UpdateOutcome::Raced(error)) | Err(UpdateOutcome::Failed(error)) => {
                return Err(error);
            }
            Ok(user) => return Ok(user),
        }
    }
}

enum UpdateOutcome {
    Raced(DomainError),
    Failed(DomainError),
}

impl<E: Into<DomainError>> From<E> for UpdateOutcome {
    fn from(error: E) -> Self {
        UpdateOutcome::Failed(error.into())
    }
}

fn try_update<R: UserRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    plan: &Plan,
    read: Option<User>,
) -> Result<User, UpdateOutcome> {
    let current = match read {
        Some(user) => user,
        None => find_live_user(ctx.repo, actor, plan.id)?,
    };
    check_version(plan.expected_version, &current)?;
    let applied = current.apply(&plan.changes);
    if applied.changed.is_empty() {
        // Nothing to write, but the answer shows the user: only to those
        // who may read it.
        authorize_read(actor, actor.tenant, current.id).into_result()?;
        return Ok(current);
    }
    authorize_fields(actor, &current, &applied.changed).into_result()?;
    let removes_admin = removes_active_admin(&current, &applied.user);
    if removes_admin {
        let admins = ctx.repo.count_active_admins(actor.tenant)?;
        guard_last_admin(&current, &applied.user, admins).into_result()?;
    }
    let mut next = applied.user;
    next.version = current.version + 1;
    next.updated_at = to_stored_precision(ctx.now);
    let history = HistoryEntry::for_change(
        &current,
        &next,
        &applied.changed,
        actor.reference(),
        plan.comment.clone(),
    );
    let update = UserUpdate {
        user: next,
        expected_version: current.version,
        history,
        removes_active_admin: removes_admin,
        revoke_sessions: plan.revoke_sessions,
    };
    match ctx.repo.update_user(&update) {
        Ok(()) => Ok(update.user),
        Err(UpdateUserError::Stale { current: stored }) => {
            Err(UpdateOutcome::Raced(DomainError::StaleVersion {
                expected: plan.expected_version.unwrap_or(current.version),
                current: stored,
            }))
        }
        // Another administrator was removed since the pre-check: the store
        // caught it inside the transaction.
        Err(UpdateUserError::LastActiveAdmin) => Err(DomainError::Forbidden {
            fields: admin_removing_fields(&update.user),
            reason: LAST_ADMIN_REASON.into(),
        }
        .into()),
        Err(UpdateUserError::NotFound) => Err(DomainError::NotFound("user").into()),
        Err(UpdateUserError::Conflict(field)) => Err(DomainError::Conflict(field).into()),
        Err(UpdateUserError::Storage(e)) => Err(DomainError::Internal(e).into()),
    }
}

/// Delete a user.
#[derive(Debug, Clone)]
pub struct DeleteUser {
    /// Which user.
    pub id: UserId,
    /// The version the caller last saw, if it said.
    pub expected_version: Option<u64>,
    /// Why (recorded in history).
    pub comment: Option<ChangeComment>,
}

/// Delete a user: its status becomes DELETED (its username stays taken) and
/// every read answers as if it did not exist. ADMIN only; the last active
/// ADMIN cannot be deleted.
pub fn delete_user<R: UserRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: DeleteUser,
) -> Result<User, DomainError> {
    let plan = Plan {
        id: command.id,
        changes: UserChanges {
            status: Some(Status::Deleted),
            ..UserChanges::default()
        },
        expected_version: command.expected_version,
        comment: command.comment,
        revoke_sessions: false,
    };
    write_update(ctx, actor, &plan, None)
}

/// List a page of users.
#[derive(Debug, Clone)]
pub struct ListUsers {
    /// Which users, in which order, which page (custom attribute filters
    /// come below, unjudged).
    pub query: UserQuery,
    /// Custom attribute filters as the request gave them: each name must be
    /// declared by the tenant (their values are matched exactly).
    pub attributes: AttributeInput,
    /// What the dialect already found wrong with the request.
    pub errors: ValidationErrors,
}

impl ListUsers {
    /// A command for `query`, with nothing else said.
    pub fn new(query: UserQuery) -> Self {
        Self {
            query,
            attributes: AttributeInput::default(),
            errors: ValidationErrors::new(),
        }
    }
}

/// A page of the actor's tenant's users. Deleted users are never listed,
/// whatever statuses the filter asks for.
pub fn list_users<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: ListUsers,
) -> Result<UserPage, DomainError>
where
    R: UserRepository + AttributeRepository,
{
    authorize_list(actor).into_result()?;
    let ListUsers {
        mut query,
        attributes,
        mut errors,
    } = command;
    if !attributes.is_empty() {
        let declared = ctx.repo.declared_attributes(actor.tenant)?;
        match attributes.resolve(&declared) {
            Ok(filters) => query.filter.attributes.extend(
                filters
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value?))),
            ),
            Err(found) => errors.append(found),
        }
    }
    errors.into_result()?;
    let asked_for_statuses = !query.filter.statuses.is_empty();
    query.filter.statuses.remove(&Status::Deleted);
    if asked_for_statuses && query.filter.statuses.is_empty() {
        return Ok(UserPage {
            users: Vec::new(),
            next: None,
            total: query.with_total.then_some(0),
        });
    }
    if query.filter.statuses.is_empty() {
        query.filter.statuses = crate::query::UserFilter::not_deleted().statuses;
    }
    ctx.repo
        .list_users(actor.tenant, &query)
        .map_err(|e| match e {
            ListUsersError::InvalidCursor => crate::error::ValueError::new(
                "invalid_cursor",
                "is not a cursor this service handed out for this order",
            )
            .at(Field::Cursor)
            .into(),
            ListUsersError::Storage(e) => DomainError::Internal(e),
        })
}

/// Every user of the actor's tenant, in creation order, read a batch at a
/// time (for dialects whose list has no pages).
pub fn all_users<R>(ctx: &Ctx<'_, R>, actor: &Actor) -> Result<Vec<User>, DomainError>
where
    R: UserRepository + AttributeRepository,
{
    const BATCH: u32 = 500;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let query = UserQuery {
            filter: crate::query::UserFilter::default(),
            sort: crate::query::Sort::default(),
            page: crate::query::PageRequest::Cursor {
                after,
                limit: BATCH,
            },
            with_total: false,
        };
        let page = list_users(ctx, actor, ListUsers::new(query))?;
        all.extend(page.users);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}
