//! The iklim dialect: iklim's user, auth and account routes with its field
//! names and shapes (see `docs/dialects/iklim.md`).
//!
//! iklim's `username` is an e-mail address: creating a user sets both the
//! username and the e-mail to it, and changing it changes both. Errors use
//! the service's JSON error body, with fields in iklim's names.

pub mod dto;
pub mod handlers;

use actix_web::web;
use userhub_domain::{UniqueField, UserField};
use utoipa::OpenApi;

use crate::error::{ApiError, Failure, FieldNames};
use crate::openapi::BearerAuth;

/// iklim's names for the domain's fields.
#[derive(Debug, Clone, Copy)]
pub struct IklimNames;

impl FieldNames for IklimNames {
    fn user_field(&self, field: UserField) -> &'static str {
        match field {
            // iklim's username is the e-mail: one field for both.
            UserField::Username | UserField::Email => "username",
            UserField::MiddleName => "midName",
            UserField::TimeZone => "timezone",
            UserField::Phone => "account.mobilePhoneNumber",
            UserField::PhoneVerified => "account.mobilePhoneNumberVerified",
            UserField::EmailVerified => "account.emailVerified",
            UserField::AccountType => "account.type",
            UserField::Company => "account.company",
            UserField::Industry => "account.industry",
            UserField::Location => "account.location",
            UserField::ProfilePictureUrl => "account.profilePictureUrl",
            UserField::SubscriptionPlan => "account.subscriptionPlan",
            other => other.as_str(),
        }
    }

    fn unique_field(&self, field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username | UniqueField::Email => "username",
            UniqueField::Id => "userId",
            other => other.as_str(),
        }
    }
}

/// A shared operation's failure, in iklim's words.
pub fn iklim_error(failure: Failure) -> ApiError {
    failure.render(&IklimNames)
}

/// Mount iklim's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(handlers::create_user)
        .service(handlers::update_user)
        .service(handlers::page_users)
        .service(handlers::me)
        .service(handlers::change_password)
        .service(handlers::login)
        .service(handlers::refresh)
        .service(handlers::account);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — iklim dialect",
        description = "iklim's user API, served by userhub. Authenticate with `Authorization: Bearer <API key or access token>`. Errors share one JSON body (`ErrorBody`).",
    ),
    paths(
        handlers::create_user,
        handlers::update_user,
        handlers::page_users,
        handlers::me,
        handlers::change_password,
        handlers::login,
        handlers::refresh,
        handlers::account,
    ),
    tags(
        (name = "users", description = "Create, change and list users"),
        (name = "auth", description = "Password login and token refresh"),
        (name = "accounts", description = "A user's account"),
    ),
    modifiers(&BearerAuth),
)]
struct IklimApi;

/// iklim's OpenAPI document, with the service's own routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = IklimApi::openapi();
    document.merge(crate::openapi::service_document());
    document
}
