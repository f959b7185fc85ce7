//! cl2c's credentials: the `tenant` and `X-API-Key` headers on the key
//! routes ([`TenantKey`]), a user's access token on `PUT /v1/cl2c/user`
//! ([`LoggedInUser`]). Each only reads the headers; the pipeline checks
//! them, in the same blocking trip as the operation.
//!
//! Security intent: an unknown tenant, an unknown, revoked or malformed key,
//! an access token sent as a key, and a valid key of *another* tenant all
//! answer the same 401 with the same body, so the headers cannot be used to
//! learn which tenants exist or which tenant a key belongs to. A key only
//! ever acts in its own tenant (the domain scopes every operation by the
//! actor's tenant); the `tenant` header is checked against it, never used
//! to choose it. On PUT, a token of another tenant than the `tenant`
//! header's answers exactly as a bad token.

use actix_web::HttpRequest;

use crate::secrets;
use crate::toolkit::extract::bearer_secret;
use crate::toolkit::{
    Accepts, Access, Challenge, ClaimRefused, Credential, RequestError, header_text,
};

/// The header naming the tenant (its name or its id).
pub const TENANT_HEADER: &str = "tenant";
/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "X-API-Key";

const MISSING_HEADERS: &str = "the `tenant` and `X-API-Key` headers are required: the tenant's name or id, and one of its API keys";
/// One answer for every wrong pair of headers (see the module's intent).
const BAD_KEY: &str =
    "the `tenant` and `X-API-Key` headers do not name a tenant and one of its valid API keys";
const MISSING_TOKEN: &str = "a user's access token is required: Authorization: Bearer <access token from POST /v1/auth/login>";
/// One answer for a bad token and for a token of another tenant than the
/// `tenant` header's.
const BAD_TOKEN: &str = "the bearer access token is not valid (unknown, revoked or expired) for the `tenant` header's tenant";
const API_KEY_IS_NO_USER: &str = "this route changes the logged-in user: send a user's access token (from POST /v1/auth/login), not an API key";

fn unauthenticated(message: &'static str, challenge: Challenge) -> RequestError {
    RequestError::Unauthenticated { message, challenge }
}

/// An API key of the tenant the `tenant` header names (create, list, get).
#[derive(Debug)]
pub enum TenantKey {}

impl Credential for TenantKey {
    fn access(req: &HttpRequest) -> Result<Access, RequestError> {
        let (Some(tenant), Some(key)) = (
            header_text(req, TENANT_HEADER),
            header_text(req, API_KEY_HEADER),
        ) else {
            return Err(unauthenticated(MISSING_HEADERS, Challenge::ApiKey));
        };
        let rejected = unauthenticated(BAD_KEY, Challenge::ApiKey);
        Ok(Access::new(secrets::recognise(&key), rejected)
            .accepting(Accepts::ApiKeys)
            .claiming(Some(tenant), ClaimRefused::AsBadCredential))
    }
}

/// A user, by the access token of a password login, of the tenant the
/// `tenant` header names when it is sent (`PUT /v1/cl2c/user`).
#[derive(Debug)]
pub enum LoggedInUser {}

impl Credential for LoggedInUser {
    fn access(req: &HttpRequest) -> Result<Access, RequestError> {
        let token =
            bearer_secret(req).ok_or_else(|| unauthenticated(MISSING_TOKEN, Challenge::Bearer))?;
        let rejected = unauthenticated(BAD_TOKEN, Challenge::Bearer);
        Ok(Access::new(secrets::recognise(&token), rejected)
            .accepting(Accepts::Users(API_KEY_IS_NO_USER))
            .claiming(
                header_text(req, TENANT_HEADER),
                ClaimRefused::AsBadCredential,
            ))
    }
}
