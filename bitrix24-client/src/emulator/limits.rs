//! The request-rate leaky bucket and the per-method operation-time budget.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::envelope::Operating;
use super::options::{OperatingLimit, RateLimit};

/// The portal-wide leaky bucket.
#[derive(Debug)]
pub(crate) struct LeakyBucket {
    limit: RateLimit,
    level: f64,
    last: Instant,
}

impl LeakyBucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            level: 0.0,
            last: Instant::now(),
        }
    }

    pub(crate) fn set_limit(&mut self, limit: RateLimit) {
        self.limit = limit;
        self.level = 0.0;
    }

    pub(crate) fn reset(&mut self) {
        self.level = 0.0;
    }

    /// Admits one request at `now`, or returns `false` when the bucket is full.
    ///
    /// A rejected request does not add to the counter, so a client that
    /// backs off is served again as soon as the counter drains below the burst.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        let RateLimit::Bucket { per_second, burst } = self.limit else {
            return true;
        };
        let drained = now.saturating_duration_since(self.last).as_secs_f64() * per_second;
        self.level = (self.level - drained).max(0.0);
        self.last = now;

        if self.level + 1.0 > f64::from(burst) {
            return false;
        }
        self.level += 1.0;
        true
    }
}

/// Ten one-minute buckets of server time per (webhook user, method).
const WINDOW_MINUTES: i64 = 10;

#[derive(Debug)]
pub(crate) struct OperatingMeter {
    limit: Option<OperatingLimit>,
    usage: HashMap<(u64, String), VecDeque<(i64, f64)>>,
}

impl OperatingMeter {
    pub(crate) fn new(limit: Option<OperatingLimit>) -> Self {
        Self {
            limit,
            usage: HashMap::new(),
        }
    }

    pub(crate) fn set_limit(&mut self, limit: Option<OperatingLimit>) {
        self.limit = limit;
        self.usage.clear();
    }

    /// Returns whether the method is blocked for this webhook at Unix time `now`.
    pub(crate) fn is_blocked(&mut self, user: u64, method: &str, now: i64) -> bool {
        let Some(limit) = self.limit else {
            return false;
        };
        let used = self.used(user, method, now).seconds;
        used >= limit.budget.as_secs_f64()
    }

    /// Adds the time one call used and returns the method's figures for the `time` object.
    ///
    /// Without a budget the portal is treated as idle: `operating` is 0 and
    /// there is no pending reset, as in most documented answers.
    pub(crate) fn charge(&mut self, user: u64, method: &str, seconds: f64, now: i64) -> Operating {
        let Some(limit) = self.limit else {
            return Operating::default();
        };
        let extra = limit.charge_per_call.as_secs_f64();
        let minute = now.div_euclid(60);
        let buckets = self.usage.entry((user, method.to_owned())).or_default();
        match buckets.back_mut() {
            Some((last, total)) if *last == minute => *total += seconds + extra,
            _ => buckets.push_back((minute, seconds + extra)),
        }
        self.used(user, method, now)
    }

    fn used(&mut self, user: u64, method: &str, now: i64) -> Operating {
        let minute = now.div_euclid(60);
        let Some(buckets) = self.usage.get_mut(&(user, method.to_owned())) else {
            return Operating::default();
        };
        while buckets
            .front()
            .is_some_and(|(start, _)| *start <= minute - WINDOW_MINUTES)
        {
            buckets.pop_front();
        }
        Operating {
            seconds: buckets.iter().map(|(_, seconds)| seconds).sum(),
            reset_at: buckets
                .front()
                .map(|(start, _)| (start + WINDOW_MINUTES) * 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_admits_burst_then_rejects() {
        let mut bucket = LeakyBucket::new(RateLimit::Bucket {
            per_second: 2.0,
            burst: 3,
        });
        let now = bucket.last;
        assert!(bucket.admit(now));
        assert!(bucket.admit(now));
        assert!(bucket.admit(now));
        assert!(!bucket.admit(now));
    }

    #[test]
    fn bucket_drains_at_rate() {
        let mut bucket = LeakyBucket::new(RateLimit::Bucket {
            per_second: 2.0,
            burst: 2,
        });
        let start = bucket.last;
        assert!(bucket.admit(start));
        assert!(bucket.admit(start));
        assert!(!bucket.admit(start + Duration::from_millis(100)));
        assert!(bucket.admit(start + Duration::from_millis(600)));
        assert!(!bucket.admit(start + Duration::from_millis(700)));
    }

    #[test]
    fn bucket_off_admits_everything() {
        let mut bucket = LeakyBucket::new(RateLimit::Off);
        let now = Instant::now();
        assert!((0..1000).all(|_| bucket.admit(now)));
    }

    #[test]
    fn operating_budget_blocks_then_expires() {
        let mut meter = OperatingMeter::new(Some(OperatingLimit {
            budget: Duration::from_secs(10),
            charge_per_call: Duration::from_secs(4),
        }));
        let t0 = 1_700_000_000;
        assert!(!meter.is_blocked(1, "crm.deal.list", t0));
        meter.charge(1, "crm.deal.list", 0.0, t0);
        meter.charge(1, "crm.deal.list", 0.0, t0);
        assert!(!meter.is_blocked(1, "crm.deal.list", t0));
        let figures = meter.charge(1, "crm.deal.list", 0.0, t0);
        assert_eq!(figures.seconds, 12.0);
        assert!(meter.is_blocked(1, "crm.deal.list", t0));
        assert!(!meter.is_blocked(1, "crm.deal.get", t0));
        assert!(!meter.is_blocked(1, "crm.deal.list", t0 + 11 * 60));
    }
}
