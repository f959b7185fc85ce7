//! The cl2c dialect: cl2c's user routes with its field names and shapes
//! (see `docs/dialects/cl2c.md`).
//!
//! Create, list and get are authenticated by the `tenant` header (the
//! tenant's name or id) and `X-API-Key` (one of that tenant's API keys);
//! `PUT /v1/cl2c/user` changes the logged-in user, authenticated by the
//! access token of a password login (see [`auth`]). Every error is an
//! RFC 7807 problem (`application/problem+json`) with an `errors` map in
//! cl2c's field names.
//!
//! Security intent: a problem's body depends only on the kind of failure and
//! the request's path, never on a request id, a stored value or a secret, so
//! failures a client must not tell apart (a wrong key, and a key of another
//! tenant; a user of another tenant, a deleted one and an unknown one)
//! answer byte for byte the same. A 5xx says "internal error" only; its
//! detail goes to the log under the `X-Request-Id` every answer carries.

pub mod auth;
pub mod dto;
pub mod handlers;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use userhub_domain::{UniqueField, UserField};
use utoipa::ToSchema;

use crate::request_id;
use crate::toolkit::{Dialect, ErrorReport, FieldNames, Kind};

/// The cl2c dialect.
#[derive(Debug, Clone, Copy)]
pub struct Cl2c;

impl FieldNames for Cl2c {
    fn user_field(field: UserField) -> &'static str {
        match field {
            UserField::Username => "userName",
            UserField::Phone => "phoneNumber",
            UserField::EmailVerified => "emailConfirmed",
            other => other.as_str(),
        }
    }

    fn unique_field(field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username => "userName",
            other => other.as_str(),
        }
    }
}

/// The media type of every cl2c error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 7807 problem, as cl2c answers every error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
    "title": "One or more fields are invalid",
    "status": 400,
    "detail": "2 fields are invalid: see `errors`",
    "instance": "/v1/cl2c/user",
    "errors": {
        "email": ["must be an e-mail address like name@example.com"],
        "phoneNumber": ["is not a valid number for its country calling code"]
    }
}))]
pub struct Problem {
    /// A URI naming the kind of problem: the section of the HTTP standard
    /// that defines the status.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
    /// The request's path.
    #[schema(example = "/v1/cl2c/user")]
    pub instance: String,
    /// Each field concerned (in cl2c's names: `firstName`, `userName`,
    /// `phoneNumber`, ...) with its messages; empty when the problem is not
    /// about particular fields.
    pub errors: BTreeMap<String, Vec<String>>,
}

/// The section of the standard that defines `status` (the problem's
/// `type`), and the problem's title.
fn section(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("rfc9110#section-15.5.1", "Bad request"),
        401 => ("rfc9110#section-15.5.2", "Unauthorized"),
        403 => ("rfc9110#section-15.5.4", "Forbidden"),
        404 => ("rfc9110#section-15.5.5", "Not found"),
        405 => ("rfc9110#section-15.5.6", "Method not allowed"),
        408 => ("rfc9110#section-15.5.9", "Request timeout"),
        409 => ("rfc9110#section-15.5.10", "Conflict"),
        413 => ("rfc9110#section-15.5.14", "Content too large"),
        415 => ("rfc9110#section-15.5.16", "Unsupported media type"),
        429 => ("rfc6585#section-4", "Too many requests"),
        503 => ("rfc9110#section-15.6.4", "Service unavailable"),
        _ => ("rfc9110#section-15.6.1", "Internal server error"),
    }
}

impl Problem {
    /// The problem of `report` on the request to `instance`.
    pub fn of(report: &ErrorReport, instance: String) -> Self {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for problem in &report.fields {
            let messages = errors.entry(problem.field.clone()).or_default();
            messages.push(problem.message.clone());
        }
        let (section, mut title) = section(report.status);
        let detail = match &report.kind {
            Kind::Validation => {
                title = "One or more fields are invalid";
                match errors.len() {
                    1 => "1 field is invalid: see `errors`".to_owned(),
                    n => format!("{n} fields are invalid: see `errors`"),
                }
            }
            Kind::Conflict { field, .. } => format!("{field} is already taken in this tenant"),
            // The body carries no request id (see the module's intent): say
            // where to find it instead.
            Kind::Internal => {
                "internal error: quote the X-Request-Id header of this answer when reporting it"
                    .to_owned()
            }
            _ => report.message.clone(),
        };
        Self {
            problem_type: format!("https://www.rfc-editor.org/rfc/{section}"),
            title: title.to_owned(),
            status: report.status.as_u16(),
            detail,
            instance,
            errors,
        }
    }
}

impl Dialect for Cl2c {
    const NAME: &'static str = "cl2c";

    fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        let instance = request_id::current_path().unwrap_or_default();
        response
            .content_type(PROBLEM_JSON)
            .json(Problem::of(report, instance))
    }
}

/// The paths cl2c owns (its 404 and 405 answers are problems).
pub const PREFIXES: &[&str] = &["/v1/cl2c"];
