//! The names of a user's fields, as the domain knows them: what a change
//! touched, what an actor was refused, what the history records.

use std::fmt;

use serde::Serialize;

/// One field of a user that a change can touch.
///
/// Names are the domain's own (camelCase); each dialect maps them onto its
/// vocabulary when it renders an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UserField {
    /// Login name.
    Username,
    /// E-mail address.
    Email,
    /// Password (its hash).
    Password,
    /// Honorific title or salutation.
    Title,
    /// Given name.
    FirstName,
    /// Middle name.
    MiddleName,
    /// Family name.
    LastName,
    /// Preferred language and region.
    Locale,
    /// IANA time zone.
    TimeZone,
    /// Gender.
    Gender,
    /// Date of birth.
    BirthDate,
    /// Postal address.
    Address,
    /// Primary (mobile or landline) phone number.
    Phone,
    /// Fax number.
    Fax,
    /// Service roles.
    Roles,
    /// Life-cycle status.
    Status,
    /// Individual or organization account.
    AccountType,
    /// Company.
    Company,
    /// Industry.
    Industry,
    /// Free-text location.
    Location,
    /// Profile picture URL.
    ProfilePictureUrl,
    /// Profile picture id.
    ProfilePictureId,
    /// Subscription plan.
    SubscriptionPlan,
    /// Whether the e-mail address is verified.
    EmailVerified,
    /// Whether the phone number is verified.
    PhoneVerified,
    /// Organization memberships.
    Memberships,
    /// Multi-factor authentication settings.
    Mfa,
    /// Allowed login types.
    AllowedLoginTypes,
    /// Tags.
    Tags,
    /// Platform the user was created on.
    Platform,
    /// Custom attributes declared by the tenant.
    Attributes,
    /// Remarks.
    Remarks,
    /// Wallet address.
    WalletAddress,
    /// The identity provider's id for the user (SCIM `externalId`).
    ExternalId,
}

impl UserField {
    /// Every field, in declaration order.
    pub const ALL: [UserField; 34] = [
        UserField::Username,
        UserField::Email,
        UserField::Password,
        UserField::Title,
        UserField::FirstName,
        UserField::MiddleName,
        UserField::LastName,
        UserField::Locale,
        UserField::TimeZone,
        UserField::Gender,
        UserField::BirthDate,
        UserField::Address,
        UserField::Phone,
        UserField::Fax,
        UserField::Roles,
        UserField::Status,
        UserField::AccountType,
        UserField::Company,
        UserField::Industry,
        UserField::Location,
        UserField::ProfilePictureUrl,
        UserField::ProfilePictureId,
        UserField::SubscriptionPlan,
        UserField::EmailVerified,
        UserField::PhoneVerified,
        UserField::Memberships,
        UserField::Mfa,
        UserField::AllowedLoginTypes,
        UserField::Tags,
        UserField::Platform,
        UserField::Attributes,
        UserField::Remarks,
        UserField::WalletAddress,
        UserField::ExternalId,
    ];

    /// The field's domain name (camelCase).
    pub fn as_str(self) -> &'static str {
        match self {
            UserField::Username => "username",
            UserField::Email => "email",
            UserField::Password => "password",
            UserField::Title => "title",
            UserField::FirstName => "firstName",
            UserField::MiddleName => "middleName",
            UserField::LastName => "lastName",
            UserField::Locale => "locale",
            UserField::TimeZone => "timeZone",
            UserField::Gender => "gender",
            UserField::BirthDate => "birthDate",
            UserField::Address => "address",
            UserField::Phone => "phone",
            UserField::Fax => "fax",
            UserField::Roles => "roles",
            UserField::Status => "status",
            UserField::AccountType => "accountType",
            UserField::Company => "company",
            UserField::Industry => "industry",
            UserField::Location => "location",
            UserField::ProfilePictureUrl => "profilePictureUrl",
            UserField::ProfilePictureId => "profilePictureId",
            UserField::SubscriptionPlan => "subscriptionPlan",
            UserField::EmailVerified => "emailVerified",
            UserField::PhoneVerified => "phoneVerified",
            UserField::Memberships => "memberships",
            UserField::Mfa => "mfa",
            UserField::AllowedLoginTypes => "allowedLoginTypes",
            UserField::Tags => "tags",
            UserField::Platform => "platform",
            UserField::Attributes => "attributes",
            UserField::Remarks => "remarks",
            UserField::WalletAddress => "walletAddress",
            UserField::ExternalId => "externalId",
        }
    }

    /// The field named `name` (as [`as_str`](Self::as_str) spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the field's value is a secret that history and logs must not show.
    pub fn is_secret(self) -> bool {
        matches!(self, UserField::Password)
    }
}

impl fmt::Display for UserField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
