//! The operations over an in-memory repository: the one-membership-per-
//! organization rule, and part-wise changes that survive a concurrent writer.

use std::cell::RefCell;
use std::collections::BTreeSet;

use userhub_domain::auth::TokenLifetimes;
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::history::HistoryEntry;
use userhub_domain::ports::Ctx;
use userhub_domain::query::{UserPage, UserQuery};
use userhub_domain::repository::{AttributeRepository, DefineAttributeError, TenantRepository};
use userhub_domain::repository::{
    CreateUserError, ListUsersError, PurgeUserError, UpdateUserError, UserRepository, UserUpdate,
};
use userhub_domain::service::{self, CreateUser, UpdateUser};
use userhub_domain::tenant::{AttributeDefinition, Tenant, TenantName};
use userhub_domain::types::{
    AddressLine, ApiKeyId, EmailKey, Membership, OrganizationId, Role, TenantId, UserId,
    UsernameKey,
};
use userhub_domain::user::LastAuthentication;
use userhub_domain::{
    AddressChanges, DomainError, NewUser, Patch, StorageError, User, UserChanges,
};

use crate::support::{CountingHasher, now, user};

/// One stored user. `race`, when set, is a change another writer lands
/// between the operation's read and its write (once).
#[derive(Default)]
struct Memory {
    user: RefCell<Option<User>>,
    race: RefCell<Option<UserChanges>>,
    writes: RefCell<usize>,
}

impl UserRepository for Memory {
    fn create_user(&self, user: &User, _: &HistoryEntry) -> Result<(), CreateUserError> {
        *self.user.borrow_mut() = Some(user.clone());
        *self.writes.borrow_mut() += 1;
        Ok(())
    }

    fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StorageError> {
        Ok(self
            .user
            .borrow()
            .clone()
            .filter(|u| u.tenant == tenant && u.id == id))
    }

    fn find_user_by_username(
        &self,
        _: TenantId,
        _: &UsernameKey,
    ) -> Result<Option<User>, StorageError> {
        Ok(None)
    }

    fn find_user_by_email(&self, _: TenantId, _: &EmailKey) -> Result<Option<User>, StorageError> {
        Ok(None)
    }

    fn update_user(&self, update: &UserUpdate) -> Result<(), UpdateUserError> {
        let mut stored = self.user.borrow_mut();
        let current = stored.as_mut().ok_or(UpdateUserError::NotFound)?;
        if let Some(race) = self.race.borrow_mut().take() {
            let mut raced = current.apply(&race).user;
            raced.version += 1;
            *current = raced;
        }
        if current.version != update.expected_version {
            return Err(UpdateUserError::Stale {
                current: current.version,
            });
        }
        *current = update.user.clone();
        *self.writes.borrow_mut() += 1;
        Ok(())
    }

    fn purge_user(&self, _: TenantId, _: UserId) -> Result<(), PurgeUserError> {
        Err(PurgeUserError::NotFound)
    }

    fn list_users(&self, _: TenantId, _: &UserQuery) -> Result<UserPage, ListUsersError> {
        Ok(UserPage {
            users: Vec::new(),
            next: None,
            total: None,
        })
    }

    fn count_active_admins(&self, _: TenantId) -> Result<u64, StorageError> {
        Ok(1)
    }

    fn record_authentication(
        &self,
        _: TenantId,
        _: UserId,
        _: &LastAuthentication,
    ) -> Result<(), StorageError> {
        Ok(())
    }
}

impl TenantRepository for Memory {
    fn create_tenant(
        &self,
        _: &Tenant,
    ) -> Result<(), userhub_domain::repository::CreateTenantError> {
        Ok(())
    }
    fn get_tenant(&self, _: TenantId) -> Result<Option<Tenant>, StorageError> {
        Ok(None)
    }
    fn find_tenant_by_name(&self, _: &TenantName) -> Result<Option<Tenant>, StorageError> {
        Ok(None)
    }
    fn list_tenants(&self) -> Result<Vec<Tenant>, StorageError> {
        Ok(Vec::new())
    }
}

impl AttributeRepository for Memory {
    fn define_attribute(&self, _: &AttributeDefinition) -> Result<(), DefineAttributeError> {
        Ok(())
    }
    fn list_attributes(&self, _: TenantId) -> Result<Vec<AttributeDefinition>, StorageError> {
        Ok(Vec::new())
    }
    fn remove_attribute(
        &self,
        _: TenantId,
        _: &userhub_domain::types::AttributeName,
    ) -> Result<(), userhub_domain::repository::RemoveAttributeError> {
        Err(userhub_domain::repository::RemoveAttributeError::NotFound)
    }
}

/// Run `f` with a context over `repo`.
fn with_ctx<T>(repo: &Memory, f: impl FnOnce(&Ctx<'_, Memory>) -> T) -> T {
    let hasher = CountingHasher::default();
    f(&Ctx {
        repo,
        hasher: &hasher,
        throttle: userhub_domain::throttle::ThrottlePolicy::default(),
        tokens: TokenLifetimes::default(),
        now: now(),
    })
}

fn admin(tenant: TenantId) -> Actor {
    Actor {
        tenant,
        principal: Principal::ApiKey(ApiKeyId::new_random()),
        roles: BTreeSet::from([Role::Admin]),
    }
}

fn bare(org: &str) -> Membership {
    Membership::new(OrganizationId::parse(org).unwrap(), [], [])
}

fn refused_fields(error: DomainError) -> Vec<String> {
    match error {
        DomainError::Validation(errors) => {
            errors.into_iter().map(|e| e.field.to_string()).collect()
        }
        other => panic!("not a validation error: {other:?}"),
    }
}

fn stored(tenant: TenantId) -> (Memory, User) {
    let repo = Memory::default();
    let target = user(tenant, "target", &[Role::StandardUser]);
    *repo.user.borrow_mut() = Some(target.clone());
    (repo, target)
}

#[test]
fn a_user_holds_one_membership_per_organization() {
    let tenant = TenantId::new_random();
    let repo = Memory::default();
    let base = user(tenant, "target", &[Role::StandardUser]);
    let mut new = NewUser::new(base.username.clone(), base.email.clone());
    new.memberships = vec![bare("org_1"), bare("org_2"), bare("org_1")];
    let error = with_ctx(&repo, |ctx| {
        service::create_user(ctx, &admin(tenant), CreateUser::new(new))
    })
    .unwrap_err();
    assert_eq!(refused_fields(error), ["memberships[2].organization"]);
    assert_eq!(*repo.writes.borrow(), 0);

    let (repo, target) = stored(tenant);
    let request = UpdateUser::new(
        target.id,
        UserChanges {
            memberships: Some(vec![bare("org_1"), bare("org_1")]),
            ..UserChanges::default()
        },
    );
    let error = with_ctx(&repo, |ctx| {
        service::update_user(ctx, &admin(tenant), request)
    })
    .unwrap_err();
    assert_eq!(refused_fields(error), ["memberships[1].organization"]);
    assert_eq!(*repo.writes.borrow(), 0);
}

#[test]
fn part_wise_changes_without_a_version_keep_a_concurrent_change() {
    let tenant = TenantId::new_random();
    let (repo, target) = stored(tenant);
    // Another writer sets the street, enables MFA and adds org_1 while this
    // change is on its way.
    *repo.race.borrow_mut() = Some(UserChanges {
        address: AddressChanges {
            street: Patch::Set(AddressLine::parse("Main").unwrap()),
            ..AddressChanges::default()
        },
        mfa_enabled: Some(true),
        memberships: Some(vec![bare("org_1")]),
        ..UserChanges::default()
    });
    let request = UpdateUser::new(
        target.id,
        UserChanges {
            address: AddressChanges {
                city: Patch::Set(AddressLine::parse("Bern").unwrap()),
                ..AddressChanges::default()
            },
            mfa_type: Patch::Set(2),
            add_memberships: vec![bare("org_2")],
            ..UserChanges::default()
        },
    );
    let updated = with_ctx(&repo, |ctx| {
        service::update_user(ctx, &admin(tenant), request.clone())
    })
    .unwrap();
    assert_eq!(updated.version, 3);
    assert_eq!(updated.address.street.unwrap().as_str(), "Main");
    assert_eq!(updated.address.city.unwrap().as_str(), "Bern");
    assert!(updated.mfa.enabled);
    assert_eq!(updated.mfa.mfa_type, Some(2));
    assert_eq!(updated.memberships, [bare("org_1"), bare("org_2")]);

    // With the caller's version, the same race is the caller's conflict.
    let (repo, target) = stored(tenant);
    *repo.race.borrow_mut() = Some(UserChanges {
        mfa_enabled: Some(true),
        ..UserChanges::default()
    });
    let versioned = UpdateUser {
        expected_version: Some(target.version),
        id: target.id,
        ..request
    };
    let error = with_ctx(&repo, |ctx| {
        service::update_user(ctx, &admin(tenant), versioned)
    })
    .unwrap_err();
    assert!(matches!(
        error,
        DomainError::StaleVersion {
            expected: 1,
            current: 2
        }
    ));
}
