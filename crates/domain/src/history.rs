//! The audit trail: one entry per change of a user, written in the same
//! transaction as the change. Secret values are never recorded.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;

use crate::authz::ActorRef;
use crate::error::ValueError;
use crate::fields::UserField;
use crate::types::{TenantId, UserId};
use crate::user::User;

/// A comment attached to a change (Nevis's `modificationComment`): up to
/// 1000 characters, trimmed, no control characters other than line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeComment(String);

impl ChangeComment {
    /// Check a comment.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ValueError::required());
        }
        if text.chars().count() > 1000 {
            return Err(ValueError::new(
                "too_long",
                "must be at most 1000 characters",
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(ValueError::new(
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The comment.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One field's change: its value before and after (`null` when absent, and
/// always `null` for secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field.
    pub field: UserField,
    /// Value before.
    pub old: Value,
    /// Value after.
    pub new: Value,
}

/// One entry of a user's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The tenant.
    pub tenant: TenantId,
    /// The user changed.
    pub user: UserId,
    /// The user's version after the change.
    pub version: u64,
    /// Who made the change.
    pub actor: ActorRef,
    /// When.
    pub at: OffsetDateTime,
    /// What changed.
    pub changes: Vec<FieldChange>,
    /// Why, if the actor said.
    pub comment: Option<ChangeComment>,
}

impl HistoryEntry {
    /// The entry for creating `user`: every field that has a value.
    pub fn for_creation(user: &User, actor: ActorRef, comment: Option<ChangeComment>) -> Self {
        let changes = UserField::ALL
            .into_iter()
            .filter_map(|field| {
                let new = user.field_value(field);
                let present = match field {
                    UserField::Password => user.password.is_some(),
                    _ => !is_empty_value(&new),
                };
                present.then_some(FieldChange {
                    field,
                    old: Value::Null,
                    new,
                })
            })
            .collect();
        Self {
            tenant: user.tenant,
            user: user.id,
            version: user.version,
            actor,
            at: user.created_at,
            changes,
            comment,
        }
    }

    /// The entry for the change from `before` to `after` of `fields`.
    pub fn for_change(
        before: &User,
        after: &User,
        fields: &BTreeSet<UserField>,
        actor: ActorRef,
        comment: Option<ChangeComment>,
    ) -> Self {
        let changes = fields
            .iter()
            .map(|&field| FieldChange {
                field,
                old: before.field_value(field),
                new: after.field_value(field),
            })
            .collect();
        Self {
            tenant: after.tenant,
            user: after.id,
            version: after.version,
            actor,
            at: after.updated_at,
            changes,
            comment,
        }
    }
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(is_empty_value),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}
