//! Groups ([`GroupRepository`]): the `organizations` rows, and their
//! members, the users whose `user_organizations` rows name them.
//!
//! A group write and the member users' updates it carries are one
//! transaction: the group row (refused when its version moved), then each
//! user's row, index rows and history entry (refused when the user's
//! version moved, so the domain recomputes on the newer state).

use diesel::dsl::exists;
use diesel::prelude::*;
use userhub_domain::group::{
    Group, GroupMember, GroupPage, GroupQuery, GroupRepository, GroupSort, GroupView,
    GroupWriteError,
};
use userhub_domain::query::{Filter, GroupCondition, GroupText, SortDirection, TimeAttr};
use userhub_domain::repository::{UpdateUserError, UserUpdate};
use userhub_domain::types::{
    ExternalId, GroupName, OrganizationId, Status, TenantId, UserId, Username,
};
use userhub_domain::{StorageError, UniqueField};

use crate::codec::{from_micros, micros, parse, version_column, version_value};
use crate::connection::{AnyConnection, MultiBackend, TxError, read_tx, write_tx};
use crate::error::{failure, is_unique_violation};
use crate::list::{Condition, text_condition, time_condition, tree};
use crate::schema::{organizations, user_organizations, users};
use crate::store::Store;
use crate::users::{PreparedUpdate, unique_field, write_update};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, treat_none_as_default_value = false)]
struct GroupRow {
    tenant_id: String,
    id: String,
    display_name: String,
    display_name_key: String,
    external_id: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl GroupRow {
    fn of(group: &Group) -> Self {
        Self {
            tenant_id: group.tenant.to_string(),
            id: group.id.as_str().to_owned(),
            display_name: group.display_name.as_str().to_owned(),
            display_name_key: group.display_name_key(),
            external_id: group.external_id.as_ref().map(|e| e.as_str().to_owned()),
            version: version_column(group.version),
            created_at: micros(group.created_at),
            updated_at: micros(group.updated_at),
        }
    }

    fn into_group(self, op: &'static str) -> Result<Group, StorageError> {
        Ok(Group {
            id: parse(op, "organization id", OrganizationId::parse(&self.id))?,
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            display_name: parse(op, "group name", GroupName::parse(&self.display_name))?,
            external_id: self
                .external_id
                .as_deref()
                .map(|e| parse(op, "external id", ExternalId::parse(e)))
                .transpose()?,
            version: version_value(op, self.version)?,
            created_at: from_micros(op, self.created_at)?,
            updated_at: from_micros(op, self.updated_at)?,
        })
    }
}

/// Which unique key of `organizations` a violation hit.
fn group_unique_field(error: &diesel::result::Error) -> Option<UniqueField> {
    if is_unique_violation(
        error,
        "organizations_tenant_external_id",
        "organizations.tenant_id, organizations.external_id",
    ) {
        Some(UniqueField::ExternalId)
    } else if is_unique_violation(
        error,
        "organizations_tenant_display_name",
        "organizations.tenant_id, organizations.display_name_key",
    ) {
        Some(UniqueField::GroupName)
    } else if is_unique_violation(
        error,
        "organizations_pkey",
        "organizations.tenant_id, organizations.id",
    ) {
        Some(UniqueField::Id)
    } else {
        None
    }
}

/// Write the member users' updates; a user that moved on is a race.
fn write_members(
    conn: &mut AnyConnection,
    op: &'static str,
    members: &[PreparedUpdate<'_>],
) -> Result<(), TxError<GroupWriteError>> {
    for member in members {
        write_update(conn, op, member).map_err(|e| match e {
            TxError::Db(e) => TxError::Db(e),
            TxError::Op(UpdateUserError::Stale { .. } | UpdateUserError::NotFound) => {
                TxError::Op(GroupWriteError::MemberChanged)
            }
            TxError::Op(UpdateUserError::Conflict(field)) => {
                TxError::Op(GroupWriteError::Conflict(field))
            }
            TxError::Op(UpdateUserError::LastActiveAdmin) => {
                TxError::Op(GroupWriteError::MemberChanged)
            }
            TxError::Op(UpdateUserError::Storage(e)) => TxError::Op(GroupWriteError::Storage(e)),
        })?;
    }
    Ok(())
}

fn prepare<'a>(
    op: &'static str,
    members: &'a [UserUpdate],
) -> Result<Vec<PreparedUpdate<'a>>, StorageError> {
    members.iter().map(|m| PreparedUpdate::of(op, m)).collect()
}

fn map_write(op: &'static str, e: TxError<GroupWriteError>) -> GroupWriteError {
    match e {
        TxError::Op(e) => e,
        TxError::Db(e) => match group_unique_field(&e).or_else(|| unique_field(&e)) {
            Some(field) => GroupWriteError::Conflict(field),
            None => GroupWriteError::Storage(failure(op, &e)),
        },
    }
}

/// The group's stored version, for a refused conditional write.
fn stale_or_missing(
    conn: &mut AnyConnection,
    op: &'static str,
    tenant: &str,
    id: &str,
) -> Result<GroupWriteError, diesel::result::Error> {
    let current: Option<i64> = organizations::table
        .filter(organizations::tenant_id.eq(tenant))
        .filter(organizations::id.eq(id))
        .select(organizations::version)
        .first(conn)
        .optional()?;
    Ok(match current {
        None => GroupWriteError::NotFound,
        Some(v) => match version_value(op, v) {
            Ok(current) => GroupWriteError::Stale { current },
            Err(e) => GroupWriteError::Storage(e),
        },
    })
}

fn members_of(
    conn: &mut AnyConnection,
    op: &'static str,
    tenant: &str,
    id: &str,
) -> Result<Vec<GroupMember>, TxError<StorageError>> {
    let rows: Vec<(String, String)> = users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::status.ne(Status::Deleted.as_str()))
        .filter(exists(
            user_organizations::table
                .filter(user_organizations::tenant_id.eq(tenant))
                .filter(user_organizations::organization.eq(id))
                .filter(user_organizations::tenant_id.eq(users::tenant_id))
                .filter(user_organizations::user_id.eq(users::id)),
        ))
        .order(users::id.asc())
        .select((users::id, users::username))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, username)| {
            Ok(GroupMember {
                id: parse(op, "user id", UserId::parse(&id)).map_err(TxError::Op)?,
                username: parse(op, "username", Username::parse(&username)).map_err(TxError::Op)?,
            })
        })
        .collect()
}

fn tx_storage(op: &'static str, e: TxError<StorageError>) -> StorageError {
    match e {
        TxError::Op(e) => e,
        TxError::Db(e) => failure(op, &e),
    }
}

fn group_condition(condition: &GroupCondition) -> Condition<organizations::table> {
    match condition {
        GroupCondition::Text { attr, op, value } => {
            let value = value.clone();
            match attr {
                GroupText::DisplayName => text_condition!(
                    organizations::table,
                    organizations::display_name_key.nullable(),
                    op,
                    value
                ),
                GroupText::ExternalId => {
                    text_condition!(organizations::table, organizations::external_id, op, value)
                }
            }
        }
        GroupCondition::Present(GroupText::DisplayName) => {
            Box::new(organizations::id.is_not_null())
        }
        GroupCondition::Present(GroupText::ExternalId) => {
            Box::new(organizations::external_id.is_not_null())
        }
        GroupCondition::Time { attr, op, value } => match attr {
            TimeAttr::Created => time_condition!(
                organizations::table,
                organizations::created_at,
                op,
                micros(*value)
            ),
            TimeAttr::Updated => time_condition!(
                organizations::table,
                organizations::updated_at,
                op,
                micros(*value)
            ),
        },
    }
}

type BoxedGroups<'a, ST> = organizations::BoxedQuery<'a, MultiBackend, ST>;

fn filtered<'a, ST: 'a>(
    q: BoxedGroups<'a, ST>,
    tenant: &str,
    filter: Option<&Filter<GroupCondition>>,
) -> BoxedGroups<'a, ST> {
    let q = q.filter(organizations::tenant_id.eq(tenant.to_owned()));
    match filter {
        Some(filter) => q.filter(tree(filter, &group_condition)),
        None => q,
    }
}

impl GroupRepository for Store {
    fn create_group(&self, group: &Group, members: &[UserUpdate]) -> Result<(), GroupWriteError> {
        const OP: &str = "create group";
        let row = GroupRow::of(group);
        let members = prepare(OP, members)?;
        let mut conn = self.conn(OP)?;
        write_tx(&mut conn, |conn| {
            diesel::insert_into(organizations::table)
                .values(&row)
                .execute(conn)?;
            write_members(conn, OP, &members)
        })
        .map_err(|e| map_write(OP, e))?;
        // The members' history entries feed the change feed.
        self.history_committed();
        Ok(())
    }

    fn get_group(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
    ) -> Result<Option<Group>, StorageError> {
        const OP: &str = "get group";
        let mut conn = self.conn(OP)?;
        let row: Option<GroupRow> = organizations::table
            .filter(organizations::tenant_id.eq(tenant.to_string()))
            .filter(organizations::id.eq(id.as_str()))
            .select(GroupRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(|e| failure(OP, &e))?;
        row.map(|r| r.into_group(OP)).transpose()
    }

    fn group_members(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
    ) -> Result<Vec<GroupMember>, StorageError> {
        const OP: &str = "group members";
        let mut conn = self.conn(OP)?;
        members_of(&mut conn, OP, &tenant.to_string(), id.as_str()).map_err(|e| tx_storage(OP, e))
    }

    fn list_groups(&self, tenant: TenantId, query: &GroupQuery) -> Result<GroupPage, StorageError> {
        const OP: &str = "list groups";
        let tenant = tenant.to_string();
        let mut conn = self.conn(OP)?;
        // The page, its members and its total from one snapshot.
        read_tx(&mut conn, |conn| {
            let mut page = filtered(
                organizations::table.into_boxed(),
                &tenant,
                query.filter.as_ref(),
            )
            .select(GroupRow::as_select());
            page = match (query.sort, query.direction) {
                (GroupSort::Created, SortDirection::Ascending) => {
                    page.order((organizations::created_at.asc(), organizations::id.asc()))
                }
                (GroupSort::Created, SortDirection::Descending) => {
                    page.order((organizations::created_at.desc(), organizations::id.desc()))
                }
                (GroupSort::DisplayName, SortDirection::Ascending) => {
                    page.order(organizations::display_name_key.asc())
                }
                (GroupSort::DisplayName, SortDirection::Descending) => {
                    page.order(organizations::display_name_key.desc())
                }
            };
            let rows: Vec<GroupRow> = if query.limit == 0 {
                Vec::new()
            } else {
                page.offset(i64::try_from(query.offset).unwrap_or(i64::MAX))
                    .limit(i64::from(query.limit))
                    .load(conn)?
            };
            let mut groups = Vec::with_capacity(rows.len());
            for row in rows {
                let group = row.into_group(OP).map_err(TxError::Op)?;
                let members = members_of(conn, OP, &tenant, group.id.as_str())?;
                groups.push(GroupView { group, members });
            }
            let total: i64 = filtered(
                organizations::table
                    .select(diesel::dsl::count_star())
                    .into_boxed(),
                &tenant,
                query.filter.as_ref(),
            )
            .get_result(conn)?;
            Ok(GroupPage {
                groups,
                total: u64::try_from(total).unwrap_or(0),
            })
        })
        .map_err(|e| tx_storage(OP, e))
    }

    fn update_group(
        &self,
        group: &Group,
        expected_version: u64,
        members: &[UserUpdate],
    ) -> Result<(), GroupWriteError> {
        const OP: &str = "update group";
        let row = GroupRow::of(group);
        let members = prepare(OP, members)?;
        let expected = version_column(expected_version);
        let mut conn = self.conn(OP)?;
        write_tx(&mut conn, |conn| {
            let updated = diesel::update(
                organizations::table
                    .filter(organizations::tenant_id.eq(&row.tenant_id))
                    .filter(organizations::id.eq(&row.id))
                    .filter(organizations::version.eq(expected)),
            )
            .set((
                organizations::display_name.eq(&row.display_name),
                organizations::display_name_key.eq(&row.display_name_key),
                organizations::external_id.eq(&row.external_id),
                organizations::version.eq(row.version),
                organizations::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
            if updated == 0 {
                return Err(TxError::Op(stale_or_missing(
                    conn,
                    OP,
                    &row.tenant_id,
                    &row.id,
                )?));
            }
            write_members(conn, OP, &members)
        })
        .map_err(|e| map_write(OP, e))?;
        // The members' history entries feed the change feed.
        self.history_committed();
        Ok(())
    }

    fn delete_group(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
        expected_version: u64,
        members: &[UserUpdate],
    ) -> Result<(), GroupWriteError> {
        const OP: &str = "delete group";
        let tenant = tenant.to_string();
        let members = prepare(OP, members)?;
        let expected = version_column(expected_version);
        let mut conn = self.conn(OP)?;
        write_tx(&mut conn, |conn| {
            let deleted = diesel::delete(
                organizations::table
                    .filter(organizations::tenant_id.eq(&tenant))
                    .filter(organizations::id.eq(id.as_str()))
                    .filter(organizations::version.eq(expected)),
            )
            .execute(conn)?;
            if deleted == 0 {
                return Err(TxError::Op(stale_or_missing(
                    conn,
                    OP,
                    &tenant,
                    id.as_str(),
                )?));
            }
            write_members(conn, OP, &members)
        })
        .map_err(|e| map_write(OP, e))?;
        // The members' history entries feed the change feed.
        self.history_committed();
        Ok(())
    }
}
