//! Tenants: Nevis's instance, cl2c's tenant, SELISE Blocks' project. Every
//! user, key and session belongs to exactly one.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ValueError;
use crate::password::PasswordPolicy;
use crate::types::{AttributeName, TenantId};

/// A tenant's name: 1 to 63 characters of lowercase ASCII letters, digits,
/// `.`, `_` and `-`, starting with a letter or digit. Lowercase only so that
/// a name means one tenant however a header or a script spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantName(String);

impl TenantName {
    /// Check a tenant name.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ValueError::required());
        }
        if name.chars().count() > 63 {
            return Err(ValueError::new("too_long", "must be at most 63 characters"));
        }
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !(first_ok && rest_ok) {
            return Err(ValueError::new(
                "invalid_format",
                "must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantName {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantName> for String {
    fn from(value: TenantName) -> Self {
        value.0
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Identifier.
    pub id: TenantId,
    /// Unique name.
    pub name: TenantName,
    /// The rules new passwords of its users must meet.
    pub password_policy: PasswordPolicy,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl Tenant {
    /// A new tenant with the default password policy.
    pub fn new(name: TenantName, now: OffsetDateTime) -> Self {
        Self {
            id: TenantId::new_random(),
            name,
            password_policy: PasswordPolicy::default(),
            created_at: now,
        }
    }
}

/// A custom attribute a tenant declared (Nevis's custom user attributes);
/// users of the tenant may carry values only for declared names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDefinition {
    /// The tenant.
    pub tenant: TenantId,
    /// The attribute's name.
    pub name: AttributeName,
    /// What it is for.
    pub description: Option<String>,
    /// When it was declared.
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names() {
        for ok in ["acme", "acme-prod", "a", "t1.eu_west", "0day"] {
            assert_eq!(TenantName::parse(ok).unwrap().as_str(), ok);
        }
        for (bad, code) in [
            ("", "required"),
            ("Acme", "invalid_format"),
            ("-acme", "invalid_format"),
            ("ac me", "invalid_format"),
            ("acmé", "invalid_format"),
        ] {
            assert_eq!(TenantName::parse(bad).unwrap_err().code, code, "{bad}");
        }
        assert_eq!(
            TenantName::parse(&"a".repeat(64)).unwrap_err().code,
            "too_long"
        );
    }
}
