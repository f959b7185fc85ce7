//! The actix application: middleware, the routes of [`crate::routes`], and
//! the server that runs it.
//!
//! Every answer userhub gives is JSON, errors included: bodies that are not
//! JSON, too large (413), paths and queries that do not parse, and routes
//! that do not exist are all answered in the body of the dialect that owns
//! the path. Every answer carries `X-Request-Id`.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use userhub_storage::{Store, StoreOptions};

use crate::access;
use crate::config::Config;
use crate::request_id;
use crate::routes::{self, Routes};
use crate::state::AppState;
use crate::toolkit::{BodySettings, extract};

/// The HTTP server for `state` on `listener`, not yet started (await it to
/// run), and the webhook worker beside it. Call it on the actix runtime
/// that will run the server.
/// It stops gracefully on SIGTERM and Ctrl-C, finishing requests in flight
/// for up to the configured shutdown timeout.
///
/// No client holds a connection for longer than the configured timeouts
/// allow: its headers must arrive within `header_timeout` (else actix
/// answers 408 and closes), its body within `body_timeout` (else 408 in
/// the dialect's body; a connection whose body was not read to its end is
/// closed after the answer), and an idle connection is closed after
/// `keep_alive`.
pub fn build_server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let config = &state.config;
    let body = BodySettings {
        limit: config.body_limit,
        timeout: config.body_timeout,
    };
    let workers = config.workers;
    let shutdown = config.shutdown_timeout.as_secs();
    let header_timeout = config.header_timeout;
    // Zero turns keep-alive off (actix maps a zero timeout to `Disabled`).
    let keep_alive = config.keep_alive;
    let blocking = blocking_threads(config.pool_size);
    let routes = web::Data::new(Routes::new().map_err(std::io::Error::other)?);
    // The webhook worker lives as long as the runtime the server runs on.
    actix_web::rt::spawn(crate::dialects::admin::delivery::run(state.clone()));
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(extract::close_unread_bodies))
            .wrap(from_fn(request_id::middleware))
            .wrap(from_fn(access::middleware))
            .configure(|cfg| routes::configure(cfg, body, routes.clone()))
            .default_service(web::to(routes::fallback))
    })
    .client_request_timeout(header_timeout)
    .keep_alive(keep_alive)
    .shutdown_timeout(shutdown)
    .worker_max_blocking_threads(blocking);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

/// Blocking threads per worker. A request's blocking work needs a pooled
/// connection (or waits for a hashing slot, holding none); threads beyond
/// twice the pool only wait, and each costs its stack and allocator state:
/// with actix's default (512 over the workers) a storm of 200 requests
/// left 200 threads and 20-40 MiB behind. Requests beyond the threads wait
/// in the worker's queue instead, at no memory cost.
fn blocking_threads(pool_size: u32) -> usize {
    usize::try_from(pool_size)
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
        .max(16)
}

/// Open the store at `config.database_url` (a SQLite file's folder is
/// created) and apply pending migrations.
pub fn open_store(config: &Config) -> Result<Store, String> {
    let options = StoreOptions {
        pool_size: config.pool_size,
        connection_timeout: config.database_wait,
        ..StoreOptions::default()
    };
    let store = Store::open(&config.database_url, options)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    store
        .migrate()
        .map_err(|e| format!("cannot apply the migrations: {e}"))?;
    Ok(store)
}

/// `userhub serve`: open and migrate the store, then serve until stopped.
pub async fn serve(config: Config) -> Result<(), String> {
    let listener = TcpListener::bind(&config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let store = {
        let config = config.clone();
        web::block(move || open_store(&config))
            .await
            .map_err(|e| format!("opening the database failed: {e}"))??
    };
    let state = AppState::new(store, config)?;
    let address = listener
        .local_addr()
        .map_or_else(|_| state.config.bind.clone(), |a| a.to_string());
    log::info!("userhub listening on http://{address}");
    build_server(state, listener)
        .map_err(|e| format!("cannot start the server: {e}"))?
        .await
        .map_err(|e| format!("the server failed: {e}"))?;
    log::info!("userhub stopped");
    Ok(())
}
