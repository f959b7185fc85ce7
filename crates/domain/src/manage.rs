//! Managing a tenant: its API keys and its custom attribute definitions.
//! The command line (run by whoever holds the database) and the admin API
//! (an ADMIN key of the tenant, see [`crate::admin`]) call these same
//! functions, so both apply the same rules.
//!
//! Security intent: an API key's secret never enters the domain; the caller
//! makes it, hands over only its public prefix and its hash, and shows the
//! secret once. Revoking through the admin API finds only keys of the
//! caller's tenant: another tenant's key answers as an unknown one.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::credentials::ApiKey;
use crate::error::{DomainError, ValidationErrors, ValueError};
use crate::repository::{ApiKeyRepository, AttributeRepository, RemoveAttributeError};
use crate::tenant::AttributeDefinition;
use crate::types::{ApiKeyId, AttributeName, Role, TenantId};

/// The longest API key label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// The longest attribute description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A note for people, trimmed; blank is none.
fn note(input: Option<&str>, max: usize) -> Result<Option<String>, ValueError> {
    let Some(text) = input.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(ValueError::new(
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ValueError::new(
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// An API key's label: at most [`MAX_LABEL_CHARS`] characters, trimmed,
/// no control characters; blank is none.
pub fn parse_label(input: Option<&str>) -> Result<Option<String>, ValueError> {
    note(input, MAX_LABEL_CHARS)
}

/// An attribute's description: at most [`MAX_DESCRIPTION_CHARS`]
/// characters, trimmed, no control characters; blank is none.
pub fn parse_description(input: Option<&str>) -> Result<Option<String>, ValueError> {
    note(input, MAX_DESCRIPTION_CHARS)
}

/// A key to make: what it may do, and the public prefix and hash of the
/// secret the caller made.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The roles it carries (at least one).
    pub roles: BTreeSet<Role>,
    /// Its label.
    pub label: Option<String>,
    /// The secret's public prefix.
    pub prefix: String,
    /// The secret's hash.
    pub key_hash: String,
    /// What the caller already found wrong with the request.
    pub errors: ValidationErrors,
}

/// Make an API key of `tenant`.
pub fn create_api_key(
    repo: &impl ApiKeyRepository,
    tenant: TenantId,
    new: NewApiKey,
    now: OffsetDateTime,
) -> Result<ApiKey, DomainError> {
    let NewApiKey {
        roles,
        label,
        prefix,
        key_hash,
        mut errors,
    } = new;
    if roles.is_empty()
        && !errors
            .errors()
            .iter()
            .any(|e| e.field.domain_name().starts_with("roles"))
    {
        errors.push(ValueError::new("required", "must name at least one role").at("roles"));
    }
    errors.into_result()?;
    let key = ApiKey {
        id: ApiKeyId::new_random(),
        tenant,
        prefix,
        key_hash,
        roles,
        label,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    repo.create_api_key(&key)?;
    Ok(key)
}

/// Revoke the key `id`; with `tenant`, only a key of that tenant (any
/// other is not found).
pub fn revoke_api_key(
    repo: &impl ApiKeyRepository,
    tenant: Option<TenantId>,
    id: ApiKeyId,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    if let Some(tenant) = tenant
        && !repo.list_api_keys(tenant)?.iter().any(|k| k.id == id)
    {
        return Err(DomainError::NotFound("API key"));
    }
    Ok(repo.revoke_api_key(id, now)?)
}

/// Declare the attribute `name` for `tenant`.
pub fn define_attribute(
    repo: &impl AttributeRepository,
    tenant: TenantId,
    name: AttributeName,
    description: Option<String>,
    now: OffsetDateTime,
) -> Result<AttributeDefinition, DomainError> {
    let definition = AttributeDefinition {
        tenant,
        name,
        description,
        created_at: now,
    };
    repo.define_attribute(&definition)?;
    Ok(definition)
}

/// Remove the attribute `name` of `tenant`, if no user carries it.
pub fn remove_attribute(
    repo: &impl AttributeRepository,
    tenant: TenantId,
    name: &AttributeName,
) -> Result<(), DomainError> {
    repo.remove_attribute(tenant, name).map_err(|e| match e {
        RemoveAttributeError::NotFound => DomainError::NotFound("attribute"),
        RemoveAttributeError::InUse => ValueError::new(
            "in_use",
            "users still carry a value for this attribute: remove those first",
        )
        .at("name")
        .into(),
        RemoveAttributeError::Storage(e) => DomainError::Internal(e),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_bounded_and_printable() {
        assert_eq!(parse_label(None).unwrap(), None);
        assert_eq!(parse_label(Some("  ")).unwrap(), None);
        assert_eq!(parse_label(Some(" ci ")).unwrap().as_deref(), Some("ci"));
        assert_eq!(
            parse_label(Some(&"x".repeat(201))).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            parse_description(Some("a\u{7}b")).unwrap_err().code,
            "invalid_characters"
        );
    }
}
