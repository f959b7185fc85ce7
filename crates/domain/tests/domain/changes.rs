//! Applying changes: exact changed sets, idempotence, derived resets, history.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::Value;
use userhub_domain::authz::ActorRef;
use userhub_domain::history::HistoryEntry;
use userhub_domain::types::{Email, PersonName, Role, Status, TenantId};
use userhub_domain::{Patch, UserChanges, UserField};

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

/// A change built from several single-field changes plus generated names,
/// roles and statuses.
fn any_change() -> impl Strategy<Value = UserChanges> {
    (
        proptest::collection::vec(any_field(), 0..6),
        name_patch(),
        name_patch(),
        proptest::option::of(proptest::sample::subsequence(Role::ALL.to_vec(), 0..3)),
        proptest::option::of(proptest::sample::select(Status::ALL.to_vec())),
    )
        .prop_map(|(fields, first, last, roles, status)| {
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
    take!(address);
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
    take!(mfa);
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
