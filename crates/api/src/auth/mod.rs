//! Credentials: who is calling.
//!
//! Every authenticated request carries `Authorization: Bearer <secret>`,
//! where the secret is an API key (`uhk_...`, made with the CLI, scoped to
//! one tenant, carrying roles) or an access token (`uha_...`, from a password
//! login, expiring). [`Authenticated`] turns it into the domain's
//! [`Actor`]; anything else is answered 401 with `WWW-Authenticate: Bearer`.
//!
//! Security intent: a revoked key, an expired or revoked token, and a token
//! of a user who is no longer ACTIVE all authenticate nothing; the answer does
//! not say which of these it was.

pub mod login;
pub mod secrets;
pub mod throttle;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use userhub_domain::DomainError;
use userhub_domain::auth::may_log_in;
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::repository::{
    ApiKeyRepository, SessionRepository, TenantRepository, UserRepository,
};
use userhub_domain::tenant::TenantName;
use userhub_domain::types::TenantId;

use crate::app::AppState;
use crate::blocking::{db, now};
use crate::error::{ApiError, Failure};

/// How stale an API key's "last used" time may get before a request
/// updates it (so that a busy key does not write on every request).
const TOUCH_INTERVAL: time::Duration = time::Duration::minutes(1);

const NO_CREDENTIAL: &str =
    "a bearer credential is required: Authorization: Bearer <API key or access token>";
const BAD_CREDENTIAL: &str = "the bearer credential is not valid (unknown, revoked or expired)";

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Actor);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = bearer(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let token = presented?;
            authenticate(&state, token).await.map(Authenticated)
        })
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated(NO_CREDENTIAL))?
        .to_str()
        .map_err(|_| ApiError::Unauthenticated(BAD_CREDENTIAL))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(ApiError::Unauthenticated(NO_CREDENTIAL))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthenticated(NO_CREDENTIAL));
    }
    Ok(token.trim().to_owned())
}

/// The actor behind a presented bearer secret.
pub async fn authenticate(state: &AppState, token: String) -> Result<Actor, ApiError> {
    let at = now();
    let found = if let Some(prefix) = secrets::api_key_prefix(&token) {
        let prefix = prefix.to_owned();
        let hash = secrets::sha256_hex(&token);
        db(&state.store, move |store| {
            let Some(key) = store.find_api_key_by_prefix(&prefix)? else {
                return Ok(None);
            };
            if !secrets::same_hash(&key.key_hash, &hash) || !key.is_active() {
                return Ok(None);
            }
            if key
                .last_used_at
                .is_none_or(|used| at - used > TOUCH_INTERVAL)
                && let Err(e) = store.touch_api_key(key.id, at)
            {
                // Bookkeeping only: the key is valid, the request goes on.
                log::warn!("could not record the use of API key {}: {e}", key.id);
            }
            Ok(Some(Actor {
                tenant: key.tenant,
                principal: Principal::ApiKey(key.id),
                roles: key.roles,
            }))
        })
        .await
    } else if token.starts_with(secrets::ACCESS_TOKEN_MARK) {
        let hash = secrets::sha256_hex(&token);
        db(&state.store, move |store| {
            let Some(session) = store.find_session_by_access_hash(&hash)? else {
                return Ok(None);
            };
            if !session.access_valid_at(at) {
                return Ok(None);
            }
            let user = store
                .get_user(session.tenant, session.user)?
                .filter(|user| may_log_in(user).is_ok());
            Ok(user.map(|user| Actor {
                tenant: user.tenant,
                principal: Principal::User(user.id),
                roles: user.roles,
            }))
        })
        .await
    } else {
        Ok(None)
    };
    match found {
        Ok(Some(actor)) => Ok(actor),
        Ok(None) => Err(ApiError::Unauthenticated(BAD_CREDENTIAL)),
        Err(DomainError::Internal(e)) => Err(ApiError::Internal(e.to_string())),
        Err(other) => Err(other.into()),
    }
}

/// Whether `given` (a tenant's id or its name, as a header or a body field
/// carries it) names the tenant `tenant`. Only `tenant` is looked up: a
/// name of another tenant and a name of none give the same `false`.
pub async fn names_tenant(
    state: &AppState,
    given: &str,
    tenant: TenantId,
) -> Result<bool, Failure> {
    let given = given.trim();
    if let Ok(id) = TenantId::parse(given) {
        return Ok(id == tenant);
    }
    let Ok(name) = TenantName::parse(given) else {
        return Ok(false);
    };
    let own = db(&state.store, move |store| {
        store.get_tenant(tenant).map_err(DomainError::from)
    })
    .await?;
    Ok(own.is_some_and(|own| own.name == name))
}
