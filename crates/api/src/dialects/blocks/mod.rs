//! The SELISE Blocks dialect: Blocks' IAM user routes (`/idp/v1/Iam/...`)
//! with its field names and shapes (see `docs/dialects/blocks.md`).
//!
//! A Blocks project is a userhub tenant. Requests authenticate with the
//! `x-blocks-key` header, which carries a userhub credential (an API key of
//! the project, or a user's access token); `projectKey` in a body or
//! `ProjectKey` in GetUser's query, when given, must name that same project.
//!
//! Security intent: the credential is checked before anything the request
//! says is answered; a `projectKey` naming any other project, existing or
//! not, answers exactly as an unknown user (GetUser, Update) or project
//! (Create, GetUsers): only the caller's own tenant is ever looked up.
//! Errors use the shared JSON [`ErrorBody`], with fields in Blocks' names.

pub mod dto;
pub mod handlers;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, web};
use userhub_domain::{Field, UniqueField, UserField};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::secrets;
use crate::toolkit::openapi::ErrorResponses;
use crate::toolkit::{
    Access, Challenge, ClaimRefused, Dialect, DialectError, ErrorBody, ErrorReport, FieldNames,
    RequestError, header_text,
};

/// The SELISE Blocks dialect.
#[derive(Debug, Clone, Copy)]
pub struct Blocks;

impl FieldNames for Blocks {
    fn user_field(field: UserField) -> &'static str {
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

    fn unique_field(field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username => "userName",
            UniqueField::Id => "itemId",
            other => other.as_str(),
        }
    }

    fn field(field: &Field) -> String {
        match field {
            Field::User(field) => Self::user_field(*field).to_owned(),
            // TOOLKIT?: the domain names a repeated organization by a path
            // in its own words (`memberships[i].organization`), not by a
            // `Field` a dialect can rename; Blocks calls it `organizationId`.
            Field::Path(path)
                if path.starts_with("memberships[") && path.ends_with("].organization") =>
            {
                format!("{path}Id")
            }
            other => other.domain_name().to_owned(),
        }
    }
}

impl Dialect for Blocks {
    const NAME: &'static str = "blocks";

    fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        ErrorBody::render(report, response)
    }
}

/// The header that carries the caller's credential.
pub const KEY_HEADER: &str = "x-blocks-key";

const NO_KEY: &str = "the x-blocks-key header is required: x-blocks-key: <API key of the project>";
const BAD_KEY: &str = "the x-blocks-key credential is not valid (unknown, revoked or expired)";

fn unauthenticated(message: &'static str) -> RequestError {
    RequestError::Unauthenticated {
        message,
        challenge: Challenge::Bearer,
    }
}

// TOOLKIT?: a credential carried in a header of the dialect's own (here
// `x-blocks-key`, cl2c's `X-API-Key`) rather than `Authorization: Bearer`;
// the toolkit's `Bearer<D>` reads only the latter.
/// The caller's `x-blocks-key`, still to be checked by the pipeline (it
/// does not print). A request without one is answered 401 at once.
pub struct BlocksKey(String);

impl std::fmt::Debug for BlocksKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlocksKey(***)")
    }
}

impl FromRequest for BlocksKey {
    type Error = DialectError<Blocks>;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = header_text(req, KEY_HEADER).map(BlocksKey);
        ready(key.ok_or_else(|| unauthenticated(NO_KEY).into()))
    }
}

impl BlocksKey {
    /// What the pipeline needs to admit the caller. `project` (a
    /// `projectKey`) must name the key's project, or the request is refused
    /// as `refused` says; the key itself names it without a lookup (the
    /// caller's own secret against the caller's own input: no oracle).
    pub fn access(self, project: Option<String>, refused: ClaimRefused) -> Access {
        let claim = project.filter(|given| given.trim() != self.0);
        Access::new(secrets::recognise(&self.0), unauthenticated(BAD_KEY)).claiming(claim, refused)
    }
}

/// Blocks' error answers in its document: the shared body, invalid content 400.
const ERRORS: ErrorResponses = ErrorResponses {
    schema: "ErrorBody",
    content_type: "application/json",
    invalid: StatusCode::BAD_REQUEST,
};

/// The paths Blocks owns (its 404 and 405 answers are Blocks').
pub const PREFIXES: &[&str] = &["/idp"];

/// Mount Blocks' routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(handlers::create_user)
        .service(handlers::update_user)
        .service(handlers::get_user)
        .service(handlers::get_users);
}

/// What every Blocks route shares in its document: the `iam` tag and the
/// `x-blocks-key` credential (declared once here rather than on each route).
#[derive(Debug)]
struct EveryRoute;

impl Modify for EveryRoute {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "blocksKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                KEY_HEADER,
                "A userhub API key of the project (`uhk_...`, made with `userhub api-key create`), or a user's access token (`uha_...`, from a login).",
            ))),
        );
        let routes = openapi.paths.paths.values_mut();
        for operation in routes
            .flat_map(|item| [&mut item.get, &mut item.post])
            .flatten()
        {
            operation.tags = Some(vec!["iam".to_owned()]);
            let key = SecurityRequirement::new("blocksKey", Vec::<String>::new());
            operation.security = Some(vec![key]);
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    modifiers(&EveryRoute, &ERRORS),
    components(schemas(ErrorBody, dto::MembershipInput)),
    tags((name = "iam", description = "Create, change, read and list users of the project")),
    paths(
        handlers::create_user,
        handlers::update_user,
        handlers::get_user,
        handlers::get_users,
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
