//! What SCIM needs of storage: the external id (unique per tenant, exact),
//! filter trees translated into SQL that agrees with the domain's reference
//! semantics, and groups written with their members' changes in one
//! transaction.

use std::collections::BTreeSet;

use time::Duration;
use userhub_domain::group::{Group, GroupQuery, GroupRepository, GroupSort, GroupWriteError};
use userhub_domain::query::{
    Filter, GroupCondition, GroupText, OrderOp, PageRequest, Sort, SortDirection, TextOp, TimeAttr,
    UserCondition, UserFilter, UserQuery, UserText,
};
use userhub_domain::repository::{CreateUserError, UserRepository};
use userhub_domain::types::{
    ExternalId, GroupName, Membership, OrganizationId, PersonName, Status, TenantId,
};
use userhub_domain::{Patch, UniqueField, User, UserChanges};
use userhub_storage::Store;

use crate::support::{change, create, creation, now, tenant, user};

fn external(text: &str) -> ExternalId {
    ExternalId::parse(text).unwrap()
}

fn external_ids_are_unique_per_tenant_and_exact(store: &Store) {
    let t = tenant(store).id;
    let mut a = user(t, "alice");
    a.external_id = Some(external("00uAbC"));
    create(store, &a);
    assert_eq!(
        store.get_user(t, a.id).unwrap().unwrap().external_id,
        Some(external("00uAbC"))
    );
    let mut b = user(t, "bob");
    b.external_id = Some(external("00uAbC"));
    assert!(matches!(
        store.create_user(&b, &creation(&b)),
        Err(CreateUserError::Conflict(UniqueField::ExternalId))
    ));
    // Exact: another case is another id.
    b.external_id = Some(external("00uabc"));
    create(store, &b);
    // Another tenant may use the same id.
    let other = tenant(store).id;
    let mut c = user(other, "carol");
    c.external_id = Some(external("00uAbC"));
    create(store, &c);
    // Changing to a taken one conflicts; clearing frees it.
    let taken = UserChanges {
        external_id: Patch::Set(external("00uAbC")),
        ..UserChanges::default()
    };
    assert!(store.update_user(&change(&b, &taken)).is_err());
    let clear = UserChanges {
        external_id: Patch::Clear,
        ..UserChanges::default()
    };
    store.update_user(&change(&a, &clear)).unwrap();
    store.update_user(&change(&b, &taken)).unwrap();
}

fn text(attr: UserText, op: TextOp, value: &str) -> Filter<UserCondition> {
    Filter::Condition(UserCondition::text(attr, op, value))
}

fn and(a: Filter<UserCondition>, b: Filter<UserCondition>) -> Filter<UserCondition> {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter<UserCondition>, b: Filter<UserCondition>) -> Filter<UserCondition> {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter<UserCondition>) -> Filter<UserCondition> {
    Filter::Not(Box::new(a))
}

fn expression_filters_agree_with_the_reference(store: &Store) {
    let t = tenant(store).id;
    let mut users: Vec<User> = Vec::new();
    for (i, (name, first, ext)) in [
        ("alice", Some("Alice"), Some("EXT-1")),
        ("bob", Some("Bob"), Some("ext-2")),
        ("carol_50%", None, None),
        ("dave", Some("Dávid"), Some("x_1")),
        ("erin", Some("Erin"), None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut u = user(t, name);
        u.first_name = first.map(|f| PersonName::parse(f).unwrap());
        u.external_id = ext.map(external);
        u.created_at = now() + Duration::seconds(i as i64);
        if name == "erin" {
            u.status = Status::Inactive;
        }
        create(store, &u);
        users.push(u);
    }
    let middle = users[2].created_at;
    let filters = vec![
        text(UserText::Username, TextOp::Eq, "ALICE"),
        text(UserText::Username, TextOp::Contains, "50%"),
        text(UserText::Username, TextOp::Contains, "_"),
        text(UserText::Username, TextOp::EndsWith, "OB"),
        text(UserText::Username, TextOp::StartsWith, "ca"),
        text(UserText::Username, TextOp::Gt, "bob"),
        text(UserText::Username, TextOp::Le, "bob"),
        text(UserText::Email, TextOp::EndsWith, "@example.com"),
        text(UserText::ExternalId, TextOp::Eq, "ext-1"),
        text(UserText::ExternalId, TextOp::Contains, "XT"),
        text(UserText::ExternalId, TextOp::EndsWith, "_1"),
        text(UserText::ExternalId, TextOp::StartsWith, "e"),
        text(UserText::FirstName, TextOp::Contains, "av"),
        text(UserText::FirstName, TextOp::Contains, ""),
        not(text(UserText::FirstName, TextOp::Eq, "bob")),
        not(Filter::Condition(UserCondition::Present(
            UserText::ExternalId,
        ))),
        Filter::Condition(UserCondition::Active(false)),
        or(
            Filter::Condition(UserCondition::Active(false)),
            and(
                text(UserText::Username, TextOp::StartsWith, "a"),
                not(text(UserText::ExternalId, TextOp::Eq, "nope")),
            ),
        ),
        Filter::Condition(UserCondition::Time {
            attr: TimeAttr::Created,
            op: OrderOp::Ge,
            value: middle,
        }),
        Filter::Condition(UserCondition::Time {
            attr: TimeAttr::Updated,
            op: OrderOp::Lt,
            value: middle,
        }),
    ];
    for expression in filters {
        let filter = UserFilter {
            expression: Some(expression.clone()),
            ..UserFilter::default()
        };
        let page = store
            .list_users(
                t,
                &UserQuery {
                    filter: filter.clone(),
                    sort: Sort::default(),
                    page: PageRequest::Offset {
                        offset: 0,
                        limit: 100,
                    },
                    with_total: true,
                },
            )
            .unwrap();
        let got: Vec<String> = page.users.iter().map(|u| u.username.to_string()).collect();
        let want: Vec<String> = users
            .iter()
            .filter(|u| filter.matches(u))
            .map(|u| u.username.to_string())
            .collect();
        assert_eq!(got, want, "{expression:?}");
        assert_eq!(page.total, Some(want.len() as u64), "{expression:?}");
    }
}

fn group(tenant: TenantId, name: &str) -> Group {
    let at = now();
    Group {
        id: OrganizationId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
        tenant,
        display_name: GroupName::parse(name).unwrap(),
        external_id: None,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

fn join(user: &User, group: &Group) -> userhub_domain::repository::UserUpdate {
    change(
        user,
        &UserChanges {
            add_memberships: vec![Membership::new(group.id.clone(), [], [])],
            ..UserChanges::default()
        },
    )
}

fn groups_and_their_members_in_one_transaction(store: &Store) {
    let t = tenant(store).id;
    let alice = user(t, "alice");
    let bob = user(t, "bob");
    create(store, &alice);
    create(store, &bob);
    let mut eng = group(t, "Engineering");
    eng.external_id = Some(external("okta-eng"));
    let joined = join(&alice, &eng);
    store.create_group(&eng, &[joined]).unwrap();
    assert_eq!(store.get_group(t, &eng.id).unwrap(), Some(eng.clone()));
    let members = store.group_members(t, &eng.id).unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].id, alice.id);
    // The membership is the user's: Blocks' memberships name the group.
    let stored = store.get_user(t, alice.id).unwrap().unwrap();
    assert_eq!(stored.memberships[0].organization, eng.id);
    assert_eq!(stored.version, 2);

    // A taken display name (case-insensitively) writes nothing, members neither.
    let twin = group(t, "ENGINEERING");
    let bob_joins = join(&bob, &twin);
    assert!(matches!(
        store.create_group(&twin, &[bob_joins]),
        Err(GroupWriteError::Conflict(UniqueField::GroupName))
    ));
    assert_eq!(store.get_user(t, bob.id).unwrap().unwrap().version, 1);

    // A member that moved on since it was read: nothing is written.
    let mut renamed = eng.clone();
    renamed.display_name = GroupName::parse("R&D").unwrap();
    renamed.version = 2;
    let stale = join(&alice, &eng); // alice is at version 2 now
    assert!(matches!(
        store.update_group(&renamed, 1, &[stale]),
        Err(GroupWriteError::MemberChanged)
    ));
    assert_eq!(store.get_group(t, &eng.id).unwrap().unwrap().version, 1);
    // A stale group version.
    assert!(matches!(
        store.update_group(&renamed, 7, &[]),
        Err(GroupWriteError::Stale { current: 1 })
    ));
    store
        .update_group(&renamed, 1, &[join(&bob, &eng)])
        .unwrap();
    let ids: BTreeSet<_> = store
        .group_members(t, &eng.id)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, BTreeSet::from([alice.id, bob.id]));

    // Lists: filter, order, page and exact total; another tenant sees none.
    let ops = group(t, "Operations");
    store.create_group(&ops, &[]).unwrap();
    let query = |filter: Option<Filter<GroupCondition>>, offset, limit| GroupQuery {
        filter,
        sort: GroupSort::DisplayName,
        direction: SortDirection::Descending,
        offset,
        limit,
    };
    let page = store.list_groups(t, &query(None, 1, 1)).unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.groups[0].group.display_name.as_str(), "Operations");
    assert_eq!(page.groups[0].members.len(), 0);
    let ext = Filter::Condition(GroupCondition::text(
        GroupText::ExternalId,
        TextOp::Eq,
        "okta-eng",
    ));
    let page = store.list_groups(t, &query(Some(ext), 0, 10)).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.groups[0].members.len(), 2);
    let other = tenant(store).id;
    assert_eq!(
        store.list_groups(other, &query(None, 0, 10)).unwrap().total,
        0
    );
    assert_eq!(store.get_group(other, &eng.id).unwrap(), None);

    // Deleting ends the memberships with the row.
    let alice_now = store.get_user(t, alice.id).unwrap().unwrap();
    let bob_now = store.get_user(t, bob.id).unwrap().unwrap();
    let leave = |u: &User| {
        change(
            u,
            &UserChanges {
                remove_memberships: BTreeSet::from([eng.id.clone()]),
                ..UserChanges::default()
            },
        )
    };
    store
        .delete_group(t, &eng.id, 2, &[leave(&alice_now), leave(&bob_now)])
        .unwrap();
    assert_eq!(store.get_group(t, &eng.id).unwrap(), None);
    assert!(store.group_members(t, &eng.id).unwrap().is_empty());
    assert!(
        store
            .get_user(t, alice.id)
            .unwrap()
            .unwrap()
            .memberships
            .is_empty()
    );
}

backend_tests!(
    external_ids_are_unique_per_tenant_and_exact,
    expression_filters_agree_with_the_reference,
    groups_and_their_members_in_one_transaction,
);
