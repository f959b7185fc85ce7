//! Blocks' request and response shapes, and their conversions into the
//! domain's commands (collecting every field error at once) and back.
//!
//! Every request field is an [`Input`]: absent, `null`, a value of the
//! expected JSON type, or a value of another type. A wrong type is a field
//! error named in Blocks' words (`memberships[0].roles[1]`), next to every
//! other bad field, rather than the first serde failure. Unknown fields are
//! ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use userhub_domain::ValidationErrors;
use userhub_domain::error::ValueError;
use userhub_domain::password::{Password, PasswordPolicy};
use userhub_domain::query::{
    KeyMatch, PageRequest, Sort, SortDirection, SortField, UserFilter, UserQuery,
};
use userhub_domain::types::{
    Email, Locale, Membership, MembershipRole, OrganizationId, Permission, PersonName, PhoneNumber,
    PictureId, PictureUrl, Platform, Status, Tag, Title, UserId, Username, add_membership,
    check_one_per_organization,
};
use userhub_domain::user::{NewUser, Patch, User, UserChanges};
use utoipa::ToSchema;

use crate::dialects::SecretText;
use crate::users::CreateUser;

// ---------------------------------------------------------------- input

/// One request field as sent.
#[derive(Debug, Clone, Default)]
pub enum Input<T> {
    /// Not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value of the expected JSON type.
    Given(T),
    /// A value of another JSON type; the message says what was expected.
    Invalid(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Input<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Input::Null,
            value => match serde_json::from_value::<T>(value) {
                Ok(v) => Input::Given(v),
                Err(e) => Input::Invalid(expected(&e)),
            },
        })
    }
}

/// "must be a string" from serde's "invalid type: integer `5`, expected a
/// string": the expectation only, never the value sent (it may be a secret).
fn expected(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let what = text
        .split_once("expected ")
        .map_or("of another type", |(_, what)| what);
    let what = match what {
        "a sequence" => "an array",
        "a map" => "an object",
        w if w.starts_with("struct ") => "an object",
        w => w,
    };
    format!("must be {what}")
}

fn invalid_type(message: String) -> ValueError {
    ValueError::new("invalid_type", message)
}

impl<T> Input<T> {
    /// An optional field: absent and `null` are `None`.
    fn optional(self, errors: &mut ValidationErrors, field: &str) -> Option<T> {
        match self {
            Input::Absent | Input::Null => None,
            Input::Given(v) => Some(v),
            Input::Invalid(message) => {
                errors.push(invalid_type(message).at(field));
                None
            }
        }
    }

    /// A required field: absent and `null` are an error.
    fn required(self, errors: &mut ValidationErrors, field: &str) -> Option<T> {
        match self {
            Input::Absent | Input::Null => {
                errors.push(ValueError::required().at(field));
                None
            }
            other => other.optional(errors, field),
        }
    }

    /// A field of a partial update: absent leaves, `null` clears.
    fn nullable(self, errors: &mut ValidationErrors, field: &str) -> Option<Option<T>> {
        match self {
            Input::Absent => None,
            Input::Null => Some(None),
            Input::Given(v) => Some(Some(v)),
            Input::Invalid(message) => {
                errors.push(invalid_type(message).at(field));
                None
            }
        }
    }

    fn is_given(&self) -> bool {
        !matches!(self, Input::Absent | Input::Null)
    }
}

impl Input<String> {
    fn text(&self) -> Option<&str> {
        match self {
            Input::Given(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A search term: blank counts as absent.
    fn search(self, errors: &mut ValidationErrors, field: &str) -> Option<String> {
        self.optional(errors, field)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
}

fn parse_optional<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Input<String>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let raw = input.optional(errors, field)?;
    errors.check(field, parse(&raw))
}

fn parse_required<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Input<String>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let raw = input.required(errors, field)?;
    errors.check(field, parse(&raw))
}

fn parse_patch<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Input<String>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    match input.nullable(errors, field) {
        None => Patch::Leave,
        Some(None) => Patch::Clear,
        Some(Some(raw)) => errors
            .check(field, parse(&raw))
            .map_or(Patch::Leave, Patch::Set),
    }
}

/// Every item of a list of texts, each parsed; bad items are named by index.
fn parse_items<T>(
    errors: &mut ValidationErrors,
    field: &str,
    items: Vec<Input<String>>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| parse_required(errors, &format!("{field}[{i}]"), item, &parse))
        .collect()
}

/// A Blocks numeric code (`userMfaType`, `allowedLogInType` items): a whole
/// number from 0 to 255.
fn parse_code(value: &Value) -> Result<u8, ValueError> {
    match value.as_u64() {
        Some(n) => u8::try_from(n)
            .map_err(|_| ValueError::new("out_of_range", "must be a whole number from 0 to 255")),
        None if value.is_i64() => Err(ValueError::new(
            "out_of_range",
            "must be a whole number from 0 to 255",
        )),
        None => Err(invalid_type("must be a whole number from 0 to 255".into())),
    }
}

fn parse_codes(errors: &mut ValidationErrors, field: &str, items: Vec<Value>) -> BTreeSet<u8> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| errors.check(&format!("{field}[{i}]"), parse_code(item)))
        .collect()
}

fn parse_memberships(
    errors: &mut ValidationErrors,
    field: &str,
    items: Vec<Input<MembershipInput>>,
) -> Vec<Membership> {
    let mut memberships: Vec<Membership> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(item) = item.required(errors, &at) else {
            continue;
        };
        let org_field = format!("{at}.organizationId");
        let organization = parse_required(
            errors,
            &org_field,
            item.organization_id,
            OrganizationId::parse,
        );
        let roles_field = format!("{at}.roles");
        let roles = item
            .roles
            .optional(errors, &roles_field)
            .map(|items| parse_items(errors, &roles_field, items, MembershipRole::parse))
            .unwrap_or_default();
        let permissions_field = format!("{at}.permissions");
        let permissions = item
            .permissions
            .optional(errors, &permissions_field)
            .map(|items| parse_items(errors, &permissions_field, items, Permission::parse))
            .unwrap_or_default();
        let Some(organization) = organization else {
            continue;
        };
        let membership = Membership::new(organization, roles, permissions);
        // The domain's rule, named at this item's place in the request.
        if errors
            .check(
                &org_field,
                check_one_per_organization(&memberships, &membership),
            )
            .is_some()
        {
            memberships.push(membership);
        }
    }
    memberships
}

/// A top-level `organizationId`: a membership without roles or permissions.
fn bare_membership(organization: OrganizationId) -> Membership {
    Membership::new(organization, [], [])
}

// ---------------------------------------------------------------- requests

/// An organization membership as sent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipInput {
    /// The organization's id (opaque text). Required.
    #[schema(value_type = String, required = true, example = "org_123")]
    #[serde(default)]
    pub organization_id: Input<String>,
    /// Roles within the organization.
    #[schema(value_type = Option<Vec<String>>, example = json!(["admin", "user"]))]
    #[serde(default)]
    pub roles: Input<Vec<Input<String>>>,
    /// Permissions within the organization.
    #[schema(value_type = Option<Vec<String>>, example = json!(["read", "write"]))]
    #[serde(default)]
    pub permissions: Input<Vec<Input<String>>>,
}

/// The body of `POST /idp/v1/Iam/Create`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// Preferred language, a BCP 47 tag (`en-US`).
    #[schema(value_type = Option<String>, example = "en-US")]
    #[serde(default)]
    pub language: Input<String>,
    /// Tags (a set: repeats are merged).
    #[schema(value_type = Option<Vec<String>>, example = json!(["developer", "internal"]))]
    #[serde(default)]
    pub tags: Input<Vec<Input<String>>>,
    /// E-mail address, unique in the project (case-insensitively). Required.
    #[schema(value_type = String, required = true, example = "newuser@example.com")]
    #[serde(default)]
    pub email: Input<String>,
    /// Username, unique in the project (case-insensitively). Required.
    #[schema(value_type = String, required = true, example = "newuser")]
    #[serde(default)]
    pub user_name: Input<String>,
    /// Phone number in E.164 form, valid for its country code.
    #[schema(value_type = Option<String>, example = "+14155552671")]
    #[serde(default)]
    pub phone_number: Input<String>,
    /// Password (write-only, never returned). Required; checked against the
    /// project's password policy.
    #[schema(value_type = String, required = true, format = Password, example = "SecurePassword123!")]
    #[serde(default)]
    pub password: Input<SecretText>,
    /// Salutation (`Mr.`, `Ms.`, `Dr.`).
    #[schema(value_type = Option<String>, example = "Mr.")]
    #[serde(default)]
    pub salutation: Input<String>,
    /// First name.
    #[schema(value_type = Option<String>, example = "John")]
    #[serde(default)]
    pub first_name: Input<String>,
    /// Last name.
    #[schema(value_type = Option<String>, example = "Doe")]
    #[serde(default)]
    pub last_name: Input<String>,
    /// Purpose of the account-creation mail. Accepted and ignored: userhub
    /// sends no mail.
    #[schema(value_type = Option<String>, example = "user_creation")]
    pub mail_purpose: Option<Value>,
    /// Blocks' password type. Accepted and ignored: the password is always
    /// the one given.
    #[schema(value_type = Option<i64>, example = 0)]
    pub user_pass_type: Option<Value>,
    /// Blocks' creation type. Accepted and ignored.
    #[schema(value_type = Option<i64>, example = 0)]
    pub user_creation_type: Option<Value>,
    /// Blocks' verification type. Accepted and ignored: a new user's e-mail
    /// is not verified.
    #[schema(value_type = Option<i64>, example = 0)]
    pub varified_type: Option<Value>,
    /// Platform the user is created on (`web`, `mobile`).
    #[schema(value_type = Option<String>, example = "web")]
    #[serde(default)]
    pub platform: Input<String>,
    /// Profile image URL (`http` or `https`).
    #[schema(value_type = Option<String>, example = "https://example.com/image.jpg")]
    #[serde(default)]
    pub profile_image_url: Input<String>,
    /// Profile image id.
    #[schema(value_type = Option<String>, example = "img_123")]
    #[serde(default)]
    pub profile_image_id: Input<String>,
    /// MFA type code, 0 to 255 (stored for the client, not interpreted).
    #[schema(value_type = Option<u8>, example = 0)]
    #[serde(default)]
    pub user_mfa_type: Input<Value>,
    /// Whether MFA is enabled. Default false.
    #[schema(value_type = Option<bool>, example = false)]
    #[serde(default)]
    pub mfa_enabled: Input<bool>,
    /// Allowed login type codes, each 0 to 255.
    #[schema(value_type = Option<Vec<u8>>, example = json!([0]))]
    #[serde(default)]
    pub allowed_log_in_type: Input<Vec<Value>>,
    /// Organization memberships, one per organization.
    #[schema(value_type = Option<Vec<MembershipInput>>)]
    #[serde(default)]
    pub memberships: Input<Vec<Input<MembershipInput>>>,
    /// The project: when given, the caller's project's name or id, or the
    /// `x-blocks-key` value itself.
    #[schema(value_type = Option<String>, example = "YOUR_PROJECT_KEY")]
    #[serde(default)]
    pub project_key: Input<String>,
    /// An organization the user belongs to: adds a membership without roles
    /// or permissions unless `memberships` lists it.
    #[schema(value_type = Option<String>, example = "org_123")]
    #[serde(default)]
    pub organization_id: Input<String>,
}

/// The body of `POST /idp/v1/Iam/Update`. Absent fields stay as they are;
/// `null` removes an optional value (or empties a list).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The user to change. Required.
    #[schema(value_type = String, required = true, example = "8e94a551-5b86-40ba-ae55-b019dee5cc25")]
    #[serde(default)]
    pub item_id: Input<String>,
    /// Ignored: the e-mail address is not changed through Update.
    #[schema(value_type = Option<String>)]
    pub email: Option<Value>,
    /// Ignored: the username is not changed through Update.
    #[schema(value_type = Option<String>)]
    pub user_name: Option<Value>,
    /// Refused (400): the password is not changed through Update.
    #[schema(value_type = Option<String>, format = Password)]
    #[serde(default)]
    pub password: Input<SecretText>,
    /// Preferred language (BCP 47).
    #[schema(value_type = Option<String>, nullable, example = "en-GB")]
    #[serde(default)]
    pub language: Input<String>,
    /// Tags: the full new set.
    #[schema(value_type = Option<Vec<String>>, nullable)]
    #[serde(default)]
    pub tags: Input<Vec<Input<String>>>,
    /// Phone number (E.164).
    #[schema(value_type = Option<String>, nullable, example = "+14155552671")]
    #[serde(default)]
    pub phone_number: Input<String>,
    /// Salutation.
    #[schema(value_type = Option<String>, nullable, example = "Dr.")]
    #[serde(default)]
    pub salutation: Input<String>,
    /// First name.
    #[schema(value_type = Option<String>, nullable, example = "John")]
    #[serde(default)]
    pub first_name: Input<String>,
    /// Last name.
    #[schema(value_type = Option<String>, nullable, example = "Doe")]
    #[serde(default)]
    pub last_name: Input<String>,
    /// Platform.
    #[schema(value_type = Option<String>, nullable, example = "mobile")]
    #[serde(default)]
    pub platform: Input<String>,
    /// Profile image URL.
    #[schema(value_type = Option<String>, nullable)]
    #[serde(default)]
    pub profile_image_url: Input<String>,
    /// Profile image id.
    #[schema(value_type = Option<String>, nullable)]
    #[serde(default)]
    pub profile_image_id: Input<String>,
    /// MFA type code (0 to 255); `null` removes it.
    #[schema(value_type = Option<u8>, nullable)]
    #[serde(default)]
    pub user_mfa_type: Input<Value>,
    /// Whether MFA is enabled.
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub mfa_enabled: Input<bool>,
    /// Allowed login type codes: the full new set. ADMIN only.
    #[schema(value_type = Option<Vec<u8>>, nullable)]
    #[serde(default)]
    pub allowed_log_in_type: Input<Vec<Value>>,
    /// Memberships: the full new list. ADMIN only.
    #[schema(value_type = Option<Vec<MembershipInput>>, nullable)]
    #[serde(default)]
    pub memberships: Input<Vec<Input<MembershipInput>>>,
    /// Adds a membership in this organization unless the user (or
    /// `memberships`) has one. ADMIN only.
    #[schema(value_type = Option<String>, example = "org_456")]
    #[serde(default)]
    pub organization_id: Input<String>,
    /// `true` makes the user ACTIVE, `false` INACTIVE. ADMIN only.
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub active: Input<bool>,
    /// Whether the e-mail address is verified. ADMIN only.
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub is_varified: Input<bool>,
    /// The project (see Create).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub project_key: Input<String>,
    /// Accepted and ignored.
    #[schema(value_type = Option<String>)]
    pub mail_purpose: Option<Value>,
}

/// The query of `GET /idp/v1/Iam/GetUser`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetUserQuery {
    /// The user's id (`itemId`).
    #[serde(rename = "Id", alias = "id")]
    pub id: Option<String>,
    /// The project (see Create).
    #[serde(rename = "ProjectKey", alias = "projectKey")]
    pub project_key: Option<String>,
}

/// The order of `GetUsers`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SortInput {
    /// `createdDate` (default), `lastUpdatedDate`, `userName` or `email`
    /// (any letter case).
    #[schema(value_type = Option<String>, example = "createdDate")]
    #[serde(default)]
    pub property: Input<String>,
    /// Largest first. Default false.
    #[schema(value_type = Option<bool>, example = true)]
    #[serde(default)]
    pub is_descending: Input<bool>,
}

/// The filter of `GetUsers`; every filter given must hold. Blank strings
/// and empty lists filter nothing.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilterInput {
    /// E-mail addresses starting with this (case-insensitive).
    #[schema(value_type = Option<String>, example = "newuser@")]
    #[serde(default)]
    pub email: Input<String>,
    /// First names, last names or usernames starting with this (case-insensitive).
    #[schema(value_type = Option<String>, example = "Jo")]
    #[serde(default)]
    pub name: Input<String>,
    /// Only these users (`itemId`s).
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub user_ids: Input<Vec<Input<String>>>,
    /// `true` (ACTIVE) or `false` (INACTIVE), or userhub statuses: one
    /// (`"ACTIVE"`) or several (`["ACTIVE", "BLOCKED"]`).
    #[schema(value_type = Option<Object>, example = true)]
    #[serde(default)]
    pub status: Input<Value>,
    /// Members of this organization.
    #[schema(value_type = Option<String>, example = "org_123")]
    #[serde(default)]
    pub organization_id: Input<String>,
    /// Members of this organization (the same as `organizationId`).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub organization: Input<String>,
}

/// The body of `POST /idp/v1/Iam/GetUsers`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetUsersRequest {
    /// The page, counting from 1. Default 1.
    #[schema(value_type = Option<u64>, example = 1)]
    #[serde(default)]
    pub page: Input<Value>,
    /// Users per page, 1 to 100. Default 10.
    #[schema(value_type = Option<u32>, example = 10)]
    #[serde(default)]
    pub page_size: Input<Value>,
    /// The order. Default: oldest first.
    #[schema(value_type = Option<SortInput>)]
    #[serde(default)]
    pub sort: Input<SortInput>,
    /// Which users.
    #[schema(value_type = Option<FilterInput>)]
    #[serde(default)]
    pub filter: Input<FilterInput>,
    /// The project (see Create).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub project_key: Input<String>,
}

// ---------------------------------------------------------------- responses

/// An organization membership.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipResponse {
    /// The organization's id.
    #[schema(example = "org_123")]
    pub organization_id: String,
    /// Roles within the organization, sorted.
    #[schema(example = json!(["admin", "user"]))]
    pub roles: Vec<String>,
    /// Permissions within the organization, sorted.
    #[schema(example = json!(["read", "write"]))]
    pub permissions: Vec<String>,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(example = "8e94a551-5b86-40ba-ae55-b019dee5cc25")]
    pub item_id: String,
    /// E-mail address.
    #[schema(example = "newuser@example.com")]
    pub email: String,
    /// Username.
    #[schema(example = "newuser")]
    pub user_name: String,
    /// First name.
    #[schema(example = "John")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(example = "Doe")]
    pub last_name: Option<String>,
    /// Whether the user is ACTIVE (false for every other status).
    pub active: bool,
    /// Whether the e-mail address is verified.
    pub is_varified: bool,
    /// Whether MFA is enabled.
    pub mfa_enabled: bool,
    /// Organization memberships.
    pub memberships: Vec<MembershipResponse>,
    /// Salutation.
    #[schema(example = "Mr.")]
    pub salutation: Option<String>,
    /// Preferred language (BCP 47).
    #[schema(example = "en-US")]
    pub language: Option<String>,
    /// Phone number (E.164).
    #[schema(example = "+14155552671")]
    pub phone_number: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// MFA type code.
    pub user_mfa_type: Option<u8>,
    /// Allowed login type codes, sorted.
    pub allowed_log_in_type: Vec<u8>,
    /// Platform.
    #[schema(example = "web")]
    pub platform: Option<String>,
    /// Profile image URL.
    pub profile_image_url: Option<String>,
    /// Profile image id.
    pub profile_image_id: Option<String>,
    /// When the user was created (RFC 3339).
    #[schema(example = "2025-01-07T05:31:56Z")]
    pub created_date: String,
    /// When the user last changed (RFC 3339).
    #[schema(example = "2025-01-07T05:31:56Z")]
    pub last_updated_date: String,
}

/// The envelope of `GetUser`: the user under `data`, and `errors` (always
/// empty in a 200 answer; errors answer with the error body).
#[derive(Debug, Serialize, ToSchema)]
pub struct GetUserResponse {
    /// The user.
    pub data: UserResponse,
    /// Always `{}`.
    #[schema(value_type = Object, example = json!({}))]
    pub errors: BTreeMap<String, String>,
}

/// A page of `GetUsers`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetUsersResponse {
    /// The users of the page.
    pub data: Vec<UserResponse>,
    /// How many users match the filter, over all pages.
    pub total_count: u64,
    /// Always `{}`.
    #[schema(value_type = Object, example = json!({}))]
    pub errors: BTreeMap<String, String>,
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn text<T: AsRef<str>>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().to_owned())
}

fn texts<T: AsRef<str>>(values: impl IntoIterator<Item = T>) -> Vec<String> {
    values.into_iter().map(|v| v.as_ref().to_owned()).collect()
}

impl UserResponse {
    /// `user` in Blocks' shape.
    pub fn from_user(user: &User) -> Self {
        Self {
            item_id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            user_name: user.username.as_str().to_owned(),
            first_name: text(&user.first_name),
            last_name: text(&user.last_name),
            active: user.status == Status::Active,
            is_varified: user.account.email_verified,
            mfa_enabled: user.mfa.enabled,
            memberships: user
                .memberships
                .iter()
                .map(|m| MembershipResponse {
                    organization_id: m.organization.as_str().to_owned(),
                    roles: texts(&m.roles),
                    permissions: texts(&m.permissions),
                })
                .collect(),
            salutation: text(&user.title),
            language: text(&user.locale),
            phone_number: text(&user.phone),
            tags: texts(&user.tags),
            user_mfa_type: user.mfa.mfa_type,
            allowed_log_in_type: user.allowed_login_types.iter().copied().collect(),
            platform: text(&user.platform),
            profile_image_url: text(&user.account.profile_picture_url),
            profile_image_id: text(&user.account.profile_picture_id),
            created_date: rfc3339(user.created_at),
            last_updated_date: rfc3339(user.updated_at),
        }
    }
}

// ---------------------------------------------------------------- create

/// A parsed Create: the user to create and the `projectKey` to check.
#[derive(Debug)]
pub struct CreateCommand {
    /// The user and their password.
    pub user: CreateUser,
    /// The `projectKey`, if given.
    pub project_key: Option<String>,
}

impl TryFrom<(CreateUserRequest, &PasswordPolicy)> for CreateCommand {
    type Error = ValidationErrors;

    fn try_from((dto, policy): (CreateUserRequest, &PasswordPolicy)) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        // Words a password must not be built from: the user's own names.
        let words: Vec<String> = [
            dto.user_name.text(),
            dto.email.text(),
            dto.first_name.text(),
            dto.last_name.text(),
        ]
        .into_iter()
        .flatten()
        .filter(|w| !w.trim().is_empty())
        .map(str::to_owned)
        .collect();
        let context: Vec<&str> = words.iter().map(String::as_str).collect();
        let locale = parse_optional(&mut errors, "language", dto.language, Locale::parse);
        let tags = dto
            .tags
            .optional(&mut errors, "tags")
            .map(|items| parse_items(&mut errors, "tags", items, Tag::parse))
            .unwrap_or_default();
        let email = parse_required(&mut errors, "email", dto.email, Email::parse);
        let username = parse_required(&mut errors, "userName", dto.user_name, Username::parse);
        let phone = parse_optional(
            &mut errors,
            "phoneNumber",
            dto.phone_number,
            PhoneNumber::parse,
        );
        let password = dto
            .password
            .required(&mut errors, "password")
            .and_then(|p| errors.check("password", Password::parse(p.expose(), policy, &context)));
        let title = parse_optional(&mut errors, "salutation", dto.salutation, Title::parse);
        let first_name =
            parse_optional(&mut errors, "firstName", dto.first_name, PersonName::parse);
        let last_name = parse_optional(&mut errors, "lastName", dto.last_name, PersonName::parse);
        let platform = parse_optional(&mut errors, "platform", dto.platform, Platform::parse);
        let picture_url = parse_optional(
            &mut errors,
            "profileImageUrl",
            dto.profile_image_url,
            PictureUrl::parse,
        );
        let picture_id = parse_optional(
            &mut errors,
            "profileImageId",
            dto.profile_image_id,
            PictureId::parse,
        );
        let mfa_type = dto
            .user_mfa_type
            .optional(&mut errors, "userMfaType")
            .and_then(|v| errors.check("userMfaType", parse_code(&v)));
        let mfa_enabled = dto.mfa_enabled.optional(&mut errors, "mfaEnabled");
        let login_types = dto
            .allowed_log_in_type
            .optional(&mut errors, "allowedLogInType")
            .map(|items| parse_codes(&mut errors, "allowedLogInType", items))
            .unwrap_or_default();
        let memberships = dto
            .memberships
            .optional(&mut errors, "memberships")
            .map(|items| parse_memberships(&mut errors, "memberships", items))
            .unwrap_or_default();
        let project_key = dto.project_key.optional(&mut errors, "projectKey");
        let organization = parse_optional(
            &mut errors,
            "organizationId",
            dto.organization_id,
            OrganizationId::parse,
        );
        errors.clone().into_result()?;
        let (Some(email), Some(username), Some(password)) = (email, username, password) else {
            // Unreachable: every None above recorded an error.
            return Err(errors);
        };
        let mut new = NewUser::new(username, email);
        new.locale = locale;
        new.tags = tags.into_iter().collect();
        new.phone = phone;
        new.title = title;
        new.first_name = first_name;
        new.last_name = last_name;
        new.platform = platform;
        new.account.profile_picture_url = picture_url;
        new.account.profile_picture_id = picture_id;
        new.mfa.enabled = mfa_enabled.unwrap_or(false);
        new.mfa.mfa_type = mfa_type;
        new.allowed_login_types = login_types;
        new.memberships = memberships;
        if let Some(org) = organization {
            add_membership(&mut new.memberships, bare_membership(org));
        }
        Ok(CreateCommand {
            user: CreateUser {
                new,
                password: Some(password),
            },
            project_key,
        })
    }
}

// ---------------------------------------------------------------- update

/// A parsed Update.
#[derive(Debug)]
pub struct UpdateCommand {
    /// Which user.
    pub id: UserId,
    /// The change: `mfaEnabled` and `userMfaType` as the two MFA parts,
    /// `organizationId` as a membership to add.
    pub changes: UserChanges,
    /// The `projectKey`, if given.
    pub project_key: Option<String>,
}

impl TryFrom<UpdateUserRequest> for UpdateCommand {
    type Error = ValidationErrors;

    fn try_from(dto: UpdateUserRequest) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let id = parse_required(&mut errors, "itemId", dto.item_id, UserId::parse);
        if dto.password.is_given() || matches!(dto.password, Input::Invalid(_)) {
            errors.push(
                ValueError::new(
                    "not_updatable",
                    "cannot be changed through Update: an ADMIN sets it through iklim's update, the user through change-password",
                )
                .at("password"),
            );
        }
        let mut changes = UserChanges {
            locale: parse_patch(&mut errors, "language", dto.language, Locale::parse),
            ..UserChanges::default()
        };
        changes.tags = dto.tags.nullable(&mut errors, "tags").map(|items| {
            parse_items(&mut errors, "tags", items.unwrap_or_default(), Tag::parse)
                .into_iter()
                .collect()
        });
        changes.phone = parse_patch(
            &mut errors,
            "phoneNumber",
            dto.phone_number,
            PhoneNumber::parse,
        );
        changes.title = parse_patch(&mut errors, "salutation", dto.salutation, Title::parse);
        changes.first_name =
            parse_patch(&mut errors, "firstName", dto.first_name, PersonName::parse);
        changes.last_name = parse_patch(&mut errors, "lastName", dto.last_name, PersonName::parse);
        changes.platform = parse_patch(&mut errors, "platform", dto.platform, Platform::parse);
        changes.account.profile_picture_url = parse_patch(
            &mut errors,
            "profileImageUrl",
            dto.profile_image_url,
            PictureUrl::parse,
        );
        changes.account.profile_picture_id = parse_patch(
            &mut errors,
            "profileImageId",
            dto.profile_image_id,
            PictureId::parse,
        );
        changes.mfa_type = match dto.user_mfa_type.nullable(&mut errors, "userMfaType") {
            None => Patch::Leave,
            Some(None) => Patch::Clear,
            Some(Some(v)) => errors
                .check("userMfaType", parse_code(&v))
                .map_or(Patch::Leave, Patch::Set),
        };
        changes.mfa_enabled = boolean(&mut errors, "mfaEnabled", dto.mfa_enabled);
        changes.allowed_login_types = dto
            .allowed_log_in_type
            .nullable(&mut errors, "allowedLogInType")
            .map(|items| parse_codes(&mut errors, "allowedLogInType", items.unwrap_or_default()));
        changes.memberships = dto
            .memberships
            .nullable(&mut errors, "memberships")
            .map(|items| parse_memberships(&mut errors, "memberships", items.unwrap_or_default()));
        changes.add_memberships = parse_optional(
            &mut errors,
            "organizationId",
            dto.organization_id,
            OrganizationId::parse,
        )
        .map(bare_membership)
        .into_iter()
        .collect();
        changes.status = boolean(&mut errors, "active", dto.active).map(|active| {
            if active {
                Status::Active
            } else {
                Status::Inactive
            }
        });
        changes.account.email_verified = boolean(&mut errors, "isVarified", dto.is_varified);
        let project_key = dto.project_key.optional(&mut errors, "projectKey");
        errors.clone().into_result()?;
        let id = id.ok_or(errors)?;
        Ok(UpdateCommand {
            id,
            changes,
            project_key,
        })
    }
}

/// A flag of a partial update: absent leaves it; `null` is refused (a flag
/// has no "no value").
fn boolean(errors: &mut ValidationErrors, field: &str, input: Input<bool>) -> Option<bool> {
    match input {
        Input::Null => {
            errors.push(invalid_type("must be true or false".into()).at(field));
            None
        }
        other => other.optional(errors, field),
    }
}

// ---------------------------------------------------------------- get

/// A parsed GetUser query.
#[derive(Debug)]
pub struct GetUserCommand {
    /// Which user.
    pub id: UserId,
    /// The `ProjectKey`, if given.
    pub project_key: Option<String>,
}

impl TryFrom<GetUserQuery> for GetUserCommand {
    type Error = ValidationErrors;

    fn try_from(query: GetUserQuery) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let input = query.id.map_or(Input::Absent, Input::Given);
        let id = parse_required(&mut errors, "Id", input, UserId::parse);
        let id = id.ok_or(errors)?;
        Ok(GetUserCommand {
            id,
            project_key: query.project_key,
        })
    }
}

// ---------------------------------------------------------------- list

/// The largest page.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 10;

/// A parsed GetUsers request.
#[derive(Debug)]
pub struct ListCommand {
    /// The domain's query.
    pub query: UserQuery,
    /// The `projectKey`, if given.
    pub project_key: Option<String>,
}

fn parse_page(value: &Value) -> Result<u64, ValueError> {
    match value.as_u64() {
        Some(n) if n >= 1 => Ok(n),
        Some(_) => Err(ValueError::new(
            "out_of_range",
            "must be 1 or more (pages count from 1)",
        )),
        None if value.is_i64() => Err(ValueError::new(
            "out_of_range",
            "must be 1 or more (pages count from 1)",
        )),
        None => Err(invalid_type("must be a whole number".into())),
    }
}

fn parse_page_size(value: &Value) -> Result<u32, ValueError> {
    let out_of_range = || ValueError::new("out_of_range", format!("must be 1 to {MAX_PAGE_SIZE}"));
    match value.as_u64() {
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(out_of_range),
        None if value.is_i64() => Err(out_of_range()),
        None => Err(invalid_type("must be a whole number".into())),
    }
}

fn parse_sort_property(property: &str) -> Result<SortField, ValueError> {
    let known = [
        ("createddate", SortField::CreatedAt),
        ("lastupdateddate", SortField::UpdatedAt),
        ("username", SortField::Username),
        ("email", SortField::Email),
    ];
    let wanted = property.trim().to_ascii_lowercase();
    known
        .into_iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, field)| field)
        .ok_or_else(|| {
            ValueError::new(
                "unknown_value",
                "must be one of: createdDate, lastUpdatedDate, userName, email",
            )
        })
}

fn parse_status_filter(value: &Value) -> Result<BTreeSet<Status>, ValueError> {
    let one = |text: &str| {
        Status::parse(text).map_err(|e| {
            ValueError::new(e.code, format!("`{text}` is not a status: {}", e.message))
        })
    };
    match value {
        Value::Bool(true) => Ok(BTreeSet::from([Status::Active])),
        Value::Bool(false) => Ok(BTreeSet::from([Status::Inactive])),
        Value::String(text) if text.trim().is_empty() => Ok(BTreeSet::new()),
        Value::String(text) => one(text).map(|s| BTreeSet::from([s])),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| invalid_type("must be an array of status names".into()))
                    .and_then(one)
            })
            .collect(),
        _ => Err(invalid_type(
            "must be true, false, a status name or an array of status names".into(),
        )),
    }
}

impl TryFrom<GetUsersRequest> for ListCommand {
    type Error = ValidationErrors;

    fn try_from(dto: GetUsersRequest) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let page = dto
            .page
            .optional(&mut errors, "page")
            .and_then(|v| errors.check("page", parse_page(&v)))
            .unwrap_or(1);
        let page_size = dto
            .page_size
            .optional(&mut errors, "pageSize")
            .and_then(|v| errors.check("pageSize", parse_page_size(&v)))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let mut sort = Sort::default();
        if let Some(input) = dto.sort.optional(&mut errors, "sort") {
            if let Some(property) = input.property.search(&mut errors, "sort.property")
                && let Some(field) = errors.check("sort.property", parse_sort_property(&property))
            {
                sort.field = field;
            }
            if boolean(&mut errors, "sort.isDescending", input.is_descending) == Some(true) {
                sort.direction = SortDirection::Descending;
            }
        }
        let mut filter = UserFilter::default();
        if let Some(input) = dto.filter.optional(&mut errors, "filter") {
            filter.email = input
                .email
                .search(&mut errors, "filter.email")
                .map(|e| KeyMatch::prefix(&e));
            filter.any_name = input
                .name
                .search(&mut errors, "filter.name")
                .map(|n| KeyMatch::prefix(&n));
            if let Some(items) = input.user_ids.optional(&mut errors, "filter.userIds") {
                filter.ids = parse_items(&mut errors, "filter.userIds", items, UserId::parse)
                    .into_iter()
                    .collect();
            }
            if let Some(value) = input.status.optional(&mut errors, "filter.status")
                && let Some(statuses) = errors.check("filter.status", parse_status_filter(&value))
            {
                filter.statuses = statuses;
            }
            let by_id = input
                .organization_id
                .search(&mut errors, "filter.organizationId");
            let by_name = input
                .organization
                .search(&mut errors, "filter.organization");
            let by_id = by_id
                .and_then(|o| errors.check("filter.organizationId", OrganizationId::parse(&o)));
            let by_name = by_name
                .and_then(|o| errors.check("filter.organization", OrganizationId::parse(&o)));
            filter.organization = match (by_id, by_name) {
                (Some(a), Some(b)) if a != b => {
                    errors.push(
                        ValueError::new(
                            "conflict",
                            "names another organization than filter.organizationId",
                        )
                        .at("filter.organization"),
                    );
                    None
                }
                (a, b) => a.or(b),
            };
        }
        let project_key = dto.project_key.optional(&mut errors, "projectKey");
        let offset = (page - 1).checked_mul(u64::from(page_size));
        if offset.is_none() {
            errors.push(ValueError::new("out_of_range", "is too large").at("page"));
        }
        errors.clone().into_result()?;
        let offset = offset.ok_or(errors)?;
        Ok(ListCommand {
            query: UserQuery {
                filter,
                sort,
                page: PageRequest::Offset {
                    offset,
                    limit: page_size,
                },
                with_total: true,
            },
            project_key,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn inputs_tell_absent_null_value_and_wrong_type_apart() {
        let dto: UpdateUserRequest = serde_json::from_value(json!({
            "firstName": null, "lastName": "Doe", "mfaEnabled": "yes", "password": 12345678
        }))
        .unwrap();
        assert!(matches!(dto.first_name, Input::Null));
        assert!(matches!(dto.last_name, Input::Given(ref s) if s == "Doe"));
        assert!(matches!(dto.salutation, Input::Absent));
        assert!(matches!(dto.mfa_enabled, Input::Invalid(ref m) if m == "must be a boolean"));
        // The message never repeats the value sent.
        assert!(matches!(dto.password, Input::Invalid(ref m) if !m.contains("12345678")));
    }

    #[test]
    fn create_names_every_bad_field_in_blocks_words() {
        let dto: CreateUserRequest = serde_json::from_value(json!({
            "language": "english",
            "tags": ["ok", ""],
            "phoneNumber": "+1234567890",
            "password": "password",
            "userMfaType": 300,
            "mfaEnabled": "no",
            "allowedLogInType": [0, -1, "x"],
            "memberships": [{"roles": ["a", 5]}, {"organizationId": "o"}, {"organizationId": "o"}],
            "organizationId": 7,
            "userPassType": "anything goes"
        }))
        .unwrap();
        let errors = CreateCommand::try_from((dto, &PasswordPolicy::default())).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "language",
                "tags[1]",
                "email",
                "userName",
                "phoneNumber",
                "password",
                "userMfaType",
                "mfaEnabled",
                "allowedLogInType[1]",
                "allowedLogInType[2]",
                "memberships[0].organizationId",
                "memberships[0].roles[1]",
                "memberships[2].organizationId",
                "organizationId",
            ]
        );
    }

    #[test]
    fn top_level_organization_joins_the_memberships_once() {
        let body = |org: &str| {
            serde_json::from_value::<CreateUserRequest>(json!({
                "email": "a@example.com", "userName": "a", "password": "SecurePassword123!",
                "memberships": [{"organizationId": "org_1", "roles": ["admin"]}],
                "organizationId": org
            }))
            .unwrap()
        };
        let policy = PasswordPolicy::default();
        let same = CreateCommand::try_from((body("org_1"), &policy)).unwrap();
        assert_eq!(same.user.new.memberships.len(), 1);
        let other = CreateCommand::try_from((body("org_2"), &policy)).unwrap();
        let orgs: Vec<&str> = other
            .user
            .new
            .memberships
            .iter()
            .map(|m| m.organization.as_str())
            .collect();
        assert_eq!(orgs, ["org_1", "org_2"]);
        assert!(other.user.new.memberships[1].roles.is_empty());
    }

    #[test]
    fn update_merges_partial_mfa_and_organizations_with_the_current_user() {
        let dto: UpdateUserRequest = serde_json::from_value(json!({
            "itemId": "8e94a551-5b86-40ba-ae55-b019dee5cc25",
            "mfaEnabled": true,
            "organizationId": "org_2",
            "email": "ignored@example.com",
            "userName": "ignored"
        }))
        .unwrap();
        let command = UpdateCommand::try_from(dto).unwrap();
        assert_eq!(command.changes.mfa_enabled, Some(true));
        assert!(command.changes.mfa_type.is_leave() && command.changes.memberships.is_none());
        assert!(command.changes.email.is_none() && command.changes.username.is_none());
        let mut new = NewUser::new(
            Username::parse("a").unwrap(),
            Email::parse("a@example.com").unwrap(),
        );
        new.mfa.mfa_type = Some(3);
        new.memberships = vec![Membership::new(
            OrganizationId::parse("org_1").unwrap(),
            [],
            [],
        )];
        let user = new.into_user(
            userhub_domain::types::TenantId::new_random(),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let changed = user.apply(&command.changes).user;
        let mfa = changed.mfa;
        assert!(mfa.enabled);
        assert_eq!(mfa.mfa_type, Some(3));
        assert_eq!(changed.memberships.len(), 2);
    }

    #[test]
    fn update_refuses_a_password_and_lists_every_bad_field() {
        let dto: UpdateUserRequest = serde_json::from_value(json!({
            "itemId": "nope", "password": "An0ther!Str0ng#Secret", "active": null, "tags": [1]
        }))
        .unwrap();
        let errors = UpdateCommand::try_from(dto).unwrap_err();
        assert_eq!(fields(&errors), ["itemId", "password", "tags[0]", "active"]);
        assert_eq!(errors.errors()[1].code, "not_updatable");
    }

    #[test]
    fn list_pages_count_from_one() {
        let dto: GetUsersRequest = serde_json::from_value(json!({
            "page": 3, "pageSize": 5,
            "sort": {"property": "LastUpdatedDate", "isDescending": true},
            "filter": {"email": "", "name": "jo", "status": false, "organization": "org_1"}
        }))
        .unwrap();
        let command = ListCommand::try_from(dto).unwrap();
        assert_eq!(
            command.query.page,
            PageRequest::Offset {
                offset: 10,
                limit: 5
            }
        );
        assert_eq!(command.query.sort.field, SortField::UpdatedAt);
        assert_eq!(command.query.sort.direction, SortDirection::Descending);
        assert!(command.query.filter.email.is_none());
        assert_eq!(command.query.filter.any_name, Some(KeyMatch::prefix("jo")));
        assert_eq!(
            command.query.filter.statuses,
            BTreeSet::from([Status::Inactive])
        );

        let dto: GetUsersRequest = serde_json::from_value(json!({
            "page": 0, "pageSize": 101, "sort": {"property": "password"},
            "filter": {"userIds": ["x"], "status": "GONE", "organizationId": "a", "organization": "b"}
        }))
        .unwrap();
        let errors = ListCommand::try_from(dto).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "page",
                "pageSize",
                "sort.property",
                "filter.userIds[0]",
                "filter.status",
                "filter.organization"
            ]
        );
    }
}
