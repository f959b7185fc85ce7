//! The change feed: a tenant's history read as a stream of events, oldest
//! first, in commit order.
//!
//! The history is the event log. Storage gives each history entry its
//! *position* in its tenant's feed (1, 2, 3, ... in commit order, without
//! gaps); one entry becomes one or more [`Event`]s ([`events_of`]), so an
//! event is addressed by its entry's position and its index within the
//! entry: its [`EventCursor`]. A consumer that stores the cursor of the last
//! event it processed and asks for the events after it sees every change
//! once, in order.
//!
//! Security intent: events name the fields that changed, never their
//! values, so no secret (nor any other value) travels in the feed or in a
//! webhook's payload.

use std::fmt;

use time::OffsetDateTime;

use crate::authz::ActorRef;
use crate::error::ValueError;
use crate::fields::UserField;
use crate::history::HistoryEntry;
use crate::types::{TenantId, UserId};

/// Where an event stands in its tenant's feed: the position of the history
/// entry it comes from, and its index among that entry's events. Ordered;
/// its text form is opaque to clients.
///
/// ```
/// use userhub_domain::feed::EventCursor;
///
/// let cursor = EventCursor::parse("12-1").unwrap();
/// assert_eq!(cursor, EventCursor { position: 12, index: 1 });
/// assert_eq!(cursor.to_string(), "12-1");
/// assert!(EventCursor::START < cursor);
/// assert!(EventCursor::parse("twelve").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventCursor {
    /// The history entry's position in the tenant's feed (from 1).
    pub position: u64,
    /// The event's index among the entry's events (from 0).
    pub index: u32,
}

impl EventCursor {
    /// Before every event.
    pub const START: EventCursor = EventCursor {
        position: 0,
        index: 0,
    };

    /// Read a cursor this service handed out.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let invalid =
            || ValueError::new("invalid_cursor", "is not a cursor this service handed out");
        let input = input.trim();
        if input.is_empty() {
            return Err(ValueError::required());
        }
        let (position, index) = input.split_once('-').ok_or_else(invalid)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(position) || !digits(index) {
            return Err(invalid());
        }
        Ok(Self {
            position: position.parse().map_err(|_| invalid())?,
            index: index.parse().map_err(|_| invalid())?,
        })
    }
}

impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.position, self.index)
    }
}

/// What happened to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// `user.created`.
    UserCreated,
    /// `user.updated`, with the names of the fields that changed.
    UserUpdated,
    /// `user.deleted` (soft: the status became DELETED).
    UserDeleted,
    /// `user.password_changed`.
    UserPasswordChanged,
    /// `user.sessions_revoked` (every session of the user ended, as with a
    /// new password).
    UserSessionsRevoked,
}

impl EventType {
    /// Every type, in the order an entry's events are listed.
    pub const ALL: [EventType; 5] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserPasswordChanged,
        EventType::UserSessionsRevoked,
        EventType::UserDeleted,
    ];

    /// The type's name (`user.created`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeleted => "user.deleted",
            EventType::UserPasswordChanged => "user.password_changed",
            EventType::UserSessionsRevoked => "user.sessions_revoked",
        }
    }

    /// The type named `input`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ValueError::required());
        }
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == input)
            .ok_or_else(|| {
                ValueError::new(
                    "unknown_event_type",
                    "must be user.created, user.updated, user.deleted, user.password_changed or user.sessions_revoked",
                )
            })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A history entry with its position in its tenant's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRecord {
    /// The position (from 1, in commit order, no gaps).
    pub position: u64,
    /// The entry.
    pub entry: HistoryEntry,
}

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Where it stands.
    pub cursor: EventCursor,
    /// What happened.
    pub kind: EventType,
    /// When (the change's time).
    pub at: OffsetDateTime,
    /// The tenant.
    pub tenant: TenantId,
    /// The user it happened to.
    pub user: UserId,
    /// Who did it.
    pub actor: ActorRef,
    /// For `user.updated`: the fields that changed (never their values).
    pub fields: Vec<UserField>,
}

/// The events of one history entry, in the order of [`EventType::ALL`]:
///
/// - the entry of version 1 is `user.created`;
/// - a change of fields other than the password and a deletion is
///   `user.updated` with those fields' names;
/// - a new password set by a person or a key is `user.password_changed`
///   and `user.sessions_revoked` (a new password ends every session in the
///   same transaction); the service re-hashing a password at login
///   (actor `system`) changes no password and is no event;
/// - the status becoming DELETED is `user.deleted`.
///
/// ```
/// # use std::collections::BTreeSet;
/// # use userhub_domain::authz::ActorRef;
/// # use userhub_domain::feed::{events_of, EventType, FeedRecord};
/// # use userhub_domain::history::HistoryEntry;
/// # use userhub_domain::types::{Email, TenantId, Username, PersonName};
/// # use userhub_domain::{NewUser, UserField};
/// let now = time::OffsetDateTime::now_utc();
/// let user = NewUser::new(Username::parse("ada")?, Email::parse("ada@example.com")?)
///     .into_user(TenantId::new_random(), now);
/// let mut renamed = user.clone();
/// renamed.first_name = Some(PersonName::parse("Ada")?);
/// renamed.version = 2;
/// let entry = HistoryEntry::for_change(
///     &user, &renamed, &BTreeSet::from([UserField::FirstName]), ActorRef::System, None);
/// let events = events_of(&FeedRecord { position: 7, entry });
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].kind, EventType::UserUpdated);
/// assert_eq!(events[0].fields, vec![UserField::FirstName]);
/// assert_eq!(events[0].cursor.to_string(), "7-0");
/// # Ok::<(), userhub_domain::ValueError>(())
/// ```
pub fn events_of(record: &FeedRecord) -> Vec<Event> {
    let entry = &record.entry;
    let mut kinds: Vec<(EventType, Vec<UserField>)> = Vec::new();
    if entry.version == 1 {
        kinds.push((EventType::UserCreated, Vec::new()));
    } else {
        let deleted = entry.changes.iter().any(|c| {
            c.field == UserField::Status
                && c.new.as_str() == Some(crate::types::Status::Deleted.as_str())
        });
        let password = entry.changes.iter().any(|c| c.field == UserField::Password);
        let updated: Vec<UserField> = entry
            .changes
            .iter()
            .map(|c| c.field)
            .filter(|&f| f != UserField::Password && !(deleted && f == UserField::Status))
            .collect();
        if !updated.is_empty() {
            kinds.push((EventType::UserUpdated, updated));
        }
        if password && entry.actor != ActorRef::System {
            kinds.push((EventType::UserPasswordChanged, Vec::new()));
            kinds.push((EventType::UserSessionsRevoked, Vec::new()));
        }
        if deleted {
            kinds.push((EventType::UserDeleted, Vec::new()));
        }
    }
    kinds
        .into_iter()
        .zip(0u32..)
        .map(|((kind, fields), index)| Event {
            cursor: EventCursor {
                position: record.position,
                index,
            },
            kind,
            at: entry.at,
            tenant: entry.tenant,
            user: entry.user,
            actor: entry.actor,
            fields,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::history::FieldChange;
    use crate::types::{ApiKeyId, Email, Status, Username};
    use crate::user::NewUser;

    fn entry(version: u64, actor: ActorRef, changes: Vec<FieldChange>) -> FeedRecord {
        let user = NewUser::new(
            Username::parse("ada").unwrap(),
            Email::parse("ada@example.com").unwrap(),
        )
        .into_user(TenantId::new_random(), OffsetDateTime::UNIX_EPOCH);
        let mut entry = HistoryEntry::for_change(&user, &user, &BTreeSet::new(), actor, None);
        entry.version = version;
        entry.changes = changes;
        FeedRecord { position: 3, entry }
    }

    fn change(field: UserField, new: serde_json::Value) -> FieldChange {
        FieldChange {
            field,
            old: serde_json::Value::Null,
            new,
        }
    }

    fn kinds(record: &FeedRecord) -> Vec<EventType> {
        events_of(record).into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn creation_is_one_event_whatever_it_sets() {
        let key = ActorRef::ApiKey(ApiKeyId::new_random());
        let record = entry(
            1,
            key,
            vec![
                change(UserField::Username, "ada".into()),
                change(UserField::Password, serde_json::Value::Null),
            ],
        );
        assert_eq!(kinds(&record), vec![EventType::UserCreated]);
    }

    #[test]
    fn an_update_names_its_fields_and_a_new_password_ends_sessions() {
        let key = ActorRef::ApiKey(ApiKeyId::new_random());
        let record = entry(
            4,
            key,
            vec![
                change(UserField::FirstName, "A".into()),
                change(UserField::Password, serde_json::Value::Null),
            ],
        );
        let events = events_of(&record);
        assert_eq!(
            kinds(&record),
            vec![
                EventType::UserUpdated,
                EventType::UserPasswordChanged,
                EventType::UserSessionsRevoked
            ]
        );
        assert_eq!(events[0].fields, vec![UserField::FirstName]);
        let cursors: Vec<String> = events.iter().map(|e| e.cursor.to_string()).collect();
        assert_eq!(cursors, ["3-0", "3-1", "3-2"]);
    }

    #[test]
    fn a_deletion_and_a_rehash() {
        let key = ActorRef::ApiKey(ApiKeyId::new_random());
        let deleted = entry(
            2,
            key,
            vec![change(UserField::Status, Status::Deleted.as_str().into())],
        );
        assert_eq!(kinds(&deleted), vec![EventType::UserDeleted]);
        let blocked = entry(2, key, vec![change(UserField::Status, "BLOCKED".into())]);
        assert_eq!(kinds(&blocked), vec![EventType::UserUpdated]);
        let rehash = entry(
            5,
            ActorRef::System,
            vec![change(UserField::Password, serde_json::Value::Null)],
        );
        assert!(kinds(&rehash).is_empty());
    }

    #[test]
    fn cursors_parse_what_they_print_and_nothing_else() {
        for text in ["0-0", "1-0", "18446744073709551615-4294967295"] {
            assert_eq!(EventCursor::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "",
            "1",
            "-1-0",
            "1-",
            "a-b",
            "1-0-0",
            "+1-0",
            "18446744073709551616-0",
        ] {
            assert!(EventCursor::parse(bad).is_err(), "{bad}");
        }
        assert!(
            EventCursor {
                position: 2,
                index: 0
            } > EventCursor {
                position: 1,
                index: 9
            }
        );
    }

    #[test]
    fn event_types_round_trip() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()).unwrap(), kind);
        }
        assert_eq!(
            EventType::parse("user.exploded").unwrap_err().code,
            "unknown_event_type"
        );
    }
}
