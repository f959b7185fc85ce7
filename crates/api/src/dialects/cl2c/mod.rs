//! The cl2c dialect: cl2c's user routes with its field names and shapes
//! (see `docs/dialects/cl2c.md`).
//!
//! Create, list and get are authenticated by the `tenant` header (the
//! tenant's name or id) and `X-API-Key` (one of that tenant's API keys);
//! `PUT /v1/cl2c/user` changes the logged-in user, authenticated by the
//! access token of a password login. Every error is an RFC 7807 problem
//! (`application/problem+json`) with an `errors` map in cl2c's field names.
//!
//! Security intent: a key acts in its own tenant only, and a pair of
//! headers that does not match answers exactly like a wrong key; a user of
//! another tenant, or a deleted one, answers exactly like an unknown one.

pub mod auth;
pub mod dto;
pub mod handlers;
pub mod problem;

use actix_web::web;
use userhub_domain::{UniqueField, UserField};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::FieldNames;
use crate::openapi::BearerAuth;

/// cl2c's names for the domain's fields.
#[derive(Debug, Clone, Copy)]
pub struct Cl2cNames;

impl FieldNames for Cl2cNames {
    fn user_field(&self, field: UserField) -> &'static str {
        match field {
            UserField::Username => "userName",
            UserField::Phone => "phoneNumber",
            UserField::EmailVerified => "emailConfirmed",
            other => other.as_str(),
        }
    }

    fn unique_field(&self, field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username => "userName",
            other => other.as_str(),
        }
    }
}

/// Mount cl2c's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(handlers::create_user)
        .service(handlers::update_user)
        .service(handlers::list_users)
        .service(handlers::get_user);
}

/// Adds the `tenant` and `apiKey` header schemes the key routes require
/// together.
#[derive(Debug)]
struct TenantKeyAuth;

impl Modify for TenantKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "tenant",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                auth::TENANT_HEADER,
                "The tenant's name or id. Sent with `X-API-Key`; the key must belong to this tenant.",
            ))),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                auth::API_KEY_HEADER,
                "An API key of the `tenant` header's tenant (`uhk_...`, made with `userhub api-key create`).",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — cl2c dialect",
        description = "cl2c's user API, served by userhub. Create, list and get send the `tenant` and `X-API-Key` headers; `PUT /v1/cl2c/user` sends a user's access token (`Authorization: Bearer`, from `POST /v1/auth/login`). Every error is an RFC 7807 problem (`application/problem+json`) with an `errors` map of field to messages.",
    ),
    paths(
        handlers::create_user,
        handlers::update_user,
        handlers::list_users,
        handlers::get_user,
    ),
    components(schemas(problem::Problem)),
    tags((name = "users", description = "Create, change, list and get users")),
    modifiers(&TenantKeyAuth, &BearerAuth),
)]
struct Cl2cApi;

/// cl2c's OpenAPI document, with the service's own routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = Cl2cApi::openapi();
    document.merge(crate::openapi::service_document());
    document
}
