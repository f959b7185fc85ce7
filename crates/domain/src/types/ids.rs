//! Identifiers of the things userhub stores. Each kind of id is its own type
//! so that a tenant id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValueError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (version 4) id.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an id that is already a UUID (e.g. read back from storage).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The id as a UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses any form the `uuid` crate accepts (hyphenated, simple,
            /// braced, URN), ignoring surrounding whitespace.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                let input = input.trim();
                if input.is_empty() {
                    return Err(ValueError::required());
                }
                Uuid::try_parse(input).map(Self).map_err(|_| {
                    ValueError::new("invalid_format", "must be a UUID")
                })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
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

        /// Lowercase hyphenated, the form every dialect answers with.
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

uuid_id!(
    /// A user's id, unique within its tenant (a user is identified by its
    /// tenant and its id together).
    UserId
);
uuid_id!(
    /// A tenant's id (Nevis's instance, cl2c's tenant, Blocks's project).
    TenantId
);
uuid_id!(
    /// An API key's id; the key's secret is stored separately, hashed.
    ApiKeyId
);
uuid_id!(
    /// A login session's id (the bearer token's record, not the token).
    SessionId
);
uuid_id!(
    /// A webhook's id.
    WebhookId
);
uuid_id!(
    /// One delivery attempt's id (sent as `X-Userhub-Delivery`).
    DeliveryId
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_uuid_form_and_renders_lowercase_hyphenated() {
        let expected = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        for input in [
            "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67E55044-10B1-426F-9247-BB680E5FE0C8",
            "67e5504410b1426f9247bb680e5fe0c8",
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "  67e55044-10b1-426f-9247-bb680e5fe0c8 ",
        ] {
            let id = UserId::parse(input).unwrap();
            assert_eq!(id.to_string(), expected, "{input}");
        }
    }

    #[test]
    fn rejects_non_uuids() {
        for input in [
            "not-a-uuid",
            "67e55044-10b1-426f-9247",
            "67e55044-10b1-426f-9247-bb680e5fe0cg",
        ] {
            assert_eq!(
                TenantId::parse(input).unwrap_err().code,
                "invalid_format",
                "{input}"
            );
        }
        assert_eq!(ApiKeyId::parse("  ").unwrap_err().code, "required");
    }

    #[test]
    fn random_ids_are_v4_and_distinct() {
        let a = SessionId::new_random();
        let b = SessionId::new_random();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 4);
    }

    #[test]
    fn serde_uses_the_string_and_revalidates() {
        let id = UserId::from_uuid(Uuid::nil());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"00000000-0000-0000-0000-000000000000\"");
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<UserId>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(bytes in any::<[u8; 16]>()) {
            let id = UserId::from_uuid(Uuid::from_bytes(bytes));
            prop_assert_eq!(UserId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = UserId::parse(&s);
        }
    }
}
