//! cl2c's routes. Each handler parses its request, calls one shared
//! operation and renders the result in cl2c's shape, or the error as an
//! RFC 7807 problem.

use actix_web::{HttpRequest, get, post, put, web};
use userhub_domain::query::{PageRequest, Sort, UserFilter, UserQuery};
use userhub_domain::service;
use userhub_domain::types::UserId;
use userhub_domain::user::User;

use super::auth::{LoggedInUser, TenantKey};
use super::dto::{CreateUserRequest, UpdateOwnUser, UpdateUserRequest, UserResponse};
use super::problem::{Challenge, Cl2cError, Problem};
use crate::app::AppState;
use crate::blocking::{db, now};
use crate::error::{ApiError, Failure};
use crate::users::{self, CreateUser, UpdateUser};

type Answer<T> = Result<web::Json<T>, Cl2cError>;

/// A JSON body, or why actix could not read it (rendered as a problem).
type Body<T> = Result<web::Json<T>, actix_web::Error>;

/// Users fetched per storage round trip while building the full list.
const LIST_BATCH: u32 = 500;

fn read<T>(body: Body<T>, instance: &str) -> Result<T, Cl2cError> {
    body.map(web::Json::into_inner)
        .map_err(|e| Cl2cError::from_extraction(&e, instance))
}

fn render(user: &User) -> web::Json<UserResponse> {
    web::Json(UserResponse::from_user(user, now()))
}

/// Create a user.
///
/// Creates a user in the tenant of the `tenant` and `X-API-Key` headers and
/// answers it. `firstName`, `lastName`, `email`, `userName` and
/// `phoneNumber` are required; `userName` and `email` are unique in the
/// tenant (case-insensitively); `phoneNumber` is E.164 and must be a valid
/// number for its country calling code. The user is ACTIVE with the
/// STANDARD_USER role and has no password. Every invalid field is listed in
/// `errors` at once. The key needs the POWER_USER or ADMIN role.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 200, description = "The new user", body = UserResponse),
        (status = 400, description = "Malformed JSON, or invalid fields (all listed in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing headers, or a `tenant` / `X-API-Key` pair that does not name a tenant and one of its keys", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key may not create users", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `userName` or `email` is taken in the tenant (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (logged under the X-Request-Id)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("tenant" = [], "apiKey" = []))
)]
#[post("/v1/cl2c/user")]
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    TenantKey(actor): TenantKey,
    body: Body<CreateUserRequest>,
) -> Answer<UserResponse> {
    let instance = req.path();
    let command = CreateUser::try_from(read(body, instance)?)
        .map_err(|e| Cl2cError::from_failure(e.into(), instance, Challenge::ApiKey))?;
    let user = users::create(&state, actor, command)
        .await
        .map_err(|e| Cl2cError::from_failure(e, instance, Challenge::ApiKey))?;
    Ok(render(&user))
}

/// Change the logged-in user.
///
/// Changes the first name, last name and phone number of the user whose
/// access token (from `POST /v1/auth/login`) authenticates the request. `id`
/// is required and must be that user's own id; any other id is refused with
/// 403, whether or not such a user exists. An absent field is left as it
/// is, `null` removes it. A `tenant` header, when sent, must name the
/// token's tenant. An API key is not a user and is refused with 403.
#[utoipa::path(
    tag = "users",
    request_body = UpdateUserRequest,
    params(
        ("tenant" = Option<String>, Header, description = "The tenant's name or id; when sent, it must be the access token's tenant"),
    ),
    responses(
        (status = 200, description = "The user after the change", body = UserResponse),
        (status = 400, description = "Malformed JSON, or invalid fields (all listed in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token (or one of another tenant than the `tenant` header's)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`id` is not the logged-in user's own id, or the credential is an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The logged-in user no longer exists", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user changed concurrently: retry", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (logged under the X-Request-Id)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/v1/cl2c/user")]
pub async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: LoggedInUser,
    body: Body<UpdateUserRequest>,
) -> Answer<UserResponse> {
    let instance = req.path();
    let failed = |e: Failure| Cl2cError::from_failure(e, instance, Challenge::Bearer);
    let UpdateOwnUser { id, changes } =
        UpdateOwnUser::try_from(read(body, instance)?).map_err(|e| failed(e.into()))?;
    // The route's target is the caller: any other id is refused alike,
    // without looking it up, so the answer says nothing about that id.
    if id != caller.id {
        return Err(Cl2cError::forbidden_field(
            "this route changes the logged-in user only: `id` must be that user's own id",
            "id",
            "must be the id of the logged-in user",
            instance,
        ));
    }
    let command = UpdateUser {
        id,
        changes,
        password: None,
        expected_version: None,
        comment: None,
    };
    let user = users::update(&state, caller.actor, command)
        .await
        .map_err(failed)?;
    Ok(render(&user))
}

/// List the tenant's users.
///
/// Every user of the tenant of the `tenant` and `X-API-Key` headers, as a
/// plain JSON array, oldest first. Deleted users are not listed. The key
/// needs the ADMIN, POWER_USER or API_USER role.
#[utoipa::path(
    tag = "users",
    responses(
        (status = 200, description = "The tenant's users", body = Vec<UserResponse>),
        (status = 401, description = "Missing headers, or a `tenant` / `X-API-Key` pair that does not name a tenant and one of its keys", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key may not list users", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (logged under the X-Request-Id)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("tenant" = [], "apiKey" = []))
)]
#[get("/v1/cl2c/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    TenantKey(actor): TenantKey,
) -> Answer<Vec<UserResponse>> {
    let found = db(&state.store, move |store| {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let query = UserQuery {
                filter: UserFilter::default(),
                sort: Sort::default(),
                page: PageRequest::Cursor {
                    after,
                    limit: LIST_BATCH,
                },
                with_total: false,
            };
            let page = service::list_users(store, &actor, query)?;
            all.extend(page.users);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    })
    .await
    .map_err(|e| Cl2cError::from_failure(e.into(), req.path(), Challenge::ApiKey))?;
    let at = now();
    Ok(web::Json(
        found
            .iter()
            .map(|user| UserResponse::from_user(user, at))
            .collect(),
    ))
}

/// Get a user.
///
/// The user `id` of the tenant of the `tenant` and `X-API-Key` headers. A
/// user of another tenant, and a deleted user, answer 404 exactly as a user
/// that does not exist. The key needs the ADMIN, POWER_USER or API_USER
/// role.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 400, description = "`id` is not a UUID (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing headers, or a `tenant` / `X-API-Key` pair that does not name a tenant and one of its keys", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key may not read users", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (logged under the X-Request-Id)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("tenant" = [], "apiKey" = []))
)]
#[get("/v1/cl2c/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    TenantKey(actor): TenantKey,
    path: web::Path<String>,
) -> Answer<UserResponse> {
    let instance = req.path();
    let failed = |e: Failure| Cl2cError::from_failure(e, instance, Challenge::ApiKey);
    let id = UserId::parse(&path.into_inner())
        .map_err(|e| failed(ApiError::from_validation(e.at("id").into()).into()))?;
    let user = users::get(&state, actor, id).await.map_err(failed)?;
    Ok(render(&user))
}
