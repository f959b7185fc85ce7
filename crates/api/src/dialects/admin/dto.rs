//! The admin API's query strings and response shapes.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};
use userhub_domain::admin::{
    ActorInfo, Actors, FeedPage, FeedQuery, HistoryPage, HistoryQuery, MAX_PAGE,
};
use userhub_domain::feed::{Event, EventCursor};
use userhub_domain::history::HistoryEntry;
use userhub_domain::types::UserId;
use userhub_domain::{ValidationErrors, ValueError};
use utoipa::ToSchema;

use crate::toolkit::render::rfc3339;
use crate::toolkit::{Failure, RequestError};

/// The page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The longest `wait` of the change feed, in seconds.
pub const MAX_WAIT: u64 = 30;

/// The query string as named parameters, each at most once; an unknown one
/// is refused, naming what is known.
struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn read(
        query: Result<Vec<(String, String)>, RequestError>,
        known: &[&str],
        errors: &mut ValidationErrors,
    ) -> Result<Self, Failure> {
        let pairs = query?;
        let mut seen = BTreeSet::new();
        for (name, _) in &pairs {
            if !known.contains(&name.as_str()) {
                errors.push(
                    ValueError::new(
                        "unknown_parameter",
                        format!("is not a parameter: use {}", known.join(", ")),
                    )
                    .at(name.as_str()),
                );
            } else if !seen.insert(name.clone()) {
                errors
                    .push(ValueError::new("duplicate", "may be given only once").at(name.as_str()));
            }
        }
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn number(&self, errors: &mut ValidationErrors, name: &str, range: (u64, u64)) -> Option<u64> {
        let value = self.get(name)?;
        match value.trim().parse::<u64>() {
            Ok(n) if (range.0..=range.1).contains(&n) => Some(n),
            _ => {
                errors.push(
                    ValueError::new(
                        "out_of_range",
                        format!("must be an integer from {} to {}", range.0, range.1),
                    )
                    .at(name),
                );
                None
            }
        }
    }
}

fn limit(params: &Params, errors: &mut ValidationErrors) -> u32 {
    params
        .number(errors, "limit", (1, u64::from(MAX_PAGE)))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(DEFAULT_LIMIT)
}

/// `GET /admin/v1/users/{id}/history?cursor=&limit=`.
pub fn history_query(
    id: &str,
    query: Result<Vec<(String, String)>, RequestError>,
) -> Result<HistoryQuery, Failure> {
    let mut errors = ValidationErrors::new();
    let params = Params::read(query, &["cursor", "limit"], &mut errors)?;
    let user = errors.check("id", UserId::parse(id));
    let limit = limit(&params, &mut errors);
    let before = match params.get("cursor").map(str::trim) {
        None | Some("") => None,
        Some(text) => match text.parse::<u64>() {
            Ok(version) if version >= 1 => Some(version),
            _ => {
                errors.push(
                    ValueError::new("invalid_cursor", "is not a cursor this service handed out")
                        .at("cursor"),
                );
                None
            }
        },
    };
    errors.into_result()?;
    let user = user
        .ok_or_else(|| RequestError::Internal("a user id was neither parsed nor refused".into()))?;
    Ok(HistoryQuery {
        user,
        before,
        limit,
    })
}

/// `GET /admin/v1/events?after=&limit=&wait=`: the query, and how long to
/// wait for an event when there is none yet.
pub fn feed_query(
    query: Result<Vec<(String, String)>, RequestError>,
) -> Result<(FeedQuery, Duration), Failure> {
    let mut errors = ValidationErrors::new();
    let params = Params::read(query, &["after", "limit", "wait"], &mut errors)?;
    let limit = limit(&params, &mut errors);
    let wait = params
        .number(&mut errors, "wait", (0, MAX_WAIT))
        .unwrap_or(0);
    let after = match params.get("after").map(str::trim) {
        None | Some("") => Some(EventCursor::START),
        Some(text) => errors.check("after", EventCursor::parse(text)),
    };
    errors.into_result()?;
    Ok((
        FeedQuery {
            after: after.unwrap_or(EventCursor::START),
            limit,
        },
        Duration::from_secs(wait),
    ))
}

/// Who made a change: an API key (its id and label), a user (their id and
/// username; `null` once purged), or the service itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorResponse {
    /// `apiKey`, `user` or `system`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The key's or the user's id (absent for `system`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The key's label (keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The user's username (users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl ActorResponse {
    fn of(info: ActorInfo) -> Self {
        match info {
            ActorInfo::ApiKey { id, label } => Self {
                kind: "apiKey",
                id: Some(id.to_string()),
                label,
                username: None,
            },
            ActorInfo::User { id, username } => Self {
                kind: "user",
                id: Some(id.to_string()),
                label: None,
                username,
            },
            ActorInfo::System => Self {
                kind: "system",
                id: None,
                label: None,
                username: None,
            },
        }
    }
}

/// One entry of a user's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntryResponse {
    /// The user's version after the change (1: created).
    pub version: u64,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: ActorResponse,
    /// Each changed field: `{"old": ..., "new": ...}`; a secret field only
    /// says `"changed"` (`"password": "changed"`).
    #[schema(value_type = Object, example = json!({"firstName": {"old": "John", "new": "Johnny"}, "password": "changed"}))]
    pub changes: Map<String, Value>,
    /// Why, if the change said (Nevis's `modificationComment`).
    pub comment: Option<String>,
}

impl HistoryEntryResponse {
    fn of(entry: &HistoryEntry, actors: &Actors) -> Self {
        let changes = entry
            .changes
            .iter()
            .map(|c| {
                let value = if c.field.is_secret() {
                    json!("changed")
                } else {
                    json!({"old": c.old, "new": c.new})
                };
                (c.field.as_str().to_owned(), value)
            })
            .collect();
        Self {
            version: entry.version,
            at: rfc3339(entry.at),
            actor: ActorResponse::of(actors.get(entry.actor)),
            changes,
            comment: entry.comment.as_ref().map(|c| c.as_str().to_owned()),
        }
    }
}

/// A page of a user's history, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResponse {
    /// The entries.
    pub entries: Vec<HistoryEntryResponse>,
    /// The `cursor` of the next (older) page; `null` on the last.
    pub next: Option<String>,
}

impl HistoryResponse {
    /// The answer for `page`.
    pub fn of(page: &HistoryPage) -> Self {
        Self {
            entries: page
                .entries
                .iter()
                .map(|e| HistoryEntryResponse::of(e, &page.actors))
                .collect(),
            next: page.next.map(|v| v.to_string()),
        }
    }
}

/// One event of the change feed (also a webhook's body).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventResponse {
    /// `user.created`, `user.updated`, `user.deleted`,
    /// `user.password_changed` or `user.sessions_revoked`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where the event stands in the feed (opaque, ordered): ask for the
    /// events `after` it.
    pub cursor: String,
    /// When (RFC 3339).
    pub at: String,
    /// The user.
    pub user_id: String,
    /// Who.
    pub actor: ActorResponse,
    /// `user.updated` only: the names of the fields that changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<&'static str>>,
}

impl EventResponse {
    /// The shape of `event`.
    pub fn of(event: &Event, actors: &Actors) -> Self {
        Self {
            kind: event.kind.as_str(),
            cursor: event.cursor.to_string(),
            at: rfc3339(event.at),
            user_id: event.user.to_string(),
            actor: ActorResponse::of(actors.get(event.actor)),
            fields: (event.kind == userhub_domain::feed::EventType::UserUpdated)
                .then(|| event.fields.iter().map(|f| f.as_str()).collect()),
        }
    }
}

/// A page of the change feed, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedResponse {
    /// The events.
    pub events: Vec<EventResponse>,
    /// The last event's cursor, or the one given (`0-0`, the start, when
    /// none was): store it, and ask `after` it next.
    pub cursor: String,
}

impl FeedResponse {
    /// The answer for `page`.
    pub fn of(page: &FeedPage) -> Self {
        Self {
            events: page
                .events
                .iter()
                .map(|e| EventResponse::of(e, &page.actors))
                .collect(),
            cursor: page.cursor.to_string(),
        }
    }
}
