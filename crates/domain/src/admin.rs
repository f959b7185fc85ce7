//! The operations of userhub's own admin API: a user's history, the
//! tenant's change feed, and who the actors of both were; the tenant's API
//! keys and attributes (through [`crate::manage`], as the command line). Each takes the
//! [`Ctx`] and the [`Actor`], like every operation of [`crate::service`],
//! and starts with [`authorize_admin_api`]: an API key of the tenant with
//! the ADMIN role.
//!
//! Security intent: everything is read in the actor's tenant only, so
//! another tenant's user answers exactly as an unknown one; secrets never
//! reach a history answer (storage records none) or an event (events carry
//! field names, not values).

use std::collections::{BTreeSet, HashMap};

use crate::authz::{Actor, ActorRef, authorize_admin_api};
use crate::credentials::ApiKey;
use crate::error::{DomainError, StorageError};
use crate::feed::{Event, EventCursor, EventType, events_of};
use crate::history::HistoryEntry;
use crate::manage::{self, NewApiKey};
use crate::ports::Ctx;
use crate::repository::{
    ApiKeyRepository, AttributeRepository, FeedRepository, UserRepository, WebhookRepository,
};
use crate::tenant::AttributeDefinition;
use crate::types::{ApiKeyId, AttributeName, TenantId, UserId, WebhookId};
use crate::webhook::{Delivery, Webhook, WebhookSecret, WebhookState, WebhookUrl};

/// The most entries or events one page holds.
pub const MAX_PAGE: u32 = 100;

/// Who an actor of the history or the feed was, as far as it is known now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorInfo {
    /// An API key, with its label (if it has one; `None` also for a key
    /// that no longer exists).
    ApiKey {
        /// The key's id.
        id: ApiKeyId,
        /// The key's label.
        label: Option<String>,
    },
    /// A user, with their username (`None` once the user is purged).
    User {
        /// The user's id.
        id: UserId,
        /// Their username now.
        username: Option<String>,
    },
    /// The service itself (a re-hash at login, a command-line change).
    System,
}

/// The actors of some entries or events, described.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actors(HashMap<ActorRef, ActorInfo>);

impl Actors {
    /// What is known of `actor` (its bare id when it was not looked up).
    pub fn get(&self, actor: ActorRef) -> ActorInfo {
        self.0.get(&actor).cloned().unwrap_or(match actor {
            ActorRef::ApiKey(id) => ActorInfo::ApiKey { id, label: None },
            ActorRef::User(id) => ActorInfo::User { id, username: None },
            ActorRef::System => ActorInfo::System,
        })
    }
}

/// Look up the API keys' labels and the users' usernames of `actors`, in
/// `tenant`.
pub fn describe_actors<R>(
    repo: &R,
    tenant: TenantId,
    actors: impl IntoIterator<Item = ActorRef>,
) -> Result<Actors, StorageError>
where
    R: ApiKeyRepository + UserRepository,
{
    let mut described = HashMap::new();
    let mut keys = None;
    for reference in actors {
        if described.contains_key(&reference) {
            continue;
        }
        let info = match reference {
            ActorRef::ApiKey(id) => {
                if keys.is_none() {
                    keys = Some(repo.list_api_keys(tenant)?);
                }
                let label = keys
                    .iter()
                    .flatten()
                    .find(|k| k.id == id)
                    .and_then(|k| k.label.clone());
                ActorInfo::ApiKey { id, label }
            }
            ActorRef::User(id) => ActorInfo::User {
                id,
                username: repo
                    .get_user(tenant, id)?
                    .map(|u| u.username.as_str().to_owned()),
            },
            ActorRef::System => ActorInfo::System,
        };
        described.insert(reference, info);
    }
    Ok(Actors(described))
}

/// A page of a user's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Whose.
    pub user: UserId,
    /// Entries of versions below this one (the page's cursor); `None` for
    /// the newest.
    pub before: Option<u64>,
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: u32,
}

/// A page of a user's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The entries.
    pub entries: Vec<HistoryEntry>,
    /// Their actors.
    pub actors: Actors,
    /// The cursor of the next (older) page, if there is one.
    pub next: Option<u64>,
}

/// A page of the history of the user `query.user` of the actor's tenant,
/// newest first; readable after the user was deleted or purged. A user
/// with no history in the tenant (unknown, or another tenant's) is not found.
pub fn user_history<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    query: HistoryQuery,
) -> Result<HistoryPage, DomainError>
where
    R: FeedRepository + ApiKeyRepository + UserRepository,
{
    authorize_admin_api(actor).into_result()?;
    history_of(ctx.repo, actor.tenant, query)
}

/// A page of the history of the user `query.user` of `tenant`, newest
/// first, without an authorization question: for the command line, whose
/// operator holds the database.
pub fn history_of<R>(
    repo: &R,
    tenant: TenantId,
    query: HistoryQuery,
) -> Result<HistoryPage, DomainError>
where
    R: FeedRepository + ApiKeyRepository + UserRepository,
{
    let limit = query.limit.clamp(1, MAX_PAGE);
    let mut entries = repo.user_history_page(tenant, query.user, query.before, limit + 1)?;
    if entries.is_empty() && query.before.is_none() {
        return Err(DomainError::NotFound("user"));
    }
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next = if more {
        entries.last().map(|e| e.version)
    } else {
        None
    };
    let actors = describe_actors(repo, tenant, entries.iter().map(|e| e.actor))?;
    Ok(HistoryPage {
        entries,
        actors,
        next,
    })
}

/// A page of the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedQuery {
    /// Events after this one ([`EventCursor::START`] for all).
    pub after: EventCursor,
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: u32,
}

/// A page of the change feed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPage {
    /// The events.
    pub events: Vec<Event>,
    /// Their actors.
    pub actors: Actors,
    /// The last event's cursor, or the one asked after when there are none:
    /// what to ask after next.
    pub cursor: EventCursor,
}

/// The events of the actor's tenant after `query.after`, oldest first, in
/// commit order. Derived from the history ([`events_of`]): an entry may be
/// several events, or none.
pub fn read_feed<R>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    query: FeedQuery,
) -> Result<FeedPage, DomainError>
where
    R: FeedRepository + ApiKeyRepository + UserRepository,
{
    authorize_admin_api(actor).into_result()?;
    let limit = query.limit.clamp(1, MAX_PAGE) as usize;
    let events = feed_events(ctx.repo, actor.tenant, query.after, limit)?;
    let cursor = events.last().map_or(query.after, |e| e.cursor);
    let actors = describe_actors(ctx.repo, actor.tenant, events.iter().map(|e| e.actor))?;
    Ok(FeedPage {
        events,
        actors,
        cursor,
    })
}

/// Up to `limit` events of `tenant` after `after`, oldest first (for the
/// feed and for webhook delivery).
pub fn feed_events<R: FeedRepository>(
    repo: &R,
    tenant: TenantId,
    after: EventCursor,
    limit: usize,
) -> Result<Vec<Event>, StorageError> {
    let batch = u32::try_from(limit.saturating_add(1)).unwrap_or(MAX_PAGE + 1);
    let mut events = Vec::new();
    // The cursor's own entry may have events left after it.
    let mut from = after.position.max(1);
    loop {
        let records = repo.feed_from(tenant, from, batch)?;
        let full = records.len() == batch as usize;
        for record in &records {
            events.extend(events_of(record).into_iter().filter(|e| e.cursor > after));
        }
        if events.len() >= limit || !full {
            break;
        }
        // A batch of entries that were no events (re-hashes): read on.
        match records.last() {
            Some(last) => from = last.position + 1,
            None => break,
        }
    }
    events.truncate(limit);
    Ok(events)
}

/// The API keys of the actor's tenant, oldest first (never their secrets:
/// only hashes are stored).
pub fn list_api_keys<R: ApiKeyRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    (): (),
) -> Result<Vec<ApiKey>, DomainError> {
    authorize_admin_api(actor).into_result()?;
    Ok(ctx.repo.list_api_keys(actor.tenant)?)
}

/// Make an API key of the actor's tenant ([`manage::create_api_key`]).
pub fn create_api_key<R: ApiKeyRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    new: NewApiKey,
) -> Result<ApiKey, DomainError> {
    authorize_admin_api(actor).into_result()?;
    manage::create_api_key(ctx.repo, actor.tenant, new, ctx.now)
}

/// Revoke an API key of the actor's tenant ([`manage::revoke_api_key`]).
pub fn revoke_api_key<R: ApiKeyRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    id: ApiKeyId,
) -> Result<(), DomainError> {
    authorize_admin_api(actor).into_result()?;
    manage::revoke_api_key(ctx.repo, Some(actor.tenant), id, ctx.now)
}

/// The custom attributes the actor's tenant declared, by name.
pub fn list_attributes<R: AttributeRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    (): (),
) -> Result<Vec<AttributeDefinition>, DomainError> {
    authorize_admin_api(actor).into_result()?;
    Ok(ctx.repo.list_attributes(actor.tenant)?)
}

/// An attribute to declare: its name and description.
#[derive(Debug, Clone)]
pub struct DefineAttribute {
    /// The name.
    pub name: AttributeName,
    /// What it is for.
    pub description: Option<String>,
}

/// Declare an attribute for the actor's tenant ([`manage::define_attribute`]).
pub fn define_attribute<R: AttributeRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    command: DefineAttribute,
) -> Result<AttributeDefinition, DomainError> {
    authorize_admin_api(actor).into_result()?;
    manage::define_attribute(
        ctx.repo,
        actor.tenant,
        command.name,
        command.description,
        ctx.now,
    )
}

/// Remove an unused attribute of the actor's tenant
/// ([`manage::remove_attribute`]).
pub fn remove_attribute<R: AttributeRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    name: AttributeName,
) -> Result<(), DomainError> {
    authorize_admin_api(actor).into_result()?;
    manage::remove_attribute(ctx.repo, actor.tenant, &name)
}

/// A webhook to make: its URL (checked by the caller against the
/// operator's rule on private addresses), the event types it wants, a
/// description, and the signing secret the caller made.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where events go.
    pub url: WebhookUrl,
    /// The event types it wants (at least one).
    pub event_types: BTreeSet<EventType>,
    /// A note for people.
    pub description: Option<String>,
    /// The signing secret.
    pub secret: WebhookSecret,
}

/// Make a webhook of the actor's tenant. It receives the events committed
/// from now on (its cursor starts at the feed's head).
pub fn create_webhook<R: WebhookRepository + FeedRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    new: NewWebhook,
) -> Result<Webhook, DomainError> {
    authorize_admin_api(actor).into_result()?;
    let head = ctx.repo.feed_head(actor.tenant)?;
    let webhook = Webhook {
        id: WebhookId::new_random(),
        tenant: actor.tenant,
        url: new.url,
        event_types: new.event_types,
        description: new.description,
        secret: new.secret,
        created_at: ctx.now,
        // After every event of the head's entry.
        cursor: EventCursor {
            position: head,
            index: u32::MAX,
        },
        state: WebhookState::Active,
        failures: 0,
        failing_since: None,
        next_attempt_at: ctx.now,
    };
    ctx.repo.create_webhook(&webhook)?;
    Ok(webhook)
}

/// The webhooks of the actor's tenant, oldest first.
pub fn list_webhooks<R: WebhookRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    (): (),
) -> Result<Vec<Webhook>, DomainError> {
    authorize_admin_api(actor).into_result()?;
    Ok(ctx.repo.list_webhooks(actor.tenant)?)
}

/// The webhook `id` of the actor's tenant.
pub fn get_webhook<R: WebhookRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    id: WebhookId,
) -> Result<Webhook, DomainError> {
    authorize_admin_api(actor).into_result()?;
    ctx.repo
        .get_webhook(actor.tenant, id)?
        .ok_or(DomainError::NotFound("webhook"))
}

/// Delete the webhook `id` of the actor's tenant, with its deliveries.
pub fn delete_webhook<R: WebhookRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    id: WebhookId,
) -> Result<(), DomainError> {
    authorize_admin_api(actor).into_result()?;
    if ctx.repo.delete_webhook(actor.tenant, id)? {
        Ok(())
    } else {
        Err(DomainError::NotFound("webhook"))
    }
}

/// How many recent attempts a webhook's deliveries list.
pub const RECENT_DELIVERIES: u32 = 50;

/// The recent delivery attempts of the webhook `id` of the actor's tenant,
/// newest first.
pub fn list_deliveries<R: WebhookRepository>(
    ctx: &Ctx<'_, R>,
    actor: &Actor,
    id: WebhookId,
) -> Result<Vec<Delivery>, DomainError> {
    let webhook = get_webhook(ctx, actor, id)?;
    Ok(ctx.repo.list_deliveries(webhook.id, RECENT_DELIVERIES)?)
}
