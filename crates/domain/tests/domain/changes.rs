//! Applying changes: exact changed sets, idempotence, derived resets, history.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::Value;
use userhub_domain::authz::{Actor, ActorRef, Decision, Principal, authorize_change};
use userhub_domain::history::HistoryEntry;
use userhub_domain::types::{
    Address, AddressLine, CountryCode, Email, Membership, MembershipRole, MfaSettings,
    OrganizationId, PersonName, Role, Status, TenantId,
};
use userhub_domain::{AddressChanges, Patch, User, UserChanges, UserField};

use crate::support::{change_of, user};

fn any_field() -> impl Strategy<Value = UserField> {
    proptest::sample::select(UserField::ALL.to_vec())
}

fn name_patch() -> impl Strategy<Value = Patch<PersonName>> {
    prop_oneof![
        Just(Patch::Leave),
        Just(Patch::Clear),
        "[A-Za-z]{1,12}".prop_map(|s| Patch::Set(PersonName::parse(&s).unwrap())),
    ]
}

fn line_patch() -> impl Strategy<Value = Patch<AddressLine>> {
    prop_oneof![
        Just(Patch::Leave),
        Just(Patch::Clear),
        "[A-Za-z]{1,12}".prop_map(|s| Patch::Set(AddressLine::parse(&s).unwrap())),
    ]
}

fn mfa_type_patch() -> impl Strategy<Value = Patch<u8>> {
    prop_oneof![
        Just(Patch::Leave),
        Just(Patch::Clear),
        any::<u8>().prop_map(Patch::Set),
    ]
}

/// Bare memberships to add, possibly repeating an organization (`org_123`
/// is also the one [`change_of`] lists for [`UserField::Memberships`]).
fn added_memberships() -> impl Strategy<Value = Vec<Membership>> {
    proptest::collection::vec(
        proptest::sample::select(vec!["org_123", "org_2"]).prop_map(bare),
        0..3,
    )
}

/// A change built from several single-field changes plus generated names,
/// roles, statuses, address parts, MFA parts and memberships to add.
fn any_change() -> impl Strategy<Value = UserChanges> {
    (
        proptest::collection::vec(any_field(), 0..6),
        name_patch(),
        name_patch(),
        proptest::option::of(proptest::sample::subsequence(Role::ALL.to_vec(), 0..3)),
        proptest::option::of(proptest::sample::select(Status::ALL.to_vec())),
        (
            line_patch(),
            line_patch(),
            proptest::option::of(any::<bool>()),
            mfa_type_patch(),
            added_memberships(),
        ),
    )
        .prop_map(|(fields, first, last, roles, status, parts)| {
            let (city, street, mfa_enabled, mfa_type, add_memberships) = parts;
            let mut changes = UserChanges::default();
            for field in fields {
                merge(&mut changes, change_of(field));
            }
            changes.first_name = first;
            changes.last_name = last;
            if let Some(roles) = roles {
                changes.roles = Some(roles.into_iter().collect());
            }
            if status.is_some() {
                changes.status = status;
            }
            if !city.is_leave() {
                changes.address.city = city;
            }
            if !street.is_leave() {
                changes.address.street = street;
            }
            if mfa_enabled.is_some() {
                changes.mfa_enabled = mfa_enabled;
            }
            if !mfa_type.is_leave() {
                changes.mfa_type = mfa_type;
            }
            changes.add_memberships = add_memberships;
            changes
        })
}

/// Take every field `other` touches.
fn merge(into: &mut UserChanges, other: UserChanges) {
    let d = UserChanges::default();
    macro_rules! take {
        ($($f:ident).+) => {
            if other.$($f).+ != d.$($f).+ {
                into.$($f).+ = other.$($f).+.clone();
            }
        };
    }
    take!(username);
    take!(email);
    take!(password);
    take!(title);
    take!(first_name);
    take!(middle_name);
    take!(last_name);
    take!(locale);
    take!(time_zone);
    take!(gender);
    take!(birth_date);
    take!(address.country);
    take!(address.city);
    take!(address.postal_code);
    take!(address.address_line1);
    take!(address.address_line2);
    take!(address.street);
    take!(address.house_number);
    take!(address.dwelling_number);
    take!(address.post_office_box_text);
    take!(address.post_office_box_number);
    take!(address.locality);
    take!(phone);
    take!(fax);
    take!(roles);
    take!(status);
    take!(account.account_type);
    take!(account.company);
    take!(account.industry);
    take!(account.location);
    take!(account.profile_picture_url);
    take!(account.profile_picture_id);
    take!(account.subscription_plan);
    take!(account.email_verified);
    take!(account.phone_verified);
    take!(memberships);
    take!(add_memberships);
    take!(mfa_enabled);
    take!(mfa_type);
    take!(allowed_login_types);
    take!(tags);
    take!(platform);
    take!(attributes);
    take!(remarks);
    take!(wallet_address);
}

proptest! {
    #[test]
    fn applying_twice_equals_applying_once(changes in any_change()) {
        let base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
        let once = base.apply(&changes);
        let twice = once.user.apply(&changes);
        prop_assert_eq!(&twice.user, &once.user);
        prop_assert!(twice.changed.is_empty(), "second application changed {:?}", twice.changed);
    }

    #[test]
    fn changed_fields_are_exactly_the_differing_ones(changes in any_change()) {
        let base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
        let applied = base.apply(&changes);
        for field in UserField::ALL {
            let differs = match field {
                UserField::Password => base.password != applied.user.password,
                _ => base.field_value(field) != applied.user.field_value(field),
            };
            prop_assert_eq!(applied.changed.contains(&field), differs, "{}", field);
        }
        prop_assert_eq!(applied.changed.is_empty(), applied.user == base);
    }
}

#[test]
fn each_single_field_change_changes_exactly_that_field() {
    let base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
    for field in UserField::ALL {
        let applied = base.apply(&change_of(field));
        let expected = match field {
            // A new e-mail address or phone number is not verified yet.
            UserField::Email | UserField::Phone => applied.changed.contains(&field),
            _ => applied.changed == BTreeSet::from([field]),
        };
        assert!(expected, "{field}: {:?}", applied.changed);
    }
}

#[test]
fn an_empty_change_changes_nothing() {
    let base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
    let applied = base.apply(&UserChanges::default());
    assert!(applied.changed.is_empty());
    assert_eq!(applied.user, base);
}

#[test]
fn a_new_email_is_not_verified_unless_the_change_says_so() {
    let mut base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
    base.account.email_verified = true;
    let moved = base.apply(&change_of(UserField::Email));
    assert!(!moved.user.account.email_verified);
    assert_eq!(
        moved.changed,
        BTreeSet::from([UserField::Email, UserField::EmailVerified])
    );
    // Only the letter case changed: the same address, still verified.
    let recased = base.apply(&UserChanges {
        email: Some(Email::parse("TARGET@Example.COM").unwrap()),
        ..UserChanges::default()
    });
    assert!(recased.user.account.email_verified);
    assert_eq!(recased.changed, BTreeSet::from([UserField::Email]));
}

#[test]
fn history_records_old_and_new_values_but_never_secrets() {
    let base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
    let mut changes = change_of(UserField::Password);
    changes.last_name = change_of(UserField::LastName).last_name;
    let applied = base.apply(&changes);
    let entry = HistoryEntry::for_change(
        &base,
        &applied.user,
        &applied.changed,
        ActorRef::System,
        None,
    );
    let password = entry
        .changes
        .iter()
        .find(|c| c.field == UserField::Password)
        .unwrap();
    assert_eq!((&password.old, &password.new), (&Value::Null, &Value::Null));
    let last = entry
        .changes
        .iter()
        .find(|c| c.field == UserField::LastName)
        .unwrap();
    assert_eq!(last.new, Value::String("Doe".into()));

    let created = HistoryEntry::for_creation(&applied.user, ActorRef::System, None);
    assert!(
        created
            .changes
            .iter()
            .any(|c| c.field == UserField::Password)
    );
    assert!(
        created
            .changes
            .iter()
            .all(|c| c.field != UserField::Password || c.new == Value::Null)
    );
}

fn line(s: &str) -> AddressLine {
    AddressLine::parse(s).unwrap()
}

fn bare(org: &str) -> Membership {
    Membership::new(OrganizationId::parse(org).unwrap(), [], [])
}

/// A user with an address, MFA settings and one membership to change parts of.
fn furnished() -> User {
    let mut base = user(TenantId::new_random(), "target", &[Role::StandardUser]);
    base.address = Address {
        country: Some(CountryCode::parse("CH").unwrap()),
        city: Some(line("Zurich")),
        street: Some(line("Bahnhofstrasse")),
        house_number: Some(line("1a")),
        ..Address::default()
    };
    base.mfa = MfaSettings {
        enabled: false,
        mfa_type: Some(3),
    };
    base.memberships = vec![Membership::new(
        OrganizationId::parse("org_1").unwrap(),
        [MembershipRole::parse("owner").unwrap()],
        [],
    )];
    base
}

fn assert_idempotent(base: &User, changes: &UserChanges) {
    let once = base.apply(changes);
    let twice = once.user.apply(changes);
    assert_eq!(twice.user, once.user);
    assert!(twice.changed.is_empty(), "{:?}", twice.changed);
}

#[test]
fn address_parts_change_one_by_one() {
    let base = furnished();
    let moved = UserChanges {
        address: AddressChanges {
            city: Patch::Set(line("Bern")),
            postal_code: Patch::Set(line("3011")),
            house_number: Patch::Clear,
            ..AddressChanges::default()
        },
        ..UserChanges::default()
    };
    let applied = base.apply(&moved);
    let address = &applied.user.address;
    assert_eq!(address.city, Some(line("Bern")));
    assert_eq!(address.postal_code, Some(line("3011")));
    assert_eq!(address.house_number, None);
    // The parts not named stay.
    assert_eq!(address.street, base.address.street);
    assert_eq!(address.country, base.address.country);
    assert_eq!(applied.changed, BTreeSet::from([UserField::Address]));
    assert_idempotent(&base, &moved);

    // Clearing a part that is not there changes nothing.
    let noop = UserChanges {
        address: AddressChanges {
            locality: Patch::Clear,
            ..AddressChanges::default()
        },
        ..UserChanges::default()
    };
    assert!(base.apply(&noop).changed.is_empty());
}

#[test]
fn replacing_or_clearing_an_address_changes_every_part() {
    let base = furnished();
    let replaced = base.apply(&UserChanges {
        address: AddressChanges::replace(Address {
            city: Some(line("Bern")),
            ..Address::default()
        }),
        ..UserChanges::default()
    });
    assert_eq!(
        replaced.user.address,
        Address {
            city: Some(line("Bern")),
            ..Address::default()
        }
    );
    assert_eq!(replaced.changed, BTreeSet::from([UserField::Address]));
    let cleared = base.apply(&UserChanges {
        address: AddressChanges::clear(),
        ..UserChanges::default()
    });
    assert!(cleared.user.address.is_empty());
    assert_eq!(cleared.changed, BTreeSet::from([UserField::Address]));
    assert!(AddressChanges::default().is_leave());
    assert!(!AddressChanges::clear().is_leave());
    assert_eq!(
        AddressChanges::replace(base.address.clone()).applied_to(&Address::default()),
        base.address
    );
}

#[test]
fn mfa_parts_change_independently() {
    let base = furnished();
    let enable = UserChanges {
        mfa_enabled: Some(true),
        ..UserChanges::default()
    };
    let enabled = base.apply(&enable);
    assert_eq!(
        enabled.user.mfa,
        MfaSettings {
            enabled: true,
            mfa_type: Some(3)
        }
    );
    assert_eq!(enabled.changed, BTreeSet::from([UserField::Mfa]));
    assert_idempotent(&base, &enable);

    let untyped = UserChanges {
        mfa_type: Patch::Clear,
        ..UserChanges::default()
    };
    let after = enabled.user.apply(&untyped);
    assert_eq!(
        after.user.mfa,
        MfaSettings {
            enabled: true,
            mfa_type: None
        }
    );
    assert_eq!(after.changed, BTreeSet::from([UserField::Mfa]));

    let both = UserChanges {
        mfa_enabled: Some(true),
        mfa_type: Patch::Set(1),
        ..UserChanges::default()
    };
    assert_eq!(
        base.apply(&both).user.mfa,
        MfaSettings {
            enabled: true,
            mfa_type: Some(1)
        }
    );
    // The flag as it is: nothing changes.
    let same = UserChanges {
        mfa_enabled: Some(false),
        ..UserChanges::default()
    };
    assert!(base.apply(&same).changed.is_empty());
}

#[test]
fn added_memberships_keep_existing_ones_and_are_idempotent() {
    let base = furnished();
    let add = UserChanges {
        add_memberships: vec![bare("org_1"), bare("org_2"), bare("org_2")],
        ..UserChanges::default()
    };
    let applied = base.apply(&add);
    // org_1 keeps its owner role; org_2 joins once.
    assert_eq!(
        applied.user.memberships,
        [base.memberships[0].clone(), bare("org_2")]
    );
    assert_eq!(applied.changed, BTreeSet::from([UserField::Memberships]));
    assert_idempotent(&base, &add);

    // Already a member: nothing changes.
    let again = UserChanges {
        add_memberships: vec![bare("org_1")],
        ..UserChanges::default()
    };
    assert!(base.apply(&again).changed.is_empty());

    // The whole list first, then the additions.
    let replace_and_add = UserChanges {
        memberships: Some(vec![bare("org_3"), bare("org_3")]),
        add_memberships: vec![bare("org_3"), bare("org_1")],
        ..UserChanges::default()
    };
    let replaced = base.apply(&replace_and_add);
    assert_eq!(replaced.user.memberships, [bare("org_3"), bare("org_1")]);
    assert_idempotent(&base, &replace_and_add);

    // Adding a membership is ADMIN only, like setting the list.
    let me = Actor {
        tenant: base.tenant,
        principal: Principal::User(base.id),
        roles: BTreeSet::from([Role::StandardUser]),
    };
    assert!(matches!(
        authorize_change(&me, &base, &add),
        Decision::Forbidden { fields, .. } if fields == vec![UserField::Memberships]
    ));
    assert_eq!(authorize_change(&me, &base, &again), Decision::Allowed);
}
