//! Builders for valid users and for a change that touches exactly one field.

use std::collections::{BTreeMap, BTreeSet};

use std::cell::Cell;

use time::OffsetDateTime;
use userhub_domain::password::{HashParams, Password, PasswordHash, Verification, hash_password};
use userhub_domain::ports::{HashError, PasswordHasher};
use userhub_domain::types::*;
use userhub_domain::{AddressChanges, NewUser, Patch, User, UserChanges, UserField};

pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-23 12:00:00 UTC)
}

pub fn user(tenant: TenantId, name: &str, roles: &[Role]) -> User {
    let mut new = NewUser::new(
        Username::parse(name).unwrap(),
        Email::parse(&format!("{name}@example.com")).unwrap(),
    );
    new.roles = roles.iter().copied().collect();
    new.first_name = Some(PersonName::parse("John").unwrap());
    new.into_user(tenant, now())
}

const FAST: HashParams = HashParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

/// A change that gives `field` a value different from the one [`user`] has.
pub fn change_of(field: UserField) -> UserChanges {
    let mut c = UserChanges::default();
    match field {
        UserField::Username => c.username = Some(Username::parse("renamed").unwrap()),
        UserField::Email => c.email = Some(Email::parse("renamed@example.org").unwrap()),
        UserField::Password => {
            let password = Password::for_verification("another-long-secret-9");
            c.password = Some(hash_password(&password, &FAST).unwrap());
        }
        UserField::Title => c.title = Patch::Set(Title::parse("Dr.").unwrap()),
        UserField::FirstName => c.first_name = Patch::Clear,
        UserField::MiddleName => c.middle_name = Patch::Set(PersonName::parse("Bob").unwrap()),
        UserField::LastName => c.last_name = Patch::Set(PersonName::parse("Doe").unwrap()),
        UserField::Locale => c.locale = Patch::Set(Locale::parse("tr_TR").unwrap()),
        UserField::TimeZone => {
            c.time_zone = Patch::Set(TimeZone::parse("Europe/Istanbul").unwrap())
        }
        UserField::Gender => c.gender = Patch::Set(Gender::Other),
        UserField::BirthDate => {
            c.birth_date = Patch::Set(BirthDate::parse_at("1990-01-31", now().date()).unwrap())
        }
        UserField::Address => {
            c.address = AddressChanges::replace(Address {
                country: Some(CountryCode::parse("CH").unwrap()),
                city: Some(AddressLine::parse("Zurich").unwrap()),
                ..Address::default()
            })
        }
        UserField::Phone => c.phone = Patch::Set(PhoneNumber::parse("+41446681800").unwrap()),
        UserField::Fax => c.fax = Patch::Set(PhoneNumber::parse("+41446681800").unwrap()),
        UserField::Roles => c.roles = Some(BTreeSet::from([Role::Guest])),
        UserField::Status => c.status = Some(Status::Blocked),
        UserField::AccountType => c.account.account_type = Some(AccountType::Organization),
        UserField::Company => c.account.company = Patch::Set(Company::parse("ACME").unwrap()),
        UserField::Industry => c.account.industry = Patch::Set(Industry::parse("Retail").unwrap()),
        UserField::Location => c.account.location = Patch::Set(Location::parse("Bern").unwrap()),
        UserField::ProfilePictureUrl => {
            c.account.profile_picture_url =
                Patch::Set(PictureUrl::parse("https://example.com/image.jpg").unwrap())
        }
        UserField::ProfilePictureId => {
            c.account.profile_picture_id = Patch::Set(PictureId::parse("img_123").unwrap())
        }
        UserField::SubscriptionPlan => {
            c.account.subscription_plan = Some(SubscriptionPlan::PremiumYearly)
        }
        UserField::EmailVerified => c.account.email_verified = Some(true),
        UserField::PhoneVerified => c.account.phone_verified = Some(true),
        UserField::Memberships => {
            c.memberships = Some(vec![Membership::new(
                OrganizationId::parse("org_123").unwrap(),
                vec![MembershipRole::parse("admin").unwrap()],
                vec![Permission::parse("read").unwrap()],
            )])
        }
        UserField::Mfa => {
            c.mfa_enabled = Some(true);
            c.mfa_type = Patch::Set(1);
        }
        UserField::AllowedLoginTypes => c.allowed_login_types = Some(BTreeSet::from([0, 1])),
        UserField::Tags => c.tags = Some(BTreeSet::from([Tag::parse("developer").unwrap()])),
        UserField::Platform => c.platform = Patch::Set(Platform::parse("web").unwrap()),
        UserField::Attributes => {
            c.attributes = BTreeMap::from([(
                AttributeName::parse("department").unwrap(),
                Some(AttributeValue::parse("R&D").unwrap()),
            )])
        }
        UserField::Remarks => c.remarks = Patch::Set(Remarks::parse("VIP").unwrap()),
        UserField::WalletAddress => {
            c.wallet_address = Patch::Set(WalletAddress::parse("0xabc123").unwrap())
        }
        UserField::ExternalId => {
            c.external_id =
                Patch::Set(userhub_domain::types::ExternalId::parse("00u1ab2c").unwrap())
        }
    }
    c
}

/// A hasher with cheap parameters that counts its work, so a test can tell
/// whether an operation hashed before it refused.
#[derive(Default)]
pub struct CountingHasher {
    pub hashes: Cell<usize>,
    pub verifications: Cell<usize>,
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.hashes.set(self.hashes.get() + 1);
        hash_password(password, &FAST).map_err(|e| HashError::Failed(e.message))
    }

    fn verify(
        &self,
        stored: Option<&PasswordHash>,
        password: &Password,
    ) -> Result<Verification, HashError> {
        self.verifications.set(self.verifications.get() + 1);
        Ok(stored.map_or(Verification::Mismatch, |hash| hash.verify(password, &FAST)))
    }
}
