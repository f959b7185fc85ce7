//! The iklim dialect: iklim's user, auth and account routes with its field
//! names and shapes (see `docs/dialects/iklim.md`).
//!
//! iklim's `username` is an e-mail address: creating a user sets both the
//! username and the e-mail to it, and changing it changes both. Errors use
//! the service's JSON error body ([`ErrorBody`]), with fields in iklim's
//! names.

pub mod dto;
pub mod handlers;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use userhub_domain::{Field, UniqueField, UserField};
use utoipa::OpenApi;

use crate::toolkit::openapi::{BearerAuth, ErrorResponses};
use crate::toolkit::{Dialect, ErrorBody, ErrorReport, FieldNames};

/// The iklim dialect.
#[derive(Debug, Clone, Copy)]
pub struct Iklim;

impl FieldNames for Iklim {
    fn user_field(field: UserField) -> &'static str {
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

    fn unique_field(field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username | UniqueField::Email => "username",
            UniqueField::Id => "userId",
            other => other.as_str(),
        }
    }

    fn field(field: &Field) -> String {
        match field {
            Field::CurrentPassword => "oldPassword".to_owned(),
            Field::User(field) => Self::user_field(*field).to_owned(),
            other => other.domain_name().to_owned(),
        }
    }
}

impl Dialect for Iklim {
    const NAME: &'static str = "iklim";

    fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        ErrorBody::render(report, response)
    }
}

/// The paths iklim owns (its 404 and 405 answers are iklim's).
pub const PREFIXES: &[&str] = &["/v1/users", "/v1/auth", "/v1/accounts"];

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

const ERRORS: ErrorResponses = ErrorResponses {
    schema: "ErrorBody",
    content_type: "application/json",
    invalid: StatusCode::BAD_REQUEST,
};

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
    components(schemas(ErrorBody)),
    tags(
        (name = "users", description = "Create, change and list users"),
        (name = "auth", description = "Password login and token refresh"),
        (name = "accounts", description = "A user's account"),
    ),
    modifiers(&BearerAuth, &ERRORS),
)]
struct IklimApi;

/// iklim's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    IklimApi::openapi()
}
