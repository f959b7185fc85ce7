//! Every role × every field × self / other, and the last-admin rule.

use std::collections::BTreeSet;

use userhub_domain::authz::{
    Actor, Decision, FieldRule, Principal, authorize_change, authorize_create, authorize_delete,
    authorize_read, field_rule, guard_last_admin,
};
use userhub_domain::types::{ApiKeyId, Role, Status, TenantId};
use userhub_domain::{NewUser, UserChanges, UserField};

use crate::support::{change_of, user};

fn expected(role: Role, is_self: bool, field: UserField) -> bool {
    match field_rule(field) {
        FieldRule::AdminOnly => role == Role::Admin,
        FieldRule::SelfOrManager => is_self || matches!(role, Role::Admin | Role::PowerUser),
    }
}

#[test]
fn every_role_every_field_self_and_other() {
    let tenant = TenantId::new_random();
    let mut checked = 0;
    for role in Role::ALL {
        for is_self in [true, false] {
            for field in UserField::ALL {
                let target = user(tenant, "target", &[Role::StandardUser]);
                let actor = Actor {
                    tenant,
                    principal: if is_self {
                        Principal::User(target.id)
                    } else {
                        Principal::User(user(tenant, "someone", &[role]).id)
                    },
                    roles: BTreeSet::from([role]),
                };
                let changes = change_of(field);
                let applied = target.apply(&changes);
                assert!(applied.changed.contains(&field), "{field} must change");
                let decision = authorize_change(&actor, &target, &changes);
                let allowed = applied.changed.iter().all(|&f| expected(role, is_self, f));
                if allowed {
                    assert_eq!(decision, Decision::Allowed, "{role} self={is_self} {field}");
                } else {
                    let Decision::Forbidden { fields, .. } = decision else {
                        panic!("{role} self={is_self} {field} must be refused");
                    };
                    let refused: Vec<UserField> = applied
                        .changed
                        .iter()
                        .copied()
                        .filter(|&f| !expected(role, is_self, f))
                        .collect();
                    assert_eq!(fields, refused, "{role} self={is_self} {field}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, Role::ALL.len() * 2 * UserField::ALL.len());
}

#[test]
fn the_documented_rules_hold() {
    use FieldRule::*;
    assert_eq!(field_rule(UserField::Username), SelfOrManager);
    assert_eq!(field_rule(UserField::FirstName), SelfOrManager);
    assert_eq!(field_rule(UserField::Password), AdminOnly);
    assert_eq!(field_rule(UserField::Roles), AdminOnly);
    assert_eq!(field_rule(UserField::Status), AdminOnly);
}

#[test]
fn api_keys_act_by_their_roles_and_are_never_self() {
    let tenant = TenantId::new_random();
    let target = user(tenant, "target", &[Role::StandardUser]);
    let key = |role| Actor {
        tenant,
        principal: Principal::ApiKey(ApiKeyId::new_random()),
        roles: BTreeSet::from([role]),
    };
    let rename = change_of(UserField::FirstName);
    assert!(authorize_change(&key(Role::PowerUser), &target, &rename).is_allowed());
    assert!(!authorize_change(&key(Role::StandardUser), &target, &rename).is_allowed());
    let promote = change_of(UserField::Roles);
    assert!(authorize_change(&key(Role::Admin), &target, &promote).is_allowed());
    assert!(!authorize_change(&key(Role::PowerUser), &target, &promote).is_allowed());
}

#[test]
fn a_refusal_names_every_refused_field_and_only_those() {
    let tenant = TenantId::new_random();
    let target = user(tenant, "target", &[Role::StandardUser]);
    let me = Actor {
        tenant,
        principal: Principal::User(target.id),
        roles: BTreeSet::from([Role::StandardUser]),
    };
    let mut changes = change_of(UserField::Roles);
    changes.status = change_of(UserField::Status).status;
    changes.password = change_of(UserField::Password).password;
    changes.first_name = change_of(UserField::FirstName).first_name;
    let Decision::Forbidden { fields, .. } = authorize_change(&me, &target, &changes) else {
        panic!("must be refused");
    };
    assert_eq!(
        fields,
        vec![UserField::Password, UserField::Roles, UserField::Status]
    );
}

#[test]
fn resending_an_unchanged_privileged_field_is_not_a_refusal() {
    let tenant = TenantId::new_random();
    let target = user(tenant, "target", &[Role::StandardUser]);
    let me = Actor {
        tenant,
        principal: Principal::User(target.id),
        roles: BTreeSet::from([Role::StandardUser]),
    };
    let mut changes = change_of(UserField::LastName);
    changes.roles = Some(target.roles.clone());
    changes.status = Some(target.status);
    assert_eq!(authorize_change(&me, &target, &changes), Decision::Allowed);
}

#[test]
fn another_tenant_is_refused_everything() {
    let target = user(TenantId::new_random(), "target", &[Role::StandardUser]);
    let admin = Actor {
        tenant: TenantId::new_random(),
        principal: Principal::ApiKey(ApiKeyId::new_random()),
        roles: BTreeSet::from([Role::Admin]),
    };
    assert!(!authorize_change(&admin, &target, &change_of(UserField::FirstName)).is_allowed());
    assert!(!authorize_read(&admin, target.tenant, target.id).is_allowed());
    assert!(!authorize_delete(&admin, &target).is_allowed());
}

#[test]
fn the_last_active_admin_cannot_be_demoted_blocked_or_deleted() {
    let tenant = TenantId::new_random();
    let admin = user(tenant, "admin", &[Role::Admin]);
    let demote = UserChanges {
        roles: Some(BTreeSet::from([Role::StandardUser])),
        ..UserChanges::default()
    };
    for (changes, field) in [
        (demote, UserField::Roles),
        (change_of(UserField::Status), UserField::Status),
        (
            UserChanges {
                status: Some(Status::Deleted),
                ..UserChanges::default()
            },
            UserField::Status,
        ),
    ] {
        let after = admin.apply(&changes).user;
        match guard_last_admin(&admin, &after, 1) {
            Decision::Forbidden { fields, .. } => assert_eq!(fields, vec![field]),
            Decision::Allowed => panic!("the last admin must stay"),
        }
        // With another active admin in the tenant, it is allowed.
        assert_eq!(guard_last_admin(&admin, &after, 2), Decision::Allowed);
    }
    // Changes that keep the admin active and ADMIN are never refused.
    let rename = admin.apply(&change_of(UserField::FirstName)).user;
    assert_eq!(guard_last_admin(&admin, &rename, 1), Decision::Allowed);
    // A non-admin is not guarded.
    let plain = user(tenant, "plain", &[Role::StandardUser]);
    let blocked = plain.apply(&change_of(UserField::Status)).user;
    assert_eq!(guard_last_admin(&plain, &blocked, 0), Decision::Allowed);
    // An inactive admin does not count as the last active one.
    let mut inactive = user(tenant, "dormant", &[Role::Admin]);
    inactive.status = Status::Inactive;
    let demoted = inactive.apply(&change_of(UserField::Roles)).user;
    assert_eq!(guard_last_admin(&inactive, &demoted, 0), Decision::Allowed);
}

#[test]
fn creating_users_needs_a_manager_and_privileged_roles_need_an_admin() {
    let tenant = TenantId::new_random();
    let actor = |role| Actor {
        tenant,
        principal: Principal::ApiKey(ApiKeyId::new_random()),
        roles: BTreeSet::from([role]),
    };
    let plain = NewUser {
        roles: BTreeSet::from([Role::StandardUser]),
        ..new_user()
    };
    let admin = NewUser {
        roles: BTreeSet::from([Role::Admin]),
        ..new_user()
    };
    for role in Role::ALL {
        let manager = matches!(role, Role::Admin | Role::PowerUser);
        assert_eq!(
            authorize_create(&actor(role), &plain).is_allowed(),
            manager,
            "{role}"
        );
        assert_eq!(
            authorize_create(&actor(role), &admin).is_allowed(),
            role == Role::Admin,
            "{role}"
        );
    }
}

fn new_user() -> NewUser {
    use userhub_domain::types::{Email, Username};
    NewUser::new(
        Username::parse("new").unwrap(),
        Email::parse("new@example.com").unwrap(),
    )
}
