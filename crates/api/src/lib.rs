//! # userhub-api
//!
//! userhub's HTTP service and the `userhub` binary.
//!
//! The modules form layers, each using only those below it:
//!
//! - leaves: [`config`], [`request_id`], [`secrets`], [`hasher`] (argon2 on
//!   its own bounded threads), [`proxies`] (the client's address),
//!   [`metrics`], [`logging`], and [`state`] (what every request reaches:
//!   store, hasher, settings, metrics);
//! - [`toolkit`]: what every dialect shares (the field reader, extractors,
//!   the one-trip pipeline, the neutral error report and its rendering);
//! - [`dialects`]: one module per vendor API, each parse → one domain call →
//!   render; [`health`] (and `/metrics`); [`docs_page`] (`/docs`);
//! - the top: [`routes`] (every dialect mounted, OpenAPI documents, 404/405),
//!   [`access`] (each request counted), [`app`] (the server) and [`cli`]
//!   (the binary's commands).
//!
//! The rules live in `userhub-domain`; SQL in `userhub-storage`.

pub mod access;
pub mod app;
pub mod cli;
pub mod config;
pub mod dialects;
pub mod docs_page;
pub mod foreign_hash;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hasher;
pub mod health;
pub mod import;
pub mod logging;
pub mod metrics;
pub mod proxies;
pub mod request_id;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod toolkit;
