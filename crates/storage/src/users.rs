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

use std::collections::BTreeSet;
use std::convert::Infallible;

use diesel::prelude::*;
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
    AuthLocation, Email, EmailKey, Status, TenantId, UserId, Username, UsernameKey,
};
use userhub_domain::user::LastAuthentication;
use userhub_domain::{StorageError, UniqueField, User, UserField};

use crate::codec::{from_json, from_micros, micros, parse, to_json, version_column, version_value};
use crate::connection::{AnyConnection, TxError, write_tx};
use crate::error::{failure, is_foreign_key_violation, is_unique_violation, user_unique_field};
use crate::profile::Profile;
use crate::schema::{
    tenants, user_attributes, user_history, user_organizations, user_roles, users,
};
use crate::store::Store;
use crate::{credentials, list};

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
        })
    }
}

/// What an update writes to the `users` row. Not the id, tenant or creation
/// time (immutable), nor the last authentication (owned by
/// `record_authentication`, which a concurrent login may have just written).
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
        })
    }
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

#[derive(Debug, Insertable, Queryable, Selectable)]
#[diesel(table_name = user_history, treat_none_as_default_value = false)]
struct HistoryRow {
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

    fn into_entry(self, op: &'static str) -> Result<HistoryEntry, StorageError> {
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

/// Write the user's derived index rows; on update, replace the old ones.
fn write_index_rows(
    conn: &mut AnyConnection,
    user: &User,
    tenant: &str,
    id: &str,
    replace: bool,
) -> QueryResult<()> {
    if replace {
        // By the whole key: another tenant may have a user with the same id.
        diesel::delete(
            user_roles::table
                .filter(user_roles::tenant_id.eq(tenant))
                .filter(user_roles::user_id.eq(id)),
        )
        .execute(conn)?;
        diesel::delete(
            user_organizations::table
                .filter(user_organizations::tenant_id.eq(tenant))
                .filter(user_organizations::user_id.eq(id)),
        )
        .execute(conn)?;
        diesel::delete(
            user_attributes::table
                .filter(user_attributes::tenant_id.eq(tenant))
                .filter(user_attributes::user_id.eq(id)),
        )
        .execute(conn)?;
    }
    let roles: Vec<RoleRow<'_>> = user
        .roles
        .iter()
        .map(|role| RoleRow {
            tenant_id: tenant,
            user_id: id,
            role: role.as_str(),
        })
        .collect();
    // Row by row: diesel's multi-row INSERT is not available on SQLite
    // through MultiConnection, and a user has a handful of these at most.
    for role in &roles {
        diesel::insert_into(user_roles::table)
            .values(role)
            .execute(conn)?;
    }
    let organizations: BTreeSet<&str> = user
        .memberships
        .iter()
        .map(|m| m.organization.as_str())
        .collect();
    let organizations: Vec<OrganizationRow<'_>> = organizations
        .into_iter()
        .map(|organization| OrganizationRow {
            tenant_id: tenant,
            user_id: id,
            organization,
        })
        .collect();
    for organization in &organizations {
        diesel::insert_into(user_organizations::table)
            .values(organization)
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
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => {
                if let Some(field) = user_unique_field(&e) {
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
        let user = &update.user;
        let tenant = user.tenant.to_string();
        let id = user.id.to_string();
        let changes = UserChangeset::of(OP, user)?;
        let history = HistoryRow::of(OP, user, &update.history)?;
        let expected = version_column(update.expected_version);
        let mut conn = self.conn(OP)?;
        let result = write_tx(&mut conn, |conn| {
            if update.removes_active_admin {
                lock_tenant(conn, &tenant)?;
            }
            let updated = diesel::update(
                users::table
                    .filter(users::tenant_id.eq(&tenant))
                    .filter(users::id.eq(&id))
                    .filter(users::version.eq(expected)),
            )
            .set(&changes)
            .execute(conn)?;
            if updated == 0 {
                let current: Option<i64> = users::table
                    .filter(users::tenant_id.eq(&tenant))
                    .filter(users::id.eq(&id))
                    .select(users::version)
                    .first(conn)
                    .optional()?;
                return Err(TxError::Op(match current {
                    None => UpdateUserError::NotFound,
                    Some(current) => match version_value(OP, current) {
                        Ok(current) => UpdateUserError::Stale { current },
                        Err(e) => UpdateUserError::Storage(e),
                    },
                }));
            }
            write_index_rows(conn, user, &tenant, &id, true)?;
            diesel::insert_into(user_history::table)
                .values(&history)
                .execute(conn)?;
            if update.revoke_sessions {
                credentials::revoke_sessions(conn, &tenant, &id, micros(user.updated_at))?;
            }
            if update.removes_active_admin && list::count_active_admins(conn, &tenant)? == 0 {
                return Err(TxError::Op(UpdateUserError::LastActiveAdmin));
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => match user_unique_field(&e) {
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
