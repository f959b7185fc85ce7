//! What makes a dialect: its name, its field names, and how it renders an
//! [`ErrorReport`]. A handler returns [`DialectError<D>`], so every `?` in
//! it names fields the way dialect `D` does and answers in `D`'s body.
//!
//! Also the one JSON error body that iklim, SELISE Blocks, the admin API and
//! the service's own routes share ([`ErrorBody`]).

use std::fmt;
use std::marker::PhantomData;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError, web};
use serde::Serialize;
use userhub_domain::DomainError;
use utoipa::ToSchema;

use super::report::{ErrorReport, Failure, FieldNames, Kind, RequestError};
use crate::request_id;

/// A dialect: the names it gives fields, and its error answers.
pub trait Dialect: FieldNames + Send + Sync + 'static {
    /// Short name: its OpenAPI document is `/openapi/<NAME>.json`.
    const NAME: &'static str;

    /// The status the dialect answers `report` with (Nevis, say, answers
    /// invalid content 422 where the others answer 400).
    fn status(report: &ErrorReport) -> StatusCode {
        report.status
    }

    /// The body of an error answer (the status and the shared headers are
    /// set by the caller); by default the shared [`ErrorBody`].
    fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        ErrorBody::render(report, response)
    }
}

/// The answer to a failed request of dialect `D`.
pub struct DialectError<D> {
    report: ErrorReport,
    dialect: PhantomData<fn() -> D>,
}

impl<D: Dialect> DialectError<D> {
    /// The failure, reported in `D`'s words.
    pub fn new(failure: &Failure) -> Self {
        Self::from_report(ErrorReport::of::<D>(failure))
    }

    /// A report made already.
    pub fn from_report(report: ErrorReport) -> Self {
        Self {
            report,
            dialect: PhantomData,
        }
    }

    /// The report.
    pub fn report(&self) -> &ErrorReport {
        &self.report
    }
}

impl<D> fmt::Debug for DialectError<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DialectError").field(&self.report).finish()
    }
}

impl<D> fmt::Display for DialectError<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.report.status, self.report.message)
    }
}

impl<D: Dialect> From<Failure> for DialectError<D> {
    fn from(failure: Failure) -> Self {
        Self::new(&failure)
    }
}

impl<D: Dialect> From<DomainError> for DialectError<D> {
    fn from(error: DomainError) -> Self {
        Self::new(&Failure::Domain(error))
    }
}

impl<D: Dialect> From<RequestError> for DialectError<D> {
    fn from(error: RequestError) -> Self {
        Self::new(&Failure::Request(error))
    }
}

impl<D: Dialect> ResponseError for DialectError<D> {
    fn status_code(&self) -> StatusCode {
        D::status(&self.report)
    }

    fn error_response(&self) -> HttpResponse {
        respond::<D>(&self.report)
    }
}

/// The whole answer for `report` in dialect `D`: the status, the headers
/// every dialect shares (`WWW-Authenticate`, `Retry-After`, `Allow`), and
/// `D`'s body. Logs what the report asks to log.
pub fn respond<D: Dialect>(report: &ErrorReport) -> HttpResponse {
    report.log();
    let mut response = HttpResponse::build(D::status(report));
    if let Some(challenge) = report.challenge {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge.header_value()),
        ));
    }
    if let Some(seconds) = report.retry_after {
        response.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    if let Kind::MethodNotAllowed { allow } = &report.kind {
        let names: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            response.insert_header((header::ALLOW, value));
        }
    }
    D::render(report, &mut response)
}

/// One dialect as the application mounts it.
#[derive(Debug, Clone, Copy)]
pub struct Mounted {
    /// The dialect's name (`/openapi/<name>.json`).
    pub name: &'static str,
    /// The path prefixes it owns.
    pub prefixes: &'static [&'static str],
    /// Mounts its routes.
    pub configure: fn(&mut web::ServiceConfig),
    /// Its OpenAPI document.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Its answer for a failure.
    pub respond: fn(&ErrorReport) -> HttpResponse,
}

impl Mounted {
    /// Dialect `D`, owning `prefixes`, its routes and its document.
    pub const fn of<D: Dialect>(
        prefixes: &'static [&'static str],
        configure: fn(&mut web::ServiceConfig),
        openapi: fn() -> utoipa::openapi::OpenApi,
    ) -> Self {
        Self {
            name: D::NAME,
            prefixes,
            configure,
            openapi,
            respond: respond::<D>,
        }
    }
}

/// The error body iklim, SELISE Blocks, the admin API and the service's own
/// routes answer with.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "status": 400,
    "code": "validation_failed",
    "message": "2 fields are invalid",
    "errors": [
        {"field": "timezone", "code": "unknown_time_zone", "message": "must be an IANA time zone name such as Europe/Istanbul"},
        {"field": "password", "code": "too_weak", "message": "is too easy to guess (strength 0 of 4, at least 3 required)"}
    ],
    "requestId": "5f0c6d0e-3b8a-4d56-9a53-0d6f3f1b2c11"
}))]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub status: u16,
    /// A stable, machine-readable code (`validation_failed`, `forbidden`, ...).
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    /// The fields concerned, each with its own code and message (empty when
    /// the error is not about particular fields).
    pub errors: Vec<FieldErrorBody>,
    /// The request's id (also in the `X-Request-Id` header): quote it when
    /// reporting a problem, it finds the log lines.
    pub request_id: Option<String>,
}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The field, as the request's dialect names it.
    pub field: String,
    /// A stable, machine-readable code (`required`, `too_weak`, `forbidden`, ...).
    pub code: String,
    /// One sentence for a person.
    pub message: String,
}

impl ErrorBody {
    /// The body of `report`.
    pub fn of(report: &ErrorReport) -> Self {
        Self {
            status: report.status.as_u16(),
            code: report.code.to_owned(),
            message: report.message.clone(),
            errors: report
                .fields
                .iter()
                .map(|f| FieldErrorBody {
                    field: f.field.clone(),
                    code: f.code.clone(),
                    message: f.message.clone(),
                })
                .collect(),
            request_id: request_id::current(),
        }
    }

    /// Render `report` as this body (for dialects that share it).
    pub fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        response.json(Self::of(report))
    }
}

/// The service's own routes (health, OpenAPI documents, paths no dialect
/// owns): the shared error body, the domain's field names.
#[derive(Debug, Clone, Copy)]
pub struct Service;

impl FieldNames for Service {}

impl Dialect for Service {
    const NAME: &'static str = "service";
}
