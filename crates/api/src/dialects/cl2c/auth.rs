//! cl2c's credentials: the `tenant` and `X-API-Key` headers on the key
//! routes, a user's access token on `PUT /v1/cl2c/user`.
//!
//! Security intent: an unknown tenant, an unknown, revoked or malformed key,
//! an access token sent as a key, and a valid key of *another* tenant all
//! answer the same 401 with the same body, so the headers cannot be used to
//! learn which tenants exist or which tenant a key belongs to. A key only
//! ever acts in its own tenant (the domain scopes every operation by the
//! actor's tenant); the `tenant` header is checked against it, never used
//! to choose it.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::types::UserId;

use super::problem::{Challenge, Cl2cError};
use crate::app::AppState;
use crate::auth::{Authenticated, authenticate, names_tenant};
use crate::error::{ApiError, Failure};

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

/// The caller of a key route: an API key of the tenant the `tenant` header
/// names.
#[derive(Debug, Clone)]
pub struct TenantKey(pub Actor);

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The actor behind the key, if it is an API key of the tenant `tenant`
/// names; `None` for every kind of mismatch alike.
async fn key_actor(
    state: &AppState,
    tenant: String,
    key: String,
) -> Result<Option<Actor>, Failure> {
    let actor = match authenticate(state, key).await {
        Ok(actor) => actor,
        Err(ApiError::Unauthenticated(_)) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    if !matches!(actor.principal, Principal::ApiKey(_)) {
        return Ok(None);
    }
    Ok(names_tenant(state, &tenant, actor.tenant)
        .await?
        .then_some(actor))
}

impl FromRequest for TenantKey {
    type Error = Cl2cError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Cl2cError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let instance = req.path().to_owned();
        let tenant = header(req, TENANT_HEADER);
        let key = header(req, API_KEY_HEADER);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                Cl2cError::from_api(
                    &ApiError::Internal("application state missing".into()),
                    &instance,
                    Challenge::ApiKey,
                )
            })?;
            let (Some(tenant), Some(key)) = (tenant, key) else {
                return Err(Cl2cError::unauthenticated(
                    MISSING_HEADERS,
                    Challenge::ApiKey,
                    &instance,
                ));
            };
            match key_actor(&state, tenant, key).await {
                Ok(Some(actor)) => Ok(TenantKey(actor)),
                Ok(None) => Err(Cl2cError::unauthenticated(
                    BAD_KEY,
                    Challenge::ApiKey,
                    &instance,
                )),
                Err(failure) => Err(Cl2cError::from_failure(
                    failure,
                    &instance,
                    Challenge::ApiKey,
                )),
            }
        })
    }
}

/// The caller of `PUT /v1/cl2c/user`: a user, by the access token of a
/// password login (`Authorization: Bearer <access token>`).
#[derive(Debug, Clone)]
pub struct LoggedInUser {
    /// The user, as the domain's actor.
    pub actor: Actor,
    /// The user's id.
    pub id: UserId,
}

impl FromRequest for LoggedInUser {
    type Error = Cl2cError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Cl2cError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let instance = req.path().to_owned();
        let tenant = header(req, TENANT_HEADER);
        let presented = req.headers().contains_key(AUTHORIZATION);
        let authenticated = Authenticated::from_request(req, payload);
        Box::pin(async move {
            let unauthenticated =
                |detail| Cl2cError::unauthenticated(detail, Challenge::Bearer, &instance);
            let actor = match authenticated.await {
                Ok(Authenticated(actor)) => actor,
                Err(ApiError::Unauthenticated(_)) if presented => {
                    return Err(unauthenticated(BAD_TOKEN));
                }
                Err(ApiError::Unauthenticated(_)) => return Err(unauthenticated(MISSING_TOKEN)),
                Err(other) => {
                    return Err(Cl2cError::from_api(&other, &instance, Challenge::Bearer));
                }
            };
            let Principal::User(id) = actor.principal else {
                return Err(Cl2cError::forbidden(API_KEY_IS_NO_USER, &instance));
            };
            if let Some(tenant) = tenant {
                let state = state.ok_or_else(|| {
                    Cl2cError::from_api(
                        &ApiError::Internal("application state missing".into()),
                        &instance,
                        Challenge::Bearer,
                    )
                })?;
                match names_tenant(&state, &tenant, actor.tenant).await {
                    Ok(true) => {}
                    Ok(false) => return Err(unauthenticated(BAD_TOKEN)),
                    Err(failure) => {
                        return Err(Cl2cError::from_failure(
                            failure,
                            &instance,
                            Challenge::Bearer,
                        ));
                    }
                }
            }
            Ok(LoggedInUser { actor, id })
        })
    }
}
