//! # userhub-api
//!
//! userhub's HTTP service: the `userhub` binary's commands ([`cli`]), its
//! settings ([`config`]), the actix-web application ([`app`]), credentials
//! ([`auth`]), the vendor dialects ([`dialects`]) and their OpenAPI
//! documents ([`openapi`]).
//!
//! Dialect modules only parse, call one operation and render; the rules live
//! in `userhub-domain`. Everything that blocks (the database, argon2) runs
//! off the actix event loop ([`blocking`]).

pub mod app;
pub mod auth;
pub mod blocking;
pub mod cli;
pub mod config;
pub mod dialects;
pub mod error;
pub mod hasher;
pub mod health;
pub mod openapi;
pub mod request_id;
pub mod users;
