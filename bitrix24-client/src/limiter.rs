//! Client-side limits that keep calls under the portal's own.
//!
//! Bitrix24 cloud counts requests in a leaky bucket per portal and source
//! address: each request adds 1, the counter drains at 2 per second (5 on
//! Enterprise plans), and above 50 (250) requests fail with HTTP 503
//! `QUERY_LIMIT_EXCEEDED`. A `batch` counts as one request. Separately, each
//! method has a budget of server time summed over ten one-minute buckets.
//! When the budget is used up, the method fails with HTTP 429
//! `OPERATION_TIME_LIMIT` until `time.operating_reset_at`.
//!
//! [`Limiter`] models both: a bucket shared by every clone of a client, and
//! per-method operating time read from each response's `time` block. Time is
//! tokio time, so tests can pause it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use crate::envelope::ResponseTime;

/// Extra wait for a request past the burst. A client pacing exactly at the
/// rate sends each request the moment the portal's bucket has room. When a
/// request reaches the portal sooner after the previous one than it left the
/// client, the portal then rejects it with 503. The headroom absorbs that much
/// difference in network delay (an estimate) and does not lower the rate.
const HEADROOM: Duration = Duration::from_millis(100);

/// The portal's request-rate limit: a leaky bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests the bucket drains per second.
    pub per_second: f64,
    /// The number of requests the bucket contains before the portal rejects the next one.
    pub burst: u32,
}

impl RateLimit {
    /// The limit of every plan except Enterprise: 2 requests per second, burst 50.
    pub const STANDARD: RateLimit = RateLimit {
        per_second: 2.0,
        burst: 50,
    };

    /// The limit of Enterprise plans: 5 requests per second, burst 250.
    pub const ENTERPRISE: RateLimit = RateLimit {
        per_second: 5.0,
        burst: 250,
    };
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::STANDARD
    }
}

/// The client's policy for spending a method's operating-time budget.
///
/// Below `slow_down_from` of `limit` calls go out at once. Between
/// `slow_down_from` and `pause_from` each call of that method first waits up
/// to `max_slow_down`, growing linearly. From `pause_from` on, calls wait
/// until the portal's `operating_reset_at`. A wait longer than `max_wait`
/// is not made: the call fails with [`crate::Error::OperationTimeLimit`] at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatingBudget {
    /// The portal's budget per method over ten minutes.
    // NOTE: Bitrix24 does not publish the cloud value; 480 s is the figure in
    // the worked example of its limits page.
    pub limit: Duration,
    /// Share of `limit` (0 to 1) from which calls are slowed down.
    pub slow_down_from: f64,
    /// Share of `limit` (0 to 1) from which calls wait for the reset.
    pub pause_from: f64,
    /// The maximum delay added while slowing down.
    pub max_slow_down: Duration,
    /// The maximum wait for a blocked method before the call fails.
    pub max_wait: Duration,
    /// How long a method stays blocked after a 429 that came without a known reset time.
    pub block_without_reset: Duration,
}

impl Default for OperatingBudget {
    fn default() -> Self {
        Self {
            limit: Duration::from_secs(480),
            slow_down_from: 0.5,
            pause_from: 0.9,
            max_slow_down: Duration::from_secs(2),
            max_wait: Duration::from_secs(60),
            block_without_reset: Duration::from_secs(60),
        }
    }
}

/// The operating-time model's verdict on calling a method now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Gate {
    /// Call now.
    Go,
    /// Wait this long, then call.
    Wait(Duration),
    /// The method stays blocked longer than the client is willing to wait.
    Blocked {
        retry_after: Duration,
        reset_at: Option<Timestamp>,
    },
}

/// The shared rate and operating-time model of one client and its clones.
#[derive(Debug)]
pub(crate) struct Limiter {
    rate: RateLimit,
    budget: OperatingBudget,
    bucket: Mutex<Bucket>,
    methods: Mutex<HashMap<String, MethodTime>>,
}

#[derive(Debug)]
struct Bucket {
    level: f64,
    updated: Instant,
}

#[derive(Debug, Default)]
struct MethodTime {
    operating: f64,
    reset: Option<(Instant, Timestamp)>,
    blocked_until: Option<(Instant, Option<Timestamp>)>,
}

impl Limiter {
    pub(crate) fn new(rate: RateLimit, budget: OperatingBudget) -> Self {
        Self {
            rate,
            budget,
            bucket: Mutex::new(Bucket {
                level: 0.0,
                updated: Instant::now(),
            }),
            methods: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn rate(&self) -> RateLimit {
        self.rate
    }

    /// Waits until one more request fits in the bucket, and reserves it.
    ///
    /// Reservations are made under the lock and slept off outside it, so
    /// concurrent callers queue in arrival order.
    pub(crate) async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "waiting for the rate limit"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn reserve(&self, now: Instant) -> Duration {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        drain(&mut bucket, now, self.rate.per_second);

        bucket.level += 1.0;
        let burst = f64::from(self.rate.burst.max(1));
        if bucket.level <= burst {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((bucket.level - burst) / self.rate.per_second) + HEADROOM
    }

    /// Records that the portal rejected a request for the rate limit: the
    /// portal's bucket is full, whatever ours shows.
    pub(crate) fn penalize(&self) {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        drain(&mut bucket, Instant::now(), self.rate.per_second);
        bucket.level = bucket.level.max(f64::from(self.rate.burst));
    }

    /// Records the operating time a response reported for `method`.
    pub(crate) fn record(&self, method: &str, time: &ResponseTime) {
        let Some(operating) = time.operating else {
            return;
        };
        let mut methods = self
            .methods
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = methods.entry(method.to_owned()).or_default();

        state.operating = operating;
        state.reset = time
            .operating_reset_at()
            .map(|reset_at| (instant_of(reset_at), reset_at));
    }

    /// Blocks `method` until `reset_at`, or for the configured time when the
    /// reset is unknown. Returns how long the block lasts.
    pub(crate) fn block(&self, method: &str, reset_at: Option<Timestamp>) -> Duration {
        let mut methods = self
            .methods
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = methods.entry(method.to_owned()).or_default();

        let known_reset = reset_at.or_else(|| state.reset.map(|(_, at)| at));
        let now = Instant::now();
        let until = match known_reset {
            Some(at) if instant_of(at) > now => instant_of(at),
            _ => now + self.budget.block_without_reset,
        };
        state.blocked_until = Some((until, known_reset));
        until - now
    }

    /// Says whether `method` may be called now, after a delay, or not at all.
    pub(crate) fn gate(&self, method: &str) -> Gate {
        let mut methods = self
            .methods
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(state) = methods.get_mut(method) else {
            return Gate::Go;
        };
        let now = Instant::now();

        if let Some((until, reset_at)) = state.blocked_until {
            if until > now {
                return self.wait_or_block(until - now, reset_at);
            }
            state.blocked_until = None;
        }

        let Some((reset, reset_at)) = state.reset else {
            return Gate::Go;
        };
        if reset <= now {
            return Gate::Go;
        }
        let used = state.operating / self.budget.limit.as_secs_f64().max(f64::EPSILON);
        if used >= self.budget.pause_from {
            return self.wait_or_block(reset - now, Some(reset_at));
        }
        if used >= self.budget.slow_down_from {
            let span = (self.budget.pause_from - self.budget.slow_down_from).max(f64::EPSILON);
            let share = (used - self.budget.slow_down_from) / span;
            return Gate::Wait(self.budget.max_slow_down.mul_f64(share.clamp(0.0, 1.0)));
        }
        Gate::Go
    }

    fn wait_or_block(&self, wait: Duration, reset_at: Option<Timestamp>) -> Gate {
        if wait <= self.budget.max_wait {
            Gate::Wait(wait)
        } else {
            Gate::Blocked {
                retry_after: wait,
                reset_at,
            }
        }
    }
}

fn drain(bucket: &mut Bucket, now: Instant, per_second: f64) {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.level = (bucket.level - elapsed * per_second).max(0.0);
    bucket.updated = now;
}

/// Converts a Unix instant from the portal into tokio time, using the system clock once.
fn instant_of(at: Timestamp) -> Instant {
    let now = Instant::now();
    let seconds = at.as_second() - Timestamp::now().as_second();
    if seconds <= 0 {
        return now;
    }
    now + Duration::from_secs(seconds.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: u32) -> Limiter {
        Limiter::new(RateLimit { per_second, burst }, OperatingBudget::default())
    }

    #[tokio::test(start_paused = true)]
    async fn burst_goes_out_at_once() {
        let limiter = limiter(2.0, 50);
        let start = Instant::now();

        for _ in 0..50 {
            limiter.acquire().await;
        }

        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn after_burst_drains_at_rate() {
        let limiter = limiter(2.0, 50);
        let start = Instant::now();

        for _ in 0..60 {
            limiter.acquire().await;
        }

        // 10 requests past the burst at 2 per second, after one headroom.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((5.05..=5.15).contains(&elapsed), "took {elapsed} s");
    }

    #[tokio::test(start_paused = true)]
    async fn penalty_fills_the_bucket() {
        let limiter = limiter(5.0, 250);
        limiter.penalize();
        let start = Instant::now();

        limiter.acquire().await;

        assert_eq!(start.elapsed(), Duration::from_millis(200) + HEADROOM);
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_bucket() {
        let limiter = std::sync::Arc::new(limiter(2.0, 2));
        let start = Instant::now();

        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }

        assert_eq!(start.elapsed(), Duration::from_secs(1) + HEADROOM);
    }

    fn time(operating: f64, reset_in: i64) -> ResponseTime {
        ResponseTime {
            operating: Some(operating),
            operating_reset_at: Some(Timestamp::now().as_second() + reset_in),
            ..ResponseTime::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn low_operating_time_goes() {
        let limiter = limiter(2.0, 50);

        limiter.record("crm.deal.list", &time(3.3, 600));

        assert_eq!(limiter.gate("crm.deal.list"), Gate::Go);
        assert_eq!(limiter.gate("crm.deal.get"), Gate::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn middle_operating_time_slows_down() {
        let limiter = limiter(2.0, 50);

        limiter.record("crm.deal.list", &time(336.0, 600));

        // 336 / 480 = 0.7, halfway between 0.5 and 0.9.
        let Gate::Wait(wait) = limiter.gate("crm.deal.list") else {
            panic!("expected a wait");
        };
        assert!((900..=1100).contains(&wait.as_millis()), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn high_operating_time_waits_for_reset() {
        let limiter = limiter(2.0, 50);

        limiter.record("crm.deal.list", &time(478.9, 30));

        let Gate::Wait(wait) = limiter.gate("crm.deal.list") else {
            panic!("expected a wait");
        };
        assert!((29..=30).contains(&wait.as_secs()), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn far_reset_blocks() {
        let limiter = limiter(2.0, 50);

        limiter.record("crm.deal.list", &time(478.9, 600));

        assert!(matches!(
            limiter.gate("crm.deal.list"),
            Gate::Blocked { retry_after, .. } if retry_after.as_secs() >= 599
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn block_without_reset_uses_fallback() {
        let limiter = limiter(2.0, 50);

        let blocked_for = limiter.block("crm.deal.update", None);

        assert_eq!(blocked_for, Duration::from_secs(60));
        assert_eq!(
            limiter.gate("crm.deal.update"),
            Gate::Wait(Duration::from_secs(60))
        );
    }
}
