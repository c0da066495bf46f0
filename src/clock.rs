//! Time as a dependency, so caches, token expiry, the webhook window and in-place
//! `Retry-After` waits can be tested without waiting for real time to pass.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where the function reads the time and waits: the wall clock in production, a manual one in
/// tests (`sandbox::ManualClock`).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
    /// A future that resolves after `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;

    /// Now, in whole seconds since the Unix epoch (negative before it).
    fn unix_seconds(&self) -> i64 {
        match self.now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// The wall clock and tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// When the invocation must have answered (Lambda's deadline, or `invoke`'s own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(SystemTime);

/// Deadlines before this (2001-01-01) cannot be epoch times: they are budgets in milliseconds.
const EARLIEST_EPOCH_DEADLINE_MS: u64 = 978_307_200_000;

impl Deadline {
    /// `budget` from now.
    pub fn after(clock: &dyn Clock, budget: Duration) -> Self {
        Self(clock.now() + budget)
    }

    /// From the Runtime API's `Lambda-Runtime-Deadline-Ms`. Lambda sends epoch milliseconds;
    /// some local emulators (cargo-lambda's sends `600000`) send a relative budget instead. A
    /// value that cannot be an epoch time (before 2001, or past by more than a second) is read
    /// as a budget, capped at `cap`; the second value says so, for a warning.
    pub fn from_runtime(ms: u64, clock: &dyn Clock, cap: Duration) -> (Self, bool) {
        let now = clock.now();
        let at = UNIX_EPOCH + Duration::from_millis(ms);
        let past_by = now.duration_since(at).unwrap_or(Duration::ZERO);
        if ms >= EARLIEST_EPOCH_DEADLINE_MS && past_by <= Duration::from_secs(1) {
            return (Self(at), false);
        }
        (Self(now + Duration::from_millis(ms).min(cap)), true)
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self, clock: &dyn Clock) -> Duration {
        self.0.duration_since(clock.now()).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::ManualClock;

    #[test]
    fn runtime_deadlines_are_epoch_times_or_budgets() {
        let now_ms = 1_764_061_680_000;
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_millis(now_ms));
        let cap = Duration::from_secs(30);
        let (d, relative) = Deadline::from_runtime(now_ms + 12_000, &clock, cap);
        assert!(!relative);
        assert_eq!(d.remaining(&clock), Duration::from_secs(12));
        // cargo-lambda's emulator: a ten-minute budget, capped at the function timeout.
        let (d, relative) = Deadline::from_runtime(600_000, &clock, cap);
        assert!(relative);
        assert_eq!(d.remaining(&clock), cap);
        let (d, relative) = Deadline::from_runtime(5_000, &clock, cap);
        assert!(relative);
        assert_eq!(d.remaining(&clock), Duration::from_secs(5));
        // An epoch time already well past is not a deadline either.
        let (_, relative) = Deadline::from_runtime(now_ms - 60_000, &clock, cap);
        assert!(relative);
        // Half a second late is still Lambda's own deadline (the clocks may differ a little).
        let (d, relative) = Deadline::from_runtime(now_ms - 500, &clock, cap);
        assert!(!relative);
        assert_eq!(d.remaining(&clock), Duration::ZERO);
    }
}
