//! The OpenAPI documents: one per dialect, each with the service's own routes
//! (health) and the bearer security scheme, served at
//! `/openapi/<dialect>.json`. They are rendered once, at start.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;
use crate::dialects::DIALECTS;
use crate::error::{ApiError, ErrorBody, FieldErrorBody};

/// Adds the `bearer` security scheme the handlers refer to.
#[derive(Debug)]
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`uhk_...`, made with `userhub api-key create`) or an access token (`uha_...`, from a login).",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(crate::health::healthz, crate::health::readyz),
    components(schemas(ErrorBody, FieldErrorBody)),
    tags((name = "service", description = "Liveness and readiness")),
)]
struct ServiceApi;

/// The service's own routes, merged into every dialect's document.
pub fn service_document() -> utoipa::openapi::OpenApi {
    ServiceApi::openapi()
}

/// Every dialect's document as JSON, by dialect name.
pub fn render_documents() -> Result<HashMap<&'static str, String>, String> {
    DIALECTS
        .iter()
        .map(|dialect| {
            (dialect.openapi)()
                .to_pretty_json()
                .map(|json| (dialect.name, json))
                .map_err(|e| format!("rendering the {} OpenAPI document: {e}", dialect.name))
        })
        .collect()
}

/// A dialect's OpenAPI document.
#[get("/openapi/{document}")]
pub async fn document(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let requested = path.into_inner();
    requested
        .strip_suffix(".json")
        .and_then(|name| state.openapi.get(name))
        .map(|json| {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(json.clone())
        })
        .ok_or_else(|| ApiError::NotFound(format!("no OpenAPI document `{requested}`")))
}
