//! Tenants and attribute definitions.

use userhub_domain::password::PasswordPolicy;
use userhub_domain::repository::{
    AttributeRepository, CreateTenantError, DefineAttributeError, TenantRepository,
};
use userhub_domain::tenant::{AttributeDefinition, Tenant, TenantName};
use userhub_domain::types::{AttributeName, TenantId};
use userhub_storage::Store;

use crate::support::{now, tenant};

fn tenants_have_unique_names(store: &Store) {
    let mut zeta = Tenant::new(TenantName::parse("zeta").unwrap(), now());
    zeta.password_policy = PasswordPolicy {
        min_length: 12,
        max_length: 64,
        min_strength: 4,
    };
    let alpha = Tenant::new(TenantName::parse("alpha.eu-1").unwrap(), now());
    store.create_tenant(&zeta).unwrap();
    store.create_tenant(&alpha).unwrap();

    assert_eq!(store.get_tenant(zeta.id).unwrap(), Some(zeta.clone()));
    assert_eq!(store.get_tenant(TenantId::new_random()).unwrap(), None);
    assert_eq!(
        store
            .find_tenant_by_name(&TenantName::parse("alpha.eu-1").unwrap())
            .unwrap(),
        Some(alpha.clone())
    );
    assert_eq!(
        store
            .find_tenant_by_name(&TenantName::parse("beta").unwrap())
            .unwrap(),
        None
    );
    assert_eq!(store.list_tenants().unwrap(), vec![alpha, zeta.clone()]);

    let again = Tenant::new(TenantName::parse("zeta").unwrap(), now());
    assert!(matches!(
        store.create_tenant(&again),
        Err(CreateTenantError::NameTaken)
    ));
    assert_eq!(store.get_tenant(again.id).unwrap(), None);
}

fn attributes_are_defined_once_per_tenant(store: &Store) {
    let a = tenant(store);
    let b = tenant(store);
    let definition =
        |tenant: TenantId, name: &str, description: Option<&str>| AttributeDefinition {
            tenant,
            name: AttributeName::parse(name).unwrap(),
            description: description.map(str::to_owned),
            created_at: now(),
        };
    let employee = definition(a.id, "employeeNumber", Some("HR number"));
    let cost = definition(a.id, "cost.center", None);
    store.define_attribute(&employee).unwrap();
    store.define_attribute(&cost).unwrap();
    // Another tenant may declare the same name.
    store
        .define_attribute(&definition(b.id, "employeeNumber", None))
        .unwrap();

    assert!(matches!(
        store.define_attribute(&definition(a.id, "employeeNumber", Some("again"))),
        Err(DefineAttributeError::AlreadyDefined)
    ));
    assert!(matches!(
        store.define_attribute(&definition(TenantId::new_random(), "employeeNumber", None)),
        Err(DefineAttributeError::TenantNotFound)
    ));
    assert_eq!(
        store.list_attributes(a.id).unwrap(),
        vec![cost.clone(), employee.clone()]
    );
    let declared = store.declared_attributes(a.id).unwrap();
    assert!(declared.contains(&employee.name));
    assert!(declared.contains(&cost.name));
    assert_eq!(store.list_attributes(b.id).unwrap().len(), 1);
    assert!(
        store
            .list_attributes(TenantId::new_random())
            .unwrap()
            .is_empty()
    );
}

backend_tests!(
    tenants_have_unique_names,
    attributes_are_defined_once_per_tenant,
);
