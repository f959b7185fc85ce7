//! Request extractors that answer in Nevis's error body.
//!
//! [`NevisCaller`] authenticates exactly as every dialect does (the shared
//! [`Authenticated`]) and only re-renders a refusal. [`NevisBody`] never
//! fails on its own: it carries the body's parse error to the handler, so a
//! request with a bad credential *and* a bad body is answered 401, whatever
//! order actix resolves extractors in.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::Value;
use userhub_domain::authz::Actor;

use super::error::NevisError;
use crate::auth::Authenticated;

/// The authenticated caller of a Nevis request; 401 in Nevis's body otherwise.
#[derive(Debug, Clone)]
pub struct NevisCaller(pub Actor);

impl FromRequest for NevisCaller {
    type Error = NevisError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, NevisError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = Authenticated::from_request(req, payload);
        Box::pin(async move {
            authenticated
                .await
                .map(|Authenticated(actor)| NevisCaller(actor))
                .map_err(|e| NevisError::from_api(&e))
        })
    }
}

/// A JSON request body, or why it could not be read (413, 415, 422), for
/// the handler to answer once the caller is known.
#[derive(Debug)]
pub struct NevisBody(pub Result<Value, NevisError>);

impl FromRequest for NevisBody {
    type Error = NevisError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, NevisError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The application's JSON settings apply (body limit, content type).
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            Ok(NevisBody(
                json.await
                    .map(web::Json::into_inner)
                    .map_err(|e| NevisError::from_actix(&e)),
            ))
        })
    }
}
