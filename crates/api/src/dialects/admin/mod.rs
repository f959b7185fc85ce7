//! userhub's own admin API (`/admin/v1/...`): a user's history, the
//! tenant's change feed, and (further modules) webhooks, API keys and
//! attributes. Not a vendor's shape: JSON in userhub's own camelCase words,
//! errors in the shared [`ErrorBody`](crate::toolkit::ErrorBody), the
//! domain's field names (see `docs/admin-api.md`).
//!
//! Security intent: every route takes `Authorization: Bearer <API key>`
//! and the domain admits only an API key of the tenant with the ADMIN role
//! (anything else: 403); everything is read in that key's tenant, so
//! another tenant's user answers as an unknown one.

pub mod delivery;
pub mod dto;
pub mod handlers;

use crate::toolkit::{Dialect, FieldNames};

/// The admin API.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FieldNames for Admin {}

impl Dialect for Admin {
    const NAME: &'static str = "admin";
}

/// The paths the admin API owns (its 404 and 405 answers are its own).
pub const PREFIXES: &[&str] = &["/admin"];
