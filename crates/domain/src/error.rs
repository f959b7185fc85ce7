//! The domain's errors: why a value or a field was refused, and the one error
//! enum every operation of the domain returns.
//!
//! Messages never contain a secret or a stored value other than the one the
//! caller sent, so any layer may show them to the client.

use std::fmt;

use serde::Serialize;

use crate::fields::UserField;

/// Why a single value was rejected, before it is known which field it came
/// from. Value types return this; [`ValidationErrors::check`] attaches the
/// field name the caller used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// A stable, machine-readable code such as `too_long` or `invalid_format`.
    pub code: &'static str,
    /// A sentence for a person, naming the rule that was broken.
    pub message: String,
}

impl ValueError {
    /// A rejection with a stable `code` and a human `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The value was missing or blank.
    pub fn required() -> Self {
        Self::new("required", "a value is required")
    }

    /// Attach the field: a path as the caller spells it (`"contacts.telephone"`),
    /// or a [`Field`] the domain names and each dialect renders in its words.
    pub fn at(self, field: impl Into<Field>) -> FieldError {
        FieldError {
            field: field.into(),
            code: self.code,
            message: self.message,
        }
    }
}

/// Which field an error is about.
///
/// A dialect that parses a request names the fields it read by their JSON
/// path ([`Field::Path`]). The domain's operations name the fields they
/// judge themselves (a password against the tenant's policy, the current
/// password of a password change, a list position) without knowing the
/// dialect; each dialect renders those in its own words, so an error can
/// never carry another dialect's name for a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// A field of the request, by its JSON path as the caller spelled it
    /// (`contacts.telephone`, `memberships[0].roles[1]`).
    Path(String),
    /// A field of the user, named by the domain.
    User(UserField),
    /// The current password a user proves in a change of their own password.
    CurrentPassword,
    /// The new password of a change of one's own password.
    NewPassword,
    /// The position a list continues from (a cursor or continuation token).
    Cursor,
    /// The organization of the user's `i`-th membership (counting from 0).
    MembershipOrganization(usize),
}

impl Field {
    /// The domain's own name: the path as given, or the domain's camelCase name.
    pub fn domain_name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Field::Path(path) => path.into(),
            Field::User(field) => field.as_str().into(),
            Field::CurrentPassword => "currentPassword".into(),
            Field::NewPassword => "newPassword".into(),
            Field::Cursor => "cursor".into(),
            Field::MembershipOrganization(i) => format!("memberships[{i}].organization").into(),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.domain_name())
    }
}

impl From<&str> for Field {
    fn from(path: &str) -> Self {
        Field::Path(path.to_owned())
    }
}

impl From<String> for Field {
    fn from(path: String) -> Self {
        Field::Path(path)
    }
}

impl From<&String> for Field {
    fn from(path: &String) -> Self {
        Field::Path(path.clone())
    }
}

impl From<UserField> for Field {
    fn from(field: UserField) -> Self {
        Field::User(field)
    }
}

impl PartialEq<str> for Field {
    fn eq(&self, other: &str) -> bool {
        self.domain_name() == other
    }
}

impl PartialEq<&str> for Field {
    fn eq(&self, other: &&str) -> bool {
        self.domain_name() == *other
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.domain_name())
    }
}

/// A rejected value together with the field it was given for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field: a path the dialect named, or a field the domain named.
    pub field: Field,
    /// A stable, machine-readable code.
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every field error of one request, collected rather than stopping at the
/// first, so that a client can fix all of them in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep the value of `result`, or record its error under `field`.
    pub fn check<T>(
        &mut self,
        field: impl Into<Field>,
        result: Result<T, ValueError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(error.at(field));
                None
            }
        }
    }

    /// Like [`check`](Self::check) for an optional input: `None` stays `None`
    /// and is not an error.
    pub fn check_optional<T, I>(
        &mut self,
        field: impl Into<Field>,
        input: Option<I>,
        parse: impl FnOnce(I) -> Result<T, ValueError>,
    ) -> Option<T> {
        input.and_then(|raw| self.check(field, parse(raw)))
    }

    /// Record an error.
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Record all errors of another collection after these.
    pub fn append(&mut self, other: ValidationErrors) {
        self.errors.extend(other.errors);
    }

    /// Record all errors of another collection, their field names prefixed
    /// with `prefix.` (for nested objects).
    pub fn extend_nested(&mut self, prefix: &str, other: ValidationErrors) {
        self.errors.extend(other.errors.into_iter().map(|mut e| {
            e.field = Field::Path(format!("{prefix}.{}", e.field));
            e
        }));
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The recorded errors, in the order they were found.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// `Ok(())` when empty, otherwise `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// Which unique key a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UniqueField {
    /// The user id (a caller-chosen id that is already in use).
    Id,
    /// The username key.
    Username,
    /// The e-mail key.
    Email,
    /// A tenant's name.
    TenantName,
    /// An attribute definition's name.
    AttributeName,
    /// The identity provider's id of a user or group (SCIM `externalId`).
    ExternalId,
    /// A group's display name.
    GroupName,
}

impl UniqueField {
    /// The field's domain name.
    pub fn as_str(self) -> &'static str {
        match self {
            UniqueField::Id => "id",
            UniqueField::Username => "username",
            UniqueField::Email => "email",
            UniqueField::TenantName => "tenant",
            UniqueField::AttributeName => "attribute",
            UniqueField::ExternalId => "externalId",
            UniqueField::GroupName => "displayName",
        }
    }
}

/// An opaque failure of the storage behind a repository. It carries a short
/// description of the kind of failure only, never SQL, values or secrets; the
/// storage layer logs the details itself. `transient` failures (a lost
/// database, an exhausted pool, a lock held too long) are worth retrying
/// soon; the others are faults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage failure: {description}")]
pub struct StorageError {
    description: String,
    transient: bool,
}

impl StorageError {
    /// A storage fault of the given kind (e.g. `query failed`).
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            description: kind.into(),
            transient: false,
        }
    }

    /// A failure that should pass by itself (e.g. `database unavailable`).
    pub fn transient(kind: impl Into<String>) -> Self {
        Self {
            description: kind.into(),
            transient: true,
        }
    }

    /// The kind of failure, safe to show.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether retrying soon may succeed (answered 503 rather than 500).
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

/// The one error of the domain. Every operation returns it; each dialect
/// renders it in its own format.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// One or more fields were invalid; all of them are listed.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// The thing asked for does not exist in the caller's tenant (or is deleted).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique key is already taken.
    #[error("{} is already taken", .0.as_str())]
    Conflict(UniqueField),
    /// The write carried a version that is no longer current.
    #[error("stale version: expected {expected}, current is {current}")]
    StaleVersion {
        /// The version the caller said it was changing.
        expected: u64,
        /// The version that is stored now.
        current: u64,
    },
    /// The actor may not make (part of) this change; the refused fields are listed.
    #[error("forbidden: {}", display_fields(.fields))]
    Forbidden {
        /// The fields the actor may not change; empty when the whole operation is refused.
        fields: Vec<UserField>,
        /// Why, in one sentence.
        reason: String,
    },
    /// No valid credentials were presented.
    #[error("unauthenticated")]
    Unauthenticated,
    /// A login named a tenant, user or password that does not match: one
    /// answer for all three, so a login cannot tell them apart.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A login named no tenant while several exist.
    #[error("the tenant to log in to must be named: there are {tenants}")]
    TenantRequired {
        /// How many tenants there are.
        tenants: usize,
    },
    /// Too many failed attempts for this account: retry later.
    #[error("too many failed attempts: retry in {retry_after} s")]
    TooManyAttempts {
        /// Seconds until the next attempt may succeed.
        retry_after: u64,
    },
    /// Every password-hashing slot stayed busy: retry shortly.
    #[error("busy: retry in {retry_after} s")]
    Busy {
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
    /// Something failed that the caller cannot fix; details are in the log.
    #[error("internal error")]
    Internal(#[source] StorageError),
}

fn display_fields(fields: &[UserField]) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    names.join(", ")
}

impl From<ValidationErrors> for DomainError {
    fn from(errors: ValidationErrors) -> Self {
        DomainError::Validation(errors)
    }
}

impl From<FieldError> for DomainError {
    fn from(error: FieldError) -> Self {
        DomainError::Validation(error.into())
    }
}

impl From<StorageError> for DomainError {
    fn from(error: StorageError) -> Self {
        DomainError::Internal(error)
    }
}
