//! The request pipeline: one trip to the blocking pool that authenticates
//! the caller and runs the domain operation.
//!
//! ```text
//! HTTP ─► dialect: parse the body into a command (errors kept, not answered yet)
//!      ─► AppState::call: one blocking task:
//!           authenticate (+ the tenant a header or body claims)
//!           ─► the command's parse errors, if any
//!           ─► the domain operation (loads, validates, authorizes, hashes, writes)
//!      ─► dialect: render the result, or the report of the failure
//! ```
//!
//! Security intent: authentication comes first, so an unauthenticated
//! caller learns nothing about its request's content; a credential that
//! fails for any reason gets the one answer its dialect gives for a bad
//! credential; a lost database during authentication is a 503 like anywhere
//! else (the report applies the transient rule).

use std::fmt;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use userhub_domain::DomainError;
use userhub_domain::auth::{PresentedCredential, authenticate, names_tenant};
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::ports::Ctx;
use userhub_storage::Store;

use super::report::{Failure, RequestError};
use crate::state::AppState;

/// Which principals a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// API keys and users' access tokens.
    Anyone,
    /// API keys only; anything else is refused like a bad credential.
    ApiKeys,
    /// Users' access tokens only; an API key is refused (403) with this reason.
    Users(&'static str),
}

/// What a refused tenant claim answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefused {
    /// The answer for a bad credential.
    AsBadCredential,
    /// The answer for a missing thing (`user`, `project`): the claim names
    /// something the caller cannot see.
    AsNotFound(&'static str),
}

/// Who a request says it is: the credential it presented, still to be
/// checked, and what else must hold of it.
pub struct Access {
    credential: PresentedCredential,
    rejected: RequestError,
    accepts: Accepts,
    claim: Option<(String, ClaimRefused)>,
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The credential's hash stays out of logs too.
        f.debug_struct("Access")
            .field("accepts", &self.accepts)
            .field("claim", &self.claim.as_ref().map(|(_, refused)| refused))
            .finish_non_exhaustive()
    }
}

impl Access {
    /// `credential`, answered with `rejected` when it authenticates nothing.
    pub fn new(credential: PresentedCredential, rejected: RequestError) -> Self {
        Self {
            credential,
            rejected,
            accepts: Accepts::Anyone,
            claim: None,
        }
    }

    /// Accept only these principals.
    pub fn accepting(mut self, accepts: Accepts) -> Self {
        self.accepts = accepts;
        self
    }

    /// The request also names a tenant (a header, a `projectKey`): it must
    /// be the credential's own, or the request is refused as `refused` says.
    /// A blank claim claims nothing.
    pub fn claiming(mut self, given: Option<String>, refused: ClaimRefused) -> Self {
        self.claim = given.filter(|g| !g.trim().is_empty()).map(|g| (g, refused));
        self
    }

    /// Like [`claiming`](Self::claiming), except that a claim that is the
    /// presented credential itself (SELISE Blocks' `projectKey` may repeat
    /// the key) names the credential's tenant without a lookup: the
    /// caller's own secret against the caller's own input, no oracle.
    pub fn claiming_unless_presented(self, given: Option<String>, refused: ClaimRefused) -> Self {
        let given = given.filter(|g| crate::secrets::recognise(g.trim()) != self.credential);
        self.claiming(given, refused)
    }

    /// The actor, if the credential holds and everything asked of it holds.
    fn admit(self, ctx: &Ctx<'_, Store>) -> Result<Actor, Failure> {
        let actor = match authenticate(ctx.repo, &self.credential, ctx.now) {
            Ok(actor) => actor,
            Err(DomainError::Unauthenticated) => return Err(self.rejected.into()),
            Err(other) => return Err(other.into()),
        };
        match (self.accepts, actor.principal) {
            (Accepts::ApiKeys, Principal::User(_)) => return Err(self.rejected.into()),
            (Accepts::Users(reason), Principal::ApiKey(_)) => {
                return Err(DomainError::Forbidden {
                    fields: Vec::new(),
                    reason: reason.to_owned(),
                }
                .into());
            }
            _ => {}
        }
        if let Some((given, refused)) = self.claim
            && !names_tenant(ctx.repo, actor.tenant, &given)?
        {
            return Err(match refused {
                ClaimRefused::AsBadCredential => self.rejected.into(),
                ClaimRefused::AsNotFound(what) => DomainError::NotFound(what).into(),
            });
        }
        Ok(actor)
    }
}

/// A domain operation, as a route runs it on its parsed command.
pub type Operation<C, T> = fn(&Ctx<'_, Store>, &Actor, C) -> Result<T, DomainError>;

/// The blocking pool failed to run the task (it panicked or was cancelled).
fn lost_task() -> Failure {
    RequestError::Internal("the blocking task did not finish".to_owned()).into()
}

/// The request pipeline, as a handler receives it (in place of the
/// application state, which it derefs to).
#[derive(Clone)]
pub struct Pipeline(web::Data<AppState>);

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pipeline").field(&*self.0).finish()
    }
}

impl std::ops::Deref for Pipeline {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl FromRequest for Pipeline {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.app_data::<web::Data<AppState>>()
                .cloned()
                .map(Pipeline)
                .ok_or_else(|| {
                    actix_web::error::ErrorInternalServerError("the application state is missing")
                }),
        )
    }
}

impl Pipeline {
    /// One trip to the blocking pool: admit the caller, then run `op`.
    pub async fn call<T, F>(&self, access: Access, op: F) -> Result<T, Failure>
    where
        F: FnOnce(&Ctx<'_, Store>, &Actor) -> Result<T, Failure> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.0.clone();
        let outcome = actix_web::web::block(move || {
            state.with_ctx(|ctx| {
                let actor = access.admit(ctx)?;
                op(ctx, &actor)
            })
        })
        .await
        .map_err(|_| lost_task())?;
        self.count(&outcome);
        outcome
    }

    /// Count the outcomes the metrics follow: refused and throttled logins.
    fn count<T>(&self, outcome: &Result<T, Failure>) {
        match outcome {
            Err(Failure::Domain(DomainError::InvalidCredentials)) => self.metrics.login_failed(),
            Err(Failure::Domain(DomainError::TooManyAttempts { .. })) => {
                self.metrics.login_throttled();
            }
            _ => {}
        }
    }

    /// One trip to the blocking pool: admit the caller, then run `op` on the
    /// parsed `command`, or answer what was wrong with the request.
    pub async fn run<C, T>(
        &self,
        access: Access,
        command: Result<C, Failure>,
        op: Operation<C, T>,
    ) -> Result<T, Failure>
    where
        C: Send + 'static,
        T: Send + 'static,
    {
        self.call(access, move |ctx, actor| Ok(op(ctx, actor, command?)?))
            .await
    }

    /// One trip to the blocking pool for a route without a caller (login,
    /// refresh, readiness).
    pub async fn call_anonymous<T, F>(&self, op: F) -> Result<T, Failure>
    where
        F: FnOnce(&Ctx<'_, Store>) -> Result<T, Failure> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.0.clone();
        let outcome = actix_web::web::block(move || state.with_ctx(op))
            .await
            .map_err(|_| lost_task())?;
        self.count(&outcome);
        outcome
    }
}
