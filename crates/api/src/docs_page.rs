//! `/docs`: the interactive API page (Swagger UI), one entry per dialect in
//! its "Select a definition" list, each the dialect's own document
//! (`/openapi/<name>.json`). `/` and `/docs` redirect to it.
//!
//! Swagger UI's files are inside the binary (`utoipa-swagger-ui` with its
//! `vendored` feature), so the page works with no internet access. Only its
//! start-up script is ours: it names the documents and keeps what a person
//! types into "Authorize" across reloads.
//!
//! The list of documents is given by the caller (the route table), so a new
//! dialect appears here without a change to this module.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::toolkit::dialect::respond;
use crate::toolkit::{ErrorReport, Failure, RequestError, Service};

/// Where the page lives.
pub const PATH: &str = "/docs/";

/// The page's settings, built once.
struct DocsPage {
    initializer: String,
    files: Arc<utoipa_swagger_ui::Config<'static>>,
}

impl std::fmt::Debug for DocsPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocsPage")
            .field("initializer", &self.initializer)
            .finish_non_exhaustive()
    }
}

/// Swagger UI's start-up script for `documents` (name, URL pairs).
fn initializer(documents: &[(&str, String)]) -> String {
    let urls: Vec<serde_json::Value> = documents
        .iter()
        .map(|(name, url)| serde_json::json!({"name": name, "url": url}))
        .collect();
    let urls = serde_json::Value::Array(urls).to_string();
    format!(
        r##"window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    urls: {urls},
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  }});
}};
"##
    )
}

/// Mount `/`, `/docs` and `/docs/...` on `cfg`, listing the documents of
/// `dialects` (each served at `/openapi/<name>.json`).
pub fn configure(cfg: &mut web::ServiceConfig, dialects: impl IntoIterator<Item = &'static str>) {
    let documents: Vec<(&str, String)> = dialects
        .into_iter()
        .map(|name| (name, format!("/openapi/{name}.json")))
        .collect();
    let page = web::Data::new(DocsPage {
        initializer: initializer(&documents),
        files: Arc::new(utoipa_swagger_ui::Config::default()),
    });
    cfg.app_data(page)
        .route("/", web::get().to(to_docs))
        .route("/docs", web::get().to(to_docs))
        .route("/docs/{file:.*}", web::get().to(file));
}

/// `/` and `/docs`: a permanent redirect to the page.
async fn to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, PATH))
        .finish()
}

/// One of the page's files (`/docs/` is its `index.html`).
async fn file(page: web::Data<DocsPage>, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    if path == "swagger-initializer.js" {
        return HttpResponse::Ok()
            .content_type("application/javascript; charset=utf-8")
            .body(page.initializer.clone());
    }
    match utoipa_swagger_ui::serve(&path, Arc::clone(&page.files)) {
        Ok(Some(file)) => HttpResponse::Ok()
            .content_type(file.content_type)
            .body(file.bytes.into_owned()),
        Ok(None) => respond::<Service>(&ErrorReport::of::<Service>(&Failure::Request(
            RequestError::NoRoute,
        ))),
        Err(e) => respond::<Service>(&ErrorReport::of::<Service>(&Failure::Request(
            RequestError::Internal(format!("serving the docs page: {e}")),
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_initializer_lists_every_document() {
        let script = initializer(&[
            ("iklim", "/openapi/iklim.json".into()),
            ("nevis", "/openapi/nevis.json".into()),
        ]);
        assert!(script.contains(
            r#"[{"name":"iklim","url":"/openapi/iklim.json"},{"name":"nevis","url":"/openapi/nevis.json"}]"#
        ));
    }

    #[test]
    fn the_assets_are_in_the_binary() {
        let config = Arc::new(utoipa_swagger_ui::Config::default());
        for file in ["index.html", "swagger-ui-bundle.js", "swagger-ui.css"] {
            let served = utoipa_swagger_ui::serve(file, Arc::clone(&config)).unwrap();
            assert!(served.is_some_and(|f| !f.bytes.is_empty()), "{file}");
        }
    }
}
