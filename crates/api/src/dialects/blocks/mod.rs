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
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder};
use userhub_domain::{Field, UniqueField, UserField};

use crate::secrets;
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

/// The paths Blocks owns (its 404 and 405 answers are Blocks').
pub const PREFIXES: &[&str] = &["/idp"];
