//! The totals of the common filters (tenant, status, role, organization)
//! come from counts the database keeps in every write's transaction: they
//! must equal a count of the users themselves after every kind of write.
//! And offset pages, which read deep pages from the far end of the list
//! when the total is known, must be the same pages either way.

use std::collections::BTreeSet;

use userhub_domain::history::HistoryEntry;
use userhub_domain::import::ImportRepository;
use userhub_domain::query::{
    Cursor, PageRequest, Sort, SortDirection, SortField, UserFilter, UserQuery,
};
use userhub_domain::repository::UserRepository;
use userhub_domain::types::{Membership, OrganizationId, PersonName, Role, Status, TenantId};
use userhub_domain::{Patch, User, UserChanges};
use userhub_storage::Store;

use crate::support::{change, create, creation, tenant, user};

fn organization(name: &str) -> OrganizationId {
    OrganizationId::parse(name).unwrap()
}

/// The filters whose totals come from the counts, and a few that do not.
fn filters() -> Vec<UserFilter> {
    let mut filters = vec![UserFilter::default(), UserFilter::not_deleted()];
    for status in Status::ALL {
        filters.push(UserFilter {
            statuses: BTreeSet::from([status]),
            ..UserFilter::default()
        });
    }
    for role in [
        Role::Admin,
        Role::StandardUser,
        Role::PowerUser,
        Role::Guest,
    ] {
        filters.push(UserFilter {
            roles: BTreeSet::from([role]),
            ..UserFilter::default()
        });
        filters.push(UserFilter {
            roles: BTreeSet::from([role]),
            ..UserFilter::not_deleted()
        });
    }
    for name in ["org-a", "org-b", "org-none"] {
        filters.push(UserFilter {
            organization: Some(organization(name)),
            ..UserFilter::not_deleted()
        });
        filters.push(UserFilter {
            organization: Some(organization(name)),
            statuses: BTreeSet::from([Status::Blocked]),
            ..UserFilter::default()
        });
    }
    // Not counted: several roles, a role and an organization.
    filters.push(UserFilter {
        roles: BTreeSet::from([Role::Admin, Role::StandardUser]),
        ..UserFilter::not_deleted()
    });
    filters.push(UserFilter {
        roles: BTreeSet::from([Role::StandardUser]),
        organization: Some(organization("org-a")),
        ..UserFilter::default()
    });
    filters
}

/// Every user of the tenant, by a cursor walk (no total asked, so no count).
fn everyone(store: &Store, tenant: TenantId) -> Vec<User> {
    let mut all = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .list_users(
                tenant,
                &UserQuery {
                    filter: UserFilter::default(),
                    sort: Sort::default(),
                    page: PageRequest::Cursor { after, limit: 7 },
                    with_total: false,
                },
            )
            .unwrap();
        all.extend(page.users);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Each filter's total against the users it selects, counted here.
fn assert_totals(store: &Store, tenant: TenantId, after: &str) {
    let all = everyone(store, tenant);
    for filter in filters() {
        let expected = all.iter().filter(|u| filter.matches(u)).count() as u64;
        let page = store
            .list_users(
                tenant,
                &UserQuery {
                    filter: filter.clone(),
                    sort: Sort::default(),
                    page: PageRequest::Offset {
                        offset: 0,
                        limit: 1,
                    },
                    with_total: true,
                },
            )
            .unwrap();
        assert_eq!(page.total, Some(expected), "after {after}: {filter:?}");
    }
}

fn stored(store: &Store, user: &User) -> User {
    store.get_user(user.tenant, user.id).unwrap().unwrap()
}

fn apply(store: &Store, current: &User, changes: UserChanges) -> User {
    store.update_user(&change(current, &changes)).unwrap();
    stored(store, current)
}

fn member_of(names: &[&str]) -> Vec<Membership> {
    names
        .iter()
        .map(|name| Membership::new(organization(name), [], []))
        .collect()
}

fn counts_stay_exact_across_every_write(store: &Store) {
    let tenant = tenant(store).id;
    // Another tenant's users count for that tenant only.
    let other = crate::support::tenant(store).id;
    create(store, &user(other, "elsewhere"));

    let mut people = Vec::new();
    for (i, name) in ["ann", "ben", "cem", "dia", "eli"].iter().enumerate() {
        let mut new = user(tenant, name);
        new.roles = match i % 3 {
            0 => BTreeSet::from([Role::Admin, Role::StandardUser]),
            1 => BTreeSet::from([Role::StandardUser]),
            _ => BTreeSet::new(),
        };
        new.memberships = member_of(if i % 2 == 0 { &["org-a"] } else { &[] });
        new.status = if i == 4 {
            Status::Blocked
        } else {
            Status::Active
        };
        create(store, &new);
        people.push(new);
    }
    assert_totals(store, tenant, "creates");

    let ben = apply(
        store,
        &stored(store, &people[1]),
        UserChanges {
            status: Some(Status::Blocked),
            ..UserChanges::default()
        },
    );
    assert_totals(store, tenant, "a status change");

    let ben = apply(
        store,
        &ben,
        UserChanges {
            roles: Some(BTreeSet::from([Role::PowerUser, Role::Guest])),
            ..UserChanges::default()
        },
    );
    assert_totals(store, tenant, "a role change");

    let ben = apply(
        store,
        &ben,
        UserChanges {
            memberships: Some(member_of(&["org-a", "org-b"])),
            ..UserChanges::default()
        },
    );
    let ann = apply(
        store,
        &stored(store, &people[0]),
        UserChanges {
            memberships: Some(member_of(&["org-b"])),
            ..UserChanges::default()
        },
    );
    assert_totals(store, tenant, "membership changes");

    // A change of status, roles and memberships at once.
    apply(
        store,
        &ben,
        UserChanges {
            status: Some(Status::Active),
            roles: Some(BTreeSet::from([Role::Admin])),
            memberships: Some(member_of(&["org-b"])),
            ..UserChanges::default()
        },
    );
    assert_totals(store, tenant, "status, roles and memberships at once");

    apply(
        store,
        &ann,
        UserChanges {
            first_name: Patch::Set(PersonName::parse("Ann").unwrap()),
            ..UserChanges::default()
        },
    );
    assert_totals(store, tenant, "a change of name only");

    apply(
        store,
        &stored(store, &people[2]),
        UserChanges {
            status: Some(Status::Deleted),
            ..UserChanges::default()
        },
    );
    assert_totals(store, tenant, "a delete");

    store.purge_user(tenant, people[2].id).unwrap();
    store.purge_user(tenant, people[3].id).unwrap();
    assert_totals(store, tenant, "purges");

    let imported: Vec<(User, HistoryEntry)> = ["fay", "gus", "ann"]
        .iter()
        .map(|name| {
            let mut new = user(tenant, name);
            new.roles = BTreeSet::from([Role::StandardUser]);
            new.memberships = member_of(&["org-a"]);
            let history = creation(&new);
            (new, history)
        })
        .collect();
    // A dry run writes nothing, counts included.
    store.import_users(&imported, true).unwrap();
    assert_totals(store, tenant, "a dry-run import");
    // "ann" is taken: the batch is written line by line, two lines kept.
    let answers = store.import_users(&imported, false).unwrap();
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 2);
    assert_totals(store, tenant, "an import");
}

const SORTS: [Sort; 4] = [
    Sort {
        field: SortField::CreatedAt,
        direction: SortDirection::Ascending,
    },
    Sort {
        field: SortField::CreatedAt,
        direction: SortDirection::Descending,
    },
    Sort {
        field: SortField::Username,
        direction: SortDirection::Ascending,
    },
    Sort {
        field: SortField::UpdatedAt,
        direction: SortDirection::Descending,
    },
];

fn offset_pages_are_the_same_from_either_end(store: &Store) {
    let tenant = tenant(store).id;
    for i in 0..23 {
        let mut new = user(tenant, &format!("user{i:02}"));
        new.status = if i % 4 == 0 {
            Status::Deleted
        } else {
            Status::Active
        };
        new.roles = if i % 3 == 0 {
            BTreeSet::from([Role::PowerUser])
        } else {
            BTreeSet::new()
        };
        create(store, &new);
    }
    for filter in [
        UserFilter::not_deleted(),
        UserFilter {
            roles: BTreeSet::from([Role::PowerUser]),
            ..UserFilter::not_deleted()
        },
        // Not counted, so read from the front only.
        UserFilter {
            roles: BTreeSet::from([Role::PowerUser, Role::Guest]),
            ..UserFilter::default()
        },
    ] {
        for sort in SORTS {
            let expected: Vec<User> = walk(store, tenant, &filter, sort);
            for limit in [1u32, 3, 5] {
                for offset in 0..=expected.len() as u64 + 1 {
                    for with_total in [false, true] {
                        let page = store
                            .list_users(
                                tenant,
                                &UserQuery {
                                    filter: filter.clone(),
                                    sort,
                                    page: PageRequest::Offset { offset, limit },
                                    with_total,
                                },
                            )
                            .unwrap();
                        let from = (offset as usize).min(expected.len());
                        let to = (from + limit as usize).min(expected.len());
                        assert_eq!(
                            page.users,
                            expected[from..to],
                            "{filter:?} {sort:?} offset {offset} limit {limit}"
                        );
                        assert_eq!(
                            page.next.is_some(),
                            to < expected.len(),
                            "{filter:?} {sort:?} offset {offset} limit {limit}: whether more follow"
                        );
                    }
                }
            }
        }
    }
}

/// The list in `sort` order by a cursor walk.
fn walk(store: &Store, tenant: TenantId, filter: &UserFilter, sort: Sort) -> Vec<User> {
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .list_users(
                tenant,
                &UserQuery {
                    filter: filter.clone(),
                    sort,
                    page: PageRequest::Cursor { after, limit: 4 },
                    with_total: false,
                },
            )
            .unwrap();
        seen.extend(page.users);
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
    }
}

backend_tests!(
    counts_stay_exact_across_every_write,
    offset_pages_are_the_same_from_either_end,
);
