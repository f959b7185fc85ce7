//! Users and their history: [`UserRepository`] and [`HistoryRepository`].
//!
//! A user is identified by its tenant and its id together (the primary key
//! `users (tenant_id, id)`): two tenants may each have a user with the same
//! id, so every statement that addresses a user, or a row derived from one,
//! names both.
//!
//! Every write is one transaction: the `users` row, its derived
//! `user_roles` / `user_organizations` rows and its history entry are
//! written together or not at all. A stale write is refused by the
//! `UPDATE ... WHERE version = expected` itself, so two writers with the same
//! expected version can never both succeed.
//!
//! A username is unique per tenant twice over: by its key (`username_key`,
//! case and compatibility forms folded; the lookup key) and by its
//! confusable skeleton (`username_skeleton`, so that a name that looks like
//! a taken one is taken too). A collision on either is the same conflict,
//! [`UniqueField::Username`], so every dialect answers "username taken".

use std::collections::BTreeSet;
use std::convert::Infallible;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use userhub_domain::authz::ActorRef;
use userhub_domain::history::{ChangeComment, FieldChange, HistoryEntry};
use userhub_domain::password::PasswordHash;
use userhub_domain::query::{UserPage, UserQuery, name_key};
use userhub_domain::repository::{
    CreateUserError, HistoryRepository, ListUsersError, PurgeUserError, UpdateUserError,
    UserRepository, UserUpdate,
};
use userhub_domain::types::{
    AuthLocation, Email, EmailKey, ExternalId, Status, TenantId, UserId, Username, UsernameKey,
};
use userhub_domain::user::LastAuthentication;
use userhub_domain::{StorageError, UniqueField, User, UserField};

use crate::codec::{from_json, from_micros, micros, parse, to_json, version_column, version_value};
use crate::connection::{AnyConnection, MultiBackend, TxError, write_tx, write_tx_unqueued};
use crate::error::{failure, is_foreign_key_violation, is_unique_violation, user_unique_field};
use crate::profile::Profile;
use crate::schema::{
    tenants, user_attributes, user_history, user_organizations, user_roles, users,
};
use crate::store::Store;
use crate::{credentials, list};

mod import;

/// A `users` row as read.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: String,
    tenant_id: String,
    username: String,
    username_key: String,
    email: String,
    email_key: String,
    status: String,
    password_hash: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    profile: String,
    last_auth_at: Option<i64>,
    last_auth_valid_until: Option<i64>,
    last_auth_location: Option<String>,
    external_id: Option<String>,
}

impl UserRow {
    /// The user this row holds, every value re-validated.
    pub(crate) fn into_user(self, op: &'static str) -> Result<User, StorageError> {
        let profile: Profile = from_json(op, "user profile", &self.profile)?;
        let username = parse(op, "username", Username::parse(&self.username))?;
        let email = parse(op, "email", Email::parse(&self.email))?;
        // The key columns are what uniqueness and filters use; a row whose
        // key does not match its value (written by hand, or by an older
        // normalisation) would be found under the wrong key.
        if username.key().as_str() != self.username_key || email.key().as_str() != self.email_key {
            log::warn!(
                "storage: {op}: user {} has outdated uniqueness keys",
                self.id
            );
        }
        let last_authentication = match (self.last_auth_at, self.last_auth_valid_until) {
            (Some(at), Some(valid_until)) => Some(LastAuthentication {
                at: from_micros(op, at)?,
                valid_until: from_micros(op, valid_until)?,
                location: self
                    .last_auth_location
                    .as_deref()
                    .map(|l| parse(op, "auth location", AuthLocation::parse(l)))
                    .transpose()?,
            }),
            _ => None,
        };
        Ok(User {
            id: parse(op, "user id", UserId::parse(&self.id))?,
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            username,
            email,
            password: self
                .password_hash
                .as_deref()
                .map(|h| parse(op, "password hash", PasswordHash::parse(h)))
                .transpose()?,
            title: profile.title,
            first_name: profile.first_name,
            middle_name: profile.middle_name,
            last_name: profile.last_name,
            locale: profile.locale,
            time_zone: profile.time_zone,
            gender: profile.gender,
            birth_date: profile.birth_date,
            address: profile.address,
            phone: profile.phone,
            fax: profile.fax,
            roles: profile.roles,
            status: parse(op, "status", Status::parse(&self.status))?,
            account: profile.account,
            memberships: profile.memberships,
            mfa: profile.mfa,
            allowed_login_types: profile.allowed_login_types,
            tags: profile.tags,
            platform: profile.platform,
            attributes: profile.attributes,
            remarks: profile.remarks,
            wallet_address: profile.wallet_address,
            external_id: self
                .external_id
                .as_deref()
                .map(|e| parse(op, "external id", ExternalId::parse(e)))
                .transpose()?,
            last_authentication,
            version: version_value(op, self.version)?,
            created_at: from_micros(op, self.created_at)?,
            updated_at: from_micros(op, self.updated_at)?,
        })
    }
}

/// A `users` row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct NewUserRow<'a> {
    id: String,
    tenant_id: String,
    username: &'a str,
    username_key: String,
    email: &'a str,
    email_key: String,
    status: &'static str,
    password_hash: Option<&'a str>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    profile: String,
    last_auth_at: Option<i64>,
    last_auth_valid_until: Option<i64>,
    last_auth_location: Option<&'a str>,
    first_name_key: Option<String>,
    last_name_key: Option<String>,
    username_skeleton: Option<String>,
    external_id: Option<&'a str>,
}

impl<'a> NewUserRow<'a> {
    fn of(op: &'static str, user: &'a User) -> Result<Self, StorageError> {
        let auth = user.last_authentication.as_ref();
        Ok(Self {
            id: user.id.to_string(),
            tenant_id: user.tenant.to_string(),
            username: user.username.as_str(),
            username_key: user.username.key().as_str().to_owned(),
            email: user.email.as_str(),
            email_key: user.email.key().as_str().to_owned(),
            status: user.status.as_str(),
            password_hash: user.password.as_ref().map(PasswordHash::as_phc),
            version: version_column(user.version),
            created_at: micros(user.created_at),
            updated_at: micros(user.updated_at),
            profile: to_json(op, "user profile", &Profile::of(user))?,
            last_auth_at: auth.map(|a| micros(a.at)),
            last_auth_valid_until: auth.map(|a| micros(a.valid_until)),
            last_auth_location: auth.and_then(|a| a.location.as_ref()).map(|l| l.as_str()),
            first_name_key: user.first_name.as_ref().map(name_key),
            last_name_key: user.last_name.as_ref().map(name_key),
            username_skeleton: Some(user.username.skeleton().as_str().to_owned()),
            external_id: user.external_id.as_ref().map(|e| e.as_str()),
        })
    }
}

/// What an update writes to the `users` row. Not the id, tenant or creation
/// time (immutable), nor the last authentication (owned by
/// `record_authentication`, which a concurrent login may have just written),
/// nor the username skeleton (set beside it, see `update_user`).
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserChangeset<'a> {
    username: &'a str,
    username_key: String,
    email: &'a str,
    email_key: String,
    status: &'static str,
    password_hash: Option<&'a str>,
    version: i64,
    updated_at: i64,
    profile: String,
    first_name_key: Option<String>,
    last_name_key: Option<String>,
    external_id: Option<&'a str>,
}

impl<'a> UserChangeset<'a> {
    fn of(op: &'static str, user: &'a User) -> Result<Self, StorageError> {
        Ok(Self {
            username: user.username.as_str(),
            username_key: user.username.key().as_str().to_owned(),
            email: user.email.as_str(),
            email_key: user.email.key().as_str().to_owned(),
            status: user.status.as_str(),
            password_hash: user.password.as_ref().map(PasswordHash::as_phc),
            version: version_column(user.version),
            updated_at: micros(user.updated_at),
            profile: to_json(op, "user profile", &Profile::of(user))?,
            first_name_key: user.first_name.as_ref().map(name_key),
            last_name_key: user.last_name.as_ref().map(name_key),
            external_id: user.external_id.as_ref().map(|e| e.as_str()),
        })
    }
}

/// Which unique key of `users` a violation hit: [`user_unique_field`]'s
/// keys, and the username skeleton, which is a taken username too.
pub(crate) fn unique_field(error: &diesel::result::Error) -> Option<UniqueField> {
    user_unique_field(error).or_else(|| {
        is_unique_violation(
            error,
            "users_tenant_username_skeleton",
            "users.tenant_id, users.username_skeleton",
        )
        .then_some(UniqueField::Username)
    })
}

#[derive(Debug, Insertable)]
#[diesel(table_name = user_roles, treat_none_as_default_value = false)]
struct RoleRow<'a> {
    tenant_id: &'a str,
    user_id: &'a str,
    role: &'static str,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = user_organizations, treat_none_as_default_value = false)]
struct OrganizationRow<'a> {
    tenant_id: &'a str,
    user_id: &'a str,
    organization: &'a str,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = user_attributes, treat_none_as_default_value = false)]
struct AttributeRow<'a> {
    tenant_id: &'a str,
    user_id: &'a str,
    name: &'a str,
    value: &'a str,
}

/// A history entry's changes as stored: `[{"field", "old", "new"}]`.
#[derive(Debug, Serialize, Deserialize)]
struct StoredChange {
    field: String,
    old: Value,
    new: Value,
}

#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = user_history, treat_none_as_default_value = false)]
pub(crate) struct HistoryRow {
    tenant_id: String,
    user_id: String,
    version: i64,
    actor: String,
    at: i64,
    changes: String,
    comment: Option<String>,
}

impl HistoryRow {
    /// The row for `entry`, filed under `user` (the row written in the same
    /// transaction), whatever ids the entry carries.
    fn of(op: &'static str, user: &User, entry: &HistoryEntry) -> Result<Self, StorageError> {
        let changes: Vec<StoredChange> = entry
            .changes
            .iter()
            .map(|c| StoredChange {
                field: c.field.as_str().to_owned(),
                // Secrets never reach the history, whatever the caller put in.
                old: if c.field.is_secret() {
                    Value::Null
                } else {
                    c.old.clone()
                },
                new: if c.field.is_secret() {
                    Value::Null
                } else {
                    c.new.clone()
                },
            })
            .collect();
        Ok(Self {
            tenant_id: user.tenant.to_string(),
            user_id: user.id.to_string(),
            version: version_column(entry.version),
            actor: entry.actor.to_string(),
            at: micros(entry.at),
            changes: to_json(op, "history changes", &changes)?,
            comment: entry.comment.as_ref().map(|c| c.as_str().to_owned()),
        })
    }

    pub(crate) fn into_entry(self, op: &'static str) -> Result<HistoryEntry, StorageError> {
        let stored: Vec<StoredChange> = from_json(op, "history changes", &self.changes)?;
        let changes = stored
            .into_iter()
            .map(|c| {
                Ok(FieldChange {
                    field: UserField::from_name(&c.field)
                        .ok_or_else(|| crate::error::corrupt(op, "history field name"))?,
                    old: c.old,
                    new: c.new,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(HistoryEntry {
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            user: parse(op, "user id", UserId::parse(&self.user_id))?,
            version: version_value(op, self.version)?,
            actor: ActorRef::parse(&self.actor)
                .ok_or_else(|| crate::error::corrupt(op, "history actor"))?,
            at: from_micros(op, self.at)?,
            changes,
            comment: self
                .comment
                .as_deref()
                .map(|c| parse(op, "history comment", ChangeComment::parse(c)))
                .transpose()?,
        })
    }
}

/// Write the user's derived index rows; on update, bring the old ones in
/// line. Roles and organizations change only where they differ: their
/// rows feed the `user_counts` triggers, and a change of a first name must
/// not touch (and lock) the counts of every role the user holds.
fn write_index_rows(
    conn: &mut AnyConnection,
    user: &User,
    tenant: &str,
    id: &str,
    replace: bool,
) -> QueryResult<()> {
    let roles: BTreeSet<&str> = user.roles.iter().map(|role| role.as_str()).collect();
    let organizations: BTreeSet<&str> = user
        .memberships
        .iter()
        .map(|m| m.organization.as_str())
        .collect();
    let (mut stored_roles, mut stored_organizations) = (Vec::new(), Vec::new());
    if replace {
        // By the whole key: another tenant may have a user with the same id.
        stored_roles = user_roles::table
            .filter(user_roles::tenant_id.eq(tenant))
            .filter(user_roles::user_id.eq(id))
            .select(user_roles::role)
            .load::<String>(conn)?;
        let gone: Vec<&str> = stored_roles
            .iter()
            .map(String::as_str)
            .filter(|role| !roles.contains(role))
            .collect();
        if !gone.is_empty() {
            diesel::delete(
                user_roles::table
                    .filter(user_roles::tenant_id.eq(tenant))
                    .filter(user_roles::user_id.eq(id))
                    .filter(user_roles::role.eq_any(gone)),
            )
            .execute(conn)?;
        }
        stored_organizations = user_organizations::table
            .filter(user_organizations::tenant_id.eq(tenant))
            .filter(user_organizations::user_id.eq(id))
            .select(user_organizations::organization)
            .load::<String>(conn)?;
        let gone: Vec<&str> = stored_organizations
            .iter()
            .map(String::as_str)
            .filter(|organization| !organizations.contains(organization))
            .collect();
        if !gone.is_empty() {
            diesel::delete(
                user_organizations::table
                    .filter(user_organizations::tenant_id.eq(tenant))
                    .filter(user_organizations::user_id.eq(id))
                    .filter(user_organizations::organization.eq_any(gone)),
            )
            .execute(conn)?;
        }
        diesel::delete(
            user_attributes::table
                .filter(user_attributes::tenant_id.eq(tenant))
                .filter(user_attributes::user_id.eq(id)),
        )
        .execute(conn)?;
    }
    // Row by row: diesel's multi-row INSERT is not available on SQLite
    // through MultiConnection, and a user has a handful of these at most.
    for role in user.roles.iter() {
        if stored_roles.iter().any(|stored| stored == role.as_str()) {
            continue;
        }
        diesel::insert_into(user_roles::table)
            .values(RoleRow {
                tenant_id: tenant,
                user_id: id,
                role: role.as_str(),
            })
            .execute(conn)?;
    }
    for organization in organizations {
        if stored_organizations
            .iter()
            .any(|stored| stored == organization)
        {
            continue;
        }
        diesel::insert_into(user_organizations::table)
            .values(OrganizationRow {
                tenant_id: tenant,
                user_id: id,
                organization,
            })
            .execute(conn)?;
    }
    for (name, value) in user.attributes.iter() {
        diesel::insert_into(user_attributes::table)
            .values(AttributeRow {
                tenant_id: tenant,
                user_id: id,
                name: name.as_str(),
                value: value.as_str(),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Serialise the writers that may remove a tenant's last active
/// administrator. PostgreSQL: lock the tenant row until commit, so two such
/// writes cannot both pass the check after them. SQLite: `BEGIN IMMEDIATE`
/// already serialises every writer.
fn lock_tenant(conn: &mut AnyConnection, tenant: &str) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        tenants::table
            .filter(tenants::id.eq(tenant))
            .select(tenants::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

fn select_user(
    conn: &mut AnyConnection,
    op: &'static str,
    tenant: TenantId,
    filter: impl FnOnce(
        users::BoxedQuery<'static, crate::connection::MultiBackend>,
    ) -> users::BoxedQuery<'static, crate::connection::MultiBackend>,
) -> Result<Option<User>, StorageError> {
    let query = users::table
        .into_boxed()
        .filter(users::tenant_id.eq(tenant.to_string()));
    let row: Option<UserRow> = filter(query)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map_err(|e| failure(op, &e))?;
    row.map(|r| r.into_user(op)).transpose()
}

/// A user update with its rows made, ready to write in a transaction.
pub(crate) struct PreparedUpdate<'a> {
    update: &'a UserUpdate,
    tenant: String,
    id: String,
    changes: UserChangeset<'a>,
    skeleton: Option<String>,
    history: HistoryRow,
}

impl<'a> PreparedUpdate<'a> {
    pub(crate) fn of(op: &'static str, update: &'a UserUpdate) -> Result<Self, StorageError> {
        let user = &update.user;
        Ok(Self {
            update,
            tenant: user.tenant.to_string(),
            id: user.id.to_string(),
            changes: UserChangeset::of(op, user)?,
            skeleton: Some(user.username.skeleton().as_str().to_owned()),
            history: HistoryRow::of(op, user, &update.history)?,
        })
    }
}

/// Write a change (row, index rows, history, session revocation) inside the
/// caller's transaction; refused when the stored version is not the
/// expected one.
pub(crate) fn write_update(
    conn: &mut AnyConnection,
    op: &'static str,
    prepared: &PreparedUpdate<'_>,
) -> Result<(), TxError<UpdateUserError>> {
    let PreparedUpdate {
        update,
        tenant,
        id,
        changes,
        skeleton,
        history,
    } = prepared;
    let user = &update.user;
    let expected = version_column(update.expected_version);
    if update.removes_active_admin {
        lock_tenant(conn, tenant)?;
    }
    let updated = diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant))
            .filter(users::id.eq(id))
            .filter(users::version.eq(expected)),
    )
    .set((
        changes,
        // The username's skeleton, except for a row that has none
        // and keeps its username key: the backfill left it NULL
        // because it looks like another user's (both existed before
        // skeletons did). Writing it would make every later change
        // of that user, even of a first name, fail as "username
        // taken"; it stays NULL until the username itself changes.
        // SET reads the row as it was before this UPDATE.
        users::username_skeleton.eq(diesel::dsl::case_when(
            users::username_skeleton
                .is_null()
                .and(users::username_key.eq(&changes.username_key)),
            users::username_skeleton,
        )
        .otherwise(skeleton.clone().into_sql::<Nullable<Text>>())),
    ))
    .execute(conn)?;
    if updated == 0 {
        let current: Option<i64> = users::table
            .filter(users::tenant_id.eq(tenant))
            .filter(users::id.eq(id))
            .select(users::version)
            .first(conn)
            .optional()?;
        return Err(TxError::Op(match current {
            None => UpdateUserError::NotFound,
            Some(current) => match version_value(op, current) {
                Ok(current) => UpdateUserError::Stale { current },
                Err(e) => UpdateUserError::Storage(e),
            },
        }));
    }
    write_index_rows(conn, user, tenant, id, true)?;
    diesel::insert_into(user_history::table)
        .values(history)
        .execute(conn)?;
    if update.revoke_sessions {
        credentials::revoke_sessions(conn, tenant, id, micros(user.updated_at))?;
    }
    if update.removes_active_admin && list::count_active_admins(conn, tenant)? == 0 {
        return Err(TxError::Op(UpdateUserError::LastActiveAdmin));
    }
    Ok(())
}

impl UserRepository for Store {
    fn create_user(&self, user: &User, history: &HistoryEntry) -> Result<(), CreateUserError> {
        const OP: &str = "create user";
        let row = NewUserRow::of(OP, user)?;
        let history = HistoryRow::of(OP, user, history)?;
        let mut conn = self.conn(OP)?;
        let result = write_tx::<_, Infallible>(&mut conn, |conn| {
            diesel::insert_into(users::table)
                .values(&row)
                .execute(conn)?;
            write_index_rows(conn, user, &row.tenant_id, &row.id, false)?;
            diesel::insert_into(user_history::table)
                .values(&history)
                .execute(conn)?;
            Ok(())
        });
        if result.is_ok() {
            self.history_committed();
        }
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => {
                if let Some(field) = unique_field(&e) {
                    CreateUserError::Conflict(field)
                } else if is_unique_violation(
                    &e,
                    "user_history_pkey",
                    "user_history.tenant_id, user_history.user_id, user_history.version",
                ) {
                    // The id was purged but its history stays: reusing it
                    // would mix two users' audit trails, so it stays taken.
                    CreateUserError::Conflict(UniqueField::Id)
                } else if is_foreign_key_violation(&e) {
                    // The only reference a new user row makes is to its tenant.
                    CreateUserError::TenantNotFound
                } else {
                    CreateUserError::Storage(failure(OP, &e))
                }
            }
        })
    }

    fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StorageError> {
        const OP: &str = "get user";
        let mut conn = self.conn(OP)?;
        select_user(&mut conn, OP, tenant, |q| {
            q.filter(users::id.eq(id.to_string()))
        })
    }

    fn find_user_by_username(
        &self,
        tenant: TenantId,
        key: &UsernameKey,
    ) -> Result<Option<User>, StorageError> {
        const OP: &str = "find user by username";
        let mut conn = self.conn(OP)?;
        let key = key.as_str().to_owned();
        select_user(&mut conn, OP, tenant, |q| {
            q.filter(users::username_key.eq(key))
        })
    }

    fn find_user_by_email(
        &self,
        tenant: TenantId,
        key: &EmailKey,
    ) -> Result<Option<User>, StorageError> {
        const OP: &str = "find user by email";
        let mut conn = self.conn(OP)?;
        let key = key.as_str().to_owned();
        select_user(&mut conn, OP, tenant, |q| {
            q.filter(users::email_key.eq(key))
        })
    }

    fn update_user(&self, update: &UserUpdate) -> Result<(), UpdateUserError> {
        const OP: &str = "update user";
        let prepared = PreparedUpdate::of(OP, update)?;
        let mut conn = self.conn(OP)?;
        let result = write_tx(&mut conn, |conn| write_update(conn, OP, &prepared));
        if result.is_ok() {
            self.history_committed();
        }
        result.map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => match unique_field(&e) {
                Some(field) => UpdateUserError::Conflict(field),
                None => UpdateUserError::Storage(failure(OP, &e)),
            },
        })
    }

    fn purge_user(&self, tenant: TenantId, id: UserId) -> Result<(), PurgeUserError> {
        const OP: &str = "purge user";
        let tenant = tenant.to_string();
        let id = id.to_string();
        let mut conn = self.conn(OP)?;
        // Roles, organizations and sessions go with the row (ON DELETE
        // CASCADE); the history has no foreign key and stays.
        let result = write_tx(&mut conn, |conn| {
            let deleted = diesel::delete(
                users::table
                    .filter(users::tenant_id.eq(&tenant))
                    .filter(users::id.eq(&id)),
            )
            .execute(conn)?;
            if deleted == 0 {
                return Err(TxError::Op(PurgeUserError::NotFound));
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => PurgeUserError::Storage(failure(OP, &e)),
        })
    }

    fn list_users(&self, tenant: TenantId, query: &UserQuery) -> Result<UserPage, ListUsersError> {
        let mut conn = self.conn("list users")?;
        list::list_users(&mut conn, tenant, query)
    }

    fn count_active_admins(&self, tenant: TenantId) -> Result<u64, StorageError> {
        const OP: &str = "count active admins";
        let mut conn = self.conn(OP)?;
        list::count_active_admins(&mut conn, &tenant.to_string()).map_err(|e| failure(OP, &e))
    }

    fn record_authentication(
        &self,
        tenant: TenantId,
        id: UserId,
        authentication: &LastAuthentication,
    ) -> Result<(), StorageError> {
        const OP: &str = "record authentication";
        let mut conn = self.conn(OP)?;
        // Not a change of the user: no version bump, no history entry.
        let result = write_tx::<_, Infallible>(&mut conn, |conn| {
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.to_string()))
                    .filter(users::id.eq(id.to_string())),
            )
            .set((
                users::last_auth_at.eq(Some(micros(authentication.at))),
                users::last_auth_valid_until.eq(Some(micros(authentication.valid_until))),
                users::last_auth_location.eq(authentication.location.as_ref().map(|l| l.as_str())),
            ))
            .execute(conn)?;
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => failure(OP, &e),
        })
    }
}

impl HistoryRepository for Store {
    fn user_history(
        &self,
        tenant: TenantId,
        id: UserId,
    ) -> Result<Vec<HistoryEntry>, StorageError> {
        const OP: &str = "user history";
        let mut conn = self.conn(OP)?;
        let rows: Vec<HistoryRow> = user_history::table
            .filter(user_history::tenant_id.eq(tenant.to_string()))
            .filter(user_history::user_id.eq(id.to_string()))
            .order(user_history::version.asc())
            .select(HistoryRow::as_select())
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter().map(|r| r.into_entry(OP)).collect()
    }
}

/// How many rows the skeleton backfill reads and writes per transaction:
/// small enough that a batch holds its locks briefly on a live database.
const BACKFILL_BATCH: i64 = 500;

/// How often a batch is retried when a concurrent write took one of its
/// skeletons between the check and the update.
const BACKFILL_RETRIES: usize = 3;

/// A user without a skeleton, as the backfill reads it.
#[derive(Debug, Queryable)]
struct MissingSkeleton {
    tenant_id: String,
    id: String,
    created_at: i64,
    username: String,
}

/// What the backfill did with one row.
#[derive(Debug)]
enum Backfilled {
    Filled,
    /// Another user of the tenant holds this skeleton (that user's id).
    LooksLike(String),
    /// The stored username no longer passes `Username::parse`.
    Refused,
    /// The row changed since it was read (deleted, or given a skeleton).
    Gone,
}

/// What a backfill run did, for the log and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackfillReport {
    pub filled: u64,
    pub look_alikes: u64,
    pub refused: u64,
}

/// Fill `users.username_skeleton` where it is NULL: rows written before the
/// column existed (SQL cannot compute a skeleton), or set to NULL on
/// purpose to have them recomputed after the confusables data changed.
///
/// Oldest user first within each tenant, so that when two existing users
/// look alike the older one keeps the name: the younger one's skeleton
/// stays NULL (NULLs never collide), it stays usable, and a warning names
/// both ids for an operator to rename one. A stored username that the
/// current rules refuse (it holds an invisible or bidi character) gets no
/// skeleton and a warning too. Never fails: a database error stops the
/// run with an error in the log, and the next run (every `migrate`) goes
/// on where rows are still NULL. Logs ids only, never a username.
pub(crate) fn backfill_username_skeletons(conn: &mut AnyConnection) -> BackfillReport {
    let mut report = BackfillReport::default();
    let mut after: Option<(String, i64, String)> = None;
    loop {
        let batch = match missing_skeletons(conn, after.as_ref()) {
            Ok(batch) => batch,
            Err(e) => {
                log::error!("storage: migrate: cannot read users without a username skeleton: {e}");
                break;
            }
        };
        let Some(last) = batch.last() else { break };
        let next = (last.tenant_id.clone(), last.created_at, last.id.clone());
        let Some(outcomes) = fill_batch(conn, &batch) else {
            break;
        };
        for (row, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Backfilled::Filled => report.filled += 1,
                Backfilled::LooksLike(holder) => {
                    report.look_alikes += 1;
                    log::warn!(
                        "storage: migrate: user {} of tenant {} has a username that looks like \
                         that of user {holder}; it stays usable but unprotected against \
                         look-alikes until one of the two is renamed",
                        row.id,
                        row.tenant_id
                    );
                }
                Backfilled::Refused => {
                    report.refused += 1;
                    log::warn!(
                        "storage: migrate: user {} of tenant {} has a username that the current \
                         rules refuse (invisible, format or bidi characters); the user cannot be \
                         read until the row is renamed (see docs/storage.md)",
                        row.id,
                        row.tenant_id
                    );
                }
                Backfilled::Gone => {}
            }
        }
        after = Some(next);
    }
    if report != BackfillReport::default() {
        log::info!(
            "storage: migrate: username skeletons: {} filled, {} look-alikes left empty, {} refused usernames left empty",
            report.filled,
            report.look_alikes,
            report.refused
        );
    }
    report
}

/// The next batch of users without a skeleton after `after`, in
/// (tenant, creation time, id) order: the `users_missing_skeleton` index.
fn missing_skeletons(
    conn: &mut AnyConnection,
    after: Option<&(String, i64, String)>,
) -> QueryResult<Vec<MissingSkeleton>> {
    let mut query = users::table
        .filter(users::username_skeleton.is_null())
        .select((
            users::tenant_id,
            users::id,
            users::created_at,
            users::username,
        ))
        .order((
            users::tenant_id.asc(),
            users::created_at.asc(),
            users::id.asc(),
        ))
        .limit(BACKFILL_BATCH)
        .into_boxed::<MultiBackend>();
    if let Some((tenant, created_at, id)) = after {
        query = query.filter(
            users::tenant_id
                .gt(tenant.clone())
                .or(users::tenant_id.eq(tenant.clone()).and(
                    users::created_at.gt(*created_at).or(users::created_at
                        .eq(*created_at)
                        .and(users::id.gt(id.clone()))),
                )),
        );
    }
    query.load(conn)
}

/// Give each row of `batch` its skeleton in one transaction, unless another
/// user of its tenant holds it. `None` when the batch could not be written.
fn fill_batch(conn: &mut AnyConnection, batch: &[MissingSkeleton]) -> Option<Vec<Backfilled>> {
    for _ in 0..BACKFILL_RETRIES {
        let result = write_tx_unqueued::<_, Infallible>(conn, |conn| {
            let mut outcomes = Vec::with_capacity(batch.len());
            for row in batch {
                let Ok(username) = Username::parse(&row.username) else {
                    outcomes.push(Backfilled::Refused);
                    continue;
                };
                let skeleton = username.skeleton().as_str().to_owned();
                let holder: Option<String> = users::table
                    .filter(users::tenant_id.eq(&row.tenant_id))
                    .filter(users::username_skeleton.eq(&skeleton))
                    .select(users::id)
                    .first(conn)
                    .optional()?;
                if let Some(holder) = holder {
                    outcomes.push(Backfilled::LooksLike(holder));
                    continue;
                }
                let updated = diesel::update(
                    users::table
                        .filter(users::tenant_id.eq(&row.tenant_id))
                        .filter(users::id.eq(&row.id))
                        .filter(users::username_skeleton.is_null()),
                )
                .set(users::username_skeleton.eq(&skeleton))
                .execute(conn)?;
                outcomes.push(if updated == 1 {
                    Backfilled::Filled
                } else {
                    Backfilled::Gone
                });
            }
            Ok(outcomes)
        });
        match result {
            Ok(outcomes) => return Some(outcomes),
            Err(TxError::Op(never)) => match never {},
            // A user written by a running node took the skeleton after the
            // check: the batch rolled back; its next try sees that user.
            Err(TxError::Db(e)) if unique_field(&e) == Some(UniqueField::Username) => continue,
            Err(TxError::Db(e)) => {
                log::error!("storage: migrate: cannot fill username skeletons: {e}");
                return None;
            }
        }
    }
    log::error!(
        "storage: migrate: username skeletons: a batch kept conflicting with concurrent writes; the next start retries it"
    );
    None
}
