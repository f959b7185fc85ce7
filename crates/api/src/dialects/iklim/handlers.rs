//! iklim's routes. Each handler parses its request, calls one domain
//! operation through the pipeline and renders the result in iklim's shape;
//! failures are rendered by [`Iklim`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, get, patch, post, web};
use userhub_domain::DomainError;
use userhub_domain::auth::{self, ChangeOwnPassword, LogIn, NewSession, Refresh, TokenHashes};
use userhub_domain::authz::Actor;
use userhub_domain::ports::Ctx;
use userhub_domain::service;
use userhub_domain::user::User;
use userhub_storage::Store;
use utoipa::OpenApi;

use super::Iklim;
use super::dto::{
    AccountResponse, ChangePasswordRequest, CreateUserRequest, LoginRequest, PageQuery,
    PageRequest, PageResponse, RefreshRequest, TokenResponse, UpdateUserRequest, UserResponse,
    change_password_command, create_command, login_fields, page_command, refresh_token,
    update_command,
};
use crate::secrets;
use crate::toolkit::Mounted;
use crate::toolkit::openapi::{BearerAuth, ErrorResponses};
use crate::toolkit::{
    Body, Call, Challenge, ClientAddr, ErrorBody, Failure, Pipeline, Reply, RequestError,
    header_text, path_user_field,
};

use actix_web::web::Json;

/// Create a user.
///
/// Creates a user in the caller's tenant and answers it with its account.
/// iklim's `username` is an e-mail address: it becomes both the user's
/// username and e-mail. Needs POWER_USER or ADMIN; only an ADMIN may grant
/// ADMIN or POWER_USER. Every invalid field is listed at once.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 200, description = "The user, with its account", body = UserResponse),
        (status = 403, description = "The caller may not create this user", body = ErrorBody),
        (status = 409, description = "The username (e-mail) is taken", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/create")]
pub async fn create_user(call: Call<Iklim>, body: Body) -> Reply<Iklim, Json<UserResponse>> {
    call.run(
        body.parse(create_command),
        service::create_user,
        with_account,
    )
    .await
}

/// Update a user.
///
/// Changes the fields given; absent fields stay as they are, `null` removes
/// a name, locale or time zone (the username, password, roles and status
/// cannot be removed: `null` for them is refused). Changing `username`
/// changes the e-mail too. The username and profile may be changed by the
/// user themselves, a POWER_USER or an ADMIN; password, roles and status by an
/// ADMIN only. A refused change answers 403 naming every refused field, and
/// changes nothing. A new password ends every session of the user. iklim's
/// `empty` field is accepted and ignored.
#[utoipa::path(
    tag = "users",
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user after the change", body = UserResponse),
        (status = 403, description = "Fields the caller may not change (all listed); nothing changed", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
        (status = 409, description = "The new username is taken, or the user changed concurrently", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/users/update")]
pub async fn update_user(call: Call<Iklim>, body: Body) -> Reply<Iklim, Json<UserResponse>> {
    call.run(
        body.parse(update_command),
        service::update_user,
        with_account,
    )
    .await
}

/// List users, a page at a time.
///
/// Filters by roles (any of them) and statuses, sorts by one field, and
/// pages by number (from 0) and size (1 to 100). `totalRecords` counts every
/// matching user. Deleted users are never listed. Needs ADMIN, POWER_USER or
/// API_USER.
#[utoipa::path(
    tag = "users",
    request_body = PageRequest,
    responses(
        (status = 200, description = "One page of users", body = PageResponse),
        (status = 403, description = "The caller may not list users", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/page")]
pub async fn page_users(call: Call<Iklim>, body: Body) -> Reply<Iklim, Json<PageResponse>> {
    let page = body.parse(page_command);
    let listed = move |ctx: &Ctx<'_, Store>, actor: &Actor| {
        let PageQuery { command, echo } = page?;
        Ok((service::list_users(ctx, actor, command)?, echo))
    };
    call.call(listed, |(found, query)| {
        Json(PageResponse::of(&found, &query))
    })
    .await
}

/// The caller.
///
/// The user whose access token authenticates the request, with its account.
/// An API key is not a user: it is answered 403.
#[utoipa::path(
    tag = "users",
    responses(
        (status = 200, description = "The calling user, with its account", body = UserResponse),
        (status = 403, description = "The credential is an API key, not a user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/v1/users/me")]
pub async fn me(call: Call<Iklim>) -> Reply<Iklim, Json<UserResponse>> {
    call.run(
        Ok(()),
        |ctx, actor, ()| auth::current_user(ctx.repo, actor),
        with_account,
    )
    .await
}

/// Change the caller's own password.
///
/// The user themselves only (with an access token from a login), proving
/// the current password. The new one must meet the tenant's policy. Every
/// session of the user ends: log in again with the new password. Repeated
/// wrong current passwords are throttled like failed logins.
#[utoipa::path(
    tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "The password changed; the user is answered", body = UserResponse),
        (status = 403, description = "The caller is not this user", body = ErrorBody),
        (status = 409, description = "The user changed concurrently", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords: retry after `Retry-After` seconds", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/change-password")]
pub async fn change_password(
    call: Call<Iklim>,
    client: ClientAddr,
    body: Body,
) -> Reply<Iklim, Json<UserResponse>> {
    let command = body
        .parse(change_password_command)
        .map(|command| ChangeOwnPassword {
            client: client.for_throttle(),
            ..command
        });
    call.run(command, auth::change_own_password, with_account)
        .await
}

/// A user in iklim's shape, with its account.
fn with_account(user: User) -> Json<UserResponse> {
    Json(UserResponse::from_user(&user, true))
}

/// One trip to start a session (a login or a refresh) with a fresh pair
/// of tokens, answered with the pair.
async fn start_session(
    state: Pipeline,
    start: impl FnOnce(&Ctx<'_, Store>, TokenHashes) -> Result<NewSession, Failure> + Send + 'static,
) -> Reply<Iklim, Json<TokenResponse>> {
    let (access, renewal, hashes) = secrets::new_session_tokens();
    let session = state.call_anonymous(move |ctx| start(ctx, hashes)).await?;
    Ok(Json(TokenResponse {
        username: session.user.username.as_str().to_owned(),
        token_type: "Bearer".to_owned(),
        access_token: access.expose().to_owned(),
        refresh_token: renewal.expose().to_owned(),
        expires_in: state.config.tokens.access.whole_seconds(),
    }))
}

/// Log in with a username and password.
///
/// The tenant is named by the `tenant` header (its name or id); it may be
/// left out while the service has exactly one tenant. Answers an access
/// token (15 minutes by default) and a refresh token. A wrong password and an
/// unknown user get the same 401; repeated failures for one username get 429
/// with `Retry-After`. Only ACTIVE users log in.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    params(
        ("tenant" = Option<String>, Header, description = "The tenant's name or id; optional while there is exactly one tenant"),
    ),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 403, description = "The password is right but the user is not ACTIVE", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this username: retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
#[post("/v1/auth/login")]
pub async fn login(
    state: Pipeline,
    req: HttpRequest,
    client: ClientAddr,
    body: Body,
) -> Reply<Iklim, Json<TokenResponse>> {
    let (login, password) = body.parse(login_fields)?;
    let tenant = header_text(&req, "tenant");
    start_session(state, move |ctx, tokens| {
        let command = LogIn {
            tenant,
            login,
            password,
            location: client.text(),
            client: client.for_throttle(),
            tokens,
        };
        Ok(auth::log_in(ctx, command)?)
    })
    .await
}

/// Exchange a refresh token for a new pair.
///
/// A refresh token works once; the answer carries a new access token and a
/// new refresh token. Presenting a used refresh token again ends every
/// session of its user.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair of tokens", body = TokenResponse),
        (status = 401, description = "The refresh token is unknown, used, revoked or expired", body = ErrorBody),
    )
)]
#[post("/v1/auth/refresh")]
pub async fn refresh(state: Pipeline, body: Body) -> Reply<Iklim, Json<TokenResponse>> {
    const INVALID: &str = "the refresh token is not valid (unknown, used, revoked or expired)";
    let presented = body.parse(refresh_token)?;
    let rejected = || {
        Failure::from(RequestError::Unauthenticated {
            message: INVALID,
            challenge: Challenge::Bearer,
        })
    };
    if !presented.expose().starts_with(secrets::REFRESH_TOKEN_MARK) {
        return Err(rejected().into());
    }
    let presented = secrets::sha256_hex(presented.expose());
    start_session(state, move |ctx, tokens| {
        match auth::refresh_session(ctx, Refresh { presented, tokens }) {
            Err(DomainError::Unauthenticated) => Err(rejected()),
            other => Ok(other?),
        }
    })
    .await
}

/// A user's account.
///
/// The account of the user `userId` of the caller's tenant. A user may read
/// their own; reading others needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    tag = "accounts",
    params(("userId" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The account", body = AccountResponse),
        (status = 400, description = "`userId` is not a UUID", body = ErrorBody),
        (status = 403, description = "The caller may not read this user", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/v1/accounts/{userId}")]
pub async fn account(
    call: Call<Iklim>,
    path: web::Path<String>,
) -> Reply<Iklim, Json<AccountResponse>> {
    let id = path_user_field(&path, "userId");
    call.run(id, service::get_user, |user| {
        Json(AccountResponse::from_user(&user))
    })
    .await
}

/// The dialect as the application mounts it.
pub const MOUNTED: Mounted = Mounted::of::<Iklim>(super::PREFIXES, configure, openapi);

/// Mount iklim's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_user)
        .service(update_user)
        .service(page_users)
        .service(me)
        .service(change_password)
        .service(login)
        .service(refresh)
        .service(account);
}

const ERRORS: ErrorResponses = ErrorResponses {
    schema: "ErrorBody",
    content_type: "application/json",
    invalid: StatusCode::BAD_REQUEST,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — iklim dialect",
        description = "iklim's user API, served by userhub. Authenticate with `Authorization: Bearer <API key or access token>`. Errors share one JSON body (`ErrorBody`).",
    ),
    paths(
        create_user,
        update_user,
        page_users,
        me,
        change_password,
        login,
        refresh,
        account,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "users", description = "Create, change and list users"),
        (name = "auth", description = "Password login and token refresh"),
        (name = "accounts", description = "A user's account"),
    ),
    modifiers(&BearerAuth, &ERRORS),
)]
struct IklimApi;

/// iklim's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    IklimApi::openapi()
}
