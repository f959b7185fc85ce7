//! The vendor dialects: each a module `dialects/<vendor>/` with its request
//! and response shapes (`dto.rs`), its handlers (`handlers.rs`) and, in
//! `mod.rs`, its [`Dialect`](crate::toolkit::Dialect) (field names and error
//! body), its routes and its OpenAPI document. A dialect parses, calls one
//! domain operation, renders; the rules live in the domain and the shared
//! mechanisms in [`crate::toolkit`]. The application mounts them in
//! [`crate::routes`].

pub mod admin;
pub mod blocks;
pub mod cl2c;
pub mod iklim;
pub mod nevis;
pub mod scim;
