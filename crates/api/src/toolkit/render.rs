//! Small pieces every dialect's response shapes use.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A time as RFC 3339 text (`2025-01-31T09:30:00.123456Z`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// An optional value's text.
pub fn text<T: AsRef<str>>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().to_owned())
}

/// A 201 answer whose `Location` is `location` (left out if it is not a
/// valid header value, which a URL built from our own ids always is).
pub fn created_at(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = actix_web::HttpResponse::Created();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(location) {
        response.insert_header((actix_web::http::header::LOCATION, value));
    }
    response
}

/// A 204 answer, whatever the operation returned.
pub fn no_content<T>(_: T) -> actix_web::HttpResponse {
    actix_web::HttpResponse::NoContent().finish()
}
