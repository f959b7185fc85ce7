//! Groups: the organizations of a tenant, as SCIM shows them.
//!
//! A group's id is an organization id ([`OrganizationId`]), the one a
//! [`Membership`] names, so a group's members are exactly the users with a
//! membership in it — the memberships SELISE Blocks reads and writes. A
//! membership added through a group has no roles or permissions until
//! Blocks gives it some; one that exists already is kept as it is.
//!
//! Changing a group's members changes those users: each gets a new version
//! and a history entry, written with the group in one transaction, so a
//! group is never half-changed. Managing groups is for ADMINs (memberships
//! are ADMIN-only fields); reading them for whoever may list users.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::authz::{Actor, authorize_fields, authorize_list, authorize_manage_groups};
use crate::error::{DomainError, Field, StorageError, UniqueField, ValidationErrors, ValueError};
use crate::history::HistoryEntry;
use crate::ports::Ctx;
use crate::query::{Filter, GroupCondition, GroupText, OrderOp, SortDirection, TimeAttr};
use crate::repository::{UserRepository, UserUpdate};
use crate::service::to_stored_precision;
use crate::types::{
    ExternalId, GroupName, Membership, OrganizationId, TenantId, UserId, Username, uniqueness_key,
};
use crate::user::{User, UserChanges};

/// How often a group change is recomputed after a member changed under it.
const ATTEMPTS: usize = 3;

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The organization id, unique within the tenant.
    pub id: OrganizationId,
    /// The tenant.
    pub tenant: TenantId,
    /// Display name, unique per tenant (case-insensitively).
    pub display_name: GroupName,
    /// The identity provider's id, unique per tenant.
    pub external_id: Option<ExternalId>,
    /// 1 at creation, +1 on every change (its members' included).
    pub version: u64,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl Group {
    /// The key its display name is unique and filtered by.
    pub fn display_name_key(&self) -> String {
        uniqueness_key(self.display_name.as_str())
    }
}

/// A member of a group, as a group shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The user.
    pub id: UserId,
    /// Their username (to display).
    pub username: Username,
}

/// A group and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// The group.
    pub group: Group,
    /// Its members (users not deleted), by id.
    pub members: Vec<GroupMember>,
}

/// The order of a list of groups; ties are broken by id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupSort {
    /// Creation time (the default).
    #[default]
    Created,
    /// Display name key.
    DisplayName,
}

/// A list request for groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupQuery {
    /// Which groups.
    pub filter: Option<Filter<GroupCondition>>,
    /// In what order.
    pub sort: GroupSort,
    /// Which way.
    pub direction: SortDirection,
    /// How many to skip.
    pub offset: u64,
    /// At most this many.
    pub limit: u32,
}

/// A page of groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPage {
    /// The groups, in order, with their members.
    pub groups: Vec<GroupView>,
    /// How many groups pass the filter.
    pub total: u64,
}

impl GroupCondition {
    /// Whether `group` meets the condition (the reference semantics the
    /// storage's SQL agrees with).
    pub fn matches(&self, group: &Group) -> bool {
        let text = |attr: GroupText| match attr {
            GroupText::DisplayName => Some(group.display_name_key()),
            GroupText::ExternalId => group.external_id.as_ref().map(|e| e.as_str().to_owned()),
        };
        match self {
            GroupCondition::Text { attr, op, value } => {
                text(*attr).is_some_and(|stored| op.holds(&stored, value))
            }
            GroupCondition::Present(attr) => text(*attr).is_some(),
            GroupCondition::Time { attr, op, value } => {
                let stored = match attr {
                    TimeAttr::Created => group.created_at,
                    TimeAttr::Updated => group.updated_at,
                };
                OrderOp::holds(*op, &stored, value)
            }
        }
    }
}

/// Writing a group failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum GroupWriteError {
    /// No such group.
    #[error("group not found")]
    NotFound,
    /// The group's stored version is not the expected one.
    #[error("stale version: current is {current}")]
    Stale {
        /// The stored version.
        current: u64,
    },
    /// A member changed since it was read: recompute and retry.
    #[error("a member changed meanwhile")]
    MemberChanged,
    /// The display name or external id is taken.
    #[error("{} is already taken", .0.as_str())]
    Conflict(UniqueField),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The groups of all tenants; every operation is scoped to one tenant.
/// Each write takes the member users' updates to write in the same
/// transaction.
pub trait GroupRepository {
    /// Insert `group` and write `members`.
    fn create_group(&self, group: &Group, members: &[UserUpdate]) -> Result<(), GroupWriteError>;
    /// The group `id` of `tenant`.
    fn get_group(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
    ) -> Result<Option<Group>, StorageError>;
    /// The users of `tenant` with a membership in `id`, not deleted, by id.
    fn group_members(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
    ) -> Result<Vec<GroupMember>, StorageError>;
    /// A page of the groups of `tenant`.
    fn list_groups(&self, tenant: TenantId, query: &GroupQuery) -> Result<GroupPage, StorageError>;
    /// Replace the group row (at `expected_version`) and write `members`.
    fn update_group(
        &self,
        group: &Group,
        expected_version: u64,
        members: &[UserUpdate],
    ) -> Result<(), GroupWriteError>;
    /// Remove the group row (at `expected_version`) and write `members`.
    fn delete_group(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
        expected_version: u64,
        members: &[UserUpdate],
    ) -> Result<(), GroupWriteError>;
}

impl From<GroupWriteError> for DomainError {
    fn from(error: GroupWriteError) -> Self {
        match error {
            GroupWriteError::NotFound => DomainError::NotFound("group"),
            GroupWriteError::Stale { current } => DomainError::StaleVersion {
                expected: current,
                current,
            },
            GroupWriteError::MemberChanged => {
                DomainError::Internal(StorageError::transient("group members kept changing"))
            }
            GroupWriteError::Conflict(field) => DomainError::Conflict(field),
            GroupWriteError::Storage(e) => DomainError::Internal(e),
        }
    }
}

/// One try of a group write: done, or lost a race with another writer.
enum Tried {
    Raced(DomainError),
    Failed(DomainError),
}

impl<E: Into<DomainError>> From<E> for Tried {
    fn from(error: E) -> Self {
        Tried::Failed(error.into())
    }
}

/// What a failed group write means for a caller that did (`expected`) or
/// did not name the version it changes.
fn written(result: Result<(), GroupWriteError>, expected: Option<u64>) -> Result<(), Tried> {
    match result {
        Ok(()) => Ok(()),
        Err(GroupWriteError::Stale { current }) => match expected {
            Some(expected) => Err(Tried::Failed(DomainError::StaleVersion {
                expected,
                current,
            })),
            None => Err(Tried::Raced(GroupWriteError::Stale { current }.into())),
        },
        Err(e @ GroupWriteError::MemberChanged) => Err(Tried::Raced(e.into())),
        Err(e) => Err(Tried::Failed(e.into())),
    }
}

/// Who may change groups: an ADMIN (memberships are ADMIN-only).
fn authorize_manage(actor: &Actor) -> Result<(), DomainError> {
    authorize_manage_groups(actor).into_result()
}

/// The members a change names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// Leave the members as they are.
    Keep,
    /// Exactly these users.
    Replace(Vec<UserId>),
    /// Add these users, then remove those (each naming a user of the tenant).
    Edit {
        /// Users to add.
        add: Vec<UserId>,
        /// Users to remove.
        remove: Vec<UserId>,
    },
}

/// Create a group.
#[derive(Debug, Clone)]
pub struct CreateGroup {
    /// The name; `None` when the request gave no valid one (see `errors`).
    pub display_name: Option<GroupName>,
    /// The identity provider's id.
    pub external_id: Option<ExternalId>,
    /// Its first members.
    pub members: Vec<UserId>,
    /// What the dialect found wrong with the request.
    pub errors: ValidationErrors,
}

/// Change a group.
#[derive(Debug, Clone)]
pub struct UpdateGroup {
    /// Which group.
    pub id: OrganizationId,
    /// A new name, if any.
    pub display_name: Option<GroupName>,
    /// A new external id (`Some(None)` removes it), if any.
    pub external_id: Option<Option<ExternalId>>,
    /// The members.
    pub members: MemberChange,
    /// The version the caller last saw, if it said.
    pub expected_version: Option<u64>,
    /// What the dialect found wrong with the request.
    pub errors: ValidationErrors,
}

/// Delete a group.
#[derive(Debug, Clone)]
pub struct DeleteGroup {
    /// Which group.
    pub id: OrganizationId,
    /// The version the caller last saw, if it said.
    pub expected_version: Option<u64>,
}

fn check_version(expected: Option<u64>, group: &Group) -> Result<(), DomainError> {
    match expected {
        Some(expected) if expected != group.version => Err(DomainError::StaleVersion {
            expected,
            current: group.version,
        }),
        _ => Ok(()),
    }
}

/// The live user `id`, or an error at `members[i].value`.
fn member_user<R: UserRepository>(
    repo: &R,
    tenant: TenantId,
    id: UserId,
    index: usize,
    errors: &mut ValidationErrors,
) -> Result<Option<User>, DomainError> {
    let user = repo.get_user(tenant, id)?.filter(|u| !u.is_deleted());
    if user.is_none() {
        errors.push(
            ValueError::new("unknown_member", "names no user of this tenant")
                .at(Field::Path(format!("members[{index}].value"))),
        );
    }
    Ok(user)
}

/// The update that makes `user` a member of `group` (`join`) or not.
fn membership_update<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    user: &User,
    group: &OrganizationId,
    join: bool,
) -> Result<Option<UserUpdate>, DomainError> {
    let mut changes = UserChanges::default();
    if join {
        changes
            .add_memberships
            .push(Membership::new(group.clone(), [], []));
    } else {
        changes.remove_memberships.insert(group.clone());
    }
    let applied = user.apply(&changes);
    if applied.changed.is_empty() {
        return Ok(None);
    }
    authorize_fields(actor, user, &applied.changed).into_result()?;
    let mut next = applied.user;
    next.version = user.version + 1;
    next.updated_at = to_stored_precision(ctx.now);
    let history = HistoryEntry::for_change(user, &next, &applied.changed, actor.reference(), None);
    Ok(Some(UserUpdate {
        user: next,
        expected_version: user.version,
        history,
        removes_active_admin: false,
        revoke_sessions: false,
    }))
}

/// Run `attempt` again (a few times) when it lost a race.
fn retrying<T>(mut attempt: impl FnMut() -> Result<T, Tried>) -> Result<T, DomainError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Ok(value) => return Ok(value),
            Err(Tried::Raced(_)) if tries < ATTEMPTS => {}
            Err(Tried::Raced(e) | Tried::Failed(e)) => return Err(e),
        }
    }
}

/// The group `id` with its members.
fn view<R: GroupRepository>(
    repo: &R,
    tenant: TenantId,
    group: Group,
) -> Result<GroupView, DomainError> {
    let members = repo.group_members(tenant, &group.id)?;
    Ok(GroupView { group, members })
}

/// Create a group in the actor's tenant with a new id, its members given a
/// membership in it, all in one transaction. ADMIN only.
pub fn create_group<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: CreateGroup,
) -> Result<GroupView, DomainError>
where
    R: UserRepository + GroupRepository,
{
    authorize_manage(actor)?;
    let id = OrganizationId::parse(&UserId::new_random().to_string())
        .map_err(|e| DomainError::Internal(StorageError::new(e.message)))?;
    retrying(|| {
        let mut errors = command.errors.clone();
        let mut updates = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, member) in command.members.iter().enumerate() {
            if !seen.insert(*member) {
                continue;
            }
            if let Some(user) = member_user(ctx.repo, actor.tenant, *member, i, &mut errors)?
                && let Some(update) = membership_update(ctx, actor, &user, &id, true)?
            {
                updates.push(update);
            }
        }
        let display_name = match &command.display_name {
            Some(name) if errors.is_empty() => name.clone(),
            _ => return Err(DomainError::from(errors).into()),
        };
        let now = to_stored_precision(ctx.now);
        let group = Group {
            id: id.clone(),
            tenant: actor.tenant,
            display_name,
            external_id: command.external_id.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        written(ctx.repo.create_group(&group, &updates), None)?;
        Ok(view(ctx.repo, actor.tenant, group)?)
    })
}

/// The group `id` of the actor's tenant, with its members.
pub fn get_group<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    id: OrganizationId,
) -> Result<GroupView, DomainError>
where
    R: GroupRepository,
{
    authorize_list(actor).into_result()?;
    let group = ctx
        .repo
        .get_group(actor.tenant, &id)?
        .ok_or(DomainError::NotFound("group"))?;
    view(ctx.repo, actor.tenant, group)
}

/// A page of the actor's tenant's groups.
pub fn list_groups<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    query: GroupQuery,
) -> Result<GroupPage, DomainError>
where
    R: GroupRepository,
{
    authorize_list(actor).into_result()?;
    Ok(ctx.repo.list_groups(actor.tenant, &query)?)
}

/// Change a group: its name, its external id, its members (each member
/// change a change of that user, with its history entry), in one
/// transaction. ADMIN only. With `expected_version`, a group changed since
/// is refused.
pub fn update_group<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: UpdateGroup,
) -> Result<GroupView, DomainError>
where
    R: UserRepository + GroupRepository,
{
    authorize_manage(actor)?;
    retrying(|| {
        let mut errors = command.errors.clone();
        let current = ctx
            .repo
            .get_group(actor.tenant, &command.id)?
            .ok_or(DomainError::NotFound("group"))?;
        check_version(command.expected_version, &current)?;
        let members: BTreeSet<UserId> = ctx
            .repo
            .group_members(actor.tenant, &command.id)?
            .into_iter()
            .map(|m| m.id)
            .collect();
        // (user, join) in request order, each user once.
        let mut wanted: Vec<(usize, UserId, bool)> = Vec::new();
        match &command.members {
            MemberChange::Keep => {}
            MemberChange::Replace(list) => {
                let listed: BTreeSet<UserId> = list.iter().copied().collect();
                for (i, id) in list.iter().enumerate() {
                    if !members.contains(id) {
                        wanted.push((i, *id, true));
                    }
                }
                for id in members.difference(&listed) {
                    wanted.push((usize::MAX, *id, false));
                }
            }
            MemberChange::Edit { add, remove } => {
                let removed: BTreeSet<UserId> = remove.iter().copied().collect();
                for (i, id) in add.iter().enumerate() {
                    if !members.contains(id) && !removed.contains(id) {
                        wanted.push((i, *id, true));
                    }
                }
                for id in remove.iter().filter(|id| members.contains(id)) {
                    wanted.push((usize::MAX, *id, false));
                }
            }
        }
        let mut updates = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, id, join) in wanted {
            if !seen.insert(id) {
                continue;
            }
            let user = if join {
                member_user(ctx.repo, actor.tenant, id, i, &mut errors)?
            } else {
                ctx.repo.get_user(actor.tenant, id)?
            };
            if let Some(user) = user
                && let Some(update) = membership_update(ctx, actor, &user, &command.id, join)?
            {
                updates.push(update);
            }
        }
        errors.into_result()?;
        let mut next = current.clone();
        if let Some(name) = &command.display_name {
            next.display_name = name.clone();
        }
        if let Some(external_id) = &command.external_id {
            next.external_id = external_id.clone();
        }
        if next == current && updates.is_empty() {
            return Ok(view(ctx.repo, actor.tenant, current)?);
        }
        next.version = current.version + 1;
        next.updated_at = to_stored_precision(ctx.now);
        written(
            ctx.repo.update_group(&next, current.version, &updates),
            command.expected_version,
        )?;
        Ok(view(ctx.repo, actor.tenant, next)?)
    })
}

/// Delete a group: its row goes, and every member's membership in it ends
/// (a change of each, with its history entry), in one transaction. ADMIN
/// only.
pub fn delete_group<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: DeleteGroup,
) -> Result<(), DomainError>
where
    R: UserRepository + GroupRepository,
{
    authorize_manage(actor)?;
    retrying(|| {
        let current = ctx
            .repo
            .get_group(actor.tenant, &command.id)?
            .ok_or(DomainError::NotFound("group"))?;
        check_version(command.expected_version, &current)?;
        let mut updates = Vec::new();
        for member in ctx.repo.group_members(actor.tenant, &command.id)? {
            if let Some(user) = ctx.repo.get_user(actor.tenant, member.id)?
                && let Some(update) = membership_update(ctx, actor, &user, &command.id, false)?
            {
                updates.push(update);
            }
        }
        written(
            ctx.repo
                .delete_group(actor.tenant, &command.id, current.version, &updates),
            command.expected_version,
        )
    })
}
