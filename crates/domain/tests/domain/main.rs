//! Domain tests that cross modules: the authorization matrix, the change
//! rules and their properties, and the operations over an in-memory
//! repository. One test binary (see CONVENTIONS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authz_matrix;
mod changes;
mod groups;
mod memory;
mod operations;
mod service;
mod support;
