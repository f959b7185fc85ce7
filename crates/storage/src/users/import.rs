//! [`ImportRepository`]: a batch of imported users, written in one
//! transaction.
//!
//! PostgreSQL gets one multi-row `INSERT` per table for the whole batch
//! (users, roles, organizations, attributes, history); SQLite, whose
//! multi-row insert diesel's `MultiConnection` does not offer, one
//! statement per row, all of them prepared once and reused (diesel caches
//! them) inside the one `BEGIN IMMEDIATE` transaction, which is what makes
//! SQLite fast. If the batch fails on a unique key (a user already there,
//! two lines naming the same user), it is retried line by line, each line
//! in a savepoint of the same transaction, so that a taken line refuses
//! only itself and nothing is half-written.

use std::collections::BTreeSet;

use diesel::prelude::*;
use userhub_domain::history::HistoryEntry;
use userhub_domain::import::ImportRepository;
use userhub_domain::types::{Status, TenantId, UserId};
use userhub_domain::{StorageError, UniqueField, User};

use super::{
    AttributeRow, HistoryRow, NewUserRow, OrganizationRow, RoleRow, UserRow, unique_field,
    write_index_rows,
};
use crate::connection::{AnyConnection, MultiBackend, TxError, write_tx};
use crate::error::{failure, is_unique_violation};
use crate::schema::{user_attributes, user_history, user_organizations, user_roles, users};
use crate::store::Store;

/// Rows a multi-row `INSERT` carries at most: PostgreSQL takes 65,535 bound
/// values a statement, and a `users` row has 18.
const ROWS_PER_STATEMENT: usize = 2000;

/// One prepared line: its rows as written.
struct Prepared<'a> {
    user: &'a User,
    row: NewUserRow<'a>,
    history: HistoryRow,
}

/// The taken key a failed insert hit, if that is why it failed.
fn taken(error: &diesel::result::Error) -> Option<UniqueField> {
    unique_field(error).or_else(|| {
        // A purged user's id: its history stays, so the id stays taken.
        is_unique_violation(
            error,
            "user_history_pkey",
            "user_history.tenant_id, user_history.user_id, user_history.version",
        )
        .then_some(UniqueField::Id)
    })
}

/// Every line at once: multi-row statements on PostgreSQL.
fn insert_batch(conn: &mut AnyConnection, lines: &[Prepared<'_>]) -> QueryResult<()> {
    let pg = match conn {
        AnyConnection::Postgresql(pg) => pg,
        AnyConnection::Sqlite(_) => {
            for line in lines {
                insert_line(conn, line)?;
            }
            return Ok(());
        }
    };
    for chunk in lines.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<&NewUserRow<'_>> = chunk.iter().map(|l| &l.row).collect();
        diesel::insert_into(users::table).values(rows).execute(pg)?;
        let mut roles = Vec::new();
        let mut organizations = Vec::new();
        let mut attributes = Vec::new();
        for line in chunk {
            let (tenant, id) = (line.row.tenant_id.as_str(), line.row.id.as_str());
            roles.extend(line.user.roles.iter().map(|role| RoleRow {
                tenant_id: tenant,
                user_id: id,
                role: role.as_str(),
            }));
            let names: BTreeSet<&str> = line
                .user
                .memberships
                .iter()
                .map(|m| m.organization.as_str())
                .collect();
            organizations.extend(names.into_iter().map(|organization| OrganizationRow {
                tenant_id: tenant,
                user_id: id,
                organization,
            }));
            attributes.extend(
                line.user
                    .attributes
                    .iter()
                    .map(|(name, value)| AttributeRow {
                        tenant_id: tenant,
                        user_id: id,
                        name: name.as_str(),
                        value: value.as_str(),
                    }),
            );
        }
        for part in roles.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(user_roles::table)
                .values(part)
                .execute(pg)?;
        }
        for part in organizations.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(user_organizations::table)
                .values(part)
                .execute(pg)?;
        }
        for part in attributes.chunks(ROWS_PER_STATEMENT) {
            diesel::insert_into(user_attributes::table)
                .values(part)
                .execute(pg)?;
        }
        let history: Vec<&HistoryRow> = chunk.iter().map(|l| &l.history).collect();
        diesel::insert_into(user_history::table)
            .values(history)
            .execute(pg)?;
    }
    Ok(())
}

/// One line: what `create_user` writes.
fn insert_line(conn: &mut AnyConnection, line: &Prepared<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(&line.row)
        .execute(conn)?;
    write_index_rows(conn, line.user, &line.row.tenant_id, &line.row.id, false)?;
    diesel::insert_into(user_history::table)
        .values(&line.history)
        .execute(conn)?;
    Ok(())
}

/// Each line in its own savepoint: a taken one is answered, not written.
fn insert_each(
    conn: &mut AnyConnection,
    lines: &[Prepared<'_>],
) -> QueryResult<Vec<Result<(), UniqueField>>> {
    let mut answers = Vec::with_capacity(lines.len());
    for line in lines {
        match conn.transaction(|conn| insert_line(conn, line)) {
            Ok(()) => answers.push(Ok(())),
            Err(error) => match taken(&error) {
                Some(field) => answers.push(Err(field)),
                None => return Err(error),
            },
        }
    }
    Ok(answers)
}

/// What a batch's transaction ends with when nothing is to be kept.
enum Discard {
    DryRun(Vec<Result<(), UniqueField>>),
}

impl ImportRepository for Store {
    fn import_users(
        &self,
        rows: &[(User, HistoryEntry)],
        dry_run: bool,
    ) -> Result<Vec<Result<(), UniqueField>>, StorageError> {
        const OP: &str = "import users";
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let lines = rows
            .iter()
            .map(|(user, history)| {
                Ok(Prepared {
                    user,
                    row: NewUserRow::of(OP, user)?,
                    history: HistoryRow::of(OP, user, history)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let mut conn = self.conn(OP)?;
        let result = write_tx::<_, Discard>(&mut conn, |conn| {
            let answers = match conn.transaction(|conn| insert_batch(conn, &lines)) {
                Ok(()) => vec![Ok(()); lines.len()],
                Err(error) if taken(&error).is_some() => insert_each(conn, &lines)?,
                Err(error) => return Err(TxError::Db(error)),
            };
            if dry_run {
                Err(TxError::Op(Discard::DryRun(answers)))
            } else {
                Ok(answers)
            }
        });
        match result {
            Ok(answers) => {
                self.history_committed();
                Ok(answers)
            }
            Err(TxError::Op(Discard::DryRun(answers))) => Ok(answers),
            Err(TxError::Db(error)) => Err(failure(OP, &error)),
        }
    }

    /// `WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`: a range of the
    /// primary key `(tenant_id, id)`, so each page costs the same however
    /// far into the tenant it is (an offset, or a keyset on the creation
    /// time that imported users share, would not).
    fn export_users(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: u32,
        include_deleted: bool,
    ) -> Result<Vec<User>, StorageError> {
        const OP: &str = "export users";
        let mut query = users::table
            .into_boxed::<MultiBackend>()
            .filter(users::tenant_id.eq(tenant.to_string()))
            .order(users::id.asc())
            .limit(i64::from(limit));
        if let Some(after) = after {
            query = query.filter(users::id.gt(after.to_string()));
        }
        if !include_deleted {
            query = query.filter(users::status.ne(Status::Deleted.as_str()));
        }
        let mut conn = self.conn(OP)?;
        let rows: Vec<UserRow> = query
            .select(UserRow::as_select())
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter().map(|row| row.into_user(OP)).collect()
    }
}
