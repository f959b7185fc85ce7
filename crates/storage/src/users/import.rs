//! [`ImportRepository`]: a batch of imported users, written in one
//! transaction.
//!
//! A batch reserves its history rows' change-feed positions with one
//! UPDATE of the tenant's `tenant_feed` row and writes them in the rows
//! (the feed trigger's one UPDATE a row made each row slower than the
//! last). PostgreSQL gets one multi-row `INSERT` per table for the whole
//! batch (users, roles, organizations, attributes, history); SQLite, whose
//! multi-row insert diesel's `MultiConnection` does not offer, one
//! statement per row, all of them prepared once and reused (diesel caches
//! them) inside the one `BEGIN IMMEDIATE` transaction, which is what makes
//! SQLite fast. If the batch fails on a unique key (a user already there,
//! two lines naming the same user), it is retried line by line, each line
//! in a savepoint of the same transaction, so that a taken line refuses
//! only itself and nothing is half-written.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
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

/// A history row written with its feed position (reserved by
/// [`reserve_feed`]), so the feed trigger leaves it as it is.
#[derive(Insertable)]
#[diesel(table_name = user_history)]
struct NumberedHistoryRow {
    #[diesel(embed)]
    entry: HistoryRow,
    feed_seq: i64,
}

#[derive(QueryableByName)]
struct LastSeq {
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
}

/// Take the next `count` positions of `tenant`'s change feed at once: one
/// UPDATE of its `tenant_feed` row (whose lock, held to the commit, keeps
/// positions in commit order, as the trigger's per-row UPDATE does). The
/// first position reserved.
fn reserve_feed(conn: &mut AnyConnection, tenant: &str, count: usize) -> QueryResult<i64> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let reserved: LastSeq = match conn {
        AnyConnection::Postgresql(pg) => diesel::sql_query(
            "INSERT INTO tenant_feed AS f (tenant_id, last_seq) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET last_seq = f.last_seq + EXCLUDED.last_seq \
             RETURNING f.last_seq",
        )
        .bind::<Text, _>(tenant)
        .bind::<BigInt, _>(count)
        .get_result(pg)?,
        AnyConnection::Sqlite(sqlite) => diesel::sql_query(
            "INSERT INTO tenant_feed (tenant_id, last_seq) VALUES (?, ?) \
             ON CONFLICT (tenant_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq \
             RETURNING last_seq",
        )
        .bind::<Text, _>(tenant)
        .bind::<BigInt, _>(count)
        .get_result(sqlite)?,
    };
    Ok(reserved.last_seq - count + 1)
}

/// Every line at once, with the feed positions reserved in one go:
/// multi-row statements on PostgreSQL; on SQLite one prepared statement a
/// row (diesel's `MultiConnection` has no multi-row insert for it).
fn insert_batch(conn: &mut AnyConnection, lines: &[Prepared<'_>]) -> QueryResult<()> {
    let Some(first) = lines.first() else {
        return Ok(());
    };
    let first_seq = reserve_feed(conn, &first.row.tenant_id, lines.len())?;
    let pg = match conn {
        AnyConnection::Postgresql(pg) => pg,
        AnyConnection::Sqlite(_) => {
            for (line, seq) in lines.iter().zip(first_seq..) {
                insert_line(conn, line, Some(seq))?;
            }
            return Ok(());
        }
    };
    for (chunk_index, chunk) in lines.chunks(ROWS_PER_STATEMENT).enumerate() {
        let chunk_seq = first_seq + i64::try_from(chunk_index * ROWS_PER_STATEMENT).unwrap_or(0);
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
        let history: Vec<NumberedHistoryRow> = chunk
            .iter()
            .zip(chunk_seq..)
            .map(|(l, feed_seq)| NumberedHistoryRow {
                entry: l.history.clone(),
                feed_seq,
            })
            .collect();
        diesel::insert_into(user_history::table)
            .values(history)
            .execute(pg)?;
    }
    Ok(())
}

/// One line: what `create_user` writes; its history row at `feed_seq`
/// when the batch reserved it one, else numbered by the feed trigger.
fn insert_line(
    conn: &mut AnyConnection,
    line: &Prepared<'_>,
    feed_seq: Option<i64>,
) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(&line.row)
        .execute(conn)?;
    write_index_rows(conn, line.user, &line.row.tenant_id, &line.row.id, false)?;
    match feed_seq {
        Some(feed_seq) => diesel::insert_into(user_history::table)
            .values(NumberedHistoryRow {
                entry: line.history.clone(),
                feed_seq,
            })
            .execute(conn)?,
        None => diesel::insert_into(user_history::table)
            .values(&line.history)
            .execute(conn)?,
    };
    Ok(())
}

/// Each line in its own savepoint: a taken one is answered, not written.
fn insert_each(
    conn: &mut AnyConnection,
    lines: &[Prepared<'_>],
) -> QueryResult<Vec<Result<(), UniqueField>>> {
    let mut answers = Vec::with_capacity(lines.len());
    for line in lines {
        match conn.transaction(|conn| insert_line(conn, line, None)) {
            Ok(()) => answers.push(Ok(())),
            Err(error) => match taken(&error) {
                Some(field) => answers.push(Err(field)),
                None => return Err(error),
            },
        }
    }
    Ok(answers)
}

/// SQLite while it writes an import batch. `synchronous = NORMAL` in WAL
/// mode: a commit no longer waits for the disk (the WAL is synced at
/// checkpoints); a crash of the process loses nothing, a power cut may
/// lose the last batches committed but never leaves the database
/// inconsistent, and running the import again with `--on-conflict skip`
/// (what resuming is anyway) writes them again. (PostgreSQL's counterpart
/// is `synchronous_commit = off` for the batch's transaction.) The larger page cache
/// (64 MiB, bounded: memory stays flat) keeps the indexes' upper pages
/// that every row of a batch descends through.
const IMPORT_PRAGMAS: &str = "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;";

/// What every other write on the connection expects (see
/// `connection.rs`); SQLite's default page cache.
const USUAL_PRAGMAS: &str = "PRAGMA synchronous = FULL; PRAGMA cache_size = -2000;";

/// Apply `pragmas` on a SQLite connection (nothing on PostgreSQL).
fn tune_sqlite(conn: &mut AnyConnection, pragmas: &str) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(sqlite) => sqlite.batch_execute(pragmas),
        AnyConnection::Postgresql(_) => Ok(()),
    }
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
        tune_sqlite(&mut conn, IMPORT_PRAGMAS).map_err(|e| failure(OP, &e))?;
        let result = write_tx::<_, Discard>(&mut conn, |conn| {
            if let AnyConnection::Postgresql(pg) = conn {
                // This transaction's commit does not wait for its WAL to
                // reach the disk: see IMPORT_PRAGMAS for why that is safe
                // for an import (the server's crash may lose the last
                // batches committed, never half of one).
                pg.batch_execute("SET LOCAL synchronous_commit = off")?;
            }
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
        if let Err(error) = tune_sqlite(&mut conn, USUAL_PRAGMAS) {
            // The connection is most likely broken; the batch's outcome
            // stands either way.
            log::error!("storage: {OP}: cannot restore the connection's settings: {error}");
        }
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
