//! Blocks' routes. Each handler parses its request into a domain command,
//! runs it in one trip through the pipeline (which also checks the
//! request's `projectKey`) and renders the result in Blocks' shape;
//! failures are rendered by [`Blocks`].

use actix_web::http::StatusCode;
use utoipa::OpenApi;

use super::KEY_HEADER;
use crate::toolkit::Mounted;
use crate::toolkit::openapi::{ErrorResponses, EveryOperation, HeaderKey, HeaderKeys};
use std::collections::BTreeMap;

use actix_web::web::Json;
use actix_web::{HttpRequest, get, post, web};
use userhub_domain::service;
use userhub_domain::user::User;

use super::dto::{
    CreateUserRequest, GetUserResponse, GetUsersRequest, GetUsersResponse, Scoped,
    UpdateUserRequest, UserResponse, create_command, get_user_query, list_command, update_command,
};
use super::{Blocks, BlocksKey};
use crate::toolkit::pipeline::Operation;
use crate::toolkit::{Body, Call, ClaimRefused, ErrorBody, Failure, Reply, query_pairs};

/// A route authenticated by `x-blocks-key`.
type KeyCall = Call<Blocks, BlocksKey>;

/// A domain operation, as a route runs it on its parsed command.
/// One trip to the blocking pool: admit the caller (a `projectKey` naming
/// another project answers as a `missing` that does not exist), then run
/// `op` on the command, or answer what was wrong with the request.
async fn run<C: Send + 'static, T: Send + 'static, R>(
    call: Call<Blocks, BlocksKey>,
    missing: &'static str,
    parsed: Result<Scoped<C>, Failure>,
    op: Operation<C, T>,
    render: impl FnOnce(T) -> R,
) -> Reply<Blocks, R> {
    let project = parsed.as_ref().ok().and_then(|p| p.project.clone());
    let (state, access) = call.into_parts();
    let access = access.claiming_unless_presented(project, ClaimRefused::AsNotFound(missing));
    let done = state.call(access, move |ctx, actor| {
        Ok(op(ctx, actor, parsed?.command)?)
    });
    Ok(render(done.await?))
}

/// A user in Blocks' shape.
fn user_json(user: User) -> Json<UserResponse> {
    Json(UserResponse::from_user(&user))
}

/// Create a user.
///
/// Creates a user in the caller's project. `email`, `userName` and
/// `password` (by the project's policy) are required. `organizationId` adds
/// a bare membership unless `memberships` lists it. Needs POWER_USER or
/// ADMIN. Every invalid field is listed at once.
#[utoipa::path(
    request_body = CreateUserRequest,
    responses(
        (status = 200, body = UserResponse, description = "The new user"),
        (status = 403, body = ErrorBody, description = "The caller may not create users"),
        (status = 404, body = ErrorBody, description = "`projectKey` does not name the caller's project"),
        (status = 409, body = ErrorBody, description = "The `userName` or `email` is taken in the project"),
    )
)]
#[post("/idp/v1/Iam/Create")]
pub async fn create_user(call: KeyCall, body: Body) -> Reply<Blocks, Json<UserResponse>> {
    let parsed = body.parse(create_command);
    run(call, "project", parsed, service::create_user, user_json).await
}

/// Update a user.
///
/// Changes the fields given of the user `itemId`; `null` removes an
/// optional value or empties a list. `email` and `userName` are ignored; a
/// `password` is refused (400). `active: true` makes the user ACTIVE,
/// `false` INACTIVE. `mfaEnabled` and `userMfaType` change independently.
/// Profile fields: the user themselves, a POWER_USER or an ADMIN; `active`,
/// `isVarified`, `memberships`, `organizationId` and `allowedLogInType`: an
/// ADMIN only. A refused change names every refused field, changing nothing.
#[utoipa::path(
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserResponse, description = "The user after the change"),
        (status = 403, body = ErrorBody, description = "Fields the caller may not change (all listed); nothing changed"),
        (status = 404, body = ErrorBody, description = "No such user in the caller's project (or `projectKey` names another project)"),
        (status = 409, body = ErrorBody, description = "The user kept changing concurrently: retry"),
    )
)]
#[post("/idp/v1/Iam/Update")]
pub async fn update_user(call: KeyCall, body: Body) -> Reply<Blocks, Json<UserResponse>> {
    let parsed = body.parse(update_command);
    run(call, "user", parsed, service::update_user, user_json).await
}

/// Read a user.
///
/// The user `Id` in the `{"data": ..., "errors": {}}` envelope. Another
/// project's user, a deleted user and a `ProjectKey` naming another project
/// all answer 404 as a user that does not exist. A user may read
/// themselves; reading others needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    params(
        ("Id" = String, Query, format = Uuid, description = "The user's `itemId`"),
        ("ProjectKey" = Option<String>, Query, description = "The caller's project's name or id, or the `x-blocks-key` value"),
    ),
    responses(
        (status = 200, body = GetUserResponse, description = "The user, in the envelope"),
        (status = 400, body = ErrorBody, description = "`Id` is missing or not a UUID, or the query string is malformed"),
        (status = 403, body = ErrorBody, description = "The caller may not read other users"),
        (status = 404, body = ErrorBody, description = "No such user in the caller's project"),
    )
)]
#[get("/idp/v1/Iam/GetUser")]
pub async fn get_user(call: KeyCall, req: HttpRequest) -> Reply<Blocks, Json<GetUserResponse>> {
    let parsed = get_user_query(query_pairs(&req));
    run(call, "user", parsed, service::get_user, |user| {
        Json(GetUserResponse {
            data: UserResponse::from_user(&user),
            errors: BTreeMap::new(),
        })
    })
    .await
}

/// List users, a page at a time.
///
/// Pages count from 1 (`pageSize` 1 to 100, default 10), sorted by
/// `createdDate` (default), `lastUpdatedDate`, `userName` or `email`.
/// Filters: `email` and `name` (first, last or user name) match from the
/// start, case-insensitively; `userIds`; `status` (`true` ACTIVE, `false`
/// INACTIVE, or status names); `organizationId`. `totalCount` counts every
/// match; deleted users are never listed. Needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    request_body = GetUsersRequest,
    responses(
        (status = 200, body = GetUsersResponse, description = "One page of users"),
        (status = 403, body = ErrorBody, description = "The caller may not list users"),
        (status = 404, body = ErrorBody, description = "`projectKey` does not name the caller's project"),
    )
)]
#[post("/idp/v1/Iam/GetUsers")]
pub async fn get_users(call: KeyCall, body: Body) -> Reply<Blocks, Json<GetUsersResponse>> {
    let parsed = body.parse(list_command);
    run(call, "project", parsed, service::list_users, |page| {
        Json(GetUsersResponse {
            data: page.users.iter().map(UserResponse::from_user).collect(),
            total_count: page.total.unwrap_or_default(),
            errors: BTreeMap::new(),
        })
    })
    .await
}

/// Blocks' error answers in its document: the shared body, invalid content 400.
const ERRORS: ErrorResponses = ErrorResponses {
    schema: "ErrorBody",
    content_type: "application/json",
    invalid: StatusCode::BAD_REQUEST,
};

/// The dialect as the application mounts it.
pub const MOUNTED: Mounted = Mounted::of::<Blocks>(super::PREFIXES, configure, openapi);

/// Mount Blocks' routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_user)
        .service(update_user)
        .service(get_user)
        .service(get_users);
}

/// What every Blocks route shares in its document: the `iam` tag and the
/// `x-blocks-key` credential (declared once here rather than on each route).
const EVERY_ROUTE: EveryOperation = EveryOperation {
    tag: "iam",
    security: "blocksKey",
};

/// The `x-blocks-key` credential's scheme.
const BLOCKS_KEY: HeaderKeys = HeaderKeys(&[HeaderKey {
    scheme: "blocksKey",
    header: KEY_HEADER,
    description: "A userhub API key of the project (`uhk_...`, made with `userhub api-key create`), or a user's access token (`uha_...`, from a login).",
}]);

#[derive(OpenApi)]
#[openapi(
    modifiers(&BLOCKS_KEY, &EVERY_ROUTE, &ERRORS),
    components(schemas(ErrorBody, super::dto::MembershipInput)),
    tags((name = "iam", description = "Create, change, read and list users of the project")),
    paths(
        create_user,
        update_user,
        get_user,
        get_users,
    ),
    info(
        title = "userhub — SELISE Blocks dialect",
        description = "SELISE Blocks' IAM user API, served by userhub. A Blocks project is a userhub tenant. Authenticate with `x-blocks-key: <API key of the project>`. Errors share one JSON body (`ErrorBody`), with fields in Blocks' names.",
    ),
)]
struct BlocksApi;

/// Blocks' OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    BlocksApi::openapi()
}
