//! Tenants and their custom attribute definitions: [`TenantRepository`] and
//! [`AttributeRepository`].

use std::convert::Infallible;

use diesel::prelude::*;
use userhub_domain::StorageError;
use userhub_domain::password::PasswordPolicy;
use userhub_domain::repository::{
    AttributeRepository, CreateTenantError, DefineAttributeError, RemoveAttributeError,
    TenantRepository,
};
use userhub_domain::tenant::{AttributeDefinition, Tenant, TenantName};
use userhub_domain::types::{AttributeName, TenantId};

use crate::codec::{from_json, from_micros, micros, parse, to_json};
use crate::connection::{TxError, write_tx};
use crate::error::{failure, is_foreign_key_violation, is_unique_violation};
use crate::schema::{attribute_definitions, tenants, user_attributes};
use crate::store::Store;

#[derive(Debug, Insertable, Queryable, Selectable)]
#[diesel(table_name = tenants)]
struct TenantRow {
    id: String,
    name: String,
    password_policy: String,
    created_at: i64,
}

impl TenantRow {
    fn of(op: &'static str, tenant: &Tenant) -> Result<Self, StorageError> {
        Ok(Self {
            id: tenant.id.to_string(),
            name: tenant.name.as_str().to_owned(),
            password_policy: to_json(op, "password policy", &tenant.password_policy)?,
            created_at: micros(tenant.created_at),
        })
    }

    fn into_tenant(self, op: &'static str) -> Result<Tenant, StorageError> {
        let password_policy: PasswordPolicy =
            from_json(op, "password policy", &self.password_policy)?;
        Ok(Tenant {
            id: parse(op, "tenant id", TenantId::parse(&self.id))?,
            name: parse(op, "tenant name", TenantName::parse(&self.name))?,
            password_policy,
            created_at: from_micros(op, self.created_at)?,
        })
    }
}

#[derive(Debug, Insertable, Queryable, Selectable)]
#[diesel(table_name = attribute_definitions, treat_none_as_default_value = false)]
struct AttributeRow {
    tenant_id: String,
    name: String,
    description: Option<String>,
    created_at: i64,
}

impl AttributeRow {
    fn into_definition(self, op: &'static str) -> Result<AttributeDefinition, StorageError> {
        Ok(AttributeDefinition {
            tenant: parse(op, "tenant id", TenantId::parse(&self.tenant_id))?,
            name: parse(op, "attribute name", AttributeName::parse(&self.name))?,
            description: self.description,
            created_at: from_micros(op, self.created_at)?,
        })
    }
}

fn load_tenants(
    store: &Store,
    op: &'static str,
    filter: impl FnOnce(
        tenants::BoxedQuery<'static, crate::connection::MultiBackend>,
    ) -> tenants::BoxedQuery<'static, crate::connection::MultiBackend>,
) -> Result<Vec<Tenant>, StorageError> {
    let mut conn = store.conn(op)?;
    let rows: Vec<TenantRow> = filter(tenants::table.into_boxed())
        .select(TenantRow::as_select())
        .load(&mut *conn)
        .map_err(|e| failure(op, &e))?;
    rows.into_iter().map(|r| r.into_tenant(op)).collect()
}

impl TenantRepository for Store {
    fn create_tenant(&self, tenant: &Tenant) -> Result<(), CreateTenantError> {
        const OP: &str = "create tenant";
        let row = TenantRow::of(OP, tenant)?;
        let mut conn = self.conn(OP)?;
        let result = write_tx::<_, Infallible>(&mut conn, |conn| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e) if is_unique_violation(&e, "tenants_name_key", "tenants.name") => {
                CreateTenantError::NameTaken
            }
            TxError::Db(e) => CreateTenantError::Storage(failure(OP, &e)),
        })
    }

    fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StorageError> {
        let id = id.to_string();
        Ok(load_tenants(self, "get tenant", |q| {
            q.filter(tenants::id.eq(id)).limit(1)
        })?
        .into_iter()
        .next())
    }

    fn find_tenant_by_name(&self, name: &TenantName) -> Result<Option<Tenant>, StorageError> {
        let name = name.as_str().to_owned();
        Ok(load_tenants(self, "find tenant by name", |q| {
            q.filter(tenants::name.eq(name)).limit(1)
        })?
        .into_iter()
        .next())
    }

    fn list_tenants(&self) -> Result<Vec<Tenant>, StorageError> {
        load_tenants(self, "list tenants", |q| q.order(tenants::name.asc()))
    }
}

impl AttributeRepository for Store {
    fn define_attribute(
        &self,
        definition: &AttributeDefinition,
    ) -> Result<(), DefineAttributeError> {
        const OP: &str = "define attribute";
        let row = AttributeRow {
            tenant_id: definition.tenant.to_string(),
            name: definition.name.as_str().to_owned(),
            description: definition.description.clone(),
            created_at: micros(definition.created_at),
        };
        let mut conn = self.conn(OP)?;
        let result = write_tx::<_, Infallible>(&mut conn, |conn| {
            diesel::insert_into(attribute_definitions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(never) => match never {},
            TxError::Db(e)
                if is_unique_violation(
                    &e,
                    "attribute_definitions_pkey",
                    "attribute_definitions.tenant_id, attribute_definitions.name",
                ) =>
            {
                DefineAttributeError::AlreadyDefined
            }
            TxError::Db(e) if is_foreign_key_violation(&e) => DefineAttributeError::TenantNotFound,
            TxError::Db(e) => DefineAttributeError::Storage(failure(OP, &e)),
        })
    }

    fn remove_attribute(
        &self,
        tenant: TenantId,
        name: &AttributeName,
    ) -> Result<(), RemoveAttributeError> {
        const OP: &str = "remove attribute";
        let tenant = tenant.to_string();
        let name = name.as_str().to_owned();
        let mut conn = self.conn(OP)?;
        let result = write_tx(&mut conn, |conn| {
            let used: i64 = user_attributes::table
                .filter(user_attributes::tenant_id.eq(&tenant))
                .filter(user_attributes::name.eq(&name))
                .count()
                .get_result(conn)?;
            if used > 0 {
                return Err(TxError::Op(RemoveAttributeError::InUse));
            }
            let removed = diesel::delete(
                attribute_definitions::table
                    .filter(attribute_definitions::tenant_id.eq(&tenant))
                    .filter(attribute_definitions::name.eq(&name)),
            )
            .execute(conn)?;
            if removed == 0 {
                return Err(TxError::Op(RemoveAttributeError::NotFound));
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => RemoveAttributeError::Storage(failure(OP, &e)),
        })
    }

    fn list_attributes(&self, tenant: TenantId) -> Result<Vec<AttributeDefinition>, StorageError> {
        const OP: &str = "list attributes";
        let mut conn = self.conn(OP)?;
        let rows: Vec<AttributeRow> = attribute_definitions::table
            .filter(attribute_definitions::tenant_id.eq(tenant.to_string()))
            .order(attribute_definitions::name.asc())
            .select(AttributeRow::as_select())
            .load(&mut *conn)
            .map_err(|e| failure(OP, &e))?;
        rows.into_iter().map(|r| r.into_definition(OP)).collect()
    }
}
