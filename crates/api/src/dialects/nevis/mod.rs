//! The Nevis Identity Cloud dialect: Nevis's user routes under
//! `/nevis/api/v1/users`, with its field names, its list envelope and its
//! error body (see `docs/dialects/nevis.md`).
//!
//! Nevis's `loginId` is an e-mail address: creating a user sets both the
//! username and the e-mail to it, and changing it changes both. Read back,
//! `loginId` is the user's username, whatever dialect created the user.
//!
//! Security intent: every route answers a user of another tenant, a deleted
//! user and a user that never existed with the same 404 (`errors.noRecord`),
//! byte for byte, so a credential cannot learn what exists outside its
//! tenant. Error bodies carry no stored value the caller did not send.

pub mod dto;
pub mod error;
pub mod extract;
pub mod handlers;

use actix_web::web;
use userhub_domain::{UniqueField, UserField};
use utoipa::OpenApi;

use crate::error::FieldNames;
use crate::openapi::BearerAuth;

/// Nevis's names for the domain's fields, used when an error names a field
/// the domain chose (a refused change, a taken value).
#[derive(Debug, Clone, Copy)]
pub struct NevisNames;

impl FieldNames for NevisNames {
    fn user_field(&self, field: UserField) -> &'static str {
        match field {
            // Nevis's loginId is the e-mail: one field for both.
            UserField::Username | UserField::Email => "loginId",
            UserField::Title => "name.title",
            UserField::FirstName => "name.firstName",
            UserField::LastName => "name.lastName",
            UserField::Locale => "languageCode",
            UserField::Phone => "contacts.telephone",
            UserField::Fax => "contacts.telefax",
            UserField::Attributes => "properties",
            other => other.as_str(),
        }
    }

    fn unique_field(&self, field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username | UniqueField::Email => "loginId",
            UniqueField::Id => "userId",
            other => other.as_str(),
        }
    }
}

/// Mount Nevis's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(handlers::create_user)
        .service(handlers::list_users)
        .service(handlers::get_user)
        .service(handlers::update_user)
        .service(handlers::delete_user);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — Nevis Identity Cloud dialect",
        description = "Nevis Identity Cloud's user API, served by userhub under `/nevis/api/v1/users`. Authenticate with `Authorization: Bearer <API key>` (a user's access token from a login works too). Every error answers `{\"errors\": [{\"code\", \"message\", \"field\"?}]}` (`NevisErrorBody`).",
    ),
    paths(
        handlers::create_user,
        handlers::list_users,
        handlers::get_user,
        handlers::update_user,
        handlers::delete_user,
    ),
    components(schemas(error::NevisErrorBody, error::NevisErrorItem)),
    tags((name = "nevis-users", description = "Create, read, list, change and delete users")),
    modifiers(&BearerAuth),
)]
struct NevisApi;

/// Nevis's OpenAPI document, with the service's own routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = NevisApi::openapi();
    document.merge(crate::openapi::service_document());
    document
}
