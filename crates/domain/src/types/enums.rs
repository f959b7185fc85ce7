//! Closed sets of values. Each renders as one fixed string (the vendors'
//! spelling) and parses case-insensitively, so `active`, `Active` and
//! `ACTIVE` from different dialects mean the same thing.

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

macro_rules! string_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $count:literal {
            $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [Self; $count] = [$(Self::$variant,)+];

            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// Matches `input` (trimmed) against the canonical spellings,
            /// ignoring ASCII case.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                let input = input.trim();
                if input.is_empty() {
                    return Err(ValueError::required());
                }
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str().eq_ignore_ascii_case(input))
                    .ok_or_else(|| {
                        let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        ValueError::new(
                            "unknown_value",
                            format!("must be one of: {}", allowed.join(", ")),
                        )
                    })
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValueError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }
    };
}

string_enum!(
    /// A person's gender as Nevis records it.
    Gender, 3 {
        /// `female`
        Female => "female",
        /// `male`
        Male => "male",
        /// `other`
        Other => "other",
    }
);

string_enum!(
    /// A user's global role, ordered as declared.
    ///
    /// ```
    /// use userhub_domain::types::Role;
    ///
    /// assert_eq!(Role::parse(" api_user ").unwrap(), Role::ApiUser);
    /// assert_eq!(Role::ApiUser.to_string(), "API_USER");
    /// ```
    Role, 6 {
        /// May only read public information.
        Guest => "GUEST",
        /// A machine client.
        ApiUser => "API_USER",
        /// An ordinary user.
        StandardUser => "STANDARD_USER",
        /// May change other users' profiles and usernames.
        PowerUser => "POWER_USER",
        /// A standard user with extended features.
        ExtendedUser => "EXTENDED_USER",
        /// May change everything, including passwords, roles and status.
        Admin => "ADMIN",
    }
);

string_enum!(
    /// A user's lifecycle state.
    Status, 5 {
        /// Created but not yet activated.
        Inactive => "INACTIVE",
        /// May log in.
        Active => "ACTIVE",
        /// Access has lapsed.
        Expired => "EXPIRED",
        /// Locked by an administrator.
        Blocked => "BLOCKED",
        /// Soft-deleted: invisible to every read, but the username stays taken.
        Deleted => "DELETED",
    }
);

string_enum!(
    /// Whether an account is a person's or an organization's. New accounts
    /// belong to a person unless said otherwise.
    #[derive(Default)]
    AccountType, 2 {
        /// A person's own account.
        #[default]
        Individual => "INDIVIDUAL",
        /// An organization's account.
        Organization => "ORGANIZATION",
    }
);

string_enum!(
    /// The plan an account subscribes to; none until one is chosen.
    #[derive(Default)]
    SubscriptionPlan, 7 {
        /// No subscription.
        #[default]
        None => "NONE",
        /// A time-limited trial.
        Trial => "TRIAL",
        /// Basic, billed monthly.
        BasicMonthly => "BASIC_MONTHLY",
        /// Basic, billed yearly.
        BasicYearly => "BASIC_YEARLY",
        /// Premium, billed monthly.
        PremiumMonthly => "PREMIUM_MONTHLY",
        /// Premium, billed yearly.
        PremiumYearly => "PREMIUM_YEARLY",
        /// A negotiated plan.
        Custom => "CUSTOM",
    }
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn render_canonical_spellings() {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            roles,
            [
                "GUEST",
                "API_USER",
                "STANDARD_USER",
                "POWER_USER",
                "EXTENDED_USER",
                "ADMIN"
            ]
        );
        let statuses: Vec<String> = Status::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            statuses,
            ["INACTIVE", "ACTIVE", "EXPIRED", "BLOCKED", "DELETED"]
        );
        assert_eq!(Gender::Female.to_string(), "female");
        assert_eq!(AccountType::Organization.as_str(), "ORGANIZATION");
        assert_eq!(SubscriptionPlan::BasicMonthly.as_str(), "BASIC_MONTHLY");
        assert_eq!(SubscriptionPlan::PremiumYearly.as_str(), "PREMIUM_YEARLY");
    }

    #[test]
    fn parse_ignores_case_and_surrounding_whitespace() {
        assert_eq!(Role::parse(" api_user ").unwrap(), Role::ApiUser);
        assert_eq!(Role::parse("Standard_User").unwrap(), Role::StandardUser);
        assert_eq!(Status::parse("active").unwrap(), Status::Active);
        assert_eq!(Gender::parse("FEMALE").unwrap(), Gender::Female);
        assert_eq!(Gender::parse("Other").unwrap(), Gender::Other);
        assert_eq!(
            AccountType::parse("individual").unwrap(),
            AccountType::Individual
        );
        assert_eq!(
            SubscriptionPlan::parse("trial").unwrap(),
            SubscriptionPlan::Trial
        );
        assert_eq!("ADMIN".parse::<Role>().unwrap(), Role::Admin);
    }

    #[test]
    fn parse_rejects_unknown_values_listing_the_allowed_ones() {
        let err = Role::parse("SUPERUSER").unwrap_err();
        assert_eq!(err.code, "unknown_value");
        assert_eq!(
            err.message,
            "must be one of: GUEST, API_USER, STANDARD_USER, POWER_USER, EXTENDED_USER, ADMIN"
        );
        assert_eq!(
            Gender::parse("f").unwrap_err().message,
            "must be one of: female, male, other"
        );
        assert_eq!(
            Status::parse("['ACTIVE']").unwrap_err().code,
            "unknown_value"
        );
        assert_eq!(Role::parse("API USER").unwrap_err().code, "unknown_value");
        assert_eq!(SubscriptionPlan::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn defaults_and_order() {
        assert_eq!(AccountType::default(), AccountType::Individual);
        assert_eq!(SubscriptionPlan::default(), SubscriptionPlan::None);
        assert!(Role::Guest < Role::Admin);
    }

    #[test]
    fn serde_uses_the_canonical_string() {
        assert_eq!(
            serde_json::to_string(&Role::ApiUser).unwrap(),
            "\"API_USER\""
        );
        assert_eq!(
            serde_json::from_str::<Role>("\"api_user\"").unwrap(),
            Role::ApiUser
        );
        assert_eq!(
            serde_json::from_str::<Gender>("\"male\"").unwrap(),
            Gender::Male
        );
        assert!(serde_json::from_str::<Status>("\"GONE\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(i in 0usize..64, upper in any::<bool>()) {
            macro_rules! check {
                ($($ty:ty),*) => {$(
                    let value = <$ty>::ALL[i % <$ty>::ALL.len()];
                    let text = if upper { value.as_str().to_ascii_uppercase() } else { value.as_str().to_ascii_lowercase() };
                    prop_assert_eq!(<$ty>::parse(&text).unwrap(), value);
                    prop_assert_eq!(<$ty>::parse(&value.to_string()).unwrap(), value);
                )*};
            }
            check!(Gender, Role, Status, AccountType, SubscriptionPlan);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Role::parse(&s);
            let _ = Gender::parse(&s);
        }
    }
}
