//! A clock that only moves when told to, so caches, token expiry, the webhook window and waits
//! are tested without waiting for real time to pass.

use crate::clock::{Clock, SleepFuture};
use std::time::{Duration, SystemTime};

/// A clock that only moves when told to; `sleep` advances it instantly. Test scaffolding.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<SystemTime>,
    slept: std::sync::Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: SystemTime) -> Self {
        Self {
            now: std::sync::Mutex::new(now),
            slept: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Starts at the real current time, which keeps signatures made with `SystemTime::now` valid.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Every duration `sleep` was asked for, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.advance(duration);
        self.slept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        Box::pin(std::future::ready(()))
    }
}
