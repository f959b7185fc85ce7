//! Webhooks and their delivery state: [`WebhookRepository`].
//!
//! A node delivering to a webhook first takes its lease (`lease_id`,
//! `lease_until`) in a short transaction; the HTTP call happens outside any
//! transaction, and its outcome is written only while the lease is still
//! held. On PostgreSQL the claim reads with `FOR UPDATE SKIP LOCKED`, so
//! two nodes claiming at once each take a different webhook instead of
//! waiting; on SQLite `BEGIN IMMEDIATE` serialises the claims.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use time::OffsetDateTime;
use userhub_domain::StorageError;
use userhub_domain::feed::{EventCursor, EventType};
use userhub_domain::repository::WebhookRepository;
use userhub_domain::types::{DeliveryId, TenantId, WebhookId};
use userhub_domain::webhook::{Delivery, Webhook, WebhookSecret, WebhookState, WebhookUrl};

use crate::codec::{from_json, from_micros, micros, opt_from_micros, parse, to_json};
use crate::connection::{AnyConnection, MultiBackend, TxError, write_tx};
use crate::error::{corrupt, failure};
use crate::schema::{webhook_deliveries, webhooks};
use crate::store::Store;

#[derive(Debug, Insertable, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = webhooks, treat_none_as_null = true)]
struct WebhookRow {
    id: String,
    tenant_id: String,
    url: String,
    event_types: String,
    description: Option<String>,
    secret: String,
    created_at: i64,
    cursor_seq: i64,
    cursor_index: i64,
    state: String,
    attempts: i64,
    failing_since: Option<i64>,
    next_attempt_at: i64,
}

impl WebhookRow {
    fn of(op: &'static str, hook: &Webhook) -> Result<Self, StorageError> {
        let types: Vec<&str> = hook.event_types.iter().map(|t| t.as_str()).collect();
        Ok(Self {
            id: hook.id.to_string(),
            tenant_id: hook.tenant.to_string(),
            url: hook.url.as_str().to_owned(),
            event_types: to_json(op, "webhook event types", &types)?,
            description: hook.description.clone(),
            secret: hook.secret.expose().to_owned(),
            created_at: micros(hook.created_at),
            cursor_seq: i64::try_from(hook.cursor.position).unwrap_or(i64::MAX),
            cursor_index: i64::from(hook.cursor.index),
            state: hook.state.as_str().to_owned(),
            attempts: i64::from(hook.failures),
            failing_since: hook.failing_since.map(micros),
            next_attempt_at: micros(hook.next_attempt_at),
        })
    }

    fn into_webhook(self, op: &'static str) -> Result<Webhook, StorageError> {
        let types: Vec<String> = from_json(op, "webhook event types", &self.event_types)?;
        let event_types = types
            .iter()
            .map(|t| parse(op, "webhook event type", EventType::parse(t)))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Webhook {
            id: parse(op, "webhook id", WebhookId::parse(&self.id))?,
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            // Stored URLs were checked when made; whether private ones may
            // be called is decided again at each delivery.
            url: parse(op, "webhook url", WebhookUrl::parse(&self.url, true))?,
            event_types,
            description: self.description,
            secret: WebhookSecret::new(self.secret),
            created_at: from_micros(op, self.created_at)?,
            cursor: EventCursor {
                position: u64::try_from(self.cursor_seq)
                    .map_err(|_| corrupt(op, "webhook cursor"))?,
                index: u32::try_from(self.cursor_index)
                    .map_err(|_| corrupt(op, "webhook cursor"))?,
            },
            state: WebhookState::parse(&self.state).ok_or_else(|| corrupt(op, "webhook state"))?,
            failures: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            failing_since: opt_from_micros(op, self.failing_since)?,
            next_attempt_at: from_micros(op, self.next_attempt_at)?,
        })
    }
}

#[derive(Debug, Insertable, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
struct DeliveryRow {
    id: String,
    webhook_id: String,
    event_cursor: String,
    event_type: String,
    attempt: i64,
    at: i64,
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    next_retry_at: Option<i64>,
}

impl DeliveryRow {
    fn of(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id.to_string(),
            webhook_id: delivery.webhook.to_string(),
            event_cursor: delivery.event.to_string(),
            event_type: delivery.event_type.as_str().to_owned(),
            attempt: i64::from(delivery.attempt),
            at: micros(delivery.at),
            status_code: delivery.status.map(i64::from),
            latency_ms: i64::try_from(delivery.latency_ms).unwrap_or(i64::MAX),
            error: delivery.error.clone(),
            next_retry_at: delivery.next_retry_at.map(micros),
        }
    }

    fn into_delivery(self, op: &'static str) -> Result<Delivery, StorageError> {
        Ok(Delivery {
            id: parse(op, "delivery id", DeliveryId::parse(&self.id))?,
            webhook: parse(op, "webhook id", WebhookId::parse(&self.webhook_id))?,
            event: parse(op, "delivery event", EventCursor::parse(&self.event_cursor))?,
            event_type: parse(
                op,
                "delivery event type",
                EventType::parse(&self.event_type),
            )?,
            attempt: u32::try_from(self.attempt).unwrap_or(u32::MAX),
            at: from_micros(op, self.at)?,
            status: self.status_code.and_then(|s| u16::try_from(s).ok()),
            latency_ms: u64::try_from(self.latency_ms).unwrap_or(0),
            error: self.error,
            next_retry_at: opt_from_micros(op, self.next_retry_at)?,
        })
    }
}

/// The id a PostgreSQL claim found.
#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
}

fn load(
    conn: &mut AnyConnection,
    op: &'static str,
    query: webhooks::BoxedQuery<'static, MultiBackend>,
) -> Result<Vec<Webhook>, StorageError> {
    let rows: Vec<WebhookRow> = query
        .select(WebhookRow::as_select())
        .load(conn)
        .map_err(|e| failure(op, &e))?;
    rows.into_iter().map(|r| r.into_webhook(op)).collect()
}

impl WebhookRepository for Store {
    fn create_webhook(&self, webhook: &Webhook) -> Result<(), StorageError> {
        const OP: &str = "create webhook";
        let row = WebhookRow::of(OP, webhook)?;
        let mut conn = self.conn(OP)?;
        diesel::insert_into(webhooks::table)
            .values((
                &row,
                webhooks::lease_id.eq(None::<String>),
                webhooks::lease_until.eq(None::<i64>),
            ))
            .execute(&mut *conn)
            .map(drop)
            .map_err(|e| failure(OP, &e))
    }

    fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<Webhook>, StorageError> {
        const OP: &str = "list webhooks";
        let mut conn = self.conn(OP)?;
        let query = webhooks::table
            .filter(webhooks::tenant_id.eq(tenant.to_string()))
            .order((webhooks::created_at.asc(), webhooks::id.asc()))
            .into_boxed();
        load(&mut conn, OP, query)
    }

    fn get_webhook(
        &self,
        tenant: TenantId,
        id: WebhookId,
    ) -> Result<Option<Webhook>, StorageError> {
        const OP: &str = "get webhook";
        let mut conn = self.conn(OP)?;
        let query = webhooks::table
            .filter(webhooks::tenant_id.eq(tenant.to_string()))
            .filter(webhooks::id.eq(id.to_string()))
            .into_boxed();
        Ok(load(&mut conn, OP, query)?.into_iter().next())
    }

    fn delete_webhook(&self, tenant: TenantId, id: WebhookId) -> Result<bool, StorageError> {
        const OP: &str = "delete webhook";
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let mut conn = self.conn(OP)?;
        let result = write_tx::<_, std::convert::Infallible>(&mut conn, |conn| {
            let found = webhooks::table
                .filter(webhooks::tenant_id.eq(&tenant))
                .filter(webhooks::id.eq(&id))
                .count()
                .get_result::<i64>(conn)?;
            if found == 0 {
                return Ok(false);
            }
            diesel::delete(
                webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(&id)),
            )
            .execute(conn)?;
            diesel::delete(webhooks::table.filter(webhooks::id.eq(&id))).execute(conn)?;
            Ok(true)
        });
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => failure(OP, &e),
        })
    }

    fn list_deliveries(&self, id: WebhookId, limit: u32) -> Result<Vec<Delivery>, StorageError> {
        const OP: &str = "list deliveries";
        let mut conn = self.conn(OP)?;
        let rows: Vec<DeliveryRow> = webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id.to_string()))
            .order((
                webhook_deliveries::at.desc(),
                webhook_deliveries::attempt.desc(),
            ))
            .limit(i64::from(limit))
            .select(DeliveryRow::as_select())
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter().map(|r| r.into_delivery(OP)).collect()
    }

    fn claim_webhook(
        &self,
        now: OffsetDateTime,
        lease: &str,
        until: OffsetDateTime,
        skip: &[WebhookId],
    ) -> Result<Option<Webhook>, StorageError> {
        const OP: &str = "claim webhook";
        let now = micros(now);
        let due = || {
            let mut query = webhooks::table
                .filter(webhooks::state.eq(WebhookState::Active.as_str()))
                .filter(webhooks::next_attempt_at.le(now))
                .filter(
                    webhooks::lease_until
                        .is_null()
                        .or(webhooks::lease_until.lt(now)),
                )
                .order(webhooks::next_attempt_at.asc())
                .select(webhooks::id)
                .into_boxed::<MultiBackend>();
            for id in skip {
                query = query.filter(webhooks::id.ne(id.to_string()));
            }
            query
        };
        let mut conn = self.conn(OP)?;
        // A plain read first: most looks find nothing due, and then take no
        // write lock (on SQLite, the whole database's).
        let any: Option<String> = due()
            .limit(1)
            .first(&mut *conn)
            .optional()
            .map_err(|e| failure(OP, &e))?;
        if any.is_none() {
            return Ok(None);
        }
        let result = write_tx::<_, std::convert::Infallible>(&mut conn, |conn| {
            let query = due();
            let id: Option<String> = match conn {
                AnyConnection::Postgresql(pg) => {
                    // Locking clauses cannot be boxed: the same question in
                    // SQL, skipping rows another node is claiming.
                    drop(query);
                    let skip: Vec<String> = skip.iter().map(ToString::to_string).collect();
                    diesel::sql_query(
                        "SELECT id FROM webhooks \
                         WHERE state = 'active' AND next_attempt_at <= $1 \
                           AND (lease_until IS NULL OR lease_until < $1) \
                           AND NOT (id = ANY($2)) \
                         ORDER BY next_attempt_at LIMIT 1 \
                         FOR UPDATE SKIP LOCKED",
                    )
                    .bind::<BigInt, _>(now)
                    .bind::<Array<Text>, _>(skip)
                    .get_result::<Claimed>(pg)
                    .optional()?
                    .map(|c| c.id)
                }
                AnyConnection::Sqlite(_) => query.limit(1).first(conn).optional()?,
            };
            let Some(id) = id else { return Ok(None) };
            diesel::update(webhooks::table.filter(webhooks::id.eq(&id)))
                .set((
                    webhooks::lease_id.eq(Some(lease)),
                    webhooks::lease_until.eq(Some(micros(until))),
                ))
                .execute(conn)?;
            let row: WebhookRow = webhooks::table
                .filter(webhooks::id.eq(&id))
                .select(WebhookRow::as_select())
                .first(conn)?;
            Ok(Some(row))
        });
        match result {
            Ok(row) => row.map(|r| r.into_webhook(OP)).transpose(),
            Err(TxError::Op(never)) => match never {},
            Err(TxError::Db(e)) => Err(failure(OP, &e)),
        }
    }

    fn finish_delivery(
        &self,
        webhook: &Webhook,
        lease: &str,
        attempt: Option<&Delivery>,
    ) -> Result<bool, StorageError> {
        const OP: &str = "finish delivery";
        let row = WebhookRow::of(OP, webhook)?;
        let delivery = attempt.map(DeliveryRow::of);
        let mut conn = self.conn(OP)?;
        let result = write_tx::<_, std::convert::Infallible>(&mut conn, |conn| {
            let updated = diesel::update(
                webhooks::table
                    .filter(webhooks::id.eq(&row.id))
                    .filter(webhooks::lease_id.eq(lease)),
            )
            .set((
                webhooks::cursor_seq.eq(row.cursor_seq),
                webhooks::cursor_index.eq(row.cursor_index),
                webhooks::state.eq(&row.state),
                webhooks::attempts.eq(row.attempts),
                webhooks::failing_since.eq(row.failing_since),
                webhooks::next_attempt_at.eq(row.next_attempt_at),
                webhooks::lease_id.eq(None::<String>),
                webhooks::lease_until.eq(None::<i64>),
            ))
            .execute(conn)?;
            if updated == 0 {
                return Ok(false);
            }
            if let Some(delivery) = &delivery {
                diesel::insert_into(webhook_deliveries::table)
                    .values(delivery)
                    .execute(conn)?;
            }
            Ok(true)
        });
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) => failure(OP, &e),
        })
    }
}
