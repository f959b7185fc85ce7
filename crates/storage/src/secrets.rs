//! Secrets every node must share (`server_secrets`): made once by the
//! first node that asks, read by every other. The values are never logged
//! or put into an error.

use diesel::prelude::*;
use userhub_domain::StorageError;

use crate::codec::micros;
use crate::error::failure;
use crate::schema::server_secrets;
use crate::store::Store;

impl Store {
    /// The shared secret `name`: the stored one, or, when there is none
    /// yet, `make()` stored and returned. Of nodes racing to make it, the
    /// first insert wins and every node returns that one.
    pub fn server_secret(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StorageError> {
        const OP: &str = "server secret";
        let mut conn = self.conn(OP)?;
        let find = |conn: &mut crate::connection::AnyConnection| {
            server_secrets::table
                .filter(server_secrets::name.eq(name))
                .select(server_secrets::value)
                .first::<String>(conn)
                .optional()
        };
        if let Some(value) = find(&mut conn).map_err(|e| failure(OP, &e))? {
            return Ok(value);
        }
        let value = make();
        let at = micros(time::OffsetDateTime::now_utc());
        let row = (
            server_secrets::name.eq(name),
            server_secrets::value.eq(&value),
            server_secrets::created_at.eq(at),
        );
        let inserted = match &mut *conn {
            crate::connection::AnyConnection::Postgresql(pg) => {
                diesel::insert_into(server_secrets::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(pg)
            }
            crate::connection::AnyConnection::Sqlite(sqlite) => {
                diesel::insert_into(server_secrets::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(sqlite)
            }
        };
        inserted.map_err(|e| failure(OP, &e))?;
        find(&mut conn)
            .map_err(|e| failure(OP, &e))?
            .ok_or_else(|| StorageError::new("server secret missing after insert"))
    }
}
