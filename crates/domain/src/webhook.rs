//! Webhooks: consumers of the change feed that userhub drives itself. Each
//! has a URL, the event types it wants, a signing secret, and its own
//! cursor in the feed; events are delivered one at a time, in order, at
//! least once, retried with backoff for at least [`GIVE_UP_AFTER`].
//!
//! Pure parts only: the URL rule ([`WebhookUrl`], [`is_private_ip`]), the
//! signature ([`signature`]), the backoff schedule ([`retry_delay`]) and
//! what one attempt's outcome does to the webhook ([`Webhook::after`]).
//!
//! Security intent: the signing secret never prints ([`WebhookSecret`]'s
//! `Debug` is `***`) and is shown once, when the webhook is made. URLs to
//! loopback, private and link-local addresses are refused unless the
//! operator allows them, so a tenant's ADMIN cannot make userhub call
//! services on its own network (SSRF).

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::error::ValueError;
use crate::feed::{EventCursor, EventType};
use crate::types::{DeliveryId, TenantId, WebhookId};

/// How long a failing event is retried before the webhook is marked failed.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);
/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2000;

/// A webhook's URL: absolute `http` or `https`, with a host, without
/// credentials or a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Check a URL. With `allow_private` false, a host that is a loopback,
    /// private or link-local address (or `localhost`) is refused; a name
    /// is checked again, resolved, at each delivery.
    pub fn parse(input: &str, allow_private: bool) -> Result<Self, ValueError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ValueError::required());
        }
        if input.chars().count() > MAX_URL_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {MAX_URL_CHARS} characters"),
            ));
        }
        let invalid =
            || ValueError::new("invalid_url", "must be an absolute http:// or https:// URL");
        let url = url::Url::parse(input).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid());
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(ValueError::new(
                "invalid_url",
                "must not carry credentials or a fragment",
            ));
        }
        let url = Self(url);
        if !allow_private && url.names_private_host() {
            return Err(ValueError::new(
                "private_address",
                "must not point at a loopback, private or link-local address",
            ));
        }
        Ok(url)
    }

    /// Whether the host is `localhost` or an address [`is_private_ip`] refuses.
    pub fn names_private_host(&self) -> bool {
        match self.0.host() {
            Some(url::Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost")
            }
            None => true,
        }
    }

    /// The host to resolve (a name, or an address's text).
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// The port (the scheme's default when not given).
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(80)
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Whether `ip` is not a public unicast address: loopback, private
/// (RFC 1918, IPv6 unique local), link-local, shared (CGNAT), unspecified,
/// broadcast, multicast, documentation, or an IPv4-mapped one of these.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::LOCALHOST
        }
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64/10
}

/// A webhook's signing secret: shown once when the webhook is made; its
/// `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wrap a secret (made by the caller from a secure random source, or
    /// read back from storage).
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The `X-Userhub-Signature` header of a delivery sent at `timestamp`
/// (Unix seconds): `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`
/// under the webhook's secret, as Stripe signs.
///
/// ```
/// use userhub_domain::webhook::{signature, WebhookSecret};
///
/// let secret = WebhookSecret::new("whsec_test".to_owned());
/// let header = signature(&secret, 1_700_000_000, br#"{"type":"user.created"}"#);
/// assert!(header.starts_with("t=1700000000,v1="));
/// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn signature(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes a key of any length; this arm cannot be reached.
        Err(_) => return format!("t={timestamp},v1="),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// How long to wait after the `failures`-th failed attempt in a row (from
/// 1): `base` doubled each time, at most [`MAX_RETRY_DELAY`], times a
/// jitter factor between 0.8 and 1.2 (`jitter` in `[0, 1)`), so that
/// receivers coming back are not hit by every sender at once.
///
/// ```
/// use std::time::Duration;
/// use userhub_domain::webhook::retry_delay;
///
/// let base = Duration::from_secs(5);
/// assert_eq!(retry_delay(base, 1, 0.5), Duration::from_secs(5));
/// assert_eq!(retry_delay(base, 3, 0.5), Duration::from_secs(20));
/// assert_eq!(retry_delay(base, 40, 0.5), Duration::from_secs(3600));
/// assert_eq!(retry_delay(base, 1, 0.0), Duration::from_secs(4));
/// ```
pub fn retry_delay(base: Duration, failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let delay = base.saturating_mul(1u32 << doublings).min(MAX_RETRY_DELAY);
    delay.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// Whether a webhook still delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookState {
    /// Delivering.
    Active,
    /// An event kept failing for [`GIVE_UP_AFTER`]: nothing more is sent.
    Failed,
}

impl WebhookState {
    /// `active` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Active => "active",
            WebhookState::Failed => "failed",
        }
    }

    /// The state named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(WebhookState::Active),
            "failed" => Some(WebhookState::Failed),
            _ => None,
        }
    }
}

/// A webhook and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Where events are POSTed.
    pub url: WebhookUrl,
    /// The event types it wants (all others are passed over).
    pub event_types: BTreeSet<EventType>,
    /// A note for people.
    pub description: Option<String>,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// The last event handled (delivered, or passed over).
    pub cursor: EventCursor,
    /// Whether it still delivers.
    pub state: WebhookState,
    /// Failed attempts in a row at the pending event.
    pub failures: u32,
    /// Since when the pending event has been failing.
    pub failing_since: Option<OffsetDateTime>,
    /// When the next attempt is due.
    pub next_attempt_at: OffsetDateTime,
}

/// What one attempt at an event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered 2xx: the event is delivered.
    Delivered,
    /// Anything else (another status, a timeout, a refused address).
    Failed,
}

impl Webhook {
    /// The webhook after an attempt at the event at `cursor` that ended at
    /// `now`: delivered, the cursor moves on; failed, the next attempt
    /// waits [`retry_delay`] (`jitter` in `[0, 1)`), and once the event has
    /// been failing for [`GIVE_UP_AFTER`] the webhook is marked failed.
    pub fn after(
        &self,
        cursor: EventCursor,
        attempt: &Attempt,
        now: OffsetDateTime,
        base: Duration,
        jitter: f64,
    ) -> Webhook {
        let mut next = self.clone();
        match attempt {
            Attempt::Delivered => {
                next.cursor = cursor;
                next.failures = 0;
                next.failing_since = None;
                next.next_attempt_at = now;
            }
            Attempt::Failed => {
                let since = self.failing_since.unwrap_or(now);
                next.failures = self.failures.saturating_add(1);
                next.failing_since = Some(since);
                next.next_attempt_at = now + retry_delay(base, next.failures, jitter);
                if now - since >= GIVE_UP_AFTER {
                    next.state = WebhookState::Failed;
                }
            }
        }
        next
    }
}

/// One attempt to deliver an event, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id (sent as `X-Userhub-Delivery`).
    pub id: DeliveryId,
    /// The webhook.
    pub webhook: WebhookId,
    /// The event's cursor.
    pub event: EventCursor,
    /// The event's type.
    pub event_type: EventType,
    /// The attempt's number for this event (from 1).
    pub attempt: u32,
    /// When it was sent.
    pub at: OffsetDateTime,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// What went wrong, if anything (never the receiver's body).
    pub error: Option<String>,
    /// When the next attempt is due, if the event is to be retried.
    pub next_retry_at: Option<OffsetDateTime>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(WebhookUrl::parse("https://hooks.example.com/userhub", false).is_ok());
        for (bad, code) in [
            ("", "required"),
            ("ftp://example.com/", "invalid_url"),
            ("/relative", "invalid_url"),
            ("https://user:pw@example.com/", "invalid_url"),
            ("http://127.0.0.1:9000/", "private_address"),
            ("http://localhost/", "private_address"),
            ("http://10.1.2.3/", "private_address"),
            ("http://169.254.169.254/latest/meta-data", "private_address"),
            ("http://[::1]/", "private_address"),
            ("http://[fe80::1]/", "private_address"),
            ("http://[::ffff:192.168.0.1]/", "private_address"),
        ] {
            assert_eq!(
                WebhookUrl::parse(bad, false).unwrap_err().code,
                code,
                "{bad}"
            );
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/", true).is_ok());
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "100.128.0.1",
        ] {
            assert!(!is_private_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["100.64.0.1", "0.0.0.0", "255.255.255.255", "fd00::1", "::"] {
            assert!(is_private_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = WebhookSecret::new("Jefe".to_owned());
        let header = signature(&secret, 0, b"what do ya want for nothing?");
        // HMAC over "0." + data is not the RFC's vector; check the form
        // and that the key and every byte matter.
        assert!(header.starts_with("t=0,v1="));
        assert_ne!(
            header,
            signature(&secret, 0, b"what do ya want for nothing!")
        );
        assert_ne!(
            header,
            signature(&secret, 1, b"what do ya want for nothing?")
        );
        let other = WebhookSecret::new("Jeff".to_owned());
        assert_ne!(
            header,
            signature(&other, 0, b"what do ya want for nothing?")
        );
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn failures_back_off_and_give_up_after_a_day() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let hook = Webhook {
            id: WebhookId::new_random(),
            tenant: TenantId::new_random(),
            url: WebhookUrl::parse("https://example.com/", false).unwrap(),
            event_types: BTreeSet::from([EventType::UserCreated]),
            description: None,
            secret: WebhookSecret::new("s".into()),
            created_at: now,
            cursor: EventCursor::START,
            state: WebhookState::Active,
            failures: 0,
            failing_since: None,
            next_attempt_at: now,
        };
        let event = EventCursor {
            position: 1,
            index: 0,
        };
        let base = Duration::from_secs(5);
        let once = hook.after(event, &Attempt::Failed, now, base, 0.5);
        assert_eq!((once.failures, once.cursor), (1, EventCursor::START));
        assert_eq!(once.next_attempt_at, now + Duration::from_secs(5));
        let later = now + Duration::from_secs(24 * 3600 - 1);
        assert_eq!(
            once.after(event, &Attempt::Failed, later, base, 0.5).state,
            WebhookState::Active
        );
        let day = now + GIVE_UP_AFTER;
        assert_eq!(
            once.after(event, &Attempt::Failed, day, base, 0.5).state,
            WebhookState::Failed
        );
        let done = once.after(event, &Attempt::Delivered, later, base, 0.5);
        assert_eq!(
            (done.failures, done.cursor, done.failing_since),
            (0, event, None)
        );
    }
}
