//! Listing users: filters, a stable order, and keyset (cursor) or offset
//! pages over the same query.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::types::{
    AttributeName, AttributeValue, OrganizationId, PersonName, Role, Status, UserId, uniqueness_key,
};
use crate::user::User;

/// How a username or e-mail filter matches, on the uniqueness key (so it is
/// case-insensitive and NFKC-normalised like the keys themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// The key equals this.
    Exact(String),
    /// The key starts with this.
    Prefix(String),
}

impl KeyMatch {
    /// Match keys equal to the key of `text`.
    pub fn exact(text: &str) -> Self {
        KeyMatch::Exact(search_key(text))
    }

    /// Match keys that start with the key of `text`.
    pub fn prefix(text: &str) -> Self {
        KeyMatch::Prefix(search_key(text))
    }

    /// Whether `key` matches.
    pub fn matches(&self, key: &str) -> bool {
        match self {
            KeyMatch::Exact(k) => key == k,
            KeyMatch::Prefix(p) => key.starts_with(p.as_str()),
        }
    }
}

/// The key of search text. Keys never hold control characters, so a NUL
/// (which PostgreSQL text cannot carry) becomes U+FFFD: it still matches
/// nothing a user could have, and the query stays valid.
fn search_key(text: &str) -> String {
    uniqueness_key(text).replace('\0', "\u{FFFD}")
}

/// Which users a list returns. Every filter given must hold; an empty set
/// means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Status is one of these.
    pub statuses: BTreeSet<Status>,
    /// Has at least one of these roles.
    pub roles: BTreeSet<Role>,
    /// Is a member of this organization.
    pub organization: Option<OrganizationId>,
    /// Username key matches.
    pub username: Option<KeyMatch>,
    /// E-mail key matches.
    pub email: Option<KeyMatch>,
    /// Created at or after.
    pub created_from: Option<OffsetDateTime>,
    /// Created before.
    pub created_before: Option<OffsetDateTime>,
    /// Id is one of these (empty: any).
    pub ids: BTreeSet<UserId>,
    /// First-name key matches.
    pub first_name: Option<KeyMatch>,
    /// Last-name key matches.
    pub last_name: Option<KeyMatch>,
    /// The first name, the last name or the username matches (a person
    /// search, as SELISE Blocks' `name` filter).
    pub any_name: Option<KeyMatch>,
    /// Has each of these custom attributes with exactly this value.
    pub attributes: BTreeMap<AttributeName, AttributeValue>,
}

impl UserFilter {
    /// Every status but DELETED: what dialects list by default, as deleted
    /// users answer as if they did not exist.
    pub fn not_deleted() -> Self {
        Self {
            statuses: Status::ALL
                .into_iter()
                .filter(|s| *s != Status::Deleted)
                .collect(),
            ..Self::default()
        }
    }

    /// Whether `user` passes the filter (the reference semantics the
    /// storage's SQL must agree with).
    pub fn matches(&self, user: &User) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&user.status))
            && (self.roles.is_empty() || self.roles.iter().any(|r| user.roles.contains(r)))
            && self
                .organization
                .as_ref()
                .is_none_or(|org| user.memberships.iter().any(|m| &m.organization == org))
            && self
                .username
                .as_ref()
                .is_none_or(|m| m.matches(user.username.key().as_str()))
            && self
                .email
                .as_ref()
                .is_none_or(|m| m.matches(user.email.key().as_str()))
            && self.created_from.is_none_or(|t| user.created_at >= t)
            && self.created_before.is_none_or(|t| user.created_at < t)
            && (self.ids.is_empty() || self.ids.contains(&user.id))
            && name_matches(self.first_name.as_ref(), user.first_name.as_ref())
            && name_matches(self.last_name.as_ref(), user.last_name.as_ref())
            && self.any_name.as_ref().is_none_or(|m| {
                name_matches(Some(m), user.first_name.as_ref())
                    || name_matches(Some(m), user.last_name.as_ref())
                    || m.matches(user.username.key().as_str())
            })
            && self
                .attributes
                .iter()
                .all(|(name, value)| user.attributes.get(name) == Some(value))
    }
}

/// The key a name part is matched on: the same case-insensitive NFKC
/// folding as usernames, so `müller` finds `Müller`.
pub fn name_key(name: &PersonName) -> String {
    uniqueness_key(name.as_str())
}

fn name_matches(filter: Option<&KeyMatch>, name: Option<&PersonName>) -> bool {
    match (filter, name) {
        (None, _) => true,
        (Some(m), Some(name)) => m.matches(&name_key(name)),
        (Some(_), None) => false,
    }
}

/// The field a list is ordered by; ties are broken by id, so the order is
/// total and stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortField {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// Last change time.
    UpdatedAt,
    /// Username key.
    Username,
    /// E-mail key.
    Email,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortDirection {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

/// The order of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    /// By what.
    pub field: SortField,
    /// Which way.
    pub direction: SortDirection,
}

/// An opaque position in a list, handed out with a page and handed back to
/// get the next one. Only the storage that made it can read it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Wrap a token a client sent back.
    pub fn from_token(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token to give the client.
    pub fn as_token(&self) -> &str {
        &self.0
    }
}

/// Which page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// The page after `after` (the first page when `None`): keyset
    /// pagination, stable while rows are inserted.
    Cursor {
        /// Where the previous page ended.
        after: Option<Cursor>,
        /// At most this many users.
        limit: u32,
    },
    /// Skip `offset` users: for dialects that ask for page numbers.
    Offset {
        /// How many to skip.
        offset: u64,
        /// At most this many users.
        limit: u32,
    },
}

/// A list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// Which users.
    pub filter: UserFilter,
    /// In what order.
    pub sort: Sort,
    /// Which page.
    pub page: PageRequest,
    /// Whether to count all users that pass the filter.
    pub with_total: bool,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users, in order.
    pub users: Vec<User>,
    /// Where to continue, when there may be more.
    pub next: Option<Cursor>,
    /// The exact count of users passing the filter, when asked for.
    pub total: Option<u64>,
}
