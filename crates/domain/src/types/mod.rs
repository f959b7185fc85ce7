//! The domain's value types: every value a user record holds, each one
//! constructible only in a valid form ("parse, don't validate").
//!
//! A value that exists has passed its rules, so code that receives one never
//! re-checks it. Deserializing re-validates too (`serde(try_from = "String")`),
//! so a stored or submitted value cannot smuggle an invalid one past `parse`.

#[macro_use]
mod macros;

mod account;
mod address;
mod attributes;
mod birth_date;
mod charset;
mod country;
mod enums;
mod identifiers;
mod ids;
mod locale;
mod membership;
mod mfa;
mod phone;
mod text;
mod timezone;

pub use account::Account;
pub use address::Address;
pub use attributes::{
    AttributeEntry, AttributeInput, AttributeName, CustomAttributes, DeclaredAttributes,
};
pub use birth_date::BirthDate;
pub use country::CountryCode;
pub use enums::{AccountType, Gender, Role, Status, SubscriptionPlan};
pub use identifiers::{
    Email, EmailKey, Username, UsernameKey, UsernameSkeleton, email_login, uniqueness_key,
};
pub use ids::{ApiKeyId, DeliveryId, SessionId, TenantId, UserId, WebhookId};
pub use locale::Locale;
pub use membership::{
    Membership, add_membership, check_one_per_organization, memberships_by_organization,
};
pub use mfa::MfaSettings;
pub use phone::PhoneNumber;
pub use text::{
    AddressLine, AttributeValue, AuthLocation, Company, ExternalId, GroupName, Industry, Location,
    MembershipRole, OrganizationId, Permission, PersonName, PictureId, PictureUrl, Platform,
    Remarks, Tag, Title, WalletAddress,
};
pub use timezone::TimeZone;
