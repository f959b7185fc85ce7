//! API keys and login sessions: [`ApiKeyRepository`] and
//! [`SessionRepository`]. Only hashes of secrets are stored; the hashes are
//! never logged or put into an error.

use std::collections::BTreeSet;
use std::convert::Infallible;

use diesel::prelude::*;
use time::OffsetDateTime;
use userhub_domain::StorageError;
use userhub_domain::credentials::{ApiKey, Session};
use userhub_domain::repository::{
    ApiKeyRepository, RevokeApiKeyError, RotateSessionError, SessionRepository,
};
use userhub_domain::types::{ApiKeyId, Role, SessionId, TenantId, UserId};

use crate::codec::{from_json, from_micros, micros, opt_from_micros, parse, to_json};
use crate::connection::{AnyConnection, MultiBackend, TxError, write_tx};
use crate::error::failure;
use crate::schema::{api_keys, sessions};
use crate::store::Store;

#[derive(Debug, Insertable, Queryable, Selectable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
struct ApiKeyRow {
    id: String,
    tenant_id: String,
    prefix: String,
    key_hash: String,
    roles: String,
    label: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl ApiKeyRow {
    fn of(op: &'static str, key: &ApiKey) -> Result<Self, StorageError> {
        let roles: Vec<&str> = key.roles.iter().map(|r| r.as_str()).collect();
        Ok(Self {
            id: key.id.to_string(),
            tenant_id: key.tenant.to_string(),
            prefix: key.prefix.clone(),
            key_hash: key.key_hash.clone(),
            roles: to_json(op, "API key roles", &roles)?,
            label: key.label.clone(),
            created_at: micros(key.created_at),
            last_used_at: key.last_used_at.map(micros),
            revoked_at: key.revoked_at.map(micros),
        })
    }

    fn into_key(self, op: &'static str) -> Result<ApiKey, StorageError> {
        let roles: BTreeSet<Role> = from_json(op, "API key roles", &self.roles)?;
        Ok(ApiKey {
            id: parse(op, "API key id", ApiKeyId::parse(&self.id))?,
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            prefix: self.prefix,
            key_hash: self.key_hash,
            roles,
            label: self.label,
            created_at: from_micros(op, self.created_at)?,
            last_used_at: opt_from_micros(op, self.last_used_at)?,
            revoked_at: opt_from_micros(op, self.revoked_at)?,
        })
    }
}

#[derive(Debug, Insertable, Queryable, Selectable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
struct SessionRow {
    id: String,
    tenant_id: String,
    user_id: String,
    access_hash: String,
    access_expires_at: i64,
    refresh_hash: String,
    refresh_expires_at: i64,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl SessionRow {
    fn of(session: &Session) -> Self {
        Self {
            id: session.id.to_string(),
            tenant_id: session.tenant.to_string(),
            user_id: session.user.to_string(),
            access_hash: session.access_hash.clone(),
            access_expires_at: micros(session.access_expires_at),
            refresh_hash: session.refresh_hash.clone(),
            refresh_expires_at: micros(session.refresh_expires_at),
            created_at: micros(session.created_at),
            revoked_at: session.revoked_at.map(micros),
        }
    }

    fn into_session(self, op: &'static str) -> Result<Session, StorageError> {
        Ok(Session {
            id: parse(op, "session id", SessionId::parse(&self.id))?,
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            user: parse(op, "user id", UserId::parse(&self.user_id))?,
            access_hash: self.access_hash,
            access_expires_at: from_micros(op, self.access_expires_at)?,
            refresh_hash: self.refresh_hash,
            refresh_expires_at: from_micros(op, self.refresh_expires_at)?,
            created_at: from_micros(op, self.created_at)?,
            revoked_at: opt_from_micros(op, self.revoked_at)?,
        })
    }
}

/// Run a write that has no outcome of its own besides the rows it touched.
fn write(
    store: &Store,
    op: &'static str,
    f: impl FnOnce(&mut crate::connection::AnyConnection) -> QueryResult<usize>,
) -> Result<usize, StorageError> {
    let mut conn = store.conn(op)?;
    write_tx::<_, Infallible>(&mut conn, |conn| Ok(f(conn)?)).map_err(|e| match e {
        TxError::Op(never) => match never {},
        TxError::Db(e) => failure(op, &e),
    })
}

impl ApiKeyRepository for Store {
    fn create_api_key(&self, key: &ApiKey) -> Result<(), StorageError> {
        const OP: &str = "create API key";
        let row = ApiKeyRow::of(OP, key)?;
        write(self, OP, |conn| {
            diesel::insert_into(api_keys::table)
                .values(&row)
                .execute(conn)
        })
        .map(drop)
    }

    fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>, StorageError> {
        const OP: &str = "find API key";
        let mut conn = self.conn(OP)?;
        let row: Option<ApiKeyRow> = api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .select(ApiKeyRow::as_select())
            .first(&mut *conn)
            .optional()
            .map_err(|e| failure(OP, &e))?;
        row.map(|r| r.into_key(OP)).transpose()
    }

    fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StorageError> {
        const OP: &str = "list API keys";
        let mut conn = self.conn(OP)?;
        let rows: Vec<ApiKeyRow> = api_keys::table
            .filter(api_keys::tenant_id.eq(tenant.to_string()))
            .order((api_keys::created_at.asc(), api_keys::id.asc()))
            .select(ApiKeyRow::as_select())
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter().map(|r| r.into_key(OP)).collect()
    }

    fn revoke_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), RevokeApiKeyError> {
        const OP: &str = "revoke API key";
        let id = id.to_string();
        let at = micros(at);
        let mut conn = self.conn(OP)?;
        let result = write_tx(&mut conn, |conn| {
            // A key revoked before keeps its first revocation time.
            let revoked = diesel::update(
                api_keys::table
                    .filter(api_keys::id.eq(&id))
                    .filter(api_keys::revoked_at.is_null()),
            )
            .set(api_keys::revoked_at.eq(Some(at)))
            .execute(conn)?;
            if revoked == 0 {
                let exists: i64 = api_keys::table
                    .filter(api_keys::id.eq(&id))
                    .count()
                    .get_result(conn)?;
                if exists == 0 {
                    return Err(TxError::Op(RevokeApiKeyError::NotFound));
                }
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => RevokeApiKeyError::Storage(failure(OP, &e)),
        })
    }

    fn touch_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StorageError> {
        const OP: &str = "touch API key";
        write(self, OP, |conn| {
            diesel::update(api_keys::table.filter(api_keys::id.eq(id.to_string())))
                .set(api_keys::last_used_at.eq(Some(micros(at))))
                .execute(conn)
        })
        .map(drop)
    }
}

fn find_session(
    store: &Store,
    op: &'static str,
    filter: impl FnOnce(
        sessions::BoxedQuery<'static, MultiBackend>,
    ) -> sessions::BoxedQuery<'static, MultiBackend>,
) -> Result<Option<Session>, StorageError> {
    let mut conn = store.conn(op)?;
    let row: Option<SessionRow> = filter(sessions::table.into_boxed())
        .select(SessionRow::as_select())
        .first(&mut *conn)
        .optional()
        .map_err(|e| failure(op, &e))?;
    row.map(|r| r.into_session(op)).transpose()
}

impl SessionRepository for Store {
    fn create_session(&self, session: &Session) -> Result<(), StorageError> {
        let row = SessionRow::of(session);
        write(self, "create session", |conn| {
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(conn)
        })
        .map(drop)
    }

    fn find_session_by_access_hash(&self, hash: &str) -> Result<Option<Session>, StorageError> {
        let hash = hash.to_owned();
        find_session(self, "find session", |q| {
            q.filter(sessions::access_hash.eq(hash))
        })
    }

    fn find_session_by_refresh_hash(&self, hash: &str) -> Result<Option<Session>, StorageError> {
        let hash = hash.to_owned();
        find_session(self, "find session", |q| {
            q.filter(sessions::refresh_hash.eq(hash))
        })
    }

    fn rotate_session(
        &self,
        old: SessionId,
        new: &Session,
        at: OffsetDateTime,
    ) -> Result<(), RotateSessionError> {
        const OP: &str = "rotate session";
        let old = old.to_string();
        let row = SessionRow::of(new);
        let mut conn = self.conn(OP)?;
        let result = write_tx(&mut conn, |conn| {
            // The conditional UPDATE is the race's referee: of concurrent
            // rotations of one session, exactly one sees `revoked_at IS NULL`
            // (PostgreSQL re-checks it after waiting for the row lock).
            let revoked = diesel::update(
                sessions::table
                    .filter(sessions::id.eq(&old))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(Some(micros(at))))
            .execute(conn)?;
            if revoked == 0 {
                return Err(TxError::Op(RotateSessionError::AlreadyRevoked));
            }
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => RotateSessionError::Storage(failure(OP, &e)),
        })
    }

    fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        write(self, "revoke user sessions", |conn| {
            revoke_sessions(conn, &tenant.to_string(), &user.to_string(), micros(at))
        })
        .map(drop)
    }
}

/// End every open session of a user, inside the caller's transaction (a
/// password change revokes them in the change's own transaction).
pub(crate) fn revoke_sessions(
    conn: &mut AnyConnection,
    tenant: &str,
    user: &str,
    at: i64,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant))
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(at)))
    .execute(conn)
}
