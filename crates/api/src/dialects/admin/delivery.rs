//! The webhook worker: delivers each webhook's events, one at a time, in
//! feed order, signed, at least once (see `docs/admin-api.md`).
//!
//! Every node runs one. A pass claims due webhooks one by one (a lease in
//! the database, `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two nodes never
//! make the same attempt), finds the webhook's next event of a type it
//! wants, POSTs it outside any transaction, and writes the outcome (the
//! cursor moves only on a 2xx) while the lease is held. A pass starts when
//! this node commits history (the store's commit hook) and at least every
//! `poll` interval for other nodes' commits and due retries.
//!
//! Security intent: the URL's host is resolved and every address checked
//! at each delivery (a name may resolve elsewhere than when the webhook
//! was made), and the request goes to the checked address; redirects are
//! not followed; the receiver's body is never stored.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::web;
use userhub_domain::admin::{describe_actors, feed_events};
use userhub_domain::feed::Event;
use userhub_domain::repository::WebhookRepository;
use userhub_domain::types::DeliveryId;
use userhub_domain::webhook::{Attempt, Delivery, Webhook, WebhookState, is_private_ip, signature};
use userhub_storage::Store;

use super::dto::EventResponse;
use crate::config::WebhookSettings;
use crate::metrics::{DeliveryOutcome, Metrics};
use crate::state::{AppState, now};

/// Events read per look at a webhook's feed.
const BATCH: usize = 50;
/// How long a lease outlives the delivery's own timeout: a node that stops
/// or crashes mid-delivery holds the webhook this much longer, then another
/// node (or itself, restarted) makes the attempt again.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Run the worker until the runtime it was spawned on stops.
pub async fn run(state: AppState) {
    let settings = state.config.webhooks;
    loop {
        let changes = state.changes.clone();
        let mut notified = std::pin::pin!(changes.notified());
        notified.as_mut().enable();
        pass(&state.store, &state.metrics, settings).await;
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

/// Run `f` on the blocking pool; `None` (logged) when the task was lost.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match web::block(f).await {
        Ok(value) => Some(value),
        Err(e) => {
            log::error!("webhooks: a blocking task was lost: {e}");
            None
        }
    }
}

/// Deliver to every webhook due now, each once.
async fn pass(store: &Store, metrics: &Metrics, settings: WebhookSettings) {
    let mut done = Vec::new();
    loop {
        let lease = uuid::Uuid::new_v4().to_string();
        let at = now();
        let until = at + settings.timeout + LEASE_MARGIN;
        let claimed = {
            let (store, lease, skip) = (store.clone(), lease.clone(), done.clone());
            blocking(move || store.claim_webhook(at, &lease, until, &skip)).await
        };
        match claimed {
            Some(Ok(Some(webhook))) => {
                done.push(webhook.id);
                deliver(store, metrics, settings, webhook, lease).await;
            }
            Some(Ok(None)) | None => return,
            Some(Err(e)) => {
                log::warn!("webhooks: cannot claim a webhook: {e}");
                return;
            }
        }
    }
}

/// One step of one webhook: pass over the events it does not want, and
/// attempt the next one it does.
async fn deliver(
    store: &Store,
    metrics: &Metrics,
    settings: WebhookSettings,
    webhook: Webhook,
    lease: String,
) {
    let found = {
        let (store, tenant, cursor) = (store.clone(), webhook.tenant, webhook.cursor);
        blocking(move || {
            let events = feed_events(&store, tenant, cursor, BATCH)?;
            let actors = describe_actors(&store, tenant, events.iter().map(|e| e.actor))?;
            Ok::<_, userhub_domain::StorageError>((events, actors))
        })
        .await
    };
    let (events, actors) = match found {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            log::warn!(
                "webhooks: cannot read the feed for webhook {}: {e}",
                webhook.id
            );
            return finish(store, webhook, lease, None).await;
        }
        None => return finish(store, webhook, lease, None).await,
    };
    let mut base = webhook.clone();
    let mut target: Option<&Event> = None;
    for event in &events {
        if webhook.event_types.contains(&event.kind) {
            target = Some(event);
            break;
        }
        base.cursor = event.cursor;
    }
    let Some(event) = target else {
        // Nothing it wants yet: remember what was passed over.
        return finish(store, base, lease, None).await;
    };
    let body = match serde_json::to_vec(&EventResponse::of(event, &actors)) {
        Ok(body) => body,
        Err(e) => {
            log::error!("webhooks: cannot encode an event: {e}");
            return finish(store, webhook, lease, None).await;
        }
    };
    let id = DeliveryId::new_random();
    let sent_at = now();
    let started = Instant::now();
    let outcome = send(settings, &webhook, id, event, body).await;
    let latency = started.elapsed();
    let (attempt, status, error) = match outcome {
        Ok(status) if (200..300).contains(&status) => {
            metrics.webhook_delivery(DeliveryOutcome::Delivered);
            (Attempt::Delivered, Some(status), None)
        }
        Ok(status) => {
            metrics.webhook_delivery(DeliveryOutcome::Refused);
            (
                Attempt::Failed,
                Some(status),
                Some(format!("the receiver answered {status}")),
            )
        }
        Err(error) => {
            metrics.webhook_delivery(DeliveryOutcome::Unreachable);
            (Attempt::Failed, None, Some(error))
        }
    };
    let next = base.after(
        event.cursor,
        &attempt,
        now(),
        settings.retry_base,
        rand::random::<f64>(),
    );
    let retry = attempt == Attempt::Failed && next.state == WebhookState::Active;
    if next.state == WebhookState::Failed {
        log::warn!(
            "webhooks: webhook {} failed event {} for a day: marked failed",
            webhook.id,
            event.cursor
        );
    }
    let delivery = Delivery {
        id,
        webhook: webhook.id,
        event: event.cursor,
        event_type: event.kind,
        attempt: webhook.failures.saturating_add(1),
        at: sent_at,
        status,
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        error,
        next_retry_at: retry.then_some(next.next_attempt_at),
    };
    finish(store, next, lease, Some(delivery)).await;
}

/// Write the outcome while the lease is held.
async fn finish(store: &Store, webhook: Webhook, lease: String, delivery: Option<Delivery>) {
    let store = store.clone();
    let id = webhook.id;
    let written =
        blocking(move || store.finish_delivery(&webhook, &lease, delivery.as_ref())).await;
    match written {
        Some(Ok(true)) | None => {}
        Some(Ok(false)) => log::warn!(
            "webhooks: the lease on webhook {id} ran out before its delivery finished; another node delivers it"
        ),
        Some(Err(e)) => log::warn!("webhooks: cannot record a delivery of webhook {id}: {e}"),
    }
}

/// POST `body` to the webhook's URL; the receiver's status, or why there
/// was none.
async fn send(
    settings: WebhookSettings,
    webhook: &Webhook,
    id: DeliveryId,
    event: &Event,
    body: Vec<u8>,
) -> Result<u16, String> {
    let host = webhook
        .url
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        settings.timeout,
        tokio::net::lookup_host((host.as_str(), webhook.url.port())),
    )
    .await
    .map_err(|_| "resolving the host timed out".to_owned())?
    .map_err(|e| format!("cannot resolve the host: {e}"))?
    .collect();
    let Some(address) = addresses.first().copied() else {
        return Err("the host resolves to no address".to_owned());
    };
    if !settings.allow_private && addresses.iter().any(|a| is_private_ip(a.ip())) {
        return Err(
            "refused: the host resolves to a loopback, private or link-local address".to_owned(),
        );
    }
    // To the address just checked, not to whatever a second lookup says.
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .build()
        .map_err(|e| format!("cannot make the HTTP client: {e}"))?;
    let timestamp = now().unix_timestamp();
    let response = client
        .post(webhook.url.as_str())
        .header("content-type", "application/json")
        .header("user-agent", "userhub-webhooks")
        .header(
            "x-userhub-signature",
            signature(&webhook.secret, timestamp, &body),
        )
        .header("x-userhub-event", event.kind.as_str())
        .header("x-userhub-delivery", id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "the receiver did not answer in time".to_owned()
            } else {
                format!("the request failed: {}", without_url(&e))
            }
        })?;
    Ok(response.status().as_u16())
}

/// A reqwest error's text with its causes (a refused connection, a TLS
/// failure), without the URL (which may carry a token in its query string).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    match error.url() {
        Some(url) => text.replace(url.as_str(), "<url>"),
        None => text,
    }
}
