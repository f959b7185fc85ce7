//! # userhub-domain
//!
//! The user model of userhub, shared by every HTTP dialect and reusable by
//! other Rust services: validated value types, the user and its changes,
//! password hashing, authorization as pure decisions, the operations the
//! dialects call, and the repository traits storage implements.
//!
//! The crate does no I/O: no web, no SQL, no files. The clock is a
//! parameter wherever time matters.
//!
//! Values are parsed, not validated: a [`types::Username`], [`types::Email`],
//! [`types::TimeZone`] or [`types::PhoneNumber`] exists only valid, and every
//! failure is a [`FieldError`] with a stable code.
//!
//! ```
//! use std::collections::BTreeSet;
//! use userhub_domain::authz::{authorize_change, Actor, Decision, Principal};
//! use userhub_domain::types::{Email, PersonName, Role, TenantId, TimeZone, Username};
//! use userhub_domain::{NewUser, Patch, UserChanges, UserField};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tenant = TenantId::new_random();
//! let now = time::OffsetDateTime::now_utc();
//!
//! // Build a user from parsed values.
//! let mut new = NewUser::new(
//!     Username::parse("name@domain.com")?,
//!     Email::parse("name@domain.com")?,
//! );
//! new.first_name = Some(PersonName::parse("John")?);
//! let user = new.into_user(tenant, now);
//!
//! // Apply a change: the result names exactly the fields that changed.
//! let changes = UserChanges {
//!     first_name: Patch::Set(PersonName::parse("Johnny")?),
//!     time_zone: Patch::Set(TimeZone::parse("Europe/Istanbul")?),
//!     ..UserChanges::default()
//! };
//! let applied = user.apply(&changes);
//! assert_eq!(
//!     applied.changed,
//!     BTreeSet::from([UserField::FirstName, UserField::TimeZone])
//! );
//!
//! // The user may change their own profile, but not their roles.
//! let me = Actor {
//!     tenant,
//!     principal: Principal::User(user.id),
//!     roles: BTreeSet::from([Role::StandardUser]),
//! };
//! assert_eq!(authorize_change(&me, &user, &changes), Decision::Allowed);
//!
//! let promote = UserChanges {
//!     roles: Some(BTreeSet::from([Role::Admin])),
//!     ..UserChanges::default()
//! };
//! assert!(matches!(
//!     authorize_change(&me, &user, &promote),
//!     Decision::Forbidden { fields, .. } if fields == vec![UserField::Roles]
//! ));
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod auth;
pub mod authz;
pub mod credentials;
pub mod error;
pub mod feed;
pub mod fields;
pub mod group;
pub mod hash_format;
pub mod history;
pub mod import;
pub mod manage;
pub mod password;
pub mod ports;
pub mod query;
pub mod repository;
pub mod service;
pub mod tenant;
pub mod throttle;
pub mod types;
pub mod user;
pub mod webhook;

pub use error::{
    DomainError, Field, FieldError, StorageError, UniqueField, ValidationErrors, ValueError,
};
pub use fields::UserField;
pub use user::{AccountChanges, AddressChanges, AppliedChange, NewUser, Patch, User, UserChanges};
