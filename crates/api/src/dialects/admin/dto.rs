//! The admin API's query strings and response shapes.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use userhub_domain::admin::{
    ActorInfo, Actors, DefineAttribute, FeedPage, FeedQuery, HistoryPage, HistoryQuery, MAX_PAGE,
    NewWebhook,
};
use userhub_domain::credentials::ApiKey;
use userhub_domain::feed::{Event, EventCursor, EventType};
use userhub_domain::history::HistoryEntry;
use userhub_domain::import::OnConflict;
use userhub_domain::manage::{self, NewApiKey};
use userhub_domain::tenant::AttributeDefinition;
use userhub_domain::types::UserId;
use userhub_domain::types::{ApiKeyId, AttributeName, Role, WebhookId};
use userhub_domain::webhook::{Delivery, Webhook, WebhookSecret, WebhookUrl};
use userhub_domain::{ValidationErrors, ValueError};
use utoipa::ToSchema;

use crate::import::ImportSummary;
use crate::secrets;
use crate::toolkit::fields::{parse_items, shape};
use crate::toolkit::render::rfc3339;
use crate::toolkit::{Failure, In, RequestError};

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

impl Params {
    /// `true` or `false`; `false` when absent.
    fn flag(&self, errors: &mut ValidationErrors, name: &str) -> bool {
        match self.get(name).map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.push(ValueError::new("invalid_value", "must be true or false").at(name));
                false
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

/// The body of `POST /admin/v1/api-keys`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    /// The roles the key carries (at least one): GUEST, API_USER,
    /// STANDARD_USER, POWER_USER, EXTENDED_USER, ADMIN.
    #[schema(required = true, schema_with = roles_schema, default)]
    pub roles: In<Vec<In<String>>>,
    /// What the key is for (at most 200 characters).
    #[schema(value_type = Option<String>, nullable, example = "CRM sync", default)]
    pub label: In<String>,
}

/// A key to make from `body`; `prefix` and `key_hash` are the new secret's.
pub fn create_api_key_command(
    body: Map<String, Value>,
    prefix: String,
    key_hash: String,
) -> Result<NewApiKey, Failure> {
    let dto: CreateApiKeyRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let roles = dto
        .roles
        .required(&mut errors, "roles")
        .map(|list| parse_items(&mut errors, "roles", list, Role::parse))
        .unwrap_or_default();
    let label = dto.label.optional(&mut errors, "label").and_then(|l| {
        errors
            .check("label", manage::parse_label(Some(&l)))
            .flatten()
    });
    Ok(NewApiKey {
        roles: roles.into_iter().collect(),
        label,
        prefix,
        key_hash,
        errors,
    })
}

/// An API key as listed (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyResponse {
    /// The key's id.
    pub id: String,
    /// The key's public beginning (`uhk_<prefix>`), to recognise it.
    pub prefix: String,
    /// Its roles.
    pub roles: Vec<&'static str>,
    /// Its label.
    pub label: Option<String>,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it last authenticated a request.
    pub last_used_at: Option<String>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<String>,
}

impl ApiKeyResponse {
    /// The shape of `key`.
    pub fn of(key: &ApiKey) -> Self {
        Self {
            id: key.id.to_string(),
            prefix: format!("{}{}", secrets::API_KEY_MARK, key.prefix),
            roles: key.roles.iter().map(|r| r.as_str()).collect(),
            label: key.label.clone(),
            created_at: rfc3339(key.created_at),
            last_used_at: key.last_used_at.map(rfc3339),
            revoked_at: key.revoked_at.map(rfc3339),
        }
    }
}

/// A new API key, with its secret: shown this once, never again.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyResponse {
    /// The key as listed.
    #[serde(flatten)]
    pub listed: ApiKeyResponse,
    /// The key itself (`Authorization: Bearer <key>`): store it now.
    pub key: String,
}

/// A tenant's API keys, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeysResponse {
    /// The keys, revoked ones included.
    pub api_keys: Vec<ApiKeyResponse>,
}

/// A tenant's declared attributes, by name.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributesResponse {
    /// The attributes.
    pub attributes: Vec<AttributeResponse>,
}

/// The body of `POST /admin/v1/attributes`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DefineAttributeRequest {
    /// The name: an ASCII letter, then letters, digits, `_`, `-`, `.` (at
    /// most 64).
    #[schema(required = true, value_type = String, pattern = "^[A-Za-z][A-Za-z0-9_.-]{0,63}$", example = "employeeNumber", default)]
    pub name: In<String>,
    /// What it is for (at most 500 characters).
    #[schema(value_type = Option<String>, nullable, example = "HR system id", default)]
    pub description: In<String>,
}

/// The attribute to declare from `body`.
pub fn define_attribute_command(body: Map<String, Value>) -> Result<DefineAttribute, Failure> {
    let dto: DefineAttributeRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let name = dto
        .name
        .parse_required(&mut errors, "name", AttributeName::parse);
    let description = dto
        .description
        .optional(&mut errors, "description")
        .and_then(|d| {
            errors
                .check("description", manage::parse_description(Some(&d)))
                .flatten()
        });
    errors.into_result()?;
    let name =
        name.ok_or_else(|| RequestError::Internal("a name was neither parsed nor refused".into()))?;
    Ok(DefineAttribute { name, description })
}

/// A path's API key id.
pub fn api_key_id(id: &str) -> Result<ApiKeyId, Failure> {
    let mut errors = ValidationErrors::new();
    let id = errors.check("id", ApiKeyId::parse(id));
    errors.into_result()?;
    id.ok_or_else(|| RequestError::Internal("an id was neither parsed nor refused".into()).into())
}

/// A path's attribute name.
pub fn attribute_name(name: &str) -> Result<AttributeName, Failure> {
    let mut errors = ValidationErrors::new();
    let name = errors.check("name", AttributeName::parse(name));
    errors.into_result()?;
    name.ok_or_else(|| {
        RequestError::Internal("a name was neither parsed nor refused".into()).into()
    })
}

/// A declared attribute.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeResponse {
    /// The name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was declared (RFC 3339).
    pub created_at: String,
}

impl AttributeResponse {
    /// The shape of `definition`.
    pub fn of(definition: &AttributeDefinition) -> Self {
        Self {
            name: definition.name.as_str().to_owned(),
            description: definition.description.clone(),
            created_at: rfc3339(definition.created_at),
        }
    }
}

/// The body of `POST /admin/v1/webhooks`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateWebhookRequest {
    /// Where to POST events: an absolute `http://` or `https://` URL, not
    /// to a loopback, private or link-local address (unless the operator
    /// allows it).
    #[schema(required = true, value_type = String, example = "https://crm.example.com/hooks/userhub", default)]
    pub url: In<String>,
    /// The event types to deliver (at least one).
    #[schema(required = true, schema_with = event_types_schema, default)]
    pub event_types: In<Vec<In<String>>>,
    /// What it is for (at most 500 characters).
    #[schema(value_type = Option<String>, nullable, example = "CRM mirror", default)]
    pub description: In<String>,
}

/// A webhook to make from `body`, with the new `secret`.
pub fn create_webhook_command(
    body: Map<String, Value>,
    allow_private: bool,
    secret: WebhookSecret,
) -> Result<NewWebhook, Failure> {
    let dto: CreateWebhookRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let url = dto
        .url
        .parse_required(&mut errors, "url", |u| WebhookUrl::parse(u, allow_private));
    let event_types: BTreeSet<EventType> = dto
        .event_types
        .required(&mut errors, "eventTypes")
        .map(|list| {
            if list.is_empty() {
                errors.push(
                    ValueError::new("required", "must name at least one event type")
                        .at("eventTypes"),
                );
            }
            parse_items(&mut errors, "eventTypes", list, EventType::parse)
        })
        .unwrap_or_default()
        .into_iter()
        .collect();
    let description = dto
        .description
        .optional(&mut errors, "description")
        .and_then(|d| {
            errors
                .check("description", manage::parse_description(Some(&d)))
                .flatten()
        });
    errors.into_result()?;
    let url =
        url.ok_or_else(|| RequestError::Internal("a url was neither parsed nor refused".into()))?;
    Ok(NewWebhook {
        url,
        event_types,
        description,
        secret,
    })
}

/// A path's webhook id.
pub fn webhook_id(id: &str) -> Result<WebhookId, Failure> {
    let mut errors = ValidationErrors::new();
    let id = errors.check("id", WebhookId::parse(id));
    errors.into_result()?;
    id.ok_or_else(|| RequestError::Internal("an id was neither parsed nor refused".into()).into())
}

/// A webhook and where its delivery stands (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    /// Its id.
    pub id: String,
    /// Where events go.
    pub url: String,
    /// The event types it receives.
    pub event_types: Vec<&'static str>,
    /// What it is for.
    pub description: Option<String>,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// `active`, or `failed` once an event kept failing for 24 hours.
    pub state: &'static str,
    /// The last event handled (delivered, or passed over).
    pub cursor: String,
    /// Failed attempts in a row at the pending event.
    pub failures: u32,
    /// When the next attempt is due.
    pub next_attempt_at: String,
}

impl WebhookResponse {
    /// The shape of `webhook`.
    pub fn of(webhook: &Webhook) -> Self {
        Self {
            id: webhook.id.to_string(),
            url: webhook.url.as_str().to_owned(),
            event_types: webhook.event_types.iter().map(|t| t.as_str()).collect(),
            description: webhook.description.clone(),
            created_at: rfc3339(webhook.created_at),
            state: webhook.state.as_str(),
            cursor: webhook.cursor.to_string(),
            failures: webhook.failures,
            next_attempt_at: rfc3339(webhook.next_attempt_at),
        }
    }
}

/// A new webhook, with its signing secret: shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookResponse {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// The signing secret (HMAC-SHA256 key of `X-Userhub-Signature`):
    /// store it now.
    pub secret: String,
}

/// A tenant's webhooks, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhooksResponse {
    /// The webhooks.
    pub webhooks: Vec<WebhookResponse>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    /// Its id (the `X-Userhub-Delivery` header it was sent with).
    pub id: String,
    /// The event's cursor.
    pub event: String,
    /// The event's type.
    pub event_type: &'static str,
    /// The attempt's number for this event (from 1).
    pub attempt: u32,
    /// When it was sent (RFC 3339).
    pub at: String,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// When it is tried again, if it is.
    pub next_retry_at: Option<String>,
}

impl DeliveryResponse {
    /// The shape of `delivery`.
    pub fn of(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id.to_string(),
            event: delivery.event.to_string(),
            event_type: delivery.event_type.as_str(),
            attempt: delivery.attempt,
            at: rfc3339(delivery.at),
            status_code: delivery.status,
            latency_ms: delivery.latency_ms,
            error: delivery.error.clone(),
            next_retry_at: delivery.next_retry_at.map(rfc3339),
        }
    }
}

/// A webhook's recent delivery attempts, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveriesResponse {
    /// The attempts (the latest 50).
    pub deliveries: Vec<DeliveryResponse>,
}

/// A list of names from `names`, at least one, each once.
fn names_schema(names: &[&str], example: serde_json::Value) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names.iter().copied())),
        )
        .min_items(Some(1))
        .examples([example])
        .into()
}

fn roles_schema() -> utoipa::openapi::schema::Schema {
    let names: Vec<&str> = userhub_domain::types::Role::ALL
        .iter()
        .map(|role| role.as_str())
        .collect();
    names_schema(&names, serde_json::json!(["API_USER"]))
}

fn event_types_schema() -> utoipa::openapi::schema::Schema {
    let names: Vec<&str> = userhub_domain::feed::EventType::ALL
        .iter()
        .map(|event| event.as_str())
        .collect();
    names_schema(&names, serde_json::json!(["user.created", "user.updated"]))
}

/// `POST /admin/v1/users/import?onConflict=&dryRun=`, with an NDJSON body:
/// what to do with a taken line, and whether to write at all.
pub fn import_query(
    query: Result<Vec<(String, String)>, RequestError>,
    ndjson: bool,
) -> Result<(OnConflict, bool), Failure> {
    if !ndjson {
        return Err(RequestError::UnsupportedMediaType {
            expected: "application/x-ndjson",
        }
        .into());
    }
    let mut errors = ValidationErrors::new();
    let params = Params::read(query, &["onConflict", "dryRun"], &mut errors)?;
    let on_conflict = match params.get("onConflict").map(str::trim) {
        None | Some("fail") => Some(OnConflict::Fail),
        Some("skip") => Some(OnConflict::Skip),
        Some("update") => Some(OnConflict::Update),
        Some(_) => {
            errors.push(
                ValueError::new("invalid_value", "must be fail, skip or update").at("onConflict"),
            );
            None
        }
    };
    let dry_run = params.flag(&mut errors, "dryRun");
    errors.into_result()?;
    Ok((on_conflict.unwrap_or_default(), dry_run))
}

/// `GET /admin/v1/users/export?includeDeleted=`: whether deleted users are
/// exported too.
pub fn export_query(query: Result<Vec<(String, String)>, RequestError>) -> Result<bool, Failure> {
    let mut errors = ValidationErrors::new();
    let params = Params::read(query, &["includeDeleted"], &mut errors)?;
    let include_deleted = params.flag(&mut errors, "includeDeleted");
    errors.into_result()?;
    Ok(include_deleted)
}

/// One line of an import's answer: what became of one input line. Its
/// last line is an [`ImportSummaryLine`] instead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResultLine {
    /// The input line's number, from 1 (blank lines are counted, not
    /// answered).
    pub line: u64,
    /// `imported`, `updated`, `skipped` or `refused`.
    pub outcome: String,
    /// The user's id (imported or updated).
    #[schema(format = Uuid)]
    pub id: Option<String>,
    /// Why the line was refused, one entry a field (refused only).
    pub errors: Vec<ImportLineError>,
}

/// One reason an input line was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportLineError {
    /// The field by its name in the line (`passwordHash`, `roles[1]`), or
    /// `line` for the whole line (`invalid_json`, `too_long`).
    pub field: String,
    /// A stable code: `required`, `invalid_format`, `taken`, ...
    pub code: String,
    /// A sentence for a person (never the value).
    pub message: String,
}

/// The last line of an import's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummaryLine {
    /// The counts.
    pub summary: ImportCounts,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportCounts {
    /// Non-blank input lines answered.
    pub lines: u64,
    /// Users created.
    pub imported: u64,
    /// Users replaced (`onConflict=update`).
    pub updated: u64,
    /// Lines left out as already there.
    pub skipped: u64,
    /// Lines refused.
    pub refused: u64,
    /// A dry run: nothing was written.
    pub dry_run: bool,
    /// Whether every line of the body was answered. `false` when the
    /// import stopped early (see `error`): the lines answered stay as
    /// answered, and running the same body again with `onConflict=skip`
    /// finishes it.
    pub complete: bool,
    /// Why the import stopped early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ImportCounts {
    /// The counts of `summary`.
    pub fn of(summary: &ImportSummary, dry_run: bool, error: Option<String>) -> Self {
        Self {
            lines: summary.lines,
            imported: summary.imported,
            updated: summary.updated,
            skipped: summary.skipped,
            refused: summary.refused,
            dry_run,
            complete: error.is_none(),
            error,
        }
    }
}
