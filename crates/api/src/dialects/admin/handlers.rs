//! The admin API's routes. Each handler parses its request into a domain
//! query, runs it in one trip through the pipeline and renders the result;
//! failures are rendered by [`Admin`] in the shared error body.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Json};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use futures_core::Stream;
use userhub_domain::admin;
use userhub_domain::authz::Actor;
use userhub_domain::import::{self as domain_import, ExportPage};
use userhub_domain::ports::Ctx;
use userhub_domain::types::UserId;
use userhub_domain::webhook::WebhookSecret;
use utoipa::OpenApi;

use super::Admin;
use super::dto::{
    ActorResponse, ApiKeyResponse, ApiKeysResponse, AttributeResponse, AttributesResponse,
    CreateApiKeyRequest, CreateWebhookRequest, CreatedApiKeyResponse, CreatedWebhookResponse,
    DefineAttributeRequest, DeliveriesResponse, DeliveryResponse, EventResponse, FeedResponse,
    HistoryEntryResponse, HistoryResponse, ImportCounts, ImportLineError, ImportResultLine,
    ImportSummaryLine, WebhookResponse, WebhooksResponse, api_key_id, attribute_name,
    create_api_key_command, create_webhook_command, define_attribute_command, export_query,
    feed_query, history_query, import_query, webhook_id,
};
use crate::import::{self, Batcher, ImportOptions, ImportSummary, LineSplitter};
use crate::secrets;
use crate::toolkit::extract::is_ndjson;
use crate::toolkit::openapi::{BearerAuth, ErrorResponses, EveryOperation};
use crate::toolkit::render::no_content;
use crate::toolkit::stream::{ChunkSender, streamed};
use crate::toolkit::{
    Bearer, Body, Call, ErrorBody, Failure, Mounted, Pipeline, Reply, RequestError, query_pairs,
};
use userhub_storage::Store;

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

/// Chunks an import's or export's answer may run ahead of the client.
const STREAM_AHEAD: usize = 4;

/// Import users.
///
/// The body is newline-delimited JSON (`application/x-ndjson`), one user a
/// line in the shape of `docs/import.md` (with `passwordHash` as the old
/// system made it, or a plaintext `password`); each line at most 1 MiB (a
/// longer one is a refused line, `too_long`). The body is read as it
/// arrives and written a batch of 1,000 lines at a time, one transaction a
/// batch, exactly as `userhub import` does. The answer is streamed as
/// NDJSON too: one result a line, in input order, as each batch is done
/// (`{"line":3,"outcome":"refused","errors":[{"field":"email","code":"taken","message":...}]}`),
/// then one `{"summary":{...}}` line. `onConflict` says what a taken id,
/// username or e-mail means: `fail` (refuse the line; the default),
/// `skip`, or `update` (replace the stored user). `dryRun=true` judges
/// every line against the database and writes nothing. A client that goes
/// away stops the import after the batch in hand; finished batches are
/// kept, and the same body sent again with `onConflict=skip` finishes it.
/// The lines carry password hashes: an ADMIN API key only.
#[utoipa::path(
    params(
        ("onConflict" = Option<String>, Query, description = "`fail` (default), `skip` or `update`"),
        ("dryRun" = Option<bool>, Query, description = "Judge everything, write nothing (default false)"),
    ),
    request_body(content = String, content_type = "application/x-ndjson", description = "One user a line (docs/import.md)"),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = ImportResultLine, description = "One result a line, then one `ImportSummaryLine`, streamed as batches are done"),
        (status = 400, body = ErrorBody, description = "A malformed `onConflict` or `dryRun`, or an unknown parameter"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
        (status = 415, body = ErrorBody, description = "The body is not `application/x-ndjson`"),
    )
)]
#[post("/admin/v1/users/import")]
pub async fn import_users(
    caller: Bearer<Admin>,
    state: Pipeline,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply<Admin, HttpResponse> {
    let parsed = import_query(query_pairs(&req), is_ndjson(&req));
    let (scope, (on_conflict, dry_run)) = state
        .call(caller.access(), move |_, actor| {
            let query = parsed?;
            Ok((domain_import::admit(actor)?, query))
        })
        .await?;
    let options = ImportOptions {
        tenant: scope.tenant,
        by: scope.by,
        on_conflict,
        dry_run,
        batch: import::DEFAULT_BATCH,
    };
    let (sender, response) = streamed("application/x-ndjson", STREAM_AHEAD);
    let idle = state.config.body_timeout;
    actix_web::rt::spawn(run_import(state, options, payload, idle, sender));
    Ok(response)
}

/// The next chunk of a request body: `Ok(None)` at its end, `Err` when it
/// broke or stayed silent for `idle`.
async fn next_chunk(payload: &mut web::Payload, idle: Duration) -> Result<Option<Bytes>, String> {
    let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *payload).poll_next(cx));
    match tokio::time::timeout(idle, next).await {
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(None) => Ok(None),
        Ok(Some(Err(e))) => Err(format!("the request body could not be read ({e})")),
        Err(_) => Err(format!(
            "no part of the request body arrived for {} s",
            idle.as_secs()
        )),
    }
}

/// An import over HTTP: read the body a chunk at a time into batches,
/// write each batch on the blocking pool, stream its results, and end
/// with the summary. Stops after the batch in hand when the client is
/// gone (its results have nowhere to go).
async fn run_import(
    state: Pipeline,
    options: ImportOptions,
    mut payload: web::Payload,
    idle: Duration,
    sender: ChunkSender,
) {
    let mut splitter = LineSplitter::new();
    let mut batcher = Batcher::new(options.batch);
    let mut summary = ImportSummary::default();
    let mut stopped = None;
    let mut client_gone = false;
    let mut statistics = import::StatisticsSchedule::default();
    loop {
        let (ready, done) = match next_chunk(&mut payload, idle).await {
            Ok(Some(chunk)) => {
                let mut ready = Vec::new();
                splitter.push(&chunk, |line| ready.extend(batcher.push(line)));
                (ready, false)
            }
            Ok(None) => {
                let mut ready = Vec::new();
                splitter.finish(|line| ready.extend(batcher.push(line)));
                ready.extend(batcher.rest());
                (ready, true)
            }
            Err(why) => {
                stopped = Some(why);
                break;
            }
        };
        for batch in ready {
            let task_state = state.clone();
            let outcome =
                web::block(move || import::import_lines(&task_state, &options, batch)).await;
            let results = match outcome {
                Ok(Ok(results)) => results,
                Ok(Err(e)) => {
                    log::error!("admin import into tenant {} stopped: {e}", options.tenant);
                    stopped = Some("the database failed during a batch".to_owned());
                    break;
                }
                Err(_) => {
                    stopped = Some("the batch's task did not finish".to_owned());
                    break;
                }
            };
            for result in &results {
                summary.count(result);
            }
            let (schedule_state, counts) = (state.clone(), summary);
            statistics = web::block(move || {
                statistics.after_batch(&schedule_state, &counts);
                statistics
            })
            .await
            .unwrap_or_default();
            let mut chunk = Vec::new();
            for result in &results {
                if let Err(e) = serde_json::to_writer(&mut chunk, result) {
                    log::error!("admin import: a result line could not be written: {e}");
                }
                chunk.push(b'\n');
            }
            if !sender.send(Bytes::from(chunk)).await {
                log::info!(
                    "admin import into tenant {}: the client went away after {} lines",
                    options.tenant,
                    summary.lines
                );
                client_gone = true;
                break;
            }
        }
        if done || client_gone || stopped.is_some() {
            break;
        }
    }
    let refresh_state = state.clone();
    let written = summary;
    // Statistics are refreshed even for a client that went away: its
    // batches are written.
    let _ = web::block(move || import::refresh_statistics(&refresh_state, &written)).await;
    if client_gone {
        return;
    }
    let stopped = stopped.map(|why| {
        format!(
            "{why}; the lines answered are done: send the body again with onConflict=skip to finish"
        )
    });
    let last = ImportSummaryLine {
        summary: ImportCounts::of(&summary, options.dry_run, stopped),
    };
    let mut chunk = serde_json::to_vec(&last).unwrap_or_default();
    chunk.push(b'\n');
    // A client gone by now has had every result it will read.
    let _ = sender.send(Bytes::from(chunk)).await;
}

/// Export users.
///
/// Every user of the key's tenant, one a line in the import's shape
/// (`docs/import.md`) **with its password hash**, as
/// `application/x-ndjson`, in id order, read a page of 1,000 at a time by
/// the primary key (memory flat whatever the tenant's size). Deleted users
/// only with `includeDeleted=true`. Importing the answer into another
/// tenant gives the same users: ids, fields, hashes (logins work) and
/// `createdAt`. Should the database fail half-way, the answer ends without
/// its proper end (the chunked body is cut), so a partial export is not
/// taken for a whole one. An ADMIN API key only.
#[utoipa::path(
    params(
        ("includeDeleted" = Option<bool>, Query, description = "Deleted users too (default false)"),
    ),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String, description = "One user a line, with its password hash"),
        (status = 400, body = ErrorBody, description = "A malformed `includeDeleted`, or an unknown parameter"),
        (status = 403, body = ErrorBody, description = "Not an API key with the ADMIN role"),
    )
)]
#[get("/admin/v1/users/export")]
pub async fn export_users(
    caller: Bearer<Admin>,
    state: Pipeline,
    req: HttpRequest,
) -> Reply<Admin, HttpResponse> {
    let parsed = export_query(query_pairs(&req));
    let (actor, include_deleted, first) = state
        .call(caller.access(), move |ctx, actor| {
            let include_deleted = parsed?;
            let first = export_chunk(ctx, actor, None, include_deleted)?;
            Ok((actor.clone(), include_deleted, first))
        })
        .await?;
    let (sender, response) = streamed("application/x-ndjson", STREAM_AHEAD);
    actix_web::rt::spawn(run_export(state, actor, include_deleted, first, sender));
    Ok(response)
}

/// One page of an export as lines, and the last id it holds (`None`: the
/// export is done).
fn export_chunk(
    ctx: &Ctx<'_, Store>,
    actor: &Actor,
    after: Option<UserId>,
    include_deleted: bool,
) -> Result<(Bytes, Option<UserId>), Failure> {
    let page = ExportPage {
        after,
        limit: import::EXPORT_PAGE,
        include_deleted,
    };
    let users = domain_import::export_page(ctx, actor, page)?;
    let mut chunk = Vec::new();
    import::write_lines(&users, &mut chunk)
        .map_err(|e| RequestError::Internal(format!("an export line: {e}")))?;
    Ok((Bytes::from(chunk), users.last().map(|u| u.id)))
}

/// An export over HTTP: each page read on the blocking pool and sent, until
/// a page comes back empty or the client is gone.
async fn run_export(
    state: Pipeline,
    actor: Actor,
    include_deleted: bool,
    first: (Bytes, Option<UserId>),
    sender: ChunkSender,
) {
    let (mut chunk, mut last) = first;
    while let Some(after) = last {
        if !sender.send(chunk).await {
            return;
        }
        let page_actor = actor.clone();
        let next = state
            .call_anonymous(move |ctx| export_chunk(ctx, &page_actor, Some(after), include_deleted))
            .await;
        match next {
            Ok(page) => (chunk, last) = page,
            Err(e) => {
                log::error!("admin export of tenant {} stopped: {e:?}", actor.tenant);
                sender
                    .fail("the database failed during the export".to_owned())
                    .await;
                return;
            }
        }
    }
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
        .service(list_deliveries)
        .service(import_users)
        .service(export_users);
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
        DeliveryResponse,
        ImportResultLine,
        ImportLineError,
        ImportSummaryLine,
        ImportCounts
    )),
    tags((name = "admin", description = "userhub's own admin API: history, change feed, webhooks, API keys, attributes, import and export")),
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
        import_users,
        export_users,
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
