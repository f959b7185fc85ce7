//! A request id for every request: taken from the client's `X-Request-Id`
//! when it is a short token, made up otherwise; answered in `X-Request-Id`,
//! put into every error body and every log line about the request.
//!
//! The id, and the request's path, are kept in a task-local for the duration
//! of the request, so error rendering deep inside a handler finds them
//! without passing them around (cl2c's problems name the path as `instance`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

/// The header that carries the id, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST: Current;
}

/// What rendering needs to know about the request being served.
#[derive(Debug, Clone)]
struct Current {
    id: String,
    path: String,
}

/// The id of the request being served, if called while serving one.
pub fn current() -> Option<String> {
    REQUEST.try_with(|r| r.id.clone()).ok()
}

/// The path of the request being served (no query string), if called while
/// serving one.
pub fn current_path() -> Option<String> {
    REQUEST.try_with(|r| r.path.clone()).ok()
}

/// The request's id, as stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's id is kept when it is 1 to 64 characters of letters, digits,
/// `-`, `_`, `.` (so it cannot inject anything into a log line).
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The middleware (use with `actix_web::middleware::from_fn`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let current = Current {
        id: id.clone(),
        path: req.path().to_owned(),
    };
    let mut response = REQUEST.scope(current, next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_kept_only_when_harmless() {
        assert!(acceptable("abc-123_x.y"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("a\nb"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
