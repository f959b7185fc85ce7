//! What every dialect's OpenAPI document shares: the security schemes
//! (bearer, or API keys in headers), one tag and security requirement for
//! every route of a document, and the error answers every route can give (one set per dialect,
//! added to each operation from what the operation is, instead of rows
//! copied by hand onto every handler).

use actix_web::http::StatusCode;
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Content, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type,
};

/// Adds the `bearer` security scheme handlers refer to.
#[derive(Debug)]
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`uhk_...`, made with `userhub api-key create`) or an access token (`uha_...`, from a login).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every operation of `openapi`, whatever its method.
fn operations(openapi: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// A security scheme of an API key sent in a request header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderKey {
    /// The scheme's name, as security requirements refer to it.
    pub scheme: &'static str,
    /// The header the key is sent in.
    pub header: &'static str,
    /// What the key is and where it comes from.
    pub description: &'static str,
}

/// Adds security schemes of API keys sent in headers.
#[derive(Debug, Clone, Copy)]
pub struct HeaderKeys(pub &'static [HeaderKey]);

impl Modify for HeaderKeys {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for key in self.0 {
            let value = ApiKeyValue::with_description(key.header, key.description);
            components
                .add_security_scheme(key.scheme, SecurityScheme::ApiKey(ApiKey::Header(value)));
        }
    }
}

/// Gives every operation of a document one tag and one security
/// requirement (for a document whose routes all take the same credential).
#[derive(Debug, Clone, Copy)]
pub struct EveryOperation {
    /// The tag.
    pub tag: &'static str,
    /// The name of the security scheme every route requires.
    pub security: &'static str,
}

impl Modify for EveryOperation {
    fn modify(&self, openapi: &mut OpenApi) {
        for operation in operations(openapi) {
            operation.tags = Some(vec![self.tag.to_owned()]);
            let requirement = SecurityRequirement::new(self.security, Vec::<String>::new());
            operation.security = Some(vec![requirement]);
        }
    }
}

/// The error answers of one dialect: its error body's schema, media type,
/// and the status it gives invalid content (400, or Nevis's 422).
#[derive(Debug, Clone, Copy)]
pub struct ErrorResponses {
    /// The component name of the dialect's error body.
    pub schema: &'static str,
    /// The error body's media type.
    pub content_type: &'static str,
    /// The status of invalid content.
    pub invalid: StatusCode,
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}

impl ErrorResponses {
    fn response(&self, description: &str) -> ResponseBuilder {
        ResponseBuilder::new().description(description).content(
            self.content_type,
            Content::new(Some(Ref::from_schema_name(self.schema))),
        )
    }

    /// The answers any operation of this dialect can give, given what it is.
    fn standard(&self, operation: &Operation) -> Vec<(StatusCode, Response)> {
        let mut answers = Vec::new();
        if operation.request_body.is_some() {
            answers.push((
                self.invalid,
                self.response("Malformed JSON, a body that is not an object, or invalid fields (all of them named)")
                    .build(),
            ));
            answers.push((
                StatusCode::REQUEST_TIMEOUT,
                self.response("The body did not arrive in time").build(),
            ));
            answers.push((
                StatusCode::PAYLOAD_TOO_LARGE,
                self.response("The body is larger than the limit").build(),
            ));
            answers.push((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                self.response("The body is not JSON").build(),
            ));
        }
        if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
            answers.push((
                StatusCode::UNAUTHORIZED,
                self.response("No valid credential")
                    .header("WWW-Authenticate", header("What credential to send"))
                    .build(),
            ));
        }
        answers.push((
            StatusCode::INTERNAL_SERVER_ERROR,
            self.response("Internal error; the detail is logged under the request id")
                .build(),
        ));
        answers.push((
            StatusCode::SERVICE_UNAVAILABLE,
            self.response("The database is unavailable, or every password hashing slot is busy: retry after `Retry-After` seconds")
                .header("Retry-After", header("Seconds to wait before retrying"))
                .build(),
        ));
        answers
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for operation in operations(openapi) {
            for (status, response) in self.standard(operation) {
                operation
                    .responses
                    .responses
                    .entry(status.as_u16().to_string())
                    .or_insert(RefOr::T(response));
            }
        }
    }
}
