//! Every way a request can fail, and the one neutral report each failure
//! becomes (status, code, message, field errors, `Retry-After`,
//! `WWW-Authenticate`, what to log) before a dialect puts it in its words.
//!
//! Security intent: the transient-storage rule (a lost database, an
//! exhausted pool, a busy SQLite writer: 503 with `Retry-After`) is applied
//! here once, for every route and for authentication too. A 5xx report
//! carries its detail for the log only; the client sees "internal error" and
//! the request id. Field errors name fields in the dialect's words and never
//! carry the value that was sent. Every variant is mapped explicitly.

use actix_web::http::{Method, StatusCode};
use userhub_domain::{DomainError, Field, UniqueField, UserField};

/// A failure of the request itself, before or around the domain operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is not valid JSON; the message says where, never what.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not an object.
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// The body is larger than the limit.
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body is not of the route's media type (JSON, or NDJSON for an
    /// import).
    #[error("the request body must be {expected}")]
    UnsupportedMediaType {
        /// The media type the route reads.
        expected: &'static str,
    },
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {seconds} s")]
    BodyTimeout {
        /// The limit, in seconds.
        seconds: u64,
    },
    /// The query string could not be read.
    #[error("the query string is not valid: {0}")]
    MalformedQuery(String),
    /// No credential, or one that authenticates nothing.
    #[error("{message}")]
    Unauthenticated {
        /// What to tell the client, in the dialect's words.
        message: &'static str,
        /// What to ask for in `WWW-Authenticate`.
        challenge: Challenge,
    },
    /// The caller may not do this, for a reason of the route itself (not a
    /// rule of the domain): a route that changes only the caller's own user,
    /// say. Names the request field at fault, if one is.
    #[error("{reason}")]
    Forbidden {
        /// Why, in one sentence.
        reason: &'static str,
        /// The request field at fault, and what is wrong with it.
        field: Option<(&'static str, &'static str)>,
    },
    /// No route has this path.
    #[error("no such route")]
    NoRoute,
    /// A route has this path, but not this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path answers.
        allow: Vec<Method>,
    },
    /// Something failed that the client cannot fix (logged, never sent).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a request failed: the domain said no, or the request itself is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The domain operation's error.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A failure of the request itself.
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl From<userhub_domain::ValidationErrors> for Failure {
    fn from(errors: userhub_domain::ValidationErrors) -> Self {
        Failure::Domain(DomainError::Validation(errors))
    }
}

impl From<userhub_domain::FieldError> for Failure {
    fn from(error: userhub_domain::FieldError) -> Self {
        Failure::Domain(error.into())
    }
}

/// What a 401 asks for in `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// `Authorization: Bearer ...`.
    Bearer,
    /// cl2c's key routes: the `tenant` and `X-API-Key` headers.
    ApiKey,
}

impl Challenge {
    /// The header's value.
    pub fn header_value(self) -> &'static str {
        match self {
            Challenge::Bearer => "Bearer realm=\"userhub\"",
            Challenge::ApiKey => "ApiKey realm=\"userhub\", header=\"X-API-Key\"",
        }
    }
}

/// The kind of failure, with what a dialect may need to word it its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Fields are invalid; [`ErrorReport::fields`] lists all of them.
    Validation,
    /// The request is malformed as a whole (not JSON, not an object, a bad
    /// query string).
    BadRequest,
    /// No valid credential.
    Unauthenticated,
    /// A login with a wrong name or password.
    InvalidCredentials,
    /// A login named no tenant while several exist.
    TenantRequired,
    /// The caller may not do this; refused fields are listed.
    Forbidden,
    /// The thing asked for does not exist for the caller.
    NotFound,
    /// A unique value is taken.
    Conflict {
        /// The field, in the dialect's words.
        field: String,
    },
    /// The write carried a version that is no longer current.
    StaleVersion,
    /// The body is too large.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The body did not arrive in time.
    RequestTimeout,
    /// Too many failed attempts.
    TooManyRequests,
    /// Every hashing slot is busy.
    Busy,
    /// A dependency (the database) is unavailable.
    Unavailable,
    /// No such route.
    NoRoute,
    /// A route with this path exists, not with this method.
    MethodNotAllowed {
        /// The methods the path answers.
        allow: Vec<Method>,
    },
    /// A fault; its detail is logged.
    Internal,
}

/// One field's problem, in the dialect's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's name in the dialect (a JSON path).
    pub field: String,
    /// A stable snake_case code (`required`, `too_weak`, `forbidden`, ...).
    pub code: String,
    /// One sentence for a person.
    pub message: String,
}

/// A failure, decided and named, ready for a dialect to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// What kind of failure.
    pub kind: Kind,
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable snake_case code (`validation_failed`, `not_found`, ...).
    pub code: &'static str,
    /// One sentence for a person (never a secret, SQL or a stored value).
    pub message: String,
    /// The fields concerned, each once, in the order found.
    pub fields: Vec<FieldProblem>,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
    /// What `WWW-Authenticate` asks for (401).
    pub challenge: Option<Challenge>,
    /// What the log gets, never the client (5xx).
    pub log: Option<String>,
}

/// How a dialect names the fields the domain names.
pub trait FieldNames {
    /// The dialect's name of a user field.
    fn user_field(field: UserField) -> &'static str {
        field.as_str()
    }

    /// The dialect's name of a unique key.
    fn unique_field(field: UniqueField) -> &'static str {
        field.as_str()
    }

    /// The dialect's name of a field the domain names, other than a user
    /// field, where it differs from the domain's own.
    fn other_field(_field: &Field) -> Option<String> {
        None
    }

    /// The dialect's name of any field an error names.
    fn field(field: &Field) -> String {
        match field {
            Field::User(field) => Self::user_field(*field).to_owned(),
            other => Self::other_field(other).unwrap_or_else(|| other.domain_name().into_owned()),
        }
    }
}

impl ErrorReport {
    fn new(kind: Kind, status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            challenge: None,
            log: None,
        }
    }

    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    fn logged(mut self, detail: String) -> Self {
        self.log = Some(detail);
        self
    }

    fn with_field(mut self, field: String, code: &str, message: &str) -> Self {
        if !self.fields.iter().any(|f| f.field == field) {
            self.fields.push(FieldProblem {
                field,
                code: code.to_owned(),
                message: message.to_owned(),
            });
        }
        self
    }

    /// The report of `failure`, fields named as `N` names them.
    pub fn of<N: FieldNames + ?Sized>(failure: &Failure) -> Self {
        match failure {
            Failure::Domain(error) => Self::of_domain::<N>(error),
            Failure::Request(error) => Self::of_request(error),
        }
    }

    fn of_domain<N: FieldNames + ?Sized>(error: &DomainError) -> Self {
        match error {
            DomainError::Validation(errors) => {
                let count = errors.errors().len();
                let message = match count {
                    1 => "1 field is invalid".to_owned(),
                    n => format!("{n} fields are invalid"),
                };
                let mut report = Self::new(
                    Kind::Validation,
                    StatusCode::BAD_REQUEST,
                    "validation_failed",
                    message,
                );
                report.fields = errors
                    .errors()
                    .iter()
                    .map(|e| FieldProblem {
                        field: N::field(&e.field),
                        code: e.code.to_owned(),
                        message: e.message.clone(),
                    })
                    .collect();
                report
            }
            DomainError::NotFound(what) => Self::new(
                Kind::NotFound,
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            DomainError::Conflict(unique) => {
                let field = N::unique_field(*unique).to_owned();
                Self::new(
                    Kind::Conflict {
                        field: field.clone(),
                    },
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("{field} is already taken"),
                )
                .with_field(field, "taken", "is already taken")
            }
            DomainError::StaleVersion { expected, current } => Self::new(
                Kind::StaleVersion,
                StatusCode::CONFLICT,
                "stale_version",
                format!(
                    "the user changed since version {expected} (now {current}): read it again and retry"
                ),
            ),
            DomainError::Forbidden { fields, reason } => {
                let report = Self::new(
                    Kind::Forbidden,
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    reason.clone(),
                );
                fields.iter().fold(report, |report, field| {
                    report.with_field(
                        N::user_field(*field).to_owned(),
                        "forbidden",
                        "may not be changed by this caller",
                    )
                })
            }
            DomainError::Unauthenticated => Self::of_request(&RequestError::Unauthenticated {
                message: "a valid bearer credential is required",
                challenge: Challenge::Bearer,
            }),
            DomainError::InvalidCredentials => {
                let mut report = Self::new(
                    Kind::InvalidCredentials,
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "the username or password is wrong",
                );
                report.challenge = Some(Challenge::Bearer);
                report
            }
            DomainError::TenantRequired { tenants } => Self::new(
                Kind::TenantRequired,
                StatusCode::BAD_REQUEST,
                "tenant_required",
                format!(
                    "name the tenant to log in to in the `tenant` header (its name or id): this service has {tenants} tenants"
                ),
            ),
            DomainError::TooManyAttempts { retry_after } => Self::new(
                Kind::TooManyRequests,
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many failed attempts: retry in {retry_after} s"),
            )
            .retry_after(*retry_after),
            DomainError::Busy { retry_after } => Self::new(
                Kind::Busy,
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("the service is busy: retry in {retry_after} s"),
            )
            .retry_after(*retry_after)
            .logged("no password hashing slot in time".to_owned()),
            DomainError::Internal(storage) if storage.is_transient() => Self::new(
                Kind::Unavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("{}: retry shortly", storage.description()),
            )
            .retry_after(1)
            .logged(storage.to_string()),
            DomainError::Internal(storage) => Self::internal(storage.to_string()),
        }
    }

    fn of_request(error: &RequestError) -> Self {
        match error {
            RequestError::MalformedJson(_)
            | RequestError::NotAnObject
            | RequestError::MalformedQuery(_) => Self::new(
                Kind::BadRequest,
                StatusCode::BAD_REQUEST,
                "malformed_json",
                error.to_string(),
            ),
            RequestError::PayloadTooLarge { .. } => Self::new(
                Kind::PayloadTooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                error.to_string(),
            ),
            RequestError::UnsupportedMediaType { .. } => Self::new(
                Kind::UnsupportedMediaType,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                error.to_string(),
            ),
            RequestError::BodyTimeout { .. } => Self::new(
                Kind::RequestTimeout,
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                error.to_string(),
            ),
            RequestError::Unauthenticated { message, challenge } => {
                let mut report = Self::new(
                    Kind::Unauthenticated,
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    *message,
                );
                report.challenge = Some(*challenge);
                report
            }
            RequestError::Forbidden { reason, field } => {
                let report =
                    Self::new(Kind::Forbidden, StatusCode::FORBIDDEN, "forbidden", *reason);
                match field {
                    Some((field, message)) => {
                        report.with_field((*field).to_owned(), "forbidden", message)
                    }
                    None => report,
                }
            }
            RequestError::NoRoute => Self::new(
                Kind::NoRoute,
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route",
            ),
            RequestError::MethodNotAllowed { allow } => {
                let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
                Self::new(
                    Kind::MethodNotAllowed {
                        allow: allow.clone(),
                    },
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("this route answers {} only", names.join(", ")),
                )
            }
            RequestError::Internal(detail) => Self::internal(detail.clone()),
        }
    }

    fn internal(detail: String) -> Self {
        Self::new(
            Kind::Internal,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
        .logged(detail)
    }

    /// Write the log line this report asks for, under the request id.
    pub fn log(&self) {
        let Some(detail) = &self.log else {
            return;
        };
        let id = crate::request_id::current().unwrap_or_else(|| "-".to_owned());
        if self.status.is_server_error() && self.kind != Kind::Internal {
            log::warn!("request {id}: {}: {detail}", self.code);
        } else {
            log::error!("request {id}: {}: {detail}", self.code);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use userhub_domain::StorageError;

    use super::*;

    struct Plain;
    impl FieldNames for Plain {}

    struct Merged;
    impl FieldNames for Merged {
        fn user_field(_: UserField) -> &'static str {
            "username"
        }
    }

    #[test]
    fn transient_storage_failures_are_503_with_retry_after() {
        let failure = Failure::Domain(DomainError::Internal(StorageError::transient(
            "database unavailable",
        )));
        let report = ErrorReport::of::<Plain>(&failure);
        assert_eq!(report.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(report.retry_after, Some(1));
        let fault = Failure::Domain(DomainError::Internal(StorageError::new("query failed")));
        let report = ErrorReport::of::<Plain>(&fault);
        assert_eq!(report.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(report.message, "internal error");
        assert_eq!(report.log.as_deref(), Some("storage failure: query failed"));
    }

    #[test]
    fn refused_fields_are_named_once_in_the_dialect_words() {
        let failure = Failure::Domain(DomainError::Forbidden {
            fields: vec![UserField::Username, UserField::Email],
            reason: "no".into(),
        });
        let report = ErrorReport::of::<Merged>(&failure);
        assert_eq!(report.status, StatusCode::FORBIDDEN);
        assert_eq!(report.fields.len(), 1);
        assert_eq!(report.fields[0].field, "username");
    }
}
