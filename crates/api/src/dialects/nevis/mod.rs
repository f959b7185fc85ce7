//! The Nevis Identity Cloud dialect: Nevis's user routes under
//! `/nevis/api/v1/users`, with its field names, its list envelope and its
//! error body (see `docs/dialects/nevis.md`).
//!
//! Nevis's `loginId` is an e-mail address: creating a user sets both the
//! username and the e-mail to it, and changing it changes both. Read back,
//! `loginId` is the user's username, whatever dialect created the user.
//!
//! Security intent: every route answers a user of another tenant, a deleted
//! user, an id that is not a UUID and a user that never existed with the
//! same 404 (`errors.noRecord`, one fixed message), byte for byte, so a
//! credential cannot learn what exists outside its tenant. A 5xx answer
//! says only that an error occurred and under which request id. Error
//! bodies carry no stored value the caller did not send.
//!
//! Error codes: 404 `errors.noRecord` for a user, `errors.noRoute` for a
//! path no route has; 405 `errors.methodNotAllowed`; the others as
//! `docs/dialects/nevis.md` lists them.

pub mod dto;
pub mod handlers;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use userhub_domain::{Field, UniqueField, UserField};
use utoipa::ToSchema;

use crate::request_id;
use crate::toolkit::{Dialect, ErrorReport, FieldNames, Kind};

/// The one message of every "no such user" answer: it must not differ
/// between a user that never existed, a deleted one and another tenant's.
const NO_RECORD_MESSAGE: &str = "no user with this userId exists";

/// The Nevis Identity Cloud dialect.
#[derive(Debug, Clone, Copy)]
pub struct Nevis;

impl FieldNames for Nevis {
    fn user_field(field: UserField) -> &'static str {
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

    fn unique_field(field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username | UniqueField::Email => "loginId",
            UniqueField::Id => "userId",
            other => other.as_str(),
        }
    }

    fn other_field(field: &Field) -> Option<String> {
        (*field == Field::Cursor).then(|| "continuationToken".to_owned())
    }
}

impl Dialect for Nevis {
    const NAME: &'static str = "nevis";

    fn status(report: &ErrorReport) -> StatusCode {
        match report.kind {
            // Nevis documents 422 for any invalid request content, so a body
            // that is not JSON (or not an object) is a 422 too, not a 400.
            Kind::Validation | Kind::BadRequest => StatusCode::UNPROCESSABLE_ENTITY,
            _ => report.status,
        }
    }

    fn render(report: &ErrorReport, response: &mut HttpResponseBuilder) -> HttpResponse {
        response.json(NevisErrorBody::of(report))
    }
}

/// The body of every Nevis error answer, the shape of Nevis's documented
/// `errors.noRecord`.
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
    /// `properties.<name>`, ...); absent when the problem is not one field's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "contacts.telephone")]
    pub field: Option<String>,
}

/// `errors.` and a snake_case code in camelCase (`invalid_format` becomes
/// `errors.invalidFormat`).
fn nevis_code(code: &str) -> String {
    let mut out = String::from("errors.");
    let mut upper = false;
    for c in code.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

impl NevisErrorBody {
    /// `report` in Nevis's words.
    pub fn of(report: &ErrorReport) -> Self {
        let code = match &report.kind {
            Kind::NotFound => "errors.noRecord".to_owned(),
            Kind::Conflict { .. } => "errors.alreadyExists".to_owned(),
            Kind::StaleVersion => "errors.versionConflict".to_owned(),
            Kind::Unauthenticated | Kind::InvalidCredentials => "errors.unauthorized".to_owned(),
            Kind::Busy | Kind::Unavailable => "errors.unavailable".to_owned(),
            Kind::Internal => "errors.internal".to_owned(),
            // Not `errors.noRecord`: a path no route has names no user.
            Kind::NoRoute => "errors.noRoute".to_owned(),
            // malformedJson, forbidden, payloadTooLarge, methodNotAllowed, ...
            _ => nevis_code(report.code),
        };
        let message = match &report.kind {
            Kind::NotFound => NO_RECORD_MESSAGE.to_owned(),
            Kind::Internal => format!(
                "an unexpected error occurred (request id {})",
                request_id::current().unwrap_or_else(|| "-".to_owned())
            ),
            _ => report.message.clone(),
        };
        let item = |code: &str, message: &str, field: &str| NevisErrorItem {
            code: code.to_owned(),
            message: message.to_owned(),
            field: Some(field.to_owned()).filter(|f| !f.is_empty()),
        };
        let errors = match &report.kind {
            Kind::Validation => (report.fields.iter())
                .map(|f| item(&nevis_code(&f.code), &f.message, &f.field))
                .collect(),
            Kind::StaleVersion => vec![item(&code, &message, "version")],
            _ if report.fields.is_empty() => vec![item(&code, &message, "")],
            // A refused change or a taken value: one item per field.
            _ => (report.fields.iter())
                .map(|f| item(&code, &message, &f.field))
                .collect(),
        };
        Self { errors }
    }
}

/// The paths Nevis owns (its 404 and 405 answers are Nevis's).
pub const PREFIXES: &[&str] = &["/nevis"];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use userhub_domain::{DomainError, StorageError, ValueError};

    use super::*;
    use crate::toolkit::Failure;

    fn body(error: DomainError) -> String {
        let report = ErrorReport::of::<Nevis>(&Failure::Domain(error));
        serde_json::to_string(&NevisErrorBody::of(&report)).unwrap()
    }

    #[test]
    fn fields_and_codes_in_nevis_words_and_no_detail() {
        let cursor = ValueError::new("invalid_cursor", "bad").at(Field::Cursor);
        let expected = json!({"errors": [{"code": "errors.invalidCursor", "message": "bad", "field": "continuationToken"}]});
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body(cursor.into())).unwrap(),
            expected
        );
        let text = body(DomainError::Internal(StorageError::new("query failed")));
        assert!(
            !text.contains("query failed") && text.contains("errors.internal"),
            "{text}"
        );
    }
}
