//! Prometheus metrics: what `GET /metrics` answers.
//!
//! Every instance of the application has its own [`Metrics`] (its own
//! registry, not a process-wide one), so that several servers in one
//! process, as in the tests, count their own traffic.
//!
//! What is counted, and where:
//!
//! - HTTP requests and their latency, by dialect, route pattern (the
//!   route's template, never the raw path: ids stay out of label values),
//!   method and status: the access middleware ([`Metrics::observe_request`]);
//! - failed and throttled logins: the pipeline's outcomes;
//! - webhook deliveries by outcome: the webhook worker, once per attempt;
//! - the database pool and the password hashing slots: read when scraped
//!   ([`Metrics::render`]) from the store's and the hasher's own counters.
//!
//! `docs/operations.md` lists every metric with example queries.

use std::fmt;
use std::sync::Mutex;

use prometheus::{
    Counter, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use userhub_storage::PoolState;

use crate::hasher::SlotState;

/// The label value of a request no route matched (its path is not used:
/// it would let any client make new series).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Latency buckets, seconds: from a cached read to a slow password hash
/// queued behind others.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One application's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    pool_waiting: IntGauge,
    pool_wait_seconds: Counter,
    pool_checkouts: IntCounter,
    pool_timeouts: IntCounter,
    hash_slots: IntGauge,
    hash_in_use: IntGauge,
    hash_rejected: IntCounter,
    login_failures: IntCounter,
    login_throttled: IntCounter,
    webhook_deliveries: IntCounterVec,
    /// Scrapes copy the store's and hasher's totals into counters one at a
    /// time, so that two at once cannot add the same difference twice.
    scrape: Mutex<()>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn register<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<T>,
) -> Result<T, String> {
    let metric = metric.map_err(|e| format!("defining a metric: {e}"))?;
    registry
        .register(Box::new(metric.clone()))
        .map_err(|e| format!("registering a metric: {e}"))?;
    Ok(metric)
}

impl Metrics {
    /// Every metric, registered and at zero. Fails (one line) only if a
    /// definition is wrong, which the tests would show.
    pub fn new() -> Result<Self, String> {
        let r = Registry::new();
        let metrics = Self {
            requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "userhub_http_requests_total",
                        "HTTP requests answered, by dialect, route pattern, method and status.",
                    ),
                    &["dialect", "route", "method", "status"],
                ),
            )?,
            latency: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "userhub_http_request_duration_seconds",
                        "Time from a request's arrival to its answer's head, in seconds.",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                    &["dialect", "route", "method"],
                ),
            )?,
            pool_connections: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "userhub_db_pool_connections",
                        "Database connections open in the pool, by state (in_use, idle).",
                    ),
                    &["state"],
                ),
            )?,
            pool_max: register(
                &r,
                IntGauge::new(
                    "userhub_db_pool_max_connections",
                    "Most database connections the pool opens (USERHUB_POOL_SIZE).",
                ),
            )?,
            pool_waiting: register(
                &r,
                IntGauge::new(
                    "userhub_db_pool_waiting",
                    "Requests waiting for a database connection now.",
                ),
            )?,
            pool_wait_seconds: register(
                &r,
                Counter::new(
                    "userhub_db_pool_wait_seconds_total",
                    "Seconds requests spent waiting for a database connection, in all.",
                ),
            )?,
            pool_checkouts: register(
                &r,
                IntCounter::new(
                    "userhub_db_pool_checkouts_total",
                    "Requests for a database connection (granted or timed out).",
                ),
            )?,
            pool_timeouts: register(
                &r,
                IntCounter::new(
                    "userhub_db_pool_timeouts_total",
                    "Requests that waited USERHUB_DATABASE_WAIT_MS for a connection and got none (503).",
                ),
            )?,
            hash_slots: register(
                &r,
                IntGauge::new(
                    "userhub_password_hash_slots",
                    "Password hashing slots (threads), USERHUB_HASH_CONCURRENCY.",
                ),
            )?,
            hash_in_use: register(
                &r,
                IntGauge::new(
                    "userhub_password_hash_slots_in_use",
                    "Password hashing slots computing a hash now.",
                ),
            )?,
            hash_rejected: register(
                &r,
                IntCounter::new(
                    "userhub_password_hash_rejected_total",
                    "Requests turned away (503) because no hashing slot was free in time.",
                ),
            )?,
            login_failures: register(
                &r,
                IntCounter::new(
                    "userhub_login_failures_total",
                    "Logins refused for a wrong tenant, username or password.",
                ),
            )?,
            login_throttled: register(
                &r,
                IntCounter::new(
                    "userhub_login_throttled_total",
                    "Password checks refused (429) after too many failures for the username.",
                ),
            )?,
            webhook_deliveries: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "userhub_webhook_deliveries_total",
                        "Webhook delivery attempts, by outcome (delivered, refused, unreachable).",
                    ),
                    &["outcome"],
                ),
            )?,
            registry: r,
            scrape: Mutex::new(()),
        };
        // Every outcome from the start: a rate over a series that appears
        // only at its first event misses that event.
        for outcome in DeliveryOutcome::ALL {
            metrics
                .webhook_deliveries
                .with_label_values(&[outcome.as_str()]);
        }
        Ok(metrics)
    }

    /// One answered request, `status` its three digits. `route` is the route's pattern
    /// ([`UNMATCHED_ROUTE`] when none matched), never the raw path.
    pub fn observe_request(
        &self,
        dialect: &str,
        route: &str,
        method: &str,
        status: &str,
        seconds: f64,
    ) {
        self.requests
            .with_label_values(&[dialect, route, method, status])
            .inc();
        self.latency
            .with_label_values(&[dialect, route, method])
            .observe(seconds);
    }

    /// A login refused for a wrong tenant, username or password.
    pub fn login_failed(&self) {
        self.login_failures.inc();
    }

    /// A password check refused because its username is throttled.
    pub fn login_throttled(&self) {
        self.login_throttled.inc();
    }

    /// One webhook delivery attempt, and how it went.
    pub fn webhook_delivery(&self, outcome: DeliveryOutcome) {
        self.webhook_deliveries
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// Every metric in Prometheus' text format (version 0.0.4), with the
    /// pool and the hashing slots as `pool` and `slots` say now.
    pub fn render(&self, pool: &PoolState, slots: &SlotState) -> Result<String, String> {
        {
            let _one_at_a_time = self
                .scrape
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let in_use = pool.connections.saturating_sub(pool.idle);
            self.pool_connections
                .with_label_values(&["in_use"])
                .set(in_use.into());
            self.pool_connections
                .with_label_values(&["idle"])
                .set(pool.idle.into());
            self.pool_max.set(pool.max_size.into());
            self.pool_waiting.set(pool.waiting.into());
            let more = pool.wait_seconds - self.pool_wait_seconds.get();
            if more > 0.0 {
                self.pool_wait_seconds.inc_by(more);
            }
            catch_up(&self.pool_checkouts, pool.checkouts);
            catch_up(&self.pool_timeouts, pool.timeouts);
            self.hash_slots
                .set(i64::try_from(slots.slots).unwrap_or(i64::MAX));
            self.hash_in_use
                .set(i64::try_from(slots.in_use).unwrap_or(i64::MAX));
            catch_up(&self.hash_rejected, slots.turned_away);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| format!("encoding the metrics: {e}"))?;
        String::from_utf8(out).map_err(|e| format!("encoding the metrics: {e}"))
    }
}

/// How one webhook delivery attempt went: the `outcome` label of
/// `userhub_webhook_deliveries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx: the webhook's cursor moves on.
    Delivered,
    /// The receiver answered another status: retried later.
    Refused,
    /// No answer: the host did not resolve or resolved to a refused
    /// address, the connection failed, or the receiver took too long.
    Unreachable,
}

impl DeliveryOutcome {
    /// Every outcome, in the order `/metrics` lists them.
    pub const ALL: [Self; 3] = [Self::Delivered, Self::Refused, Self::Unreachable];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Refused => "refused",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Bring a counter up to a total kept elsewhere.
fn catch_up(counter: &IntCounter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pool() -> PoolState {
        PoolState {
            max_size: 10,
            connections: 3,
            idle: 1,
            waiting: 0,
            checkouts: 7,
            wait_seconds: 0.5,
            timeouts: 2,
        }
    }

    fn slots() -> SlotState {
        SlotState {
            slots: 2,
            in_use: 1,
            turned_away: 4,
        }
    }

    #[test]
    fn a_scrape_names_every_metric_with_its_labels() {
        let metrics = Metrics::new().unwrap();
        metrics.observe_request("iklim", "/v1/users/{id}", "GET", "200", 0.003);
        metrics.login_failed();
        metrics.webhook_delivery(DeliveryOutcome::Refused);
        metrics.webhook_delivery(DeliveryOutcome::Delivered);
        metrics.webhook_delivery(DeliveryOutcome::Delivered);
        let text = metrics.render(&pool(), &slots()).unwrap();
        for line in [
            r#"userhub_http_requests_total{dialect="iklim",method="GET",route="/v1/users/{id}",status="200"} 1"#,
            r#"userhub_http_request_duration_seconds_count{dialect="iklim",method="GET",route="/v1/users/{id}"} 1"#,
            r#"userhub_db_pool_connections{state="in_use"} 2"#,
            r#"userhub_db_pool_connections{state="idle"} 1"#,
            "userhub_db_pool_max_connections 10",
            "userhub_db_pool_timeouts_total 2",
            "userhub_db_pool_checkouts_total 7",
            "userhub_db_pool_wait_seconds_total 0.5",
            "userhub_password_hash_slots 2",
            "userhub_password_hash_slots_in_use 1",
            "userhub_password_hash_rejected_total 4",
            "userhub_login_failures_total 1",
            "userhub_login_throttled_total 0",
            r#"userhub_webhook_deliveries_total{outcome="delivered"} 2"#,
            r#"userhub_webhook_deliveries_total{outcome="refused"} 1"#,
            r#"userhub_webhook_deliveries_total{outcome="unreachable"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn totals_kept_elsewhere_are_not_added_twice() {
        let metrics = Metrics::new().unwrap();
        metrics.render(&pool(), &slots()).unwrap();
        let text = metrics.render(&pool(), &slots()).unwrap();
        assert!(text.contains("userhub_password_hash_rejected_total 4"));
        assert!(text.contains("userhub_db_pool_timeouts_total 2"));
    }
}
