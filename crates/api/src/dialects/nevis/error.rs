//! Nevis's error answers: one body for every status,
//! `{"errors": [{"code": "errors.<name>", "message": "...", "field": "..."}]}`,
//! the shape of Nevis's documented `errors.noRecord`.
//!
//! | status | code | when |
//! |---|---|---|
//! | 401 | `errors.unauthorized` | no, or no valid, bearer credential |
//! | 403 | `errors.forbidden` | the caller's roles do not allow it (one item per refused field) |
//! | 404 | `errors.noRecord` | no such user in the caller's tenant (or deleted) |
//! | 409 | `errors.alreadyExists` / `errors.versionConflict` | a taken `loginId` / `userId`; a stale `version` |
//! | 413 / 415 | `errors.payloadTooLarge` / `errors.unsupportedMediaType` | the body |
//! | 422 | `errors.<rule>` (`errors.required`, `errors.invalidFormat`, ...) | invalid content: one item per bad field; malformed JSON too |
//! | 429 / 503 | `errors.tooManyRequests` / `errors.unavailable` | retry after `Retry-After` |
//! | 500 | `errors.internal` | logged under the request id, which the message quotes |
//!
//! Security intent: a 5xx answer says only that an error occurred and under
//! which request id; the detail goes to the log. Every [`ApiError`] variant
//! is mapped explicitly, with no catch-all.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use userhub_domain::DomainError;
use utoipa::ToSchema;

use super::NevisNames;
use crate::error::{ApiError, Failure};
use crate::request_id;

/// The code of "no such user", as Nevis documents it.
pub const NO_RECORD: &str = "errors.noRecord";

/// The one message of every "no such user" answer: it must not differ
/// between a user that never existed, a deleted one and another tenant's.
pub const NO_RECORD_MESSAGE: &str = "no user with this userId exists";

/// The body of every Nevis error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "errors": [
        {"code": "errors.invalidFormat", "message": "must be in E.164 form: + and 2 to 15 digits, no spaces", "field": "contacts.telephone"},
        {"code": "errors.undeclaredAttribute", "message": "is not a declared attribute of this tenant", "field": "properties.shoeSize"}
    ]
}))]
pub struct NevisErrorBody {
    /// One item per problem (per bad field, for 422).
    pub errors: Vec<NevisErrorItem>,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NevisErrorItem {
    /// A stable code, `errors.` and a camelCase name (`errors.noRecord`,
    /// `errors.required`, `errors.versionConflict`, ...).
    #[schema(example = "errors.noRecord")]
    pub code: String,
    /// One sentence for a person.
    #[schema(example = "no user with this userId exists")]
    pub message: String,
    /// The field concerned, in Nevis's names (`loginId`, `name.firstName`,
    /// `contacts.telephone`, `properties.<name>`, ...); absent when the
    /// problem is not about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "contacts.telephone")]
    pub field: Option<String>,
}

impl NevisErrorItem {
    fn new(code: impl Into<String>, message: impl Into<String>, field: Option<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            field,
        }
    }
}

/// A failed Nevis request, ready to be answered.
#[derive(Debug)]
pub struct NevisError {
    status: StatusCode,
    errors: Vec<NevisErrorItem>,
    retry_after: Option<u64>,
    /// What the log gets (5xx only): never sent to the client.
    detail: Option<String>,
}

impl fmt::Display for NevisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.errors.first().map_or("", |e| e.message.as_str());
        write!(f, "{}: {first}", self.status)
    }
}

/// `errors.` and the domain's snake_case code in camelCase
/// (`invalid_format` becomes `errors.invalidFormat`).
pub fn nevis_code(code: &str) -> String {
    let mut out = String::from("errors.");
    let mut upper = false;
    for c in code.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The domain names the list position `cursor`; Nevis calls it
/// `continuationToken`. Every other field already has its Nevis name.
fn nevis_field(field: &str) -> String {
    match field {
        "cursor" => "continuationToken".to_owned(),
        other => other.to_owned(),
    }
}

impl NevisError {
    fn new(status: StatusCode, errors: Vec<NevisErrorItem>) -> Self {
        Self {
            status,
            errors,
            retry_after: None,
            detail: None,
        }
    }

    fn single(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::new(status, vec![NevisErrorItem::new(code, message, None)])
    }

    /// 404 `errors.noRecord`: the one answer for a user the caller cannot see.
    pub fn no_record() -> Self {
        Self::single(StatusCode::NOT_FOUND, NO_RECORD, NO_RECORD_MESSAGE)
    }

    /// 422 about the request as a whole (not one field).
    pub fn malformed(code: &str, message: impl Into<String>) -> Self {
        Self::single(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> NevisErrorBody {
        NevisErrorBody {
            errors: self.errors.clone(),
        }
    }

    /// A shared answer, in Nevis's body.
    pub fn from_api(error: &ApiError) -> Self {
        match error {
            ApiError::Validation(fields) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                fields
                    .iter()
                    .map(|f| {
                        NevisErrorItem::new(
                            nevis_code(&f.code),
                            f.message.clone(),
                            Some(nevis_field(&f.field)),
                        )
                    })
                    .collect(),
            ),
            // Nevis documents 422 for any invalid request content, so a body
            // that is not JSON is a 422 too, not a 400.
            ApiError::BadRequest { code, message } => Self::malformed(&nevis_code(code), message),
            ApiError::Unauthenticated(message) => {
                Self::single(StatusCode::UNAUTHORIZED, "errors.unauthorized", *message)
            }
            ApiError::InvalidCredentials => Self::single(
                StatusCode::UNAUTHORIZED,
                "errors.unauthorized",
                "the credential is not valid",
            ),
            ApiError::Forbidden { message, fields } => {
                let errors = if fields.is_empty() {
                    vec![NevisErrorItem::new(
                        "errors.forbidden",
                        message.clone(),
                        None,
                    )]
                } else {
                    fields
                        .iter()
                        .map(|f| {
                            NevisErrorItem::new(
                                "errors.forbidden",
                                message.clone(),
                                Some(f.clone()),
                            )
                        })
                        .collect()
                };
                Self::new(StatusCode::FORBIDDEN, errors)
            }
            ApiError::NotFound(_) => Self::no_record(),
            ApiError::Conflict { field } => Self::new(
                StatusCode::CONFLICT,
                vec![NevisErrorItem::new(
                    "errors.alreadyExists",
                    format!("{field} is already taken in this instance"),
                    Some(field.clone()),
                )],
            ),
            ApiError::StaleVersion { expected, current } => Self::new(
                StatusCode::CONFLICT,
                vec![NevisErrorItem::new(
                    "errors.versionConflict",
                    format!(
                        "the user is at version {current}, not {expected}: read it again and retry; nothing was changed"
                    ),
                    Some("version".to_owned()),
                )],
            ),
            ApiError::PayloadTooLarge { limit } => Self::single(
                StatusCode::PAYLOAD_TOO_LARGE,
                "errors.payloadTooLarge",
                format!("the request body exceeds the limit of {limit} bytes"),
            ),
            ApiError::UnsupportedMediaType => Self::single(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "errors.unsupportedMediaType",
                "the request body must be application/json",
            ),
            ApiError::TooManyRequests { retry_after } => Self {
                retry_after: Some(*retry_after),
                ..Self::single(
                    StatusCode::TOO_MANY_REQUESTS,
                    "errors.tooManyRequests",
                    format!("too many attempts: retry in {retry_after} s"),
                )
            },
            ApiError::Busy { retry_after } => Self {
                retry_after: Some(*retry_after),
                ..Self::single(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "errors.unavailable",
                    format!("the service is busy: retry in {retry_after} s"),
                )
            },
            ApiError::Unavailable(detail) => Self {
                retry_after: Some(1),
                detail: Some(detail.clone()),
                ..Self::single(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "errors.unavailable",
                    "the service is temporarily unavailable: retry shortly",
                )
            },
            ApiError::Internal(detail) => {
                let id = request_id::current().unwrap_or_else(|| "-".to_owned());
                Self {
                    detail: Some(detail.clone()),
                    ..Self::single(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "errors.internal",
                        format!("an unexpected error occurred (request id {id})"),
                    )
                }
            }
        }
    }

    /// An error actix produced while reading the request (the body): our
    /// shared handlers put an [`ApiError`] inside; anything else is a 422.
    pub fn from_actix(error: &actix_web::Error) -> Self {
        match error.as_error::<ApiError>() {
            Some(api) => Self::from_api(api),
            None => Self::malformed(
                "errors.malformedRequest",
                format!("the request could not be read: {error}"),
            ),
        }
    }
}

impl From<Failure> for NevisError {
    fn from(failure: Failure) -> Self {
        Self::from_api(&failure.render(&NevisNames))
    }
}

impl From<DomainError> for NevisError {
    fn from(error: DomainError) -> Self {
        Self::from(Failure::Domain(error))
    }
}

impl From<ApiError> for NevisError {
    fn from(error: ApiError) -> Self {
        Self::from_api(&error)
    }
}

impl ResponseError for NevisError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(detail) = &self.detail {
            let id = request_id::current().unwrap_or_else(|| "-".to_owned());
            if self.status.is_server_error() && self.status != StatusCode::SERVICE_UNAVAILABLE {
                log::error!("request {id}: internal error: {detail}");
            } else {
                log::warn!("request {id}: unavailable: {detail}");
            }
        }
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"userhub\""),
            ));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.max(1).to_string()));
        }
        response.json(self.body())
    }
}

impl actix_web::Responder for NevisError {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _req: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use userhub_domain::{StorageError, UniqueField, UserField, ValueError};

    #[test]
    fn codes_are_camel_case_under_errors() {
        assert_eq!(nevis_code("invalid_format"), "errors.invalidFormat");
        assert_eq!(nevis_code("required"), "errors.required");
        assert_eq!(
            nevis_code("undeclared_attribute"),
            "errors.undeclaredAttribute"
        );
    }

    #[test]
    fn not_found_is_exactly_no_record() {
        let error = NevisError::from(DomainError::NotFound("user"));
        assert_eq!(error.status(), StatusCode::NOT_FOUND);
        let body = serde_json::to_value(error.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"errors": [{"code": "errors.noRecord", "message": NO_RECORD_MESSAGE}]})
        );
    }

    #[test]
    fn validation_names_each_field_and_renames_the_cursor() {
        let mut errors = userhub_domain::ValidationErrors::new();
        errors.push(ValueError::required().at("loginId"));
        errors.push(ValueError::new("invalid_cursor", "bad").at("cursor"));
        let error = NevisError::from(DomainError::Validation(errors));
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<_> = error
            .body()
            .errors
            .into_iter()
            .map(|e| (e.code, e.field.unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                ("errors.required".to_owned(), "loginId".to_owned()),
                (
                    "errors.invalidCursor".to_owned(),
                    "continuationToken".to_owned()
                )
            ]
        );
    }

    #[test]
    fn domain_fields_get_nevis_names() {
        let error = NevisError::from(DomainError::Forbidden {
            fields: vec![UserField::Username, UserField::Email, UserField::Phone],
            reason: "no".into(),
        });
        let fields: Vec<_> = error
            .body()
            .errors
            .into_iter()
            .map(|e| e.field.unwrap())
            .collect();
        assert_eq!(fields, ["loginId", "contacts.telephone"]);
        let conflict = NevisError::from(DomainError::Conflict(UniqueField::Email));
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(conflict.body().errors[0].field.as_deref(), Some("loginId"));
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let error = NevisError::from(DomainError::Internal(StorageError::new("query failed")));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = serde_json::to_string(&error.body()).unwrap();
        assert!(!text.contains("query failed"), "{text}");
        assert!(text.contains("errors.internal"));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn unauthenticated_answers_carry_the_challenge() {
        let response = NevisError::from_api(&ApiError::Unauthenticated("no")).error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
