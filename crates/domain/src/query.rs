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
    /// And this expression holds (SCIM's `filter`).
    pub expression: Option<Filter<UserCondition>>,
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
            && self
                .expression
                .as_ref()
                .is_none_or(|e| e.eval(&|c: &UserCondition| c.matches(user)))
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

/// A boolean expression over conditions of type `C`: a neutral query tree a
/// dialect builds from its filter syntax (SCIM's `filter`, say) and storage
/// translates into one query. `C` says which conditions a kind of resource
/// can be filtered by ([`UserCondition`], [`GroupCondition`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter<C> {
    /// The condition holds.
    Condition(C),
    /// The expression does not hold.
    Not(Box<Filter<C>>),
    /// Both hold.
    And(Box<Filter<C>>, Box<Filter<C>>),
    /// Either holds.
    Or(Box<Filter<C>>, Box<Filter<C>>),
}

impl<C> Filter<C> {
    /// Whether the expression holds, given whether each condition does.
    pub fn eval(&self, holds: &impl Fn(&C) -> bool) -> bool {
        match self {
            Filter::Condition(c) => holds(c),
            Filter::Not(inner) => !inner.eval(holds),
            Filter::And(a, b) => a.eval(holds) && b.eval(holds),
            Filter::Or(a, b) => a.eval(holds) || b.eval(holds),
        }
    }
}

/// How a text attribute is compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextOp {
    /// Equal.
    Eq,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
    /// Greater than (code-point order).
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl TextOp {
    /// Whether `stored` compares to `value` this way.
    pub fn holds(self, stored: &str, value: &str) -> bool {
        match self {
            TextOp::Eq => stored == value,
            TextOp::Contains => stored.contains(value),
            TextOp::StartsWith => stored.starts_with(value),
            TextOp::EndsWith => stored.ends_with(value),
            TextOp::Gt => stored > value,
            TextOp::Ge => stored >= value,
            TextOp::Lt => stored < value,
            TextOp::Le => stored <= value,
        }
    }
}

/// How a time attribute is compared with a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderOp {
    /// Equal.
    Eq,
    /// Later than.
    Gt,
    /// Later than or at.
    Ge,
    /// Earlier than.
    Lt,
    /// Earlier than or at.
    Le,
}

impl OrderOp {
    /// Whether `stored` compares to `value` this way.
    pub fn holds<T: Ord>(self, stored: &T, value: &T) -> bool {
        match self {
            OrderOp::Eq => stored == value,
            OrderOp::Gt => stored > value,
            OrderOp::Ge => stored >= value,
            OrderOp::Lt => stored < value,
            OrderOp::Le => stored <= value,
        }
    }
}

/// A text attribute a user can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserText {
    /// The username, compared on its key (case-insensitive, NFKC).
    Username,
    /// The e-mail, compared on its key.
    Email,
    /// The first name, compared on its key.
    FirstName,
    /// The last name, compared on its key.
    LastName,
    /// The identity provider's id, compared exactly.
    ExternalId,
}

impl UserText {
    /// Whether the attribute is compared case-insensitively, on its key.
    pub fn by_key(self) -> bool {
        !matches!(self, UserText::ExternalId)
    }

    /// The user's stored value as it is compared (its key, or itself).
    pub fn value_of(self, user: &User) -> Option<String> {
        match self {
            UserText::Username => Some(user.username.key().as_str().to_owned()),
            UserText::Email => Some(user.email.key().as_str().to_owned()),
            UserText::FirstName => user.first_name.as_ref().map(name_key),
            UserText::LastName => user.last_name.as_ref().map(name_key),
            UserText::ExternalId => user.external_id.as_ref().map(|e| e.as_str().to_owned()),
        }
    }
}

/// A time attribute of a user or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeAttr {
    /// When it was created.
    Created,
    /// When it last changed.
    Updated,
}

/// One condition on a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCondition {
    /// A text attribute compares to a value (already in the form it is
    /// compared in: see [`UserCondition::text`]).
    Text {
        /// Which attribute.
        attr: UserText,
        /// How.
        op: TextOp,
        /// With what.
        value: String,
    },
    /// A text attribute has a value (the username and e-mail always have).
    Present(UserText),
    /// The user is ACTIVE (`true`) or in another status (`false`).
    Active(bool),
    /// A time attribute compares to a time.
    Time {
        /// Which attribute.
        attr: TimeAttr,
        /// How.
        op: OrderOp,
        /// With what.
        value: OffsetDateTime,
    },
}

impl UserCondition {
    /// `attr` compared with `value` by `op`; the value is folded to a key
    /// for the attributes compared case-insensitively.
    pub fn text(attr: UserText, op: TextOp, value: &str) -> Self {
        let value = if attr.by_key() {
            search_key(value)
        } else {
            value.replace('\0', "\u{FFFD}")
        };
        UserCondition::Text { attr, op, value }
    }

    /// Whether `user` meets the condition.
    pub fn matches(&self, user: &User) -> bool {
        match self {
            UserCondition::Text { attr, op, value } => attr
                .value_of(user)
                .is_some_and(|stored| op.holds(&stored, value)),
            UserCondition::Present(attr) => attr.value_of(user).is_some(),
            UserCondition::Active(active) => (user.status == Status::Active) == *active,
            UserCondition::Time { attr, op, value } => {
                let stored = match attr {
                    TimeAttr::Created => user.created_at,
                    TimeAttr::Updated => user.updated_at,
                };
                op.holds(&stored, value)
            }
        }
    }
}

/// A text attribute a group can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupText {
    /// The display name, compared on its key (case-insensitive, NFKC).
    DisplayName,
    /// The identity provider's id, compared exactly.
    ExternalId,
}

/// One condition on a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCondition {
    /// A text attribute compares to a value (see [`GroupCondition::text`]).
    Text {
        /// Which attribute.
        attr: GroupText,
        /// How.
        op: TextOp,
        /// With what.
        value: String,
    },
    /// A text attribute has a value.
    Present(GroupText),
    /// A time attribute compares to a time.
    Time {
        /// Which attribute.
        attr: TimeAttr,
        /// How.
        op: OrderOp,
        /// With what.
        value: OffsetDateTime,
    },
}

impl GroupCondition {
    /// `attr` compared with `value` by `op`, the display name on its key.
    pub fn text(attr: GroupText, op: TextOp, value: &str) -> Self {
        let value = match attr {
            GroupText::DisplayName => search_key(value),
            GroupText::ExternalId => value.replace('\0', "\u{FFFD}"),
        };
        GroupCondition::Text { attr, op, value }
    }
}
