//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::blocking::db;
use crate::error::{ApiError, ErrorBody};

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
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    match db(&state.store, |store| Ok(store.ping()?)).await {
        Ok(()) => Ok(web::Json(Health { status: "ok" })),
        Err(e) => {
            log::warn!("readiness check failed: {e:?}");
            Err(ApiError::Unavailable(
                "the database is not reachable".to_owned(),
            ))
        }
    }
}
