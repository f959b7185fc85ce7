//! The vendor dialects: each a module `dialects/<vendor>/` with its request
//! and response shapes (`dto.rs`), its handlers (`handlers.rs`) and, in
//! `mod.rs`, its routes, its field names for errors and its OpenAPI
//! document. A dialect parses, calls one shared operation, renders; the
//! rules live in the domain.
//!
//! To add a dialect: write its module, then add one [`Dialect`] to
//! [`DIALECTS`]; its routes are mounted and its document is served at
//! `/openapi/<name>.json`.

use std::fmt;

use actix_web::web;
use serde::Deserialize;

pub mod blocks;
pub mod cl2c;
pub mod iklim;
pub mod nevis;

/// One dialect: its name, its routes and its OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Short name, also the document's name (`/openapi/<name>.json`).
    pub name: &'static str,
    /// Mounts the dialect's routes.
    pub configure: fn(&mut web::ServiceConfig),
    /// Builds the dialect's OpenAPI document.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

/// Every dialect the service speaks.
pub const DIALECTS: &[Dialect] = &[
    Dialect {
        name: "iklim",
        configure: iklim::configure,
        openapi: iklim::openapi,
    },
    Dialect {
        name: "nevis",
        configure: nevis::configure,
        openapi: nevis::openapi,
    },
    Dialect {
        name: "cl2c",
        configure: cl2c::configure,
        openapi: cl2c::openapi,
    },
    Dialect {
        name: "blocks",
        configure: blocks::configure,
        openapi: blocks::openapi,
    },
];

/// Mount every dialect's routes.
pub fn configure_all(cfg: &mut web::ServiceConfig) {
    for dialect in DIALECTS {
        (dialect.configure)(cfg);
    }
}

/// For `#[serde(default, deserialize_with = "present")]` on an
/// `Option<serde_json::Value>` field: a field left out stays `None`, a
/// present one (`null` included) becomes `Some`. Serde otherwise reads both
/// an absent field and `null` as `None`, and "leave alone" and "clear" are
/// different changes.
pub(crate) fn present<'de, D>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    serde_json::Value::deserialize(deserializer).map(Some)
}

/// A secret as a request carries it (a password, a token): it does not
/// print, so a `Debug` of a request shows `***` in its place.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// The text, to check or hash.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The text, taken out.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<&str> for SecretText {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
