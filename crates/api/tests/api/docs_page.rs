//! `/docs` over HTTP: `/` and `/docs` redirect to it, its files come from
//! the binary, and its start-up script lists every dialect's document.
//! (`make e2e` opens it in a real browser.)

use reqwest::{Method, StatusCode, header};
use userhub_api::routes::DIALECTS;

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};

async fn the_docs_page_lists_every_dialect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/docs"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(response.headers()[header::LOCATION], "/docs/");
    }
    let page = app
        .request(Method::GET, "/docs/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let script = app
        .request(Method::GET, "/docs/swagger-initializer.js", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for dialect in DIALECTS {
        let url = format!("/openapi/{}.json", dialect.name);
        assert!(script.contains(&url), "{url} not in {script}");
        let document = app.request(Method::GET, &url, None).send().await.unwrap();
        assert_eq!(document.status(), StatusCode::OK, "{url}");
    }
    for file in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let response = app
            .request(Method::GET, &format!("/docs/{file}"), None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
    }
    let missing = app
        .request(Method::GET, "/docs/no-such-file.js", None)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

both_backends!(the_docs_page_lists_every_dialect);
