//! A per-kiosk rate limit on the online duplicate search (`POST /v1/dedup/search`).
//!
//! Each search tells whether a face is already enrolled somewhere in the fleet, so a stolen
//! kiosk key could probe the fleet's templates one query at a time. Each kiosk gets a token
//! bucket ([`SearchLimits`]): `burst` searches at once, refilled at `per_minute`. A search
//! without a token is refused with 429 `rate_limited` (the kiosk records its verification as
//! "not checked centrally"), and a kiosk refused [`SearchLimits::alert_after`] times within
//! [`SearchLimits::alert_window_ms`] raises one `search_rate_limited` alert (one open alert
//! per kiosk at a time).
//!
//! The buckets live in the serving process's memory: a restart refills them, and two
//! processes serving the same database each allow the limit.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::CentralError;

/// The alert kind raised for a kiosk that keeps exceeding its limit.
pub const ALERT_KIND: &str = "search_rate_limited";

/// Limits of the online duplicate search, per kiosk.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchLimits {
    /// Searches allowed per minute, sustained (bucket refill rate).
    pub per_minute: u32,
    /// Searches allowed at once (bucket size).
    pub burst: u32,
    /// Refusals within [`SearchLimits::alert_window_ms`] that raise an alert.
    pub alert_after: u32,
    /// The window over which refusals are counted, ms.
    pub alert_window_ms: i64,
}

impl Default for SearchLimits {
    /// Six a minute, ten at once: one kiosk records a verification at best every minute or
    /// so (document front and back, selfie, liveness steps), and each makes one search; the
    /// limit leaves several times that pace for retries after a network cut, while a stolen
    /// key gets at most six probes a minute and an alert after five refusals in ten minutes.
    fn default() -> Self {
        SearchLimits {
            per_minute: 6,
            burst: 10,
            alert_after: 5,
            alert_window_ms: 10 * 60_000,
        }
    }
}

impl SearchLimits {
    /// Largest accepted `per_minute` (one search a second).
    pub const MAX_PER_MINUTE: u32 = 60;
    /// Largest accepted `burst`.
    pub const MAX_BURST: u32 = 100;

    /// Check the limits are usable: every value at least 1, `per_minute` at most
    /// [`Self::MAX_PER_MINUTE`], `burst` at most [`Self::MAX_BURST`].
    ///
    /// # Errors
    /// `InvalidInput` naming the value.
    pub fn validate(&self) -> Result<(), CentralError> {
        let bad = |m: String| Err(CentralError::InvalidInput(m));
        if !(1..=Self::MAX_PER_MINUTE).contains(&self.per_minute) {
            return bad(format!(
                "search limit per minute {}: from 1 to {}",
                self.per_minute,
                Self::MAX_PER_MINUTE
            ));
        }
        if !(1..=Self::MAX_BURST).contains(&self.burst) {
            return bad(format!(
                "search burst {}: from 1 to {}",
                self.burst,
                Self::MAX_BURST
            ));
        }
        if self.alert_after == 0 || self.alert_window_ms <= 0 {
            return bad("search alert threshold and window must be positive".into());
        }
        Ok(())
    }

    /// Milliseconds one token takes to come back.
    fn ms_per_token(&self) -> f64 {
        60_000.0 / f64::from(self.per_minute.max(1))
    }
}

/// What the limiter says about one search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// Refused; the next token comes in `retry_after_ms`. `alert` is true once, when the
    /// refusals within the window reach the alert threshold.
    Refused {
        /// Milliseconds until the next token.
        retry_after_ms: i64,
        /// Refusals of this kiosk within the alert window, this one included.
        recent_refusals: u32,
        /// Raise an alert now.
        alert: bool,
    },
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last_ms: i64,
    /// Times of refusals within the alert window.
    refusals: Vec<i64>,
    /// When an alert was last raised (none again within the window).
    alerted_ms: Option<i64>,
}

/// The per-kiosk token buckets.
#[derive(Debug, Default)]
pub struct SearchLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl SearchLimiter {
    /// Take a token for `kiosk_id` at `now_ms` under `limits`.
    pub fn take(&self, limits: &SearchLimits, kiosk_id: &str, now_ms: i64) -> Verdict {
        let mut all = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(limits.burst.max(1));
        let b = all.entry(kiosk_id.to_string()).or_insert(Bucket {
            tokens: burst,
            last_ms: now_ms,
            refusals: Vec::new(),
            alerted_ms: None,
        });
        let per_token = limits.ms_per_token();
        let elapsed = (now_ms - b.last_ms).max(0) as f64;
        b.tokens = (b.tokens + elapsed / per_token).min(burst);
        b.last_ms = now_ms.max(b.last_ms);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Verdict::Allowed;
        }
        let since = now_ms - limits.alert_window_ms;
        b.refusals.retain(|t| *t > since);
        b.refusals.push(now_ms);
        let recent = b.refusals.len() as u32;
        let quiet = b.alerted_ms.is_none_or(|t| t <= since);
        let alert = recent >= limits.alert_after && quiet;
        if alert {
            b.alerted_ms = Some(now_ms);
        }
        Verdict::Refused {
            retry_after_ms: ((1.0 - b.tokens) * per_token).ceil() as i64,
            recent_refusals: recent,
            alert,
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(per_minute: u32, burst: u32) -> SearchLimits {
        SearchLimits {
            per_minute,
            burst,
            alert_after: 3,
            alert_window_ms: 600_000,
        }
    }

    fn allowed(v: &Verdict) -> bool {
        matches!(v, Verdict::Allowed)
    }

    #[test]
    fn a_burst_over_the_limit_is_refused_and_each_kiosk_has_its_own_bucket() {
        let l = limits(6, 4);
        let r = SearchLimiter::default();
        let t0 = 1_000_000;
        for i in 0..4 {
            assert!(allowed(&r.take(&l, "k1", t0 + i)), "search {i}");
        }
        match r.take(&l, "k1", t0 + 4) {
            Verdict::Refused {
                retry_after_ms,
                recent_refusals,
                alert,
            } => {
                // The next token is 10 s (one sixth of a minute) after the bucket emptied.
                assert!(
                    (9_990..=10_000).contains(&retry_after_ms),
                    "{retry_after_ms}"
                );
                assert_eq!((recent_refusals, alert), (1, false));
            }
            v => panic!("expected a refusal, got {v:?}"),
        }
        // Another kiosk is not affected.
        assert!(allowed(&r.take(&l, "k2", t0 + 5)));
    }

    #[test]
    fn the_normal_pace_always_passes() {
        // One search every 12 s (five a minute) for two hours under six a minute, burst 1.
        let l = limits(6, 1);
        let r = SearchLimiter::default();
        for i in 0..600 {
            assert!(allowed(&r.take(&l, "k", i * 12_000)), "search {i}");
        }
        // Faster than the rate: refused until a token is back.
        assert!(allowed(&r.take(&l, "k", 600 * 12_000 + 10_000)));
        assert!(!allowed(&r.take(&l, "k", 600 * 12_000 + 11_000)));
        assert!(allowed(&r.take(&l, "k", 600 * 12_000 + 20_000)));
    }

    #[test]
    fn repeated_refusals_raise_one_alert_per_window() {
        let l = limits(1, 1);
        let r = SearchLimiter::default();
        assert!(allowed(&r.take(&l, "k", 0)));
        let alerts: Vec<bool> = (1..=6)
            .map(|i| match r.take(&l, "k", i * 100) {
                Verdict::Refused { alert, .. } => alert,
                Verdict::Allowed => panic!("search {i} allowed"),
            })
            .collect();
        assert_eq!(alerts, [false, false, true, false, false, false]);
        // Once the window has passed, a new run of refusals alerts again.
        let later = 700_000;
        let mut raised = 0;
        for i in 0..5 {
            if let Verdict::Refused { alert: true, .. } = r.take(&l, "k", later + i) {
                raised += 1;
            }
        }
        assert_eq!(raised, 1);
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        assert!(SearchLimits::default().validate().is_ok());
        for (p, b) in [(0, 10), (61, 10), (6, 0), (6, 101)] {
            let e = limits(p, b).validate().unwrap_err().to_string();
            assert!(e.contains("search"), "{e}");
        }
    }
}
