//! The `users.profile` column: every field of a user that is neither
//! filtered, sorted nor unique, as one JSON object.
//!
//! Fields are camelCase and optional on reading (`serde(default)`), so a
//! field added later reads as its default from older rows. Each value is
//! re-validated by the domain type's own `Deserialize` on the way out.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use userhub_domain::User;
use userhub_domain::types::{
    Account, Address, BirthDate, CustomAttributes, Gender, Locale, Membership, MfaSettings,
    PersonName, PhoneNumber, Platform, Remarks, Role, Tag, TimeZone, Title, WalletAddress,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Title>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<BirthDate>,
    pub address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<PhoneNumber>,
    /// Also written to `user_roles`, which only serves filters.
    pub roles: BTreeSet<Role>,
    pub account: Account,
    /// Their organizations are also written to `user_organizations`.
    pub memberships: Vec<Membership>,
    pub mfa: MfaSettings,
    pub allowed_login_types: BTreeSet<u8>,
    pub tags: BTreeSet<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    pub attributes: CustomAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<Remarks>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wallet_address: Option<WalletAddress>,
}

impl Profile {
    pub(crate) fn of(user: &User) -> Self {
        Self {
            title: user.title.clone(),
            first_name: user.first_name.clone(),
            middle_name: user.middle_name.clone(),
            last_name: user.last_name.clone(),
            locale: user.locale.clone(),
            time_zone: user.time_zone.clone(),
            gender: user.gender,
            birth_date: user.birth_date,
            address: user.address.clone(),
            phone: user.phone.clone(),
            fax: user.fax.clone(),
            roles: user.roles.clone(),
            account: user.account.clone(),
            memberships: user.memberships.clone(),
            mfa: user.mfa,
            allowed_login_types: user.allowed_login_types.clone(),
            tags: user.tags.clone(),
            platform: user.platform.clone(),
            attributes: user.attributes.clone(),
            remarks: user.remarks.clone(),
            wallet_address: user.wallet_address.clone(),
        }
    }
}
