//! Slowing down password guessing: after `max_failures` failed logins for one
//! (tenant, username) within `window`, further logins for it are answered 429
//! with `Retry-After` until the window that began with the first failure
//! ends. A successful login clears the count.
//!
//! Security intent: the count is per username (including names that do not
//! exist, so the answer does not tell them apart), and a refused attempt is
//! refused before any password is verified, so the throttle also caps the
//! argon2 work one username can cause. The state lives in memory, per
//! process, bounded in size; a restart forgets it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use userhub_domain::ports::{LoginThrottle, ThrottleKey};

/// When failed logins are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within the window after which logins are refused.
    pub max_failures: u32,
    /// The window, starting at the first failure.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    /// 5 failures within 15 minutes.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// The most usernames tracked at once; beyond it, expired entries are
/// dropped, and if none is expired new names are not tracked (memory stays
/// bounded under a flood of made-up names).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    since: Instant,
}

/// Failed-login counts, in this process's memory.
#[derive(Debug)]
pub struct MemoryThrottle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<ThrottleKey, Entry>>,
}

impl MemoryThrottle {
    /// An empty throttle.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry
        // (every write is one insert), so a poisoned map is still good.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.since) >= self.policy.window
    }

    /// `Err(seconds)` when `key` is locked out at `now`: the seconds until
    /// its window ends (at least 1).
    pub fn check(&self, key: &ThrottleKey, now: Instant) -> Result<(), u64> {
        let entries = self.entries();
        match entries.get(key) {
            Some(entry)
                if !self.expired(entry, now) && entry.failures >= self.policy.max_failures =>
            {
                let left = self
                    .policy
                    .window
                    .saturating_sub(now.saturating_duration_since(entry.since));
                let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Err(seconds.max(1))
            }
            _ => Ok(()),
        }
    }

    /// Count a failed login for `key` at `now`.
    pub fn record_failure_at(&self, key: ThrottleKey, now: Instant) {
        let mut entries = self.entries();
        if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| !self.expired(entry, now));
            if entries.len() >= MAX_ENTRIES {
                log::warn!("login throttle full: not tracking another username");
                return;
            }
        }
        let entry = entries.entry(key).or_insert(Entry {
            failures: 0,
            since: now,
        });
        if self.expired(entry, now) {
            *entry = Entry {
                failures: 0,
                since: now,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
    }

    /// Forget the failures of `key` (after a successful login).
    pub fn forget(&self, key: &ThrottleKey) {
        self.entries().remove(key);
    }
}

impl LoginThrottle for MemoryThrottle {
    fn check(&self, key: &ThrottleKey) -> Result<(), u64> {
        MemoryThrottle::check(self, key, Instant::now())
    }

    fn record_failure(&self, key: &ThrottleKey) {
        self.record_failure_at(key.clone(), Instant::now());
    }

    fn record_success(&self, key: &ThrottleKey) {
        self.forget(key);
    }
}

#[cfg(test)]
mod tests {
    use userhub_domain::types::TenantId;

    use super::*;

    fn throttle() -> MemoryThrottle {
        MemoryThrottle::new(ThrottlePolicy {
            max_failures: 3,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn locks_after_the_threshold_until_the_window_ends() {
        let t = throttle();
        let k = ThrottleKey::new(TenantId::new_random(), "Ada@Example.com");
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(t.check(&k, start), Ok(()), "attempt {i}");
            t.record_failure_at(k.clone(), start + Duration::from_secs(i));
        }
        assert_eq!(t.check(&k, start + Duration::from_secs(10)), Err(50));
        assert_eq!(t.check(&k, start + Duration::from_millis(59_500)), Err(1));
        assert_eq!(t.check(&k, start + Duration::from_secs(60)), Ok(()));
        // A new window starts with the next failure.
        t.record_failure_at(k.clone(), start + Duration::from_secs(61));
        assert_eq!(t.check(&k, start + Duration::from_secs(62)), Ok(()));
    }

    #[test]
    fn success_clears_and_keys_ignore_case() {
        let t = throttle();
        let tenant = TenantId::new_random();
        let now = Instant::now();
        for _ in 0..3 {
            t.record_failure_at(ThrottleKey::new(tenant, "ADA@example.com"), now);
        }
        assert!(
            t.check(&ThrottleKey::new(tenant, "ada@EXAMPLE.com"), now)
                .is_err()
        );
        assert!(
            t.check(
                &ThrottleKey::new(TenantId::new_random(), "ada@example.com"),
                now
            )
            .is_ok()
        );
        t.forget(&ThrottleKey::new(tenant, "ada@example.com"));
        assert!(
            t.check(&ThrottleKey::new(tenant, "ada@example.com"), now)
                .is_ok()
        );
    }
}
