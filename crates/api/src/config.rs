//! Every tunable of the service with its default, read from command-line
//! flags or the environment (`USERHUB_*`, `DATABASE_URL`).
//!
//! [`Config`] is plain data so that tests build one directly
//! ([`Config::default`] plus the changes they need); [`Tunables`] is its
//! command-line form.

use std::time::Duration;

use userhub_domain::auth::TokenLifetimes;
use userhub_domain::password::HashParams;
use userhub_domain::throttle::{Limit, ThrottlePolicy};

use crate::proxies::TrustedProxies;

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// The embedded SQLite database used when no `DATABASE_URL` is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/userhub.db";

/// The largest request body accepted, in bytes, unless told otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The longest token lifetime accepted (10 years): beyond it, expiry times
/// would leave the range a timestamp can hold.
pub const MAX_TOKEN_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// How long a request body may take to arrive, unless told otherwise.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's headers, unless told
/// otherwise.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle keep-alive connection stays open, unless told otherwise.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The longest body, header, keep-alive or shutdown timeout accepted (a day).
pub const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

/// The most hashing slots accepted.
pub const MAX_HASH_CONCURRENCY: usize = 1024;

/// The service's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`host:port`).
    pub bind: String,
    /// `postgres://...` or `sqlite://PATH`.
    pub database_url: String,
    /// How long access and refresh tokens live.
    pub tokens: TokenLifetimes,
    /// When failed password attempts are answered 429 for a while.
    pub throttle: ThrottlePolicy,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// argon2id cost for new hashes (OWASP's by default).
    pub hash_params: HashParams,
    /// How many hashes or verifications run at once.
    pub hash_concurrency: usize,
    /// How long a request waits for a hashing slot before it is answered 503.
    pub hash_queue_wait: Duration,
    /// Largest request body, in bytes (larger ones are answered 413).
    pub body_limit: usize,
    /// How long a request body may take to arrive, from the end of the
    /// headers (longer: 408 in the dialect's body, and the connection closed).
    pub body_timeout: Duration,
    /// How long a client may take to send a request's headers, from the
    /// connection's start or the previous answer (longer: 408, closed).
    pub header_timeout: Duration,
    /// How long an idle connection is kept open for another request; zero
    /// closes every connection after its answer.
    pub keep_alive: Duration,
    /// Database connections in the pool.
    pub pool_size: u32,
    /// How long a request waits for a database connection before it is
    /// answered 503 (and how long /readyz waits before it says not ready).
    pub database_wait: Duration,
    /// HTTP worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// How long a stop waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// How webhooks are delivered.
    pub webhooks: WebhookSettings,
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether webhook URLs may point at loopback, private and link-local
    /// addresses (`USERHUB_WEBHOOK_ALLOW_PRIVATE`; off by default).
    pub allow_private: bool,
    /// How long one delivery may take before it counts as failed.
    pub timeout: Duration,
    /// The wait after a first failed attempt (doubled after each next one).
    pub retry_base: Duration,
    /// How often the worker looks for due deliveries when this node commits
    /// nothing (its own commits wake it at once).
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            poll: Duration::from_secs(1),
        }
    }
}

/// The number of cores, the default for CPU-bound concurrency.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND.to_owned(),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            tokens: TokenLifetimes::default(),
            throttle: ThrottlePolicy::default(),
            trusted_proxies: TrustedProxies::default(),
            hash_params: HashParams::default(),
            hash_concurrency: cores(),
            hash_queue_wait: Duration::from_secs(2),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            pool_size: 10,
            database_wait: Duration::from_secs(10),
            workers: None,
            shutdown_timeout: Duration::from_secs(30),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// The tunables of `userhub serve`, as flags with environment fallbacks.
#[derive(Debug, Clone, clap::Args)]
pub struct Tunables {
    /// Lifetime of an access token, in seconds.
    #[arg(
        long,
        env = "USERHUB_ACCESS_TOKEN_TTL",
        value_name = "SECONDS",
        default_value_t = 900
    )]
    pub access_token_ttl: u64,
    /// Lifetime of a refresh token, in seconds.
    #[arg(
        long,
        env = "USERHUB_REFRESH_TOKEN_TTL",
        value_name = "SECONDS",
        default_value_t = 604_800
    )]
    pub refresh_token_ttl: u64,
    /// The first wait after the free failures, in seconds (each further
    /// failure doubles it, up to the longest wait).
    #[arg(
        long,
        env = "USERHUB_LOGIN_FIRST_DELAY",
        value_name = "SECONDS",
        default_value_t = 1
    )]
    pub login_first_delay: u64,
    /// Failed password attempts for one username from one client address
    /// before each further attempt must wait (429): the first delay, doubling.
    #[arg(
        long,
        env = "USERHUB_LOGIN_FREE_FAILURES",
        value_name = "COUNT",
        default_value_t = 5
    )]
    pub login_free_failures: u32,
    /// The longest wait for one username from one client address, in seconds.
    #[arg(
        long,
        env = "USERHUB_LOGIN_MAX_DELAY",
        value_name = "SECONDS",
        default_value_t = 900
    )]
    pub login_max_delay: u64,
    /// Failed password attempts for one username from all addresses together
    /// before each further attempt must wait: 1 s, doubling.
    #[arg(
        long,
        env = "USERHUB_LOGIN_FREE_FAILURES_PER_USERNAME",
        value_name = "COUNT",
        default_value_t = 20
    )]
    pub login_free_failures_per_username: u32,
    /// The longest wait for one username from all addresses together, in
    /// seconds: the most another address can delay the real user.
    #[arg(
        long,
        env = "USERHUB_LOGIN_MAX_DELAY_PER_USERNAME",
        value_name = "SECONDS",
        default_value_t = 60
    )]
    pub login_max_delay_per_username: u64,
    /// Seconds without a failure after which a username's failures are
    /// forgotten (and deleted); more than both longest waits.
    #[arg(
        long,
        env = "USERHUB_LOGIN_FORGET_AFTER",
        value_name = "SECONDS",
        default_value_t = 3600
    )]
    pub login_forget_after: u64,
    /// Proxies (CIDR networks or addresses, comma-separated) whose
    /// `X-Forwarded-For` header names the client; empty: the socket's peer
    /// is the client.
    #[arg(
        long,
        env = "USERHUB_TRUSTED_PROXIES",
        value_name = "CIDRS",
        default_value = ""
    )]
    pub trusted_proxies: String,
    /// argon2id memory cost in KiB (OWASP: 19456).
    #[arg(
        long,
        env = "USERHUB_ARGON2_MEMORY_KIB",
        value_name = "KIB",
        default_value_t = 19_456
    )]
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    #[arg(
        long,
        env = "USERHUB_ARGON2_ITERATIONS",
        value_name = "COUNT",
        default_value_t = 2
    )]
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    #[arg(
        long,
        env = "USERHUB_ARGON2_PARALLELISM",
        value_name = "COUNT",
        default_value_t = 1
    )]
    pub argon2_parallelism: u32,
    /// Password hashes computed at once [default: the number of cores].
    #[arg(long, env = "USERHUB_HASH_CONCURRENCY", value_name = "COUNT")]
    pub hash_concurrency: Option<usize>,
    /// How long a request waits for a hashing slot before it gets 503, in milliseconds.
    #[arg(
        long,
        env = "USERHUB_HASH_QUEUE_WAIT_MS",
        value_name = "MS",
        default_value_t = 2000
    )]
    pub hash_queue_wait_ms: u64,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, env = "USERHUB_BODY_LIMIT", value_name = "BYTES", default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Seconds a request body may take to arrive; slower ones get 408.
    #[arg(
        long,
        env = "USERHUB_BODY_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = DEFAULT_BODY_TIMEOUT.as_secs()
    )]
    pub body_timeout: u64,
    /// Seconds a client may take to send a request's headers; slower ones get 408.
    #[arg(
        long,
        env = "USERHUB_HEADER_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs()
    )]
    pub header_timeout: u64,
    /// Seconds an idle connection is kept open for another request (0: close after each answer).
    #[arg(
        long,
        env = "USERHUB_KEEP_ALIVE",
        value_name = "SECONDS",
        default_value_t = DEFAULT_KEEP_ALIVE.as_secs()
    )]
    pub keep_alive: u64,
    /// Database connections in the pool.
    #[arg(
        long,
        env = "USERHUB_POOL_SIZE",
        value_name = "COUNT",
        default_value_t = 10
    )]
    pub pool_size: u32,
    /// Milliseconds a request waits for a database connection before 503.
    #[arg(
        long,
        env = "USERHUB_DATABASE_WAIT_MS",
        value_name = "MILLISECONDS",
        default_value_t = 10_000
    )]
    pub database_wait_ms: u64,
    /// HTTP worker threads [default: one per core].
    #[arg(long, env = "USERHUB_WORKERS", value_name = "COUNT")]
    pub workers: Option<usize>,
    /// Seconds a stop (SIGTERM, Ctrl-C) waits for requests in flight.
    #[arg(
        long,
        env = "USERHUB_SHUTDOWN_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 30
    )]
    pub shutdown_timeout: u64,
    /// Let webhook URLs point at loopback, private and link-local addresses.
    #[arg(long, env = "USERHUB_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// Milliseconds one webhook delivery may take before it counts as failed.
    #[arg(
        long,
        env = "USERHUB_WEBHOOK_TIMEOUT_MS",
        value_name = "MILLISECONDS",
        default_value_t = 10_000
    )]
    pub webhook_timeout_ms: u64,
}

impl Config {
    /// The settings for `serve`: `bind` and `database_url` plus the tunables,
    /// checked. The error is one line naming the bad setting.
    pub fn from_tunables(
        bind: String,
        database_url: String,
        t: &Tunables,
    ) -> Result<Config, String> {
        fn at_least_one(name: &str, value: u64) -> Result<(), String> {
            if value == 0 {
                Err(format!("{name} must be at least 1"))
            } else {
                Ok(())
            }
        }
        at_least_one("--login-first-delay", t.login_first_delay)?;
        at_least_one("--login-max-delay", t.login_max_delay)?;
        at_least_one(
            "--login-max-delay-per-username",
            t.login_max_delay_per_username,
        )?;
        if t.login_forget_after <= t.login_max_delay.max(t.login_max_delay_per_username) {
            return Err(
                "--login-forget-after must be longer than both --login-max-delay settings".into(),
            );
        }
        let trusted_proxies: TrustedProxies = t.trusted_proxies.parse()?;
        at_least_one("--pool-size", t.pool_size.into())?;
        at_least_one("--database-wait-ms", t.database_wait_ms)?;
        at_least_one("--body-timeout", t.body_timeout)?;
        at_least_one("--header-timeout", t.header_timeout)?;
        // Beyond a day a timeout protects nothing (and a huge one would
        // overflow the timer's instant).
        for (name, value) in [
            ("--body-timeout", t.body_timeout),
            ("--header-timeout", t.header_timeout),
            ("--keep-alive", t.keep_alive),
            ("--shutdown-timeout", t.shutdown_timeout),
        ] {
            if value > MAX_TIMEOUT_SECS {
                return Err(format!("{name} must be at most {MAX_TIMEOUT_SECS} seconds"));
            }
        }
        if let Some(n) = t.hash_concurrency {
            at_least_one("--hash-concurrency", n as u64)?;
        }
        if let Some(n) = t.workers {
            at_least_one("--workers", n as u64)?;
        }
        if t.body_limit < 1024 {
            return Err("--body-limit must be at least 1024 bytes".into());
        }
        if let Some(n) = t.hash_concurrency
            && n > MAX_HASH_CONCURRENCY
        {
            return Err(format!(
                "--hash-concurrency must be at most {MAX_HASH_CONCURRENCY}"
            ));
        }
        let seconds = |s: u64| -> Result<time::Duration, String> {
            if s > MAX_TOKEN_TTL_SECS {
                return Err(format!(
                    "{s} seconds is too long (at most {MAX_TOKEN_TTL_SECS})"
                ));
            }
            i64::try_from(s)
                .map(time::Duration::seconds)
                .map_err(|_| format!("{s} seconds is too long"))
        };
        Ok(Config {
            bind,
            database_url,
            tokens: TokenLifetimes {
                access: seconds(t.access_token_ttl)?,
                refresh: seconds(t.refresh_token_ttl)?,
            },
            throttle: ThrottlePolicy {
                per_address: Limit {
                    free: t.login_free_failures,
                    first_delay: seconds(t.login_first_delay)?,
                    max_delay: seconds(t.login_max_delay)?,
                },
                per_login: Limit {
                    free: t.login_free_failures_per_username,
                    first_delay: seconds(t.login_first_delay)?,
                    max_delay: seconds(t.login_max_delay_per_username)?,
                },
                forget_after: seconds(t.login_forget_after)?,
            },
            trusted_proxies,
            hash_params: HashParams {
                memory_kib: t.argon2_memory_kib,
                iterations: t.argon2_iterations,
                parallelism: t.argon2_parallelism,
            },
            hash_concurrency: t.hash_concurrency.unwrap_or_else(cores),
            hash_queue_wait: Duration::from_millis(t.hash_queue_wait_ms),
            body_limit: t.body_limit,
            body_timeout: Duration::from_secs(t.body_timeout),
            header_timeout: Duration::from_secs(t.header_timeout),
            keep_alive: Duration::from_secs(t.keep_alive),
            pool_size: t.pool_size,
            database_wait: Duration::from_millis(t.database_wait_ms),
            workers: t.workers,
            shutdown_timeout: Duration::from_secs(t.shutdown_timeout),
            webhooks: WebhookSettings {
                allow_private: t.webhook_allow_private,
                timeout: Duration::from_millis(t.webhook_timeout_ms.max(1)),
                ..WebhookSettings::default()
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        tunables: Tunables,
    }

    fn config(args: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["userhub"];
        argv.extend_from_slice(args);
        let flags = Flags::try_parse_from(argv).map_err(|e| e.to_string())?;
        Config::from_tunables(
            "127.0.0.1:0".into(),
            "sqlite://x.db".into(),
            &flags.tunables,
        )
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = config(&[]).unwrap();
        assert_eq!(c.tokens.access, time::Duration::minutes(15));
        assert_eq!(c.body_limit, 64 * 1024);
        assert_eq!(c.hash_params, HashParams::default());
        assert_eq!(c.throttle, ThrottlePolicy::default());
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.hash_concurrency, cores());
        assert_eq!(c.body_timeout, Duration::from_secs(10));
        assert_eq!(c.header_timeout, Duration::from_secs(5));
        assert_eq!(c.keep_alive, Duration::from_secs(5));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(30));
        let d = Config::default();
        assert_eq!(
            (d.body_timeout, d.header_timeout, d.keep_alive),
            (c.body_timeout, c.header_timeout, c.keep_alive)
        );
    }

    #[test]
    fn out_of_range_values_are_one_line_errors() {
        for args in [
            &["--login-max-delay", "0"][..],
            &["--login-forget-after", "60"][..],
            &["--trusted-proxies", "10.0.0.0/8,nonsense"][..],
            &["--pool-size", "0"][..],
            &["--hash-concurrency", "0"][..],
            &["--hash-concurrency", "100000"][..],
            &["--body-limit", "10"][..],
            &["--body-timeout", "0"][..],
            &["--header-timeout", "0"][..],
            &["--keep-alive", "86401"][..],
            &["--shutdown-timeout", "100000000000"][..],
            &["--refresh-token-ttl", "18446744073709551615"][..],
        ] {
            let error = config(args).unwrap_err();
            assert_eq!(error.lines().count(), 1, "{args:?}: {error}");
        }
        assert!(config(&["--access-token-ttl", "0"]).is_ok());
        assert_eq!(
            config(&["--keep-alive", "0"]).unwrap().keep_alive,
            Duration::ZERO
        );
    }
}
