//! Test and resend are rate-limited per caller (API token) and hook, as GitLab limits its
//! hook test endpoint (5 per minute by default): each one makes a real request to the
//! receiver, and an API client in a loop must not turn WVS into a flood.
//!
//! The count is kept in this node's memory: a limit on operators' clicks needs no
//! coordination between nodes (at worst N nodes allow N times the limit).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wvs_store::HookId;

/// Entries kept before expired ones are swept out.
const SWEEP_AT: usize = 10_000;

pub struct TestLimiter {
    limit: u32,
    window: Duration,
    /// (caller, hook) → (start of its window, requests in it).
    hits: Mutex<HashMap<(String, HookId), (Instant, u32)>>,
}

impl TestLimiter {
    pub fn new(limit: u32, window: Duration) -> TestLimiter {
        TestLimiter {
            limit,
            window,
            hits: Mutex::default(),
        }
    }

    /// Counts one request of `caller` for `hook_id`; `Err` with the wait when over the limit.
    /// A limit of 0 means unlimited.
    pub fn check(&self, caller: &str, hook_id: HookId, now: Instant) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let mut hits = self
            .hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if hits.len() >= SWEEP_AT {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, count) = hits.entry((caller.to_owned(), hook_id)).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            (*start, *count) = (now, 0);
        }
        if *count >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_minute_per_caller_and_hook() {
        let limiter = TestLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.check("a", HookId(1), t0).is_ok());
        }
        let wait = limiter
            .check("a", HookId(1), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(limiter.check("a", HookId(2), t0).is_ok(), "another hook");
        assert!(limiter.check("b", HookId(1), t0).is_ok(), "another caller");
        assert!(
            limiter
                .check("a", HookId(1), t0 + Duration::from_secs(60))
                .is_ok(),
            "next window"
        );
    }

    #[test]
    fn zero_is_unlimited() {
        let limiter = TestLimiter::new(0, Duration::from_secs(60));
        let now = Instant::now();
        assert!((0..100).all(|_| limiter.check("a", HookId(1), now).is_ok()));
    }
}
