//! Blocks' request and response shapes, and their conversions into the
//! domain's commands (every field error collected at once, named in Blocks'
//! words such as `memberships[0].roles[1]`) and back.
//!
//! Unknown fields are ignored; so are the fields Blocks documents that
//! userhub has no use for (`mailPurpose`, `userPassType`, ...), whatever
//! their value.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use userhub_domain::ValidationErrors;
use userhub_domain::error::ValueError;
use userhub_domain::query::{
    KeyMatch, PageRequest, Sort, SortDirection, SortField, UserFilter, UserQuery,
};
use userhub_domain::service::{CreateUser, ListUsers, UpdateUser};
use userhub_domain::types::{
    Email, Locale, Membership, MembershipRole, OrganizationId, Permission, PersonName, PhoneNumber,
    PictureId, PictureUrl, Platform, Status, Tag, Title, UserId, Username, add_membership,
};
use userhub_domain::user::{NewUser, Patch, User, UserChanges};
use utoipa::ToSchema;

use crate::json_objects;
use crate::toolkit::fields::{items, parse_items, refuse, shape};
use crate::toolkit::render::rfc3339;
use crate::toolkit::{Failure, In, RequestError, SecretText};

// ---------------------------------------------------------------- requests

/// An organization membership as sent.
/// `filter.status`: a boolean, a status name, or an array of them; `null`
/// as absent.
fn status_filter_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(string())
        .item(ArrayBuilder::new().items(string()))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .examples([Value::Bool(true)])
        .into()
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MembershipInput {
    /// The organization's id (opaque text).
    #[schema(required = true, value_type = String, example = "org_123", default)]
    pub organization_id: In<String>,
    /// Roles within the organization (a set).
    #[schema(value_type = Option<Vec<String>>, example = json!(["admin", "user"]), default)]
    pub roles: In<Vec<In<String>>>,
    /// Permissions within the organization (a set).
    #[schema(value_type = Option<Vec<String>>, example = json!(["read", "write"]), default)]
    pub permissions: In<Vec<In<String>>>,
}

/// The body of `POST /idp/v1/Iam/Create`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// Preferred language, a BCP 47 tag (`en-US`; `en_US` accepted).
    #[schema(value_type = Option<String>, example = "en-US", default)]
    pub language: In<String>,
    /// Tags (a set: repeats merge).
    #[schema(value_type = Option<Vec<String>>, example = json!(["developer", "internal"]), default)]
    pub tags: In<Vec<In<String>>>,
    /// E-mail address, unique in the project (case-insensitively).
    #[schema(required = true, value_type = String, example = "newuser@example.com", default)]
    pub email: In<String>,
    /// Username, unique in the project (case-insensitively).
    #[schema(required = true, value_type = String, example = "newuser", default)]
    pub user_name: In<String>,
    /// Phone number in E.164 form, valid for its country code.
    #[schema(value_type = Option<String>, example = "+14155552671", default)]
    pub phone_number: In<String>,
    /// Password (write-only, never returned), judged by the project's
    /// password policy.
    #[schema(required = true, value_type = String, format = Password, example = "SecurePassword123!", default)]
    pub password: In<SecretText>,
    /// Salutation (`Mr.`, `Ms.`, `Dr.`).
    #[schema(value_type = Option<String>, example = "Mr.", default)]
    pub salutation: In<String>,
    /// First name.
    #[schema(value_type = Option<String>, example = "John", default)]
    pub first_name: In<String>,
    /// Last name.
    #[schema(value_type = Option<String>, example = "Doe", default)]
    pub last_name: In<String>,
    /// Accepted and ignored: userhub sends no mail.
    #[schema(value_type = Option<String>, example = "user_creation")]
    pub mail_purpose: Option<Value>,
    /// Accepted and ignored: the password is always the one given.
    #[schema(value_type = Option<i64>, example = 0)]
    pub user_pass_type: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<i64>, example = 0)]
    pub user_creation_type: Option<Value>,
    /// Accepted and ignored: a new user's e-mail is not verified.
    #[schema(value_type = Option<i64>, example = 0)]
    pub varified_type: Option<Value>,
    /// Platform the user is created on (`web`, `mobile`).
    #[schema(value_type = Option<String>, example = "web", default)]
    pub platform: In<String>,
    /// Profile image URL (`http` or `https`).
    #[schema(value_type = Option<String>, example = "https://example.com/image.jpg", default)]
    pub profile_image_url: In<String>,
    /// Profile image id.
    #[schema(value_type = Option<String>, example = "img_123", default)]
    pub profile_image_id: In<String>,
    /// MFA type code, 0 to 255 (stored for the client, not interpreted).
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 255, example = 0, default)]
    pub user_mfa_type: In<u64>,
    /// Whether MFA is enabled. Default false.
    #[schema(value_type = Option<bool>, example = false, default)]
    pub mfa_enabled: In<bool>,
    /// Allowed login type codes, each 0 to 255.
    #[schema(value_type = Option<Vec<u8>>, example = json!([0]), default)]
    pub allowed_log_in_type: In<Vec<In<u64>>>,
    /// Organization memberships, one per organization.
    #[schema(value_type = Option<Vec<MembershipInput>>, default)]
    pub memberships: In<Vec<In<MembershipInput>>>,
    /// The project: when given, the caller's project's name or id, or the
    /// `x-blocks-key` value itself.
    #[schema(value_type = Option<String>, example = "YOUR_PROJECT_KEY", default)]
    pub project_key: In<String>,
    /// An organization the user belongs to: a membership without roles or
    /// permissions unless `memberships` lists it.
    #[schema(value_type = Option<String>, example = "org_123", default)]
    pub organization_id: In<String>,
}

/// The body of `POST /idp/v1/Iam/Update`. Absent fields stay as they are;
/// `null` removes an optional value or empties a list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The user to change.
    #[schema(required = true, value_type = String, format = Uuid, example = "8e94a551-5b86-40ba-ae55-b019dee5cc25", default)]
    pub item_id: In<String>,
    /// Ignored: the e-mail address is not changed through Update.
    #[schema(value_type = Option<String>)]
    pub email: Option<Value>,
    /// Ignored: the username is not changed through Update.
    #[schema(value_type = Option<String>)]
    pub user_name: Option<Value>,
    /// Refused (400 `not_updatable`): the password is not changed through
    /// Update.
    #[schema(value_type = Option<String>, format = Password, default)]
    pub password: In<SecretText>,
    /// Preferred language (BCP 47).
    #[schema(value_type = Option<String>, nullable, example = "en-GB", default)]
    pub language: In<String>,
    /// Tags: the whole new set.
    #[schema(value_type = Option<Vec<String>>, nullable, default)]
    pub tags: In<Vec<In<String>>>,
    /// Phone number (E.164).
    #[schema(value_type = Option<String>, nullable, example = "+14155552671", default)]
    pub phone_number: In<String>,
    /// Salutation.
    #[schema(value_type = Option<String>, nullable, example = "Dr.", default)]
    pub salutation: In<String>,
    /// First name.
    #[schema(value_type = Option<String>, nullable, example = "John", default)]
    pub first_name: In<String>,
    /// Last name.
    #[schema(value_type = Option<String>, nullable, example = "Doe", default)]
    pub last_name: In<String>,
    /// Platform.
    #[schema(value_type = Option<String>, nullable, example = "mobile", default)]
    pub platform: In<String>,
    /// Profile image URL.
    #[schema(value_type = Option<String>, nullable, default)]
    pub profile_image_url: In<String>,
    /// Profile image id.
    #[schema(value_type = Option<String>, nullable, default)]
    pub profile_image_id: In<String>,
    /// MFA type code (0 to 255); `mfaEnabled` stays as it is.
    #[schema(value_type = Option<u8>, nullable, minimum = 0, maximum = 255, default)]
    pub user_mfa_type: In<u64>,
    /// Whether MFA is enabled; `userMfaType` stays as it is.
    #[schema(value_type = Option<bool>, default)]
    pub mfa_enabled: In<bool>,
    /// Allowed login type codes: the whole new set. ADMIN only.
    #[schema(value_type = Option<Vec<u8>>, nullable, default)]
    pub allowed_log_in_type: In<Vec<In<u64>>>,
    /// Memberships: the whole new list. ADMIN only.
    #[schema(value_type = Option<Vec<MembershipInput>>, nullable, default)]
    pub memberships: In<Vec<In<MembershipInput>>>,
    /// Adds a membership in this organization unless the user (after
    /// `memberships`) has one. ADMIN only.
    #[schema(value_type = Option<String>, example = "org_456", default)]
    pub organization_id: In<String>,
    /// `true` makes the user ACTIVE, `false` INACTIVE. ADMIN only.
    #[schema(value_type = Option<bool>, default)]
    pub active: In<bool>,
    /// Whether the e-mail address is verified. ADMIN only.
    #[schema(value_type = Option<bool>, default)]
    pub is_varified: In<bool>,
    /// The project (see Create).
    #[schema(value_type = Option<String>, default)]
    pub project_key: In<String>,
}

/// The order of `GetUsers`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SortInput {
    /// `createdDate` (default), `lastUpdatedDate`, `userName` or `email`
    /// (any letter case).
    #[schema(value_type = Option<String>, example = "createdDate", default)]
    pub property: In<String>,
    /// Largest first. Default false.
    #[schema(value_type = Option<bool>, example = true, default)]
    pub is_descending: In<bool>,
}

/// The filter of `GetUsers`; every filter given must hold. Blank strings,
/// `null` and empty lists filter nothing.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FilterInput {
    /// E-mail addresses starting with this (case-insensitive).
    #[schema(value_type = Option<String>, example = "newuser@", default)]
    pub email: In<String>,
    /// First names, last names or usernames starting with this.
    #[schema(value_type = Option<String>, example = "Jo", default)]
    pub name: In<String>,
    /// Only these users (`itemId`s).
    #[schema(value_type = Option<Vec<String>>, default)]
    pub user_ids: In<Vec<In<String>>>,
    /// `true` (ACTIVE), `false` (INACTIVE), a status name or an array of them.
    #[schema(schema_with = status_filter_schema, default)]
    pub status: In<Value>,
    /// Members of this organization.
    #[schema(value_type = Option<String>, example = "org_123", default)]
    pub organization_id: In<String>,
    /// Members of this organization (the same as `organizationId`).
    #[schema(value_type = Option<String>, default)]
    pub organization: In<String>,
}

/// The body of `POST /idp/v1/Iam/GetUsers`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct GetUsersRequest {
    /// The page, counting from 1. Default 1.
    #[schema(value_type = Option<u64>, minimum = 1, example = 1, default)]
    pub page: In<u64>,
    /// Users per page, 1 to 100. Default 10.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100, example = 10, default)]
    pub page_size: In<u64>,
    /// The order. Default: oldest first.
    #[schema(value_type = Option<SortInput>, default)]
    pub sort: In<SortInput>,
    /// Which users.
    #[schema(value_type = Option<FilterInput>, default)]
    pub filter: In<FilterInput>,
    /// The project (see Create).
    #[schema(value_type = Option<String>, default)]
    pub project_key: In<String>,
}

json_objects!(MembershipInput, SortInput, FilterInput);

// ---------------------------------------------------------------- responses

/// An organization membership.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipResponse {
    /// The organization's id.
    #[schema(example = "org_123")]
    pub organization_id: String,
    /// Roles within the organization, sorted.
    pub roles: Vec<String>,
    /// Permissions within the organization, sorted.
    pub permissions: Vec<String>,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(format = Uuid, example = "8e94a551-5b86-40ba-ae55-b019dee5cc25")]
    pub item_id: String,
    /// E-mail address.
    pub email: String,
    /// Username.
    pub user_name: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
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
    pub salutation: Option<String>,
    /// Preferred language (BCP 47).
    #[schema(example = "en-US")]
    pub language: Option<String>,
    /// Phone number (E.164).
    pub phone_number: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// MFA type code.
    pub user_mfa_type: Option<u8>,
    /// Allowed login type codes, sorted.
    pub allowed_log_in_type: Vec<u8>,
    /// Platform.
    pub platform: Option<String>,
    /// Profile image URL.
    pub profile_image_url: Option<String>,
    /// Profile image id.
    pub profile_image_id: Option<String>,
    /// When the user was created (RFC 3339).
    #[schema(format = DateTime)]
    pub created_date: String,
    /// When the user last changed (RFC 3339).
    #[schema(format = DateTime)]
    pub last_updated_date: String,
}

/// `GetUser`'s envelope: the user under `data`; `errors` is always `{}`
/// (errors answer with the error body).
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

/// The display form of each value.
fn texts<T: ToString>(values: impl IntoIterator<Item = T>) -> Vec<String> {
    values.into_iter().map(|v| v.to_string()).collect()
}

/// The display form of an optional value.
fn shown<T: ToString>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(T::to_string)
}

impl UserResponse {
    /// `user` in Blocks' shape.
    pub fn from_user(user: &User) -> Self {
        let account = &user.account;
        Self {
            item_id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            user_name: user.username.as_str().to_owned(),
            first_name: shown(&user.first_name),
            last_name: shown(&user.last_name),
            active: user.status == Status::Active,
            is_varified: account.email_verified,
            mfa_enabled: user.mfa.enabled,
            memberships: (user.memberships.iter())
                .map(|m| MembershipResponse {
                    organization_id: m.organization.as_str().to_owned(),
                    roles: texts(&m.roles),
                    permissions: texts(&m.permissions),
                })
                .collect(),
            salutation: shown(&user.title),
            language: shown(&user.locale),
            phone_number: shown(&user.phone),
            tags: texts(&user.tags),
            user_mfa_type: user.mfa.mfa_type,
            allowed_log_in_type: user.allowed_login_types.iter().copied().collect(),
            platform: shown(&user.platform),
            profile_image_url: shown(&account.profile_picture_url),
            profile_image_id: shown(&account.profile_picture_id),
            created_date: rfc3339(user.created_at),
            last_updated_date: rfc3339(user.updated_at),
        }
    }
}

// ---------------------------------------------------------------- parsing

/// A domain command, and the project its request names (`projectKey`)
/// for the pipeline to check first.
#[derive(Debug)]
pub struct Scoped<C> {
    pub project: Option<String>,
    pub command: C,
}

/// A Blocks numeric code (`userMfaType`, `allowedLogInType` items).
fn code(number: u64) -> Result<u8, ValueError> {
    u8::try_from(number)
        .map_err(|_| ValueError::new("out_of_range", "must be a whole number from 0 to 255"))
}

fn codes(errors: &mut ValidationErrors, list: Vec<In<u64>>) -> BTreeSet<u8> {
    let read = items(errors, "allowedLogInType", list, |errors, at, number| {
        let number = number.required(errors, at)?;
        errors.check(at, code(number))
    });
    read.into_iter().collect()
}

/// An optional list of texts, each parsed and named by its index.
fn texts_in<T>(
    errors: &mut ValidationErrors,
    path: &str,
    list: In<Vec<In<String>>>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Vec<T> {
    let list = list.optional(errors, path).unwrap_or_default();
    parse_items(errors, path, list, parse)
}

/// A list of a partial update: left out leaves it, `null` empties it.
fn whole<T>(errors: &mut ValidationErrors, path: &str, list: In<Vec<T>>) -> Option<Vec<T>> {
    match list.patch(errors, path) {
        Patch::Leave => None,
        Patch::Clear => Some(Vec::new()),
        Patch::Set(list) => Some(list),
    }
}

fn membership(
    errors: &mut ValidationErrors,
    at: &str,
    item: In<MembershipInput>,
) -> Option<Membership> {
    let item = item.required(errors, at)?;
    let organization = item.organization_id.parse_required(
        errors,
        &format!("{at}.organizationId"),
        OrganizationId::parse,
    );
    let roles = texts_in(
        errors,
        &format!("{at}.roles"),
        item.roles,
        MembershipRole::parse,
    );
    let permissions = texts_in(
        errors,
        &format!("{at}.permissions"),
        item.permissions,
        Permission::parse,
    );
    Some(Membership::new(organization?, roles, permissions))
}

/// The memberships listed, up to the first one without a valid organization
/// (already an error): the domain names a repeated organization by its
/// index, which must stay the request's own.
fn memberships(errors: &mut ValidationErrors, list: Vec<In<MembershipInput>>) -> Vec<Membership> {
    let read = items(errors, "memberships", list, |errors, at, item| {
        Some(membership(errors, at, item))
    });
    read.into_iter().map_while(|m| m).collect()
}

/// A membership in `organizationId` (top level), without roles or permissions.
fn joined(errors: &mut ValidationErrors, organization: In<String>) -> Option<Membership> {
    let organization =
        organization.parse_optional(errors, "organizationId", OrganizationId::parse)?;
    Some(Membership::new(organization, [], []))
}

/// `POST /idp/v1/Iam/Create` as the domain's command.
pub fn create_command(body: Map<String, Value>) -> Result<Scoped<CreateUser>, Failure> {
    let dto: CreateUserRequest = shape(body)?;
    let errors = &mut ValidationErrors::new();
    let locale = dto
        .language
        .parse_optional(errors, "language", Locale::parse);
    let tags = texts_in(errors, "tags", dto.tags, Tag::parse);
    let email = dto.email.parse_required(errors, "email", Email::parse);
    let username = dto
        .user_name
        .parse_required(errors, "userName", Username::parse);
    let phone = dto
        .phone_number
        .parse_optional(errors, "phoneNumber", PhoneNumber::parse);
    let password = dto.password.required(errors, "password");
    let title = dto
        .salutation
        .parse_optional(errors, "salutation", Title::parse);
    let first_name = dto
        .first_name
        .parse_optional(errors, "firstName", PersonName::parse);
    let last_name = dto
        .last_name
        .parse_optional(errors, "lastName", PersonName::parse);
    let platform = dto
        .platform
        .parse_optional(errors, "platform", Platform::parse);
    let picture_url =
        dto.profile_image_url
            .parse_optional(errors, "profileImageUrl", PictureUrl::parse);
    let picture_id =
        dto.profile_image_id
            .parse_optional(errors, "profileImageId", PictureId::parse);
    let mfa_type = (dto.user_mfa_type.optional(errors, "userMfaType"))
        .and_then(|number| errors.check("userMfaType", code(number)));
    let mfa_enabled = dto.mfa_enabled.optional(errors, "mfaEnabled");
    let login_types = (dto.allowed_log_in_type.optional(errors, "allowedLogInType"))
        .map(|list| codes(errors, list));
    let listed =
        (dto.memberships.optional(errors, "memberships")).map(|list| memberships(errors, list));
    let project = dto.project_key.optional(errors, "projectKey");
    let organization = joined(errors, dto.organization_id);
    let (Some(email), Some(username), Some(password)) = (email, username, password) else {
        return Err(std::mem::take(errors).into());
    };
    let mut user = NewUser::new(username, email);
    user.locale = locale;
    user.tags = tags.into_iter().collect();
    user.phone = phone;
    user.title = title;
    user.first_name = first_name;
    user.last_name = last_name;
    user.platform = platform;
    user.account.profile_picture_url = picture_url;
    user.account.profile_picture_id = picture_id;
    user.mfa.enabled = mfa_enabled.unwrap_or(false);
    user.mfa.mfa_type = mfa_type;
    user.allowed_login_types = login_types.unwrap_or_default();
    user.memberships = listed.unwrap_or_default();
    // After the listed ones, so that their indexes stay the request's.
    if let Some(membership) = organization {
        add_membership(&mut user.memberships, membership);
    }
    let command = CreateUser {
        password: Some(password.into_password()),
        errors: std::mem::take(errors),
        ..CreateUser::new(user)
    };
    Ok(Scoped { project, command })
}

/// `POST /idp/v1/Iam/Update` as the domain's command. `email` and
/// `userName` are ignored: clients send back the whole user they read.
pub fn update_command(body: Map<String, Value>) -> Result<Scoped<UpdateUser>, Failure> {
    let dto: UpdateUserRequest = shape(body)?;
    let errors = &mut ValidationErrors::new();
    let id = dto.item_id.parse_required(errors, "itemId", UserId::parse);
    if dto.password.is_present() {
        // Silently dropping a password would leave the caller believing it set.
        let message = "cannot be changed through Update: an ADMIN sets it through iklim's update, the user through change-password";
        errors.push(refuse("password", "not_updatable", message));
    }
    let mut changes = UserChanges {
        locale: dto.language.parse_patch(errors, "language", Locale::parse),
        ..UserChanges::default()
    };
    changes.tags = whole(errors, "tags", dto.tags).map(|list| {
        parse_items(errors, "tags", list, Tag::parse)
            .into_iter()
            .collect()
    });
    changes.phone = dto
        .phone_number
        .parse_patch(errors, "phoneNumber", PhoneNumber::parse);
    changes.title = dto
        .salutation
        .parse_patch(errors, "salutation", Title::parse);
    changes.first_name = dto
        .first_name
        .parse_patch(errors, "firstName", PersonName::parse);
    changes.last_name = dto
        .last_name
        .parse_patch(errors, "lastName", PersonName::parse);
    changes.platform = dto
        .platform
        .parse_patch(errors, "platform", Platform::parse);
    changes.account.profile_picture_url =
        dto.profile_image_url
            .parse_patch(errors, "profileImageUrl", PictureUrl::parse);
    changes.account.profile_picture_id =
        dto.profile_image_id
            .parse_patch(errors, "profileImageId", PictureId::parse);
    changes.mfa_type = match dto.user_mfa_type.patch(errors, "userMfaType") {
        Patch::Set(number) => errors
            .check("userMfaType", code(number))
            .map_or(Patch::Leave, Patch::Set),
        Patch::Clear => Patch::Clear,
        Patch::Leave => Patch::Leave,
    };
    changes.mfa_enabled = dto.mfa_enabled.not_null(errors, "mfaEnabled");
    changes.allowed_login_types =
        whole(errors, "allowedLogInType", dto.allowed_log_in_type).map(|list| codes(errors, list));
    changes.memberships =
        whole(errors, "memberships", dto.memberships).map(|list| memberships(errors, list));
    changes.add_memberships = joined(errors, dto.organization_id).into_iter().collect();
    changes.status = (dto.active.not_null(errors, "active")).map(|active| {
        if active {
            Status::Active
        } else {
            Status::Inactive
        }
    });
    changes.account.email_verified = dto.is_varified.not_null(errors, "isVarified");
    let project = dto.project_key.optional(errors, "projectKey");
    let Some(id) = id else {
        return Err(std::mem::take(errors).into());
    };
    let command = UpdateUser {
        errors: std::mem::take(errors),
        ..UpdateUser::new(id, changes)
    };
    Ok(Scoped { project, command })
}

/// `GET /idp/v1/Iam/GetUser?Id=&ProjectKey=` as the user to read.
pub fn get_user_query(
    pairs: Result<Vec<(String, String)>, RequestError>,
) -> Result<Scoped<UserId>, Failure> {
    let mut id = In::Absent;
    let mut project = None;
    for (name, value) in pairs? {
        if name.eq_ignore_ascii_case("id") {
            id = In::Value(value);
        } else if name.eq_ignore_ascii_case("projectKey") {
            project = Some(value);
        }
    }
    let errors = &mut ValidationErrors::new();
    match id.parse_required(errors, "Id", UserId::parse) {
        Some(command) => Ok(Scoped { project, command }),
        None => Err(std::mem::take(errors).into()),
    }
}

/// Users per page: at most 100; 10 when none is asked for.
const MAX_PAGE_SIZE: u32 = 100;
const DEFAULT_PAGE_SIZE: u64 = 10;

fn sort_field(property: &str) -> Result<SortField, ValueError> {
    match property.trim().to_ascii_lowercase().as_str() {
        "createddate" => Ok(SortField::CreatedAt),
        "lastupdateddate" => Ok(SortField::UpdatedAt),
        "username" => Ok(SortField::Username),
        "email" => Ok(SortField::Email),
        _ => Err(ValueError::new(
            "unknown_value",
            "must be one of: createdDate, lastUpdatedDate, userName, email",
        )),
    }
}

/// `true` is ACTIVE, `false` INACTIVE, or status names (one or an array).
fn statuses(value: &Value) -> Result<BTreeSet<Status>, ValueError> {
    let wrong = || ValueError::new("invalid_type", "must be true, false or status names");
    match value {
        Value::Bool(true) => Ok(BTreeSet::from([Status::Active])),
        Value::Bool(false) => Ok(BTreeSet::from([Status::Inactive])),
        Value::String(text) if text.trim().is_empty() => Ok(BTreeSet::new()),
        Value::String(text) => Status::parse(text).map(|status| BTreeSet::from([status])),
        Value::Array(names) => names
            .iter()
            .map(|name| name.as_str().ok_or_else(wrong).and_then(Status::parse))
            .collect(),
        _ => Err(wrong()),
    }
}

/// A search text: blank searches nothing.
fn search(errors: &mut ValidationErrors, path: &str, text: In<String>) -> Option<KeyMatch> {
    let text = text.blank_as_null().optional(errors, path)?;
    Some(KeyMatch::prefix(text.trim()))
}

fn filter(errors: &mut ValidationErrors, input: FilterInput) -> UserFilter {
    let mut filter = UserFilter {
        email: search(errors, "filter.email", input.email),
        any_name: search(errors, "filter.name", input.name),
        ..UserFilter::default()
    };
    let ids = texts_in(errors, "filter.userIds", input.user_ids, UserId::parse);
    filter.ids = ids.into_iter().collect();
    if let Some(value) = input.status.optional(errors, "filter.status") {
        filter.statuses = errors
            .check("filter.status", statuses(&value))
            .unwrap_or_default();
    }
    // `organization` is another name for `organizationId`.
    let mut organization = |path, text: In<String>| {
        text.blank_as_null()
            .parse_optional(errors, path, OrganizationId::parse)
    };
    let by_id = organization("filter.organizationId", input.organization_id);
    let by_name = organization("filter.organization", input.organization);
    filter.organization = match (by_id, by_name) {
        (Some(a), Some(b)) if a != b => {
            errors.push(refuse(
                "filter.organization",
                "conflict",
                "names another organization than filter.organizationId",
            ));
            None
        }
        (a, b) => a.or(b),
    };
    filter
}

/// `POST /idp/v1/Iam/GetUsers` as the domain's command.
pub fn list_command(body: Map<String, Value>) -> Result<Scoped<ListUsers>, Failure> {
    let dto: GetUsersRequest = shape(body)?;
    let errors = &mut ValidationErrors::new();
    let page = dto.page.optional(errors, "page").unwrap_or(1);
    let page_size = (dto.page_size.optional(errors, "pageSize")).unwrap_or(DEFAULT_PAGE_SIZE);
    let offset = page.checked_sub(1).and_then(|p| p.checked_mul(page_size));
    if offset.is_none() {
        let too_large = if page == 0 {
            "must be 1 or more (pages count from 1)"
        } else {
            "is too large"
        };
        errors.push(refuse("page", "out_of_range", too_large));
    }
    let limit = u32::try_from(page_size)
        .ok()
        .filter(|size| (1..=MAX_PAGE_SIZE).contains(size));
    if limit.is_none() {
        let message = format!("must be 1 to {MAX_PAGE_SIZE}");
        errors.push(refuse("pageSize", "out_of_range", &message));
    }
    let mut sort = Sort::default();
    if let Some(input) = dto.sort.optional(errors, "sort") {
        let property = input.property.blank_as_null();
        if let Some(field) = property.parse_optional(errors, "sort.property", sort_field) {
            sort.field = field;
        }
        if input.is_descending.not_null(errors, "sort.isDescending") == Some(true) {
            sort.direction = SortDirection::Descending;
        }
    }
    let filter = (dto.filter.optional(errors, "filter"))
        .map(|input| filter(errors, input))
        .unwrap_or_default();
    let project = dto.project_key.optional(errors, "projectKey");
    let query = UserQuery {
        filter,
        sort,
        page: PageRequest::Offset {
            offset: offset.unwrap_or_default(),
            limit: limit.unwrap_or_default(),
        },
        with_total: true,
    };
    let command = ListUsers {
        errors: std::mem::take(errors),
        ..ListUsers::new(query)
    };
    Ok(Scoped { project, command })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The fields `errors` names, in order.
    fn named(errors: &ValidationErrors) -> Vec<String> {
        errors
            .errors()
            .iter()
            .map(|e| e.field.to_string())
            .collect()
    }

    fn update(body: Value) -> Result<Scoped<UpdateUser>, Failure> {
        update_command(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn memberships_keep_their_indexes_for_the_domain() {
        let org = |id: &str| {
            In::Value(MembershipInput {
                organization_id: In::Value(id.to_owned()),
                ..MembershipInput::default()
            })
        };
        let mut errors = ValidationErrors::new();
        let read = memberships(&mut errors, vec![org("a"), In::Null, org("a")]);
        assert_eq!(read.len(), 1, "nothing after the bad item");
        assert_eq!(named(&errors), ["memberships[1]"]);
    }

    #[test]
    fn update_refuses_a_password_and_null_flags_and_ignores_identifiers() {
        let body = json!({"itemId": "nope", "password": "An0ther!Str0ng#Secret", "active": null});
        let Err(Failure::Domain(userhub_domain::DomainError::Validation(errors))) = update(body)
        else {
            panic!("not refused");
        };
        assert_eq!(named(&errors), ["itemId", "password", "active"]);
        assert_eq!(errors.errors()[1].code, "not_updatable");
        let scoped = update(json!({
            "itemId": "8e94a551-5b86-40ba-ae55-b019dee5cc25", "tags": [1],
            "mfaEnabled": true, "userMfaType": null, "organizationId": "org_2",
            "email": "ignored@example.com", "userName": "ignored", "memberships": null
        }))
        .unwrap();
        assert_eq!(named(&scoped.command.errors), ["tags[0]"]);
        let changes = scoped.command.changes;
        assert_eq!(changes.mfa_enabled, Some(true));
        assert_eq!(changes.mfa_type, Patch::Clear);
        assert_eq!(changes.memberships, Some(Vec::new()));
        assert_eq!(changes.add_memberships.len(), 1);
        assert!(changes.email.is_none() && changes.username.is_none());
    }

    #[test]
    fn get_user_reads_id_and_project_key_in_any_case() {
        let id = "8e94a551-5b86-40ba-ae55-b019dee5cc25";
        let pairs = [("id", id), ("projectKey", "acme")].map(|(n, v)| (n.into(), v.into()));
        let scoped = get_user_query(Ok(pairs.into())).unwrap();
        assert_eq!(scoped.command.to_string(), id);
        assert_eq!(scoped.project.as_deref(), Some("acme"));
    }
}
