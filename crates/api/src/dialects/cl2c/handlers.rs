//! cl2c's routes. Each handler parses its request, calls one domain
//! operation through the pipeline and renders the result in cl2c's shape;
//! failures are rendered by [`Cl2c`] as RFC 7807 problems.

use actix_web::http::StatusCode;
use utoipa::OpenApi;

use super::{PROBLEM_JSON, auth};
use crate::toolkit::Mounted;
use crate::toolkit::openapi::{BearerAuth, ErrorResponses, HeaderKey, HeaderKeys};
use actix_web::web::Json;
use actix_web::{get, post, put, web};
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::ports::Ctx;
use userhub_domain::service;
use userhub_domain::user::User;
use userhub_storage::Store;

use super::auth::{LoggedInUser, TenantKey};
use super::dto::{
    CreateUserRequest, UpdateUserRequest, UserResponse, create_command, update_command,
};
use super::{Cl2c, Problem};
use crate::state::now;
use crate::toolkit::{Body, Call, Reply, RequestError, path_user_field};

/// A route authenticated by the `tenant` and `X-API-Key` headers.
type KeyCall = Call<Cl2c, TenantKey>;

fn render(user: &User) -> UserResponse {
    UserResponse::from_user(user, now())
}

/// A user in cl2c's shape.
fn user_json(user: User) -> Json<UserResponse> {
    Json(render(&user))
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
        (status = 403, description = "The key may not create users", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `userName` or `email` is taken in the tenant (named in `errors`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("tenant" = [], "apiKey" = []))
)]
#[post("/v1/cl2c/user")]
pub async fn create_user(call: KeyCall, body: Body) -> Reply<Cl2c, Json<UserResponse>> {
    call.run(body.parse(create_command), service::create_user, user_json)
        .await
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
        (status = 403, description = "`id` is not the logged-in user's own id, or the credential is an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The logged-in user no longer exists", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user changed concurrently: retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/v1/cl2c/user")]
pub async fn update_user(
    call: Call<Cl2c, LoggedInUser>,
    body: Body,
) -> Reply<Cl2c, Json<UserResponse>> {
    let command = body.parse(update_command);
    let own = move |ctx: &Ctx<'_, Store>, actor: &Actor| {
        let command = command?;
        // The route's target is the caller: any other id is refused
        // alike, without looking it up, so the answer says nothing
        // about that id.
        if actor.principal != Principal::User(command.id) {
            return Err(RequestError::Forbidden {
                    reason: "this route changes the logged-in user only: `id` must be that user's own id",
                    field: Some(("id", "must be the id of the logged-in user")),
                }
                .into());
        }
        Ok(service::update_user(ctx, actor, command)?)
    };
    call.call(own, user_json).await
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
        (status = 403, description = "The key may not list users", body = Problem, content_type = "application/problem+json"),
    ),
    security(("tenant" = [], "apiKey" = []))
)]
#[get("/v1/cl2c/users")]
pub async fn list_users(call: KeyCall) -> Reply<Cl2c, Json<Vec<UserResponse>>> {
    let all = |ctx: &Ctx<'_, Store>, actor: &Actor, ()| service::all_users(ctx, actor);
    call.run(Ok(()), all, |users| {
        Json(users.iter().map(render).collect())
    })
    .await
}

/// Get a user.
///
/// The user `id` of the tenant of the `tenant` and `X-API-Key` headers. A
/// user of another tenant, and a deleted user, answer 404 exactly as a user
/// that does not exist. The key needs the ADMIN, POWER_USER or API_USER
/// role.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 400, description = "`id` is not a UUID (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key may not read users", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in the tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("tenant" = [], "apiKey" = []))
)]
#[get("/v1/cl2c/users/{id}")]
pub async fn get_user(call: KeyCall, path: web::Path<String>) -> Reply<Cl2c, Json<UserResponse>> {
    call.run(path_user_field(&path, "id"), service::get_user, user_json)
        .await
}

/// The error answers every operation of cl2c's document lists.
const ERRORS: ErrorResponses = ErrorResponses {
    schema: "Problem",
    content_type: PROBLEM_JSON,
    invalid: StatusCode::BAD_REQUEST,
};

/// The dialect as the application mounts it.
pub const MOUNTED: Mounted = Mounted::of::<Cl2c>(super::PREFIXES, configure, openapi);

/// Mount cl2c's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_user)
        .service(update_user)
        .service(list_users)
        .service(get_user);
}

/// Adds the `tenant` and `apiKey` header schemes the key routes require
/// together.
const TENANT_KEY_AUTH: HeaderKeys = HeaderKeys(&[
    HeaderKey {
        scheme: "tenant",
        header: auth::TENANT_HEADER,
        description: "The tenant's name or id. Sent with `X-API-Key`; the key must belong to this tenant.",
    },
    HeaderKey {
        scheme: "apiKey",
        header: auth::API_KEY_HEADER,
        description: "An API key of the `tenant` header's tenant (`uhk_...`, made with `userhub api-key create`).",
    },
]);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — cl2c dialect",
        description = "cl2c's user API, served by userhub. Create, list and get send the `tenant` and `X-API-Key` headers; `PUT /v1/cl2c/user` sends a user's access token (`Authorization: Bearer`, from `POST /v1/auth/login`). Every error is an RFC 7807 problem (`application/problem+json`) with an `errors` map of field to messages.",
    ),
    paths(create_user, update_user, list_users, get_user),
    components(schemas(Problem)),
    tags((name = "users", description = "Create, change, list and get users")),
    modifiers(&TENANT_KEY_AUTH, &BearerAuth, &ERRORS),
)]
struct Cl2cApi;

/// cl2c's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Cl2cApi::openapi()
}
