//! Blocks' routes. Each handler parses its request, checks its
//! `projectKey`, calls one shared operation and renders the result (or
//! error) in Blocks' shape.

use std::collections::BTreeMap;

use actix_web::{get, post, web};

use super::dto::{
    CreateCommand, CreateUserRequest, GetUserCommand, GetUserQuery, GetUserResponse,
    GetUsersRequest, GetUsersResponse, ListCommand, UpdateCommand, UpdateUserRequest, UserResponse,
};
use super::{BlocksCaller, Missing, blocks_error, check_project};
use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::users::{self, UpdateUser};

type Answer<T> = Result<web::Json<T>, ApiError>;

/// Create a user.
///
/// Creates a user in the caller's project and answers it. `email`,
/// `userName` and `password` are required; the password must meet the
/// project's password policy. `organizationId` adds a membership (without
/// roles or permissions) unless `memberships` lists that organization.
/// `mailPurpose`, `userPassType`, `userCreationType` and `varifiedType` are
/// accepted and ignored. Needs POWER_USER or ADMIN. Every invalid field is
/// listed at once.
#[utoipa::path(
    tag = "iam",
    request_body = CreateUserRequest,
    responses(
        (status = 200, description = "The new user", body = UserResponse),
        (status = 400, description = "Malformed JSON, or invalid fields (all listed)", body = ErrorBody),
        (status = 401, description = "No valid `x-blocks-key`", body = ErrorBody),
        (status = 403, description = "The caller may not create users", body = ErrorBody),
        (status = 404, description = "`projectKey` does not name the caller's project", body = ErrorBody),
        (status = 409, description = "The `userName` or `email` is taken in the project", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 503, description = "Busy hashing passwords: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("blocksKey" = []))
)]
#[post("/idp/v1/Iam/Create")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: BlocksCaller,
    body: web::Json<CreateUserRequest>,
) -> Answer<UserResponse> {
    let dto = body.into_inner();
    let command = users::parse(&state, &caller.actor, move |policy| {
        CreateCommand::try_from((dto, policy))
    })
    .await
    .map_err(blocks_error)?;
    check_project(
        &state,
        &caller,
        command.project_key.as_deref(),
        Missing::Project,
    )
    .await?;
    let user = users::create(&state, caller.actor, command.user)
        .await
        .map_err(blocks_error)?;
    Ok(web::Json(UserResponse::from_user(&user)))
}

/// Update a user.
///
/// Changes the fields given of the user `itemId`; absent fields stay as they
/// are, `null` removes an optional value or empties a list. `email` and
/// `userName` are not changed here: they are ignored if sent. `password` is
/// not changed here either: sending one is refused (400). `active: true`
/// makes the user ACTIVE, `false` INACTIVE. `mfaEnabled` and `userMfaType`
/// change independently; `organizationId` adds a membership if the user has
/// none in that organization. Profile fields may be changed by the user
/// themselves, a POWER_USER or an ADMIN; `active`, `isVarified`,
/// `memberships`, `organizationId` and `allowedLogInType` by an ADMIN only.
/// A refused change answers 403 naming every refused field, and changes
/// nothing.
#[utoipa::path(
    tag = "iam",
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user after the change", body = UserResponse),
        (status = 400, description = "Malformed JSON, invalid fields (all listed), or a `password`", body = ErrorBody),
        (status = 401, description = "No valid `x-blocks-key`", body = ErrorBody),
        (status = 403, description = "Fields the caller may not change (all listed); nothing changed", body = ErrorBody),
        (status = 404, description = "No such user in the caller's project (or `projectKey` names another project)", body = ErrorBody),
        (status = 409, description = "The user kept changing concurrently: retry", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("blocksKey" = []))
)]
#[post("/idp/v1/Iam/Update")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: BlocksCaller,
    body: web::Json<UpdateUserRequest>,
) -> Answer<UserResponse> {
    let command = UpdateCommand::try_from(body.into_inner()).map_err(ApiError::from_validation)?;
    check_project(
        &state,
        &caller,
        command.project_key.as_deref(),
        Missing::User,
    )
    .await?;
    let update = UpdateUser {
        id: command.id,
        changes: command.changes,
        password: None,
        expected_version: None,
        comment: None,
    };
    let user = users::update(&state, caller.actor, update)
        .await
        .map_err(blocks_error)?;
    Ok(web::Json(UserResponse::from_user(&user)))
}

/// Read a user.
///
/// The user `Id` of the caller's project, in the `{"data": ..., "errors":
/// {}}` envelope. A user of another project, a deleted user and a
/// `ProjectKey` naming another project all answer 404 exactly as a user that
/// does not exist. Errors answer with the error body. A user may read
/// themselves; reading others needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    tag = "iam",
    params(
        ("Id" = String, Query, description = "The user's `itemId`"),
        ("ProjectKey" = Option<String>, Query, description = "The caller's project's name or id, or the `x-blocks-key` value"),
    ),
    responses(
        (status = 200, description = "The user, in the envelope", body = GetUserResponse),
        (status = 400, description = "`Id` is missing or not a UUID", body = ErrorBody),
        (status = 401, description = "No valid `x-blocks-key`", body = ErrorBody),
        (status = 403, description = "The caller may not read other users", body = ErrorBody),
        (status = 404, description = "No such user in the caller's project", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("blocksKey" = []))
)]
#[get("/idp/v1/Iam/GetUser")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: BlocksCaller,
    query: web::Query<GetUserQuery>,
) -> Answer<GetUserResponse> {
    let command =
        GetUserCommand::try_from(query.into_inner()).map_err(ApiError::from_validation)?;
    check_project(
        &state,
        &caller,
        command.project_key.as_deref(),
        Missing::User,
    )
    .await?;
    let user = users::get(&state, caller.actor, command.id)
        .await
        .map_err(blocks_error)?;
    Ok(web::Json(GetUserResponse {
        data: UserResponse::from_user(&user),
        errors: BTreeMap::new(),
    }))
}

/// List users, a page at a time.
///
/// Pages count from 1 (`pageSize` 1 to 100, default 10). `sort.property` is
/// one of `createdDate` (default), `lastUpdatedDate`, `userName`, `email`;
/// ties are broken by id. Filters: `email` and `name` (first name, last name
/// or username) match case-insensitively from the start; `userIds`;
/// `status` (`true` = ACTIVE, `false` = INACTIVE, or status names);
/// `organizationId` (or `organization`). `totalCount` counts every matching
/// user. Deleted users are never listed. Needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    tag = "iam",
    request_body = GetUsersRequest,
    responses(
        (status = 200, description = "One page of users", body = GetUsersResponse),
        (status = 400, description = "Malformed JSON, or invalid fields (all listed)", body = ErrorBody),
        (status = 401, description = "No valid `x-blocks-key`", body = ErrorBody),
        (status = 403, description = "The caller may not list users", body = ErrorBody),
        (status = 404, description = "`projectKey` does not name the caller's project", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("blocksKey" = []))
)]
#[post("/idp/v1/Iam/GetUsers")]
pub async fn get_users(
    state: web::Data<AppState>,
    caller: BlocksCaller,
    body: web::Json<GetUsersRequest>,
) -> Answer<GetUsersResponse> {
    let command = ListCommand::try_from(body.into_inner()).map_err(ApiError::from_validation)?;
    check_project(
        &state,
        &caller,
        command.project_key.as_deref(),
        Missing::Project,
    )
    .await?;
    let page = users::list(&state, caller.actor, command.query)
        .await
        .map_err(blocks_error)?;
    Ok(web::Json(GetUsersResponse {
        data: page.users.iter().map(UserResponse::from_user).collect(),
        total_count: page.total.unwrap_or_default(),
        errors: BTreeMap::new(),
    }))
}
