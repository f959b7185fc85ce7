//! Groups over the in-memory store: a group is an organization, its members
//! the users with a membership in it; every member change is a change of
//! that user (version, history), all or nothing; ADMIN only.

use userhub_domain::DomainError;
use userhub_domain::auth::TokenLifetimes;
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::group::{self, CreateGroup, DeleteGroup, GroupView, MemberChange, UpdateGroup};
use userhub_domain::ports::Ctx;
use userhub_domain::repository::UserRepository;
use userhub_domain::tenant::Tenant;
use userhub_domain::types::{
    ApiKeyId, GroupName, Membership, MembershipRole, OrganizationId, Role, UserId,
};
use userhub_domain::{User, ValidationErrors};

use userhub_domain::throttle::ThrottlePolicy;

use crate::memory::MemoryStore;
use crate::support::{CountingHasher, now, user};

struct World {
    store: MemoryStore,
    tenant: Tenant,
    hasher: CountingHasher,
}

impl World {
    fn new() -> Self {
        let (store, tenant) = MemoryStore::with_tenant("acme", now());
        Self {
            store,
            tenant,
            hasher: CountingHasher::default(),
        }
    }

    fn ctx(&self) -> Ctx<'_, MemoryStore> {
        Ctx {
            repo: &self.store,
            hasher: &self.hasher,
            throttle: ThrottlePolicy::default(),
            tokens: TokenLifetimes::default(),
            now: now(),
        }
    }

    fn key(&self, role: Role) -> Actor {
        Actor {
            tenant: self.tenant.id,
            principal: Principal::ApiKey(ApiKeyId::new_random()),
            roles: [role].into_iter().collect(),
        }
    }

    fn user(&self, name: &str) -> User {
        let u = user(self.tenant.id, name, &[Role::StandardUser]);
        self.store
            .create_user(
                &u,
                &userhub_domain::history::HistoryEntry::for_creation(
                    &u,
                    userhub_domain::authz::ActorRef::System,
                    None,
                ),
            )
            .unwrap();
        u
    }

    fn stored(&self, id: UserId) -> User {
        self.store.user(self.tenant.id, id)
    }

    fn create(&self, name: &str, members: Vec<UserId>) -> Result<GroupView, DomainError> {
        group::create_group(
            &self.ctx(),
            &self.key(Role::Admin),
            CreateGroup {
                display_name: Some(GroupName::parse(name).unwrap()),
                external_id: None,
                members,
                errors: ValidationErrors::new(),
            },
        )
    }

    fn update(
        &self,
        id: &OrganizationId,
        members: MemberChange,
        expected: Option<u64>,
    ) -> Result<GroupView, DomainError> {
        group::update_group(
            &self.ctx(),
            &self.key(Role::Admin),
            UpdateGroup {
                id: id.clone(),
                display_name: None,
                external_id: None,
                members,
                expected_version: expected,
                errors: ValidationErrors::new(),
            },
        )
    }
}

fn ids(view: &GroupView) -> Vec<UserId> {
    let mut ids: Vec<UserId> = view.members.iter().map(|m| m.id).collect();
    ids.sort();
    ids
}

#[test]
fn members_are_memberships_and_each_change_is_the_users() {
    let world = World::new();
    let ada = world.user("ada");
    let bob = world.user("bob");
    let view = world.create("Engineering", vec![ada.id, ada.id]).unwrap();
    let id = view.group.id.clone();
    assert_eq!(ids(&view), [ada.id]);
    let stored = world.stored(ada.id);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.memberships, [Membership::new(id.clone(), [], [])]);
    // Creation + the membership change.
    assert_eq!(world.store.history.borrow().len(), 3);

    // Add bob, remove ada; the group's version moves.
    let view = world
        .update(
            &id,
            MemberChange::Edit {
                add: vec![bob.id],
                remove: vec![ada.id],
            },
            Some(1),
        )
        .unwrap();
    assert_eq!(ids(&view), [bob.id]);
    assert_eq!(view.group.version, 2);
    assert!(world.stored(ada.id).memberships.is_empty());

    // A stale version changes nothing.
    let error = world
        .update(&id, MemberChange::Replace(vec![ada.id]), Some(1))
        .unwrap_err();
    assert!(matches!(
        error,
        DomainError::StaleVersion {
            expected: 1,
            current: 2
        }
    ));
    assert_eq!(world.stored(ada.id).version, 3);

    // Nothing to change writes nothing.
    let before = world.store.history.borrow().len();
    let view = world
        .update(&id, MemberChange::Replace(vec![bob.id]), None)
        .unwrap();
    assert_eq!(view.group.version, 2);
    assert_eq!(world.store.history.borrow().len(), before);

    // Deleting ends the memberships.
    group::delete_group(
        &world.ctx(),
        &world.key(Role::Admin),
        DeleteGroup {
            id: id.clone(),
            expected_version: None,
        },
    )
    .unwrap();
    assert!(world.stored(bob.id).memberships.is_empty());
    assert!(matches!(
        group::get_group(&world.ctx(), &world.key(Role::Admin), id),
        Err(DomainError::NotFound("group"))
    ));
}

#[test]
fn a_membership_blocks_gave_keeps_its_roles() {
    let world = World::new();
    let view = world.create("Sales", vec![]).unwrap();
    let id = view.group.id.clone();
    let mut lead = user(world.tenant.id, "lead", &[Role::StandardUser]);
    lead.memberships = vec![Membership::new(
        id.clone(),
        [MembershipRole::parse("owner").unwrap()],
        [],
    )];
    world
        .store
        .create_user(
            &lead,
            &userhub_domain::history::HistoryEntry::for_creation(
                &lead,
                userhub_domain::authz::ActorRef::System,
                None,
            ),
        )
        .unwrap();
    let view = world
        .update(&id, MemberChange::Replace(vec![lead.id]), None)
        .unwrap();
    assert_eq!(ids(&view), [lead.id]);
    assert_eq!(world.stored(lead.id), lead, "already a member: unchanged");
}

#[test]
fn unknown_members_and_non_admins_change_nothing() {
    let world = World::new();
    let ada = world.user("ada");
    let nobody = UserId::new_random();
    let error = world.create("Eng", vec![ada.id, nobody]).unwrap_err();
    let DomainError::Validation(errors) = error else {
        panic!("{error:?}");
    };
    assert_eq!(errors.errors()[0].field.to_string(), "members[1].value");
    assert_eq!(world.stored(ada.id).version, 1);
    assert!(world.store.groups.borrow().is_empty());

    for role in [Role::PowerUser, Role::StandardUser, Role::ApiUser] {
        let error = group::create_group(
            &world.ctx(),
            &world.key(role),
            CreateGroup {
                display_name: Some(GroupName::parse("Eng").unwrap()),
                external_id: None,
                members: vec![ada.id],
                errors: ValidationErrors::new(),
            },
        )
        .unwrap_err();
        assert!(matches!(error, DomainError::Forbidden { .. }), "{role:?}");
    }
    assert_eq!(world.stored(ada.id).version, 1);
}
