//! The HTTP service end to end: the real server on a random port, over
//! SQLite and PostgreSQL, through a real HTTP client. One test binary (each
//! file under `tests/` would be another link); add modules here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

mod helpers;
mod pipeline;
mod process;

mod admin;
mod auth;
mod blocks;
mod cl2c;
mod cli;
mod cross_dialect;
mod doc_examples;
mod docs_page;
mod faults;
mod identifiers;
mod iklim;
mod import;
mod logs;
mod memory;
mod metrics;
mod modules;
mod nevis;
mod nodes;
mod scim;
mod service;
mod timeouts;
mod webhooks;
