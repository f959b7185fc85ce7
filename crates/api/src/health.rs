//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{HttpResponse, ResponseError, get, web};
use serde::Serialize;
use userhub_domain::DomainError;
use utoipa::ToSchema;

use crate::toolkit::{DialectError, ErrorBody, Pipeline, RequestError, Service};

/// The body of a healthy answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is alive.
///
/// Answers 200 whenever the process serves requests; it checks nothing else.
#[utoipa::path(
    tag = "service",
    responses((status = 200, description = "Alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The service can serve requests: its database answers.
#[utoipa::path(
    tag = "service",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is not reachable", body = ErrorBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: Pipeline) -> Result<web::Json<Health>, DialectError<Service>> {
    state
        .call_anonymous(|ctx| {
            ctx.repo.ping().map_err(|e| {
                log::warn!("readiness check failed: {e}");
                // Whatever failed, the answer is "not ready, ask again".
                DomainError::Internal(userhub_domain::StorageError::transient(
                    "the database is not reachable",
                ))
                .into()
            })
        })
        .await?;
    Ok(web::Json(Health { status: "ok" }))
}

/// The Prometheus metrics (text format; see `docs/operations.md`).
///
/// Not in the OpenAPI documents: it is for the monitoring system, not for
/// API clients, and answers Prometheus' text format.
#[get("/metrics")]
pub async fn metrics(state: Pipeline) -> HttpResponse {
    let pool = state.store.pool_state();
    let slots = state.hasher.slot_state();
    match state.metrics.render(&pool, &slots) {
        Ok(text) => HttpResponse::Ok()
            .content_type(crate::metrics::CONTENT_TYPE)
            .body(text),
        Err(detail) => {
            DialectError::<Service>::from(RequestError::Internal(detail)).error_response()
        }
    }
}
