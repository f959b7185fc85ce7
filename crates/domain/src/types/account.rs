//! The account part of a user (iklim `account.*`, Blocks profile image).

use serde::{Deserialize, Serialize};

use super::{AccountType, Company, Industry, Location, PictureId, PictureUrl, SubscriptionPlan};

/// Account details of a user: who the account is for, its profile picture,
/// its plan, and which contact channels are verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    /// A person's or an organization's account.
    pub account_type: AccountType,
    /// The company the account belongs to.
    pub company: Option<Company>,
    /// The company's industry.
    pub industry: Option<Industry>,
    /// Where the account is based.
    pub location: Option<Location>,
    /// Where the profile picture can be fetched.
    pub profile_picture_url: Option<PictureUrl>,
    /// The stored profile picture's id.
    pub profile_picture_id: Option<PictureId>,
    /// The subscription plan.
    pub subscription_plan: SubscriptionPlan,
    /// Whether the user proved they receive mail at their e-mail address.
    pub email_verified: bool,
    /// Whether the user proved they own their phone number.
    pub phone_verified: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn default_is_an_unverified_individual_without_plan() {
        let account = Account::default();
        assert_eq!(account.account_type, AccountType::Individual);
        assert_eq!(account.subscription_plan, SubscriptionPlan::None);
        assert!(!account.email_verified && !account.phone_verified);
        assert!(account.company.is_none());
    }

    #[test]
    fn serde_uses_camel_case_and_revalidates() {
        let account = Account {
            account_type: AccountType::Organization,
            company: Some(Company::parse("Acme AG").unwrap()),
            profile_picture_url: Some(PictureUrl::parse("https://cdn.example.com/a.png").unwrap()),
            subscription_plan: SubscriptionPlan::PremiumYearly,
            email_verified: true,
            ..Account::default()
        };
        let json = serde_json::to_value(&account).unwrap();
        assert_eq!(json["accountType"], "ORGANIZATION");
        assert_eq!(json["profilePictureUrl"], "https://cdn.example.com/a.png");
        assert_eq!(json["subscriptionPlan"], "PREMIUM_YEARLY");
        assert_eq!(json["emailVerified"], true);
        assert_eq!(json["phoneVerified"], false);
        assert_eq!(serde_json::from_value::<Account>(json).unwrap(), account);

        assert_eq!(
            serde_json::from_str::<Account>("{}").unwrap(),
            Account::default()
        );
        assert!(
            serde_json::from_str::<Account>(r#"{"profilePictureUrl":"javascript:x"}"#).is_err()
        );
        assert!(serde_json::from_str::<Account>(r#"{"accountType":"TEAM"}"#).is_err());
    }
}
