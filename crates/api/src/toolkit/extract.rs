//! Reading a request: its JSON body ([`Body`]), its query string
//! ([`query_pairs`]), the credentials in its headers ([`Bearer`],
//! [`header_text`]), and the client's address ([`ClientAddr`]).
//!
//! [`Body`] never fails on its own: it carries the body's problem to the
//! handler, which hands it to the pipeline, so a request with a bad
//! credential *and* a bad body is answered 401, whatever order actix
//! resolves extractors in.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, mime, web};
use futures_core::Stream;
use serde_json::{Map, Value};
use userhub_domain::DomainError;
use userhub_domain::service::DeleteUser;
use userhub_domain::types::UserId;

use super::dialect::{Dialect, DialectError};
use super::pipeline::Access;
use super::report::{Challenge, Failure, RequestError};
use crate::secrets;
use crate::state::AppState;

/// How large a body may be and how long it may take to arrive; registered
/// once as app data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodySettings {
    /// Largest body, in bytes (larger: 413).
    pub limit: usize,
    /// Longest wait for the whole body (longer: 408).
    pub timeout: Duration,
}

impl Default for BodySettings {
    fn default() -> Self {
        Self {
            limit: crate::config::DEFAULT_BODY_LIMIT,
            timeout: crate::config::DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// A request's JSON object body, or what is wrong with it.
#[derive(Debug)]
pub struct Body(pub Result<Map<String, Value>, RequestError>);

/// Whether a media type is JSON (`application/json`, `application/*+json`).
fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
}

/// Whether the request's body is newline-delimited JSON by its media type
/// (`application/x-ndjson`, parameters allowed).
pub fn is_ndjson(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == "x-ndjson")
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Read `payload` as one JSON object within `settings`.
async fn read(
    payload: Payload,
    settings: BodySettings,
) -> Result<Map<String, Value>, RequestError> {
    let too_large = RequestError::PayloadTooLarge {
        limit: settings.limit,
    };
    let stream = actix_web::body::BodyStream::new(payload);
    let bytes = tokio::time::timeout(
        settings.timeout,
        actix_web::body::to_bytes_limited(stream, settings.limit),
    )
    .await
    .map_err(|_| RequestError::BodyTimeout {
        seconds: settings.timeout.as_secs(),
    })?
    .map_err(|_| too_large)?
    .map_err(|e| RequestError::MalformedJson(format!("the body could not be read ({e})")))?;
    parse_object(&bytes)
}

/// A body's bytes as one JSON object, or what is wrong with them.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, RequestError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(RequestError::NotAnObject),
        // A syntax error says where, never what: serde_json's message names
        // a line and column only.
        Err(e) => Err(RequestError::MalformedJson(e.to_string())),
    }
}

impl FromRequest for Body {
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Infallible>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let settings = req
            .app_data::<web::Data<BodySettings>>()
            .map_or_else(BodySettings::default, |s| *s.get_ref());
        if !is_json(req) {
            return Box::pin(ready(Ok(Body(Err(RequestError::UnsupportedMediaType {
                expected: "application/json",
            })))));
        }
        if declared_length(req).is_some_and(|n| n > settings.limit) {
            return Box::pin(ready(Ok(Body(Err(RequestError::PayloadTooLarge {
                limit: settings.limit,
            })))));
        }
        let payload = payload.take();
        Box::pin(async move { Ok(Body(read(payload, settings).await)) })
    }
}

/// The middleware that closes the connection after answering a request
/// whose chunked body was not read to its end (answered before it was
/// read, or too slow: 408).
///
/// actix closes such a connection when the body's reader is still alive
/// once the answer is written, but when the reader was dropped it goes on
/// reading and discarding the rest of a chunked body with no time limit,
/// so a client that stops sending would hold the connection for ever. So
/// the middleware keeps the reader itself (the handler reads through it)
/// and hands it to the answer's body, which outlives the answer's last
/// byte. (actix closes an unread `Content-Length` body's connection on its
/// own.)
pub async fn close_unread_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !req.headers().contains_key(TRANSFER_ENCODING) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let reader = Rc::new(RefCell::new(req.take_payload()));
    let relay: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(Relay(Rc::clone(&reader)));
    req.set_payload(Payload::from(relay));
    let response = next.call(req).await?.map_into_boxed_body();
    Ok(response.map_body(|_, body| {
        BoxBody::new(Holding {
            body,
            _reader: reader,
        })
    }))
}

/// The handler's view of a body the middleware holds.
struct Relay(Rc<RefCell<Payload>>);

impl Stream for Relay {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

/// An answer's body that keeps the request's body reader alive until the
/// answer's last byte is written.
struct Holding {
    body: BoxBody,
    _reader: Rc<RefCell<Payload>>,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

impl Body {
    /// The body as a command, or what is wrong with it (to be answered
    /// after the caller is admitted).
    pub fn parse<C>(
        self,
        parse: impl FnOnce(Map<String, Value>) -> Result<C, Failure>,
    ) -> Result<C, Failure> {
        self.0.map_err(Failure::from).and_then(parse)
    }
}

/// The client's address: the socket's peer, or behind a trusted proxy the
/// address `X-Forwarded-For` names (see [`crate::proxies`]). `None` only
/// when the connection has no peer address (not on TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address as login throttling counts it.
    pub fn for_throttle(&self) -> Option<userhub_domain::throttle::ClientAddress> {
        self.0.map(userhub_domain::throttle::ClientAddress::of)
    }

    /// The address as text (`192.0.2.1`, `2001:db8::1`).
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequest for ClientAddr {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientAddr::of(req)))
    }
}

impl ClientAddr {
    /// The client's address of `req` (the access log names it too).
    pub fn of(req: &HttpRequest) -> Self {
        let client = req
            .peer_addr()
            .map(|peer| match req.app_data::<web::Data<AppState>>() {
                Some(state) if !state.config.trusted_proxies.is_empty() => {
                    let forwarded = req
                        .headers()
                        .get_all("x-forwarded-for")
                        .filter_map(|v| v.to_str().ok());
                    state.config.trusted_proxies.client(peer.ip(), forwarded)
                }
                _ => peer.ip(),
            });
        ClientAddr(client)
    }
}

/// The query string's pairs, in order (`+` and `%xx` decoded).
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, RequestError> {
    parse_query(req.query_string())
}

/// A query string's pairs, in order (`+` and `%xx` decoded).
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, RequestError> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|_| {
            RequestError::MalformedQuery("it must be name=value pairs joined by &".to_owned())
        })
}

/// A header's text, trimmed; `None` when absent, blank or not text.
pub fn header_text(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The answer for no credential at all.
pub const NO_CREDENTIAL: &str =
    "a bearer credential is required: Authorization: Bearer <API key or access token>";
/// The answer for a credential that authenticates nothing.
pub const BAD_CREDENTIAL: &str = "the bearer credential is not valid (unknown, revoked or expired)";

/// The secret of `Authorization: Bearer <secret>`, if the request has one.
pub fn bearer_secret(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The scheme and host the client addressed (`https://host`), honouring
/// `Forwarded` / `X-Forwarded-*` from a proxy in front.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The user a path names. A path segment that is not a UUID names no user,
/// so it is answered exactly as an unknown user (404).
pub fn path_user(segment: &str) -> Result<UserId, Failure> {
    UserId::parse(segment).map_err(|_| DomainError::NotFound("user").into())
}

/// The user a path names, for a dialect that answers a path segment that is
/// not a UUID as a bad request naming the path's `field` (400, not 404).
pub fn path_user_field(segment: &str, field: &str) -> Result<UserId, Failure> {
    UserId::parse(segment).map_err(|e| e.at(field).into())
}

/// The command to delete the user a path names.
pub fn delete_path_user(
    segment: &str,
    expected_version: Option<u64>,
) -> Result<DeleteUser, Failure> {
    path_user(segment).map(|id| DeleteUser {
        id,
        expected_version,
        comment: None,
    })
}

/// What a route takes as its caller's credential: where in the request it
/// is, and what a request answers that presents none, or a bad one.
pub trait Credential {
    /// The credential `req` presents, still to be checked by the pipeline,
    /// or the 401 for presenting none.
    fn access(req: &HttpRequest) -> Result<Access, RequestError>;
}

/// `Authorization: Bearer <API key or access token>`.
#[derive(Debug)]
pub enum BearerToken {}

impl Credential for BearerToken {
    fn access(req: &HttpRequest) -> Result<Access, RequestError> {
        let unauthenticated = |message| RequestError::Unauthenticated {
            message,
            challenge: Challenge::Bearer,
        };
        let secret = bearer_secret(req).ok_or_else(|| unauthenticated(NO_CREDENTIAL))?;
        Ok(Access::new(
            secrets::recognise(&secret),
            unauthenticated(BAD_CREDENTIAL),
        ))
    }
}

/// The caller of a route of dialect `D`, presenting credential `C`: still
/// to be admitted by the pipeline. A request presenting none is answered
/// 401 in `D`'s body at once.
pub struct Caller<D, C = BearerToken> {
    access: Access,
    kinds: PhantomData<fn() -> (D, C)>,
}

/// The caller of a route authenticated by `Authorization: Bearer`.
pub type Bearer<D> = Caller<D, BearerToken>;

impl<D, C> Caller<D, C> {
    /// What the pipeline needs to admit the caller.
    pub fn access(self) -> Access {
        self.access
    }
}

impl<D, C> std::fmt::Debug for Caller<D, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Caller").field(&self.access).finish()
    }
}

impl<D: Dialect, C: Credential> FromRequest for Caller<D, C> {
    type Error = DialectError<D>;
    type Future = Ready<Result<Self, DialectError<D>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            C::access(req)
                .map(|access| Caller {
                    access,
                    kinds: PhantomData,
                })
                .map_err(DialectError::from),
        )
    }
}
