//! Retry pacing for write-backs to Bitrix24.

use std::time::Duration;

use rand::Rng;

/// When a failed write-back is tried again, and when it is parked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure. Default: 5 seconds.
    pub base: Duration,
    /// Upper bound of the delay. Default: 15 minutes.
    pub max: Duration,
    /// Attempts after which a write is parked for an administrator. Default: 20,
    /// which with the defaults keeps trying for about four hours.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max: Duration::from_secs(15 * 60),
            max_attempts: 20,
        }
    }
}

impl RetryPolicy {
    /// Returns the delay before attempt `attempts + 1`, given `attempts` failures
    /// so far: exponential, capped, with up to a quarter of random extra so
    /// writes that failed together do not retry together.
    pub fn delay_after(&self, attempts: u32, server_hint: Option<Duration>) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let exponential = self.base.saturating_mul(1u32 << exponent).min(self.max);
        let wanted = server_hint
            .map_or(exponential, |hint| hint.max(exponential))
            .min(self.max);
        let jitter_ms = rand::rng().random_range(0..=wanted.as_millis() as u64 / 4);
        wanted + Duration::from_millis(jitter_ms)
    }

    /// Returns whether a write that has failed `attempts` times should be parked.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(1, 5)]
    #[case(2, 10)]
    #[case(3, 20)]
    #[case(8, 640)]
    #[case(9, 900)]
    #[case(30, 900)]
    fn retry_delay_grows_and_caps(#[case] attempts: u32, #[case] expected_secs: u64) {
        let delay = RetryPolicy::default().delay_after(attempts, None);
        let expected = Duration::from_secs(expected_secs);

        assert!(delay >= expected, "{delay:?} < {expected:?}");
        assert!(delay <= expected + expected / 4, "{delay:?} too long");
    }

    #[test]
    fn retry_delay_honours_server_hint() {
        let delay = RetryPolicy::default().delay_after(1, Some(Duration::from_secs(120)));
        assert!(delay >= Duration::from_secs(120));
    }

    #[test]
    fn retry_parks_after_max_attempts() {
        let policy = RetryPolicy::default();
        assert!(!policy.exhausted(19));
        assert!(policy.exhausted(20));
    }
}
