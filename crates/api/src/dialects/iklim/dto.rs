//! iklim's request and response shapes, and their conversions into the
//! domain's commands (collecting every field error at once) and back.
//!
//! Every request field is optional in the Rust type, so that a missing
//! required field is reported as a field error next to the others rather
//! than as the first serde failure. Unknown fields (iklim's own `empty`
//! among them) are ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use userhub_domain::ValidationErrors;
use userhub_domain::error::ValueError;
use userhub_domain::password::{Password, PasswordPolicy};
use userhub_domain::query::{
    PageRequest as DomainPage, Sort, SortDirection, SortField, UserFilter, UserQuery,
};
use userhub_domain::types::{Email, Locale, PersonName, Role, Status, TimeZone, UserId, Username};
use userhub_domain::user::{NewUser, Patch, User, UserChanges};
use utoipa::ToSchema;

use crate::dialects::SecretText;
use crate::users::{CreateUser, UpdateUser};

// ---------------------------------------------------------------- schemas

/// A role, as iklim spells it.
#[derive(Debug, ToSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
pub enum RoleName {
    /// May only read public information.
    GUEST,
    /// A machine client.
    API_USER,
    /// An ordinary user.
    STANDARD_USER,
    /// May change other users' profiles and usernames.
    POWER_USER,
    /// A standard user with extended features.
    EXTENDED_USER,
    /// May change everything.
    ADMIN,
}

/// A user's status, as iklim spells it.
#[derive(Debug, ToSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
pub enum StatusName {
    /// Created, not yet activated: cannot log in.
    INACTIVE,
    /// May log in.
    ACTIVE,
    /// Access has lapsed.
    EXPIRED,
    /// Locked by an administrator.
    BLOCKED,
    /// Deleted: answers as if it did not exist.
    DELETED,
}

fn roles_input_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Roles: a JSON array (`[\"STANDARD_USER\", \"API_USER\"]`), a bare string (`\"API_USER\"`), or iklim's quoted list (`\"['STANDARD_USER', 'API_USER']\"`).",
        "['STANDARD_USER', 'API_USER']",
    )
}

fn status_input_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Status: a bare string (`\"ACTIVE\"`), iklim's quoted list (`\"['ACTIVE']\"`) or a JSON array, holding exactly one of INACTIVE, ACTIVE, EXPIRED, BLOCKED, DELETED.",
        "['ACTIVE']",
    )
}

fn statuses_filter_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Statuses to list (any of them): a JSON array, a bare string or iklim's quoted list.",
        "['ACTIVE']",
    )
}

fn list_or_string_schema(description: &str, example: &str) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(string()))
        .item(string())
        .description(Some(description))
        .examples([Value::String(example.to_owned())])
        .into()
}

// ---------------------------------------------------------------- requests

/// The body of `POST /v1/users/create`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// The user's e-mail address, which is also their username. Required.
    #[schema(example = "name@domain.com")]
    pub username: Option<String>,
    /// The password (write-only; never returned). Checked against the
    /// tenant's policy: at least 8 characters and hard to guess.
    #[schema(value_type = Option<String>, format = Password, example = "newStr0ng!P@ssw0rd")]
    pub password: Option<SecretText>,
    /// First name. Required.
    #[schema(example = "John")]
    pub first_name: Option<String>,
    /// Middle name.
    #[schema(example = "Bob")]
    pub mid_name: Option<String>,
    /// Last name. Required.
    #[schema(example = "Doe")]
    pub last_name: Option<String>,
    /// Locale, `tr_TR` or `tr-TR`. Required.
    #[schema(example = "tr_TR")]
    pub locale: Option<String>,
    /// IANA time zone. Required.
    #[schema(example = "Europe/Istanbul")]
    pub timezone: Option<String>,
    /// Roles. Required.
    #[schema(schema_with = roles_input_schema)]
    pub roles: Option<Value>,
    /// Status. Required.
    #[schema(schema_with = status_input_schema)]
    pub status: Option<Value>,
}

/// Deserialize a field that may be absent (`None`), `null` (`Some(None)`)
/// or a value.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The body of `PATCH /v1/users/update`. Absent fields are left alone;
/// `null` removes the value of a name, locale or time zone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The user to change. Required.
    #[schema(example = "88a52d74-ebee-49a4-9631-cfe492f4bf53")]
    pub user_id: Option<String>,
    /// New e-mail address, which is also the username (both change). The
    /// user themselves, a POWER_USER or an ADMIN.
    #[schema(example = "new.name@domain.com")]
    pub username: Option<String>,
    /// New password. ADMIN only.
    #[schema(value_type = Option<String>, format = Password, example = "newStr0ng!P@ssw0rd")]
    pub password: Option<SecretText>,
    /// New first name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub first_name: Option<Option<String>>,
    /// New middle name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub mid_name: Option<Option<String>>,
    /// New last name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub last_name: Option<Option<String>>,
    /// New locale.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable, example = "tr_TR")]
    pub locale: Option<Option<String>>,
    /// New time zone.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable, example = "Europe/Istanbul")]
    pub timezone: Option<Option<String>>,
    /// New roles. ADMIN only.
    #[schema(schema_with = roles_input_schema)]
    pub roles: Option<Value>,
    /// New status. ADMIN only.
    #[schema(schema_with = status_input_schema)]
    pub status: Option<Value>,
    /// Sent by iklim's clients; accepted and ignored.
    #[allow(dead_code)]
    pub empty: Option<bool>,
}

/// The body of `POST /v1/users/page`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    /// Only users holding at least one of these roles.
    #[schema(schema_with = roles_input_schema)]
    pub roles: Option<Value>,
    /// Only users with one of these statuses (DELETED users are never listed).
    #[schema(schema_with = statuses_filter_schema)]
    pub status: Option<Value>,
    /// The order: one field (`createdAt`, `updatedAt`, `username`) and its
    /// direction (`asc` or `desc`). Default `{"createdAt": "asc"}`.
    #[schema(value_type = Option<Object>, example = json!({"createdAt": "desc"}))]
    pub sort_by: Option<BTreeMap<String, String>>,
    /// The page, counting from 0. Default 0.
    #[schema(example = 0)]
    pub page_number: Option<u64>,
    /// Users per page, 1 to 100. Default 20.
    #[schema(example = 20)]
    pub page_size: Option<u32>,
    /// Whether each user carries its `account`. Default false.
    pub include_account: Option<bool>,
}

/// The body of `POST /v1/users/change-password`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    /// The user; must be the caller. Required.
    pub user_id: Option<String>,
    /// The current password. Required.
    #[schema(value_type = Option<String>, format = Password)]
    pub old_password: Option<SecretText>,
    /// The new password. Required.
    #[schema(value_type = Option<String>, format = Password)]
    pub new_password: Option<SecretText>,
}

/// The body of `POST /v1/auth/login`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// The username (or e-mail address).
    #[schema(example = "name@domain.com")]
    pub username: Option<String>,
    /// The password.
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretText>,
}

/// The body of `POST /v1/auth/refresh`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The refresh token of the last login or refresh.
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretText>,
}

// ---------------------------------------------------------------- responses

/// A user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(example = "8e94a551-5b86-40ba-ae55-b019dee5cc25")]
    pub user_id: String,
    /// The username (an e-mail address for users created through iklim).
    #[schema(example = "name@domain.com")]
    pub username: String,
    /// First name.
    #[schema(example = "John")]
    pub first_name: Option<String>,
    /// Middle name (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bob")]
    pub mid_name: Option<String>,
    /// Last name.
    #[schema(example = "Doe")]
    pub last_name: Option<String>,
    /// Locale in POSIX form.
    #[schema(example = "tr_TR")]
    pub locale: Option<String>,
    /// IANA time zone.
    #[schema(example = "Europe/Istanbul")]
    pub timezone: Option<String>,
    /// Roles.
    #[schema(value_type = Vec<RoleName>)]
    pub roles: Vec<String>,
    /// Status.
    #[schema(value_type = StatusName)]
    pub status: String,
    /// The account (absent from pages unless `includeAccount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountResponse>,
}

/// A user's account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountResponse {
    /// The account's id (the user's id: one account per user).
    pub id: String,
    /// The user's id.
    pub user_id: String,
    /// `INDIVIDUAL` or `ORGANIZATION`.
    #[serde(rename = "type")]
    #[schema(example = "INDIVIDUAL")]
    pub account_type: String,
    /// When the user was created (RFC 3339).
    #[schema(example = "2023-11-07T05:31:56Z")]
    pub created_at: String,
    /// When the user last changed (RFC 3339).
    #[schema(example = "2023-11-07T05:31:56Z")]
    pub updated_at: String,
    /// Mobile phone number (E.164).
    pub mobile_phone_number: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Profile picture URL.
    pub profile_picture_url: Option<String>,
    /// Subscription plan.
    #[schema(example = "NONE")]
    pub subscription_plan: String,
    /// Whether the e-mail address is verified.
    pub email_verified: bool,
    /// Whether the mobile phone number is verified.
    pub mobile_phone_number_verified: bool,
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageResponse {
    /// The users of this page.
    pub users: Vec<UserResponse>,
    /// How many users match the filter, over all pages.
    pub total_records: u64,
    /// This page's number, from 0.
    pub page_number: u64,
    /// The page size asked for.
    pub page_size: u32,
}

/// The tokens of a login or refresh.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The user's username.
    pub username: String,
    /// Always `Bearer`.
    #[serde(rename = "type")]
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Exchange once at `/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn text<T: AsRef<str>>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().to_owned())
}

impl AccountResponse {
    /// The account part of `user`.
    pub fn from_user(user: &User) -> Self {
        let account = &user.account;
        Self {
            id: user.id.to_string(),
            user_id: user.id.to_string(),
            account_type: account.account_type.as_str().to_owned(),
            created_at: rfc3339(user.created_at),
            updated_at: rfc3339(user.updated_at),
            mobile_phone_number: text(&user.phone),
            location: text(&account.location),
            company: text(&account.company),
            industry: text(&account.industry),
            profile_picture_url: text(&account.profile_picture_url),
            subscription_plan: account.subscription_plan.as_str().to_owned(),
            email_verified: account.email_verified,
            mobile_phone_number_verified: account.phone_verified,
        }
    }
}

impl UserResponse {
    /// `user` in iklim's shape, with or without its account.
    pub fn from_user(user: &User, with_account: bool) -> Self {
        Self {
            user_id: user.id.to_string(),
            username: user.username.as_str().to_owned(),
            first_name: text(&user.first_name),
            mid_name: text(&user.middle_name),
            last_name: text(&user.last_name),
            locale: user.locale.as_ref().map(Locale::to_posix),
            timezone: text(&user.time_zone),
            roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            status: user.status.as_str().to_owned(),
            account: with_account.then(|| AccountResponse::from_user(user)),
        }
    }
}

// ---------------------------------------------------------------- parsing

/// The items of a value iklim sends as a list: a JSON array of strings, a
/// bare string, or a string holding a list (`"['A', 'B']"`).
fn list_items(value: &Value) -> Result<Vec<String>, ValueError> {
    let invalid = || {
        ValueError::new(
            "invalid_type",
            "must be an array of strings, a string, or a list in a string such as \"['A', 'B']\"",
        )
    };
    let items: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Value::String(text) => {
            let text = text.trim();
            let inner = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(text);
            inner
                .split(',')
                .map(|item| item.trim().trim_matches(['\'', '"']).trim().to_owned())
                .collect()
        }
        _ => return Err(invalid()),
    };
    Ok(items.into_iter().filter(|i| !i.trim().is_empty()).collect())
}

fn parse_roles(value: &Value) -> Result<BTreeSet<Role>, ValueError> {
    let items = list_items(value)?;
    if items.is_empty() {
        return Err(ValueError::new("required", "at least one role is required"));
    }
    items
        .iter()
        .map(|item| {
            Role::parse(item).map_err(|e| {
                ValueError::new(e.code, format!("`{item}` is not a role: {}", e.message))
            })
        })
        .collect()
}

fn parse_statuses(value: &Value) -> Result<BTreeSet<Status>, ValueError> {
    list_items(value)?
        .iter()
        .map(|item| {
            Status::parse(item).map_err(|e| {
                ValueError::new(e.code, format!("`{item}` is not a status: {}", e.message))
            })
        })
        .collect()
}

fn parse_status(value: &Value) -> Result<Status, ValueError> {
    let statuses = parse_statuses(value)?;
    let mut iter = statuses.into_iter();
    match (iter.next(), iter.next()) {
        (Some(status), None) => Ok(status),
        (None, _) => Err(ValueError::required()),
        (Some(_), Some(_)) => Err(ValueError::new(
            "too_many_values",
            "must be exactly one status",
        )),
    }
}

fn required<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    match input {
        Some(raw) => errors.check(field, parse(&raw)),
        None => {
            errors.push(ValueError::required().at(field));
            None
        }
    }
}

/// iklim's username is an e-mail address: it becomes both the username and
/// the e-mail. One error at most, under `username`.
fn username_and_email(raw: &str) -> Result<(Username, Email), ValueError> {
    let email = Email::parse(raw)?;
    let username = Username::parse(raw)?;
    Ok((username, email))
}

fn patch<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    match input {
        None => Patch::Leave,
        Some(None) => Patch::Clear,
        Some(Some(raw)) => errors
            .check(field, parse(&raw))
            .map_or(Patch::Leave, Patch::Set),
    }
}

fn context_of<'a>(words: &[&'a Option<String>]) -> Vec<&'a str> {
    words
        .iter()
        .filter_map(|w| w.as_deref())
        .filter(|w| !w.is_empty())
        .collect()
}

impl TryFrom<(CreateUserRequest, &PasswordPolicy)> for CreateUser {
    type Error = ValidationErrors;

    fn try_from((dto, policy): (CreateUserRequest, &PasswordPolicy)) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let context = context_of(&[&dto.username, &dto.first_name, &dto.last_name]);
        let password = dto
            .password
            .as_ref()
            .and_then(|p| errors.check("password", Password::parse(p.expose(), policy, &context)));
        let ids = required(&mut errors, "username", dto.username, username_and_email);
        let first_name = required(&mut errors, "firstName", dto.first_name, PersonName::parse);
        let middle_name = errors.check_optional("midName", dto.mid_name, |m| PersonName::parse(&m));
        let last_name = required(&mut errors, "lastName", dto.last_name, PersonName::parse);
        let locale = required(&mut errors, "locale", dto.locale, Locale::parse);
        let time_zone = required(&mut errors, "timezone", dto.timezone, TimeZone::parse);
        let roles = match &dto.roles {
            Some(value) => errors.check("roles", parse_roles(value)),
            None => {
                errors.push(ValueError::required().at("roles"));
                None
            }
        };
        let status = match &dto.status {
            Some(value) => errors.check("status", parse_status(value)),
            None => {
                errors.push(ValueError::required().at("status"));
                None
            }
        };
        errors.clone().into_result()?;
        match (ids, first_name, last_name, locale, time_zone, roles, status) {
            (
                Some((username, email)),
                Some(first_name),
                Some(last_name),
                Some(locale),
                Some(time_zone),
                Some(roles),
                Some(status),
            ) => {
                let mut new = NewUser::new(username, email);
                new.first_name = Some(first_name);
                new.middle_name = middle_name;
                new.last_name = Some(last_name);
                new.locale = Some(locale);
                new.time_zone = Some(time_zone);
                new.roles = roles;
                new.status = status;
                Ok(CreateUser { new, password })
            }
            // Unreachable: every None above recorded an error.
            _ => Err(errors),
        }
    }
}

impl TryFrom<(UpdateUserRequest, &PasswordPolicy)> for UpdateUser {
    type Error = ValidationErrors;

    fn try_from((dto, policy): (UpdateUserRequest, &PasswordPolicy)) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let first = dto.first_name.clone().flatten();
        let last = dto.last_name.clone().flatten();
        let context = context_of(&[&dto.username, &first, &last]);
        let password = dto
            .password
            .as_ref()
            .and_then(|p| errors.check("password", Password::parse(p.expose(), policy, &context)));
        let id = required(&mut errors, "userId", dto.user_id, UserId::parse);
        let mut changes = UserChanges::default();
        if let Some(raw) = dto.username
            && let Some((username, email)) = errors.check("username", username_and_email(&raw))
        {
            changes.username = Some(username);
            changes.email = Some(email);
        }
        changes.first_name = patch(&mut errors, "firstName", dto.first_name, PersonName::parse);
        changes.middle_name = patch(&mut errors, "midName", dto.mid_name, PersonName::parse);
        changes.last_name = patch(&mut errors, "lastName", dto.last_name, PersonName::parse);
        changes.locale = patch(&mut errors, "locale", dto.locale, Locale::parse);
        changes.time_zone = patch(&mut errors, "timezone", dto.timezone, TimeZone::parse);
        if let Some(value) = &dto.roles {
            changes.roles = errors.check("roles", parse_roles(value));
        }
        if let Some(value) = &dto.status {
            changes.status = errors.check("status", parse_status(value));
        }
        errors.clone().into_result()?;
        let id = id.ok_or(errors)?;
        Ok(UpdateUser {
            id,
            changes,
            password,
            expected_version: None,
            comment: None,
        })
    }
}

/// A page request as the domain's query, with what the response echoes.
#[derive(Debug)]
pub struct PageQuery {
    /// The domain's query.
    pub query: UserQuery,
    /// The page number asked for.
    pub page_number: u64,
    /// The page size asked for.
    pub page_size: u32,
    /// Whether to include each user's account.
    pub include_account: bool,
}

/// The largest page.
const MAX_PAGE_SIZE: u32 = 100;
/// The page size when none is asked for.
const DEFAULT_PAGE_SIZE: u32 = 20;

impl TryFrom<PageRequest> for PageQuery {
    type Error = ValidationErrors;

    fn try_from(dto: PageRequest) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let mut filter = UserFilter::default();
        if let Some(value) = &dto.roles
            && let Some(roles) = errors.check(
                "roles",
                list_items(value).and_then(|items| {
                    items
                        .iter()
                        .map(|i| {
                            Role::parse(i).map_err(|e| {
                                ValueError::new(
                                    e.code,
                                    format!("`{i}` is not a role: {}", e.message),
                                )
                            })
                        })
                        .collect::<Result<BTreeSet<_>, _>>()
                }),
            )
        {
            filter.roles = roles;
        }
        if let Some(value) = &dto.status
            && let Some(statuses) = errors.check("status", parse_statuses(value))
        {
            filter.statuses = statuses;
        }
        let sort = dto
            .sort_by
            .as_ref()
            .and_then(|sort| errors.check("sortBy", parse_sort(sort)))
            .unwrap_or_default();
        let page_size = dto.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            errors.push(
                ValueError::new("out_of_range", format!("must be 1 to {MAX_PAGE_SIZE}"))
                    .at("pageSize"),
            );
        }
        let page_number = dto.page_number.unwrap_or(0);
        let offset = page_number.checked_mul(u64::from(page_size));
        if offset.is_none() {
            errors.push(ValueError::new("out_of_range", "is too large").at("pageNumber"));
        }
        errors.clone().into_result()?;
        let offset = offset.ok_or(errors)?;
        Ok(PageQuery {
            query: UserQuery {
                filter,
                sort,
                page: DomainPage::Offset {
                    offset,
                    limit: page_size,
                },
                with_total: true,
            },
            page_number,
            page_size,
            include_account: dto.include_account.unwrap_or(false),
        })
    }
}

fn parse_sort(sort: &BTreeMap<String, String>) -> Result<Sort, ValueError> {
    let mut entries = sort.iter();
    let (field, direction) = match (entries.next(), entries.next()) {
        (None, _) => return Ok(Sort::default()),
        (Some(entry), None) => entry,
        (Some(_), Some(_)) => {
            return Err(ValueError::new(
                "too_many_values",
                "must name exactly one field, such as {\"createdAt\": \"desc\"}",
            ));
        }
    };
    let field = match field.as_str() {
        "createdAt" => SortField::CreatedAt,
        "updatedAt" => SortField::UpdatedAt,
        "username" => SortField::Username,
        "email" => SortField::Email,
        _ => {
            return Err(ValueError::new(
                "unknown_value",
                format!("cannot sort by `{field}`: one of createdAt, updatedAt, username, email"),
            ));
        }
    };
    let direction = match direction.to_ascii_lowercase().as_str() {
        "asc" => SortDirection::Ascending,
        "desc" => SortDirection::Descending,
        _ => {
            return Err(ValueError::new(
                "unknown_value",
                "the direction must be asc or desc",
            ));
        }
    };
    Ok(Sort { field, direction })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_come_in_three_forms() {
        let expected = BTreeSet::from([Role::StandardUser, Role::ApiUser]);
        for value in [
            json!(["STANDARD_USER", "API_USER"]),
            json!("['STANDARD_USER', 'API_USER']"),
            json!("[\"STANDARD_USER\",\"API_USER\"]"),
            json!("STANDARD_USER, API_USER"),
        ] {
            assert_eq!(parse_roles(&value).unwrap(), expected, "{value}");
        }
        assert_eq!(
            parse_roles(&json!("API_USER")).unwrap(),
            BTreeSet::from([Role::ApiUser])
        );
        assert_eq!(parse_roles(&json!([])).unwrap_err().code, "required");
        assert_eq!(parse_roles(&json!("[]")).unwrap_err().code, "required");
        assert_eq!(parse_roles(&json!(5)).unwrap_err().code, "invalid_type");
        assert_eq!(parse_roles(&json!([5])).unwrap_err().code, "invalid_type");
        assert_eq!(
            parse_roles(&json!("['ROOT']")).unwrap_err().code,
            "unknown_value"
        );
    }

    #[test]
    fn status_is_exactly_one() {
        assert_eq!(parse_status(&json!("['ACTIVE']")).unwrap(), Status::Active);
        assert_eq!(parse_status(&json!("INACTIVE")).unwrap(), Status::Inactive);
        assert_eq!(parse_status(&json!(["blocked"])).unwrap(), Status::Blocked);
        assert_eq!(
            parse_status(&json!("['ACTIVE', 'BLOCKED']"))
                .unwrap_err()
                .code,
            "too_many_values"
        );
        assert_eq!(parse_status(&json!("[]")).unwrap_err().code, "required");
    }

    #[test]
    fn create_lists_every_bad_field() {
        let dto = CreateUserRequest {
            username: Some("not-an-email".into()),
            password: Some(SecretText::from("password")),
            timezone: Some("Mars/Olympus".into()),
            roles: Some(json!("['ROOT']")),
            ..CreateUserRequest::default()
        };
        let errors = CreateUser::try_from((dto, &PasswordPolicy::default())).unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "password",
                "username",
                "firstName",
                "lastName",
                "locale",
                "timezone",
                "roles",
                "status"
            ]
        );
    }

    #[test]
    fn sort_by_one_field() {
        let sort = parse_sort(&BTreeMap::from([("updatedAt".into(), "DESC".into())])).unwrap();
        assert_eq!(sort.field, SortField::UpdatedAt);
        assert_eq!(sort.direction, SortDirection::Descending);
        assert!(parse_sort(&BTreeMap::from([("password".into(), "asc".into())])).is_err());
    }
}
