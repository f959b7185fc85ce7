//! iklim's routes. Each handler parses its request, calls one shared
//! operation and renders the result (or error) in iklim's shape.

use actix_web::{HttpRequest, get, patch, post, web};
use userhub_domain::ValidationErrors;
use userhub_domain::error::ValueError;
use userhub_domain::password::Password;
use userhub_domain::types::UserId;

use super::dto::{
    AccountResponse, ChangePasswordRequest, CreateUserRequest, LoginRequest, PageQuery,
    PageRequest, PageResponse, RefreshRequest, TokenResponse, UpdateUserRequest, UserResponse,
};
use super::iklim_error;
use crate::app::AppState;
use crate::auth::Authenticated;
use crate::auth::login::{self as flows, IssuedSession, PasswordFields, TENANT_HEADER};
use crate::error::{ApiError, ErrorBody};
use crate::users::{self, CreateUser, UpdateUser};

type Answer<T> = Result<web::Json<T>, ApiError>;

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
        (status = 400, description = "Malformed JSON, or invalid fields (all listed)", body = ErrorBody),
        (status = 401, description = "No valid bearer credential", body = ErrorBody),
        (status = 403, description = "The caller may not create this user", body = ErrorBody),
        (status = 409, description = "The username (e-mail) is taken", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 503, description = "Busy hashing passwords: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/create")]
pub async fn create_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: web::Json<CreateUserRequest>,
) -> Answer<UserResponse> {
    let dto = body.into_inner();
    let command = users::parse(&state, &actor, move |policy| {
        CreateUser::try_from((dto, policy))
    })
    .await
    .map_err(iklim_error)?;
    let user = users::create(&state, actor, command)
        .await
        .map_err(iklim_error)?;
    Ok(web::Json(UserResponse::from_user(&user, true)))
}

/// Update a user.
///
/// Changes the fields given; absent fields stay as they are, `null` removes
/// a name, locale or time zone. Changing `username` changes the e-mail too.
/// The username and profile may be changed by the user themselves, a
/// POWER_USER or an ADMIN; password, roles and status by an ADMIN only. A
/// refused change answers 403 naming every refused field, and changes nothing.
/// iklim's `empty` field is accepted and ignored.
#[utoipa::path(
    tag = "users",
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user after the change", body = UserResponse),
        (status = 400, description = "Malformed JSON, or invalid fields (all listed)", body = ErrorBody),
        (status = 401, description = "No valid bearer credential", body = ErrorBody),
        (status = 403, description = "Fields the caller may not change (all listed); nothing changed", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
        (status = 409, description = "The new username is taken, or the user changed concurrently", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 503, description = "Busy hashing passwords: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/users/update")]
pub async fn update_user(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: web::Json<UpdateUserRequest>,
) -> Answer<UserResponse> {
    let dto = body.into_inner();
    let command = users::parse(&state, &actor, move |policy| {
        UpdateUser::try_from((dto, policy))
    })
    .await
    .map_err(iklim_error)?;
    let user = users::update(&state, actor, command)
        .await
        .map_err(iklim_error)?;
    Ok(web::Json(UserResponse::from_user(&user, true)))
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
        (status = 400, description = "Malformed JSON, or invalid fields (all listed)", body = ErrorBody),
        (status = 401, description = "No valid bearer credential", body = ErrorBody),
        (status = 403, description = "The caller may not list users", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/page")]
pub async fn page_users(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: web::Json<PageRequest>,
) -> Answer<PageResponse> {
    let page = PageQuery::try_from(body.into_inner()).map_err(ApiError::from_validation)?;
    let include_account = page.include_account;
    let result = users::list(&state, actor, page.query)
        .await
        .map_err(iklim_error)?;
    Ok(web::Json(PageResponse {
        users: result
            .users
            .iter()
            .map(|user| UserResponse::from_user(user, include_account))
            .collect(),
        total_records: result.total.unwrap_or_default(),
        page_number: page.page_number,
        page_size: page.page_size,
    }))
}

/// The caller.
///
/// The user whose access token authenticates the request, with its account.
/// An API key is not a user: it is answered 403.
#[utoipa::path(
    tag = "users",
    responses(
        (status = 200, description = "The calling user, with its account", body = UserResponse),
        (status = 401, description = "No valid bearer credential", body = ErrorBody),
        (status = 403, description = "The credential is an API key, not a user", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/v1/users/me")]
pub async fn me(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> Answer<UserResponse> {
    let user = users::me(&state, actor).await.map_err(iklim_error)?;
    Ok(web::Json(UserResponse::from_user(&user, true)))
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
        (status = 400, description = "Malformed JSON, a weak new password, or a wrong current password", body = ErrorBody),
        (status = 401, description = "No valid bearer credential", body = ErrorBody),
        (status = 403, description = "The caller is not this user", body = ErrorBody),
        (status = 409, description = "The user changed concurrently", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 503, description = "Busy hashing passwords: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/change-password")]
pub async fn change_password(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: web::Json<ChangePasswordRequest>,
) -> Answer<UserResponse> {
    let dto = body.into_inner();
    let mut errors = ValidationErrors::new();
    let id = match dto.user_id {
        Some(raw) => errors.check("userId", UserId::parse(&raw)),
        None => {
            errors.push(ValueError::required().at("userId"));
            None
        }
    };
    if dto.old_password.is_none() {
        errors.push(ValueError::required().at("oldPassword"));
    }
    if dto.new_password.is_none() {
        errors.push(ValueError::required().at("newPassword"));
    }
    let (Some(id), Some(old), Some(new)) = (id, dto.old_password, dto.new_password) else {
        return Err(ApiError::from_validation(errors));
    };
    let fields = PasswordFields {
        old: "oldPassword",
        new: "newPassword",
    };
    let user = flows::change_password(
        &state,
        actor,
        id,
        Password::for_verification(old.expose()),
        new.into_inner(),
        fields,
    )
    .await
    .map_err(iklim_error)?;
    Ok(web::Json(UserResponse::from_user(&user, true)))
}

fn tokens(issued: IssuedSession) -> TokenResponse {
    TokenResponse {
        username: issued.user.username.as_str().to_owned(),
        token_type: "Bearer".to_owned(),
        access_token: issued.access_token.expose().to_owned(),
        refresh_token: issued.refresh_token.expose().to_owned(),
        expires_in: issued.expires_in,
    }
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
        (status = 400, description = "Malformed JSON, a missing field, or no `tenant` header while several tenants exist", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 403, description = "The password is right but the user is not ACTIVE", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this username: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 503, description = "Busy hashing passwords: retry after `Retry-After` seconds", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    )
)]
#[post("/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Answer<TokenResponse> {
    let dto = body.into_inner();
    let mut errors = ValidationErrors::new();
    let username = dto.username.filter(|u| !u.trim().is_empty());
    let password = dto.password.filter(|p| !p.expose().is_empty());
    if username.is_none() {
        errors.push(ValueError::required().at("username"));
    }
    if password.is_none() {
        errors.push(ValueError::required().at("password"));
    }
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::from_validation(errors));
    };
    let tenant = req
        .headers()
        .get(TENANT_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let location = req.peer_addr().map(|addr| addr.ip().to_string());
    let issued = flows::login(
        &state,
        tenant,
        username,
        Password::for_verification(password.expose()),
        location,
    )
    .await
    .map_err(iklim_error)?;
    Ok(web::Json(tokens(issued)))
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
        (status = 400, description = "Malformed JSON or no `refreshToken`", body = ErrorBody),
        (status = 401, description = "The refresh token is unknown, used, revoked or expired", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    )
)]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Answer<TokenResponse> {
    let Some(token) = body.into_inner().refresh_token else {
        return Err(ApiError::from_validation(
            ValueError::required().at("refreshToken").into(),
        ));
    };
    let issued = flows::refresh(&state, token.into_inner())
        .await
        .map_err(iklim_error)?;
    Ok(web::Json(tokens(issued)))
}

/// A user's account.
///
/// The account of the user `userId` of the caller's tenant. A user may read
/// their own; reading others needs ADMIN, POWER_USER or API_USER.
#[utoipa::path(
    tag = "accounts",
    params(("userId" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The account", body = AccountResponse),
        (status = 400, description = "`userId` is not a UUID", body = ErrorBody),
        (status = 401, description = "No valid bearer credential", body = ErrorBody),
        (status = 403, description = "The caller may not read this user", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
        (status = 500, description = "Internal error (logged under the request id)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/v1/accounts/{userId}")]
pub async fn account(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    path: web::Path<String>,
) -> Answer<AccountResponse> {
    let id = UserId::parse(&path.into_inner())
        .map_err(|e| ApiError::from_validation(e.at("userId").into()))?;
    let user = users::get(&state, actor, id).await.map_err(iklim_error)?;
    Ok(web::Json(AccountResponse::from_user(&user)))
}
