//! Listing users: one query builder for keyset (cursor) pages, offset pages
//! and the total count, so the three always agree on which users a filter
//! selects and in which order.
//!
//! Every condition is written so that PostgreSQL (and SQLite) can answer it
//! from an index: the tenant and the sort column lead each index, a key
//! prefix is a range (`key >= p AND key < next(p)`, never `LIKE`, so `%` and
//! `_` in the input are plain characters), and the keyset position is
//! `col >= v AND (col > v OR id > last_id)`, whose first half is an index
//! bound. See docs/storage.md for the plans.

use std::collections::{BTreeSet, HashMap};

use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use userhub_domain::User;
use userhub_domain::query::{
    Cursor, Filter, KeyMatch, PageRequest, Sort, SortDirection, SortField, TimeAttr, UserCondition,
    UserFilter, UserPage, UserQuery, UserText,
};
use userhub_domain::repository::ListUsersError;
use userhub_domain::types::{Status, TenantId, UserId};

use crate::codec::micros;
use crate::connection::{AnyConnection, MultiBackend, TxError, read_tx};
use crate::error::failure;
use crate::schema::{user_attributes, user_counts, user_organizations, user_roles, users};
use crate::users::UserRow;

const OP: &str = "list users";

type Boxed<'a, ST> = users::BoxedQuery<'a, MultiBackend, ST>;

/// Where a cursor page starts: after the user with this sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    value: SortValue,
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SortValue {
    Time(i64),
    Key(String),
}

pub(crate) fn list_users(
    conn: &mut AnyConnection,
    tenant: TenantId,
    query: &UserQuery,
) -> Result<UserPage, ListUsersError> {
    let tenant = tenant.to_string();
    let offset = matches!(query.page, PageRequest::Offset { .. });
    // A common filter's total is cheap, so an offset page uses it too.
    let tally = Tally::of(&query.filter).filter(|_| query.with_total || offset);
    let run = |conn: &mut AnyConnection| -> Result<UserPage, TxError<ListUsersError>> {
        // The exact total from the maintained counts when the filter is a
        // common one; else, when asked, an index-only count.
        let counted = match &tally {
            Some(tally) => Some(tally.total(conn, &tenant)?),
            None if query.with_total => Some(count(conn, &tenant, &query.filter)?),
            None => None,
        };
        let (users, more) = match &query.page {
            PageRequest::Cursor { after: from, limit } => {
                let position = from
                    .as_ref()
                    .map(|cursor| decode_cursor(cursor, query.sort))
                    .transpose()
                    .map_err(TxError::Op)?;
                cursor_page(conn, &tenant, query, position.as_ref(), *limit)?
            }
            PageRequest::Offset { offset, limit } => offset_page(
                conn,
                &tenant,
                query,
                *offset,
                *limit,
                tally.as_ref().and(counted),
            )?,
        };
        let next = if more {
            users.last().map(|last| encode_cursor(query.sort, last))
        } else {
            None
        };
        let total = if query.with_total {
            Some(counted.unwrap_or(0))
        } else {
            None
        };
        Ok(UserPage { users, next, total })
    };
    let result = if query.with_total || tally.is_some() {
        // The page and the count it relies on from one snapshot.
        read_tx(conn, run)
    } else {
        run(conn)
    };
    result.map_err(|e| match e {
        TxError::Op(e) => e,
        TxError::Db(e) => ListUsersError::Storage(failure(OP, &e)),
    })
}

/// A filter whose exact total `user_counts` holds: the tenant, any set of
/// statuses, and at most one role or one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tally<'f> {
    kind: &'static str,
    name: String,
    statuses: &'f BTreeSet<Status>,
}

impl<'f> Tally<'f> {
    fn of(filter: &'f UserFilter) -> Option<Self> {
        // Every field named, so that a new filter cannot be counted wrong.
        let UserFilter {
            statuses,
            roles,
            organization,
            username,
            email,
            created_from,
            created_before,
            ids,
            first_name,
            last_name,
            any_name,
            attributes,
            expression,
        } = filter;
        let narrowed = username.is_some()
            || email.is_some()
            || created_from.is_some()
            || created_before.is_some()
            || !ids.is_empty()
            || first_name.is_some()
            || last_name.is_some()
            || any_name.is_some()
            || !attributes.is_empty()
            || expression.is_some();
        if narrowed {
            return None;
        }
        let (kind, name) = match (roles.len(), organization) {
            (0, None) => ("all", String::new()),
            (1, None) => ("role", roles.iter().next()?.as_str().to_owned()),
            (0, Some(organization)) => ("organization", organization.as_str().to_owned()),
            // Several roles overlap; a role and an organization intersect.
            _ => return None,
        };
        Some(Tally {
            kind,
            name,
            statuses,
        })
    }

    /// The sum of the counts of the filter's statuses (all, when none).
    fn total(&self, conn: &mut AnyConnection, tenant: &str) -> QueryResult<u64> {
        let mut counts = user_counts::table
            .filter(user_counts::tenant_id.eq(tenant.to_owned()))
            .filter(user_counts::kind.eq(self.kind))
            .filter(user_counts::name.eq(self.name.clone()))
            .select(user_counts::n)
            .into_boxed();
        if !self.statuses.is_empty() {
            let statuses: Vec<&'static str> = self.statuses.iter().map(|s| s.as_str()).collect();
            counts = counts.filter(user_counts::status.eq_any(statuses));
        }
        let counts: Vec<i64> = counts.load(conn)?;
        Ok(counts
            .into_iter()
            .map(|n| u64::try_from(n).unwrap_or(0))
            .sum())
    }
}

/// Count the users passing `filter` (the indexes cover the common
/// conditions, so PostgreSQL and SQLite count from an index alone).
fn count(conn: &mut AnyConnection, tenant: &str, filter: &UserFilter) -> QueryResult<u64> {
    let count: i64 = apply_filter(
        users::table.select(diesel::dsl::count_star()).into_boxed(),
        tenant,
        filter,
    )
    .get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// A keyset page: the rows after `position`, and whether more follow.
fn cursor_page(
    conn: &mut AnyConnection,
    tenant: &str,
    query: &UserQuery,
    position: Option<&Position>,
    limit: u32,
) -> Result<(Vec<User>, bool), TxError<ListUsersError>> {
    if limit == 0 {
        return Ok((Vec::new(), false));
    }
    let rows: Vec<UserRow> = order(
        after(
            apply_filter(users::table.into_boxed(), tenant, &query.filter),
            query.sort,
            position,
        ),
        query.sort,
    )
    .select(UserRow::as_select())
    // One more than asked, to know whether another page follows.
    .limit(i64::from(limit) + 1)
    .load(conn)?;
    into_page(rows, limit)
}

/// An offset page by a deferred join: the page's ids first, from the
/// narrow index (no table row is read for the rows skipped), then the
/// page's rows. Past the middle of a list whose exact total is known, the
/// ids are read from the far end in the opposite order, so the deepest
/// pages skip as few index entries as the first ones.
fn offset_page(
    conn: &mut AnyConnection,
    tenant: &str,
    query: &UserQuery,
    offset: u64,
    limit: u32,
    total: Option<u64>,
) -> Result<(Vec<User>, bool), TxError<ListUsersError>> {
    if limit == 0 {
        return Ok((Vec::new(), false));
    }
    let wanted = u64::from(limit);
    let (sort, skip, take, reversed) = match total {
        Some(total) if offset >= total => return Ok((Vec::new(), false)),
        Some(total) if offset > total / 2 => {
            let take = wanted.min(total - offset);
            (reverse(query.sort), total - offset - take, take, true)
        }
        // One more than asked, to know whether another page follows.
        _ => (query.sort, offset, wanted + 1, false),
    };
    let mut ids: Vec<String> = order(
        apply_filter(
            users::table.select(users::id).into_boxed(),
            tenant,
            &query.filter,
        ),
        sort,
    )
    .limit(i64::try_from(take).unwrap_or(i64::MAX))
    .offset(i64::try_from(skip).unwrap_or(i64::MAX))
    .load(conn)?;
    if reversed {
        ids.reverse();
    }
    let more = match total {
        Some(total) if reversed => offset + wanted < total,
        _ => ids.len() > usize::try_from(limit).unwrap_or(usize::MAX),
    };
    ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let rows: Vec<UserRow> = users::table
        .filter(users::tenant_id.eq(tenant.to_owned()))
        .filter(users::id.eq_any(&ids))
        .select(UserRow::as_select())
        .load(conn)?;
    let (mut users, _) = into_page(rows, limit)?;
    // In the ids' order.
    let place: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(at, id)| (id.as_str(), at))
        .collect();
    users.sort_by_cached_key(|user| place.get(user.id.to_string().as_str()).copied());
    Ok((users, more))
}

/// The rows as users (at most `limit`), and whether there were more.
fn into_page(
    mut rows: Vec<UserRow>,
    limit: u32,
) -> Result<(Vec<User>, bool), TxError<ListUsersError>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let users = rows
        .into_iter()
        .map(|row| row.into_user(OP))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TxError::Op(ListUsersError::Storage(e)))?;
    Ok((users, more))
}

/// The same order, the other way round.
fn reverse(sort: Sort) -> Sort {
    Sort {
        field: sort.field,
        direction: match sort.direction {
            SortDirection::Ascending => SortDirection::Descending,
            SortDirection::Descending => SortDirection::Ascending,
        },
    }
}

/// The filter's conditions, on any select over `users` (the page and its count).
fn apply_filter<'a, ST: 'a>(
    mut q: Boxed<'a, ST>,
    tenant: &str,
    filter: &UserFilter,
) -> Boxed<'a, ST> {
    q = q.filter(users::tenant_id.eq(tenant.to_owned()));
    let statuses: Vec<&'static str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    match statuses.as_slice() {
        [] => {}
        // `status = $1`, not `= ANY($1)`: with one value PostgreSQL reads
        // (tenant_id, status, created_at, id) in order, without a sort.
        [status] => q = q.filter(users::status.eq(*status)),
        _ => q = q.filter(users::status.eq_any(statuses)),
    }
    if !filter.roles.is_empty() {
        let roles: Vec<&'static str> = filter.roles.iter().map(|r| r.as_str()).collect();
        q = q.filter(exists(
            user_roles::table
                // The tenant makes (tenant_id, role, user_id) usable.
                .filter(user_roles::tenant_id.eq(tenant.to_owned()))
                .filter(user_roles::role.eq_any(roles))
                // The user's whole key: ids are unique per tenant only.
                .filter(user_roles::tenant_id.eq(users::tenant_id))
                .filter(user_roles::user_id.eq(users::id)),
        ));
    }
    if let Some(organization) = &filter.organization {
        q = q.filter(exists(
            user_organizations::table
                .filter(user_organizations::tenant_id.eq(tenant.to_owned()))
                .filter(user_organizations::organization.eq(organization.as_str().to_owned()))
                .filter(user_organizations::tenant_id.eq(users::tenant_id))
                .filter(user_organizations::user_id.eq(users::id)),
        ));
    }
    // A key column restricted to the keys a KeyMatch takes: `=` for an
    // exact match, an index range for a prefix. (A macro: diesel's column
    // types make the generic function's bounds unreadable.) Name keys are
    // NULL for users without that name part; NULL never matches.
    macro_rules! key_filter {
        ($column:expr, $match:expr) => {
            match $match {
                KeyMatch::Exact(key) => q = q.filter($column.eq(key.clone())),
                KeyMatch::Prefix(prefix) if prefix.is_empty() => {}
                KeyMatch::Prefix(prefix) => {
                    q = q.filter($column.ge(prefix.clone()));
                    if let Some(bound) = prefix_upper_bound(prefix) {
                        q = q.filter($column.lt(bound));
                    }
                }
            }
        };
    }
    if let Some(m) = &filter.username {
        key_filter!(users::username_key, m);
    }
    if let Some(m) = &filter.email {
        key_filter!(users::email_key, m);
    }
    if let Some(m) = &filter.first_name {
        key_filter!(users::first_name_key.assume_not_null(), m);
    }
    if let Some(m) = &filter.last_name {
        key_filter!(users::last_name_key.assume_not_null(), m);
    }
    if let Some(m) = &filter.any_name {
        // Three index lookups joined by OR (a bitmap OR on PostgreSQL).
        type Condition = Box<
            dyn BoxableExpression<users::table, MultiBackend, SqlType = diesel::sql_types::Bool>,
        >;
        macro_rules! matching {
            ($column:expr) => {{
                let condition: Option<Condition> = match m {
                    KeyMatch::Exact(key) => Some(Box::new($column.eq(key.clone()))),
                    KeyMatch::Prefix(prefix) if prefix.is_empty() => None,
                    KeyMatch::Prefix(prefix) => Some(match prefix_upper_bound(prefix) {
                        Some(bound) => Box::new($column.ge(prefix.clone()).and($column.lt(bound))),
                        None => Box::new($column.ge(prefix.clone())),
                    }),
                };
                condition
            }};
        }
        if let (Some(first), Some(last), Some(username)) = (
            matching!(users::first_name_key.assume_not_null()),
            matching!(users::last_name_key.assume_not_null()),
            matching!(users::username_key),
        ) {
            q = q.filter(first.or(last).or(username));
        }
    }
    for (name, value) in &filter.attributes {
        q = q.filter(exists(
            user_attributes::table
                .filter(user_attributes::tenant_id.eq(tenant.to_owned()))
                .filter(user_attributes::name.eq(name.as_str().to_owned()))
                .filter(user_attributes::value.eq(value.as_str().to_owned()))
                .filter(user_attributes::tenant_id.eq(users::tenant_id))
                .filter(user_attributes::user_id.eq(users::id)),
        ));
    }
    if let Some(from) = filter.created_from {
        q = q.filter(users::created_at.ge(micros(from)));
    }
    if let Some(before) = filter.created_before {
        q = q.filter(users::created_at.lt(micros(before)));
    }
    if !filter.ids.is_empty() {
        let ids: Vec<String> = filter.ids.iter().map(ToString::to_string).collect();
        q = q.filter(users::id.eq_any(ids));
    }
    if let Some(expression) = &filter.expression {
        q = q.filter(user_expression(expression));
    }
    q
}

/// A condition on a row of `table`, boxed so a tree of them can be built.
pub(crate) type Condition<T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Bool>>;

diesel::define_sql_function! {
    /// `replace(text, from, to)`: the same function on both backends.
    #[sql_name = "replace"]
    fn text_replace(text: Text, from: Text, to: Text) -> Text;
}
/// A character no stored text holds (text values refuse control
/// characters): appended to both sides, it turns "ends with" into "contains".
pub(crate) const END: &str = "\u{1}";

/// `column op value` on a text column (nullable or not; NULL never matches,
/// so `NOT` of a condition on a missing value holds: two-valued logic).
/// Contains and ends-with use `replace` and `||`, which compare exactly
/// on both backends (SQLite's `LIKE` ignores ASCII case), so `%` and `_` in
/// the value are plain characters too.
macro_rules! text_condition {
    ($table:ty, $column:expr, $op:expr, $value:expr) => {{
        let column = $column;
        let value: String = $value;
        let present = column.is_not_null();
        let c = column.assume_not_null();
        let condition: $crate::list::Condition<$table> = match $op {
            // An empty needle is in every value.
            userhub_domain::query::TextOp::Contains
            | userhub_domain::query::TextOp::StartsWith
            | userhub_domain::query::TextOp::EndsWith
                if value.is_empty() =>
            {
                Box::new(present)
            }
            userhub_domain::query::TextOp::Eq => Box::new(present.and(c.eq(value))),
            userhub_domain::query::TextOp::Gt => Box::new(present.and(c.gt(value))),
            userhub_domain::query::TextOp::Ge => Box::new(present.and(c.ge(value))),
            userhub_domain::query::TextOp::Lt => Box::new(present.and(c.lt(value))),
            userhub_domain::query::TextOp::Le => Box::new(present.and(c.le(value))),
            userhub_domain::query::TextOp::StartsWith => {
                match $crate::list::prefix_upper_bound(&value) {
                    Some(bound) => Box::new(present.and(c.ge(value)).and(c.lt(bound))),
                    None => Box::new(present.and(c.ge(value))),
                }
            }
            userhub_domain::query::TextOp::Contains => {
                Box::new(present.and($crate::list::text_replace(c, value, String::new()).ne(c)))
            }
            userhub_domain::query::TextOp::EndsWith => Box::new(
                present.and(
                    $crate::list::text_replace(
                        c.concat($crate::list::END),
                        format!("{value}{}", $crate::list::END),
                        String::new(),
                    )
                    .ne(c.concat($crate::list::END)),
                ),
            ),
        };
        condition
    }};
}
pub(crate) use text_condition;

/// `column op time` on a microseconds column.
macro_rules! time_condition {
    ($table:ty, $column:expr, $op:expr, $value:expr) => {{
        let c = $column;
        let v: i64 = $value;
        let condition: $crate::list::Condition<$table> = match $op {
            userhub_domain::query::OrderOp::Eq => Box::new(c.eq(v)),
            userhub_domain::query::OrderOp::Gt => Box::new(c.gt(v)),
            userhub_domain::query::OrderOp::Ge => Box::new(c.ge(v)),
            userhub_domain::query::OrderOp::Lt => Box::new(c.lt(v)),
            userhub_domain::query::OrderOp::Le => Box::new(c.le(v)),
        };
        condition
    }};
}
pub(crate) use time_condition;

/// A filter tree as one SQL condition.
pub(crate) fn tree<T, C>(filter: &Filter<C>, leaf: &impl Fn(&C) -> Condition<T>) -> Condition<T>
where
    T: 'static,
    diesel::dsl::not<Condition<T>>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
    diesel::dsl::And<Condition<T>, Condition<T>>:
        BoxableExpression<T, MultiBackend, SqlType = Bool>,
    diesel::dsl::Or<Condition<T>, Condition<T>>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
{
    match filter {
        Filter::Condition(c) => leaf(c),
        Filter::Not(inner) => Box::new(diesel::dsl::not(tree(inner, leaf))),
        Filter::And(a, b) => Box::new(tree(a, leaf).and(tree(b, leaf))),
        Filter::Or(a, b) => Box::new(tree(a, leaf).or(tree(b, leaf))),
    }
}

fn user_condition(condition: &UserCondition) -> Condition<users::table> {
    match condition {
        UserCondition::Text { attr, op, value } => {
            let value = value.clone();
            match attr {
                UserText::Username => text_condition!(
                    users::table,
                    users::username_key.into_sql_nullable(),
                    op,
                    value
                ),
                UserText::Email => text_condition!(
                    users::table,
                    users::email_key.into_sql_nullable(),
                    op,
                    value
                ),
                UserText::FirstName => {
                    text_condition!(users::table, users::first_name_key, op, value)
                }
                UserText::LastName => {
                    text_condition!(users::table, users::last_name_key, op, value)
                }
                UserText::ExternalId => {
                    text_condition!(users::table, users::external_id, op, value)
                }
            }
        }
        UserCondition::Present(attr) => match attr {
            UserText::Username | UserText::Email => Box::new(users::id.is_not_null()),
            UserText::FirstName => Box::new(users::first_name_key.is_not_null()),
            UserText::LastName => Box::new(users::last_name_key.is_not_null()),
            UserText::ExternalId => Box::new(users::external_id.is_not_null()),
        },
        UserCondition::Active(active) => {
            let status = userhub_domain::types::Status::Active.as_str();
            if *active {
                Box::new(users::status.eq(status))
            } else {
                Box::new(users::status.ne(status))
            }
        }
        UserCondition::Time { attr, op, value } => match attr {
            TimeAttr::Created => {
                time_condition!(users::table, users::created_at, op, micros(*value))
            }
            TimeAttr::Updated => {
                time_condition!(users::table, users::updated_at, op, micros(*value))
            }
        },
    }
}

fn user_expression(filter: &Filter<UserCondition>) -> Condition<users::table> {
    tree(filter, &user_condition)
}

/// A non-null text column seen as nullable, so one macro serves both kinds.
trait IntoSqlNullable: Sized {
    fn into_sql_nullable(self) -> diesel::dsl::Nullable<Self>;
}

impl<C> IntoSqlNullable for C
where
    C: Expression<SqlType = Text> + diesel::expression::NonAggregate,
{
    fn into_sql_nullable(self) -> diesel::dsl::Nullable<Self> {
        self.nullable()
    }
}

/// The smallest string greater than every string that starts with
/// `prefix`, in code-point order (= UTF-8 byte order, the order of the key
/// columns on both backends): the prefix with its last character
/// incremented. `None` when there is none (the prefix is all U+10FFFF).
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Keyset condition: only users after `position` in the order `sort`.
/// Username and e-mail keys are unique per tenant, so the key alone is the
/// position; times are not, so ties are broken by id.
fn after<'a, ST: 'a>(q: Boxed<'a, ST>, sort: Sort, position: Option<&Position>) -> Boxed<'a, ST> {
    let Some(position) = position else {
        return q;
    };
    let id = position.id.clone();
    let ascending = sort.direction == SortDirection::Ascending;
    match (&position.value, sort.field) {
        (SortValue::Time(v), SortField::CreatedAt) => {
            let v = *v;
            if ascending {
                q.filter(users::created_at.ge(v))
                    .filter(users::created_at.gt(v).or(users::id.gt(id)))
            } else {
                q.filter(users::created_at.le(v))
                    .filter(users::created_at.lt(v).or(users::id.lt(id)))
            }
        }
        (SortValue::Time(v), SortField::UpdatedAt) => {
            let v = *v;
            if ascending {
                q.filter(users::updated_at.ge(v))
                    .filter(users::updated_at.gt(v).or(users::id.gt(id)))
            } else {
                q.filter(users::updated_at.le(v))
                    .filter(users::updated_at.lt(v).or(users::id.lt(id)))
            }
        }
        (SortValue::Key(v), SortField::Username) => {
            if ascending {
                q.filter(users::username_key.gt(v.clone()))
            } else {
                q.filter(users::username_key.lt(v.clone()))
            }
        }
        (SortValue::Key(v), SortField::Email) => {
            if ascending {
                q.filter(users::email_key.gt(v.clone()))
            } else {
                q.filter(users::email_key.lt(v.clone()))
            }
        }
        // decode_cursor only yields values of the sort's own kind.
        _ => q,
    }
}

fn order<'a, ST: 'a>(q: Boxed<'a, ST>, sort: Sort) -> Boxed<'a, ST> {
    let ascending = sort.direction == SortDirection::Ascending;
    match (sort.field, ascending) {
        (SortField::CreatedAt, true) => q.order((users::created_at.asc(), users::id.asc())),
        (SortField::CreatedAt, false) => q.order((users::created_at.desc(), users::id.desc())),
        (SortField::UpdatedAt, true) => q.order((users::updated_at.asc(), users::id.asc())),
        (SortField::UpdatedAt, false) => q.order((users::updated_at.desc(), users::id.desc())),
        (SortField::Username, true) => q.order(users::username_key.asc()),
        (SortField::Username, false) => q.order(users::username_key.desc()),
        (SortField::Email, true) => q.order(users::email_key.asc()),
        (SortField::Email, false) => q.order(users::email_key.desc()),
    }
}

// ---- cursors ----
//
// A cursor is `1` + the hex of `<field><direction>|<id>|<value>`: the sort
// it was made for, the last user's id and sort value. It is opaque to
// clients but not secret: a forged one can only move the start of a page
// within the same tenant and filter.

fn sort_code(sort: Sort) -> [char; 2] {
    let field = match sort.field {
        SortField::CreatedAt => 'c',
        SortField::UpdatedAt => 'u',
        SortField::Username => 'n',
        SortField::Email => 'e',
    };
    let direction = match sort.direction {
        SortDirection::Ascending => 'a',
        SortDirection::Descending => 'd',
    };
    [field, direction]
}

fn encode_cursor(sort: Sort, last: &userhub_domain::User) -> Cursor {
    let [field, direction] = sort_code(sort);
    let value = match sort.field {
        SortField::CreatedAt => micros(last.created_at).to_string(),
        SortField::UpdatedAt => micros(last.updated_at).to_string(),
        SortField::Username => last.username.key().as_str().to_owned(),
        SortField::Email => last.email.key().as_str().to_owned(),
    };
    let plain = format!("{field}{direction}|{}|{value}", last.id);
    let mut token = String::with_capacity(1 + plain.len() * 2);
    token.push('1');
    for byte in plain.bytes() {
        token.push(char::from(HEX[usize::from(byte >> 4)]));
        token.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    Cursor::from_token(token)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub(crate) fn decode_cursor(cursor: &Cursor, sort: Sort) -> Result<Position, ListUsersError> {
    let invalid = || ListUsersError::InvalidCursor;
    let hex = cursor.as_token().strip_prefix('1').ok_or_else(invalid)?;
    // Bounds the work a client can ask for: a key is at most a few hundred bytes.
    if hex.len() % 2 != 0 || hex.len() > 4096 {
        return Err(invalid());
    }
    let bytes = hex
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    let plain = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = plain.splitn(3, '|');
    let (Some(code), Some(id), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let [field, direction] = sort_code(sort);
    if code != format!("{field}{direction}") {
        return Err(invalid());
    }
    let id = UserId::parse(id).map_err(|_| invalid())?.to_string();
    let value = match sort.field {
        SortField::CreatedAt | SortField::UpdatedAt => {
            SortValue::Time(value.parse().map_err(|_| invalid())?)
        }
        SortField::Username | SortField::Email => SortValue::Key(value.to_owned()),
    };
    Ok(Position { value, id })
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Count the tenant's active administrators (in a transaction or not).
pub(crate) fn count_active_admins(
    conn: &mut AnyConnection,
    tenant: &str,
) -> Result<u64, diesel::result::Error> {
    let count: i64 = users::table
        .filter(users::tenant_id.eq(tenant.to_owned()))
        .filter(users::status.eq(userhub_domain::types::Status::Active.as_str()))
        .filter(exists(
            user_roles::table
                .filter(user_roles::tenant_id.eq(tenant.to_owned()))
                .filter(user_roles::role.eq(userhub_domain::types::Role::Admin.as_str()))
                .filter(user_roles::tenant_id.eq(users::tenant_id))
                .filter(user_roles::user_id.eq(users::id)),
        ))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a%").as_deref(), Some("a&"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
    }

    #[test]
    fn bad_cursors_are_refused() {
        let sort = Sort::default();
        for token in ["", "1", "1zz", "2abcd", "1616263", &"1".repeat(5000)] {
            assert!(matches!(
                decode_cursor(&Cursor::from_token(token), sort),
                Err(ListUsersError::InvalidCursor)
            ));
        }
    }
}
