//! SCIM's filter language (RFC 7644 §3.4.2.2), read into the domain's
//! neutral query tree ([`Filter`] of [`UserCondition`] or
//! [`GroupCondition`]) that storage turns into one SQL query.
//!
//! A small recursive-descent parser, written here rather than taken from a
//! crate: the `scim_v2` and `scim-filter` crates parse into their own trees
//! (and the latter evaluates in memory), so either would still need this
//! translation, and neither reports errors in SCIM's terms. Attribute names
//! and operators are case-insensitive, as the RFC says.
//!
//! Every error is 400 `invalidFilter` naming what is wrong; a filter never
//! reaches storage unless every attribute in it is one the resource can be
//! filtered by.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use userhub_domain::ValueError;
use userhub_domain::query::{
    Filter, GroupCondition, GroupText, OrderOp, TextOp, TimeAttr, UserCondition, UserText,
};

/// The longest filter accepted, in bytes (a bound on parsing work).
const MAX_LEN: usize = 4096;
/// The deepest nesting of parentheses, `not` and brackets accepted.
const MAX_DEPTH: usize = 32;

/// An attribute path as written: `name`, `name.sub`, `urn:...:name.sub`,
/// or a value path `name[filter]` with an optional `.sub` after it.
#[derive(Debug, Clone, PartialEq)]
struct Path {
    /// The attribute, lower-cased, without a schema URN prefix.
    attr: String,
    /// The sub-attribute, lower-cased.
    sub: Option<String>,
}

/// What the parser reads, before attributes are given their meaning.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    And(Box<Raw>, Box<Raw>),
    Or(Box<Raw>, Box<Raw>),
    Not(Box<Raw>),
    Present(Path),
    Compare(Path, String, Value),
    /// `attr[filter]`: the filter applies to the items of `attr`.
    Values(String, Box<Raw>),
}

fn invalid(message: impl Into<String>) -> ValueError {
    ValueError::new("invalid_filter", message)
}

/// The core and extension schema URNs a path may start with.
const URN_PREFIXES: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:user:",
    "urn:ietf:params:scim:schemas:core:2.0:group:",
];

/// Strip a known schema URN from a lower-cased attribute path.
pub fn strip_urn(path: &str) -> &str {
    for prefix in URN_PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            return rest;
        }
    }
    path
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek_char(&mut self) -> Option<char> {
        self.skip_spaces();
        self.rest().chars().next()
    }

    fn eat_char(&mut self, c: char) -> bool {
        if self.peek_char() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A word (attribute name, operator, keyword): up to a space, bracket
    /// or parenthesis.
    fn word(&mut self) -> &'a str {
        self.skip_spaces();
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"'))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    /// The next word, if it is `keyword` (case-insensitive); else nothing read.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let start = self.pos;
        if self.word().eq_ignore_ascii_case(keyword) {
            true
        } else {
            self.pos = start;
            false
        }
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ValueError>,
    ) -> Result<T, ValueError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid("is nested too deeply"));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn expression(&mut self) -> Result<Raw, ValueError> {
        let mut left = self.term()?;
        while self.eat_keyword("or") {
            let right = self.term()?;
            left = Raw::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Raw, ValueError> {
        let mut left = self.factor()?;
        while self.eat_keyword("and") {
            let right = self.factor()?;
            left = Raw::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Raw, ValueError> {
        if self.eat_char('(') {
            let inner = self.nested(Self::expression)?;
            if !self.eat_char(')') {
                return Err(invalid("has a `(` without its `)`"));
            }
            return Ok(inner);
        }
        let start = self.pos;
        if self.eat_keyword("not") {
            if self.eat_char('(') {
                let inner = self.nested(Self::expression)?;
                if !self.eat_char(')') {
                    return Err(invalid("has a `not (` without its `)`"));
                }
                return Ok(Raw::Not(Box::new(inner)));
            }
            // An attribute named `not...`? Not one of ours; read it as such.
            self.pos = start;
        }
        self.attribute_expression()
    }

    fn attribute_expression(&mut self) -> Result<Raw, ValueError> {
        let name = self.word();
        if name.is_empty() {
            return Err(invalid("expects an attribute name"));
        }
        let name = name.to_ascii_lowercase();
        if self.rest().starts_with('[') {
            self.pos += 1;
            let inner = self.nested(Self::expression)?;
            if !self.eat_char(']') {
                return Err(invalid("has a `[` without its `]`"));
            }
            let attr = strip_urn(&name).to_owned();
            // `emails[type eq "work"].value eq "x"`: the bracket narrows the
            // items, the rest compares their sub-attribute.
            if self.rest().starts_with('.') {
                let sub = self.word().trim_start_matches('.').to_ascii_lowercase();
                let comparison = self.comparison(Path {
                    attr: attr.clone(),
                    sub: Some(sub),
                })?;
                return Ok(Raw::Values(
                    attr,
                    Box::new(Raw::And(Box::new(inner), Box::new(comparison))),
                ));
            }
            return Ok(Raw::Values(attr, Box::new(inner)));
        }
        let stripped = strip_urn(&name);
        let path = match stripped.split_once('.') {
            Some((attr, sub)) => Path {
                attr: attr.to_owned(),
                sub: Some(sub.to_owned()),
            },
            None => Path {
                attr: stripped.to_owned(),
                sub: None,
            },
        };
        self.comparison(path)
    }

    fn comparison(&mut self, path: Path) -> Result<Raw, ValueError> {
        let op = self.word().to_ascii_lowercase();
        match op.as_str() {
            "pr" => Ok(Raw::Present(path)),
            "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "ge" | "lt" | "le" => {
                let value = self.value()?;
                Ok(Raw::Compare(path, op, value))
            }
            "" => Err(invalid("expects an operator after the attribute")),
            _ => Err(invalid(
                "has an unknown operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)",
            )),
        }
    }

    fn value(&mut self) -> Result<Value, ValueError> {
        self.skip_spaces();
        let rest = self.rest();
        if rest.starts_with('"') {
            // A JSON string: find its closing quote, honouring escapes.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => break,
                    _ => i += 1,
                }
            }
            if i >= bytes.len() {
                return Err(invalid("has a string without its closing quote"));
            }
            let literal = &rest[..=i];
            self.pos += i + 1;
            return serde_json::from_str(literal).map_err(|_| invalid("has an invalid string"));
        }
        let word = self.word();
        match word.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            "" => Err(invalid("expects a value after the operator")),
            _ => serde_json::from_str::<serde_json::Number>(word)
                .map(Value::Number)
                .map_err(|_| {
                    invalid("has a value that is not a string, number, true, false or null")
                }),
        }
    }
}

fn parse_raw(text: &str) -> Result<Raw, ValueError> {
    if text.len() > MAX_LEN {
        return Err(invalid(format!("is longer than {MAX_LEN} bytes")));
    }
    let mut parser = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    let raw = parser.expression()?;
    parser.skip_spaces();
    if parser.pos != text.len() {
        return Err(invalid("has text after the end of the expression"));
    }
    Ok(raw)
}

fn text_op(op: &str) -> Option<(TextOp, bool)> {
    Some(match op {
        "eq" => (TextOp::Eq, false),
        "ne" => (TextOp::Eq, true),
        "co" => (TextOp::Contains, false),
        "sw" => (TextOp::StartsWith, false),
        "ew" => (TextOp::EndsWith, false),
        "gt" => (TextOp::Gt, false),
        "ge" => (TextOp::Ge, false),
        "lt" => (TextOp::Lt, false),
        "le" => (TextOp::Le, false),
        _ => return None,
    })
}

fn order_op(op: &str) -> Result<(OrderOp, bool), ValueError> {
    Ok(match op {
        "eq" => (OrderOp::Eq, false),
        "ne" => (OrderOp::Eq, true),
        "gt" => (OrderOp::Gt, false),
        "ge" => (OrderOp::Ge, false),
        "lt" => (OrderOp::Lt, false),
        "le" => (OrderOp::Le, false),
        _ => return Err(invalid("compares a date with co, sw or ew")),
    })
}

fn negated<C>(filter: Filter<C>, negate: bool) -> Filter<C> {
    if negate {
        Filter::Not(Box::new(filter))
    } else {
        filter
    }
}

fn text_value(value: &Value) -> Result<&str, ValueError> {
    value
        .as_str()
        .ok_or_else(|| invalid("compares a text attribute with a value that is not a string"))
}

fn time_value(value: &Value) -> Result<OffsetDateTime, ValueError> {
    value
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .ok_or_else(|| invalid("compares a date with a value that is not an RFC 3339 date-time"))
}

/// Always true: every user has a username.
fn always<C: From<UserAlways>>() -> Filter<C> {
    Filter::Condition(C::from(UserAlways))
}

struct UserAlways;

impl From<UserAlways> for UserCondition {
    fn from(_: UserAlways) -> Self {
        UserCondition::Present(UserText::Username)
    }
}

fn unsupported(attr: &str, sub: Option<&str>) -> ValueError {
    let name = match sub {
        Some(sub) => format!("{attr}.{sub}"),
        None => attr.to_owned(),
    };
    invalid(format!(
        "filters on an attribute that cannot be filtered by: {name}"
    ))
}

fn user_text(path: &Path) -> Option<UserText> {
    Some(match (path.attr.as_str(), path.sub.as_deref()) {
        ("username", None) => UserText::Username,
        ("emails", None | Some("value")) => UserText::Email,
        ("name", Some("givenname")) => UserText::FirstName,
        ("name", Some("familyname")) => UserText::LastName,
        ("externalid", None) => UserText::ExternalId,
        _ => return None,
    })
}

fn time_attr(path: &Path) -> Option<TimeAttr> {
    match (path.attr.as_str(), path.sub.as_deref()) {
        ("meta", Some("created")) => Some(TimeAttr::Created),
        ("meta", Some("lastmodified")) => Some(TimeAttr::Updated),
        _ => None,
    }
}

fn user_leaf(raw: &Raw, within: Option<&str>) -> Result<Filter<UserCondition>, ValueError> {
    let scoped = |path: &Path| -> Path {
        match within {
            // Inside `emails[...]`, `value` is `emails.value`.
            Some(attr) => Path {
                attr: attr.to_owned(),
                sub: Some(path.sub.clone().unwrap_or_else(|| path.attr.clone())),
            },
            None => path.clone(),
        }
    };
    match raw {
        Raw::And(a, b) => Ok(Filter::And(
            Box::new(user_leaf(a, within)?),
            Box::new(user_leaf(b, within)?),
        )),
        Raw::Or(a, b) => Ok(Filter::Or(
            Box::new(user_leaf(a, within)?),
            Box::new(user_leaf(b, within)?),
        )),
        Raw::Not(inner) => Ok(Filter::Not(Box::new(user_leaf(inner, within)?))),
        Raw::Values(attr, inner) => {
            if within.is_some() || attr != "emails" {
                return Err(unsupported(attr, None));
            }
            user_leaf(inner, Some("emails"))
        }
        Raw::Present(path) => {
            let path = scoped(path);
            if let Some(text) = user_text(&path) {
                return Ok(Filter::Condition(UserCondition::Present(text)));
            }
            match (path.attr.as_str(), path.sub.as_deref()) {
                // The one e-mail is a work address and primary.
                ("emails", Some("type" | "primary")) | ("active", None) => Ok(always()),
                _ if time_attr(&path).is_some() => Ok(always()),
                (attr, sub) => Err(unsupported(attr, sub)),
            }
        }
        Raw::Compare(path, op, value) => {
            let path = scoped(path);
            if let Some(attr) = user_text(&path) {
                let (op, negate) = text_op(op).ok_or_else(|| invalid("has an unknown operator"))?;
                let condition = UserCondition::text(attr, op, text_value(value)?);
                return Ok(negated(Filter::Condition(condition), negate));
            }
            if let Some(attr) = time_attr(&path) {
                let (op, negate) = order_op(op)?;
                let condition = UserCondition::Time {
                    attr,
                    op,
                    value: time_value(value)?,
                };
                return Ok(negated(Filter::Condition(condition), negate));
            }
            match (path.attr.as_str(), path.sub.as_deref()) {
                ("active", None) => {
                    let active = match value {
                        Value::Bool(b) => *b,
                        Value::String(s) if s.eq_ignore_ascii_case("true") => true,
                        Value::String(s) if s.eq_ignore_ascii_case("false") => false,
                        _ => {
                            return Err(invalid(
                                "compares active with a value that is not true or false",
                            ));
                        }
                    };
                    match op.as_str() {
                        "eq" => Ok(Filter::Condition(UserCondition::Active(active))),
                        "ne" => Ok(Filter::Condition(UserCondition::Active(!active))),
                        _ => Err(invalid(
                            "compares active with an operator other than eq or ne",
                        )),
                    }
                }
                ("emails", Some("type")) => {
                    let matches = text_value(value)?.eq_ignore_ascii_case("work");
                    constant(op, matches)
                }
                ("emails", Some("primary")) => {
                    let matches = value.as_bool() == Some(true);
                    constant(op, matches)
                }
                (attr, sub) => Err(unsupported(attr, sub)),
            }
        }
    }
}

/// `eq` / `ne` against a value that is the same for every user.
fn constant(op: &str, equal: bool) -> Result<Filter<UserCondition>, ValueError> {
    let holds = match op {
        "eq" => equal,
        "ne" => !equal,
        _ => return Err(invalid("compares with an operator other than eq or ne")),
    };
    Ok(negated(always(), !holds))
}

/// A SCIM filter on Users as the domain's query tree.
pub fn user_filter(text: &str) -> Result<Filter<UserCondition>, ValueError> {
    user_leaf(&parse_raw(text)?, None)
}

fn group_leaf(raw: &Raw) -> Result<Filter<GroupCondition>, ValueError> {
    let group_text = |path: &Path| match (path.attr.as_str(), path.sub.as_deref()) {
        ("displayname", None) => Some(GroupText::DisplayName),
        ("externalid", None) => Some(GroupText::ExternalId),
        _ => None,
    };
    match raw {
        Raw::And(a, b) => Ok(Filter::And(
            Box::new(group_leaf(a)?),
            Box::new(group_leaf(b)?),
        )),
        Raw::Or(a, b) => Ok(Filter::Or(
            Box::new(group_leaf(a)?),
            Box::new(group_leaf(b)?),
        )),
        Raw::Not(inner) => Ok(Filter::Not(Box::new(group_leaf(inner)?))),
        Raw::Values(attr, _) => Err(unsupported(attr, None)),
        Raw::Present(path) => match group_text(path) {
            Some(attr) => Ok(Filter::Condition(GroupCondition::Present(attr))),
            None if time_attr(path).is_some() => Ok(Filter::Condition(GroupCondition::Present(
                GroupText::DisplayName,
            ))),
            None => Err(unsupported(&path.attr, path.sub.as_deref())),
        },
        Raw::Compare(path, op, value) => {
            if let Some(attr) = group_text(path) {
                let (op, negate) = text_op(op).ok_or_else(|| invalid("has an unknown operator"))?;
                let condition = GroupCondition::text(attr, op, text_value(value)?);
                return Ok(negated(Filter::Condition(condition), negate));
            }
            if let Some(attr) = time_attr(path) {
                let (op, negate) = order_op(op)?;
                let condition = GroupCondition::Time {
                    attr,
                    op,
                    value: time_value(value)?,
                };
                return Ok(negated(Filter::Condition(condition), negate));
            }
            Err(unsupported(&path.attr, path.sub.as_deref()))
        }
    }
}

/// A SCIM filter on Groups as the domain's query tree.
pub fn group_filter(text: &str) -> Result<Filter<GroupCondition>, ValueError> {
    group_leaf(&parse_raw(text)?)
}

/// A PATCH path (`members[value eq "id"]`, `emails[type eq "work"].value`,
/// `name.givenName`, `urn:...:User:employeeNumber`), lower-cased.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (schema URN of the core schema stripped; an extension
    /// URN kept, followed by `:` and the attribute).
    pub attr: String,
    /// The sub-attribute, if any.
    pub sub: Option<String>,
    /// The value filter's `value eq "x"` operand, for `members[value eq "x"]`.
    pub value_eq: Option<String>,
    /// Whether the path had a value filter at all.
    pub filtered: bool,
}

/// Read a PATCH `path`.
pub fn patch_path(text: &str) -> Result<PatchPath, ValueError> {
    let bad = || ValueError::new("invalid_path", "is not a valid attribute path");
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_LEN {
        return Err(bad());
    }
    let lower = text.to_ascii_lowercase();
    let (head, filter, tail) = match lower.find('[') {
        Some(open) => {
            let close = lower.rfind(']').ok_or_else(bad)?;
            if close < open {
                return Err(bad());
            }
            (
                &lower[..open],
                Some(&text[open + 1..close]),
                lower[close + 1..].trim_start_matches('.'),
            )
        }
        None => (lower.as_str(), None, ""),
    };
    let head = strip_urn(head);
    let (attr, sub) = if filter.is_some() {
        (
            head.to_owned(),
            Some(tail.to_owned()).filter(|t| !t.is_empty()),
        )
    } else if head.starts_with("urn:") {
        // An extension attribute: `urn:...:User:attr` or `urn:...:User:attr.sub`.
        match head.rsplit_once(':') {
            Some((schema, name)) => match name.split_once('.') {
                Some((name, sub)) => (format!("{schema}:{name}"), Some(sub.to_owned())),
                None => (head.to_owned(), None),
            },
            None => return Err(bad()),
        }
    } else {
        match head.split_once('.') {
            Some((attr, sub)) => (attr.to_owned(), Some(sub.to_owned())),
            None => (head.to_owned(), None),
        }
    };
    let mut value_eq = None;
    if let Some(filter) = filter {
        match parse_raw(filter).map_err(|_| bad())? {
            Raw::Compare(path, op, Value::String(v))
                if path.attr == "value" && path.sub.is_none() && op == "eq" =>
            {
                value_eq = Some(v);
            }
            _ => {}
        }
    }
    Ok(PatchPath {
        attr,
        sub,
        value_eq,
        filtered: filter.is_some(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(attr: UserText, op: TextOp, value: &str) -> Filter<UserCondition> {
        Filter::Condition(UserCondition::text(attr, op, value))
    }

    #[test]
    fn okta_and_entra_filters() {
        assert_eq!(
            user_filter(r#"userName eq "Alice@Example.com""#).unwrap(),
            text(UserText::Username, TextOp::Eq, "alice@example.com")
        );
        assert_eq!(
            user_filter(r#"externalId EQ "00uAbC""#).unwrap(),
            text(UserText::ExternalId, TextOp::Eq, "00uAbC")
        );
        let entra = user_filter(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap();
        assert_eq!(
            entra,
            Filter::And(
                Box::new(always()),
                Box::new(text(UserText::Email, TextOp::Eq, "a@b.c"))
            )
        );
    }

    #[test]
    fn grouping_not_and_precedence() {
        let f = user_filter(
            r#"not (name.givenName sw "a") and (userName co "x" or meta.created gt "2020-01-01T00:00:00Z")"#,
        )
        .unwrap();
        assert!(matches!(f, Filter::And(ref a, ref b)
            if matches!(**a, Filter::Not(_)) && matches!(**b, Filter::Or(_, _))));
        let f = user_filter(r#"userName eq "a" or userName eq "b" and active eq true"#).unwrap();
        assert!(matches!(f, Filter::Or(_, ref b) if matches!(**b, Filter::And(_, _))));
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"userName eq "a"#,
            r#"(userName eq "a""#,
            r#"nickName eq "a""#,
            r#"userName eq "a" trailing"#,
            r#"active eq "maybe""#,
            r#"meta.created co "2020""#,
            r#"phoneNumbers[type eq "work"].value eq "1""#,
        ] {
            assert_eq!(
                user_filter(bad).unwrap_err().code,
                "invalid_filter",
                "{bad}"
            );
        }
        let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(user_filter(&deep).unwrap_err().code, "invalid_filter");
    }

    #[test]
    fn group_filters() {
        assert_eq!(
            group_filter(r#"displayName eq "Engineering""#).unwrap(),
            Filter::Condition(GroupCondition::text(
                GroupText::DisplayName,
                TextOp::Eq,
                "engineering"
            ))
        );
        assert!(group_filter(r#"userName eq "x""#).is_err());
    }

    #[test]
    fn patch_paths() {
        let p = patch_path(r#"members[value eq "abc"]"#).unwrap();
        assert_eq!(
            (p.attr.as_str(), p.value_eq.as_deref()),
            ("members", Some("abc"))
        );
        let p = patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("emails", Some("value"))
        );
        let p = patch_path("name.givenName").unwrap();
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("name", Some("givenname"))
        );
        let p =
            patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
                .unwrap();
        assert_eq!(
            p.attr,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber"
        );
        assert!(patch_path("").is_err());
    }
}
