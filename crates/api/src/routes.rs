//! The top of the application: every dialect mounted, the OpenAPI documents
//! served, and the answers for paths no route serves — 404, or 405 with
//! `Allow` when the path exists with other methods — in the body of the
//! dialect that owns the path's prefix.
//!
//! To add a dialect: write its module under `dialects/`, then add one
//! [`Mounted`] to [`DIALECTS`]. Its routes are mounted, its document is
//! served at `/openapi/<name>.json`, and its 404/405 answers are its own.

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, get, web};
use utoipa::OpenApi;

use crate::dialects::{admin, blocks, cl2c, iklim, nevis, scim};
use crate::docs_page;
use crate::health;
use crate::toolkit::Dialect;
use crate::toolkit::dialect::respond;
use crate::toolkit::openapi;
use crate::toolkit::{BodySettings, ErrorReport, Failure, Mounted, RequestError, Service};

/// Every dialect the service speaks.
pub const DIALECTS: &[Mounted] = &[
    iklim::handlers::MOUNTED,
    nevis::handlers::MOUNTED,
    cl2c::handlers::MOUNTED,
    blocks::handlers::MOUNTED,
    admin::handlers::MOUNTED,
    scim::handlers::MOUNTED,
];

#[derive(OpenApi)]
#[openapi(
    paths(health::healthz, health::readyz),
    tags((name = "service", description = "Liveness and readiness")),
)]
struct ServiceApi;

/// A route's path template, split at `/`: literal segments and `{name}`s.
#[derive(Debug, Clone)]
struct Template(Vec<String>);

impl Template {
    fn of(path: &str) -> Self {
        Template(path.split('/').map(str::to_owned).collect())
    }

    /// How many of its segments are literal: of two templates matching a
    /// path, the one with more literal segments is the route that serves it
    /// (`/scim/v2/Users/.search` before `/scim/v2/Users/{id}`).
    fn literals(&self) -> usize {
        self.0.iter().filter(|s| !s.starts_with('{')).count()
    }

    fn matches(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        segments.len() == self.0.len()
            && self.0.iter().zip(&segments).all(|(template, segment)| {
                (template.starts_with('{') && !segment.is_empty()) || template == segment
            })
    }
}

/// What the application knows at start: each dialect's document, rendered,
/// and the route table the 404/405 answers consult.
#[derive(Debug, Default)]
pub struct Routes {
    documents: BTreeMap<&'static str, String>,
    combined: String,
    table: Vec<(Template, Vec<Method>)>,
}

fn methods(item: &utoipa::openapi::PathItem) -> Vec<Method> {
    [
        (&item.get, Method::GET),
        (&item.put, Method::PUT),
        (&item.post, Method::POST),
        (&item.delete, Method::DELETE),
        (&item.patch, Method::PATCH),
    ]
    .into_iter()
    .filter(|(operation, _)| operation.is_some())
    .map(|(_, method)| method)
    .collect()
}

impl Routes {
    /// Render every document and build the route table. Fails (one line)
    /// if a document does not serialize.
    pub fn new() -> Result<Self, String> {
        let mut routes = Routes::default();
        // The service's own routes answer 405 for other methods too.
        for (path, item) in &ServiceApi::openapi().paths.paths {
            routes.table.push((Template::of(path), methods(item)));
        }
        let mut rendered = Vec::new();
        for dialect in DIALECTS {
            let mut doc = (dialect.openapi)();
            for (path, item) in &doc.paths.paths {
                routes.table.push((Template::of(path), methods(item)));
            }
            doc.merge(ServiceApi::openapi());
            openapi::finish(&mut doc);
            let json = doc
                .to_pretty_json()
                .map_err(|e| format!("rendering the {} OpenAPI document: {e}", dialect.name))?;
            let value = serde_json::from_str(&json)
                .map_err(|e| format!("reading back the {} OpenAPI document: {e}", dialect.name))?;
            rendered.push((dialect.name, value));
            routes.documents.insert(dialect.name, json);
        }
        let info = serde_json::json!({
            "title": "userhub — every dialect",
            "description": "Every dialect's document in one: iklim, Nevis, cl2c, SELISE Blocks, SCIM 2.0 and the admin API on one host. Component names that several dialects use are prefixed with the dialect's name (`iklim_UserResponse`). Each dialect's own document is at `/openapi/<dialect>.json`.",
            "version": env!("CARGO_PKG_VERSION"),
        });
        routes.combined = serde_json::to_string_pretty(&openapi::combined(&rendered, info))
            .map_err(|e| format!("rendering the combined OpenAPI document: {e}"))?;
        Ok(routes)
    }

    /// The methods a path answers, if any route has it.
    fn allowed(&self, path: &str) -> Vec<Method> {
        let matching: Vec<&(Template, Vec<Method>)> = self
            .table
            .iter()
            .filter(|(template, _)| template.matches(path))
            .collect();
        let most_literal = matching.iter().map(|(t, _)| t.literals()).max();
        let mut allow: Vec<Method> = matching
            .into_iter()
            .filter(|(template, _)| Some(template.literals()) == most_literal)
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allow.dedup();
        allow
    }
}

/// The dialect that owns `path` (the longest prefix), if any.
fn owner(path: &str) -> Option<&'static Mounted> {
    DIALECTS
        .iter()
        .flat_map(|d| d.prefixes.iter().map(move |p| (p, d)))
        .filter(|(prefix, _)| path == **prefix || path.starts_with(&format!("{prefix}/")))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, dialect)| dialect)
}

/// The dialect a request to `path` belongs to, as metrics and logs name it:
/// the dialect owning the path's prefix, `service` for everything else.
pub fn dialect_of(path: &str) -> &'static str {
    owner(path).map_or(Service::NAME, |dialect| dialect.name)
}

/// The answer for a request no route served: 405 with `Allow` when the
/// path exists with other methods, 404 otherwise, each in the body of the
/// dialect owning the path (the service's own body elsewhere).
pub async fn fallback(req: HttpRequest, routes: web::Data<Routes>) -> HttpResponse {
    let allow = routes.allowed(req.path());
    let error = if allow.is_empty() || allow.contains(req.method()) {
        RequestError::NoRoute
    } else {
        RequestError::MethodNotAllowed { allow }
    };
    let failure = Failure::Request(error);
    match owner(req.path()) {
        Some(dialect) => (dialect.respond)(&ErrorReport::of::<Service>(&failure)),
        None => respond::<Service>(&ErrorReport::of::<Service>(&failure)),
    }
}

/// Every dialect's OpenAPI document in one.
#[get("/openapi.json")]
pub async fn combined_document(routes: web::Data<Routes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(routes.combined.clone())
}

/// A dialect's OpenAPI document.
#[get("/openapi/{document}")]
pub async fn document(routes: web::Data<Routes>, path: web::Path<String>) -> HttpResponse {
    let requested = path.into_inner();
    match requested
        .strip_suffix(".json")
        .and_then(|name| routes.documents.get(name))
    {
        Some(json) => HttpResponse::Ok()
            .content_type("application/json")
            .body(json.clone()),
        None => respond::<Service>(&ErrorReport::of::<Service>(&Failure::Request(
            RequestError::NoRoute,
        ))),
    }
}

/// Mount every route on `cfg`.
pub fn configure(cfg: &mut web::ServiceConfig, body: BodySettings, routes: web::Data<Routes>) {
    cfg.app_data(web::Data::new(body))
        .app_data(routes)
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(combined_document)
        .service(document);
    for dialect in DIALECTS {
        (dialect.configure)(cfg);
    }
    docs_page::configure(cfg, DIALECTS.iter().map(|d| d.name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_owns_a_path() {
        assert_eq!(owner("/v1/cl2c/user").map(|d| d.name), Some("cl2c"));
        assert_eq!(owner("/v1/users/create").map(|d| d.name), Some("iklim"));
        assert_eq!(
            owner("/nevis/api/v1/users/x").map(|d| d.name),
            Some("nevis")
        );
        assert_eq!(owner("/idp/v1/Iam/Nothing").map(|d| d.name), Some("blocks"));
        assert!(owner("/elsewhere").is_none());
        assert!(owner("/v1/usersx").is_none());
    }

    #[test]
    fn templates_match_whole_segments() {
        let template = Template::of("/nevis/api/v1/users/{userId}");
        assert!(template.matches("/nevis/api/v1/users/abc"));
        assert!(template.matches("/nevis/api/v1/users/abc/"));
        assert!(!template.matches("/nevis/api/v1/users"));
        assert!(!template.matches("/nevis/api/v1/users/abc/def"));
    }
}
