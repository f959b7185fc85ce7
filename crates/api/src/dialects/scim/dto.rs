//! SCIM's resource shapes: a user or group rendered as RFC 7643 JSON, a
//! request body read into the domain's commands, PATCH operations read
//! into the domain's changes, and the list parameters.
//!
//! SCIM attribute names are case-insensitive (RFC 7643 §2.1), so bodies
//! are read by name, ignoring case, rather than through serde field names.
//! Every problem is a field error at the attribute's SCIM path, all of them
//! collected; the code says which `scimType` the answer carries.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use userhub_domain::group::{CreateGroup, GroupView, MemberChange, UpdateGroup};
use userhub_domain::password::PlainPassword;
use userhub_domain::query::{PageRequest, Sort, SortDirection, SortField, UserFilter, UserQuery};
use userhub_domain::service::{CreateUser, ListUsers, UpdateUser};
use userhub_domain::types::{
    AddressLine, Company, CountryCode, Email, ExternalId, GroupName, Locale, OrganizationId,
    PersonName, PhoneNumber, Role, Status, TimeZone, Title, UserId, Username,
};
use userhub_domain::{
    AddressChanges, NewUser, Patch, User, UserChanges, ValidationErrors, ValueError,
};

use super::filter::{PatchPath, patch_path};
use crate::toolkit::Failure;
use crate::toolkit::render::rfc3339;

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// userhub's User extension: domain fields with no core place.
pub const USERHUB_SCHEMA: &str = "urn:userhub:params:scim:schemas:extension:userhub:2.0:User";
/// List responses.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PATCH requests.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// `.search` requests.
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The most resources one list answer holds (advertised as `filter.maxResults`).
pub const MAX_COUNT: u32 = 200;

/// The weak ETag of a version (`meta.version`, the `ETag` header).
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` names: `None` for no header or `*`. An
/// entity tag that is no version of ours names version 0, which no
/// resource has, so the write is refused as stale (412).
pub fn if_match(header: Option<&str>) -> Option<u64> {
    let value = header?.trim();
    if value == "*" {
        return None;
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    Some(
        tag.trim_matches('"')
            .parse::<u64>()
            .ok()
            .filter(|v| *v > 0)
            .unwrap_or(0),
    )
}

/// The value of `name` in `object`, ignoring case.
pub fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn error(code: &'static str, message: impl Into<String>, path: &str) -> userhub_domain::FieldError {
    ValueError::new(code, message).at(path)
}

/// The multi-valued complex attributes of a User (RFC 7643 §4.1.2): a
/// list of objects each, in a resource (a PATCH may name one item). A
/// value that is not a list, or an item that is not an object (`[null]`,
/// `["x"]`), is refused rather than skipped.
fn check_multi_valued(body: &Map<String, Value>, errors: &mut ValidationErrors) {
    for name in ["emails", "phoneNumbers", "addresses"] {
        match get(body, name) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_object() {
                        errors.push(error(
                            "invalid_value",
                            "must be an object",
                            &format!("{name}[{i}]"),
                        ));
                    }
                }
            }
            Some(_) => errors.push(error("invalid_value", "must be a list", name)),
        }
    }
}

/// `schemas` in a request: optional (clients omit it and we know the
/// resource from the route), but when sent it must be what RFC 7643 §3
/// says, a list of schema URNs — not any JSON value.
fn check_schemas(body: &Map<String, Value>, errors: &mut ValidationErrors) {
    match get(body, "schemas") {
        None => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => errors.push(error(
            "invalid_value",
            "must be a list of schema URNs",
            "schemas",
        )),
    }
}

// ---- rendering ----

/// The user as a SCIM User resource, with `meta.location` under `base`
/// (`https://host/scim/v2`).
pub fn user_resource(user: &User, base: &str) -> Value {
    let mut name = Map::new();
    let mut formatted = Vec::new();
    if let Some(title) = &user.title {
        name.insert("honorificPrefix".into(), json!(title.as_str()));
    }
    for (key, part) in [
        ("givenName", &user.first_name),
        ("middleName", &user.middle_name),
        ("familyName", &user.last_name),
    ] {
        if let Some(part) = part {
            name.insert(key.into(), json!(part.as_str()));
            formatted.push(part.as_str());
        }
    }
    let mut body = Map::new();
    let mut schemas = vec![json!(USER_SCHEMA)];
    body.insert("id".into(), json!(user.id.to_string()));
    if let Some(external) = &user.external_id {
        body.insert("externalId".into(), json!(external.as_str()));
    }
    body.insert("userName".into(), json!(user.username.as_str()));
    if !name.is_empty() {
        body.insert("name".into(), Value::Object(name));
        body.insert("displayName".into(), json!(formatted.join(" ")));
    }
    body.insert(
        "emails".into(),
        json!([{"value": user.email.as_str(), "type": "work", "primary": true}]),
    );
    let mut phones = Vec::new();
    if let Some(phone) = &user.phone {
        phones.push(json!({"value": phone.as_str(), "type": "work", "primary": true}));
    }
    if let Some(fax) = &user.fax {
        phones.push(json!({"value": fax.as_str(), "type": "fax", "primary": false}));
    }
    if !phones.is_empty() {
        body.insert("phoneNumbers".into(), Value::Array(phones));
    }
    if !user.address.is_empty() {
        let a = &user.address;
        let mut address = Map::new();
        address.insert("type".into(), json!("work"));
        address.insert("primary".into(), json!(true));
        let street: Vec<&str> = [&a.address_line1, &a.address_line2]
            .into_iter()
            .flatten()
            .map(|l| l.as_str())
            .collect();
        if !street.is_empty() {
            address.insert("streetAddress".into(), json!(street.join("\n")));
        }
        if let Some(city) = &a.city {
            address.insert("locality".into(), json!(city.as_str()));
        }
        if let Some(code) = &a.postal_code {
            address.insert("postalCode".into(), json!(code.as_str()));
        }
        if let Some(country) = &a.country {
            address.insert("country".into(), json!(country.as_str()));
        }
        body.insert("addresses".into(), json!([address]));
    }
    if let Some(locale) = &user.locale {
        body.insert("locale".into(), json!(locale.as_str()));
        body.insert("preferredLanguage".into(), json!(locale.as_str()));
    }
    if let Some(zone) = &user.time_zone {
        body.insert("timezone".into(), json!(zone.as_str()));
    }
    body.insert("active".into(), json!(user.status == Status::Active));
    body.insert(
        "roles".into(),
        Value::Array(
            user.roles
                .iter()
                .map(|r| json!({"value": r.as_str()}))
                .collect(),
        ),
    );
    if !user.memberships.is_empty() {
        body.insert(
            "groups".into(),
            Value::Array(
                user.memberships
                    .iter()
                    .map(|m| {
                        json!({
                            "value": m.organization.as_str(),
                            "$ref": format!("{base}/Groups/{}", m.organization.as_str()),
                            "type": "direct",
                        })
                    })
                    .collect(),
            ),
        );
    }
    if let Some(company) = &user.account.company {
        schemas.push(json!(ENTERPRISE_SCHEMA));
        body.insert(
            ENTERPRISE_SCHEMA.into(),
            json!({"organization": company.as_str()}),
        );
    }
    schemas.push(json!(USERHUB_SCHEMA));
    body.insert(USERHUB_SCHEMA.into(), {
        let mut extension = json!({
            "status": user.status.as_str(),
            "emailVerified": user.account.email_verified,
            "phoneVerified": user.account.phone_verified,
        });
        // Left out when empty, like every other attribute without a value.
        if let Some(object) = extension.as_object_mut() {
            if !user.memberships.is_empty() {
                object.insert("memberships".into(), json!(user.memberships));
            }
            if !user.attributes.is_empty() {
                object.insert("attributes".into(), json!(user.attributes));
            }
        }
        extension
    });
    body.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": rfc3339(user.created_at),
            "lastModified": rfc3339(user.updated_at),
            "location": format!("{base}/Users/{}", user.id),
            "version": etag(user.version),
        }),
    );
    body.insert("schemas".into(), Value::Array(schemas));
    Value::Object(body)
}

/// The group as a SCIM Group resource.
pub fn group_resource(view: &GroupView, base: &str) -> Value {
    let group = &view.group;
    let members: Vec<Value> = view
        .members
        .iter()
        .map(|m| {
            json!({
                "value": m.id.to_string(),
                "$ref": format!("{base}/Users/{}", m.id),
                "type": "User",
            })
        })
        .collect();
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id.as_str(),
        "displayName": group.display_name.as_str(),
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": rfc3339(group.created_at),
            "lastModified": rfc3339(group.updated_at),
            "location": format!("{base}/Groups/{}", group.id.as_str()),
            "version": etag(group.version),
        },
    });
    if let (Some(external), Some(object)) = (&group.external_id, body.as_object_mut()) {
        object.insert("externalId".into(), json!(external.as_str()));
    }
    body
}

/// Which attributes an answer shows (`attributes`, `excludedAttributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Only these (lower-cased paths), when not empty.
    pub attributes: Vec<String>,
    /// Not these.
    pub excluded: Vec<String>,
}

fn attribute_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|a| super::filter::strip_urn(&a.trim().to_ascii_lowercase()).to_owned())
        .filter(|a| !a.is_empty())
        .collect()
}

/// Whether `key` (a top-level key) with optional `sub` is named by `path`.
fn names(path: &str, key: &str, sub: Option<&str>) -> bool {
    let key = key.to_ascii_lowercase();
    match sub {
        None => {
            path == key
                || path.starts_with(&format!("{key}."))
                || path.starts_with(&format!("{key}:"))
        }
        Some(sub) => {
            let sub = sub.to_ascii_lowercase();
            path == key || path == format!("{key}.{sub}") || path == format!("{key}:{sub}")
        }
    }
}

impl Projection {
    /// From the query's or the search body's lists.
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self {
            attributes: attributes.map(attribute_list).unwrap_or_default(),
            excluded: excluded.map(attribute_list).unwrap_or_default(),
        }
    }

    /// `resource` with only the attributes asked for; `id`, `schemas`,
    /// `meta` and `userName` always stay (they are returned "always").
    pub fn apply(&self, mut resource: Value) -> Value {
        let Some(object) = resource.as_object_mut() else {
            return resource;
        };
        // Returned "always" (RFC 7643 §7; `userName` as our schema says).
        const ALWAYS: [&str; 4] = ["id", "schemas", "meta", "userName"];
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            if ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&key)) {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            if !self.attributes.is_empty() {
                let whole = self
                    .attributes
                    .iter()
                    .any(|p| names(p, &lower, None) && !p.starts_with(&format!("{lower}.")));
                let parts: Vec<String> =
                    self.attributes
                        .iter()
                        .filter_map(|p| p.strip_prefix(&format!("{lower}.")).map(str::to_owned))
                        .chain(self.attributes.iter().filter_map(|p| {
                            p.strip_prefix(&format!("{lower}:")).map(str::to_owned)
                        }))
                        .collect();
                if whole {
                    // kept as is
                } else if !parts.is_empty() {
                    if let Some(Value::Object(inner)) = object.get_mut(&key) {
                        inner.retain(|k, _| parts.iter().any(|p| p.eq_ignore_ascii_case(k)));
                    } else if let Some(Value::Array(items)) = object.get_mut(&key) {
                        for item in items.iter_mut() {
                            if let Value::Object(inner) = item {
                                inner
                                    .retain(|k, _| parts.iter().any(|p| p.eq_ignore_ascii_case(k)));
                            }
                        }
                    }
                } else {
                    object.remove(&key);
                    continue;
                }
            }
            for path in &self.excluded {
                if path == &lower {
                    object.remove(&key);
                    break;
                }
                let sub = path
                    .strip_prefix(&format!("{lower}."))
                    .or_else(|| path.strip_prefix(&format!("{lower}:")));
                if let Some(sub) = sub {
                    match object.get_mut(&key) {
                        Some(Value::Object(inner)) => {
                            inner.retain(|k, _| !k.eq_ignore_ascii_case(sub))
                        }
                        Some(Value::Array(items)) => {
                            for item in items.iter_mut() {
                                if let Value::Object(inner) = item {
                                    inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        resource
    }
}

/// A list answer.
pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

// ---- list parameters ----

/// A list request's parameters, from the query string or a `.search` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// The filter text.
    pub filter: Option<String>,
    /// 1-based index of the first resource.
    pub start_index: u64,
    /// How many at most.
    pub count: u32,
    /// The attribute to sort by.
    pub sort_by: Option<String>,
    /// Descending?
    pub descending: bool,
    /// What to show.
    pub projection: Projection,
}

fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn list_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .map(|names| names.join(",")),
        _ => None,
    }
}

impl ListParams {
    /// From name/value pairs (the query string) or a search body's object.
    pub fn read(pairs: &Map<String, Value>) -> Result<Self, Failure> {
        let mut errors = ValidationErrors::new();
        // A search body's `schemas` (a query string has none).
        check_schemas(pairs, &mut errors);
        let start_index = match get(pairs, "startIndex") {
            None => 1,
            Some(v) => match number(v) {
                // RFC 7644 §3.4.2.4: less than 1 is read as 1.
                Some(n) => u64::try_from(n.max(1)).unwrap_or(1),
                None => {
                    errors.push(error(
                        "invalid_value",
                        "must be a whole number",
                        "startIndex",
                    ));
                    1
                }
            },
        };
        let count = match get(pairs, "count") {
            None => MAX_COUNT,
            Some(v) => match number(v) {
                // Negative is 0; more than the maximum is the maximum.
                Some(n) => u32::try_from(n.clamp(0, i64::from(MAX_COUNT))).unwrap_or(MAX_COUNT),
                None => {
                    errors.push(error("invalid_value", "must be a whole number", "count"));
                    MAX_COUNT
                }
            },
        };
        let descending = match get(pairs, "sortOrder").and_then(Value::as_str) {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(_) => {
                errors.push(error(
                    "invalid_value",
                    "must be ascending or descending",
                    "sortOrder",
                ));
                false
            }
        };
        // A search body's values have JSON types (a query string's are
        // all strings): one of another type is refused, not ignored;
        // `null` is taken as left out.
        for name in ["filter", "sortBy", "sortOrder"] {
            if get(pairs, name).is_some_and(|v| !v.is_string() && !v.is_null()) {
                errors.push(error("invalid_value", "must be a string", name));
            }
        }
        for name in ["attributes", "excludedAttributes"] {
            if get(pairs, name).is_some_and(|v| !v.is_null() && list_text(v).is_none()) {
                errors.push(error(
                    "invalid_value",
                    "must be a list of attribute names",
                    name,
                ));
            }
        }
        let text = |name: &str| get(pairs, name).and_then(list_text);
        let params = Self {
            filter: get(pairs, "filter")
                .and_then(Value::as_str)
                .map(str::to_owned),
            start_index,
            count,
            sort_by: get(pairs, "sortBy")
                .and_then(Value::as_str)
                .map(str::to_owned),
            descending,
            projection: Projection::new(
                text("attributes").as_deref(),
                text("excludedAttributes").as_deref(),
            ),
        };
        errors.into_result()?;
        Ok(params)
    }

    /// From the query string's pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, Failure> {
        let object: Map<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Self::read(&object)
    }

    fn direction(&self) -> SortDirection {
        if self.descending {
            SortDirection::Descending
        } else {
            SortDirection::Ascending
        }
    }

    /// The filter, read by `parse`.
    fn filter_by<F>(
        &self,
        errors: &mut ValidationErrors,
        parse: fn(&str) -> Result<F, ValueError>,
    ) -> Option<F> {
        let text = self.filter.as_deref()?;
        errors.check("filter", parse(text))
    }

    /// `sortBy` (any letter case, with or without its schema's URN) as one
    /// of `keys`; `default` when it is not given. Another is refused,
    /// naming what it `can_be`.
    fn sort_key<S: Copy>(
        &self,
        errors: &mut ValidationErrors,
        keys: &[(&str, S)],
        default: S,
        can_be: &str,
    ) -> S {
        let Some(given) = self.sort_by.as_deref() else {
            return default;
        };
        let given = super::filter::strip_urn(&given.trim().to_ascii_lowercase()).to_owned();
        match keys.iter().find(|(key, _)| *key == given) {
            Some((_, sort)) => *sort,
            None => {
                errors.push(error(
                    "invalid_value",
                    format!("can only be {can_be}"),
                    "sortBy",
                ));
                default
            }
        }
    }

    /// The domain's list command for Users.
    pub fn users_command(&self) -> Result<ListUsers, Failure> {
        let mut errors = ValidationErrors::new();
        let expression = self.filter_by(&mut errors, super::filter::user_filter);
        let keys = [
            ("username", SortField::Username),
            ("emails", SortField::Email),
            ("emails.value", SortField::Email),
            ("meta.created", SortField::CreatedAt),
            ("id", SortField::CreatedAt),
            ("meta.lastmodified", SortField::UpdatedAt),
        ];
        let can_be = "userName, emails.value, meta.created or meta.lastModified";
        let field = self.sort_key(&mut errors, &keys, SortField::CreatedAt, can_be);
        errors.into_result()?;
        Ok(ListUsers::new(UserQuery {
            filter: UserFilter {
                expression,
                ..UserFilter::default()
            },
            sort: Sort {
                field,
                direction: self.direction(),
            },
            page: PageRequest::Offset {
                offset: self.start_index - 1,
                limit: self.count,
            },
            with_total: true,
        }))
    }

    /// The domain's list query for Groups.
    pub fn groups_query(&self) -> Result<userhub_domain::group::GroupQuery, Failure> {
        use userhub_domain::group::{GroupQuery, GroupSort};
        let mut errors = ValidationErrors::new();
        let filter = self.filter_by(&mut errors, super::filter::group_filter);
        let keys = [
            ("displayname", GroupSort::DisplayName),
            ("meta.created", GroupSort::Created),
            ("id", GroupSort::Created),
        ];
        let can_be = "displayName or meta.created";
        let sort = self.sort_key(&mut errors, &keys, GroupSort::Created, can_be);
        errors.into_result()?;
        Ok(GroupQuery {
            filter,
            sort,
            direction: self.direction(),
            offset: self.start_index - 1,
            limit: self.count,
        })
    }
}

// ---- reading users ----

/// What a body or a PATCH does to a user, gathered before it becomes a
/// command: the domain's changes, plus the password as sent.
#[derive(Debug, Default)]
struct Edit {
    changes: UserChanges,
    password: Option<PlainPassword>,
    /// Every problem found, at its SCIM path.
    errors: ValidationErrors,
    /// Whether unknown attributes are errors (PATCH paths) or ignored
    /// (whole resources, which clients send back with read-only parts).
    strict: bool,
    /// Whether the operation is a PATCH `add` (which adds to a
    /// multi-valued attribute rather than replacing it).
    adding: bool,
}

fn string_of<'a>(value: &'a Value, path: &str, errors: &mut ValidationErrors) -> Option<&'a str> {
    match value {
        Value::String(s) => Some(s),
        _ => {
            errors.push(error("invalid_value", "must be a string", path));
            None
        }
    }
}

fn bool_of(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        // Entra ID sends "True" / "False".
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => {
            errors.push(error("invalid_value", "must be true or false", path));
            None
        }
    }
}

/// A text patch from a value (`None`: removed).
fn text_patch<T>(
    value: Option<&Value>,
    path: &str,
    errors: &mut ValidationErrors,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    match value {
        None | Some(Value::Null) => Patch::Clear,
        Some(Value::String(s)) if s.trim().is_empty() => Patch::Clear,
        Some(v) => match string_of(v, path, errors) {
            Some(s) => errors
                .check(path, parse(s))
                .map_or(Patch::Leave, Patch::Set),
            None => Patch::Leave,
        },
    }
}

/// The item of a multi-valued attribute a whole value picks: the primary
/// one, else the first (an object, or a bare value).
fn pick(value: &Value) -> Option<&Value> {
    match value {
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| items.first()),
        other => Some(other),
    }
}

fn item_value(item: &Value) -> Option<&Value> {
    match item {
        Value::Object(o) => get(o, "value"),
        other => Some(other),
    }
}

fn item_type(item: &Value) -> Option<String> {
    item.as_object()
        .and_then(|o| get(o, "type"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

impl Edit {
    fn new(strict: bool) -> Self {
        Self {
            strict,
            ..Self::default()
        }
    }

    fn unknown(&mut self, path: &str) {
        if self.strict {
            self.errors.push(error(
                "invalid_path",
                "is not an attribute this service stores",
                path,
            ));
        }
    }

    fn read_only(&mut self, path: &str) {
        if self.strict {
            self.errors.push(error("mutability", "is read-only", path));
        }
    }

    /// Set (`Some`) or remove (`None`) the attribute at `path`. `type_eq`
    /// is the `type eq "x"` of a value filter, if the path had one.
    fn set(&mut self, path: &PatchPath, type_eq: Option<&str>, value: Option<&Value>) {
        let label = match &path.sub {
            Some(sub) => format!("{}.{sub}", path.attr),
            None => path.attr.clone(),
        };
        let label = label.as_str();
        let errors = &mut self.errors;
        let c = &mut self.changes;
        match (path.attr.as_str(), path.sub.as_deref()) {
            ("username", None) => match value {
                Some(v) => {
                    if let Some(s) = string_of(v, "userName", errors) {
                        c.username = errors.check("userName", Username::parse(s));
                    }
                }
                None => errors.push(error(
                    "invalid_value",
                    "is required and cannot be removed",
                    "userName",
                )),
            },
            ("name", None) => match value {
                Some(Value::Object(parts)) => {
                    for (key, part) in parts.clone() {
                        let sub = PatchPath {
                            attr: "name".into(),
                            sub: Some(key.to_ascii_lowercase()),
                            value_eq: None,
                            filtered: false,
                        };
                        self.set(&sub, None, Some(&part));
                    }
                }
                Some(Value::Null) | None => {
                    c.title = Patch::Clear;
                    c.first_name = Patch::Clear;
                    c.middle_name = Patch::Clear;
                    c.last_name = Patch::Clear;
                }
                Some(_) => errors.push(error("invalid_value", "must be an object", "name")),
            },
            ("name", Some("givenname")) => {
                c.first_name = text_patch(value, "name.givenName", errors, PersonName::parse)
            }
            ("name", Some("middlename")) => {
                c.middle_name = text_patch(value, "name.middleName", errors, PersonName::parse)
            }
            ("name", Some("familyname")) => {
                c.last_name = text_patch(value, "name.familyName", errors, PersonName::parse)
            }
            ("name", Some("honorificprefix")) => {
                c.title = text_patch(value, "name.honorificPrefix", errors, Title::parse)
            }
            // Derived from the parts, or not stored.
            ("name", Some("formatted" | "honorificsuffix"))
            | ("displayname" | "nickname" | "profileurl" | "title" | "usertype", None) => {}
            ("emails", sub) => {
                let chosen = match (sub, value) {
                    (_, None) => {
                        errors.push(error(
                            "invalid_value",
                            "is required and cannot be removed",
                            "emails",
                        ));
                        return;
                    }
                    (Some("value"), Some(v)) => Some(v),
                    (Some(_), Some(_)) => return,
                    (None, Some(v)) => pick(v).and_then(item_value),
                };
                if let Some(v) = chosen
                    && let Some(s) = string_of(v, "emails", errors)
                {
                    c.email = errors.check("emails", Email::parse(s));
                }
            }
            ("phonenumbers", sub) => match (sub, value) {
                (_, None) => {
                    if type_eq == Some("fax") {
                        c.fax = Patch::Clear;
                    } else if type_eq.is_some() {
                        c.phone = Patch::Clear;
                    } else {
                        c.phone = Patch::Clear;
                        c.fax = Patch::Clear;
                    }
                }
                (Some("value"), Some(v)) => {
                    let patch = text_patch(Some(v), "phoneNumbers", errors, PhoneNumber::parse);
                    if type_eq == Some("fax") {
                        c.fax = patch;
                    } else {
                        c.phone = patch;
                    }
                }
                (Some(_), Some(_)) => {}
                (None, Some(Value::Array(items))) => {
                    let fax = items
                        .iter()
                        .find(|i| item_type(i).as_deref() == Some("fax"));
                    let phone = items
                        .iter()
                        .filter(|i| item_type(i).as_deref() != Some("fax"))
                        .find(|i| i.get("primary").and_then(Value::as_bool) == Some(true))
                        .or_else(|| {
                            items
                                .iter()
                                .find(|i| item_type(i).as_deref() != Some("fax"))
                        });
                    c.phone = text_patch(
                        phone.and_then(item_value),
                        "phoneNumbers",
                        errors,
                        PhoneNumber::parse,
                    );
                    c.fax = text_patch(
                        fax.and_then(item_value),
                        "phoneNumbers",
                        errors,
                        PhoneNumber::parse,
                    );
                }
                (None, Some(v)) => {
                    let patch =
                        text_patch(item_value(v), "phoneNumbers", errors, PhoneNumber::parse);
                    if item_type(v).as_deref() == Some("fax") || type_eq == Some("fax") {
                        c.fax = patch;
                    } else {
                        c.phone = patch;
                    }
                }
            },
            ("addresses", sub) => {
                let line = |v: Option<&Value>, path: &str, errors: &mut ValidationErrors| {
                    text_patch(v, path, errors, AddressLine::parse)
                };
                match (sub, value) {
                    (None, None) => c.address = AddressChanges::clear(),
                    (None, Some(v)) => {
                        let Some(Value::Object(item)) = pick(v) else {
                            if !v.is_array() {
                                errors.push(error(
                                    "invalid_value",
                                    "must be a list of addresses",
                                    "addresses",
                                ));
                            } else {
                                c.address = AddressChanges::clear();
                            }
                            return;
                        };
                        c.address = AddressChanges::clear();
                        c.address.address_line1 = line(
                            get(item, "streetAddress"),
                            "addresses.streetAddress",
                            errors,
                        );
                        c.address.city = line(get(item, "locality"), "addresses.locality", errors);
                        c.address.postal_code =
                            line(get(item, "postalCode"), "addresses.postalCode", errors);
                        c.address.country = text_patch(
                            get(item, "country"),
                            "addresses.country",
                            errors,
                            CountryCode::parse,
                        );
                    }
                    (Some("streetaddress"), v) => {
                        c.address.address_line1 = line(v, "addresses.streetAddress", errors)
                    }
                    (Some("locality"), v) => c.address.city = line(v, "addresses.locality", errors),
                    (Some("postalcode"), v) => {
                        c.address.postal_code = line(v, "addresses.postalCode", errors)
                    }
                    (Some("country"), v) => {
                        c.address.country =
                            text_patch(v, "addresses.country", errors, CountryCode::parse)
                    }
                    (Some(_), _) => {}
                }
            }
            ("locale", None) => c.locale = text_patch(value, label, errors, Locale::parse),
            // Rendered from the locale; read as the locale only when the
            // request gives no locale.
            ("preferredlanguage", None) => {
                if c.locale.is_leave() {
                    c.locale = text_patch(value, label, errors, Locale::parse)
                }
            }
            ("timezone", None) => {
                c.time_zone = text_patch(value, "timezone", errors, TimeZone::parse)
            }
            ("active", None) => match value {
                Some(v) => {
                    if let Some(active) = bool_of(v, "active", errors) {
                        c.status = Some(if active {
                            Status::Active
                        } else {
                            Status::Inactive
                        });
                    }
                }
                None => errors.push(error("invalid_value", "cannot be removed", "active")),
            },
            ("password", None) => match value {
                Some(v) => {
                    if let Some(s) = string_of(v, "password", errors) {
                        self.password = Some(PlainPassword::new(s));
                    }
                }
                None => errors.push(error("invalid_value", "cannot be removed", "password")),
            },
            ("externalid", None) => {
                c.external_id = text_patch(value, "externalId", errors, ExternalId::parse)
            }
            ("roles", sub) => {
                if sub.is_some() && sub != Some("value") {
                    return;
                }
                // `remove` with `roles[value eq "X"]`: that role only.
                if value.is_none()
                    && let Some(name) = &path.value_eq
                {
                    if let Some(role) = errors.check("roles", Role::parse(name)) {
                        c.remove_roles.insert(role);
                    }
                    return;
                }
                let mut roles = BTreeSet::new();
                let items: Vec<&Value> = match value {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(v) => vec![v],
                };
                for (i, item) in items.into_iter().enumerate() {
                    let at = format!("roles[{i}].value");
                    // A role object without its `value` names no role: say
                    // so rather than take it as none.
                    let Some(v) = item_value(item) else {
                        errors.push(error("invalid_value", "is required", &at));
                        continue;
                    };
                    if let Some(s) = string_of(v, &at, errors)
                        && let Some(role) = errors.check(at.as_str(), Role::parse(s))
                    {
                        roles.insert(role);
                    }
                }
                if self.adding {
                    c.add_roles.extend(roles);
                } else {
                    c.roles = Some(roles);
                }
            }
            ("groups", _) => errors.push(error(
                "mutability",
                "is read-only here: change a Group's members instead",
                "groups",
            )),
            ("id" | "meta" | "schemas", _) => self.read_only(label),
            (attr, sub) if attr == ENTERPRISE_SCHEMA.to_ascii_lowercase() => match (sub, value) {
                (None, Some(Value::Object(parts))) => {
                    for (key, part) in parts.clone() {
                        let inner = PatchPath {
                            attr: format!("{attr}:{}", key.to_ascii_lowercase()),
                            sub: None,
                            value_eq: None,
                            filtered: false,
                        };
                        self.set(&inner, None, Some(&part));
                    }
                }
                (None, None) => c.account.company = Patch::Clear,
                _ => {}
            },
            (attr, None)
                if attr == format!("{}:organization", ENTERPRISE_SCHEMA.to_ascii_lowercase()) =>
            {
                c.account.company = text_patch(value, "organization", errors, Company::parse)
            }
            // The rest of the enterprise extension (employeeNumber,
            // department, manager, ...) has no place in the domain: not stored.
            (attr, _) if attr.starts_with(&ENTERPRISE_SCHEMA.to_ascii_lowercase()) => {}
            (attr, sub) if attr == USERHUB_SCHEMA.to_ascii_lowercase() => {
                if let (None, Some(Value::Object(parts))) = (sub, value) {
                    for (key, part) in parts.clone() {
                        let inner = PatchPath {
                            attr: format!("{attr}:{}", key.to_ascii_lowercase()),
                            sub: None,
                            value_eq: None,
                            filtered: false,
                        };
                        self.set(&inner, None, Some(&part));
                    }
                }
            }
            (attr, None) if attr.starts_with(&USERHUB_SCHEMA.to_ascii_lowercase()) => {
                let name = attr.rsplit(':').next().unwrap_or_default();
                match (name, value) {
                    ("emailverified", Some(v)) => {
                        c.account.email_verified = bool_of(v, label, errors)
                    }
                    ("phoneverified", Some(v)) => {
                        c.account.phone_verified = bool_of(v, label, errors)
                    }
                    // The status (write `active`), memberships (a Group's
                    // members) and attributes are read-only here.
                    _ => {}
                }
            }
            _ => self.unknown(label),
        }
    }

    /// Every attribute of a whole resource (POST, PUT).
    fn read_resource(&mut self, body: &Map<String, Value>) {
        check_schemas(body, &mut self.errors);
        check_multi_valued(body, &mut self.errors);
        for (key, value) in body {
            let lower = key.to_ascii_lowercase();
            let path = match patch_path(&lower) {
                Ok(path) => path,
                Err(_) => continue,
            };
            // Read-only attributes a client sends back are ignored.
            if matches!(path.attr.as_str(), "id" | "meta" | "schemas" | "groups") {
                continue;
            }
            self.set(&path, None, Some(value));
        }
    }
}

/// POST /Users: the body as a create command.
pub fn create_user_command(body: Map<String, Value>) -> Result<CreateUser, Failure> {
    let mut edit = Edit::new(false);
    edit.read_resource(&body);
    let Edit {
        changes: c,
        password,
        mut errors,
        ..
    } = edit;
    if get(&body, "userName").is_none() {
        errors.push(error("invalid_value", "is required", "userName"));
    }
    // No e-mail: a userName that is an e-mail address is one.
    let email = c.email.clone().or_else(|| {
        let username = c.username.as_ref()?;
        Email::parse(username.as_str()).ok()
    });
    if email.is_none() && c.username.is_some() && get(&body, "emails").is_none() {
        errors.push(error(
            "invalid_value",
            "is required: give a work e-mail address (or a userName that is one)",
            "emails",
        ));
    }
    let user = match (c.username.clone(), email) {
        (Some(username), Some(email)) => {
            let mut new = NewUser::new(username, email);
            new.first_name = c.first_name.into_set();
            new.middle_name = c.middle_name.into_set();
            new.last_name = c.last_name.into_set();
            new.title = c.title.into_set();
            new.locale = c.locale.into_set();
            new.time_zone = c.time_zone.into_set();
            new.phone = c.phone.into_set();
            new.fax = c.fax.into_set();
            new.external_id = c.external_id.into_set();
            new.account.company = c.account.company.into_set();
            new.address = c.address.applied_to(&new.address);
            if let Some(roles) = c.roles
                && !roles.is_empty()
            {
                new.roles = roles;
            }
            if let Some(status) = c.status {
                new.status = status;
            }
            if let Some(v) = c.account.email_verified {
                new.account.email_verified = v;
            }
            if let Some(v) = c.account.phone_verified {
                new.account.phone_verified = v;
            }
            Some(new)
        }
        _ => None,
    };
    let mut command = CreateUser::refused(user, errors);
    command.password = password;
    Ok(command)
}

/// PUT /Users/{id}: the body replaces every attribute it maps (those left
/// out are cleared; `roles`, `active`, `password` and the e-mail, which a
/// user always has, are left as they are when left out).
pub fn replace_user_command(
    id: Result<UserId, Failure>,
    expected_version: Option<u64>,
    body: Map<String, Value>,
) -> Result<UpdateUser, Failure> {
    let id = id?;
    let mut edit = Edit::new(false);
    edit.changes = UserChanges {
        title: Patch::Clear,
        first_name: Patch::Clear,
        middle_name: Patch::Clear,
        last_name: Patch::Clear,
        locale: Patch::Clear,
        time_zone: Patch::Clear,
        phone: Patch::Clear,
        fax: Patch::Clear,
        address: AddressChanges::clear(),
        external_id: Patch::Clear,
        ..UserChanges::default()
    };
    edit.changes.account.company = Patch::Clear;
    edit.read_resource(&body);
    if get(&body, "userName").is_none() {
        edit.errors
            .push(error("invalid_value", "is required", "userName"));
    }
    let mut command = UpdateUser::new(id, edit.changes);
    command.password = edit.password;
    command.expected_version = expected_version;
    command.errors = edit.errors;
    Ok(command)
}

/// One PATCH operation, read.
#[derive(Debug)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// One operation: what, at which path, with which value.
type Operation = (Op, Option<String>, Option<Value>);

/// The `Operations` of a PATCH body, each `(op, path, value)`.
fn operations(body: &Map<String, Value>) -> Result<Vec<Operation>, Failure> {
    let mut errors = ValidationErrors::new();
    check_schemas(body, &mut errors);
    let Some(Value::Array(list)) = get(body, "Operations") else {
        return Err(error(
            "invalid_syntax",
            "must be a list of operations",
            "Operations",
        )
        .into());
    };
    let mut ops = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = format!("Operations[{i}]");
        let Some(object) = item.as_object() else {
            errors.push(error("invalid_syntax", "must be an object", &at));
            continue;
        };
        // Entra ID capitalises the op: match it ignoring case.
        let op = match get(object, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            Some(op) if op == "add" => Op::Add,
            Some(op) if op == "replace" => Op::Replace,
            Some(op) if op == "remove" => Op::Remove,
            _ => {
                errors.push(error(
                    "invalid_syntax",
                    "must be add, replace or remove",
                    &format!("{at}.op"),
                ));
                continue;
            }
        };
        let path = match get(object, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => {
                errors.push(error(
                    "invalid_path",
                    "must be a string",
                    &format!("{at}.path"),
                ));
                continue;
            }
        };
        let value = get(object, "value").cloned();
        if matches!(op, Op::Add | Op::Replace) && value.is_none() {
            errors.push(error(
                "invalid_value",
                "is required for add and replace",
                &format!("{at}.value"),
            ));
            continue;
        }
        if matches!(op, Op::Remove) && path.is_none() {
            errors.push(error(
                "no_target",
                "is required for remove",
                &format!("{at}.path"),
            ));
            continue;
        }
        ops.push((op, path, value));
    }
    errors.into_result()?;
    Ok(ops)
}

/// The `type eq "x"` of a path's value filter, lower-cased.
fn type_filter(path: &str) -> Option<String> {
    let open = path.find('[')?;
    let close = path.rfind(']')?;
    let inner = path.get(open + 1..close)?.trim();
    let mut words = inner.splitn(3, char::is_whitespace);
    let (attr, op, value) = (words.next()?, words.next()?, words.next()?);
    (attr.eq_ignore_ascii_case("type") && op.eq_ignore_ascii_case("eq"))
        .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
}

/// PATCH /Users/{id}: the operations as one change.
pub fn patch_user_command(
    id: Result<UserId, Failure>,
    expected_version: Option<u64>,
    body: Map<String, Value>,
) -> Result<UpdateUser, Failure> {
    let id = id?;
    let ops = operations(&body)?;
    let mut edit = Edit::new(true);
    for (op, path, value) in ops {
        edit.adding = matches!(op, Op::Add);
        match path {
            // Okta's and Entra's path-less replace: every key of the value
            // (possibly dotted, or URN-prefixed) is a path of its own.
            None => match value {
                Some(Value::Object(object)) => {
                    for (key, v) in object {
                        match patch_path(&key) {
                            Ok(p) => edit.set(&p, None, Some(&v)),
                            Err(e) => edit.errors.push(e.at(key.as_str())),
                        }
                    }
                }
                _ => edit.errors.push(error(
                    "invalid_value",
                    "must be an object when no path is given",
                    "value",
                )),
            },
            Some(text) => match patch_path(&text) {
                Ok(p) => {
                    let type_eq = type_filter(&text);
                    let value = match op {
                        Op::Remove => None,
                        Op::Add | Op::Replace => value,
                    };
                    edit.set(&p, type_eq.as_deref(), value.as_ref());
                }
                Err(e) => edit.errors.push(e.at("path")),
            },
        }
    }
    let mut command = UpdateUser::new(id, edit.changes);
    command.password = edit.password;
    command.expected_version = expected_version;
    command.errors = edit.errors;
    Ok(command)
}

// ---- groups ----

/// A group id from a path: any text that is a valid organization id (an
/// id that names no group is answered 404).
pub fn group_id(text: &str) -> Result<OrganizationId, Failure> {
    OrganizationId::parse(text).map_err(|_| userhub_domain::DomainError::NotFound("group").into())
}

fn member_ids(value: &Value, path: &str, errors: &mut ValidationErrors) -> Vec<UserId> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut ids = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{path}[{i}].value");
        match item_value(item).and_then(Value::as_str).map(UserId::parse) {
            Some(Ok(id)) => ids.push(id),
            _ => errors.push(error("invalid_value", "must name a user by id", &at)),
        }
    }
    ids
}

/// POST /Groups.
pub fn create_group_command(body: Map<String, Value>) -> Result<CreateGroup, Failure> {
    let mut errors = ValidationErrors::new();
    check_schemas(&body, &mut errors);
    let display_name = match get(&body, "displayName") {
        Some(v) => string_of(v, "displayName", &mut errors)
            .and_then(|s| errors.check("displayName", GroupName::parse(s))),
        None => {
            errors.push(error("invalid_value", "is required", "displayName"));
            None
        }
    };
    let external_id = match get(&body, "externalId") {
        None | Some(Value::Null) => None,
        Some(v) => string_of(v, "externalId", &mut errors)
            .and_then(|s| errors.check("externalId", ExternalId::parse(s))),
    };
    let members = get(&body, "members")
        .map(|v| member_ids(v, "members", &mut errors))
        .unwrap_or_default();
    Ok(CreateGroup {
        display_name,
        external_id,
        members,
        errors,
    })
}

/// PUT /Groups/{id}: name, external id and members replaced.
pub fn replace_group_command(
    id: Result<OrganizationId, Failure>,
    expected_version: Option<u64>,
    body: Map<String, Value>,
) -> Result<UpdateGroup, Failure> {
    let id = id?;
    let create = create_group_command(body)?;
    Ok(UpdateGroup {
        id,
        display_name: create.display_name,
        external_id: Some(create.external_id),
        members: MemberChange::Replace(create.members),
        expected_version,
        errors: create.errors,
    })
}

/// PATCH /Groups/{id}: Okta's `members[value eq "id"]` removals, Entra's
/// `members` removal with a value list, adds, replaces.
pub fn patch_group_command(
    id: Result<OrganizationId, Failure>,
    expected_version: Option<u64>,
    body: Map<String, Value>,
) -> Result<UpdateGroup, Failure> {
    let id = id?;
    let ops = operations(&body)?;
    let mut errors = ValidationErrors::new();
    let mut display_name = None;
    let mut external_id = None;
    let mut replaced: Option<Vec<UserId>> = None;
    let mut add: Vec<UserId> = Vec::new();
    let mut remove: Vec<UserId> = Vec::new();
    for (op, path, value) in ops {
        // A path-less op: each key of the value is a path.
        let targets: Vec<(String, Option<Value>)> = match (&path, value) {
            (Some(p), v) => vec![(p.clone(), v)],
            (None, Some(Value::Object(object))) => {
                object.into_iter().map(|(k, v)| (k, Some(v))).collect()
            }
            (None, _) => {
                errors.push(error(
                    "invalid_value",
                    "must be an object when no path is given",
                    "value",
                ));
                continue;
            }
        };
        for (text, value) in targets {
            let p = match patch_path(&text) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(e.at("path"));
                    continue;
                }
            };
            match (p.attr.as_str(), &op) {
                ("displayname", Op::Remove) => errors.push(error(
                    "invalid_value",
                    "is required and cannot be removed",
                    "displayName",
                )),
                ("displayname", _) => {
                    display_name = value.as_ref().and_then(|v| {
                        string_of(v, "displayName", &mut errors)
                            .and_then(|s| errors.check("displayName", GroupName::parse(s)))
                    })
                }
                ("externalid", Op::Remove) => external_id = Some(None),
                ("externalid", _) => {
                    external_id = Some(value.as_ref().and_then(|v| {
                        string_of(v, "externalId", &mut errors)
                            .and_then(|s| errors.check("externalId", ExternalId::parse(s)))
                    }))
                }
                ("members", Op::Remove) => {
                    let mut ids = Vec::new();
                    if let Some(v) = &p.value_eq {
                        match UserId::parse(v) {
                            Ok(id) => ids.push(id),
                            // Names no user: nothing to remove.
                            Err(_) => continue,
                        }
                    } else if let Some(v) = &value {
                        ids = member_ids(v, "members", &mut errors);
                    } else if !p.filtered {
                        // Remove every member.
                        replaced = Some(Vec::new());
                        add.clear();
                        remove.clear();
                        continue;
                    }
                    match &mut replaced {
                        Some(list) => list.retain(|m| !ids.contains(m)),
                        None => {
                            add.retain(|m| !ids.contains(m));
                            remove.extend(ids);
                        }
                    }
                }
                ("members", Op::Add) => {
                    let ids = value
                        .as_ref()
                        .map(|v| member_ids(v, "members", &mut errors))
                        .unwrap_or_default();
                    match &mut replaced {
                        Some(list) => list.extend(ids),
                        None => {
                            remove.retain(|m| !ids.contains(m));
                            add.extend(ids);
                        }
                    }
                }
                ("members", Op::Replace) => {
                    replaced = Some(
                        value
                            .as_ref()
                            .map(|v| member_ids(v, "members", &mut errors))
                            .unwrap_or_default(),
                    );
                    add.clear();
                    remove.clear();
                }
                ("id" | "meta" | "schemas", _) => {
                    errors.push(error("mutability", "is read-only", &text))
                }
                _ => errors.push(error(
                    "invalid_path",
                    "is not an attribute of a Group",
                    &text,
                )),
            }
        }
    }
    let members = match replaced {
        Some(list) => MemberChange::Replace(list),
        None if add.is_empty() && remove.is_empty() => MemberChange::Keep,
        None => MemberChange::Edit { add, remove },
    };
    Ok(UpdateGroup {
        id,
        display_name,
        external_id,
        members,
        expected_version,
        errors,
    })
}

// ---- OpenAPI shapes (documentation of the JSON above) ----

/// A SCIM User (RFC 7643 §4.1), with the enterprise and userhub extensions.
#[derive(Debug, utoipa::ToSchema)]
#[schema(example = json!({
    "schemas": [USER_SCHEMA],
    "externalId": "00u1ab2c3d",
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
    "active": true
}))]
#[allow(dead_code)]
pub struct ScimUser {
    /// The schemas the resource uses. Optional in a request (the route
    /// says which resource it is); when sent, a list of schema URNs.
    #[schema(schema_with = schemas_schema)]
    schemas: Option<Vec<String>>,
    /// The user's id. Read-only: ignored in a request.
    #[schema(schema_with = read_only_schema)]
    id: Option<String>,
    /// The identity provider's id, unique per tenant.
    #[schema(rename = "externalId")]
    external_id: Option<String>,
    /// Login name, unique per tenant (case-insensitive). Required.
    #[schema(rename = "userName")]
    user_name: String,
    /// `givenName`, `middleName`, `familyName`, `honorificPrefix`.
    #[schema(value_type = Option<Object>)]
    name: Option<String>,
    /// One work e-mail (the primary one is kept).
    #[schema(value_type = Option<Vec<Object>>)]
    emails: Option<String>,
    /// A work number and a fax number, E.164.
    #[schema(value_type = Option<Vec<Object>>, rename = "phoneNumbers")]
    phone_numbers: Option<String>,
    /// One address: `streetAddress`, `locality`, `postalCode`, `country`.
    #[schema(value_type = Option<Vec<Object>>)]
    addresses: Option<String>,
    /// BCP 47 language tag (also `preferredLanguage`).
    locale: Option<String>,
    /// IANA time zone.
    timezone: Option<String>,
    /// `false`: INACTIVE (still returned).
    active: Option<bool>,
    /// Write-only.
    password: Option<String>,
    /// `[{"value": "STANDARD_USER"}]`; a bare role name, or one role
    /// object instead of the list, is taken too (as identity providers
    /// send them).
    #[schema(schema_with = roles_schema)]
    roles: Option<String>,
    /// Read-only: the groups (organizations) the user is a member of;
    /// ignored in a request (change a Group's `members` instead).
    #[schema(schema_with = read_only_schema)]
    groups: Option<String>,
    /// `resourceType`, `created`, `lastModified`, `location`, `version`.
    /// Read-only: whatever a request sends here is ignored (RFC 7644
    /// §3.5.1).
    #[schema(schema_with = read_only_schema)]
    meta: Option<String>,
}

/// `schemas` in a request: a list of URNs, optional.
fn schemas_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(
            "The schema URNs of the request; optional, read for information only",
        ))
        .into()
}

/// A User's `roles`: a list of role objects or names, or one of them.
fn roles_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let role = || {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .property("value", ObjectBuilder::new().schema_type(Type::String))
                    .required("value"),
            )
            .item(ObjectBuilder::new().schema_type(Type::String))
    };
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(role()))
        .item(role())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A read-only attribute (`id`, `meta`): answered by the server, ignored
/// whatever its type when a request sends it.
fn read_only_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .read_only(Some(true))
        .into()
}

/// `attributes` / `excludedAttributes` in a search body.
fn attribute_names_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// `sortOrder`: RFC 7644's two orders.
fn sort_order_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .enum_values(Some([Some("ascending"), Some("descending"), None]))
        .description(Some("ascending or descending"))
        .into()
}

/// A SCIM Group (RFC 7643 §4.2): an organization of the tenant.
#[derive(Debug, utoipa::ToSchema)]
#[schema(example = json!({
    "schemas": [GROUP_SCHEMA],
    "displayName": "Engineering",
    "members": [{"value": "2819c223-7f76-453a-919d-413861904646"}]
}))]
#[allow(dead_code)]
pub struct ScimGroup {
    /// The schemas the resource uses. Optional in a request (the route
    /// says which resource it is); when sent, a list of schema URNs.
    #[schema(schema_with = schemas_schema)]
    schemas: Option<Vec<String>>,
    /// The organization id. Read-only: ignored in a request.
    #[schema(schema_with = read_only_schema)]
    id: Option<String>,
    /// Unique per tenant (case-insensitive). Required.
    #[schema(rename = "displayName")]
    display_name: String,
    /// The identity provider's id, unique per tenant.
    #[schema(rename = "externalId")]
    external_id: Option<String>,
    /// `[{"value": "<user id>", "$ref": "<user URI>", "type": "User"}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    members: Option<String>,
    /// `resourceType`, `created`, `lastModified`, `location`, `version`.
    /// Read-only: whatever a request sends here is ignored (RFC 7644
    /// §3.5.1).
    #[schema(schema_with = read_only_schema)]
    meta: Option<String>,
}

/// A list answer (RFC 7644 §3.4.2).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ScimList {
    /// The list response schema.
    schemas: Vec<String>,
    /// How many resources pass the filter (exact).
    #[schema(rename = "totalResults")]
    total_results: u64,
    /// The 1-based index of the first resource.
    #[schema(rename = "startIndex")]
    start_index: u64,
    /// How many are in this answer.
    #[schema(rename = "itemsPerPage")]
    items_per_page: u64,
    /// The resources.
    #[schema(value_type = Vec<Object>, rename = "Resources")]
    resources: Vec<String>,
}

/// A PATCH request (RFC 7644 §3.5.2).
#[derive(Debug, utoipa::ToSchema)]
#[schema(example = json!({
    "schemas": [PATCH_SCHEMA],
    "Operations": [{"op": "replace", "value": {"active": false}}]
}))]
#[allow(dead_code)]
pub struct ScimPatch {
    /// The PatchOp schema. Optional in a request (the route
    /// says which resource it is); when sent, a list of schema URNs.
    #[schema(schema_with = schemas_schema)]
    schemas: Option<Vec<String>>,
    /// `{op: add|replace|remove (any case), path?, value?}`.
    #[schema(value_type = Vec<Object>, rename = "Operations")]
    operations: Vec<String>,
}

/// A search request (RFC 7644 §3.4.3).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ScimSearch {
    /// The SearchRequest schema. Optional in a request (the route
    /// says which resource it is); when sent, a list of schema URNs.
    #[schema(schema_with = schemas_schema)]
    schemas: Option<Vec<String>>,
    /// A SCIM filter.
    filter: Option<String>,
    /// 1-based; less than 1 is read as 1 (RFC 7644 §3.4.2.4).
    #[schema(rename = "startIndex", nullable = false)]
    start_index: Option<i64>,
    /// At most 200; more is read as 200, less than 0 as 0.
    #[schema(nullable = false)]
    count: Option<i64>,
    /// As for the list.
    #[schema(rename = "sortBy", nullable = false)]
    sort_by: Option<String>,
    /// ascending or descending.
    #[schema(rename = "sortOrder", schema_with = sort_order_schema)]
    sort_order: Option<String>,
    /// Only these: a list, or one comma-separated string.
    #[schema(schema_with = attribute_names_schema)]
    attributes: Option<Vec<String>>,
    /// Not these: a list, or one comma-separated string.
    #[schema(rename = "excludedAttributes", schema_with = attribute_names_schema)]
    excluded_attributes: Option<Vec<String>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etags_and_if_match() {
        assert_eq!(etag(3), "W/\"3\"");
        assert_eq!(if_match(Some("W/\"3\"")), Some(3));
        assert_eq!(if_match(Some("\"3\"")), Some(3));
        assert_eq!(if_match(Some("*")), None);
        assert_eq!(if_match(None), None);
        assert_eq!(if_match(Some("W/\"abc\"")), Some(0));
    }

    #[test]
    fn entra_path_less_replace_with_dotted_and_urn_keys() {
        let body = json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "Replace", "value": {
                "name.givenName": "Ana",
                "active": "False",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization": "ACME"
            }}]
        });
        let command = patch_user_command(
            Ok(UserId::new_random()),
            None,
            body.as_object().unwrap().clone(),
        )
        .unwrap();
        assert!(command.errors.is_empty(), "{:?}", command.errors);
        assert_eq!(command.changes.status, Some(Status::Inactive));
        assert!(matches!(command.changes.first_name, Patch::Set(ref n) if n.as_str() == "Ana"));
        assert!(
            matches!(command.changes.account.company, Patch::Set(ref c) if c.as_str() == "ACME")
        );
    }

    #[test]
    fn roles_are_added_removed_or_replaced() {
        let body = json!({"Operations": [
            {"op": "add", "path": "roles", "value": [{"value": "ADMIN"}]},
            {"op": "remove", "path": "roles[value eq \"GUEST\"]"}
        ]});
        let command = patch_user_command(
            Ok(UserId::new_random()),
            None,
            body.as_object().unwrap().clone(),
        )
        .unwrap();
        assert!(command.errors.is_empty(), "{:?}", command.errors);
        assert_eq!(command.changes.roles, None);
        assert_eq!(command.changes.add_roles, BTreeSet::from([Role::Admin]));
        assert_eq!(command.changes.remove_roles, BTreeSet::from([Role::Guest]));
        let body = json!({"Operations": [{"op": "replace", "path": "roles", "value": [{"value": "GUEST"}]}]});
        let command = patch_user_command(
            Ok(UserId::new_random()),
            None,
            body.as_object().unwrap().clone(),
        )
        .unwrap();
        assert_eq!(command.changes.roles, Some(BTreeSet::from([Role::Guest])));
    }

    #[test]
    fn okta_and_entra_member_removals() {
        let a = UserId::new_random();
        let b = UserId::new_random();
        let body = json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": a.to_string()}]},
            {"op": "remove", "path": format!("members[value eq \"{b}\"]")},
            {"op": "Remove", "path": "members", "value": [{"value": a.to_string()}]}
        ]});
        let command = patch_group_command(
            Ok(OrganizationId::parse("g").unwrap()),
            None,
            body.as_object().unwrap().clone(),
        )
        .unwrap();
        assert_eq!(
            command.members,
            MemberChange::Edit {
                add: vec![],
                remove: vec![b, a]
            }
        );
    }

    #[test]
    fn projection() {
        let p = Projection::new(Some("userName,name.givenName"), None);
        let out = p.apply(json!({"id": "1", "userName": "u", "name": {"givenName": "a", "familyName": "b"}, "active": true}));
        assert_eq!(
            out,
            json!({"id": "1", "userName": "u", "name": {"givenName": "a"}})
        );
        let p = Projection::new(None, Some("name,emails.type"));
        let out =
            p.apply(json!({"id": "1", "name": {}, "emails": [{"value": "x", "type": "work"}]}));
        assert_eq!(out, json!({"id": "1", "emails": [{"value": "x"}]}));
    }
}
