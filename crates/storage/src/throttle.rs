//! Failed password attempts: [`LoginThrottleRepository`] on the
//! `login_failures` table, so every node counts the same failures.
//!
//! An attempt is one write transaction: lock the login's row (every
//! address together), then the (login, address) row, apply the domain's
//! rule, write the new counts. Every attempt for a login locks the login's
//! row first, so attempts for one login are serialised and two of them
//! never wait on each other's second row (no deadlock). On PostgreSQL the
//! rows are created if missing (`ON CONFLICT DO NOTHING`, which waits for a
//! concurrent insert of the same key) and then locked `FOR UPDATE`; on
//! SQLite `BEGIN IMMEDIATE` already serialises every writer.
//!
//! Forgotten rows are pruned after the attempt, in their own statement that
//! takes only rows no other transaction holds (`SKIP LOCKED`), so pruning
//! never waits and never deadlocks with an attempt.

use std::convert::Infallible;

use diesel::prelude::*;
use time::OffsetDateTime;
use userhub_domain::StorageError;
use userhub_domain::repository::LoginThrottleRepository;
use userhub_domain::throttle::{Failures, ThrottleKey, ThrottlePolicy, Verdict};

use crate::codec::{from_micros, micros};
use crate::connection::{AnyConnection, TxError, write_tx};
use crate::error::failure;
use crate::schema::login_failures;
use crate::store::Store;

/// The most forgotten rows one prune deletes.
const PRUNE_BATCH: i64 = 100;

/// The address of the row that counts every address of a login.
const EVERY_ADDRESS: &str = "";

#[derive(Debug, Insertable)]
#[diesel(table_name = login_failures)]
struct NewRow<'a> {
    tenant_id: &'a str,
    login: &'a str,
    address: &'a str,
    failures: i32,
    last_failure_at: i64,
}

/// Lock the row of (tenant, login, address), creating it (with no
/// failures) if missing; its failures, if any.
fn lock_row(
    conn: &mut AnyConnection,
    tenant: &str,
    login: &str,
    address: &str,
) -> QueryResult<(i32, i64)> {
    let row = NewRow {
        tenant_id: tenant,
        login,
        address,
        failures: 0,
        last_failure_at: 0,
    };
    let find = login_failures::table
        .filter(login_failures::tenant_id.eq(tenant))
        .filter(login_failures::login.eq(login))
        .filter(login_failures::address.eq(address))
        .select((login_failures::failures, login_failures::last_failure_at));
    match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::insert_into(login_failures::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(pg)?;
            find.for_update().first(pg)
        }
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_into(login_failures::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(sqlite)?;
            find.first(sqlite)
        }
    }
}

fn write_row(
    conn: &mut AnyConnection,
    tenant: &str,
    login: &str,
    address: &str,
    failures: Failures,
) -> QueryResult<usize> {
    diesel::update(
        login_failures::table
            .filter(login_failures::tenant_id.eq(tenant))
            .filter(login_failures::login.eq(login))
            .filter(login_failures::address.eq(address)),
    )
    .set((
        login_failures::failures.eq(i32::try_from(failures.count).unwrap_or(i32::MAX)),
        login_failures::last_failure_at.eq(micros(failures.last)),
    ))
    .execute(conn)
}

/// Stored failures as the rule reads them (`None` when there are none, or
/// the row cannot be read back: a count the rule cannot judge is no count).
fn stored(op: &'static str, (count, last): (i32, i64)) -> Option<Failures> {
    let count = u32::try_from(count).ok().filter(|c| *c > 0)?;
    let last = from_micros(op, last).ok()?;
    Some(Failures { count, last })
}

/// Delete up to [`PRUNE_BATCH`] rows whose last failure is before `cutoff`,
/// skipping rows another transaction holds.
fn prune(conn: &mut AnyConnection, cutoff: i64) -> QueryResult<usize> {
    match conn {
        AnyConnection::Postgresql(pg) => diesel::sql_query(
            "DELETE FROM login_failures WHERE ctid IN (\
                 SELECT ctid FROM login_failures WHERE last_failure_at < $1 \
                 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind::<diesel::sql_types::BigInt, _>(cutoff)
        .bind::<diesel::sql_types::BigInt, _>(PRUNE_BATCH)
        .execute(pg),
        AnyConnection::Sqlite(sqlite) => diesel::sql_query(
            "DELETE FROM login_failures WHERE rowid IN (\
                 SELECT rowid FROM login_failures WHERE last_failure_at < ? LIMIT ?)",
        )
        .bind::<diesel::sql_types::BigInt, _>(cutoff)
        .bind::<diesel::sql_types::BigInt, _>(PRUNE_BATCH)
        .execute(sqlite),
    }
}

impl LoginThrottleRepository for Store {
    fn take_login_attempt(
        &self,
        key: &ThrottleKey,
        policy: &ThrottlePolicy,
        now: OffsetDateTime,
    ) -> Result<Verdict, StorageError> {
        const OP: &str = "take login attempt";
        let tenant = key.tenant.to_string();
        let address = key.address_key();
        let mut conn = self.conn(OP)?;
        let verdict = write_tx::<_, Infallible>(&mut conn, |conn| {
            let per_login = lock_row(conn, &tenant, &key.login, EVERY_ADDRESS)?;
            let per_address = lock_row(conn, &tenant, &key.login, &address)?;
            let verdict = policy.decide(stored(OP, per_address), stored(OP, per_login), now);
            if let Verdict::Allowed {
                per_address,
                per_login,
            } = verdict
            {
                write_row(conn, &tenant, &key.login, EVERY_ADDRESS, per_login)?;
                write_row(conn, &tenant, &key.login, &address, per_address)?;
            }
            Ok(verdict)
        })
        .map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => failure(OP, &e),
        })?;
        // Housekeeping: a failed prune only leaves rows for the next one.
        let cutoff = micros(now - policy.forget_after);
        if let Err(e) = prune(&mut conn, cutoff) {
            log::warn!("storage: prune login failures failed: {e}");
        }
        Ok(verdict)
    }

    fn clear_login_failures(&self, key: &ThrottleKey) -> Result<(), StorageError> {
        const OP: &str = "clear login failures";
        let tenant = key.tenant.to_string();
        let address = key.address_key();
        let mut conn = self.conn(OP)?;
        // The login's row first, as an attempt locks them.
        write_tx::<_, Infallible>(&mut conn, |conn| {
            for address in [EVERY_ADDRESS, &address] {
                diesel::delete(
                    login_failures::table
                        .filter(login_failures::tenant_id.eq(&tenant))
                        .filter(login_failures::login.eq(&key.login))
                        .filter(login_failures::address.eq(address)),
                )
                .execute(conn)?;
            }
            Ok(())
        })
        .map(drop)
        .map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => failure(OP, &e),
        })
    }
}
