//! A user's membership in an organization (Blocks `memberships`), and the
//! rule a user's list of them keeps: one membership per organization.
//!
//! A second membership in the same organization would leave it unclear which
//! roles the user holds there, so a list that names an organization twice is
//! refused ([`memberships_by_organization`]), and adding a membership in an
//! organization the user already belongs to keeps the one they have
//! ([`add_membership`]).

use serde::{Deserialize, Serialize};

use super::{MembershipRole, OrganizationId, Permission};
use crate::error::{Field, ValidationErrors, ValueError};

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

/// The one-membership-per-organization rule for one more membership:
/// refused (`duplicate`) when `listed` already has a membership in the
/// organization of `next`.
///
/// The error names no field: the caller attaches its own name (and index)
/// with [`ValidationErrors::check`], so a request's errors stay in its order.
pub fn check_one_per_organization(
    listed: &[Membership],
    next: &Membership,
) -> Result<(), ValueError> {
    if listed.iter().any(|m| m.organization == next.organization) {
        Err(ValueError::new(
            "duplicate",
            "names an organization already listed: one membership per organization",
        ))
    } else {
        Ok(())
    }
}

/// `memberships` as a user may hold them: each organization at most once.
///
/// Every membership whose organization an earlier one already names is an
/// error at `memberships[i].organization` (`i` counting from 0), all of them
/// listed.
///
/// ```
/// use userhub_domain::types::{Membership, OrganizationId, memberships_by_organization};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let a = Membership::new(OrganizationId::parse("org_a")?, [], []);
/// let b = Membership::new(OrganizationId::parse("org_b")?, [], []);
/// assert!(memberships_by_organization(vec![a.clone(), b.clone()]).is_ok());
///
/// let refused = memberships_by_organization(vec![a.clone(), b, a]);
/// let fields: Vec<String> = refused
///     .err()
///     .map(|errors| errors.into_iter().map(|e| e.field.to_string()).collect())
///     .unwrap_or_default();
/// assert_eq!(fields, ["memberships[2].organization"]);
/// # Ok(())
/// # }
/// ```
pub fn memberships_by_organization(
    memberships: Vec<Membership>,
) -> Result<Vec<Membership>, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    for (i, membership) in memberships.iter().enumerate() {
        errors.check(
            Field::MembershipOrganization(i),
            check_one_per_organization(&memberships[..i], membership),
        );
    }
    errors.into_result().map(|()| memberships)
}

/// Add `membership` to `memberships` unless they already have one in its
/// organization; that one is kept as it is (its roles and permissions are
/// not replaced). Returns whether it was added.
///
/// Adding the same membership twice is the same as adding it once.
pub fn add_membership(memberships: &mut Vec<Membership>, membership: Membership) -> bool {
    if check_one_per_organization(memberships, &membership).is_ok() {
        memberships.push(membership);
        true
    } else {
        false
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

    fn bare(org: &str) -> Membership {
        Membership::new(OrganizationId::parse(org).unwrap(), [], [])
    }

    #[test]
    fn a_list_names_each_organization_once() {
        let unique = vec![bare("a"), bare("b")];
        assert_eq!(memberships_by_organization(unique.clone()).unwrap(), unique);
        assert!(memberships_by_organization(Vec::new()).unwrap().is_empty());
        let errors = memberships_by_organization(vec![bare("a"), bare("b"), bare("a"), bare("b")])
            .unwrap_err();
        let fields: Vec<String> = errors
            .errors()
            .iter()
            .map(|e| e.field.to_string())
            .collect();
        assert_eq!(
            fields,
            ["memberships[2].organization", "memberships[3].organization"]
        );
        assert!(errors.errors().iter().all(|e| e.code == "duplicate"));
    }

    #[test]
    fn adding_keeps_the_membership_the_user_has() {
        let owner = Membership::new(OrganizationId::parse("a").unwrap(), [role("owner")], []);
        let mut list = vec![owner.clone()];
        assert!(!add_membership(&mut list, bare("a")));
        assert_eq!(list, std::slice::from_ref(&owner));
        assert!(add_membership(&mut list, bare("b")));
        assert!(!add_membership(&mut list, bare("b")));
        assert_eq!(list, [owner, bare("b")]);
        assert_eq!(
            check_one_per_organization(&list, &bare("b"))
                .unwrap_err()
                .code,
            "duplicate"
        );
        assert!(check_one_per_organization(&list, &bare("c")).is_ok());
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
