//! Bulk import: users brought over from another system, many at a time,
//! with their password hashes as that system made them.
//!
//! An import is a sequence of batches; [`import_batch`] takes one batch of
//! parsed lines and answers one [`ImportOutcome`] per line, in order. Each
//! line is judged like a creation (memberships one per organization,
//! custom attributes declared by the tenant, a plaintext password by the
//! tenant's policy) and written with its creation history entry; the store
//! writes a batch in one transaction and refuses only the lines that
//! conflict ([`ImportRepository`]). A line that conflicts is refused, skipped
//! or applied as an update, as [`OnConflict`] says, so that re-running the
//! same file with [`OnConflict::Skip`] imports nothing twice and finishes an
//! import that was stopped half-way.
//!
//! Who may import is the caller's decision ([`may_import`]): the command
//! line is the operator of the database; over HTTP only an ADMIN API key
//! ([`admit`]). Export reads the tenant's users a page at a time in id
//! order ([`export_page`]), so that a tenant of millions is read with flat
//! memory and each page costs one index range scan.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::StorageError;
use crate::authz::{Actor, ActorRef, authorize_admin_api, removes_active_admin};
use crate::error::{DomainError, Field, UniqueField, ValidationErrors, ValueError};
use crate::fields::UserField;
use crate::history::{ChangeComment, HistoryEntry};
use crate::password::PlainPassword;
use crate::ports::Ctx;
use crate::repository::{
    AttributeRepository, TenantRepository, UpdateUserError, UserRepository, UserUpdate,
};
use crate::service::{password_policy, to_stored_precision};
use crate::types::{AttributeInput, Role, TenantId, UserId, memberships_by_organization};
use crate::user::{NewUser, User};

/// What to do with a line whose id, username or e-mail is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Refuse the line (the import goes on).
    #[default]
    Fail,
    /// Leave the stored user as it is and count the line as skipped.
    Skip,
    /// Replace the stored user (found by the line's id, else its username,
    /// else its e-mail) with the line's values, as one more version.
    Update,
}

/// One line of an import, read: the user as a creation describes it, plus
/// what only an import carries.
#[derive(Debug, Clone)]
pub struct ImportUser {
    /// The user; its `password` is the imported hash, if the line had one.
    pub user: NewUser,
    /// A plaintext password to judge by the tenant's policy and hash (the
    /// slow path), when the line had no hash.
    pub password: Option<PlainPassword>,
    /// Custom attributes, as the line gave them.
    pub attributes: AttributeInput,
    /// When the user was created in the system they come from; the time of
    /// the import when the line does not say.
    pub created_at: Option<OffsetDateTime>,
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Created, with this id.
    Imported(UserId),
    /// An existing user was replaced by the line ([`OnConflict::Update`]).
    Updated(UserId),
    /// Left out: already there ([`OnConflict::Skip`], or an update that
    /// would change nothing).
    Skipped,
    /// Refused, for these reasons (each naming its field).
    Refused(ValidationErrors),
}

/// How one batch is to be written.
#[derive(Debug, Clone, Copy)]
pub struct ImportMode {
    /// What to do with a taken id, username or e-mail.
    pub on_conflict: OnConflict,
    /// Judge and try everything, write nothing.
    pub dry_run: bool,
}

/// Writing a batch of imported users.
pub trait ImportRepository {
    /// Insert each user with its creation history entry, in one
    /// transaction: a line whose id, username or e-mail is taken (by a
    /// stored user or an earlier line of the batch) is left out and
    /// answered with the field, every other line is written. With
    /// `dry_run` nothing is kept. One answer per row, in order.
    fn import_users(
        &self,
        rows: &[(User, HistoryEntry)],
        dry_run: bool,
    ) -> Result<Vec<Result<(), UniqueField>>, StorageError>;

    /// Up to `limit` users of `tenant` whose id comes after `after` (from
    /// the first without it), in id order; deleted ones only with
    /// `include_deleted`. An empty answer is the end.
    fn export_users(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: u32,
        include_deleted: bool,
    ) -> Result<Vec<User>, StorageError>;
}

/// Whether `actor` may import users into (or export them from) its
/// tenant: ADMIN only, since the lines carry password hashes.
pub fn may_import(actor: &Actor) -> bool {
    actor.has(Role::Admin)
}

/// Who imports into (or exports from) which tenant, once admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportScope {
    /// The actor's own tenant: the only one it reaches.
    pub tenant: TenantId,
    /// Who the history records as the importer.
    pub by: ActorRef,
}

/// Admit `actor` to import into or export from its tenant over the admin
/// API: an API key with the ADMIN role ([`authorize_admin_api`],
/// [`may_import`]); anything else is forbidden.
pub fn admit(actor: &Actor) -> Result<ImportScope, DomainError> {
    authorize_admin_api(actor).into_result()?;
    if !may_import(actor) {
        return Err(DomainError::Forbidden {
            fields: Vec::new(),
            reason: "importing and exporting users needs the ADMIN role".to_owned(),
        });
    }
    Ok(ImportScope {
        tenant: actor.tenant,
        by: actor.reference(),
    })
}

/// The most users one export page reads.
pub const MAX_EXPORT_PAGE: u32 = 1000;

/// Which page of an export to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPage {
    /// The last id of the previous page; `None` for the first page.
    pub after: Option<UserId>,
    /// Users a page (at most [`MAX_EXPORT_PAGE`]).
    pub limit: u32,
    /// Deleted users too.
    pub include_deleted: bool,
}

/// One page of the actor's tenant's users, in id order, for an export
/// (with their password hashes: only an admitted actor reads it, see
/// [`admit`]). An empty page is the end.
pub fn export_page<R: ImportRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    page: ExportPage,
) -> Result<Vec<User>, DomainError> {
    let scope = admit(actor)?;
    Ok(ctx.repo.export_users(
        scope.tenant,
        page.after,
        page.limit.clamp(1, MAX_EXPORT_PAGE),
        page.include_deleted,
    )?)
}

/// The comment of an imported user's creation entry.
fn import_comment() -> Option<ChangeComment> {
    ChangeComment::parse("imported").ok()
}

fn taken(field: UniqueField) -> ValidationErrors {
    let (field, what) = match field {
        UniqueField::Id => (Field::Path("id".into()), "id"),
        UniqueField::Email => (Field::User(UserField::Email), "e-mail"),
        _ => (Field::User(UserField::Username), "username"),
    };
    let mut errors = ValidationErrors::new();
    errors.push(
        ValueError::new(
            "taken",
            format!("this {what} is already taken in the tenant"),
        )
        .at(field),
    );
    errors
}

/// Import one batch of lines into `tenant` as `by`: each line judged, the
/// good ones written (see [`ImportRepository`]), the conflicting ones
/// handled as `mode` says. A line that failed to parse is passed as its
/// errors and answered [`ImportOutcome::Refused`] with them.
///
/// `Err` only when the batch as a whole could not be done (storage lost,
/// hashing busy): nothing of it is kept, and the caller may run it again.
pub fn import_batch<R>(
    ctx: &Ctx<'_, R>,
    tenant: TenantId,
    by: ActorRef,
    mode: ImportMode,
    lines: Vec<Result<ImportUser, ValidationErrors>>,
) -> Result<Vec<ImportOutcome>, DomainError>
where
    R: UserRepository + TenantRepository + AttributeRepository + ImportRepository,
{
    let now = to_stored_precision(ctx.now);
    let needs_declared = lines
        .iter()
        .any(|line| matches!(line, Ok(l) if !l.attributes.is_empty()));
    let declared = if needs_declared {
        Some(ctx.repo.declared_attributes(tenant)?)
    } else {
        None
    };
    let needs_policy = lines
        .iter()
        .any(|line| matches!(line, Ok(l) if l.password.is_some()));
    let policy = if needs_policy {
        Some(password_policy(ctx.repo, tenant)?)
    } else {
        None
    };
    let mut outcomes: Vec<Option<ImportOutcome>> = Vec::with_capacity(lines.len());
    // (index of the line, the user, its entry, whether the line named its id)
    let mut rows: Vec<(usize, User, HistoryEntry, bool)> = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(errors) => {
                outcomes.push(Some(ImportOutcome::Refused(errors)));
                continue;
            }
        };
        let ImportUser {
            mut user,
            password,
            attributes,
            created_at,
        } = line;
        let mut errors = ValidationErrors::new();
        match memberships_by_organization(std::mem::take(&mut user.memberships)) {
            Ok(memberships) => user.memberships = memberships,
            Err(found) => errors.append(found),
        }
        if let Some(declared) = &declared {
            match attributes.resolve(declared) {
                Ok(changes) => {
                    for (name, value) in changes {
                        if let Some(value) = value {
                            user.attributes.insert(name, value);
                        }
                    }
                }
                Err(found) => errors.append(found),
            }
        }
        let password = match (&password, &policy) {
            (Some(plain), Some(policy)) => errors.check(
                Field::User(UserField::Password),
                plain.check(policy, &user.password_context()),
            ),
            _ => None,
        };
        if !errors.is_empty() {
            outcomes.push(Some(ImportOutcome::Refused(errors)));
            continue;
        }
        if let Some(password) = password {
            user.password = Some(ctx.hasher.hash(&password)?);
        }
        let named_id = user.id.is_some();
        let created = created_at.map_or(now, to_stored_precision);
        let mut user = user.into_user(tenant, created);
        user.updated_at = now;
        let mut history = HistoryEntry::for_creation(&user, by, import_comment());
        history.at = now;
        rows.push((index, user, history, named_id));
        outcomes.push(None);
    }
    let written: Vec<(User, HistoryEntry)> = rows
        .iter()
        .map(|(_, user, history, _)| (user.clone(), history.clone()))
        .collect();
    let answers = ctx.repo.import_users(&written, mode.dry_run)?;
    for ((index, user, _, named_id), answer) in rows.into_iter().zip(answers) {
        let outcome = match (answer, mode.on_conflict) {
            (Ok(()), _) => ImportOutcome::Imported(user.id),
            (Err(field), OnConflict::Fail) => ImportOutcome::Refused(taken(field)),
            (Err(_), OnConflict::Skip) => ImportOutcome::Skipped,
            (Err(field), OnConflict::Update) => {
                update_existing(ctx, by, mode.dry_run, user, named_id, field, now)?
            }
        };
        if let Some(slot) = outcomes.get_mut(index) {
            *slot = Some(outcome);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(ImportOutcome::Skipped))
        .collect())
}

/// The stored user a conflicting line stands for: by the line's own id if
/// it named one, else by its username, else by its e-mail.
fn existing_for<R: UserRepository>(
    repo: &R,
    line: &User,
    named_id: bool,
) -> Result<Option<User>, StorageError> {
    if named_id {
        return repo.get_user(line.tenant, line.id);
    }
    if let Some(found) = repo.find_user_by_username(line.tenant, &line.username.key())? {
        return Ok(Some(found));
    }
    repo.find_user_by_email(line.tenant, &line.email.key())
}

/// [`OnConflict::Update`]: the stored user takes the line's values as one
/// more version (its id, creation time unless the line gives one, and last
/// login stay), with a history entry of the fields that changed.
fn update_existing<R>(
    ctx: &Ctx<'_, R>,
    by: ActorRef,
    dry_run: bool,
    line: User,
    named_id: bool,
    conflict: UniqueField,
    now: OffsetDateTime,
) -> Result<ImportOutcome, DomainError>
where
    R: UserRepository,
{
    let Some(current) = existing_for(ctx.repo, &line, named_id)? else {
        // Taken by a purged user's history, or gone since: nothing to update.
        return Ok(ImportOutcome::Refused(taken(conflict)));
    };
    let mut next = line;
    next.id = current.id;
    next.last_authentication = current.last_authentication.clone();
    next.version = current.version + 1;
    next.updated_at = now;
    if !named_id {
        next.created_at = current.created_at;
    }
    let changed: BTreeSet<UserField> = UserField::ALL
        .into_iter()
        .filter(|&field| match field {
            // Compared directly: secrets have no history value to compare.
            UserField::Password => next.password != current.password,
            _ => current.field_value(field) != next.field_value(field),
        })
        .collect();
    if changed.is_empty() && next.created_at == current.created_at {
        return Ok(ImportOutcome::Skipped);
    }
    if dry_run {
        return Ok(ImportOutcome::Updated(current.id));
    }
    let history = HistoryEntry::for_change(&current, &next, &changed, by, import_comment());
    let update = UserUpdate {
        removes_active_admin: removes_active_admin(&current, &next),
        revoke_sessions: changed.contains(&UserField::Password),
        expected_version: current.version,
        history,
        user: next,
    };
    match ctx.repo.update_user(&update) {
        Ok(()) => Ok(ImportOutcome::Updated(current.id)),
        Err(UpdateUserError::Conflict(field)) => Ok(ImportOutcome::Refused(taken(field))),
        Err(UpdateUserError::LastActiveAdmin) => {
            let mut errors = ValidationErrors::new();
            errors.push(
                ValueError::new("last_admin", crate::authz::LAST_ADMIN_REASON)
                    .at(Field::User(UserField::Roles)),
            );
            Ok(ImportOutcome::Refused(errors))
        }
        Err(UpdateUserError::NotFound | UpdateUserError::Stale { .. }) => {
            let mut errors = ValidationErrors::new();
            errors.push(
                ValueError::new(
                    "changed",
                    "the stored user changed during the import: run it again",
                )
                .at(Field::Path("id".into())),
            );
            Ok(ImportOutcome::Refused(errors))
        }
        Err(UpdateUserError::Storage(e)) => Err(DomainError::Internal(e)),
    }
}
