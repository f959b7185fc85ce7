//! cl2c's error answers: RFC 7807 problem details (`application/problem+json`)
//! with an `errors` map of field to messages, for every failure of every
//! cl2c route — validation, malformed bodies, credentials, refusals, missing
//! users, conflicts and faults alike.
//!
//! Security intent: a body depends only on the kind of failure and the
//! request's path, never on a request id, a stored value or a secret, so two
//! failures the client must not tell apart (a wrong key, and a key of
//! another tenant) answer byte for byte the same. A 5xx says "internal
//! error" only; its detail goes to the log under the request id, which the
//! `X-Request-Id` header of every answer carries.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Failure};

use super::Cl2cNames;

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

/// Which challenge a 401 answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// The key routes: `tenant` and `X-API-Key` headers.
    ApiKey,
    /// `PUT /v1/cl2c/user`: a user's access token.
    Bearer,
}

impl Challenge {
    fn header(self) -> HeaderValue {
        match self {
            Challenge::ApiKey => {
                HeaderValue::from_static("ApiKey realm=\"userhub\", header=\"X-API-Key\"")
            }
            Challenge::Bearer => HeaderValue::from_static("Bearer realm=\"userhub\""),
        }
    }
}

/// A cl2c error answer: the problem, and what goes into headers and the log
/// (boxed: handlers return it in every `Err`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} {}", .0.problem.status, .0.problem.title)]
pub struct Cl2cError(Box<Answer>);

#[derive(Debug, Clone)]
struct Answer {
    problem: Problem,
    challenge: Challenge,
    retry_after: Option<u64>,
    /// Logged, never answered (5xx only).
    log_detail: Option<String>,
}

/// The standard's section for each status, as the problem's `type`.
fn type_uri(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        401 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
        403 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
        404 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
        409 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
        413 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
        415 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
        429 => "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        503 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
        _ => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
    }
}

impl Cl2cError {
    fn new(
        status: StatusCode,
        title: &str,
        detail: impl Into<String>,
        instance: &str,
        errors: BTreeMap<String, Vec<String>>,
    ) -> Self {
        Self(Box::new(Answer {
            problem: Problem {
                problem_type: type_uri(status).to_owned(),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                instance: instance.to_owned(),
                errors,
            },
            challenge: Challenge::ApiKey,
            retry_after: None,
            log_detail: None,
        }))
    }

    /// 401 with `detail`, challenging for `challenge`.
    pub fn unauthenticated(detail: &str, challenge: Challenge, instance: &str) -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            detail,
            instance,
            BTreeMap::new(),
        );
        error.0.challenge = challenge;
        error
    }

    /// 403 naming `field` (in cl2c's words) with `message`.
    pub fn forbidden_field(detail: &str, field: &str, message: &str, instance: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            detail,
            instance,
            BTreeMap::from([(field.to_owned(), vec![message.to_owned()])]),
        )
    }

    /// 403 for the whole operation.
    pub fn forbidden(detail: &str, instance: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            detail,
            instance,
            BTreeMap::new(),
        )
    }

    /// The answer for `error` on the request to `instance`, with 401s
    /// challenging for `challenge`. Every variant is mapped explicitly.
    pub fn from_api(error: &ApiError, instance: &str, challenge: Challenge) -> Self {
        let none = BTreeMap::new;
        let mut answer = match error {
            ApiError::Validation(fields) => {
                let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for field in fields {
                    errors
                        .entry(field.field.clone())
                        .or_default()
                        .push(field.message.clone());
                }
                let detail = match errors.len() {
                    1 => "1 field is invalid: see `errors`".to_owned(),
                    n => format!("{n} fields are invalid: see `errors`"),
                };
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "One or more fields are invalid",
                    detail,
                    instance,
                    errors,
                )
            }
            ApiError::BadRequest { message, .. } => Self::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                message.clone(),
                instance,
                none(),
            ),
            ApiError::Unauthenticated(message) => Self::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                *message,
                instance,
                none(),
            ),
            ApiError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "the username or password is wrong",
                instance,
                none(),
            ),
            ApiError::Forbidden { message, fields } => Self::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                message.clone(),
                instance,
                fields
                    .iter()
                    .map(|f| {
                        (
                            f.clone(),
                            vec!["may not be changed by this caller".to_owned()],
                        )
                    })
                    .collect(),
            ),
            ApiError::NotFound(message) => Self::new(
                StatusCode::NOT_FOUND,
                "Not found",
                message.clone(),
                instance,
                none(),
            ),
            ApiError::Conflict { field } => Self::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("{field} is already taken in this tenant"),
                instance,
                BTreeMap::from([(field.clone(), vec!["is already taken".to_owned()])]),
            ),
            ApiError::StaleVersion { expected, current } => Self::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!(
                    "the user changed since version {expected} (now {current}): read it again and retry"
                ),
                instance,
                none(),
            ),
            ApiError::PayloadTooLarge { limit } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Content too large",
                format!("the request body exceeds the limit of {limit} bytes"),
                instance,
                none(),
            ),
            ApiError::UnsupportedMediaType => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "the request body must be application/json",
                instance,
                none(),
            ),
            ApiError::TooManyRequests { retry_after } => {
                let mut answer = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    format!("too many failed attempts: retry in {retry_after} s"),
                    instance,
                    none(),
                );
                answer.0.retry_after = Some(*retry_after);
                answer
            }
            ApiError::Busy { retry_after } => {
                let mut answer = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    format!("the service is busy: retry in {retry_after} s"),
                    instance,
                    none(),
                );
                answer.0.retry_after = Some(*retry_after);
                answer
            }
            ApiError::Unavailable(detail) => {
                let mut answer = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    "the service cannot reach its database: retry shortly",
                    instance,
                    none(),
                );
                answer.0.retry_after = Some(1);
                answer.0.log_detail = Some(detail.clone());
                answer
            }
            ApiError::Internal(detail) => {
                let mut answer = Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error",
                    "internal error: quote the X-Request-Id header of this answer when reporting it",
                    instance,
                    none(),
                );
                answer.0.log_detail = Some(detail.clone());
                answer
            }
        };
        answer.0.challenge = challenge;
        answer
    }

    /// The answer for a shared operation's failure, fields in cl2c's names.
    pub fn from_failure(failure: Failure, instance: &str, challenge: Challenge) -> Self {
        Self::from_api(&failure.render(&Cl2cNames), instance, challenge)
    }

    /// The answer for a body or query actix could not read: the shared
    /// handlers turn those into an [`ApiError`], rendered here as a problem.
    pub fn from_extraction(error: &actix_web::Error, instance: &str) -> Self {
        match error.as_error::<ApiError>() {
            Some(api) => Self::from_api(api, instance, Challenge::ApiKey),
            None => Self::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "the request could not be read",
                instance,
                BTreeMap::new(),
            ),
        }
    }

    /// The problem this answers.
    pub fn problem(&self) -> &Problem {
        &self.0.problem
    }
}

impl ResponseError for Cl2cError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(detail) = &self.0.log_detail {
            let id = crate::request_id::current().unwrap_or_else(|| "-".to_owned());
            log::error!(
                "request {id}: {} {}: {detail}",
                self.0.problem.status,
                self.0.problem.title
            );
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        if self.0.problem.status == StatusCode::UNAUTHORIZED.as_u16() {
            response.insert_header((header::WWW_AUTHENTICATE, self.0.challenge.header()));
        }
        if let Some(seconds) = self.0.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.max(1).to_string()));
        }
        match serde_json::to_string(&self.0.problem) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::FieldErrorBody;

    #[test]
    fn validation_groups_messages_by_field() {
        let error = ApiError::Validation(vec![
            FieldErrorBody::new("phoneNumber", "invalid_format", "a"),
            FieldErrorBody::new("email", "required", "b"),
            FieldErrorBody::new("phoneNumber", "other", "c"),
        ]);
        let answer = Cl2cError::from_api(&error, "/v1/cl2c/user", Challenge::ApiKey);
        let problem = answer.problem();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.instance, "/v1/cl2c/user");
        assert_eq!(problem.errors["phoneNumber"], ["a", "c"]);
        assert_eq!(problem.errors["email"], ["b"]);
        assert_eq!(problem.detail, "2 fields are invalid: see `errors`");
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let error = ApiError::Internal("SELECT secret".into());
        let answer = Cl2cError::from_api(&error, "/v1/cl2c/users", Challenge::ApiKey);
        let body = serde_json::to_string(answer.problem()).unwrap();
        assert!(!body.contains("SELECT"), "{body}");
        let response = answer.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
    }

    #[test]
    fn unauthenticated_answers_carry_the_challenge() {
        let answer = Cl2cError::unauthenticated("no", Challenge::Bearer, "/v1/cl2c/user");
        let response = answer.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer realm=\"userhub\""
        );
    }
}
