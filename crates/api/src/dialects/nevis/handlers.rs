//! Nevis's routes. Each handler parses its request (with the tenant's
//! declared properties at hand), calls one domain operation and renders the
//! result, or the error, in Nevis's shape.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::de::DeserializeOwned;
use serde_json::Value;
use userhub_domain::repository::AttributeRepository;
use userhub_domain::service;
use userhub_domain::types::UserId;

use super::dto::{
    CreateCommand, CreateUserRequest, ListQuery, ListResponse, Pagination, UpdateCommand,
    UpdateUserRequest, UserResponse,
};
use super::error::{NevisError, NevisErrorBody};
use super::extract::{NevisBody, NevisCaller};
use crate::app::AppState;
use crate::blocking::{db, now};
use crate::users;

/// Where Nevis's users live.
pub const USERS_PATH: &str = "/nevis/api/v1/users";

type Answer<T> = Result<web::Json<T>, NevisError>;

/// The body as a request shape: 422 if it is not a JSON object.
fn shape<T: DeserializeOwned>(body: Result<Value, NevisError>) -> Result<T, NevisError> {
    let body = body?;
    if !body.is_object() {
        return Err(NevisError::malformed(
            "errors.malformedJson",
            "the request body must be a JSON object",
        ));
    }
    serde_json::from_value(body).map_err(|e| {
        NevisError::malformed(
            "errors.malformedJson",
            format!("the request body does not have the expected shape: {e}"),
        )
    })
}

/// The path's user id. One that is not a UUID names no user, so it is
/// answered exactly as an unknown user.
fn path_user(path: &str) -> Result<UserId, NevisError> {
    UserId::parse(path).map_err(|_| NevisError::no_record())
}

/// `scheme://host` as the client addressed the request (honouring
/// `Forwarded` / `X-Forwarded-*` set by a proxy in front).
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Create a user.
///
/// Only `loginId` (an e-mail address) is required; it becomes both the
/// user's username and e-mail. `languageCode` defaults to `en`, `userId` to a
/// generated UUID. Every `properties` name must be declared for the tenant
/// (`userhub attribute define`). `modificationComment` is recorded in the
/// user's history. Answers 201 with `Location: <base>/nevis/api/v1/users/{userId}`
/// and the user. Needs POWER_USER or ADMIN. Every invalid field is listed at
/// once (422).
#[utoipa::path(
    tag = "nevis-users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse,
            headers(("Location" = String, description = "The new user's URL: `<base>/nevis/api/v1/users/{userId}`"))),
        (status = 401, description = "No valid bearer credential (`errors.unauthorized`)", body = NevisErrorBody),
        (status = 403, description = "The caller may not create users (`errors.forbidden`)", body = NevisErrorBody),
        (status = 409, description = "`loginId` or `userId` is taken (`errors.alreadyExists`)", body = NevisErrorBody),
        (status = 413, description = "The body is larger than the limit (`errors.payloadTooLarge`)", body = NevisErrorBody),
        (status = 415, description = "The body is not application/json (`errors.unsupportedMediaType`)", body = NevisErrorBody),
        (status = 422, description = "Invalid content: malformed JSON, or invalid fields (all named)", body = NevisErrorBody),
        (status = 500, description = "Unexpected error, logged under the request id (`errors.internal`)", body = NevisErrorBody),
        (status = 503, description = "The database is unavailable: retry after `Retry-After` (`errors.unavailable`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/nevis/api/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    NevisCaller(actor): NevisCaller,
    NevisBody(body): NevisBody,
) -> Result<HttpResponse, NevisError> {
    let dto: CreateUserRequest = shape(body)?;
    let at = now();
    let user = db(&state.store, move |store| {
        let declared = store.declared_attributes(actor.tenant)?;
        let command = CreateCommand::try_from((dto, &declared))?;
        service::create_user(store, &actor, command.new, command.comment, at)
    })
    .await?;
    let mut response = HttpResponse::Created();
    let location = format!("{}{USERS_PATH}/{}", base_url(&req), user.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.insert_header((header::LOCATION, value));
    }
    Ok(response.json(UserResponse::from_user(&user)))
}

/// List users.
///
/// Filters (each exact; all must hold): `loginId`, `email`,
/// `name.firstName`, `name.lastName` (case-insensitive), `userId`, and any
/// property the tenant declared, as `<name>=value` or
/// `properties.<name>=value` (exact value). Another name is refused (422).
/// Oldest first, `limit` users a page (default and maximum 1000); pass
/// `_pagination.continuationToken` back as `continuationToken` for the next
/// page, until it comes back empty. Deleted users are never listed. Needs
/// ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    tag = "nevis-users",
    params(
        ("loginId" = Option<String>, Query, description = "Login id, case-insensitive"),
        ("email" = Option<String>, Query, description = "E-mail address, case-insensitive"),
        ("name.firstName" = Option<String>, Query, description = "First name, case-insensitive"),
        ("name.lastName" = Option<String>, Query, description = "Last name, case-insensitive"),
        ("userId" = Option<String>, Query, description = "User id"),
        ("limit" = Option<u32>, Query, description = "Users per page, 1 to 1000 (default 1000)"),
        ("continuationToken" = Option<String>, Query, description = "Where the previous page ended; empty or left out for the first page"),
    ),
    responses(
        (status = 200, description = "One page of users", body = ListResponse),
        (status = 401, description = "No valid bearer credential (`errors.unauthorized`)", body = NevisErrorBody),
        (status = 403, description = "The caller may not list users (`errors.forbidden`)", body = NevisErrorBody),
        (status = 422, description = "An unknown filter, a bad `limit` or `continuationToken` (each named)", body = NevisErrorBody),
        (status = 500, description = "Unexpected error, logged under the request id (`errors.internal`)", body = NevisErrorBody),
        (status = 503, description = "The database is unavailable: retry after `Retry-After` (`errors.unavailable`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/nevis/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    NevisCaller(actor): NevisCaller,
) -> Answer<ListResponse> {
    let params = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| {
            NevisError::malformed(
                "errors.malformedQuery",
                format!("the query string is not valid: {e}"),
            )
        })?
        .into_inner();
    let (page, limit) = db(&state.store, move |store| {
        let declared = store.declared_attributes(actor.tenant)?;
        let list = ListQuery::try_from((params, &declared))?;
        let page = service::list_users(store, &actor, list.query)?;
        Ok((page, list.limit))
    })
    .await?;
    Ok(web::Json(ListResponse {
        items: page.users.iter().map(UserResponse::from_user).collect(),
        pagination: Pagination {
            continuation_token: page
                .next
                .map(|cursor| cursor.as_token().to_owned())
                .unwrap_or_default(),
            limit,
        },
    }))
}

/// Get a user.
///
/// The user `userId` of the caller's tenant. A user may read themselves;
/// reading others needs ADMIN, POWER_USER or API_USER. A deleted user, a
/// user of another tenant and an id that is not a UUID all answer 404
/// `errors.noRecord`, exactly as a user that never existed.
#[utoipa::path(
    tag = "nevis-users",
    params(("userId" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 401, description = "No valid bearer credential (`errors.unauthorized`)", body = NevisErrorBody),
        (status = 403, description = "The caller may not read this user (`errors.forbidden`)", body = NevisErrorBody),
        (status = 404, description = "No such user (`errors.noRecord`)", body = NevisErrorBody,
            example = json!({"errors": [{"code": "errors.noRecord", "message": "no user with this userId exists"}]})),
        (status = 500, description = "Unexpected error, logged under the request id (`errors.internal`)", body = NevisErrorBody),
        (status = 503, description = "The database is unavailable: retry after `Retry-After` (`errors.unavailable`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/nevis/api/v1/users/{userId}")]
pub async fn get_user(
    state: web::Data<AppState>,
    NevisCaller(actor): NevisCaller,
    path: web::Path<String>,
) -> Answer<UserResponse> {
    let id = path_user(&path)?;
    let user = users::get(&state, actor, id).await?;
    Ok(web::Json(UserResponse::from_user(&user)))
}

/// Update a user.
///
/// Only the fields given change; `null` (or `""`) removes a value; in
/// `properties`, `""` removes a property. `name`, `address` and `contacts`
/// change part by part. A new `loginId` changes the username and the e-mail.
/// With `version`, the change applies only if the user is still at that
/// version: otherwise 409 `errors.versionConflict` and nothing changes.
/// `modificationComment` is recorded in the change's history entry. Answers
/// the user with its new `version` and `lastModified`. Profile fields may be
/// changed by the user themselves, a POWER_USER or an ADMIN; a refused change
/// answers 403 naming every refused field and changes nothing.
#[utoipa::path(
    tag = "nevis-users",
    params(("userId" = String, Path, description = "The user's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user after the change", body = UserResponse),
        (status = 401, description = "No valid bearer credential (`errors.unauthorized`)", body = NevisErrorBody),
        (status = 403, description = "Fields the caller may not change, each named (`errors.forbidden`); nothing changed", body = NevisErrorBody),
        (status = 404, description = "No such user (`errors.noRecord`)", body = NevisErrorBody),
        (status = 409, description = "A stale `version` (`errors.versionConflict`) or a taken `loginId` (`errors.alreadyExists`); nothing changed", body = NevisErrorBody),
        (status = 413, description = "The body is larger than the limit (`errors.payloadTooLarge`)", body = NevisErrorBody),
        (status = 415, description = "The body is not application/json (`errors.unsupportedMediaType`)", body = NevisErrorBody),
        (status = 422, description = "Invalid content: malformed JSON, or invalid fields (all named)", body = NevisErrorBody),
        (status = 500, description = "Unexpected error, logged under the request id (`errors.internal`)", body = NevisErrorBody),
        (status = 503, description = "The database is unavailable: retry after `Retry-After` (`errors.unavailable`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/nevis/api/v1/users/{userId}")]
pub async fn update_user(
    state: web::Data<AppState>,
    NevisCaller(actor): NevisCaller,
    path: web::Path<String>,
    NevisBody(body): NevisBody,
) -> Answer<UserResponse> {
    let dto: UpdateUserRequest = shape(body)?;
    let id = path_user(&path)?;
    let at = now();
    let user = db(&state.store, move |store| {
        let declared = store.declared_attributes(actor.tenant)?;
        let command = UpdateCommand::try_from((dto, id, &declared))?;
        service::update_user(store, &actor, &command.into_request(id), at)
    })
    .await?;
    Ok(web::Json(UserResponse::from_user(&user)))
}

/// Delete a user.
///
/// The user is marked deleted: from then on every route answers it 404
/// `errors.noRecord`, as a user that never existed (its login id stays
/// taken, and its history stays). ADMIN only; the last active ADMIN of a
/// tenant cannot be deleted.
#[utoipa::path(
    tag = "nevis-users",
    params(("userId" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid bearer credential (`errors.unauthorized`)", body = NevisErrorBody),
        (status = 403, description = "The caller may not delete users, or this is the last active ADMIN (`errors.forbidden`)", body = NevisErrorBody),
        (status = 404, description = "No such user (`errors.noRecord`)", body = NevisErrorBody,
            example = json!({"errors": [{"code": "errors.noRecord", "message": "no user with this userId exists"}]})),
        (status = 409, description = "The user changed while being deleted (`errors.versionConflict`)", body = NevisErrorBody),
        (status = 500, description = "Unexpected error, logged under the request id (`errors.internal`)", body = NevisErrorBody),
        (status = 503, description = "The database is unavailable: retry after `Retry-After` (`errors.unavailable`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/nevis/api/v1/users/{userId}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    NevisCaller(actor): NevisCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, NevisError> {
    let id = path_user(&path)?;
    let at = now();
    db(&state.store, move |store| {
        service::delete_user(store, &actor, id, None, None, at)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
