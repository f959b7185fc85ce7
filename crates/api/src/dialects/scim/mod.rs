//! The SCIM 2.0 dialect (RFC 7643, RFC 7644) under `/scim/v2`: Users and
//! Groups over the same store as every other dialect, the discovery
//! resources, filters translated into one query, and SCIM's error schema
//! (see `docs/scim.md`).
//!
//! A SCIM User is the domain's user; a SCIM Group is an organization of the
//! tenant, whose members are the users with a membership in it (the
//! memberships SELISE Blocks reads and writes).
//!
//! Security intent: a user or group of another tenant, a deleted user and
//! an id that names nothing all answer the same 404, so a key learns
//! nothing outside its tenant. A 5xx answer says only that an error
//! occurred, and under which request id. The password is write-only: no
//! answer carries it.

pub mod discovery;
pub mod dto;
pub mod filter;
pub mod handlers;
pub mod resource;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use userhub_domain::{Field, UniqueField, UserField};
use utoipa::ToSchema;

use crate::request_id;
use crate::toolkit::{Dialect, ErrorReport, FieldNames, Kind};

/// SCIM's media type; `application/json` is accepted too.
pub const MEDIA_TYPE: &str = "application/scim+json";

/// The error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The SCIM 2.0 dialect.
#[derive(Debug, Clone, Copy)]
pub struct Scim;

impl FieldNames for Scim {
    fn user_field(field: UserField) -> &'static str {
        match field {
            UserField::Username => "userName",
            UserField::Email => "emails",
            UserField::Title => "name.honorificPrefix",
            UserField::FirstName => "name.givenName",
            UserField::MiddleName => "name.middleName",
            UserField::LastName => "name.familyName",
            UserField::TimeZone => "timezone",
            UserField::Address => "addresses",
            UserField::Phone | UserField::Fax => "phoneNumbers",
            UserField::Status => "active",
            UserField::Company => {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization"
            }
            UserField::Memberships => "groups",
            other => other.as_str(),
        }
    }

    fn unique_field(field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username => "userName",
            UniqueField::Email => "emails",
            UniqueField::ExternalId => "externalId",
            UniqueField::GroupName => "displayName",
            other => other.as_str(),
        }
    }

    fn other_field(field: &Field) -> Option<String> {
        match field {
            Field::Cursor => Some("startIndex".to_owned()),
            Field::MembershipOrganization(_) => Some("groups".to_owned()),
            _ => None,
        }
    }
}

/// SCIM's `scimType` for a field error's code.
fn scim_type_of_code(code: &str) -> &'static str {
    match code {
        "invalid_filter" => "invalidFilter",
        "invalid_path" => "invalidPath",
        "no_target" => "noTarget",
        "mutability" => "mutability",
        "invalid_syntax" => "invalidSyntax",
        "too_many" => "tooMany",
        "invalid_version" => "invalidVers",
        _ => "invalidValue",
    }
}

impl Dialect for Scim {
    const NAME: &'static str = "scim";

    fn status(report: &ErrorReport) -> StatusCode {
        match report.kind {
            // A stale If-Match is a failed precondition (RFC 7644 §3.14).
            Kind::StaleVersion => StatusCode::PRECONDITION_FAILED,
            _ => report.status,
        }
    }

    fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        response
            .content_type(MEDIA_TYPE)
            .json(ScimError::of(report))
    }
}

/// The body of every SCIM error answer (RFC 7644 §3.12).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
    "status": "409",
    "scimType": "uniqueness",
    "detail": "userName is already taken"
}))]
pub struct ScimError {
    /// Always the error message schema.
    pub schemas: Vec<&'static str>,
    /// The HTTP status, as a string.
    pub status: String,
    /// SCIM's error type, for 400 and 409 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<&'static str>,
    /// One sentence for a person, naming each field concerned.
    pub detail: String,
}

impl ScimError {
    /// `report` in SCIM's words.
    pub fn of(report: &ErrorReport) -> Self {
        let status = Scim::status(report);
        let scim_type = match &report.kind {
            Kind::Validation => Some(
                report
                    .fields
                    .first()
                    .map_or("invalidValue", |f| scim_type_of_code(&f.code)),
            ),
            Kind::BadRequest => Some("invalidSyntax"),
            Kind::Conflict { .. } => Some("uniqueness"),
            _ => None,
        };
        let detail = match &report.kind {
            Kind::NotFound => "resource not found".to_owned(),
            Kind::Internal => format!(
                "an unexpected error occurred (request id {})",
                request_id::current().unwrap_or_else(|| "-".to_owned())
            ),
            _ if report.fields.is_empty() => report.message.clone(),
            _ => {
                let fields: Vec<String> = report
                    .fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect();
                format!("{}: {}", report.message, fields.join("; "))
            }
        };
        Self {
            schemas: vec![ERROR_SCHEMA],
            status: status.as_u16().to_string(),
            scim_type,
            detail,
        }
    }
}

/// The paths SCIM owns (its 404 and 405 answers are SCIM errors).
pub const PREFIXES: &[&str] = &["/scim/v2"];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use userhub_domain::{DomainError, StorageError, ValueError};

    use super::*;
    use crate::toolkit::Failure;

    fn body(error: DomainError) -> serde_json::Value {
        let report = ErrorReport::of::<Scim>(&Failure::Domain(error));
        serde_json::to_value(ScimError::of(&report)).unwrap()
    }

    #[test]
    fn scim_types_and_no_detail_of_faults() {
        let filter = ValueError::new("invalid_filter", "is bad").at("filter");
        let b = body(filter.into());
        assert_eq!(b["scimType"], "invalidFilter");
        assert_eq!(b["status"], "400");
        let b = body(DomainError::Conflict(UniqueField::ExternalId));
        assert_eq!(b["scimType"], "uniqueness");
        assert_eq!(b["status"], "409");
        let b = body(DomainError::StaleVersion {
            expected: 1,
            current: 2,
        });
        assert_eq!(b["status"], "412");
        let b = body(DomainError::Internal(StorageError::new("query failed")));
        assert!(!b["detail"].as_str().unwrap().contains("query failed"));
        let b = body(DomainError::NotFound("user"));
        assert_eq!(b["status"], "404");
        assert!(b.get("scimType").is_none());
    }
}
