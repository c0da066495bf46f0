//! Time as a dependency, so caches, token expiry, the webhook window and in-place
//! `Retry-After` waits can be tested without waiting for real time to pass.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> SleepFuture;

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

/// A clock that only moves when told to; `sleep` advances it instantly.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    pub fn new(now: SystemTime) -> Self {
        Self {
            now: Mutex::new(now),
            slept: Mutex::new(Vec::new()),
        }
    }

    /// Starts at the real current time, which keeps signatures made with `SystemTime::now` valid.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

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

/// When the invocation must have answered (Lambda's deadline, or `invoke`'s own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(SystemTime);

impl Deadline {
    pub fn at(when: SystemTime) -> Self {
        Self(when)
    }

    pub fn after(clock: &dyn Clock, budget: Duration) -> Self {
        Self(clock.now() + budget)
    }

    /// From the Lambda context's `deadline` (epoch milliseconds).
    pub fn from_epoch_millis(ms: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_millis(ms))
    }

    pub fn remaining(&self, clock: &dyn Clock) -> Duration {
        self.0.duration_since(clock.now()).unwrap_or(Duration::ZERO)
    }
}
