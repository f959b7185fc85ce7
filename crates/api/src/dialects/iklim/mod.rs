//! The iklim dialect: iklim's user, auth and account routes with its field
//! names and shapes (see `docs/dialects/iklim.md`).
//!
//! iklim's `username` is an e-mail address: creating a user sets both the
//! username and the e-mail to it, and changing it changes both. Errors use
//! the service's JSON error body ([`ErrorBody`](crate::toolkit::ErrorBody)), with fields in iklim's
//! names.

pub mod dto;
pub mod handlers;

use userhub_domain::{Field, UniqueField, UserField};

use crate::toolkit::{Dialect, FieldNames};

/// The iklim dialect.
#[derive(Debug, Clone, Copy)]
pub struct Iklim;

impl FieldNames for Iklim {
    fn user_field(field: UserField) -> &'static str {
        match field {
            // iklim's username is the e-mail: one field for both.
            UserField::Username | UserField::Email => "username",
            UserField::MiddleName => "midName",
            UserField::TimeZone => "timezone",
            UserField::Phone => "account.mobilePhoneNumber",
            UserField::PhoneVerified => "account.mobilePhoneNumberVerified",
            UserField::EmailVerified => "account.emailVerified",
            UserField::AccountType => "account.type",
            UserField::Company => "account.company",
            UserField::Industry => "account.industry",
            UserField::Location => "account.location",
            UserField::ProfilePictureUrl => "account.profilePictureUrl",
            UserField::SubscriptionPlan => "account.subscriptionPlan",
            other => other.as_str(),
        }
    }

    fn unique_field(field: UniqueField) -> &'static str {
        match field {
            UniqueField::Username | UniqueField::Email => "username",
            UniqueField::Id => "userId",
            other => other.as_str(),
        }
    }

    fn other_field(field: &Field) -> Option<String> {
        (*field == Field::CurrentPassword).then(|| "oldPassword".to_owned())
    }
}

impl Dialect for Iklim {
    const NAME: &'static str = "iklim";
}

/// The paths iklim owns (its 404 and 405 answers are iklim's).
pub const PREFIXES: &[&str] = &["/v1/users", "/v1/auth", "/v1/accounts"];
