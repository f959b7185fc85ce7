//! A user's membership in an organization (Blocks `memberships`).

use serde::{Deserialize, Serialize};

use super::{MembershipRole, OrganizationId, Permission};

/// The roles and permissions a user holds within one organization.
///
/// Roles and permissions are sets: [`Membership::new`] (and deserializing)
/// sorts and de-duplicates them, so that two memberships granting the same
/// things compare equal whatever order a client listed them in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "MembershipData")]
pub struct Membership {
    /// The organization.
    pub organization: OrganizationId,
    /// Roles within the organization, sorted and unique.
    pub roles: Vec<MembershipRole>,
    /// Permissions within the organization, sorted and unique.
    pub permissions: Vec<Permission>,
}

impl Membership {
    /// A membership with `roles` and `permissions` sorted and de-duplicated.
    pub fn new(
        organization: OrganizationId,
        roles: impl IntoIterator<Item = MembershipRole>,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> Self {
        Self {
            organization,
            roles: sorted_unique(roles),
            permissions: sorted_unique(permissions),
        }
    }
}

fn sorted_unique<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.into_iter().collect();
    items.sort();
    items.dedup();
    items
}

/// The wire shape, normalised through [`Membership::new`] on the way in.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembershipData {
    organization: OrganizationId,
    #[serde(default)]
    roles: Vec<MembershipRole>,
    #[serde(default)]
    permissions: Vec<Permission>,
}

impl From<MembershipData> for Membership {
    fn from(data: MembershipData) -> Self {
        Membership::new(data.organization, data.roles, data.permissions)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn role(s: &str) -> MembershipRole {
        MembershipRole::parse(s).unwrap()
    }

    fn permission(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn roles_and_permissions_compare_as_sets() {
        let org = OrganizationId::parse("org-1").unwrap();
        let a = Membership::new(
            org.clone(),
            [role("owner"), role("admin"), role("owner")],
            [permission("users.write"), permission("users.read")],
        );
        let b = Membership::new(
            org,
            [role("admin"), role("owner")],
            [
                permission("users.read"),
                permission("users.write"),
                permission("users.read"),
            ],
        );
        assert_eq!(a, b);
        assert_eq!(a.roles, [role("admin"), role("owner")]);
    }

    #[test]
    fn serde_uses_camel_case_and_normalises() {
        let json = r#"{"organization":"org-1","roles":["b","a","b"],"permissions":["x"]}"#;
        let membership: Membership = serde_json::from_str(json).unwrap();
        assert_eq!(membership.roles, [role("a"), role("b")]);
        assert_eq!(
            serde_json::to_string(&membership).unwrap(),
            r#"{"organization":"org-1","roles":["a","b"],"permissions":["x"]}"#
        );
        let bare: Membership = serde_json::from_str(r#"{"organization":"org-2"}"#).unwrap();
        assert!(bare.roles.is_empty() && bare.permissions.is_empty());
        assert!(serde_json::from_str::<Membership>(r#"{"organization":""}"#).is_err());
        assert!(
            serde_json::from_str::<Membership>(r#"{"organization":"o","roles":[""]}"#).is_err()
        );
    }
}
