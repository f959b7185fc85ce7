//! The one JSON error body of iklim (and later Blocks), and the mapping of
//! every failure onto an HTTP status.
//!
//! Security intent: a 5xx answer says only "internal error" and the request
//! id; the details (never SQL values or secrets, which the lower layers do
//! not put into errors) go to the log under that id. Every [`DomainError`]
//! variant is mapped explicitly, with no catch-all.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use userhub_domain::{DomainError, StorageError, UniqueField, UserField, ValidationErrors};
use utoipa::ToSchema;

use crate::request_id;

/// The body of every error answer.
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

impl FieldErrorBody {
    /// A field error.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// How a dialect names the domain's fields in its errors.
pub trait FieldNames {
    /// The dialect's name of a user field.
    fn user_field(&self, field: UserField) -> &'static str {
        field.as_str()
    }
    /// The dialect's name of a unique key.
    fn unique_field(&self, field: UniqueField) -> &'static str {
        field.as_str()
    }
}

/// The domain's own field names.
#[derive(Debug, Clone, Copy)]
pub struct DomainNames;

impl FieldNames for DomainNames {}

/// Every failure a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: fields were invalid; all of them are listed.
    #[error("validation failed")]
    Validation(Vec<FieldErrorBody>),
    /// 400: the request is malformed (not JSON, a missing header, ...).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// 401: no valid credential (`WWW-Authenticate: Bearer`).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 401: a login with a wrong username or password (the same answer for both).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 403: the caller may not do this; `fields` lists every refused field.
    #[error("{message}")]
    Forbidden {
        /// Why.
        message: String,
        /// The refused fields, in the dialect's names.
        fields: Vec<String>,
    },
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: a unique value is taken.
    #[error("{field} is already taken")]
    Conflict {
        /// The field, in the dialect's name.
        field: String,
    },
    /// 409: the write carried a version that is no longer current.
    #[error("stale version")]
    StaleVersion {
        /// The version the request was based on.
        expected: u64,
        /// The version stored now.
        current: u64,
    },
    /// 413.
    #[error("request body too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429 with `Retry-After`.
    #[error("too many failed logins")]
    TooManyRequests {
        /// Seconds until the next attempt may succeed.
        retry_after: u64,
    },
    /// 503 with `Retry-After`: every hashing slot stayed busy.
    #[error("busy")]
    Busy {
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
    /// 503: a dependency (the database) is unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the detail is logged with the request id, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Transient storage failures (a lost database, an exhausted pool, a
/// SQLite writer lock held too long) are answered 503 with `Retry-After`;
/// the others are faults.
fn internal(error: &StorageError) -> ApiError {
    if error.is_transient() {
        ApiError::Unavailable(format!("{}: retry shortly", error.description()))
    } else {
        ApiError::Internal(error.to_string())
    }
}

impl ApiError {
    /// Render a domain error with the domain's field names.
    pub fn from_domain(error: DomainError, names: &dyn FieldNames) -> Self {
        match error {
            DomainError::Validation(errors) => Self::from_validation(errors),
            DomainError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            DomainError::Conflict(field) => ApiError::Conflict {
                field: names.unique_field(field).to_owned(),
            },
            DomainError::StaleVersion { expected, current } => {
                ApiError::StaleVersion { expected, current }
            }
            DomainError::Forbidden { fields, reason } => {
                let mut named: Vec<String> = Vec::new();
                for field in fields {
                    let name = names.user_field(field).to_owned();
                    if !named.contains(&name) {
                        named.push(name);
                    }
                }
                ApiError::Forbidden {
                    message: reason,
                    fields: named,
                }
            }
            DomainError::Unauthenticated => {
                ApiError::Unauthenticated("a valid bearer credential is required")
            }
            DomainError::Internal(e) => internal(&e),
        }
    }

    /// 400 listing every field error.
    pub fn from_validation(errors: ValidationErrors) -> Self {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|e| FieldErrorBody::new(e.field, e.code, e.message))
                .collect(),
        )
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::StaleVersion { .. } => "stale_version",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Busy { .. } => "busy",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Validation(errors) if errors.len() == 1 => "1 field is invalid".into(),
            ApiError::Validation(errors) => format!("{} fields are invalid", errors.len()),
            ApiError::BadRequest { message, .. } | ApiError::Forbidden { message, .. } => {
                message.clone()
            }
            ApiError::Unauthenticated(message) => (*message).to_owned(),
            ApiError::InvalidCredentials => "the username or password is wrong".into(),
            ApiError::NotFound(message) | ApiError::Unavailable(message) => message.clone(),
            ApiError::Conflict { field } => format!("{field} is already taken"),
            ApiError::StaleVersion { expected, current } => format!(
                "the user changed since version {expected} (now {current}): read it again and retry"
            ),
            ApiError::PayloadTooLarge { limit } => {
                format!("the request body exceeds the limit of {limit} bytes")
            }
            ApiError::UnsupportedMediaType => "the request body must be application/json".into(),
            ApiError::TooManyRequests { retry_after } => {
                format!("too many failed logins for this user: retry in {retry_after} s")
            }
            ApiError::Busy { retry_after } => {
                format!("the service is busy: retry in {retry_after} s")
            }
            ApiError::Internal(_) => "internal error".into(),
        }
    }

    fn field_errors(&self) -> Vec<FieldErrorBody> {
        match self {
            ApiError::Validation(errors) => errors.clone(),
            ApiError::Forbidden { fields, .. } => fields
                .iter()
                .map(|f| FieldErrorBody::new(f, "forbidden", "may not be changed by this caller"))
                .collect(),
            ApiError::Conflict { field } => {
                vec![FieldErrorBody::new(field, "taken", "is already taken")]
            }
            _ => Vec::new(),
        }
    }

    /// The JSON body of this error for the current request.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status: self.status_code().as_u16(),
            code: self.code().to_owned(),
            message: self.message(),
            errors: self.field_errors(),
            request_id: request_id::current(),
        }
    }
}

/// A failure of an operation shared by the dialects: a domain error, still
/// to be named in the dialect's words, or an answer already decided.
#[derive(Debug)]
pub enum Failure {
    /// A domain error; the dialect names its fields.
    Domain(DomainError),
    /// An answer that does not depend on the dialect's names.
    Api(ApiError),
}

impl Failure {
    /// The answer, with fields named as `names` says.
    pub fn render(self, names: &dyn FieldNames) -> ApiError {
        match self {
            Failure::Domain(error) => ApiError::from_domain(error, names),
            Failure::Api(error) => error,
        }
    }
}

impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Self {
        Failure::Domain(error)
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Api(error)
    }
}

impl From<ValidationErrors> for Failure {
    fn from(errors: ValidationErrors) -> Self {
        Failure::Domain(DomainError::Validation(errors))
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        ApiError::from_domain(error, &DomainNames)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::StaleVersion { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy { .. } | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = self.body();
        let id = body.request_id.as_deref().unwrap_or("-");
        match self {
            ApiError::Internal(detail) => log::error!("request {id}: internal error: {detail}"),
            ApiError::Unavailable(detail) => log::warn!("request {id}: unavailable: {detail}"),
            ApiError::Busy { .. } => log::warn!("request {id}: no hashing slot in time"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthenticated(_) | ApiError::InvalidCredentials => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"userhub\""),
                ));
            }
            ApiError::TooManyRequests { retry_after } | ApiError::Busy { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.max(&1).to_string()));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(body)
    }
}

/// Answers a body actix could not read as JSON with our error body.
pub fn json_error(error: JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::PayloadError;
    let api = match error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
        JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge {
            limit: req
                .app_data::<actix_web::web::Data<crate::app::AppState>>()
                .map_or(crate::config::DEFAULT_BODY_LIMIT, |s| s.config.body_limit),
        },
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest {
            code: "malformed_json",
            message: describe_json_error(&e),
        },
        JsonPayloadError::Serialize(e) => ApiError::Internal(format!("serializing JSON: {e}")),
        JsonPayloadError::Payload(e) => ApiError::BadRequest {
            code: "bad_request",
            message: format!("the request body could not be read: {e}"),
        },
        other => ApiError::BadRequest {
            code: "bad_request",
            message: format!("the request body could not be read: {other}"),
        },
    };
    api.into()
}

fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!("the request body is not valid JSON: {e}")
        }
        Category::Data => format!("the request body does not have the expected shape: {e}"),
    }
}

/// Answers a path segment that does not parse with our error body.
pub fn path_error(error: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest {
        code: "bad_path",
        message: format!("the path is not valid: {error}"),
    }
    .into()
}

/// Answers a query string that does not parse with our error body.
pub fn query_error(error: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest {
        code: "bad_query",
        message: format!("the query string is not valid: {error}"),
    }
    .into()
}

/// The answer for a path no route serves.
pub async fn no_route() -> ApiError {
    ApiError::NotFound("no such route".into())
}

impl actix_web::Responder for ApiError {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_detail() {
        let error = ApiError::from(DomainError::Internal(StorageError::new("query failed")));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = error.body();
        assert_eq!(body.code, "internal_error");
        assert_eq!(body.message, "internal error");
        assert!(body.errors.is_empty());
    }

    #[test]
    fn a_lost_database_is_503_with_retry_after() {
        let error = ApiError::from(DomainError::Internal(StorageError::transient(
            "database unavailable",
        )));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }

    #[test]
    fn refused_fields_are_named_once_in_the_dialect_words() {
        struct Merged;
        impl FieldNames for Merged {
            fn user_field(&self, _: UserField) -> &'static str {
                "username"
            }
        }
        let error = ApiError::from_domain(
            DomainError::Forbidden {
                fields: vec![UserField::Username, UserField::Email],
                reason: "no".into(),
            },
            &Merged,
        );
        let body = error.body();
        assert_eq!(body.status, 403);
        assert_eq!(body.errors.len(), 1);
        assert_eq!(body.errors[0].field, "username");
    }

    #[test]
    fn unauthenticated_answers_carry_the_challenge() {
        let response = ApiError::InvalidCredentials.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
