//! Nevis's routes. Each handler parses its request, calls one domain
//! operation through the pipeline and renders the result in Nevis's shape;
//! failures are rendered by [`Nevis`].

use actix_web::http::StatusCode;
use utoipa::OpenApi;

use crate::toolkit::Mounted;
use crate::toolkit::openapi::{BearerAuth, ErrorResponses};
use actix_web::web::Json;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use userhub_domain::authz::Actor;
use userhub_domain::ports::Ctx;
use userhub_domain::service;
use userhub_domain::user::User;
use userhub_storage::Store;

use super::dto::{
    CreateUserRequest, ListResponse, Pagination, UpdateUserRequest, UserResponse, create_command,
    list_command, unknown_filters, update_command,
};
use super::{Nevis, NevisErrorBody};
use crate::toolkit::render::{created_at, no_content};
use crate::toolkit::tokens::{self, TokenScope};
use crate::toolkit::{Body, Call, Reply, base_url, delete_path_user, path_user, query_pairs};

/// Where Nevis's users live.
const USERS: &str = "/nevis/api/v1/users";

/// What the list's continuation tokens are sealed for.
const LIST_TOKENS: &str = "nevis.users";

/// A user in Nevis's shape.
fn user_json(user: User) -> Json<UserResponse> {
    Json(UserResponse::from_user(&user))
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
        (status = 403, description = "The caller may not create users (`errors.forbidden`)", body = NevisErrorBody),
        (status = 409, description = "`loginId` or `userId` is taken (`errors.alreadyExists`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/nevis/api/v1/users")]
pub async fn create_user(
    call: Call<Nevis>,
    req: HttpRequest,
    body: Body,
) -> Reply<Nevis, HttpResponse> {
    let base = base_url(&req);
    call.run(body.parse(create_command), service::create_user, |user| {
        created_at(&format!("{base}{USERS}/{}", user.id)).json(UserResponse::from_user(&user))
    })
    .await
}

/// List users.
///
/// Filters (each exact; all must hold): `loginId`, `email`,
/// `name.firstName`, `name.lastName` (case-insensitive), `userId`, and any
/// property the tenant declared, as `<name>=value` or
/// `properties.<name>=value` (exact value). Another name is refused (422).
/// Oldest first, `limit` users a page (default and maximum 1000); pass
/// `_pagination.continuationToken` back as `continuationToken` for the next
/// page, until it comes back empty. A token is signed: one that was altered,
/// made up, or handed out to another tenant or for other filters answers
/// 422 `errors.invalidCursor` naming `continuationToken`. Deleted users are
/// never listed. Needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    tag = "nevis-users",
    params(
        ("loginId" = Option<String>, Query, min_length = 1, description = "Login id, case-insensitive"),
        ("email" = Option<String>, Query, min_length = 1, description = "E-mail address, case-insensitive"),
        ("name.firstName" = Option<String>, Query, min_length = 1, description = "First name, case-insensitive"),
        ("name.lastName" = Option<String>, Query, min_length = 1, description = "Last name, case-insensitive"),
        ("userId" = Option<String>, Query, format = Uuid, description = "User id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Users per page, 1 to 1000 (default 1000)"),
        ("continuationToken" = Option<String>, Query, description = "Where the previous page ended; empty or left out for the first page"),
    ),
    responses(
        (status = 200, description = "One page of users", body = ListResponse),
        (status = 403, description = "The caller may not list users (`errors.forbidden`)", body = NevisErrorBody),
        (status = 422, description = "An unknown filter, a bad `limit` or `continuationToken` (each named)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/nevis/api/v1/users")]
pub async fn list_users(call: Call<Nevis>, req: HttpRequest) -> Reply<Nevis, Json<ListResponse>> {
    let params = query_pairs(&req);
    let key = call.pipeline().token_key.clone();
    let listed = move |ctx: &Ctx<'_, Store>, actor: &Actor| {
        let params = params?;
        // The token is bound to the tenant and the filters; the page
        // size may change from page to page.
        let scope = TokenScope::new(
            LIST_TOKENS,
            actor.tenant,
            &params,
            &["continuationToken", "limit"],
        );
        let (mut command, limit) = list_command(params);
        tokens::open_page(&key, &scope, &mut command);
        let page = service::list_users(ctx, actor, command).map_err(unknown_filters)?;
        let next = tokens::seal_next(&key, &scope, page.next.as_ref());
        Ok((page, limit, next))
    };
    call.call(listed, |(page, limit, next)| {
        Json(ListResponse {
            items: page.users.iter().map(UserResponse::from_user).collect(),
            pagination: Pagination {
                continuation_token: next,
                limit,
            },
        })
    })
    .await
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
        (status = 403, description = "The caller may not read this user (`errors.forbidden`)", body = NevisErrorBody),
        (status = 404, description = "No such user (`errors.noRecord`)", body = NevisErrorBody,
            example = json!({"errors": [{"code": "errors.noRecord", "message": "no user with this userId exists"}]})),
    ),
    security(("bearer" = []))
)]
#[get("/nevis/api/v1/users/{userId}")]
pub async fn get_user(
    call: Call<Nevis>,
    path: web::Path<String>,
) -> Reply<Nevis, Json<UserResponse>> {
    call.run(path_user(&path), service::get_user, user_json)
        .await
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
        (status = 403, description = "Fields the caller may not change, each named (`errors.forbidden`); nothing changed", body = NevisErrorBody),
        (status = 404, description = "No such user (`errors.noRecord`)", body = NevisErrorBody),
        (status = 409, description = "A stale `version` (`errors.versionConflict`) or a taken `loginId` (`errors.alreadyExists`); nothing changed", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/nevis/api/v1/users/{userId}")]
pub async fn update_user(
    call: Call<Nevis>,
    path: web::Path<String>,
    body: Body,
) -> Reply<Nevis, Json<UserResponse>> {
    let command = body.parse(|body| update_command(path_user(&path), body));
    call.run(command, service::update_user, user_json).await
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
        (status = 403, description = "The caller may not delete users, or this is the last active ADMIN (`errors.forbidden`)", body = NevisErrorBody),
        (status = 404, description = "No such user (`errors.noRecord`)", body = NevisErrorBody,
            example = json!({"errors": [{"code": "errors.noRecord", "message": "no user with this userId exists"}]})),
        (status = 409, description = "The user changed while being deleted (`errors.versionConflict`)", body = NevisErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/nevis/api/v1/users/{userId}")]
pub async fn delete_user(call: Call<Nevis>, path: web::Path<String>) -> Reply<Nevis, HttpResponse> {
    call.run(
        delete_path_user(&path, None),
        service::delete_user,
        no_content,
    )
    .await
}

/// The dialect as the application mounts it.
pub const MOUNTED: Mounted = Mounted::of::<Nevis>(super::PREFIXES, configure, openapi);

/// Mount Nevis's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_user)
        .service(list_users)
        .service(get_user)
        .service(update_user)
        .service(delete_user);
}

const ERRORS: ErrorResponses = ErrorResponses {
    schema: "NevisErrorBody",
    content_type: "application/json",
    invalid: StatusCode::UNPROCESSABLE_ENTITY,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — Nevis Identity Cloud dialect",
        description = "Nevis Identity Cloud's user API, served by userhub under `/nevis/api/v1/users`. Authenticate with `Authorization: Bearer <API key>` (a user's access token from a login works too). Every error answers `{\"errors\": [{\"code\", \"message\", \"field\"?}]}` (`NevisErrorBody`).",
    ),
    paths(
        create_user,
        list_users,
        get_user,
        update_user,
        delete_user,
    ),
    components(schemas(NevisErrorBody, super::NevisErrorItem)),
    tags((name = "nevis-users", description = "Create, read, list, change and delete users")),
    modifiers(&BearerAuth, &ERRORS),
)]
struct NevisApi;

/// Nevis's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    NevisApi::openapi()
}
