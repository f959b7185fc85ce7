//! The history read page by page, and the change feed:
//! [`FeedRepository`].
//!
//! Each `user_history` row has `feed_seq`, its position in its tenant's
//! feed, set by a trigger from the tenant's row of `tenant_feed` (see the
//! migration `2026-12-02-000020_change_feed_webhooks`): the increment's row
//! lock lasts until the writing transaction ends, so positions follow
//! commit order without gaps, on PostgreSQL as on SQLite (whose writers are
//! serialised by `BEGIN IMMEDIATE`). Reading `feed_seq >= from` in order
//! therefore never passes over a row that commits later.

use diesel::prelude::*;
use userhub_domain::StorageError;
use userhub_domain::feed::FeedRecord;
use userhub_domain::history::HistoryEntry;
use userhub_domain::repository::FeedRepository;
use userhub_domain::types::{TenantId, UserId};

use crate::codec::{version_column, version_value};
use crate::error::failure;
use crate::schema::{tenant_feed, user_history};
use crate::store::Store;
use crate::users::HistoryRow;

fn position(value: u64) -> i64 {
    version_column(value)
}

impl FeedRepository for Store {
    fn user_history_page(
        &self,
        tenant: TenantId,
        id: UserId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, StorageError> {
        const OP: &str = "user history page";
        let mut conn = self.conn(OP)?;
        let mut query = user_history::table
            .filter(user_history::tenant_id.eq(tenant.to_string()))
            .filter(user_history::user_id.eq(id.to_string()))
            .into_boxed::<crate::connection::MultiBackend>();
        if let Some(before) = before {
            query = query.filter(user_history::version.lt(version_column(before)));
        }
        let rows: Vec<HistoryRow> = query
            .order(user_history::version.desc())
            .limit(i64::from(limit))
            .select(HistoryRow::as_select())
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter().map(|r| r.into_entry(OP)).collect()
    }

    fn feed_from(
        &self,
        tenant: TenantId,
        from: u64,
        limit: u32,
    ) -> Result<Vec<FeedRecord>, StorageError> {
        const OP: &str = "read feed";
        let mut conn = self.conn(OP)?;
        let rows: Vec<(HistoryRow, i64)> = user_history::table
            .filter(user_history::tenant_id.eq(tenant.to_string()))
            .filter(user_history::feed_seq.ge(position(from)))
            .order(user_history::feed_seq.asc())
            .limit(i64::from(limit))
            .select((HistoryRow::as_select(), user_history::feed_seq))
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter()
            .map(|(row, seq)| {
                Ok(FeedRecord {
                    position: version_value(OP, seq)?,
                    entry: row.into_entry(OP)?,
                })
            })
            .collect()
    }

    fn feed_head(&self, tenant: TenantId) -> Result<u64, StorageError> {
        const OP: &str = "feed head";
        let mut conn = self.conn(OP)?;
        let last: Option<i64> = tenant_feed::table
            .filter(tenant_feed::tenant_id.eq(tenant.to_string()))
            .select(tenant_feed::last_seq)
            .first(&mut *conn)
            .optional()
            .map_err(|e| failure(OP, &e))?;
        version_value(OP, last.unwrap_or(0))
    }
}
