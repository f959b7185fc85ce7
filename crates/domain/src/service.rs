//! The operations a dialect calls: each one authorizes, applies the rules and
//! writes through the repository traits. Pure logic over the traits: the
//! caller supplies the clock (`now`) and runs these off any event loop.

use crate::authz::{
    Actor, LAST_ADMIN_REASON, admin_removing_fields, authorize_create, authorize_fields,
    authorize_list, authorize_read, guard_last_admin, removes_active_admin,
};
use crate::error::DomainError;
use crate::history::{ChangeComment, HistoryEntry};
use crate::query::{UserPage, UserQuery};
use crate::repository::{ListUsersError, UpdateUserError, UserRepository, UserUpdate};
use crate::types::{Status, UserId, memberships_by_organization};
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

/// Create `new` in the actor's tenant. Memberships that name an
/// organization twice are refused (see [`memberships_by_organization`]).
pub fn create_user(
    repo: &impl UserRepository,
    actor: &Actor,
    mut new: NewUser,
    comment: Option<ChangeComment>,
    now: time::OffsetDateTime,
) -> Result<User, DomainError> {
    new.memberships = memberships_by_organization(std::mem::take(&mut new.memberships))?;
    authorize_create(actor, &new).into_result()?;
    let user = new.into_user(actor.tenant, to_stored_precision(now));
    let history = HistoryEntry::for_creation(&user, actor.reference(), comment);
    repo.create_user(&user, &history)?;
    Ok(user)
}

/// The user `id` as the actor may see it; a deleted user, or one of another
/// tenant, is not found.
pub fn get_user(
    repo: &impl UserRepository,
    actor: &Actor,
    id: UserId,
) -> Result<User, DomainError> {
    authorize_read(actor, actor.tenant, id).into_result()?;
    find_live_user(repo, actor, id)
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

/// A change to one user.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    /// Which user.
    pub id: UserId,
    /// What to change.
    pub changes: UserChanges,
    /// The version the caller last saw; when given, a newer stored version
    /// refuses the change (optimistic locking).
    pub expected_version: Option<u64>,
    /// Why (recorded in history).
    pub comment: Option<ChangeComment>,
}

/// Change a user: authorize the fields that really change, keep the last
/// active ADMIN, bump the version and write the history entry atomically.
/// A change that changes nothing writes nothing and returns the user as is.
///
/// Parts of composite values (address parts, MFA flag and type, added
/// memberships) are applied to the state the update reads, so without an
/// `expected_version` a lost race is retried on the newer state rather than
/// overwriting it. A `memberships` list that names an organization twice is
/// refused (see [`memberships_by_organization`]).
pub fn update_user(
    repo: &impl UserRepository,
    actor: &Actor,
    request: &UpdateRequest,
    now: time::OffsetDateTime,
) -> Result<User, DomainError> {
    if let Some(memberships) = &request.changes.memberships {
        memberships_by_organization(memberships.clone())?;
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_update(repo, actor, request, now) {
            // Without a version from the caller, a lost race is not the
            // caller's conflict: re-read and re-apply on the newer state.
            Err(UpdateOutcome::Raced(_))
                if request.expected_version.is_none() && attempt < UNCONDITIONAL_ATTEMPTS => {}
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

fn try_update(
    repo: &impl UserRepository,
    actor: &Actor,
    request: &UpdateRequest,
    now: time::OffsetDateTime,
) -> Result<User, UpdateOutcome> {
    let current = find_live_user(repo, actor, request.id)?;
    if let Some(expected) = request.expected_version
        && expected != current.version
    {
        return Err(DomainError::StaleVersion {
            expected,
            current: current.version,
        }
        .into());
    }
    let applied = current.apply(&request.changes);
    if applied.changed.is_empty() {
        // Nothing to write, but the answer shows the user: only to those
        // who may read it.
        authorize_read(actor, actor.tenant, current.id).into_result()?;
        return Ok(current);
    }
    authorize_fields(actor, &current, &applied.changed).into_result()?;
    let removes_admin = removes_active_admin(&current, &applied.user);
    if removes_admin {
        let admins = repo.count_active_admins(actor.tenant)?;
        guard_last_admin(&current, &applied.user, admins).into_result()?;
    }
    let mut next = applied.user;
    next.version = current.version + 1;
    next.updated_at = to_stored_precision(now);
    let history = HistoryEntry::for_change(
        &current,
        &next,
        &applied.changed,
        actor.reference(),
        request.comment.clone(),
    );
    let update = UserUpdate {
        user: next,
        expected_version: current.version,
        history,
        removes_active_admin: removes_admin,
    };
    match repo.update_user(&update) {
        Ok(()) => Ok(update.user),
        Err(UpdateUserError::Stale { current: stored }) => {
            Err(UpdateOutcome::Raced(DomainError::StaleVersion {
                expected: request.expected_version.unwrap_or(current.version),
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

/// Delete a user: its status becomes DELETED (its username stays taken) and
/// every read answers as if it did not exist. ADMIN only; the last active
/// ADMIN cannot be deleted.
pub fn delete_user(
    repo: &impl UserRepository,
    actor: &Actor,
    id: UserId,
    expected_version: Option<u64>,
    comment: Option<ChangeComment>,
    now: time::OffsetDateTime,
) -> Result<User, DomainError> {
    let request = UpdateRequest {
        id,
        changes: UserChanges {
            status: Some(Status::Deleted),
            ..UserChanges::default()
        },
        expected_version,
        comment,
    };
    update_user(repo, actor, &request, now)
}

/// A page of the actor's tenant's users. Deleted users are never listed,
/// whatever statuses the filter asks for.
pub fn list_users(
    repo: &impl UserRepository,
    actor: &Actor,
    mut query: UserQuery,
) -> Result<UserPage, DomainError> {
    authorize_list(actor).into_result()?;
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
    repo.list_users(actor.tenant, &query).map_err(|e| match e {
        ListUsersError::InvalidCursor => crate::error::ValueError::new(
            "invalid_cursor",
            "is not a cursor this service handed out for this order",
        )
        .at("cursor")
        .into(),
        ListUsersError::Storage(e) => DomainError::Internal(e),
    })
}
