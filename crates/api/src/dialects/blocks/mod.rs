//! The SELISE Blocks dialect: Blocks' IAM user routes (`/idp/v1/Iam/...`)
//! with its field names and shapes (see `docs/dialects/blocks.md`).
//!
//! A Blocks project is a userhub tenant. Requests authenticate with the
//! `x-blocks-key` header, which carries a userhub credential (an API key of
//! the project, or a user's access token); `projectKey` in a body or query,
//! when given, must name that same project.
//!
//! Security intent: a `projectKey` naming any other project, existing or
//! not, answers exactly as an unknown user (GetUser, Update) or an unknown
//! project (Create, GetUsers): the dialect never looks another tenant up, so
//! the answer cannot tell whether it exists. Errors use the service's JSON
//! error body, with fields in Blocks' names.

pub mod dto;
pub mod handlers;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use userhub_domain::authz::Actor;
use userhub_domain::{DomainError, UniqueField, UserField};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;
use crate::auth::names_tenant;
use crate::dialects::SecretText;
use crate::error::{ApiError, Failure, FieldNames};

/// The header that carries the caller's credential.
pub const KEY_HEADER: &str = "x-blocks-key";

const NO_KEY: &str = "the x-blocks-key header is required: x-blocks-key: <API key of the project>";
const BAD_KEY: &str = "the x-blocks-key credential is not valid (unknown, revoked or expired)";

/// Blocks' names for the domain's fields.
#[derive(Debug, Clone, Copy)]
pub struct BlocksNames;

impl FieldNames for BlocksNames {
    fn user_field(&self, field: UserField) -> &'static str {
        match field {
            UserField::Username => "userName",
            UserField::Title => "salutation",
            UserField::Locale => "language",
            UserField::Phone => "phoneNumber",
            UserField::Status => "active",
            UserField::EmailVerified => "isVarified",
            // One domain value holds both `mfaEnabled` and `userMfaType`.
            UserField::Mfa => "mfaEnabled",
            UserField::AllowedLoginTypes => "allowedLogInType",
            UserField::ProfilePictureUrl => "profileImageUrl",
            UserField::ProfilePictureId => "profileImageId",
            other => other.as_str(),
        }
    }

    fn unique_field(&self, field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username => "userName",
            UniqueField::Id => "itemId",
            other => other.as_str(),
        }
    }
}

/// A shared operation's failure, in Blocks' words.
pub fn blocks_error(failure: Failure) -> ApiError {
    failure.render(&BlocksNames)
}

/// The authenticated caller of a Blocks request: the actor, and the
/// credential as presented (a `projectKey` may repeat it).
#[derive(Debug, Clone)]
pub struct BlocksCaller {
    /// Who is calling, in which tenant (project).
    pub actor: Actor,
    /// The `x-blocks-key` value.
    pub key: SecretText,
}

impl FromRequest for BlocksCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = match req.headers().get(KEY_HEADER) {
            None => Err(ApiError::Unauthenticated(NO_KEY)),
            Some(value) => match value.to_str().map(str::trim) {
                Ok("") => Err(ApiError::Unauthenticated(NO_KEY)),
                Ok(key) => Ok(key.to_owned()),
                Err(_) => Err(ApiError::Unauthenticated(BAD_KEY)),
            },
        };
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let key = presented?;
            match crate::auth::authenticate(&state, key.clone()).await {
                Ok(actor) => Ok(BlocksCaller {
                    actor,
                    key: SecretText::from(key.as_str()),
                }),
                Err(ApiError::Unauthenticated(_)) => Err(ApiError::Unauthenticated(BAD_KEY)),
                Err(other) => Err(other),
            }
        })
    }
}

/// What a request names when its `projectKey` is not the caller's project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Answer as for a user that does not exist.
    User,
    /// Answer as for a project that does not exist.
    Project,
}

/// Check a request's `projectKey` against the caller's project: absent or
/// blank passes; otherwise it must be the presented key itself, the
/// tenant's id or the tenant's name. Anything else answers 404 as `missing`
/// says, without looking up any other tenant.
pub async fn check_project(
    state: &AppState,
    caller: &BlocksCaller,
    project_key: Option<&str>,
    missing: Missing,
) -> Result<(), ApiError> {
    let Some(given) = project_key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(());
    };
    // The caller's own secret against the caller's own input: no timing
    // oracle for anyone else's key.
    if given == caller.key.expose() {
        return Ok(());
    }
    let not_found = || match missing {
        Missing::User => ApiError::from_domain(DomainError::NotFound("user"), &BlocksNames),
        Missing::Project => ApiError::from_domain(DomainError::NotFound("project"), &BlocksNames),
    };
    if names_tenant(state, given, caller.actor.tenant)
        .await
        .map_err(blocks_error)?
    {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Mount Blocks' routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(handlers::create_user)
        .service(handlers::update_user)
        .service(handlers::get_user)
        .service(handlers::get_users);
}

/// Adds the `x-blocks-key` security scheme the handlers refer to.
#[derive(Debug)]
pub struct BlocksKeyAuth;

impl Modify for BlocksKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "blocksKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                KEY_HEADER,
                "A userhub API key of the project (`uhk_...`, made with `userhub api-key create`), or a user's access token (`uha_...`, from a login).",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — SELISE Blocks dialect",
        description = "SELISE Blocks' IAM user API, served by userhub. A Blocks project is a userhub tenant. Authenticate with `x-blocks-key: <API key of the project>`. Errors share one JSON body (`ErrorBody`), with fields in Blocks' names.",
    ),
    paths(
        handlers::create_user,
        handlers::update_user,
        handlers::get_user,
        handlers::get_users,
    ),
    tags((name = "iam", description = "Create, change, read and list users of the project")),
    modifiers(&BlocksKeyAuth),
)]
struct BlocksApi;

/// Blocks' OpenAPI document, with the service's own routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = BlocksApi::openapi();
    document.merge(crate::openapi::service_document());
    document
}
