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

use actix_web::HttpRequest;
use userhub_domain::{Field, UniqueField, UserField};

use crate::secrets;
use crate::toolkit::{
    Access, Challenge, Credential, Dialect, FieldNames, RequestError, header_text,
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

    fn other_field(field: &Field) -> Option<String> {
        match field {
            Field::MembershipOrganization(i) => Some(format!("memberships[{i}].organizationId")),
            _ => None,
        }
    }
}

impl Dialect for Blocks {
    const NAME: &'static str = "blocks";
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

/// The caller's `x-blocks-key` (an API key of the project, or a user's
/// access token).
#[derive(Debug)]
pub enum BlocksKey {}

impl Credential for BlocksKey {
    fn access(req: &HttpRequest) -> Result<Access, RequestError> {
        let key = header_text(req, KEY_HEADER).ok_or_else(|| unauthenticated(NO_KEY))?;
        Ok(Access::new(
            secrets::recognise(&key),
            unauthenticated(BAD_KEY),
        ))
    }
}

/// The paths Blocks owns (its 404 and 405 answers are Blocks').
pub const PREFIXES: &[&str] = &["/idp"];
