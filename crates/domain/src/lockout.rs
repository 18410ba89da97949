//! Login lockout (等保 8.1.4.1 b; ASVS 2.2.1): after `max_failures` wrong passwords
//! for one account within `window`, the account takes no login for `lock_for`, even
//! with the right password. The counts live with the account in the database, so
//! every instance sees the same ones; the rule is here, with the clock passed in.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    /// Five failures in fifteen minutes lock for thirty: the checklist's IA-06.
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(30),
        }
    }
}

/// An account's recent failed logins, as stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    /// Failures since `since`, the first of the current window.
    pub count: u32,
    pub since: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl LoginFailures {
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| now < t)
    }

    /// The state after one more wrong password at `now`, and whether this one locked
    /// the account. A failure while locked counts towards the next lock but does not
    /// lengthen this one.
    pub fn after_failure(
        &self,
        now: DateTime<Utc>,
        policy: &LockoutPolicy,
    ) -> (LoginFailures, bool) {
        let in_window = self.since.is_some_and(|s| now - s < policy.window);
        let (count, since) = if in_window {
            (self.count.saturating_add(1), self.since)
        } else {
            (1, Some(now))
        };
        let locks = count >= policy.max_failures && !self.is_locked(now);
        let next = LoginFailures {
            count: if locks { 0 } else { count },
            since: if locks { None } else { since },
            locked_until: if locks {
                Some(now + policy.lock_for)
            } else {
                self.locked_until
            },
        };
        (next, locks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn fail_at(minutes: &[i64]) -> (LoginFailures, Vec<bool>) {
        let policy = LockoutPolicy::default();
        let mut f = LoginFailures::default();
        let mut locked = Vec::new();
        for m in minutes {
            let (next, locks) = f.after_failure(t(*m), &policy);
            f = next;
            locked.push(locks);
        }
        (f, locked)
    }

    #[test]
    fn the_fifth_failure_in_fifteen_minutes_locks_for_thirty() {
        let (f, locked) = fail_at(&[0, 1, 2, 3, 4]);
        assert_eq!(locked, [false, false, false, false, true]);
        assert!(f.is_locked(t(5)));
        assert!(f.is_locked(t(33)));
        assert!(
            !f.is_locked(t(34)),
            "locked until 09:34, thirty minutes after the fifth"
        );
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_lock() {
        let (f, locked) = fail_at(&[0, 4, 8, 12, 16, 20, 24, 28]);
        assert!(locked.iter().all(|l| !l));
        assert!(!f.is_locked(t(29)));
        assert_eq!(
            f.since,
            Some(t(16)),
            "a new window began at the fifth failure"
        );
    }

    #[test]
    fn failing_while_locked_does_not_extend_the_lock() {
        let (f, locked) = fail_at(&[0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
        assert_eq!(locked.iter().filter(|l| **l).count(), 1);
        assert_eq!(f.locked_until, Some(t(34)));
        // After the lock, five more failures lock again.
        let (g, locked) = fail_at(&[0, 1, 2, 3, 4, 40, 41, 42, 43, 44]);
        assert_eq!(locked.iter().filter(|l| **l).count(), 2);
        assert_eq!(g.locked_until, Some(t(74)));
    }
}
