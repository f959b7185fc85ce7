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
        if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
            answers.push((
                self.invalid,
                self.response("A path or query parameter is malformed (named)")
                    .build(),
            ));
        }
        if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
            answers.push((
                StatusCode::UNAUTHORIZED,
                self.response("No valid credential")
                    .header("WWW-Authenticate", header("What credential to send"))
                    .build(),
            ));
            // Any authenticated operation can be refused by the caller's
            // roles or the domain's rules (the last active ADMIN, ...).
            answers.push((
                StatusCode::FORBIDDEN,
                self.response(
                    "The caller may not do this (the reason, and any fields refused, named)",
                )
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

/// Rewrites every response's `application/json` content to `media_type`:
/// for a dialect (SCIM) that answers everything in its own media type.
#[derive(Debug, Clone, Copy)]
pub struct AnswersIn(pub &'static str);

impl Modify for AnswersIn {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response.content.insert(self.0.to_owned(), content);
                    }
                }
            }
        }
    }
}

/// What every served document says whatever its dialect: where the API is
/// (`servers`: the host the document was fetched from), the `X-Request-Id`
/// header every answer carries, `WWW-Authenticate` on every 401 and
/// `Retry-After` on every 429 and 503.
pub fn finish(openapi: &mut OpenApi) {
    openapi.servers = Some(vec![
        utoipa::openapi::server::ServerBuilder::new()
            .url("/")
            .description(Some(
                "The userhub serving this document (every dialect on one host)",
            ))
            .build(),
    ]);
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response {
                    // Every 401 carries its challenge, whichever route.
                    if status == "401" {
                        response
                            .headers
                            .entry("WWW-Authenticate".to_owned())
                            .or_insert_with(|| header("What credential to send"));
                    }
                    if status == "429" || status == "503" {
                        response
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(|| header("Seconds to wait before retrying"));
                    }
                    response.headers.entry("X-Request-Id".to_owned()).or_insert_with(|| {
                        header("The request's id (the client's, when it sent a short token); error bodies and log lines carry it too")
                    });
                }
            }
        }
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

/// The combined document (`/openapi.json`): every dialect's document in
/// one. Paths do not collide (each dialect has its own prefixes); a
/// component name that more than one dialect uses is renamed
/// `<dialect>_<name>` in each of them (with every `$ref` to it), since two
/// dialects' `UserResponse`s are different shapes. Tags become
/// `<dialect>: <tag>` so each dialect's operations stay grouped.
pub fn combined(
    documents: &[(&str, serde_json::Value)],
    info: serde_json::Value,
) -> serde_json::Value {
    use serde_json::{Map, Value};
    use std::collections::BTreeMap;

    // Which component names (per kind) more than one dialect defines.
    let mut owners: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (_, doc) in documents {
        if let Some(components) = doc.get("components").and_then(Value::as_object) {
            for (kind, entries) in components {
                for name in entries.as_object().into_iter().flat_map(|e| e.keys()) {
                    *owners.entry((kind.clone(), name.clone())).or_default() += 1;
                }
            }
        }
    }
    let shared = |kind: &str, name: &str| {
        // Security schemes are referred to by name from `security`; the
        // shared ones (`bearer`) are the same scheme in every dialect.
        kind != "securitySchemes"
            && owners
                .get(&(kind.to_owned(), name.to_owned()))
                .is_some_and(|n| *n > 1)
    };

    let mut paths = Map::new();
    let mut components: Map<String, Value> = Map::new();
    let mut tags: Vec<Value> = Vec::new();
    let mut servers = Value::Null;
    for (dialect, doc) in documents {
        let mut doc = doc.clone();
        rename_refs(&mut doc, &|kind, name| {
            shared(kind, name).then(|| format!("{dialect}_{name}"))
        });
        if servers.is_null()
            && let Some(s) = doc.get("servers")
        {
            servers = s.clone();
        }
        if let Some(Value::Object(dialect_paths)) = doc.get_mut("paths") {
            for (path, item) in dialect_paths.iter_mut() {
                if let Value::Object(operations) = item {
                    for operation in operations.values_mut() {
                        if let Some(Value::Array(op_tags)) = operation.get_mut("tags") {
                            for tag in op_tags.iter_mut() {
                                if let Value::String(t) = tag {
                                    *t = format!("{dialect}: {t}");
                                }
                            }
                        } else if let Value::Object(op) = operation {
                            op.insert("tags".into(), Value::from(vec![dialect.to_string()]));
                        }
                    }
                }
                paths.entry(path.clone()).or_insert_with(|| item.clone());
            }
        }
        if let Some(Value::Object(dialect_components)) = doc.get("components") {
            for (kind, entries) in dialect_components {
                let merged = components
                    .entry(kind.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Value::Object(merged), Value::Object(entries)) = (merged, entries) {
                    for (name, value) in entries {
                        let name = if shared(kind, name) {
                            format!("{dialect}_{name}")
                        } else {
                            name.clone()
                        };
                        merged.entry(name).or_insert_with(|| value.clone());
                    }
                }
            }
        }
        for tag in doc
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut tag = tag.clone();
            if let Some(Value::String(name)) = tag.get_mut("name") {
                *name = format!("{dialect}: {name}");
            }
            tags.push(tag);
        }
        // Operations without a tag are tagged with the dialect's name.
        if !tags
            .iter()
            .any(|t| t.get("name") == Some(&Value::from(dialect.to_string())))
        {
            tags.push(serde_json::json!({"name": dialect, "description": format!("The {dialect} dialect")}));
        }
    }
    let mut combined = Map::new();
    combined.insert("openapi".into(), Value::from("3.1.0"));
    combined.insert("info".into(), info);
    combined.insert("servers".into(), servers);
    combined.insert("paths".into(), Value::Object(paths));
    combined.insert("components".into(), Value::Object(components));
    combined.insert("tags".into(), Value::Array(tags));
    Value::Object(combined)
}

/// Rewrites every `$ref` to `#/components/<kind>/<name>` for which
/// `rename(kind, name)` gives a new name.
fn rename_refs(value: &mut serde_json::Value, rename: &dyn Fn(&str, &str) -> Option<String>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = child
                    && let Some(rest) = target.strip_prefix("#/components/")
                    && let Some((kind, name)) = rest.split_once('/')
                    && let Some(new) = rename(kind, name)
                {
                    *target = format!("#/components/{kind}/{new}");
                } else {
                    rename_refs(child, rename);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_refs(item, rename)),
        _ => {}
    }
}
