//! Listing: every filter against the domain's reference semantics
//! (`UserFilter::matches`), every order, cursor and offset pages, totals,
//! and cursor pages that stay exact while users are inserted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use time::{Duration, OffsetDateTime};
use userhub_domain::query::{
    Cursor, KeyMatch, PageRequest, Sort, SortDirection, SortField, UserFilter, UserPage, UserQuery,
};
use userhub_domain::repository::{ListUsersError, UserRepository};
use userhub_domain::types::{
    AttributeName, AttributeValue, Email, Membership, OrganizationId, PersonName, Role, Status,
    TenantId, UserId, Username,
};
use userhub_domain::{NewUser, User};
use userhub_storage::Store;

use crate::support::{create, now, tenant};

const SORTS: [Sort; 8] = {
    use SortDirection::{Ascending, Descending};
    use SortField::{CreatedAt, Email, UpdatedAt, Username};
    [
        Sort {
            field: CreatedAt,
            direction: Ascending,
        },
        Sort {
            field: CreatedAt,
            direction: Descending,
        },
        Sort {
            field: UpdatedAt,
            direction: Ascending,
        },
        Sort {
            field: UpdatedAt,
            direction: Descending,
        },
        Sort {
            field: Username,
            direction: Ascending,
        },
        Sort {
            field: Username,
            direction: Descending,
        },
        Sort {
            field: Email,
            direction: Ascending,
        },
        Sort {
            field: Email,
            direction: Descending,
        },
    ]
};

/// The order the store must return, computed on the domain values: keys in
/// code-point order, times with ties broken by id.
fn sorted(mut users: Vec<User>, sort: Sort) -> Vec<User> {
    users.sort_by(|a, b| {
        let by_id = a.id.to_string().cmp(&b.id.to_string());
        let ordering = match sort.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at).then(by_id),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at).then(by_id),
            SortField::Username => a.username.key().cmp(&b.username.key()),
            SortField::Email => a.email.key().cmp(&b.email.key()),
        };
        match sort.direction {
            SortDirection::Ascending => ordering,
            SortDirection::Descending => ordering.reverse(),
        }
    });
    users
}

fn query(filter: &UserFilter, sort: Sort, page: PageRequest, with_total: bool) -> UserQuery {
    UserQuery {
        filter: filter.clone(),
        sort,
        page,
        with_total,
    }
}

/// Every page of a cursor walk, concatenated; checks page sizes and totals.
fn walk(store: &Store, tenant: TenantId, filter: &UserFilter, sort: Sort, limit: u32) -> Vec<User> {
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .list_users(
                tenant,
                &query(filter, sort, PageRequest::Cursor { after, limit }, true),
            )
            .unwrap();
        assert!(page.users.len() <= limit as usize);
        let total = page.total.unwrap();
        seen.extend(page.users.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(page.users.len(), limit as usize, "a short page has no next");
                after = Some(next);
            }
            None => {
                assert_eq!(total, seen.len() as u64);
                return seen;
            }
        }
    }
}

/// A population that exercises every filter: statuses, roles, two
/// organizations, usernames with `%` and `_`, full-width letters, equal
/// creation times, update times in another order than creation times.
fn seed(store: &Store) -> (TenantId, Vec<User>) {
    let tenant = tenant(store).id;
    let base = now() - Duration::days(1);
    let names = [
        "alice",
        "alicia",
        "al%ce",
        "al_ce",
        "alXce",
        "Alb",
        "bob",
        "Bobby",
        "carol",
        "dave",
        "eve",
        "ｆｒａｎｋ",
        "zoë",
        "émile",
        "al",
        "a",
    ];
    let statuses = [
        Status::Active,
        Status::Inactive,
        Status::Blocked,
        Status::Expired,
        Status::Deleted,
    ];
    let role_sets = [
        vec![Role::StandardUser],
        vec![Role::Admin],
        vec![Role::PowerUser, Role::StandardUser],
        vec![],
        vec![Role::Admin, Role::ApiUser],
    ];
    let domains = ["example.com", "example.org", "mail.example.net"];
    let mut users = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut new = NewUser::new(
            Username::parse(name).unwrap(),
            Email::parse(&format!("{name}@{}", domains[i % domains.len()])).unwrap(),
        );
        new.status = statuses[i % statuses.len()];
        new.roles = role_sets[i % role_sets.len()].iter().copied().collect();
        new.memberships = match i % 3 {
            0 => vec![Membership::new(
                OrganizationId::parse("org-a").unwrap(),
                [],
                [],
            )],
            1 => vec![
                Membership::new(OrganizationId::parse("org-a").unwrap(), [], []),
                Membership::new(OrganizationId::parse("org_b").unwrap(), [], []),
            ],
            _ => vec![],
        };
        // Name parts and attributes for the name and attribute filters.
        let firsts = ["Ada", "Müller", "Bob", "ada"];
        if i % 5 != 4 {
            new.first_name = Some(PersonName::parse(firsts[i % firsts.len()]).unwrap());
        }
        if i % 3 != 2 {
            new.last_name = Some(PersonName::parse(&format!("Al{}", i % 4)).unwrap());
        }
        if i % 2 == 0 {
            new.attributes.insert(
                AttributeName::parse("department").unwrap(),
                AttributeValue::parse(if i % 4 == 0 { "R&D" } else { "Sales" }).unwrap(),
            );
        }
        if i % 3 == 0 {
            new.attributes.insert(
                AttributeName::parse("site").unwrap(),
                AttributeValue::parse("Bern").unwrap(),
            );
        }
        // Pairs share a creation time; update times run the other way.
        let created = base + Duration::seconds((i / 2) as i64);
        let mut user = new.into_user(tenant, created);
        user.updated_at = base + Duration::hours(1) - Duration::seconds(i as i64 % 5);
        create(store, &user);
        users.push(user);
    }
    (tenant, users)
}

fn every_filter_and_order_matches_the_reference(store: &Store) {
    let (tenant, users) = seed(store);
    let ids: BTreeSet<UserId> = users.iter().step_by(3).map(|u| u.id).collect();
    let middle = users[6].created_at;
    let filters = [
        UserFilter::default(),
        UserFilter::not_deleted(),
        UserFilter {
            statuses: BTreeSet::from([Status::Blocked, Status::Inactive]),
            ..UserFilter::default()
        },
        UserFilter {
            roles: BTreeSet::from([Role::Admin]),
            ..UserFilter::default()
        },
        UserFilter {
            roles: BTreeSet::from([Role::PowerUser, Role::ApiUser]),
            ..UserFilter::default()
        },
        UserFilter {
            organization: Some(OrganizationId::parse("org_b").unwrap()),
            ..UserFilter::default()
        },
        UserFilter {
            organization: Some(OrganizationId::parse("org-a").unwrap()),
            statuses: BTreeSet::from([Status::Active, Status::Blocked]),
            ..UserFilter::default()
        },
        UserFilter {
            username: Some(KeyMatch::exact("ALICE")),
            ..UserFilter::default()
        },
        UserFilter {
            username: Some(KeyMatch::prefix("al")),
            ..UserFilter::default()
        },
        // `%` and `_` are characters, not patterns.
        UserFilter {
            username: Some(KeyMatch::prefix("al%")),
            ..UserFilter::default()
        },
        UserFilter {
            username: Some(KeyMatch::prefix("AL_")),
            ..UserFilter::default()
        },
        // Full-width input matches through its key.
        UserFilter {
            username: Some(KeyMatch::prefix("ＦＲ")),
            ..UserFilter::default()
        },
        UserFilter {
            username: Some(KeyMatch::prefix("")),
            ..UserFilter::default()
        },
        UserFilter {
            email: Some(KeyMatch::prefix("BOB")),
            ..UserFilter::default()
        },
        UserFilter {
            email: Some(KeyMatch::exact("Carol@Example.COM")),
            ..UserFilter::default()
        },
        UserFilter {
            created_from: Some(middle),
            ..UserFilter::default()
        },
        UserFilter {
            created_before: Some(middle),
            ..UserFilter::default()
        },
        UserFilter {
            created_from: Some(users[2].created_at),
            created_before: Some(users[10].created_at),
            ..UserFilter::default()
        },
        UserFilter {
            ids: ids.clone(),
            ..UserFilter::default()
        },
        UserFilter {
            statuses: BTreeSet::from([Status::Active, Status::Inactive]),
            roles: BTreeSet::from([Role::StandardUser, Role::Admin]),
            username: Some(KeyMatch::prefix("a")),
            created_before: Some(users[12].created_at),
            ..UserFilter::default()
        },
        UserFilter {
            first_name: Some(KeyMatch::exact("ADA")),
            ..UserFilter::default()
        },
        UserFilter {
            first_name: Some(KeyMatch::prefix("mü")),
            ..UserFilter::default()
        },
        UserFilter {
            last_name: Some(KeyMatch::prefix("al")),
            ..UserFilter::default()
        },
        UserFilter {
            last_name: Some(KeyMatch::exact("al2")),
            ..UserFilter::default()
        },
        // First name, last name or username: "al" is a last-name prefix and
        // a username prefix; "bo" a first name and a username.
        UserFilter {
            any_name: Some(KeyMatch::prefix("AL")),
            ..UserFilter::default()
        },
        UserFilter {
            any_name: Some(KeyMatch::prefix("bo")),
            statuses: BTreeSet::from([Status::Active, Status::Blocked]),
            ..UserFilter::default()
        },
        UserFilter {
            any_name: Some(KeyMatch::exact("eve")),
            ..UserFilter::default()
        },
        UserFilter {
            attributes: BTreeMap::from([(
                AttributeName::parse("department").unwrap(),
                AttributeValue::parse("R&D").unwrap(),
            )]),
            ..UserFilter::default()
        },
        UserFilter {
            attributes: BTreeMap::from([
                (
                    AttributeName::parse("department").unwrap(),
                    AttributeValue::parse("Sales").unwrap(),
                ),
                (
                    AttributeName::parse("site").unwrap(),
                    AttributeValue::parse("Bern").unwrap(),
                ),
            ]),
            ..UserFilter::default()
        },
    ];
    for (n, filter) in filters.iter().enumerate() {
        let matching: Vec<User> = users
            .iter()
            .filter(|u| filter.matches(u))
            .cloned()
            .collect();
        for sort in SORTS {
            let expected = sorted(matching.clone(), sort);
            let seen = walk(store, tenant, filter, sort, 3);
            assert_eq!(
                names(&seen),
                names(&expected),
                "filter #{n} {filter:?}, {sort:?}"
            );
            assert_eq!(seen, expected);
        }
    }
    // The filters are not vacuous.
    let count = |f: &UserFilter| users.iter().filter(|u| f.matches(u)).count();
    assert_eq!(count(&filters[9]), 1);
    assert_eq!(count(&filters[10]), 1);
    assert_eq!(count(&filters[11]), 1);
    assert!(count(&filters[8]) >= 6);
    for (n, filter) in filters.iter().enumerate().skip(20) {
        let matched = count(filter);
        assert!(
            matched > 0 && matched < users.len(),
            "filter #{n} must select some users, not all: {matched}"
        );
    }
    // Search text with a NUL (which PostgreSQL text cannot carry) matches
    // nothing, and is not a failure.
    let nul = UserFilter {
        username: Some(KeyMatch::prefix("al\0")),
        ..UserFilter::default()
    };
    assert!(walk(store, tenant, &nul, SORTS[0], 3).is_empty());
    let nul = UserFilter {
        any_name: Some(KeyMatch::exact("ada\0")),
        ..UserFilter::default()
    };
    assert!(walk(store, tenant, &nul, SORTS[0], 3).is_empty());
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

fn offset_pages_and_totals(store: &Store) {
    let (tenant, users) = seed(store);
    let filter = UserFilter::not_deleted();
    for sort in [SORTS[0], SORTS[5]] {
        let expected = sorted(
            users
                .iter()
                .filter(|u| filter.matches(u))
                .cloned()
                .collect(),
            sort,
        );
        let mut seen = Vec::new();
        for page_number in 0.. {
            let page: UserPage = store
                .list_users(
                    tenant,
                    &query(
                        &filter,
                        sort,
                        PageRequest::Offset {
                            offset: page_number * 4,
                            limit: 4,
                        },
                        true,
                    ),
                )
                .unwrap();
            assert_eq!(page.total, Some(expected.len() as u64));
            let last = page.users.len() < 4 || page.next.is_none();
            seen.extend(page.users);
            if last {
                break;
            }
        }
        assert_eq!(seen, expected);
    }
    // Past the end: an empty page, the total still exact.
    let beyond = store
        .list_users(
            tenant,
            &query(
                &filter,
                Sort::default(),
                PageRequest::Offset {
                    offset: 1000,
                    limit: 10,
                },
                true,
            ),
        )
        .unwrap();
    assert!(beyond.users.is_empty() && beyond.next.is_none());
    assert_eq!(
        beyond.total,
        Some(users.iter().filter(|u| filter.matches(u)).count() as u64)
    );
    // Without `with_total`, no count.
    let quick = store
        .list_users(
            tenant,
            &query(
                &filter,
                Sort::default(),
                PageRequest::Cursor {
                    after: None,
                    limit: 0,
                },
                false,
            ),
        )
        .unwrap();
    assert!(quick.users.is_empty() && quick.next.is_none() && quick.total.is_none());
}

fn cursors_are_refused_for_another_order(store: &Store) {
    let (tenant, _) = seed(store);
    let filter = UserFilter::default();
    let first = store
        .list_users(
            tenant,
            &query(
                &filter,
                SORTS[0],
                PageRequest::Cursor {
                    after: None,
                    limit: 2,
                },
                false,
            ),
        )
        .unwrap();
    let cursor = first.next.unwrap();
    for sort in &SORTS[1..] {
        assert!(matches!(
            store.list_users(
                tenant,
                &query(
                    &filter,
                    *sort,
                    PageRequest::Cursor {
                        after: Some(cursor.clone()),
                        limit: 2,
                    },
                    false,
                ),
            ),
            Err(ListUsersError::InvalidCursor)
        ));
    }
    for token in ["", "garbage", "1zz", "1'; DROP TABLE users; --"] {
        assert!(matches!(
            store.list_users(
                tenant,
                &query(
                    &filter,
                    SORTS[0],
                    PageRequest::Cursor {
                        after: Some(Cursor::from_token(token)),
                        limit: 2,
                    },
                    false,
                ),
            ),
            Err(ListUsersError::InvalidCursor)
        ));
    }
}

fn make_user(tenant: TenantId, name: &str, created: OffsetDateTime) -> User {
    NewUser::new(
        Username::parse(name).unwrap(),
        Email::parse(&format!("{name}@example.com")).unwrap(),
    )
    .into_user(tenant, created)
}

/// 1,000 users read 7 at a time while others are inserted: by a thread
/// running alongside, and, before every page, one just behind the cursor
/// (never to be seen) and one just ahead of it (to be seen exactly once).
fn cursor_pages_are_exact_while_users_are_inserted(store: &Store) {
    let tenant = tenant(store).id;
    let base = now() - Duration::days(1);
    let originals: Vec<User> = (0..1000)
        .map(|i| {
            make_user(
                tenant,
                &format!("user{i:04}"),
                base + Duration::milliseconds(i / 3),
            )
        })
        .collect();
    std::thread::scope(|s| {
        for chunk in originals.chunks(250) {
            s.spawn(move || chunk.iter().for_each(|u| create(store, u)));
        }
    });

    let sort = Sort::default();
    let filter = UserFilter::default();
    let stop = AtomicBool::new(false);
    let (seen, ahead, behind) = std::thread::scope(|s| {
        let inserter = s.spawn(|| {
            let mut inserted = 0;
            while !stop.load(Ordering::Relaxed) && inserted < 2000 {
                let at = base + Duration::microseconds((inserted * 7919 % 340_000) as i64);
                create(
                    store,
                    &make_user(tenant, &format!("concurrent{inserted}"), at),
                );
                inserted += 1;
            }
        });
        let mut seen: Vec<User> = Vec::new();
        let mut ahead = Vec::new();
        let mut behind = Vec::new();
        let mut after = None;
        loop {
            if let Some(last) = seen.last() {
                let n = ahead.len();
                let a = make_user(
                    tenant,
                    &format!("ahead{n}"),
                    last.created_at + Duration::microseconds(1),
                );
                let b = make_user(
                    tenant,
                    &format!("behind{n}"),
                    last.created_at - Duration::microseconds(1),
                );
                create(store, &a);
                create(store, &b);
                ahead.push(a.id);
                behind.push(b.id);
            }
            let page = store
                .list_users(
                    tenant,
                    &query(
                        &filter,
                        sort,
                        PageRequest::Cursor { after, limit: 7 },
                        false,
                    ),
                )
                .unwrap();
            assert!(page.users.len() <= 7);
            seen.extend(page.users);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        stop.store(true, Ordering::Relaxed);
        inserter.join().unwrap();
        (seen, ahead, behind)
    });

    // In order, each user once.
    for pair in seen.windows(2) {
        let key = |u: &User| (u.created_at, u.id.to_string());
        assert!(
            key(&pair[0]) < key(&pair[1]),
            "{} then {}",
            pair[0].username,
            pair[1].username
        );
    }
    let mut times_seen: HashMap<UserId, usize> = HashMap::new();
    for user in &seen {
        *times_seen.entry(user.id).or_default() += 1;
    }
    for user in &originals {
        assert_eq!(times_seen.get(&user.id), Some(&1), "{}", user.username);
    }
    let originals_in_order: Vec<UserId> = seen
        .iter()
        .filter(|u| u.username.as_str().starts_with("user"))
        .map(|u| u.id)
        .collect();
    let expected: Vec<UserId> = sorted(originals.clone(), sort)
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(originals_in_order, expected);
    assert!(ahead.len() >= 1000 / 7);
    for id in &ahead {
        assert_eq!(times_seen.get(id), Some(&1));
    }
    for id in &behind {
        assert_eq!(times_seen.get(id), None);
    }
}

backend_tests!(
    every_filter_and_order_matches_the_reference,
    offset_pages_and_totals,
    cursors_are_refused_for_another_order,
    cursor_pages_are_exact_while_users_are_inserted,
);
