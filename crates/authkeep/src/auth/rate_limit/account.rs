//! authkeep's limit on failed password sign-ins per account, whatever the client's IP: a
//! botnet rotating addresses gets a few guesses per cool-down, not millions; the owner is
//! never locked out for longer than `max_lockout`.
//!
//! Each attempt is counted before the password is checked (so a burst of concurrent guesses
//! cannot all pass before the first failure is written, and the work is the same whether the
//! address is registered or not); a successful sign-in clears the count. The count is a
//! fixed window from the first attempt. The attempt past `max_failures` starts a cool-down of
//! `lockout`, doubled by each further cool-down that follows within `window` of the last
//! one, up to `max_lockout`. Keys are a keyed hash of the address, so counters hold no emails.

use super::{Counters, Decision, seconds_until};
use crate::crypto::HmacKey;
use crate::model::Email;
use crate::store::StoreError;

/// The policy, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPolicy {
    pub max_failures: u32,
    pub window: u64,
    pub lockout: u64,
    pub max_lockout: u64,
}

#[derive(Debug, Clone)]
pub struct AccountLimiter {
    pub policy: AccountPolicy,
    pub counters: Counters,
    key: HmacKey,
}

fn ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

impl AccountLimiter {
    pub fn new(policy: AccountPolicy, counters: Counters, key: HmacKey) -> Self {
        Self {
            policy,
            counters,
            key,
        }
    }

    fn keys(&self, email: &Email) -> (String, String) {
        let mac = self
            .key
            .mac(format!("account-limit:{}", email.as_str()).as_bytes());
        let id: String = mac[..16].iter().map(|b| format!("{b:02x}")).collect();
        (format!("account-fail|{id}"), format!("account-lock|{id}"))
    }

    /// The cool-down of the `level`-th lockout in a row.
    fn lockout_ms(&self, level: i64) -> i64 {
        let doublings = u32::try_from((level - 1).clamp(0, 30)).unwrap_or(30);
        let secs = self
            .policy
            .lockout
            .saturating_mul(1u64 << doublings)
            .min(self.policy.max_lockout);
        ms(secs)
    }

    /// Counts an attempt for `email` at `now` (epoch ms), before its password is checked.
    pub async fn attempt(&self, email: &Email, now: i64) -> Result<Decision, StoreError> {
        let p = self.policy;
        let (fail, lock) = self.keys(email);
        let held = self.counters.get(&lock, now).await?;
        if let Some((level, since)) = held {
            let until = since + self.lockout_ms(level);
            if now < until {
                return Ok(Decision::Refused {
                    retry_after: seconds_until(until, now),
                });
            }
        }
        let n = self.counters.hit(&fail, ms(p.window), now).await?;
        if n <= i64::from(p.max_failures) {
            return Ok(Decision::Allowed);
        }
        // A cool-down that ended within a window of this one makes this one longer.
        let level = match held {
            Some((level, since)) if now - (since + self.lockout_ms(level)) < ms(p.window) => {
                level + 1
            }
            _ => 1,
        };
        let duration = self.lockout_ms(level);
        if n == i64::from(p.max_failures) + 1 {
            // Only the attempt that crossed the line starts the cool-down (concurrent ones
            // past it are refused alike), and the count starts over after it.
            let keep = duration + ms(p.window);
            self.counters.put(&lock, level, now, keep, now).await?;
            self.counters.delete(&fail, now).await?;
        }
        Ok(Decision::Refused {
            retry_after: seconds_until(now + duration, now),
        })
    }

    /// A sign-in succeeded: its earlier failures are forgiven, and a cool-down that concurrent
    /// attempts started meanwhile (the owner's own, sent at once) is lifted, since the right
    /// password has just been shown.
    pub async fn succeeded(&self, email: &Email, now: i64) -> Result<(), StoreError> {
        let (fail, lock) = self.keys(email);
        self.counters.delete(&fail, now).await?;
        self.counters.delete(&lock, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Secret;

    #[tokio::test]
    async fn cool_downs_double_and_are_bounded() {
        let l = AccountLimiter::new(
            AccountPolicy {
                max_failures: 3,
                window: 900,
                lockout: 60,
                max_lockout: 150,
            },
            Counters::memory(),
            HmacKey::new(&Secret::new("k")),
        );
        let e = Email::parse("a@b.test").unwrap();
        let mut t = 0;
        for _ in 0..3 {
            assert_eq!(l.attempt(&e, t).await.unwrap(), Decision::Allowed);
        }
        assert_eq!(
            l.attempt(&e, t).await.unwrap(),
            Decision::Refused { retry_after: 60 }
        );
        t += 59_000;
        assert_eq!(
            l.attempt(&e, t).await.unwrap(),
            Decision::Refused { retry_after: 1 }
        );
        t += 1_000;
        for _ in 0..3 {
            assert_eq!(l.attempt(&e, t).await.unwrap(), Decision::Allowed);
        }
        assert_eq!(
            l.attempt(&e, t).await.unwrap(),
            Decision::Refused { retry_after: 120 }
        );
        t += 120_000;
        for _ in 0..3 {
            l.attempt(&e, t).await.unwrap();
        }
        assert_eq!(
            l.attempt(&e, t).await.unwrap(),
            Decision::Refused { retry_after: 150 },
            "bounded by max_lockout"
        );
        // Another address is not affected; success forgives.
        let other = Email::parse("c@d.test").unwrap();
        assert_eq!(l.attempt(&other, t).await.unwrap(), Decision::Allowed);
        l.succeeded(&other, t).await.unwrap();
    }

    #[tokio::test]
    async fn a_success_lifts_a_cool_down_started_by_concurrent_attempts() {
        let l = AccountLimiter::new(
            AccountPolicy {
                max_failures: 2,
                window: 900,
                lockout: 60,
                max_lockout: 60,
            },
            Counters::memory(),
            HmacKey::new(&Secret::new("k")),
        );
        let e = Email::parse("owner@b.test").unwrap();
        // The owner's three sign-ins at once: all counted, the third starts a cool-down...
        for _ in 0..2 {
            assert_eq!(l.attempt(&e, 0).await.unwrap(), Decision::Allowed);
        }
        assert!(matches!(
            l.attempt(&e, 0).await.unwrap(),
            Decision::Refused { .. }
        ));
        // ...which the first one's success (the right password) lifts.
        l.succeeded(&e, 1).await.unwrap();
        assert_eq!(l.attempt(&e, 2).await.unwrap(), Decision::Allowed);
    }
}
