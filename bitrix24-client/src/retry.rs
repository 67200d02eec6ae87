//! The retry policy: which failed calls are repeated, and the wait before each attempt.
//!
//! Reads are repeated after rate limits, portal failures (5xx), timeouts and
//! transport errors. A write is repeated only when the portal certainly did
//! not run it (rate limit, operation-time block, connection never made) or
//! when repeating it is harmless ([`Idempotency::IdempotentWrite`]).
//! Otherwise a failed write is reported as [`Error::UnknownOutcome`]: a 500
//! after a bulk create does not mean nothing was created.

use std::time::Duration;

use rand::Rng;

use crate::error::Error;

/// How many attempts a call gets and how long the client waits between them.
///
/// The wait before attempt `n + 1` is drawn uniformly from zero to
/// `min(max_delay, base_delay * 2^n)` ("full jitter"), and is never shorter
/// than a `Retry-After` the portal sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first; 1 disables retries.
    pub max_attempts: u32,
    /// The backoff before the second attempt, doubled for each further one.
    pub base_delay: Duration,
    /// The cap of the backoff.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Returns a policy that never repeats a call.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Returns the wait before the attempt after `failed_attempts` failures.
    pub(crate) fn backoff(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        let millis = rand::rng().random_range(0..=ceiling.as_millis() as u64);
        Duration::from_millis(millis)
    }
}

impl Default for RetryPolicy {
    /// Five attempts, backoff from 500 ms up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Whether running a call twice has the same effect as running it once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// The call only reads (`*.get`, `*.list`, `*.fields`, ...).
    Read,
    /// The call writes fixed values, so a repeat changes nothing more: for
    /// example `crm.deal.update` setting a field to a given text.
    IdempotentWrite,
    /// Repeating the call may act twice: adding objects, appending files,
    /// sending messages. Unknown methods are treated this way.
    Write,
}

impl Idempotency {
    /// Classifies a method by its name. A last name segment `get`, `list`,
    /// `fields`, `types`, `current`, or one starting with `get` or `list`,
    /// marks a read. Everything else is a [`Idempotency::Write`].
    pub fn of_method(method: &str) -> Self {
        let last = method
            .rsplit('.')
            .next()
            .unwrap_or(method)
            .to_ascii_lowercase();
        let read = matches!(
            last.as_str(),
            "fields" | "types" | "current" | "time" | "profile" | "scope" | "methods"
        ) || last.starts_with("get")
            || last.starts_with("list");
        if read {
            Idempotency::Read
        } else {
            Idempotency::Write
        }
    }

    /// Returns the least safe of two classifications, for a batch of commands.
    pub(crate) fn combine(self, other: Idempotency) -> Idempotency {
        use Idempotency::*;
        match (self, other) {
            (Write, _) | (_, Write) => Write,
            (IdempotentWrite, _) | (_, IdempotentWrite) => IdempotentWrite,
            (Read, Read) => Read,
        }
    }

    fn repeat_is_harmless(self) -> bool {
        matches!(self, Idempotency::Read | Idempotency::IdempotentWrite)
    }
}

/// The decision after a failed attempt.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Try again; the error is kept for the log and for the last attempt.
    Retry(Error),
    /// Give up and return this error.
    Fail(Error),
}

/// Decides whether the failure of one attempt is repeated.
pub(crate) fn judge(error: Error, idempotency: Idempotency) -> Verdict {
    if certainly_not_run(&error) {
        return Verdict::Retry(error);
    }
    if !error.is_transient() {
        return Verdict::Fail(error);
    }
    if idempotency.repeat_is_harmless() {
        return Verdict::Retry(error);
    }
    Verdict::Fail(unknown_outcome(error))
}

/// Wraps a transient failure of a non-idempotent write, whose effect is unknown.
pub(crate) fn unknown_outcome(error: Error) -> Error {
    if !error.is_transient() || certainly_not_run(&error) {
        return error;
    }
    if matches!(error, Error::UnknownOutcome { .. }) {
        return error;
    }
    let method = method_of(&error);
    Error::UnknownOutcome {
        method,
        source: Box::new(error),
    }
}

/// Returns whether the portal certainly did not run the call.
fn certainly_not_run(error: &Error) -> bool {
    match error {
        Error::RateLimited { .. } | Error::OperationTimeLimit { .. } => true,
        Error::Transport { source, .. } | Error::Timeout { source, .. } => source.is_connect(),
        _ => false,
    }
}

fn method_of(error: &Error) -> String {
    match error {
        Error::Api { method, .. }
        | Error::Timeout { method, .. }
        | Error::Transport { method, .. }
        | Error::NotJson { method, .. } => method.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::error::ApiError;

    #[rstest]
    #[case("crm.deal.get", Idempotency::Read)]
    #[case("crm.deal.list", Idempotency::Read)]
    #[case("crm.deal.fields", Idempotency::Read)]
    #[case("crm.deal.userfield.list", Idempotency::Read)]
    #[case("crm.status.entity.types", Idempotency::Read)]
    #[case("crm.controller.item.getFile", Idempotency::Read)]
    #[case("user.current", Idempotency::Read)]
    #[case("crm.deal.update", Idempotency::Write)]
    #[case("crm.lead.add", Idempotency::Write)]
    #[case("crm.item.delete", Idempotency::Write)]
    #[case("im.notify.system.add", Idempotency::Write)]
    fn methods_classified_by_name(#[case] method: &str, #[case] expected: Idempotency) {
        assert_eq!(Idempotency::of_method(method), expected);
    }

    fn server_error() -> Error {
        Error::Api {
            method: "crm.lead.add".into(),
            error: ApiError {
                status: Some(500),
                code: "INTERNAL_SERVER_ERROR".into(),
                description: String::new(),
            },
        }
    }

    #[test]
    fn server_error_on_read_is_retried() {
        assert!(matches!(
            judge(server_error(), Idempotency::Read),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn server_error_on_write_is_unknown_outcome() {
        let verdict = judge(server_error(), Idempotency::Write);

        let Verdict::Fail(Error::UnknownOutcome { method, source }) = verdict else {
            panic!("expected an unknown outcome, got {verdict:?}");
        };
        assert_eq!(method, "crm.lead.add");
        assert!(matches!(*source, Error::Api { .. }));
    }

    #[test]
    fn rate_limit_on_write_is_retried() {
        let error = Error::RateLimited {
            method: "crm.lead.add".into(),
            retry_after: None,
        };

        assert!(matches!(
            judge(error, Idempotency::Write),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn refusal_is_not_retried() {
        let error = Error::Api {
            method: "crm.deal.update".into(),
            error: ApiError {
                status: Some(400),
                code: String::new(),
                description: "Not found".into(),
            },
        };

        assert!(matches!(
            judge(error, Idempotency::Read),
            Verdict::Fail(Error::Api { .. })
        ));
    }

    #[test]
    fn backoff_stays_under_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
        };

        for failed in 1..10 {
            let ceiling = Duration::from_millis(100 * (1 << (failed - 1))).min(policy.max_delay);
            assert!(policy.backoff(failed) <= ceiling);
        }
    }
}
