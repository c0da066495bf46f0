//! A client-side token bucket in front of the Genesys API. Genesys allows about 300 requests
//! per minute per OAuth client across every instance; each instance takes its share, so a
//! burst is smoothed here instead of coming back as 429s.

use crate::clock::Clock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub(crate) struct RateLimiter {
    capacity: f64,
    per_second: f64,
    clock: Arc<dyn Clock>,
    state: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    at: SystemTime,
}

impl RateLimiter {
    /// A bucket whose burst equals its per-minute budget.
    pub(crate) fn per_minute(budget: u32, clock: Arc<dyn Clock>) -> Self {
        let capacity = f64::from(budget.max(1));
        let at = clock.now();
        Self {
            capacity,
            per_second: capacity / 60.0,
            clock,
            state: Mutex::new(Bucket {
                tokens: capacity,
                at,
            }),
        }
    }

    /// Takes a token now, or says how long until one is free.
    fn try_take(&self) -> Result<(), Duration> {
        let mut bucket = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        let elapsed = now
            .duration_since(bucket.at)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// Waits for a token, but never longer than `max_wait`: a longer wait is returned so the
    /// caller can hand the request back to the platform instead.
    pub(crate) async fn acquire(&self, max_wait: Duration) -> Result<(), Duration> {
        loop {
            match self.try_take() {
                Ok(()) => return Ok(()),
                Err(wait) if wait <= max_wait => self.clock.sleep(wait).await,
                Err(wait) => return Err(wait),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::ManualClock;

    #[tokio::test]
    async fn the_burst_is_the_budget_then_tokens_refill_at_the_rate() {
        let clock = Arc::new(ManualClock::starting_now());
        let limiter = RateLimiter::per_minute(60, clock.clone());
        for _ in 0..60 {
            limiter.acquire(Duration::ZERO).await.unwrap();
        }
        let wait = limiter.acquire(Duration::ZERO).await.unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 0.01, "{wait:?}");
        // Waiting in place takes exactly one refill interval of the clock.
        limiter.acquire(Duration::from_secs(2)).await.unwrap();
        assert_eq!(clock.slept().len(), 1);
        clock.advance(Duration::from_secs(600));
        for _ in 0..60 {
            limiter.acquire(Duration::ZERO).await.unwrap();
        }
        assert!(
            limiter.acquire(Duration::ZERO).await.is_err(),
            "the bucket never holds more than the budget"
        );
    }

    #[tokio::test]
    async fn over_a_minute_no_more_than_burst_plus_rate_pass() {
        let clock = Arc::new(ManualClock::starting_now());
        let limiter = RateLimiter::per_minute(150, clock.clone());
        let start = clock.now();
        let mut passed = 0;
        while clock.now().duration_since(start).unwrap() < Duration::from_secs(60) {
            limiter.acquire(Duration::from_secs(10)).await.unwrap();
            passed += 1;
        }
        assert!((299..=301).contains(&passed), "{passed}");
    }
}
