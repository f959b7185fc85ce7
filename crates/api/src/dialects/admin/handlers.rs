//! The admin API's routes. Each handler parses its request into a domain
//! query, runs it in one trip through the pipeline and renders the result;
//! failures are rendered by [`Admin`] in the shared error body.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::Json;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use userhub_domain::admin;
use userhub_domain::authz::Actor;
use userhub_domain::webhook::WebhookSecret;
use utoipa::OpenApi;

use super::Admin;
use super::dto::{
    ActorResponse, ApiKeyResponse, ApiKeysResponse, AttributeResponse, AttributesResponse,
    CreateApiKeyRequest, CreateWebhookRequest, CreatedApiKeyResponse, CreatedWebhookResponse,
    DefineAttributeRequest, DeliveriesResponse, DeliveryResponse, EventResponse, FeedResponse,
    HistoryEntryResponse, HistoryResponse, WebhookResponse, WebhooksResponse, api_key_id,
    attribute_name, create_api_key_command, create_webhook_command, define_attribute_command,
    feed_query, history_query, webhook_id,
};
use crate::secrets;
use crate::toolkit::openapi::{BearerAuth, ErrorResponses, EveryOperation};
use crate::toolkit::render::no_content;
use crate::toolkit::{Body, Call, ErrorBody, Failure, Mounted, Pipeline, Reply, query_pairs};

/// How often a long poll re-reads the feed for events committed by other
/// nodes (this node's own commits wake it at once).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A user's history.
///
/// The history of the user `id` of the key's tenant, newest first, a page
/// at a time (`limit` 1 to 100, default 50; `cursor` from the previous
/// page's `next`). Each entry has the version it made, the time, the actor,
/// the changed fields with their old and new values (a password only says
/// `"changed"`) and the comment. Readable after the user is deleted, and
/// after it is purged.
#[utoipa::path(
    params(
        ("id" = String, Path, format = Uuid, description = "The user's id"),
        ("cursor" = Option<String>, Query, description = "The previous page's `next`"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Entries per page (default 50)"),
    ),
    responses(
        (status = 200, body = HistoryResponse, description = "A page of the history, newest first"),
        (status = 400, body = ErrorBody, description = "A malformed id, cursor or limit, or an unknown parameter"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant"),
    )
)]
#[get("/admin/v1/users/{id}/history")]
pub async fn user_history(
    call: Call<Admin>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Reply<Admin, Json<HistoryResponse>> {
    let parsed = history_query(&id, query_pairs(&req));
    call.run(parsed, admin::user_history, |page| {
        Json(HistoryResponse::of(&page))
    })
    .await
}

/// The change feed.
///
/// The tenant's events after the cursor `after` (from the start without
/// it), oldest first, in commit order: `user.created`, `user.updated`
/// (with the changed fields' names), `user.deleted`,
/// `user.password_changed`, `user.sessions_revoked`. Answers
/// `{"events": [...], "cursor": ...}` where `cursor` is the last event's,
/// or the one given: store it once the events are processed, and ask after
/// it next. With `wait` (seconds, at most 30) and no event yet, the answer
/// waits until one commits (at once for this node's commits; within half
/// a second for another node's) or the time is up.
#[utoipa::path(
    params(
        ("after" = Option<String>, Query, description = "The cursor of the last event processed"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Events per answer (default 50)"),
        ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "Seconds to wait for an event when there is none yet (default 0)"),
    ),
    responses(
        (status = 200, body = FeedResponse, description = "The events after the cursor, oldest first"),
        (status = 400, body = ErrorBody, description = "A malformed cursor, limit or wait, or an unknown parameter"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[get("/admin/v1/events")]
pub async fn events(call: Call<Admin>, req: HttpRequest) -> Reply<Admin, Json<FeedResponse>> {
    let parsed = feed_query(query_pairs(&req));
    let deadline =
        tokio::time::Instant::now() + parsed.as_ref().map_or(Duration::ZERO, |(_, wait)| *wait);
    // Registered before the first read, so a commit between the read and
    // the wait is not missed.
    let changes = call.pipeline().changes.clone();
    let mut notified = std::pin::pin!(changes.notified());
    notified.as_mut().enable();
    let (state, access) = call.into_parts();
    let (actor, mut page) = state
        .call(access, move |ctx, actor| {
            let (query, _) = parsed?;
            let page = admin::read_feed(ctx, actor, query)?;
            Ok::<_, Failure>(((actor.clone(), query), page))
        })
        .await?;
    while page.events.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            () = notified.as_mut() => {}
            () = tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + POLL_INTERVAL)) => {}
        }
        notified.set(changes.notified());
        notified.as_mut().enable();
        page = read_again(&state, &actor).await?;
    }
    Ok(Json(FeedResponse::of(&page)))
}

/// The feed read again for an admitted caller (a long poll's next look).
async fn read_again(
    state: &Pipeline,
    (actor, query): &(Actor, admin::FeedQuery),
) -> Result<admin::FeedPage, Failure> {
    let (actor, query) = (actor.clone(), *query);
    state
        .call_anonymous(move |ctx| Ok(admin::read_feed(ctx, &actor, query)?))
        .await
}

/// The tenant's API keys.
///
/// Every key of the tenant, oldest first, revoked ones included; never a
/// key's secret (only its hash is stored).
#[utoipa::path(
    responses(
        (status = 200, body = ApiKeysResponse, description = "The keys"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[get("/admin/v1/api-keys")]
pub async fn list_api_keys(call: Call<Admin>) -> Reply<Admin, Json<ApiKeysResponse>> {
    call.run(Ok(()), admin::list_api_keys, |keys| {
        Json(ApiKeysResponse {
            api_keys: keys.iter().map(ApiKeyResponse::of).collect(),
        })
    })
    .await
}

/// Make an API key.
///
/// A key of the tenant with the `roles` given and an optional `label`. The
/// answer holds the key itself in `key`: it is shown this once and cannot
/// be read again.
#[utoipa::path(
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, body = CreatedApiKeyResponse, description = "The new key, with its secret (shown once)"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[post("/admin/v1/api-keys")]
pub async fn create_api_key(call: Call<Admin>, body: Body) -> Reply<Admin, HttpResponse> {
    let (prefix, secret) = secrets::new_api_key();
    let hash = secret.hash();
    let parsed = body.parse(|b| create_api_key_command(b, prefix, hash));
    call.run(parsed, admin::create_api_key, |key| {
        HttpResponse::Created().json(CreatedApiKeyResponse {
            listed: ApiKeyResponse::of(&key),
            key: secret.expose().to_owned(),
        })
    })
    .await
}

/// Revoke an API key.
///
/// The key `id` of the tenant authenticates nothing from now on; it stays
/// listed, revoked. Revoking a revoked key is not an error.
#[utoipa::path(
    params(("id" = String, Path, format = Uuid, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = ErrorBody, description = "A malformed id"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 404, body = ErrorBody, description = "No such key in the tenant"),
    )
)]
#[delete("/admin/v1/api-keys/{id}")]
pub async fn revoke_api_key(
    call: Call<Admin>,
    id: web::Path<String>,
) -> Reply<Admin, HttpResponse> {
    call.run(api_key_id(&id), admin::revoke_api_key, no_content)
        .await
}

/// The tenant's custom attributes.
///
/// The attributes users of the tenant may carry (Nevis's `properties`), by
/// name.
#[utoipa::path(
    responses(
        (status = 200, body = AttributesResponse, description = "The attributes"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[get("/admin/v1/attributes")]
pub async fn list_attributes(call: Call<Admin>) -> Reply<Admin, Json<AttributesResponse>> {
    call.run(Ok(()), admin::list_attributes, |definitions| {
        Json(AttributesResponse {
            attributes: definitions.iter().map(AttributeResponse::of).collect(),
        })
    })
    .await
}

/// Declare a custom attribute.
#[utoipa::path(
    request_body = DefineAttributeRequest,
    responses(
        (status = 201, body = AttributeResponse, description = "The attribute, declared"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 409, body = ErrorBody, description = "The tenant already declared it"),
    )
)]
#[post("/admin/v1/attributes")]
pub async fn define_attribute(call: Call<Admin>, body: Body) -> Reply<Admin, HttpResponse> {
    let parsed = body.parse(define_attribute_command);
    call.run(parsed, admin::define_attribute, |definition| {
        HttpResponse::Created().json(AttributeResponse::of(&definition))
    })
    .await
}

/// Remove a custom attribute.
///
/// Only while no user carries a value for it (400 `in_use` otherwise).
#[utoipa::path(
    params(("name" = String, Path, pattern = "^[A-Za-z][A-Za-z0-9_.-]{0,63}$", description = "The attribute's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, body = ErrorBody, description = "A malformed name, or users still carry the attribute (`in_use`)"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 404, body = ErrorBody, description = "The tenant has no such attribute"),
    )
)]
#[delete("/admin/v1/attributes/{name}")]
pub async fn remove_attribute(
    call: Call<Admin>,
    name: web::Path<String>,
) -> Reply<Admin, HttpResponse> {
    call.run(attribute_name(&name), admin::remove_attribute, no_content)
        .await
}

/// Make a webhook.
///
/// Events of the `eventTypes` given, committed from now on, are POSTed to
/// `url` one at a time in feed order, each signed in
/// `X-Userhub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
/// under the webhook's secret, which this answer shows once. A failed
/// attempt (no 2xx in time) is retried with exponential backoff and
/// jitter; after 24 hours of failures at one event the webhook is marked
/// `failed`.
#[utoipa::path(
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, body = CreatedWebhookResponse, description = "The webhook, with its signing secret (shown once)"),
        (status = 400, body = ErrorBody, description = "Invalid fields (all named); a URL to a private address is `private_address`"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[post("/admin/v1/webhooks")]
pub async fn create_webhook(call: Call<Admin>, body: Body) -> Reply<Admin, HttpResponse> {
    let secret = secrets::new_webhook_secret();
    let signing = WebhookSecret::new(secret.expose().to_owned());
    let allow_private = call.pipeline().config.webhooks.allow_private;
    let parsed = body.parse(|b| create_webhook_command(b, allow_private, signing));
    call.run(parsed, admin::create_webhook, |webhook| {
        HttpResponse::Created().json(CreatedWebhookResponse {
            webhook: WebhookResponse::of(&webhook),
            secret: secret.expose().to_owned(),
        })
    })
    .await
}

/// The tenant's webhooks.
#[utoipa::path(
    responses(
        (status = 200, body = WebhooksResponse, description = "The webhooks, oldest first"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[get("/admin/v1/webhooks")]
pub async fn list_webhooks(call: Call<Admin>) -> Reply<Admin, Json<WebhooksResponse>> {
    call.run(Ok(()), admin::list_webhooks, |webhooks| {
        Json(WebhooksResponse {
            webhooks: webhooks.iter().map(WebhookResponse::of).collect(),
        })
    })
    .await
}

/// A webhook.
///
/// The webhook and where its delivery stands: its cursor, failures in a
/// row, the next attempt.
#[utoipa::path(
    params(("id" = String, Path, format = Uuid, description = "The webhook's id")),
    responses(
        (status = 200, body = WebhookResponse, description = "The webhook"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 404, body = ErrorBody, description = "No such webhook in the tenant"),
    )
)]
#[get("/admin/v1/webhooks/{id}")]
pub async fn get_webhook(
    call: Call<Admin>,
    id: web::Path<String>,
) -> Reply<Admin, Json<WebhookResponse>> {
    call.run(webhook_id(&id), admin::get_webhook, |webhook| {
        Json(WebhookResponse::of(&webhook))
    })
    .await
}

/// Delete a webhook.
///
/// Nothing more is sent to it; its delivery attempts go with it.
#[utoipa::path(
    params(("id" = String, Path, format = Uuid, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 404, body = ErrorBody, description = "No such webhook in the tenant"),
    )
)]
#[delete("/admin/v1/webhooks/{id}")]
pub async fn delete_webhook(
    call: Call<Admin>,
    id: web::Path<String>,
) -> Reply<Admin, HttpResponse> {
    call.run(webhook_id(&id), admin::delete_webhook, no_content)
        .await
}

/// A webhook's recent delivery attempts.
///
/// The latest 50 attempts, newest first: the event, the receiver's status,
/// the latency, what went wrong and when it is tried again.
#[utoipa::path(
    params(("id" = String, Path, format = Uuid, description = "The webhook's id")),
    responses(
        (status = 200, body = DeliveriesResponse, description = "The attempts, newest first"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 404, body = ErrorBody, description = "No such webhook in the tenant"),
    )
)]
#[get("/admin/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    call: Call<Admin>,
    id: web::Path<String>,
) -> Reply<Admin, Json<DeliveriesResponse>> {
    call.run(webhook_id(&id), admin::list_deliveries, |deliveries| {
        Json(DeliveriesResponse {
            deliveries: deliveries.iter().map(DeliveryResponse::of).collect(),
        })
    })
    .await
}

/// The admin API's error answers in its document: the shared body, invalid
/// content 400.
const ERRORS: ErrorResponses = ErrorResponses {
    schema: "ErrorBody",
    content_type: "application/json",
    invalid: StatusCode::BAD_REQUEST,
};

/// The admin API as the application mounts it.
pub const MOUNTED: Mounted = Mounted::of::<Admin>(super::PREFIXES, configure, openapi);

/// Mount the admin API's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(user_history)
        .service(events)
        .service(list_api_keys)
        .service(create_api_key)
        .service(revoke_api_key)
        .service(list_attributes)
        .service(define_attribute)
        .service(remove_attribute)
        .service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(delete_webhook)
        .service(list_deliveries);
}

/// Every admin route takes a bearer API key and is tagged `admin`.
const EVERY_ROUTE: EveryOperation = EveryOperation {
    tag: "admin",
    security: "bearer",
};

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerAuth, &EVERY_ROUTE, &ERRORS),
    components(schemas(
        ErrorBody,
        ActorResponse,
        HistoryEntryResponse,
        EventResponse,
        ApiKeyResponse,
        AttributeResponse,
        DeliveryResponse
    )),
    tags((name = "admin", description = "userhub's own admin API: history, change feed, webhooks, API keys, attributes")),
    paths(
        user_history,
        events,
        list_api_keys,
        create_api_key,
        revoke_api_key,
        list_attributes,
        define_attribute,
        remove_attribute,
        create_webhook,
        list_webhooks,
        get_webhook,
        delete_webhook,
        list_deliveries,
    ),
    info(
        title = "userhub — admin API",
        description = "userhub's own admin API. Authenticate with `Authorization: Bearer <API key>`, a key of the tenant with the ADMIN role. Errors share one JSON body (`ErrorBody`).",
    ),
)]
struct AdminApi;

/// The admin API's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    AdminApi::openapi()
}
