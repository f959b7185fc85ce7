//! Every repository trait in memory: enough of a store to run the domain's
//! operations end to end without a database.

use std::cell::RefCell;
use std::collections::BTreeMap;

use time::OffsetDateTime;
use userhub_domain::credentials::{ApiKey, Session};
use userhub_domain::group::{
    Group, GroupMember, GroupPage, GroupQuery, GroupRepository, GroupView, GroupWriteError,
};
use userhub_domain::history::HistoryEntry;
use userhub_domain::query::{GroupCondition, UserPage, UserQuery};
use userhub_domain::repository::*;
use userhub_domain::tenant::{AttributeDefinition, Tenant, TenantName};
use userhub_domain::throttle::{Failures, ThrottleKey, ThrottlePolicy, Verdict};
use userhub_domain::types::{
    ApiKeyId, EmailKey, OrganizationId, SessionId, TenantId, UserId, UsernameKey,
};
use userhub_domain::user::LastAuthentication;
use userhub_domain::{StorageError, UniqueField, User};

#[derive(Default)]
pub struct MemoryStore {
    pub users: RefCell<BTreeMap<(TenantId, UserId), User>>,
    pub history: RefCell<Vec<HistoryEntry>>,
    pub tenants: RefCell<Vec<Tenant>>,
    pub keys: RefCell<Vec<ApiKey>>,
    pub sessions: RefCell<BTreeMap<SessionId, Session>>,
    pub attributes: RefCell<Vec<AttributeDefinition>>,
    /// Failed password attempts by (tenant, login, address; "" for every address).
    pub login_failures: RefCell<BTreeMap<(TenantId, String, String), Failures>>,
    /// Updates written, with whether each revoked the user's sessions.
    pub updates: RefCell<Vec<bool>>,
    pub groups: RefCell<BTreeMap<(TenantId, OrganizationId), Group>>,
}

impl MemoryStore {
    pub fn with_tenant(name: &str, now: OffsetDateTime) -> (Self, Tenant) {
        let store = Self::default();
        let tenant = Tenant::new(TenantName::parse(name).unwrap(), now);
        store.create_tenant(&tenant).unwrap();
        (store, tenant)
    }

    pub fn user(&self, tenant: TenantId, id: UserId) -> User {
        self.users.borrow()[&(tenant, id)].clone()
    }

    pub fn open_sessions(&self, user: UserId) -> usize {
        self.sessions
            .borrow()
            .values()
            .filter(|s| s.user == user && s.revoked_at.is_none())
            .count()
    }

    fn taken(&self, user: &User) -> Option<UniqueField> {
        self.users.borrow().values().find_map(|other| {
            if other.tenant != user.tenant || other.id == user.id {
                None
            } else if other.username.key() == user.username.key() {
                Some(UniqueField::Username)
            } else if other.email.key() == user.email.key() {
                Some(UniqueField::Email)
            } else {
                None
            }
        })
    }
}

impl UserRepository for MemoryStore {
    fn create_user(&self, user: &User, history: &HistoryEntry) -> Result<(), CreateUserError> {
        if self.users.borrow().contains_key(&(user.tenant, user.id)) {
            return Err(CreateUserError::Conflict(UniqueField::Id));
        }
        if let Some(field) = self.taken(user) {
            return Err(CreateUserError::Conflict(field));
        }
        self.users
            .borrow_mut()
            .insert((user.tenant, user.id), user.clone());
        self.history.borrow_mut().push(history.clone());
        Ok(())
    }

    fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StorageError> {
        Ok(self.users.borrow().get(&(tenant, id)).cloned())
    }

    fn find_user_by_username(
        &self,
        tenant: TenantId,
        key: &UsernameKey,
    ) -> Result<Option<User>, StorageError> {
        Ok(self
            .users
            .borrow()
            .values()
            .find(|u| u.tenant == tenant && &u.username.key() == key)
            .cloned())
    }

    fn find_user_by_email(
        &self,
        tenant: TenantId,
        key: &EmailKey,
    ) -> Result<Option<User>, StorageError> {
        Ok(self
            .users
            .borrow()
            .values()
            .find(|u| u.tenant == tenant && &u.email.key() == key)
            .cloned())
    }

    fn update_user(&self, update: &UserUpdate) -> Result<(), UpdateUserError> {
        let key = (update.user.tenant, update.user.id);
        let current = self
            .users
            .borrow()
            .get(&key)
            .cloned()
            .ok_or(UpdateUserError::NotFound)?;
        if current.version != update.expected_version {
            return Err(UpdateUserError::Stale {
                current: current.version,
            });
        }
        if let Some(field) = self.taken(&update.user) {
            return Err(UpdateUserError::Conflict(field));
        }
        self.users.borrow_mut().insert(key, update.user.clone());
        self.history.borrow_mut().push(update.history.clone());
        if update.revoke_sessions {
            for session in self.sessions.borrow_mut().values_mut() {
                if session.user == update.user.id && session.revoked_at.is_none() {
                    session.revoked_at = Some(update.user.updated_at);
                }
            }
        }
        self.updates.borrow_mut().push(update.revoke_sessions);
        Ok(())
    }

    fn purge_user(&self, tenant: TenantId, id: UserId) -> Result<(), PurgeUserError> {
        self.users
            .borrow_mut()
            .remove(&(tenant, id))
            .map(drop)
            .ok_or(PurgeUserError::NotFound)
    }

    fn list_users(&self, tenant: TenantId, query: &UserQuery) -> Result<UserPage, ListUsersError> {
        let users: Vec<User> = self
            .users
            .borrow()
            .values()
            .filter(|u| u.tenant == tenant && query.filter.matches(u))
            .cloned()
            .collect();
        let total = query.with_total.then_some(users.len() as u64);
        Ok(UserPage {
            users,
            next: None,
            total,
        })
    }

    fn count_active_admins(&self, tenant: TenantId) -> Result<u64, StorageError> {
        Ok(self
            .users
            .borrow()
            .values()
            .filter(|u| u.tenant == tenant && u.is_active_admin())
            .count() as u64)
    }

    fn record_authentication(
        &self,
        tenant: TenantId,
        id: UserId,
        authentication: &LastAuthentication,
    ) -> Result<(), StorageError> {
        if let Some(user) = self.users.borrow_mut().get_mut(&(tenant, id)) {
            user.last_authentication = Some(authentication.clone());
        }
        Ok(())
    }
}

impl HistoryRepository for MemoryStore {
    fn user_history(
        &self,
        tenant: TenantId,
        id: UserId,
    ) -> Result<Vec<HistoryEntry>, StorageError> {
        Ok(self
            .history
            .borrow()
            .iter()
            .filter(|h| h.tenant == tenant && h.user == id)
            .cloned()
            .collect())
    }
}

impl TenantRepository for MemoryStore {
    fn create_tenant(&self, tenant: &Tenant) -> Result<(), CreateTenantError> {
        self.tenants.borrow_mut().push(tenant.clone());
        Ok(())
    }

    fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StorageError> {
        Ok(self.tenants.borrow().iter().find(|t| t.id == id).cloned())
    }

    fn find_tenant_by_name(&self, name: &TenantName) -> Result<Option<Tenant>, StorageError> {
        Ok(self
            .tenants
            .borrow()
            .iter()
            .find(|t| &t.name == name)
            .cloned())
    }

    fn list_tenants(&self) -> Result<Vec<Tenant>, StorageError> {
        Ok(self.tenants.borrow().clone())
    }
}

impl ApiKeyRepository for MemoryStore {
    fn create_api_key(&self, key: &ApiKey) -> Result<(), StorageError> {
        self.keys.borrow_mut().push(key.clone());
        Ok(())
    }

    fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>, StorageError> {
        Ok(self
            .keys
            .borrow()
            .iter()
            .find(|k| k.prefix == prefix)
            .cloned())
    }

    fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StorageError> {
        Ok(self
            .keys
            .borrow()
            .iter()
            .filter(|k| k.tenant == tenant)
            .cloned()
            .collect())
    }

    fn revoke_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), RevokeApiKeyError> {
        let mut keys = self.keys.borrow_mut();
        let key = keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or(RevokeApiKeyError::NotFound)?;
        key.revoked_at.get_or_insert(at);
        Ok(())
    }

    fn touch_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StorageError> {
        if let Some(key) = self.keys.borrow_mut().iter_mut().find(|k| k.id == id) {
            key.last_used_at = Some(at);
        }
        Ok(())
    }
}

impl SessionRepository for MemoryStore {
    fn create_session(&self, session: &Session) -> Result<(), StorageError> {
        self.sessions
            .borrow_mut()
            .insert(session.id, session.clone());
        Ok(())
    }

    fn find_session_by_access_hash(&self, hash: &str) -> Result<Option<Session>, StorageError> {
        Ok(self
            .sessions
            .borrow()
            .values()
            .find(|s| s.access_hash == hash)
            .cloned())
    }

    fn find_session_by_refresh_hash(&self, hash: &str) -> Result<Option<Session>, StorageError> {
        Ok(self
            .sessions
            .borrow()
            .values()
            .find(|s| s.refresh_hash == hash)
            .cloned())
    }

    fn rotate_session(
        &self,
        old: SessionId,
        new: &Session,
        at: OffsetDateTime,
    ) -> Result<(), RotateSessionError> {
        let mut sessions = self.sessions.borrow_mut();
        match sessions.get_mut(&old) {
            Some(session) if session.revoked_at.is_none() => session.revoked_at = Some(at),
            _ => return Err(RotateSessionError::AlreadyRevoked),
        }
        sessions.insert(new.id, new.clone());
        Ok(())
    }

    fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        for session in self.sessions.borrow_mut().values_mut() {
            if session.tenant == tenant && session.user == user && session.revoked_at.is_none() {
                session.revoked_at = Some(at);
            }
        }
        Ok(())
    }
}

impl AttributeRepository for MemoryStore {
    fn define_attribute(
        &self,
        definition: &AttributeDefinition,
    ) -> Result<(), DefineAttributeError> {
        self.attributes.borrow_mut().push(definition.clone());
        Ok(())
    }

    fn list_attributes(&self, tenant: TenantId) -> Result<Vec<AttributeDefinition>, StorageError> {
        Ok(self
            .attributes
            .borrow()
            .iter()
            .filter(|d| d.tenant == tenant)
            .cloned()
            .collect())
    }

    fn remove_attribute(
        &self,
        tenant: TenantId,
        name: &userhub_domain::types::AttributeName,
    ) -> Result<(), RemoveAttributeError> {
        let in_use = self
            .users
            .borrow()
            .values()
            .any(|u| u.tenant == tenant && u.attributes.iter().any(|(n, _)| n == name));
        if in_use {
            return Err(RemoveAttributeError::InUse);
        }
        let mut attributes = self.attributes.borrow_mut();
        let before = attributes.len();
        attributes.retain(|d| !(d.tenant == tenant && &d.name == name));
        if attributes.len() == before {
            return Err(RemoveAttributeError::NotFound);
        }
        Ok(())
    }
}

impl LoginThrottleRepository for MemoryStore {
    fn take_login_attempt(
        &self,
        key: &ThrottleKey,
        policy: &ThrottlePolicy,
        now: OffsetDateTime,
    ) -> Result<Verdict, StorageError> {
        let mut failures = self.login_failures.borrow_mut();
        let address = (key.tenant, key.login.clone(), key.address_key());
        let login = (key.tenant, key.login.clone(), String::new());
        let verdict = policy.decide(
            failures.get(&address).copied(),
            failures.get(&login).copied(),
            now,
        );
        if let Verdict::Allowed {
            per_address,
            per_login,
        } = verdict
        {
            failures.insert(address, per_address);
            failures.insert(login, per_login);
        }
        Ok(verdict)
    }

    fn clear_login_failures(&self, key: &ThrottleKey) -> Result<(), StorageError> {
        let mut failures = self.login_failures.borrow_mut();
        failures.remove(&(key.tenant, key.login.clone(), key.address_key()));
        failures.remove(&(key.tenant, key.login.clone(), String::new()));
        Ok(())
    }
}

// Groups in memory: the rows in `MemoryStore::groups`, members from the
// users' memberships. A write checks everything before it changes anything,
// so it is all or nothing like the store's transaction.

impl MemoryStore {
    fn check_members(&self, members: &[UserUpdate]) -> Result<(), GroupWriteError> {
        for update in members {
            match self.get_user(update.user.tenant, update.user.id)? {
                Some(current) if current.version == update.expected_version => {}
                _ => return Err(GroupWriteError::MemberChanged),
            }
        }
        Ok(())
    }

    fn write_members(&self, members: &[UserUpdate]) -> Result<(), GroupWriteError> {
        for update in members {
            self.update_user(update)
                .map_err(|_| GroupWriteError::MemberChanged)?;
        }
        Ok(())
    }

    fn check_version(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
        expected: u64,
    ) -> Result<(), GroupWriteError> {
        match self.groups.borrow().get(&(tenant, id.clone())) {
            None => Err(GroupWriteError::NotFound),
            Some(g) if g.version != expected => Err(GroupWriteError::Stale { current: g.version }),
            Some(_) => Ok(()),
        }
    }
}

impl GroupRepository for MemoryStore {
    fn create_group(&self, group: &Group, members: &[UserUpdate]) -> Result<(), GroupWriteError> {
        let taken =
            self.groups.borrow().values().any(|g| {
                g.tenant == group.tenant && g.display_name_key() == group.display_name_key()
            });
        if taken {
            return Err(GroupWriteError::Conflict(UniqueField::GroupName));
        }
        self.check_members(members)?;
        self.groups
            .borrow_mut()
            .insert((group.tenant, group.id.clone()), group.clone());
        self.write_members(members)
    }

    fn get_group(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
    ) -> Result<Option<Group>, StorageError> {
        Ok(self.groups.borrow().get(&(tenant, id.clone())).cloned())
    }

    fn group_members(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
    ) -> Result<Vec<GroupMember>, StorageError> {
        Ok(self
            .users
            .borrow()
            .values()
            .filter(|u| u.tenant == tenant && !u.is_deleted())
            .filter(|u| u.memberships.iter().any(|m| &m.organization == id))
            .map(|u| GroupMember {
                id: u.id,
                username: u.username.clone(),
            })
            .collect())
    }

    fn list_groups(&self, tenant: TenantId, query: &GroupQuery) -> Result<GroupPage, StorageError> {
        let all: Vec<Group> = self
            .groups
            .borrow()
            .values()
            .filter(|g| g.tenant == tenant)
            .filter(|g| {
                query
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.eval(&|c: &GroupCondition| c.matches(g)))
            })
            .cloned()
            .collect();
        let total = all.len() as u64;
        let mut groups = Vec::new();
        for group in all
            .into_iter()
            .skip(query.offset as usize)
            .take(query.limit as usize)
        {
            let members = self.group_members(tenant, &group.id)?;
            groups.push(GroupView { group, members });
        }
        Ok(GroupPage { groups, total })
    }

    fn update_group(
        &self,
        group: &Group,
        expected_version: u64,
        members: &[UserUpdate],
    ) -> Result<(), GroupWriteError> {
        self.check_version(group.tenant, &group.id, expected_version)?;
        self.check_members(members)?;
        self.groups
            .borrow_mut()
            .insert((group.tenant, group.id.clone()), group.clone());
        self.write_members(members)
    }

    fn delete_group(
        &self,
        tenant: TenantId,
        id: &OrganizationId,
        expected_version: u64,
        members: &[UserUpdate],
    ) -> Result<(), GroupWriteError> {
        self.check_version(tenant, id, expected_version)?;
        self.check_members(members)?;
        self.groups.borrow_mut().remove(&(tenant, id.clone()));
        self.write_members(members)
    }
}
