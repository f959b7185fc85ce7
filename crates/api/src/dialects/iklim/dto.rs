//! iklim's request and response shapes, and their conversions into the
//! domain's commands (every field error collected at once) and back.
//!
//! Unknown fields (iklim's own `empty` among them) are ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use userhub_domain::ValidationErrors;
use userhub_domain::auth::ChangeOwnPassword;
use userhub_domain::error::ValueError;
use userhub_domain::query::{
    PageRequest as DomainPage, Sort, SortDirection, SortField, UserFilter, UserPage, UserQuery,
};
use userhub_domain::service::{CreateUser, ListUsers, UpdateUser};
use userhub_domain::types::{Locale, PersonName, Role, Status, TimeZone, UserId, email_login};
use userhub_domain::user::{NewUser, User, UserChanges};
use utoipa::ToSchema;

use crate::toolkit::fields::{finish, shape};
use crate::toolkit::render::{rfc3339, text};
use crate::toolkit::{Failure, In, SecretText};

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

fn role_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|role| role.as_str()).collect()
}

fn status_names() -> Vec<&'static str> {
    Status::ALL.iter().map(|status| status.as_str()).collect()
}

fn roles_input_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Roles: a JSON array (`[\"STANDARD_USER\", \"API_USER\"]`), a bare string (`\"API_USER\"`), or iklim's quoted list (`\"['STANDARD_USER', 'API_USER']\"`); at least one.",
        "['STANDARD_USER', 'API_USER']",
        &role_names(),
        (1, None),
        false,
    )
}

fn status_input_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Status: a bare string (`\"ACTIVE\"`), iklim's quoted list (`\"['ACTIVE']\"`) or a JSON array, holding exactly one of INACTIVE, ACTIVE, EXPIRED, BLOCKED, DELETED.",
        "['ACTIVE']",
        &status_names(),
        (1, Some(1)),
        false,
    )
}

fn roles_filter_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Roles to list (users with any of them): a JSON array, a bare string or iklim's quoted list; `null` or absent for every role.",
        "['STANDARD_USER', 'API_USER']",
        &role_names(),
        (0, None),
        true,
    )
}

fn statuses_filter_schema() -> utoipa::openapi::schema::Schema {
    list_or_string_schema(
        "Statuses to list (any of them): a JSON array, a bare string or iklim's quoted list; `null` or absent for every status.",
        "['ACTIVE']",
        &status_names(),
        (0, None),
        true,
    )
}

/// `sortBy`: at most one field and its direction (any case); `{}` or
/// `null` for the default order.
fn sort_by_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Object,
            Type::Null,
        ]))
        .max_properties(Some(1))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["createdAt", "updatedAt", "username", "email"])),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$")),
        ))
        .examples([serde_json::json!({"createdAt": "desc"})])
        .into()
}

/// A list of `names` as iklim sends it: a JSON array of them, or a string
/// holding one name or a bracketed, quoted, comma-separated list of them.
/// `items` bounds the array's length; `nullable` whether `null` is taken
/// (as absent).
fn list_or_string_schema(
    description: &str,
    example: &str,
    names: &[&str],
    items: (usize, Option<usize>),
    nullable: bool,
) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let name = names.join("|");
    let quoted = format!("['\"]?(?:{name})['\"]?");
    let list = format!(r"{quoted}(?:\s*,\s*{quoted})*");
    // A filter may be empty (`""`, `"[]"`): no filter.
    let empty = if items.0 == 0 { r"|\[\s*\]|" } else { "" };
    let string = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(r"^\s*(?:{list}|\[\s*{list}\s*\]{empty})\s*$")));
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()));
    let mut one_of = OneOfBuilder::new()
        .item(
            ArrayBuilder::new()
                .items(item)
                .min_items(Some(items.0))
                .max_items(items.1),
        )
        .item(string);
    if nullable {
        one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    one_of
        .description(Some(description))
        .examples([Value::String(example.to_owned())])
        .into()
}

// ---------------------------------------------------------------- requests

/// The body of `POST /v1/users/create`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// The user's e-mail address, which is also their username.
    #[schema(required = true, value_type = String, min_length = 1, example = "name@domain.com", default)]
    pub username: In<String>,
    /// The password (write-only; never returned). Checked against the
    /// tenant's policy: at least 8 characters and hard to guess.
    #[schema(value_type = String, min_length = 1, format = Password, example = "newStr0ng!P@ssw0rd", default)]
    pub password: In<SecretText>,
    /// First name.
    #[schema(required = true, value_type = String, min_length = 1, example = "John", default)]
    pub first_name: In<String>,
    /// Middle name.
    #[schema(value_type = Option<String>, example = "Bob", default)]
    pub mid_name: In<String>,
    /// Last name.
    #[schema(required = true, value_type = String, min_length = 1, example = "Doe", default)]
    pub last_name: In<String>,
    /// Locale, `tr_TR` or `tr-TR`.
    #[schema(required = true, value_type = String, min_length = 1, example = "tr_TR", default)]
    pub locale: In<String>,
    /// IANA time zone.
    #[schema(required = true, value_type = String, min_length = 1, example = "Europe/Istanbul", default)]
    pub timezone: In<String>,
    /// Roles.
    #[schema(required = true, schema_with = roles_input_schema, default)]
    pub roles: In<Value>,
    /// Status.
    #[schema(required = true, schema_with = status_input_schema, default)]
    pub status: In<Value>,
}

/// The body of `PATCH /v1/users/update`. Absent fields are left alone;
/// `null` removes the value of a name, locale or time zone (the username,
/// password, roles and status cannot be removed).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The user to change.
    #[schema(required = true, value_type = String, min_length = 1, format = Uuid, example = "88a52d74-ebee-49a4-9631-cfe492f4bf53", default)]
    pub user_id: In<String>,
    /// New e-mail address, which is also the username (both change). The
    /// user themselves, a POWER_USER or an ADMIN.
    #[schema(value_type = String, min_length = 1, example = "new.name@domain.com", default)]
    pub username: In<String>,
    /// New password. ADMIN only.
    #[schema(value_type = String, min_length = 1, format = Password, example = "newStr0ng!P@ssw0rd", default)]
    pub password: In<SecretText>,
    /// New first name.
    #[schema(value_type = Option<String>, nullable, min_length = 1, default)]
    pub first_name: In<String>,
    /// New middle name.
    #[schema(value_type = Option<String>, nullable, min_length = 1, default)]
    pub mid_name: In<String>,
    /// New last name.
    #[schema(value_type = Option<String>, nullable, min_length = 1, default)]
    pub last_name: In<String>,
    /// New locale.
    #[schema(value_type = Option<String>, nullable, min_length = 1, example = "tr_TR", default)]
    pub locale: In<String>,
    /// New time zone.
    #[schema(value_type = Option<String>, nullable, min_length = 1, example = "Europe/Istanbul", default)]
    pub timezone: In<String>,
    /// New roles. ADMIN only.
    #[schema(schema_with = roles_input_schema, default)]
    pub roles: In<Value>,
    /// New status. ADMIN only.
    #[schema(schema_with = status_input_schema, default)]
    pub status: In<Value>,
    /// Sent by iklim's clients; accepted and ignored.
    #[schema(value_type = Option<bool>, default)]
    pub empty: In<Value>,
}

/// The body of `POST /v1/users/page`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PageRequest {
    /// Only users holding at least one of these roles.
    #[schema(schema_with = roles_filter_schema, default)]
    pub roles: In<Value>,
    /// Only users with one of these statuses (DELETED users are never listed).
    #[schema(schema_with = statuses_filter_schema, default)]
    pub status: In<Value>,
    /// The order: one field (`createdAt`, `updatedAt`, `username`, `email`)
    /// and its direction (`asc` or `desc`). Default `{"createdAt": "asc"}`.
    #[schema(schema_with = sort_by_schema, default)]
    pub sort_by: In<Map<String, Value>>,
    /// The page, counting from 0. Default 0.
    #[schema(value_type = Option<u64>, minimum = 0, example = 0, default)]
    pub page_number: In<u64>,
    /// Users per page, 1 to 100. Default 20.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100, example = 20, default)]
    pub page_size: In<u64>,
    /// Whether each user carries its `account`. Default false.
    #[schema(value_type = Option<bool>, default)]
    pub include_account: In<bool>,
}

/// The body of `POST /v1/users/change-password`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    /// The user; must be the caller.
    #[schema(required = true, value_type = String, min_length = 1, format = Uuid, default)]
    pub user_id: In<String>,
    /// The current password.
    #[schema(required = true, value_type = String, min_length = 1, format = Password, default)]
    pub old_password: In<SecretText>,
    /// The new password.
    #[schema(required = true, value_type = String, min_length = 1, format = Password, default)]
    pub new_password: In<SecretText>,
}

/// The body of `POST /v1/auth/login`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct LoginRequest {
    /// The username (or e-mail address).
    #[schema(required = true, value_type = String, min_length = 1, example = "name@domain.com", default)]
    pub username: In<String>,
    /// The password.
    #[schema(required = true, value_type = String, min_length = 1, format = Password, default)]
    pub password: In<SecretText>,
}

/// The body of `POST /v1/auth/refresh`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The refresh token of the last login or refresh.
    #[schema(required = true, value_type = String, min_length = 1, default)]
    pub refresh_token: In<SecretText>,
}

// ---------------------------------------------------------------- responses

/// A user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(format = Uuid, example = "8e94a551-5b86-40ba-ae55-b019dee5cc25")]
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
    #[schema(format = Uuid)]
    pub id: String,
    /// The user's id.
    #[schema(format = Uuid)]
    pub user_id: String,
    /// `INDIVIDUAL` or `ORGANIZATION`.
    #[serde(rename = "type")]
    #[schema(example = "INDIVIDUAL")]
    pub account_type: String,
    /// When the user was created (RFC 3339).
    #[schema(format = DateTime, example = "2023-11-07T05:31:56Z")]
    pub created_at: String,
    /// When the user last changed (RFC 3339).
    #[schema(format = DateTime, example = "2023-11-07T05:31:56Z")]
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

impl PageResponse {
    /// `found`, answered as the request asked (`echo`).
    pub fn of(found: &UserPage, echo: &PageEcho) -> Self {
        Self {
            users: found
                .users
                .iter()
                .map(|user| UserResponse::from_user(user, echo.include_account))
                .collect(),
            total_records: found.total.unwrap_or_default(),
            page_number: echo.page_number,
            page_size: echo.page_size,
        }
    }
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

fn each<T: Ord>(
    value: &Value,
    parse: fn(&str) -> Result<T, ValueError>,
    what: &str,
) -> Result<BTreeSet<T>, ValueError> {
    list_items(value)?
        .iter()
        .map(|item| {
            parse(item).map_err(|e| {
                ValueError::new(
                    e.code,
                    format!("holds a value that is not {what}: {}", e.message),
                )
            })
        })
        .collect()
}

pub(crate) fn parse_roles(value: &Value) -> Result<BTreeSet<Role>, ValueError> {
    let roles = each(value, Role::parse, "a role")?;
    if roles.is_empty() {
        return Err(ValueError::new("required", "at least one role is required"));
    }
    Ok(roles)
}

pub(crate) fn parse_statuses(value: &Value) -> Result<BTreeSet<Status>, ValueError> {
    each(value, Status::parse, "a status")
}

pub(crate) fn parse_status(value: &Value) -> Result<Status, ValueError> {
    let mut statuses = parse_statuses(value)?.into_iter();
    match (statuses.next(), statuses.next()) {
        (Some(status), None) => Ok(status),
        (None, _) => Err(ValueError::required()),
        (Some(_), Some(_)) => Err(ValueError::new(
            "too_many_values",
            "must be exactly one status",
        )),
    }
}

/// A value read with `parse` from a raw JSON value (roles, status).
fn value_of<T>(
    errors: &mut ValidationErrors,
    path: &str,
    value: Option<Value>,
    parse: fn(&Value) -> Result<T, ValueError>,
) -> Option<T> {
    value.and_then(|v| errors.check(path, parse(&v)))
}

/// `POST /v1/users/create` as the domain's command.
pub fn create_command(body: Map<String, Value>) -> Result<CreateUser, Failure> {
    let dto: CreateUserRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let password = dto.password.optional(&mut errors, "password");
    let ids = dto
        .username
        .parse_required(&mut errors, "username", email_login);
    let first_name = dto
        .first_name
        .parse_required(&mut errors, "firstName", PersonName::parse);
    let middle_name = dto
        .mid_name
        .parse_optional(&mut errors, "midName", PersonName::parse);
    let last_name = dto
        .last_name
        .parse_required(&mut errors, "lastName", PersonName::parse);
    let locale = dto
        .locale
        .parse_required(&mut errors, "locale", Locale::parse);
    let time_zone = dto
        .timezone
        .parse_required(&mut errors, "timezone", TimeZone::parse);
    let roles = dto.roles.required(&mut errors, "roles");
    let roles = value_of(&mut errors, "roles", roles, parse_roles);
    let status = dto.status.required(&mut errors, "status");
    let status = value_of(&mut errors, "status", status, parse_status);
    let user = match (ids, first_name, last_name, locale, time_zone, roles, status) {
        (
            Some((username, email)),
            Some(first_name),
            Some(last_name),
            Some(locale),
            Some(time_zone),
            Some(roles),
            Some(status),
        ) => {
            let mut user = NewUser::new(username, email);
            user.first_name = Some(first_name);
            user.middle_name = middle_name;
            user.last_name = Some(last_name);
            user.locale = Some(locale);
            user.time_zone = Some(time_zone);
            user.roles = roles;
            user.status = status;
            Some(user)
        }
        _ => None,
    };
    Ok(CreateUser {
        password: password.map(SecretText::into_password),
        ..CreateUser::refused(user, errors)
    })
}

/// `PATCH /v1/users/update` as the domain's command.
pub fn update_command(body: Map<String, Value>) -> Result<UpdateUser, Failure> {
    let dto: UpdateUserRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let id = dto
        .user_id
        .parse_required(&mut errors, "userId", UserId::parse);
    let mut changes = UserChanges::default();
    if let Some((username, email)) =
        dto.username
            .parse_not_null(&mut errors, "username", email_login)
    {
        changes.username = Some(username);
        changes.email = Some(email);
    }
    let password = dto.password.not_null(&mut errors, "password");
    changes.first_name = dto
        .first_name
        .parse_patch(&mut errors, "firstName", PersonName::parse);
    changes.middle_name = dto
        .mid_name
        .parse_patch(&mut errors, "midName", PersonName::parse);
    changes.last_name = dto
        .last_name
        .parse_patch(&mut errors, "lastName", PersonName::parse);
    changes.locale = dto.locale.parse_patch(&mut errors, "locale", Locale::parse);
    changes.time_zone = dto
        .timezone
        .parse_patch(&mut errors, "timezone", TimeZone::parse);
    let roles = dto.roles.not_null(&mut errors, "roles");
    changes.roles = value_of(&mut errors, "roles", roles, parse_roles);
    let status = dto.status.not_null(&mut errors, "status");
    changes.status = value_of(&mut errors, "status", status, parse_status);
    let Some(id) = id else {
        return Err(errors.into());
    };
    Ok(UpdateUser {
        password: password.map(SecretText::into_password),
        errors,
        ..UpdateUser::new(id, changes)
    })
}

/// `POST /v1/users/change-password` as the domain's command.
pub fn change_password_command(body: Map<String, Value>) -> Result<ChangeOwnPassword, Failure> {
    let dto: ChangePasswordRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let id = dto
        .user_id
        .parse_required(&mut errors, "userId", UserId::parse);
    let current = dto.old_password.required(&mut errors, "oldPassword");
    let new = dto.new_password.required(&mut errors, "newPassword");
    finish(errors)?;
    match (id, current, new) {
        (Some(id), Some(current), Some(new)) => Ok(ChangeOwnPassword {
            id,
            current: current.into_password(),
            new: new.into_password(),
            // The handler knows the address.
            client: None,
        }),
        // Unreachable: each `None` recorded an error.
        _ => Err(ValidationErrors::new().into()),
    }
}

/// A login's username and password.
pub fn login_fields(
    body: Map<String, Value>,
) -> Result<(String, userhub_domain::password::PlainPassword), Failure> {
    let dto: LoginRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let username = dto
        .username
        .blank_as_null()
        .required(&mut errors, "username");
    let password = dto
        .password
        .required(&mut errors, "password")
        .filter(|p| !p.expose().is_empty());
    if password.is_none() && errors.errors().iter().all(|e| e.field != "password") {
        errors.push(ValueError::required().at("password"));
    }
    match (username, password) {
        (Some(username), Some(password)) if errors.is_empty() => {
            Ok((username, password.into_password()))
        }
        _ => Err(errors.into()),
    }
}

/// A refresh request's token.
pub fn refresh_token(body: Map<String, Value>) -> Result<SecretText, Failure> {
    let dto: RefreshRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let token = dto.refresh_token.required(&mut errors, "refreshToken");
    token.ok_or_else(|| errors.into())
}

/// A page request as the domain's command, with what the response echoes.
#[derive(Debug)]
pub struct PageQuery {
    /// The domain's command.
    pub command: ListUsers,
    /// What the response repeats of the request.
    pub echo: PageEcho,
}

/// What a page's answer repeats of its request.
#[derive(Debug, Clone, Copy)]
pub struct PageEcho {
    /// The page number asked for.
    pub page_number: u64,
    /// The page size asked for.
    pub page_size: u32,
    /// Whether to include each user's account.
    pub include_account: bool,
}

/// The largest page.
const MAX_PAGE_SIZE: u64 = 100;
/// The page size when none is asked for.
const DEFAULT_PAGE_SIZE: u64 = 20;

/// `POST /v1/users/page` as the domain's command.
pub fn page_command(body: Map<String, Value>) -> Result<PageQuery, Failure> {
    let dto: PageRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let mut filter = UserFilter::default();
    let roles = dto.roles.optional(&mut errors, "roles");
    if let Some(roles) = value_of(&mut errors, "roles", roles, |v| {
        each(v, Role::parse, "a role")
    }) {
        filter.roles = roles;
    }
    let statuses = dto.status.optional(&mut errors, "status");
    if let Some(statuses) = value_of(&mut errors, "status", statuses, parse_statuses) {
        filter.statuses = statuses;
    }
    let sort = dto
        .sort_by
        .optional(&mut errors, "sortBy")
        .and_then(|sort| errors.check("sortBy", parse_sort(&sort)))
        .unwrap_or_default();
    let page_size = dto
        .page_size
        .optional(&mut errors, "pageSize")
        .unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        errors.push(
            ValueError::new("out_of_range", format!("must be 1 to {MAX_PAGE_SIZE}")).at("pageSize"),
        );
    }
    let page_number = dto
        .page_number
        .optional(&mut errors, "pageNumber")
        .unwrap_or(0);
    let offset = page_number.checked_mul(page_size);
    if offset.is_none() {
        errors.push(ValueError::new("out_of_range", "is too large").at("pageNumber"));
    }
    let include_account = dto
        .include_account
        .optional(&mut errors, "includeAccount")
        .unwrap_or(false);
    finish(errors)?;
    let page_size = u32::try_from(page_size).unwrap_or(DEFAULT_PAGE_SIZE as u32);
    Ok(PageQuery {
        command: ListUsers::new(UserQuery {
            filter,
            sort,
            page: DomainPage::Offset {
                offset: offset.unwrap_or_default(),
                limit: page_size,
            },
            with_total: true,
        }),
        echo: PageEcho {
            page_number,
            page_size,
            include_account,
        },
    })
}

fn parse_sort(sort: &Map<String, Value>) -> Result<Sort, ValueError> {
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
    let fields = BTreeMap::from([
        ("createdAt", SortField::CreatedAt),
        ("updatedAt", SortField::UpdatedAt),
        ("username", SortField::Username),
        ("email", SortField::Email),
    ]);
    let Some(field) = fields.get(field.as_str()).copied() else {
        return Err(ValueError::new(
            "unknown_value",
            "can sort by one of createdAt, updatedAt, username, email only",
        ));
    };
    let direction = match direction.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("asc") => SortDirection::Ascending,
        Some("desc") => SortDirection::Descending,
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
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

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
        let unknown = parse_roles(&json!("['ROOT']")).unwrap_err();
        assert_eq!(unknown.code, "unknown_value");
        assert!(!unknown.message.contains("ROOT"), "{}", unknown.message);
    }

    #[test]
    fn sort_by_one_field() {
        let sort = parse_sort(&object(json!({"updatedAt": "DESC"}))).unwrap();
        assert_eq!(sort.field, SortField::UpdatedAt);
        assert_eq!(sort.direction, SortDirection::Descending);
        assert!(parse_sort(&object(json!({"password": "asc"}))).is_err());
    }
}
