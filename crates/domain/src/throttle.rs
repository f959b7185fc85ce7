//! Login throttling: the rule that says whether a password attempt may be
//! checked now, as a pure function of the failures counted so far.
//!
//! Failures are counted in two scopes (OWASP's Authentication Cheat Sheet,
//! NIST SP 800-63B §5.2.2 "rate limiting"):
//!
//! - per **(login, client address)**: few free failures, then a delay that
//!   doubles with every further failure up to a long cap. One address
//!   guessing at one account is slowed down quickly and for long;
//! - per **login** (every address together): many more free failures and a
//!   short cap, so that guessing from many addresses is slowed down too,
//!   while the real user, who types the right password from their own
//!   address, waits at most that short cap.
//!
//! Security intent: there is no lockout. What another address can do to the
//! real user is bounded by the per-login cap (a minute by default), and it
//! takes that address hours of its own, much longer delays to get there.
//! An attempt is counted as a failure when it is *allowed* (before the
//! password is checked), and the count is cleared when the password proves
//! right: concurrent attempts cannot all pass one check, and a node that
//! dies while hashing has still counted the attempt. A refused attempt is
//! not counted (it cost no password check), so waiting for `Retry-After` is
//! always enough. Failures older than [`ThrottlePolicy::forget_after`] are
//! forgotten, and storage may delete them.
//!
//! ```
//! use time::{Duration, macros::datetime};
//! use userhub_domain::throttle::{Failures, ThrottlePolicy, Verdict};
//!
//! let policy = ThrottlePolicy::default();
//! let now = datetime!(2026-12-01 12:00 UTC);
//! // Five failures from one address, the last just now: wait a second.
//! let pair = Failures { count: 5, last: now };
//! let login = Failures { count: 5, last: now };
//! assert_eq!(
//!     policy.decide(Some(pair), Some(login), now),
//!     Verdict::Refused { retry_after: 1 }
//! );
//! // From another address, the same login may try at once.
//! assert!(matches!(
//!     policy.decide(None, Some(login), now),
//!     Verdict::Allowed { .. }
//! ));
//! ```

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::types::{TenantId, Username};

/// When one scope's failures start to delay attempts, and by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed without any delay.
    pub free: u32,
    /// The delay after the first failure beyond the free ones; each further
    /// failure doubles it.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Limit {
    /// How long after the last of `count` failures the next attempt must
    /// wait: nothing while `count` is within the free failures, then
    /// `first_delay`, doubling, at most `max_delay`.
    pub fn delay(&self, count: u32) -> Duration {
        if count < self.free || self.first_delay <= Duration::ZERO {
            return Duration::ZERO;
        }
        let doublings = (count - self.free).min(62);
        let factor = 1_i64 << doublings;
        // An overflow only happens far beyond the cap.
        self.first_delay
            .checked_mul(i32::try_from(factor).unwrap_or(i32::MAX))
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// The throttling rule's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures for one login from one client address.
    pub per_address: Limit,
    /// Failures for one login from every address together.
    pub per_login: Limit,
    /// Failures whose last one is this old are forgotten (the count starts
    /// again). Longer than either `max_delay`, so that waiting out a delay
    /// does not reset the count.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    /// Per (login, address): 5 free failures, then 1 s doubling up to
    /// 15 minutes. Per login: 20 free failures, then 1 s doubling up to
    /// 1 minute. Forgotten after an hour without failures.
    fn default() -> Self {
        Self {
            per_address: Limit {
                free: 5,
                first_delay: Duration::seconds(1),
                max_delay: Duration::minutes(15),
            },
            per_login: Limit {
                free: 20,
                first_delay: Duration::seconds(1),
                max_delay: Duration::minutes(1),
            },
            forget_after: Duration::hours(1),
        }
    }
}

/// The failures counted in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// How many (attempts that were allowed and not proved right).
    pub count: u32,
    /// When the last one was counted.
    pub last: OffsetDateTime,
}

/// What [`ThrottlePolicy::decide`] says of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The attempt may check a password. Storage writes these counts (the
    /// attempt counted as a failure in both scopes) before the check; a
    /// right password clears them.
    Allowed {
        /// The new count for (login, address).
        per_address: Failures,
        /// The new count for the login.
        per_login: Failures,
    },
    /// Not now: answer 429 and try again after `retry_after` seconds
    /// (at least 1). Nothing is counted.
    Refused {
        /// Seconds until an attempt is allowed.
        retry_after: u64,
    },
}

impl ThrottlePolicy {
    /// The failures still remembered at `now` (`None` once forgotten).
    fn remembered(&self, failures: Option<Failures>, now: OffsetDateTime) -> Option<Failures> {
        failures.filter(|f| f.count > 0 && now - f.last < self.forget_after)
    }

    /// How long from `now` an attempt must still wait in a scope.
    fn wait(limit: &Limit, failures: Option<Failures>, now: OffsetDateTime) -> Duration {
        failures.map_or(Duration::ZERO, |f| {
            (f.last + limit.delay(f.count) - now).max(Duration::ZERO)
        })
    }

    /// Whether an attempt at `now` may check a password, given the
    /// failures stored for its (login, address) and its login, and if so
    /// the counts to store.
    pub fn decide(
        &self,
        per_address: Option<Failures>,
        per_login: Option<Failures>,
        now: OffsetDateTime,
    ) -> Verdict {
        let per_address = self.remembered(per_address, now);
        let per_login = self.remembered(per_login, now);
        let wait = Self::wait(&self.per_address, per_address, now).max(Self::wait(
            &self.per_login,
            per_login,
            now,
        ));
        if wait > Duration::ZERO {
            let seconds = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
            return Verdict::Refused {
                retry_after: u64::try_from(seconds).unwrap_or(1).max(1),
            };
        }
        let next = |f: Option<Failures>| Failures {
            count: f.map_or(0, |f| f.count).saturating_add(1),
            last: now,
        };
        Verdict::Allowed {
            per_address: next(per_address),
            per_login: next(per_login),
        }
    }
}

/// Where an attempt comes from, as throttling counts it: an IPv4 address,
/// or the /64 network of an IPv6 address (one subscriber usually holds a
/// whole /64, so its single addresses cost nothing to change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    /// The address `ip` counts as (IPv4-mapped IPv6 addresses as IPv4).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1_u128 << 64) - 1);
                    Self(IpAddr::V6(network.into()))
                }
            },
        }
    }

    /// The text stored for it (`192.0.2.1`, `2001:db8::/64`).
    pub fn as_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("{v6}/64"),
        }
    }
}

/// Whose failed attempts are counted: a tenant, a login name's key and the
/// client's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThrottleKey {
    /// The tenant.
    pub tenant: TenantId,
    /// The login name's case-insensitive key (or the trimmed lowercase text
    /// when it is no valid username, so made-up names are counted too).
    pub login: String,
    /// Where the attempt comes from; `None` when unknown (all unknown
    /// addresses then share one count).
    pub address: Option<ClientAddress>,
}

impl ThrottleKey {
    /// The key for attempts to log in to `tenant` as `login` from `address`.
    pub fn new(tenant: TenantId, login: &str, address: Option<ClientAddress>) -> Self {
        let login = Username::parse(login)
            .map(|u| u.key().as_str().to_owned())
            .unwrap_or_else(|_| login.trim().to_lowercase());
        Self {
            tenant,
            login,
            address,
        }
    }

    /// The stored text for the address scope (`unknown` when not known;
    /// never empty, as the empty text stands for every address).
    pub fn address_key(&self) -> String {
        self.address
            .map_or_else(|| "unknown".to_owned(), |a| a.as_key())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn failures(count: u32, ago: Duration) -> Option<Failures> {
        Some(Failures {
            count,
            last: NOW - ago,
        })
    }

    fn refused(retry_after: u64) -> Verdict {
        Verdict::Refused { retry_after }
    }

    #[test]
    fn delays_double_after_the_free_failures_up_to_the_cap() {
        let limit = ThrottlePolicy::default().per_address;
        let delays: Vec<i64> = (0..16).map(|n| limit.delay(n).whole_seconds()).collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
        );
        assert_eq!(limit.delay(u32::MAX), Duration::minutes(15));
    }

    #[test]
    fn a_first_attempt_is_allowed_and_counted() {
        let policy = ThrottlePolicy::default();
        assert_eq!(
            policy.decide(None, None, NOW),
            Verdict::Allowed {
                per_address: Failures {
                    count: 1,
                    last: NOW
                },
                per_login: Failures {
                    count: 1,
                    last: NOW
                },
            }
        );
    }

    #[test]
    fn one_address_is_slowed_down_and_the_wait_is_rounded_up() {
        let policy = ThrottlePolicy::default();
        let login = failures(7, Duration::ZERO);
        assert_eq!(
            policy.decide(failures(7, Duration::ZERO), login, NOW),
            refused(4)
        );
        assert_eq!(
            policy.decide(failures(7, Duration::milliseconds(3_500)), login, NOW),
            refused(1)
        );
        assert!(matches!(
            policy.decide(
                failures(7, Duration::seconds(4)),
                failures(7, Duration::seconds(4)),
                NOW
            ),
            Verdict::Allowed {
                per_address: Failures { count: 8, .. },
                per_login: Failures { count: 8, .. }
            }
        ));
    }

    #[test]
    fn another_address_is_not_locked_out_by_one_address() {
        let policy = ThrottlePolicy::default();
        // The attacker's address is at its 15-minute cap; the login as a
        // whole has 19 failures: the real user's address is not slowed.
        let attacker = failures(40, Duration::ZERO);
        let login = failures(19, Duration::ZERO);
        assert_eq!(policy.decide(attacker, login, NOW), refused(900));
        assert!(matches!(
            policy.decide(None, login, NOW),
            Verdict::Allowed { .. }
        ));
    }

    #[test]
    fn many_addresses_slow_the_login_down_by_at_most_its_cap() {
        let policy = ThrottlePolicy::default();
        assert_eq!(
            policy.decide(None, failures(21, Duration::ZERO), NOW),
            refused(2)
        );
        assert_eq!(
            policy.decide(None, failures(10_000, Duration::ZERO), NOW),
            refused(60)
        );
    }

    #[test]
    fn old_failures_are_forgotten() {
        let policy = ThrottlePolicy::default();
        let old = failures(40, Duration::hours(1));
        assert_eq!(
            policy.decide(old, old, NOW),
            Verdict::Allowed {
                per_address: Failures {
                    count: 1,
                    last: NOW
                },
                per_login: Failures {
                    count: 1,
                    last: NOW
                },
            }
        );
        // Waiting out the longest delay does not reset the count.
        assert!(policy.forget_after > policy.per_address.max_delay);
    }

    #[test]
    fn a_failure_in_the_future_waits_at_most_its_delay() {
        // Clocks of two nodes differ a little: a failure stamped later than
        // `now` makes the wait longer by that much, never unbounded.
        let policy = ThrottlePolicy::default();
        let ahead = failures(6, Duration::seconds(-2));
        assert_eq!(policy.decide(ahead, None, NOW), refused(4));
    }

    fn arbitrary_failures() -> impl Strategy<Value = Option<Failures>> {
        proptest::option::of(
            (0_u32..200, 0_i64..7_200_000).prop_map(|(count, ago_ms)| Failures {
                count,
                last: NOW - Duration::milliseconds(ago_ms),
            }),
        )
    }

    proptest! {
        /// Waiting `Retry-After` is always enough, the wait is never longer
        /// than the longer cap, and an allowed attempt counts exactly one
        /// failure in each scope (from zero once forgotten).
        #[test]
        fn retry_after_is_enough_and_bounded(
            per_address in arbitrary_failures(),
            per_login in arbitrary_failures(),
        ) {
            let policy = ThrottlePolicy::default();
            match policy.decide(per_address, per_login, NOW) {
                Verdict::Refused { retry_after } => {
                    let cap = policy.per_address.max_delay.max(policy.per_login.max_delay);
                    prop_assert!(retry_after >= 1);
                    prop_assert!(retry_after as i64 <= cap.whole_seconds());
                    let later = NOW + Duration::seconds(retry_after as i64);
                    let allowed = matches!(
                        policy.decide(per_address, per_login, later),
                        Verdict::Allowed { .. }
                    );
                    prop_assert!(allowed);
                }
                Verdict::Allowed { per_address: a, per_login: l } => {
                    let counted = |f: Option<Failures>| {
                        f.filter(|f| NOW - f.last < policy.forget_after)
                            .map_or(0, |f| f.count)
                            + 1
                    };
                    prop_assert_eq!(a.count, counted(per_address));
                    prop_assert_eq!(l.count, counted(per_login));
                    prop_assert_eq!(a.last, NOW);
                }
            }
        }
    }

    #[test]
    fn ipv6_addresses_count_by_their_network() {
        let a = ClientAddress::of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddress::of("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = ClientAddress::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.as_key(), "2001:db8:1:2::/64");
        let mapped = ClientAddress::of("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(mapped.as_key(), "192.0.2.7");
    }

    #[test]
    fn keys_ignore_case_and_name_unknown_addresses() {
        let tenant = TenantId::new_random();
        let a = ThrottleKey::new(tenant, "ADA@example.com", None);
        let b = ThrottleKey::new(tenant, "ada@EXAMPLE.com", None);
        assert_eq!(a, b);
        assert_eq!(a.address_key(), "unknown");
    }
}
