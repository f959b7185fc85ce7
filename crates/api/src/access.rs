//! The access middleware: every answered request is counted in the
//! metrics, by dialect, route pattern, method and status, with its latency,
//! and logged in one line (target `userhub::access`, at INFO) with the same
//! facts and its request id.
//!
//! The route is the matched route's pattern (`/nevis/api/v1/users/{userId}`),
//! never the request's path or query string: ids and keys stay out of
//! label values and log lines (a SELISE Blocks `GetUser?ProjectKey=...`
//! may carry an API key), and a client cannot make new series by
//! inventing paths.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::metrics::UNMATCHED_ROUTE;
use crate::request_id;
use crate::routes::dialect_of;
use crate::state::AppState;
use crate::toolkit::ClientAddr;

/// The middleware (use with `actix_web::middleware::from_fn`), outermost,
/// so that it sees the final status and the `X-Request-Id` answered.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let dialect = dialect_of(req.path());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let seconds = started.elapsed().as_secs_f64();
    let route = response.request().match_pattern();
    let route = route.as_deref().unwrap_or(UNMATCHED_ROUTE);
    let method = method_label(response.request().method());
    let status = response.status();
    let id = response
        .headers()
        .get(&request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let latency_ms = (seconds * 1e6).round() / 1e3;
    // The peer, or behind a trusted proxy the address it forwarded.
    let client = ClientAddr::of(response.request())
        .text()
        .unwrap_or_else(|| "-".to_owned());
    log::info!(
        target: "userhub::access",
        id = id,
        client = client.as_str(),
        dialect = dialect,
        method = method,
        route = route,
        status = status.as_u16(),
        latency_ms = latency_ms;
        "request"
    );
    if let Some(state) = state {
        state
            .metrics
            .observe_request(dialect, route, method, status.as_str(), seconds);
    }
    Ok(response)
}

/// The method as a label value: the standard ones by name, any other as
/// `OTHER` (a client could send endless invented methods).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}
