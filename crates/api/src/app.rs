//! The actix application: its shared state, middleware and routes, and the
//! server that runs it.
//!
//! Every answer userhub gives is JSON, errors included: bodies that are not
//! JSON, too large (413), paths and queries that do not parse, and routes
//! that do not exist are all answered with the [`ErrorBody`](crate::error::ErrorBody).
//! Every answer carries `X-Request-Id`.

use std::collections::HashMap;
use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Logger, from_fn};
use actix_web::{App, HttpServer, web};
use userhub_storage::{Store, StoreOptions};

use crate::auth::throttle::LoginThrottle;
use crate::blocking::Hasher;
use crate::config::Config;
use crate::dialects;
use crate::error::{json_error, no_route, path_error, query_error};
use crate::{health, openapi, request_id};

/// What every request can reach.
pub struct AppState {
    /// The user store.
    pub store: Store,
    /// The settings.
    pub config: Config,
    /// Bounded argon2 work.
    pub hasher: Hasher,
    /// Failed-login counts.
    pub throttle: LoginThrottle,
    /// Each dialect's OpenAPI document, rendered.
    pub openapi: HashMap<&'static str, String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("hasher", &self.hasher)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for `store` under `config`. Fails (one line) on unusable
    /// argon2 parameters.
    pub fn new(store: Store, config: Config) -> Result<Self, String> {
        let hasher = Hasher::new(
            config.hash_params,
            config.hash_concurrency,
            config.hash_queue_wait,
        )?;
        Ok(Self {
            store,
            hasher,
            throttle: LoginThrottle::new(config.throttle),
            openapi: openapi::render_documents()?,
            config,
        })
    }
}

/// The access log line: no headers (they carry credentials), the request
/// id to find the error log lines of the same request.
const ACCESS_LOG: &str = "%a \"%r\" %s %b %Dms id=%{x-request-id}o";

/// Mount the routes and the JSON error handlers on `cfg`.
pub fn configure(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(json_error),
    )
    .app_data(web::PayloadConfig::new(body_limit))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .service(health::healthz)
    .service(health::readyz)
    .service(openapi::document)
    .configure(dialects::configure_all);
}

/// The HTTP server for `state` on `listener`, not yet started (await it to run).
/// It stops gracefully on SIGTERM and Ctrl-C, finishing requests in flight
/// for up to the configured shutdown timeout.
pub fn build_server(state: web::Data<AppState>, listener: TcpListener) -> std::io::Result<Server> {
    let body_limit = state.config.body_limit;
    let workers = state.config.workers;
    let shutdown = state.config.shutdown_timeout.as_secs();
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(from_fn(request_id::middleware))
            .wrap(Logger::new(ACCESS_LOG))
            .configure(|cfg| configure(cfg, body_limit))
            .default_service(web::to(no_route))
    })
    .shutdown_timeout(shutdown);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
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
    let state = web::Data::new(AppState::new(store, config)?);
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
