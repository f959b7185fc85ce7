//! The user: its fields, how a new one is described, and how a change to it
//! is described and applied.
//!
//! [`User::apply`] is the one place where a change turns into a new state; it
//! reports exactly which fields really changed, so history, authorization and
//! version bumps all agree on what happened.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::fields::UserField;
use crate::password::PasswordHash;
use crate::types::{
    Account, AccountType, Address, AddressLine, AttributeName, AttributeValue, AuthLocation,
    BirthDate, Company, CountryCode, CustomAttributes, Email, ExternalId, Gender, Industry, Locale,
    Location, Membership, MfaSettings, OrganizationId, PersonName, PhoneNumber, PictureId,
    PictureUrl, Platform, Remarks, Role, Status, SubscriptionPlan, Tag, TenantId, TimeZone, Title,
    UserId, Username, WalletAddress, add_membership,
};

/// When and where a user last logged in, and until when that login is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastAuthentication {
    /// When the user logged in.
    pub at: OffsetDateTime,
    /// When that login's session expires.
    pub valid_until: OffsetDateTime,
    /// Where the login came from (e.g. the client address), if known.
    pub location: Option<AuthLocation>,
}

/// A user as stored: every field valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identifier, unique within its tenant (another tenant may have a user
    /// with the same id: a user is its tenant and its id together).
    pub id: UserId,
    /// The tenant the user belongs to; never changes.
    pub tenant: TenantId,
    /// Login name, unique per tenant (by its key).
    pub username: Username,
    /// E-mail address, unique per tenant (by its key).
    pub email: Email,
    /// Password hash; `None` when the user cannot log in with a password.
    pub password: Option<PasswordHash>,
    /// Honorific title or salutation.
    pub title: Option<Title>,
    /// Given name.
    pub first_name: Option<PersonName>,
    /// Middle name.
    pub middle_name: Option<PersonName>,
    /// Family name.
    pub last_name: Option<PersonName>,
    /// Preferred language and region.
    pub locale: Option<Locale>,
    /// IANA time zone.
    pub time_zone: Option<TimeZone>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Date of birth.
    pub birth_date: Option<BirthDate>,
    /// Postal address (every part optional).
    pub address: Address,
    /// Primary phone number (E.164).
    pub phone: Option<PhoneNumber>,
    /// Fax number (E.164).
    pub fax: Option<PhoneNumber>,
    /// Service roles.
    pub roles: BTreeSet<Role>,
    /// Life-cycle status.
    pub status: Status,
    /// Account details and verification flags.
    pub account: Account,
    /// Organization memberships, at most one per organization (every write
    /// through [`service`](crate::service) keeps it so).
    pub memberships: Vec<Membership>,
    /// Multi-factor authentication settings.
    pub mfa: MfaSettings,
    /// Allowed login types (SELISE Blocks' numeric codes).
    pub allowed_login_types: BTreeSet<u8>,
    /// Tags.
    pub tags: BTreeSet<Tag>,
    /// Platform the user was created on.
    pub platform: Option<Platform>,
    /// Custom attributes, each declared by the tenant.
    pub attributes: CustomAttributes,
    /// Free-text remarks.
    pub remarks: Option<Remarks>,
    /// Wallet address.
    pub wallet_address: Option<WalletAddress>,
    /// The identity provider's id (SCIM `externalId`), unique per tenant.
    pub external_id: Option<ExternalId>,
    /// The last password login, if any.
    pub last_authentication: Option<LastAuthentication>,
    /// Version for optimistic concurrency: 1 at creation, +1 on every change.
    pub version: u64,
    /// When the user was created.
    pub created_at: OffsetDateTime,
    /// When the user last changed.
    pub updated_at: OffsetDateTime,
}

/// Roles a user gets when the creating request names none.
pub fn default_roles() -> BTreeSet<Role> {
    BTreeSet::from([Role::StandardUser])
}

/// A user to create: the required identifiers plus any other fields.
///
/// Build it with [`NewUser::new`] and set the optional fields directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// A caller-chosen id (Nevis allows it); a random one otherwise.
    pub id: Option<UserId>,
    /// Login name.
    pub username: Username,
    /// E-mail address.
    pub email: Email,
    /// Password hash, already made from a policy-checked password.
    pub password: Option<PasswordHash>,
    /// Honorific title.
    pub title: Option<Title>,
    /// Given name.
    pub first_name: Option<PersonName>,
    /// Middle name.
    pub middle_name: Option<PersonName>,
    /// Family name.
    pub last_name: Option<PersonName>,
    /// Language and region.
    pub locale: Option<Locale>,
    /// IANA time zone.
    pub time_zone: Option<TimeZone>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Date of birth.
    pub birth_date: Option<BirthDate>,
    /// Postal address.
    pub address: Address,
    /// Primary phone number.
    pub phone: Option<PhoneNumber>,
    /// Fax number.
    pub fax: Option<PhoneNumber>,
    /// Service roles; [`default_roles`] when built with [`NewUser::new`].
    pub roles: BTreeSet<Role>,
    /// Status; ACTIVE when built with [`NewUser::new`].
    pub status: Status,
    /// Account details.
    pub account: Account,
    /// Organization memberships, at most one per organization:
    /// [`service::create_user`](crate::service::create_user) refuses a list
    /// that names an organization twice (see
    /// [`memberships_by_organization`](crate::types::memberships_by_organization)).
    pub memberships: Vec<Membership>,
    /// MFA settings.
    pub mfa: MfaSettings,
    /// Allowed login types.
    pub allowed_login_types: BTreeSet<u8>,
    /// Tags.
    pub tags: BTreeSet<Tag>,
    /// Platform.
    pub platform: Option<Platform>,
    /// Custom attributes (already checked against the tenant's declarations).
    pub attributes: CustomAttributes,
    /// Remarks.
    pub remarks: Option<Remarks>,
    /// Wallet address.
    pub wallet_address: Option<WalletAddress>,
    /// The identity provider's id.
    pub external_id: Option<ExternalId>,
}

impl NewUser {
    /// A new ACTIVE user with the default roles and nothing else set.
    pub fn new(username: Username, email: Email) -> Self {
        Self {
            id: None,
            username,
            email,
            password: None,
            title: None,
            first_name: None,
            middle_name: None,
            last_name: None,
            locale: None,
            time_zone: None,
            gender: None,
            birth_date: None,
            address: Address::default(),
            phone: None,
            fax: None,
            roles: default_roles(),
            status: Status::Active,
            account: Account::default(),
            memberships: Vec::new(),
            mfa: MfaSettings::default(),
            allowed_login_types: BTreeSet::new(),
            tags: BTreeSet::new(),
            platform: None,
            attributes: CustomAttributes::default(),
            remarks: None,
            wallet_address: None,
            external_id: None,
        }
    }

    /// Words a password must not be built from: the new user's identifiers.
    pub fn password_context(&self) -> Vec<&str> {
        let mut words = vec![self.username.as_str(), self.email.as_str()];
        words.extend(self.first_name.as_ref().map(|n| n.as_str()));
        words.extend(self.last_name.as_ref().map(|n| n.as_str()));
        words
    }

    /// The stored user this becomes in `tenant` at `now`, at version 1.
    pub fn into_user(self, tenant: TenantId, now: OffsetDateTime) -> User {
        User {
            id: self.id.unwrap_or_else(UserId::new_random),
            tenant,
            username: self.username,
            email: self.email,
            password: self.password,
            title: self.title,
            first_name: self.first_name,
            middle_name: self.middle_name,
            last_name: self.last_name,
            locale: self.locale,
            time_zone: self.time_zone,
            gender: self.gender,
            birth_date: self.birth_date,
            address: self.address,
            phone: self.phone,
            fax: self.fax,
            roles: self.roles,
            status: self.status,
            account: self.account,
            memberships: self.memberships,
            mfa: self.mfa,
            allowed_login_types: self.allowed_login_types,
            tags: self.tags,
            platform: self.platform,
            attributes: self.attributes,
            remarks: self.remarks,
            wallet_address: self.wallet_address,
            external_id: self.external_id,
            last_authentication: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

/// What a change does to one optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Keep the current value.
    #[default]
    Leave,
    /// Remove the value.
    Clear,
    /// Replace the value.
    Set(T),
}

impl<T> Patch<T> {
    /// The value this sets, if it sets one (a leave and a clear set none).
    pub fn into_set(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            Patch::Leave | Patch::Clear => None,
        }
    }
}

impl<T: Clone> Patch<T> {
    /// `None` → leave, `Some(None)` → clear, `Some(Some(v))` → set: the
    /// shape serde gives a JSON field that may be absent, `null` or a value.
    pub fn from_nested(value: Option<Option<T>>) -> Self {
        match value {
            None => Patch::Leave,
            Some(None) => Patch::Clear,
            Some(Some(v)) => Patch::Set(v),
        }
    }

    /// Whether this leaves the field alone.
    pub fn is_leave(&self) -> bool {
        matches!(self, Patch::Leave)
    }

    fn apply_to(&self, current: &mut Option<T>) {
        match self {
            Patch::Leave => {}
            Patch::Clear => *current = None,
            Patch::Set(v) => *current = Some(v.clone()),
        }
    }
}

/// Changes to the parts of a postal address, each part left, cleared or set
/// on its own: changing the city keeps the street.
///
/// [`AddressChanges::replace`] and [`AddressChanges::clear`] change every
/// part at once.
///
/// ```
/// use userhub_domain::types::{Address, AddressLine};
/// use userhub_domain::{AddressChanges, Patch};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let current = Address {
///     street: Some(AddressLine::parse("Bahnhofstrasse")?),
///     city: Some(AddressLine::parse("Zürich")?),
///     ..Address::default()
/// };
/// let moved = AddressChanges {
///     city: Patch::Set(AddressLine::parse("Bern")?),
///     ..AddressChanges::default()
/// };
/// let next = moved.applied_to(&current);
/// assert_eq!(next.city.as_ref().map(|c| c.as_str()), Some("Bern"));
/// assert_eq!(next.street, current.street);
/// assert!(AddressChanges::clear().applied_to(&current).is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressChanges {
    /// ISO 3166-1 alpha-2 country.
    pub country: Patch<CountryCode>,
    /// City or town.
    pub city: Patch<AddressLine>,
    /// Postal (ZIP) code.
    pub postal_code: Patch<AddressLine>,
    /// First free-form address line.
    pub address_line1: Patch<AddressLine>,
    /// Second free-form address line.
    pub address_line2: Patch<AddressLine>,
    /// Street name.
    pub street: Patch<AddressLine>,
    /// House number.
    pub house_number: Patch<AddressLine>,
    /// Apartment or unit number.
    pub dwelling_number: Patch<AddressLine>,
    /// Post office box label.
    pub post_office_box_text: Patch<AddressLine>,
    /// Post office box number.
    pub post_office_box_number: Patch<AddressLine>,
    /// Locality within the city.
    pub locality: Patch<AddressLine>,
}

impl AddressChanges {
    /// Replace the whole address by `address`: each part it has is set,
    /// each part it lacks is cleared.
    pub fn replace(address: Address) -> Self {
        fn whole<T>(part: Option<T>) -> Patch<T> {
            part.map_or(Patch::Clear, Patch::Set)
        }
        Self {
            country: whole(address.country),
            city: whole(address.city),
            postal_code: whole(address.postal_code),
            address_line1: whole(address.address_line1),
            address_line2: whole(address.address_line2),
            street: whole(address.street),
            house_number: whole(address.house_number),
            dwelling_number: whole(address.dwelling_number),
            post_office_box_text: whole(address.post_office_box_text),
            post_office_box_number: whole(address.post_office_box_number),
            locality: whole(address.locality),
        }
    }

    /// Remove the whole address: every part is cleared.
    pub fn clear() -> Self {
        Self::replace(Address::default())
    }

    /// Whether every part is left alone.
    pub fn is_leave(&self) -> bool {
        *self == Self::default()
    }

    /// `current` with these changes made.
    pub fn applied_to(&self, current: &Address) -> Address {
        let mut next = current.clone();
        self.country.apply_to(&mut next.country);
        self.city.apply_to(&mut next.city);
        self.postal_code.apply_to(&mut next.postal_code);
        self.address_line1.apply_to(&mut next.address_line1);
        self.address_line2.apply_to(&mut next.address_line2);
        self.street.apply_to(&mut next.street);
        self.house_number.apply_to(&mut next.house_number);
        self.dwelling_number.apply_to(&mut next.dwelling_number);
        self.post_office_box_text
            .apply_to(&mut next.post_office_box_text);
        self.post_office_box_number
            .apply_to(&mut next.post_office_box_number);
        self.locality.apply_to(&mut next.locality);
        next
    }
}

/// Changes to an account's details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    /// Individual or organization.
    pub account_type: Option<AccountType>,
    /// Company.
    pub company: Patch<Company>,
    /// Industry.
    pub industry: Patch<Industry>,
    /// Location.
    pub location: Patch<Location>,
    /// Profile picture URL.
    pub profile_picture_url: Patch<PictureUrl>,
    /// Profile picture id.
    pub profile_picture_id: Patch<PictureId>,
    /// Subscription plan.
    pub subscription_plan: Option<SubscriptionPlan>,
    /// E-mail verified flag.
    pub email_verified: Option<bool>,
    /// Phone verified flag.
    pub phone_verified: Option<bool>,
}

/// A change to a user. Every field defaults to "leave alone"; required
/// fields can only be left or set, optional ones also cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// New login name.
    pub username: Option<Username>,
    /// New e-mail address (resets the verified flag unless it is set too).
    pub email: Option<Email>,
    /// New password hash.
    pub password: Option<PasswordHash>,
    /// Title.
    pub title: Patch<Title>,
    /// Given name.
    pub first_name: Patch<PersonName>,
    /// Middle name.
    pub middle_name: Patch<PersonName>,
    /// Family name.
    pub last_name: Patch<PersonName>,
    /// Locale.
    pub locale: Patch<Locale>,
    /// Time zone.
    pub time_zone: Patch<TimeZone>,
    /// Gender.
    pub gender: Patch<Gender>,
    /// Birth date.
    pub birth_date: Patch<BirthDate>,
    /// Address parts; [`AddressChanges::replace`] replaces the whole address.
    pub address: AddressChanges,
    /// Primary phone (resets the phone verified flag unless it is set too).
    pub phone: Patch<PhoneNumber>,
    /// Fax.
    pub fax: Patch<PhoneNumber>,
    /// The full set of roles.
    pub roles: Option<BTreeSet<Role>>,
    /// Status.
    pub status: Option<Status>,
    /// Account details.
    pub account: AccountChanges,
    /// The full list of memberships, applied before
    /// [`add_memberships`](Self::add_memberships). It must name each
    /// organization once: [`service::update_user`](crate::service::update_user)
    /// refuses one that does not, and [`User::apply`] keeps the first
    /// membership of an organization named twice.
    pub memberships: Option<Vec<Membership>>,
    /// Memberships to add, after [`memberships`](Self::memberships): each is
    /// added unless the user already has a membership in its organization
    /// (one added earlier in this list included); the existing membership is
    /// kept as it is, not replaced. Adding is idempotent.
    pub add_memberships: Vec<Membership>,
    /// Whether MFA is required; the MFA type is left as it is unless
    /// [`mfa_type`](Self::mfa_type) changes it too.
    pub mfa_enabled: Option<bool>,
    /// The MFA type code; `mfa_enabled` is left as it is unless it is
    /// changed too.
    pub mfa_type: Patch<u8>,
    /// The full set of allowed login types.
    pub allowed_login_types: Option<BTreeSet<u8>>,
    /// The full set of tags.
    pub tags: Option<BTreeSet<Tag>>,
    /// Platform.
    pub platform: Patch<Platform>,
    /// Attributes to set (`Some`) or remove (`None`); others are kept.
    pub attributes: BTreeMap<AttributeName, Option<AttributeValue>>,
    /// Remarks.
    pub remarks: Patch<Remarks>,
    /// Wallet address.
    pub wallet_address: Patch<WalletAddress>,
    /// The identity provider's id.
    pub external_id: Patch<ExternalId>,
    /// Organizations whose membership ends, after
    /// [`add_memberships`](Self::add_memberships); naming one the user is
    /// not a member of changes nothing.
    pub remove_memberships: BTreeSet<OrganizationId>,
    /// Roles to add, after [`roles`](Self::roles) (SCIM's `add` to a
    /// multi-valued attribute).
    pub add_roles: BTreeSet<Role>,
    /// Roles to remove, after [`add_roles`](Self::add_roles).
    pub remove_roles: BTreeSet<Role>,
}

impl UserChanges {
    /// Words a new password in this change must not be built from: the
    /// identifiers the change itself sets.
    pub fn password_context(&self) -> Vec<&str> {
        let mut words: Vec<&str> = Vec::new();
        words.extend(self.username.as_ref().map(|u| u.as_str()));
        words.extend(self.email.as_ref().map(|e| e.as_str()));
        for name in [&self.first_name, &self.last_name] {
            if let Patch::Set(name) = name {
                words.push(name.as_str());
            }
        }
        words
    }
}

/// The result of applying a change: the new state and the fields that
/// really differ from the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    /// The user after the change (version and timestamps not yet bumped).
    pub user: User,
    /// The fields whose value differs; empty when nothing really changed.
    pub changed: BTreeSet<UserField>,
}

fn set_if<T: Clone>(value: &Option<T>, current: &mut T) {
    if let Some(v) = value {
        *current = v.clone();
    }
}

impl User {
    /// Apply `changes` and report what really changed.
    ///
    /// Parts of a composite value (address parts, the MFA flag and type,
    /// added memberships) are applied to this user's current value, so a
    /// caller changing one part never reads and re-sends the rest; the
    /// composite still counts as one changed field ([`UserField::Address`],
    /// [`UserField::Mfa`], [`UserField::Memberships`]). The result never
    /// holds two memberships in one organization.
    ///
    /// Applying the same change twice gives the same user as applying it
    /// once (the second time changes nothing). Version and `updated_at` are
    /// left as they are: bumping them is the caller's step once the change
    /// is authorized and non-empty.
    pub fn apply(&self, changes: &UserChanges) -> AppliedChange {
        let mut next = self.clone();
        set_if(&changes.username, &mut next.username);
        set_if(&changes.email, &mut next.email);
        if let Some(hash) = &changes.password {
            next.password = Some(hash.clone());
        }
        changes.title.apply_to(&mut next.title);
        changes.first_name.apply_to(&mut next.first_name);
        changes.middle_name.apply_to(&mut next.middle_name);
        changes.last_name.apply_to(&mut next.last_name);
        changes.locale.apply_to(&mut next.locale);
        changes.time_zone.apply_to(&mut next.time_zone);
        changes.gender.apply_to(&mut next.gender);
        changes.birth_date.apply_to(&mut next.birth_date);
        next.address = changes.address.applied_to(&self.address);
        changes.phone.apply_to(&mut next.phone);
        changes.fax.apply_to(&mut next.fax);
        set_if(&changes.roles, &mut next.roles);
        next.roles.extend(changes.add_roles.iter().copied());
        next.roles.retain(|r| !changes.remove_roles.contains(r));
        set_if(&changes.status, &mut next.status);

        let account = &changes.account;
        set_if(&account.account_type, &mut next.account.account_type);
        account.company.apply_to(&mut next.account.company);
        account.industry.apply_to(&mut next.account.industry);
        account.location.apply_to(&mut next.account.location);
        account
            .profile_picture_url
            .apply_to(&mut next.account.profile_picture_url);
        account
            .profile_picture_id
            .apply_to(&mut next.account.profile_picture_id);
        set_if(
            &account.subscription_plan,
            &mut next.account.subscription_plan,
        );
        // A new address has not been verified, whatever the old one was.
        if next.email.key() != self.email.key() {
            next.account.email_verified = false;
        }
        if next.phone != self.phone {
            next.account.phone_verified = false;
        }
        set_if(&account.email_verified, &mut next.account.email_verified);
        set_if(&account.phone_verified, &mut next.account.phone_verified);

        if let Some(memberships) = &changes.memberships {
            next.memberships = Vec::new();
            for membership in memberships {
                add_membership(&mut next.memberships, membership.clone());
            }
        }
        for membership in &changes.add_memberships {
            add_membership(&mut next.memberships, membership.clone());
        }
        next.memberships
            .retain(|m| !changes.remove_memberships.contains(&m.organization));
        set_if(&changes.mfa_enabled, &mut next.mfa.enabled);
        changes.mfa_type.apply_to(&mut next.mfa.mfa_type);
        set_if(&changes.allowed_login_types, &mut next.allowed_login_types);
        set_if(&changes.tags, &mut next.tags);
        changes.platform.apply_to(&mut next.platform);
        for (name, value) in &changes.attributes {
            match value {
                Some(v) => {
                    next.attributes.insert(name.clone(), v.clone());
                }
                None => {
                    next.attributes.remove(name);
                }
            }
        }
        changes.remarks.apply_to(&mut next.remarks);
        changes.wallet_address.apply_to(&mut next.wallet_address);
        changes.external_id.apply_to(&mut next.external_id);

        let changed = UserField::ALL
            .into_iter()
            .filter(|&field| self.differs_from(&next, field))
            .collect();
        AppliedChange {
            user: next,
            changed,
        }
    }

    fn differs_from(&self, other: &User, field: UserField) -> bool {
        match field {
            // Compared directly: secrets have no history value to compare.
            UserField::Password => self.password != other.password,
            _ => self.field_value(field) != other.field_value(field),
        }
    }

    /// The field's value as JSON, for history entries and audit views.
    /// Secrets render as `null`: their values are never recorded.
    pub fn field_value(&self, field: UserField) -> Value {
        fn opt<T: AsRef<str>>(value: &Option<T>) -> Value {
            value
                .as_ref()
                .map_or(Value::Null, |v| Value::String(v.as_ref().to_owned()))
        }
        match field {
            UserField::Username => json!(self.username.as_str()),
            UserField::Email => json!(self.email.as_str()),
            UserField::Password => Value::Null,
            UserField::Title => opt(&self.title),
            UserField::FirstName => opt(&self.first_name),
            UserField::MiddleName => opt(&self.middle_name),
            UserField::LastName => opt(&self.last_name),
            UserField::Locale => opt(&self.locale),
            UserField::TimeZone => opt(&self.time_zone),
            UserField::Gender => self.gender.map_or(Value::Null, |g| json!(g.as_str())),
            UserField::BirthDate => self
                .birth_date
                .as_ref()
                .map_or(Value::Null, |d| json!(d.to_string())),
            UserField::Address => to_json(&self.address),
            UserField::Phone => opt(&self.phone),
            UserField::Fax => opt(&self.fax),
            UserField::Roles => json!(self.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            UserField::Status => json!(self.status.as_str()),
            UserField::AccountType => json!(self.account.account_type.as_str()),
            UserField::Company => opt(&self.account.company),
            UserField::Industry => opt(&self.account.industry),
            UserField::Location => opt(&self.account.location),
            UserField::ProfilePictureUrl => opt(&self.account.profile_picture_url),
            UserField::ProfilePictureId => opt(&self.account.profile_picture_id),
            UserField::SubscriptionPlan => json!(self.account.subscription_plan.as_str()),
            UserField::EmailVerified => json!(self.account.email_verified),
            UserField::PhoneVerified => json!(self.account.phone_verified),
            UserField::Memberships => to_json(&self.memberships),
            UserField::Mfa => to_json(&self.mfa),
            UserField::AllowedLoginTypes => json!(self.allowed_login_types),
            UserField::Tags => json!(self.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
            UserField::Platform => opt(&self.platform),
            UserField::Attributes => to_json(&self.attributes),
            UserField::Remarks => opt(&self.remarks),
            UserField::WalletAddress => opt(&self.wallet_address),
            UserField::ExternalId => opt(&self.external_id),
        }
    }

    /// Whether the user counts as an active administrator of its tenant.
    pub fn is_active_admin(&self) -> bool {
        self.status == Status::Active && self.roles.contains(&Role::Admin)
    }

    /// Whether reads should answer for this user as for one that does not exist.
    pub fn is_deleted(&self) -> bool {
        self.status == Status::Deleted
    }

    /// Words a password must not be built from: the user's own identifiers.
    pub fn password_context(&self) -> Vec<&str> {
        let mut words = vec![self.username.as_str(), self.email.as_str()];
        words.extend(self.first_name.as_ref().map(|n| n.as_str()));
        words.extend(self.last_name.as_ref().map(|n| n.as_str()));
        words
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    // Serializing our own plain data types cannot fail; Null is a safe fallback.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
