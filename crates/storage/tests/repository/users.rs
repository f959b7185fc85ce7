//! Users: round trips, history, stale and conflicting writes, soft delete,
//! purge, the last administrator, tenant isolation.

use std::collections::{BTreeMap, BTreeSet};

use time::Duration;
use userhub_domain::authz::ActorRef;
use userhub_domain::history::{ChangeComment, HistoryEntry};
use userhub_domain::password::PasswordHash;
use userhub_domain::query::{PageRequest, Sort, UserFilter, UserQuery};
use userhub_domain::repository::{
    CreateUserError, HistoryRepository, PurgeUserError, SessionRepository, UpdateUserError,
    UserRepository,
};
use userhub_domain::tenant::Tenant;
use userhub_domain::types::{
    Account, AccountType, Address, AddressLine, AttributeName, AttributeValue, AuthLocation,
    BirthDate, Company, CountryCode, CustomAttributes, DeclaredAttributes, Email, Gender, Industry,
    Locale, Location, Membership, MembershipRole, MfaSettings, OrganizationId, Permission,
    PersonName, PhoneNumber, PictureId, PictureUrl, Platform, Remarks, Role, Status,
    SubscriptionPlan, Tag, TenantId, TimeZone, Title, UserId, Username, WalletAddress,
};
use userhub_domain::user::LastAuthentication;
use userhub_domain::{NewUser, Patch, UniqueField, User, UserChanges};
use userhub_storage::Store;

use crate::support::{change, create, creation, now, tenant, user};

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// A user with every field set.
fn full_user(tenant: TenantId) -> User {
    let mut new = NewUser::new(
        Username::parse("Jürgen.Doe").unwrap(),
        Email::parse("Jurgen.Doe@Example.COM").unwrap(),
    );
    new.id = Some(UserId::new_random());
    new.password = Some(PasswordHash::parse(PHC).unwrap());
    new.title = Some(Title::parse("Dr.").unwrap());
    new.first_name = Some(PersonName::parse("Jürgen").unwrap());
    new.middle_name = Some(PersonName::parse("K").unwrap());
    new.last_name = Some(PersonName::parse("Doe").unwrap());
    new.locale = Some(Locale::parse("tr_TR").unwrap());
    new.time_zone = Some(TimeZone::parse("Europe/Istanbul").unwrap());
    new.gender = Some(Gender::Other);
    new.birth_date = Some(BirthDate::parse("1990-01-31").unwrap());
    let line = |s: &str| Some(AddressLine::parse(s).unwrap());
    new.address = Address {
        country: Some(CountryCode::parse("CH").unwrap()),
        city: line("Zürich"),
        postal_code: line("8004"),
        address_line1: line("c/o Example AG"),
        address_line2: line("Floor 3"),
        street: line("Bahnhofstrasse"),
        house_number: line("1a"),
        dwelling_number: line("12"),
        post_office_box_text: line("Postfach"),
        post_office_box_number: line("1234"),
        locality: line("Kreis 4"),
    };
    new.phone = Some(PhoneNumber::parse("+41446681800").unwrap());
    new.fax = Some(PhoneNumber::parse("+41446681801").unwrap());
    new.roles = BTreeSet::from([Role::Admin, Role::PowerUser]);
    new.status = Status::Blocked;
    new.account = Account {
        account_type: AccountType::Organization,
        company: Some(Company::parse("Example AG").unwrap()),
        industry: Some(Industry::parse("Software").unwrap()),
        location: Some(Location::parse("Zürich").unwrap()),
        profile_picture_url: Some(PictureUrl::parse("https://example.com/p.png").unwrap()),
        profile_picture_id: Some(PictureId::parse("pic-1").unwrap()),
        subscription_plan: SubscriptionPlan::PremiumYearly,
        email_verified: true,
        phone_verified: true,
    };
    new.memberships = vec![
        Membership::new(
            OrganizationId::parse("org-1").unwrap(),
            [MembershipRole::parse("owner").unwrap()],
            [
                Permission::parse("read").unwrap(),
                Permission::parse("write").unwrap(),
            ],
        ),
        Membership::new(OrganizationId::parse("org 2 %_").unwrap(), [], []),
    ];
    new.mfa = MfaSettings {
        enabled: true,
        mfa_type: Some(2),
    };
    new.allowed_login_types = BTreeSet::from([1, 3]);
    new.tags = BTreeSet::from([Tag::parse("vip").unwrap(), Tag::parse("beta").unwrap()]);
    new.platform = Some(Platform::parse("web").unwrap());
    let declared = DeclaredAttributes::new([
        AttributeName::parse("employeeNumber").unwrap(),
        AttributeName::parse("cost.center").unwrap(),
    ]);
    new.attributes = CustomAttributes::parse(
        [
            ("employeeNumber".to_owned(), "42".to_owned()),
            ("cost.center".to_owned(), "R&D \"quoted\"".to_owned()),
        ],
        &declared,
    )
    .unwrap();
    new.remarks = Some(Remarks::parse("line one\nline two\twith a tab").unwrap());
    new.wallet_address = Some(WalletAddress::parse("0xAbC123").unwrap());
    new.into_user(tenant, now())
}

fn round_trip_of_a_fully_populated_user(store: &Store) {
    let tenant = tenant(store);
    let mut user = full_user(tenant.id);
    store.create_user(&user, &creation(&user)).unwrap();
    assert_eq!(
        store.get_user(tenant.id, user.id).unwrap(),
        Some(user.clone())
    );

    let authentication = LastAuthentication {
        at: now(),
        valid_until: now() + Duration::hours(1),
        location: Some(AuthLocation::parse("203.0.113.7").unwrap()),
    };
    store
        .record_authentication(tenant.id, user.id, &authentication)
        .unwrap();
    user.last_authentication = Some(authentication);
    let stored = store.get_user(tenant.id, user.id).unwrap().unwrap();
    assert_eq!(stored, user);
    // Not a change: no version bump, no history entry.
    assert_eq!(stored.version, 1);
    assert_eq!(store.user_history(tenant.id, user.id).unwrap().len(), 1);

    // Found by either key, whatever case and compatibility form is asked.
    let by_name = Username::parse("JÜRGEN.DOE").unwrap().key();
    assert_eq!(
        store.find_user_by_username(tenant.id, &by_name).unwrap(),
        Some(user.clone())
    );
    let by_email = Email::parse("ｊｕｒｇｅｎ.doe@example.com").unwrap().key();
    assert_eq!(
        store.find_user_by_email(tenant.id, &by_email).unwrap(),
        Some(user.clone())
    );
    let unknown = Username::parse("nobody").unwrap().key();
    assert_eq!(
        store.find_user_by_username(tenant.id, &unknown).unwrap(),
        None
    );

    // A listed user is the same user.
    let page = store
        .list_users(
            tenant.id,
            &UserQuery {
                filter: UserFilter::default(),
                sort: Sort::default(),
                page: PageRequest::Cursor {
                    after: None,
                    limit: 10,
                },
                with_total: true,
            },
        )
        .unwrap();
    assert_eq!(page.users, vec![user]);
    assert_eq!(page.total, Some(1));
}

fn history_records_creation_and_changes(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    let created = HistoryEntry::for_creation(
        &alice,
        ActorRef::System,
        Some(ChangeComment::parse("imported").unwrap()),
    );
    store.create_user(&alice, &created).unwrap();

    let mut update = change(
        &alice,
        &UserChanges {
            first_name: Patch::Set(PersonName::parse("Alice").unwrap()),
            password: Some(PasswordHash::parse(PHC).unwrap()),
            ..UserChanges::default()
        },
    );
    update.history.actor = ActorRef::User(alice.id);
    update.history.comment = Some(ChangeComment::parse("name and password").unwrap());
    store.update_user(&update).unwrap();

    let history = store.user_history(tenant.id, alice.id).unwrap();
    assert_eq!(history, vec![created, update.history.clone()]);
    assert_eq!(history[1].version, 2);
    // The password change is recorded, its values never.
    let password = history[1]
        .changes
        .iter()
        .find(|c| c.field == userhub_domain::UserField::Password)
        .unwrap();
    assert!(password.old.is_null() && password.new.is_null());
    assert_eq!(
        store.get_user(tenant.id, alice.id).unwrap(),
        Some(update.user)
    );
}

fn stale_and_unknown_updates_change_nothing(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    create(store, &alice);
    let rename = UserChanges {
        last_name: Patch::Set(PersonName::parse("Smith").unwrap()),
        ..UserChanges::default()
    };

    let mut stale = change(&alice, &rename);
    stale.expected_version = 7;
    stale.user.version = 8;
    stale.history.version = 8;
    assert!(matches!(
        store.update_user(&stale),
        Err(UpdateUserError::Stale { current: 1 })
    ));

    let mut ghost = change(&alice, &rename);
    ghost.user.id = UserId::new_random();
    assert!(matches!(
        store.update_user(&ghost),
        Err(UpdateUserError::NotFound)
    ));

    assert_eq!(
        store.get_user(tenant.id, alice.id).unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_history(tenant.id, alice.id).unwrap().len(), 1);
    assert!(
        store
            .user_history(tenant.id, ghost.user.id)
            .unwrap()
            .is_empty()
    );
}

fn failed_writes_leave_nothing_behind(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    let bob = user(tenant.id, "bob");
    create(store, &alice);
    create(store, &bob);

    // The UPDATE itself collides, after the transaction began.
    let taken = change(
        &bob,
        &UserChanges {
            username: Some(Username::parse("ALICE").unwrap()),
            roles: Some(BTreeSet::from([Role::Admin])),
            ..UserChanges::default()
        },
    );
    assert!(matches!(
        store.update_user(&taken),
        Err(UpdateUserError::Conflict(UniqueField::Username))
    ));
    let taken_email = change(
        &bob,
        &UserChanges {
            email: Some(Email::parse("Alice@example.com").unwrap()),
            ..UserChanges::default()
        },
    );
    assert!(matches!(
        store.update_user(&taken_email),
        Err(UpdateUserError::Conflict(UniqueField::Email))
    ));
    assert_eq!(
        store.get_user(tenant.id, bob.id).unwrap(),
        Some(bob.clone())
    );
    assert_eq!(store.user_history(tenant.id, bob.id).unwrap().len(), 1);
    // Bob's roles were not replaced either: no ADMIN in the role index.
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 0);

    // A create whose e-mail collides (its username does not): no row, no
    // history entry, no role rows.
    let mut carol = NewUser::new(
        Username::parse("carol").unwrap(),
        Email::parse("ALICE@example.com").unwrap(),
    );
    carol.roles = BTreeSet::from([Role::Admin]);
    let carol = carol.into_user(tenant.id, now());
    assert!(matches!(
        store.create_user(&carol, &creation(&carol)),
        Err(CreateUserError::Conflict(UniqueField::Email))
    ));
    assert_eq!(store.get_user(tenant.id, carol.id).unwrap(), None);
    assert!(store.user_history(tenant.id, carol.id).unwrap().is_empty());
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 0);

    // The same id again.
    let mut twin = user(tenant.id, "twin");
    twin.id = alice.id;
    assert!(matches!(
        store.create_user(&twin, &creation(&twin)),
        Err(CreateUserError::Conflict(UniqueField::Id))
    ));
    assert_eq!(
        store.get_user(tenant.id, alice.id).unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_history(tenant.id, alice.id).unwrap().len(), 1);

    // carol can be created once her e-mail is her own.
    let carol = user(tenant.id, "carol");
    create(store, &carol);
}

/// The conflict comes from the last statement of the transaction (the
/// history entry), after the user and role rows were written.
fn a_purged_id_is_not_reused(store: &Store) {
    let tenant = tenant(store);
    let mut alice = user(tenant.id, "alice");
    alice.roles = BTreeSet::from([Role::Admin]);
    create(store, &alice);
    store.purge_user(tenant.id, alice.id).unwrap();

    let mut again = user(tenant.id, "alice2");
    again.id = alice.id;
    again.roles = BTreeSet::from([Role::Admin]);
    assert!(matches!(
        store.create_user(&again, &creation(&again)),
        Err(CreateUserError::Conflict(UniqueField::Id))
    ));
    assert_eq!(store.get_user(tenant.id, alice.id).unwrap(), None);
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 0);
    assert_eq!(
        store.user_history(tenant.id, alice.id).unwrap(),
        vec![creation(&alice)]
    );
    // Nothing of the failed create holds its username either.
    create(store, &user(tenant.id, "alice2"));
}

fn create_in_an_unknown_tenant_fails(store: &Store) {
    let ghost = user(TenantId::new_random(), "alice");
    assert!(matches!(
        store.create_user(&ghost, &creation(&ghost)),
        Err(CreateUserError::TenantNotFound)
    ));
}

fn soft_deleted_users_keep_their_username(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    create(store, &alice);
    let delete = change(
        &alice,
        &UserChanges {
            status: Some(Status::Deleted),
            ..UserChanges::default()
        },
    );
    store.update_user(&delete).unwrap();
    let stored = store.get_user(tenant.id, alice.id).unwrap().unwrap();
    assert_eq!(stored.status, Status::Deleted);
    assert_eq!(stored.version, 2);

    let again = NewUser::new(
        Username::parse("Alice").unwrap(),
        Email::parse("another@example.com").unwrap(),
    )
    .into_user(tenant.id, now());
    assert!(matches!(
        store.create_user(&again, &creation(&again)),
        Err(CreateUserError::Conflict(UniqueField::Username))
    ));
}

fn purge_removes_the_user_and_keeps_its_history(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    create(store, &alice);
    let update = change(
        &alice,
        &UserChanges {
            roles: Some(BTreeSet::from([Role::Admin])),
            memberships: Some(vec![Membership::new(
                OrganizationId::parse("org").unwrap(),
                [],
                [],
            )]),
            ..UserChanges::default()
        },
    );
    store.update_user(&update).unwrap();
    let session = crate::credentials::session(&tenant, alice.id, "purge");
    store.create_session(&session).unwrap();

    store.purge_user(tenant.id, alice.id).unwrap();
    assert_eq!(store.get_user(tenant.id, alice.id).unwrap(), None);
    assert_eq!(store.user_history(tenant.id, alice.id).unwrap().len(), 2);
    // Sessions, roles and organizations went with the row.
    assert_eq!(
        store
            .find_session_by_access_hash(&session.access_hash)
            .unwrap(),
        None
    );
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 0);
    assert!(matches!(
        store.purge_user(tenant.id, alice.id),
        Err(PurgeUserError::NotFound)
    ));
    // The username is free again.
    create(store, &user(tenant.id, "alice"));
}

fn the_last_active_admin_stays(store: &Store) {
    let tenant = tenant(store);
    let mut admin = user(tenant.id, "root");
    admin.roles = BTreeSet::from([Role::Admin]);
    create(store, &admin);
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 1);

    for changes in [
        UserChanges {
            status: Some(Status::Blocked),
            ..UserChanges::default()
        },
        UserChanges {
            roles: Some(BTreeSet::from([Role::StandardUser])),
            ..UserChanges::default()
        },
        UserChanges {
            status: Some(Status::Deleted),
            ..UserChanges::default()
        },
    ] {
        let update = change(&admin, &changes);
        assert!(update.removes_active_admin);
        assert!(matches!(
            store.update_user(&update),
            Err(UpdateUserError::LastActiveAdmin)
        ));
        assert_eq!(
            store.get_user(tenant.id, admin.id).unwrap(),
            Some(admin.clone())
        );
        assert_eq!(store.user_history(tenant.id, admin.id).unwrap().len(), 1);
    }

    // An inactive admin does not count; an active second one does.
    let mut dormant = user(tenant.id, "dormant");
    dormant.roles = BTreeSet::from([Role::Admin]);
    dormant.status = Status::Inactive;
    create(store, &dormant);
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 1);
    let mut second = user(tenant.id, "second");
    second.roles = BTreeSet::from([Role::Admin, Role::StandardUser]);
    create(store, &second);
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 2);

    let demote = change(
        &admin,
        &UserChanges {
            roles: Some(BTreeSet::from([Role::StandardUser])),
            ..UserChanges::default()
        },
    );
    store.update_user(&demote).unwrap();
    assert_eq!(store.count_active_admins(tenant.id).unwrap(), 1);
}

fn tenants_never_see_each_other(store: &Store) {
    let a = tenant(store);
    let b = tenant(store);
    let alice = user(a.id, "alice");
    create(store, &alice);
    // The same username and e-mail are free in another tenant.
    let other_alice = user(b.id, "alice");
    create(store, &other_alice);

    assert_eq!(store.get_user(b.id, alice.id).unwrap(), None);
    assert_eq!(
        store
            .find_user_by_username(b.id, &alice.username.key())
            .unwrap(),
        Some(other_alice.clone())
    );
    let list_both = |t: &Tenant| {
        store
            .list_users(
                t.id,
                &UserQuery {
                    filter: UserFilter {
                        ids: BTreeSet::from([alice.id, other_alice.id]),
                        ..UserFilter::default()
                    },
                    sort: Sort::default(),
                    page: PageRequest::Offset {
                        offset: 0,
                        limit: 10,
                    },
                    with_total: true,
                },
            )
            .unwrap()
    };
    assert_eq!(list_both(&a).users, vec![alice.clone()]);
    let page = list_both(&b);
    assert_eq!(page.users, vec![other_alice.clone()]);
    assert_eq!(page.total, Some(1));

    // Writes addressed to the wrong tenant find nothing.
    let mut hijack = change(
        &alice,
        &UserChanges {
            last_name: Patch::Set(PersonName::parse("Mallory").unwrap()),
            ..UserChanges::default()
        },
    );
    hijack.user.tenant = b.id;
    assert!(matches!(
        store.update_user(&hijack),
        Err(UpdateUserError::NotFound)
    ));
    assert!(matches!(
        store.purge_user(b.id, alice.id),
        Err(PurgeUserError::NotFound)
    ));
    assert!(store.user_history(b.id, alice.id).unwrap().is_empty());
    assert_eq!(store.get_user(a.id, alice.id).unwrap(), Some(alice));
}

/// A user is its tenant and its id together: two tenants may each have a
/// user with the same id (Nevis lets a create choose it), and nothing done to
/// one touches the other — not its row, its role, organization and attribute
/// rows, its sessions nor its history.
fn the_same_id_in_two_tenants_is_two_users(store: &Store) {
    let a = tenant(store);
    let b = tenant(store);
    let site = AttributeName::parse("site").unwrap();
    let member =
        |organization: &str| Membership::new(OrganizationId::parse(organization).unwrap(), [], []);
    let twin = |tenant: TenantId, name: &str, id: UserId| {
        let mut user = user(tenant, name);
        user.id = id;
        user.roles = BTreeSet::from([Role::Admin]);
        user.memberships = vec![member("org-1")];
        user.attributes
            .insert(site.clone(), AttributeValue::parse("bern").unwrap());
        user
    };
    let id = UserId::new_random();
    let alice = twin(a.id, "alice", id);
    let bob = twin(b.id, "bob", id);
    create(store, &alice);
    // The id is taken in A only: not a conflict in B.
    create(store, &bob);
    assert_eq!(store.get_user(a.id, id).unwrap(), Some(alice.clone()));
    assert_eq!(store.get_user(b.id, id).unwrap(), Some(bob.clone()));
    let session_a = crate::credentials::session(&a, id, "twin-a");
    let session_b = crate::credentials::session(&b, id, "twin-b");
    store.create_session(&session_a).unwrap();
    store.create_session(&session_b).unwrap();

    // Every filter that reads a table derived from the user, and the id set.
    let list = |t: &Tenant, filter: UserFilter| {
        let page = store
            .list_users(
                t.id,
                &UserQuery {
                    filter,
                    sort: Sort::default(),
                    page: PageRequest::Offset {
                        offset: 0,
                        limit: 10,
                    },
                    with_total: true,
                },
            )
            .unwrap();
        assert_eq!(page.total, Some(page.users.len() as u64));
        page.users
    };
    let by_organization = |organization: &str| UserFilter {
        organization: Some(OrganizationId::parse(organization).unwrap()),
        ..UserFilter::default()
    };
    let by_site = |value: &str| UserFilter {
        attributes: BTreeMap::from([(site.clone(), AttributeValue::parse(value).unwrap())]),
        ..UserFilter::default()
    };
    let filters = || {
        [
            UserFilter {
                ids: BTreeSet::from([id]),
                ..UserFilter::default()
            },
            UserFilter {
                roles: BTreeSet::from([Role::Admin]),
                ..UserFilter::default()
            },
            by_organization("org-1"),
            by_site("bern"),
        ]
    };
    for (t, user) in [(&a, &alice), (&b, &bob)] {
        for filter in filters() {
            assert_eq!(list(t, filter), vec![user.clone()]);
        }
        assert_eq!(store.count_active_admins(t.id).unwrap(), 1);
    }

    // Writes to A's user: an update that replaces its derived rows, a login,
    // a revocation of its sessions.
    let update = change(
        &alice,
        &UserChanges {
            last_name: Patch::Set(PersonName::parse("Smith").unwrap()),
            roles: Some(BTreeSet::from([Role::Admin, Role::StandardUser])),
            memberships: Some(vec![member("org-2")]),
            attributes: BTreeMap::from([(
                site.clone(),
                Some(AttributeValue::parse("zurich").unwrap()),
            )]),
            ..UserChanges::default()
        },
    );
    store.update_user(&update).unwrap();
    let authentication = LastAuthentication {
        at: now(),
        valid_until: now() + Duration::hours(1),
        location: None,
    };
    store
        .record_authentication(a.id, id, &authentication)
        .unwrap();
    store.revoke_user_sessions(a.id, id, now()).unwrap();
    let mut alice = update.user;
    alice.last_authentication = Some(authentication);
    assert_eq!(store.get_user(a.id, id).unwrap(), Some(alice.clone()));
    assert_eq!(list(&a, by_organization("org-1")), vec![]);
    assert_eq!(list(&a, by_organization("org-2")), vec![alice.clone()]);
    assert_eq!(list(&a, by_site("bern")), vec![]);
    assert_eq!(list(&a, by_site("zurich")), vec![alice.clone()]);
    assert!(
        store
            .find_session_by_access_hash(&session_a.access_hash)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    // ... leave B's as it was.
    let b_is_untouched = || {
        assert_eq!(store.get_user(b.id, id).unwrap(), Some(bob.clone()));
        for filter in filters() {
            assert_eq!(list(&b, filter), vec![bob.clone()]);
        }
        assert_eq!(list(&b, by_organization("org-2")), vec![]);
        assert_eq!(list(&b, by_site("zurich")), vec![]);
        assert_eq!(store.count_active_admins(b.id).unwrap(), 1);
        assert_eq!(
            store
                .find_session_by_access_hash(&session_b.access_hash)
                .unwrap(),
            Some(session_b.clone())
        );
        assert_eq!(store.user_history(b.id, id).unwrap(), vec![creation(&bob)]);
    };
    b_is_untouched();

    // Purging A's user takes its derived rows and sessions, not B's.
    store.purge_user(a.id, id).unwrap();
    assert_eq!(store.get_user(a.id, id).unwrap(), None);
    for filter in filters() {
        assert_eq!(list(&a, filter), vec![]);
    }
    assert_eq!(store.count_active_admins(a.id).unwrap(), 0);
    assert_eq!(
        store
            .find_session_by_access_hash(&session_a.access_hash)
            .unwrap(),
        None
    );
    assert_eq!(store.user_history(a.id, id).unwrap().len(), 2);
    b_is_untouched();

    // The purged id stays taken in A (its history is there), and only there.
    let again = twin(a.id, "alice2", id);
    assert!(matches!(
        store.create_user(&again, &creation(&again)),
        Err(CreateUserError::Conflict(UniqueField::Id))
    ));
    let c = tenant(store);
    create(store, &twin(c.id, "carol", id));
    b_is_untouched();
}

backend_tests!(
    round_trip_of_a_fully_populated_user,
    history_records_creation_and_changes,
    stale_and_unknown_updates_change_nothing,
    failed_writes_leave_nothing_behind,
    a_purged_id_is_not_reused,
    create_in_an_unknown_tenant_fails,
    soft_deleted_users_keep_their_username,
    purge_removes_the_user_and_keeps_its_history,
    the_last_active_admin_stays,
    tenants_never_see_each_other,
    the_same_id_in_two_tenants_is_two_users,
);
