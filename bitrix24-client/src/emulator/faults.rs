//! Injected failures: single bad responses and whole outages.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The maximum time a [`Fault::Hang`] keeps a request.
pub const MAX_HANG: Duration = Duration::from_secs(300);

/// A failure for one REST request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 500 with `{"error":"ERROR_CORE",...}`; the method does not run.
    ServerError,
    /// The method runs (a write is applied), then the response is HTTP 500 `ERROR_CORE`.
    ServerErrorAfterExecution,
    /// An nginx-style HTML 502 page; the method does not run.
    BadGateway,
    /// The request is held this long (at most [`MAX_HANG`]) and then served normally.
    Hang(Duration),
}

/// How the portal is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outage {
    /// Every REST request gets an HTML 503 page.
    ServiceUnavailable,
    /// The listening socket is closed: connections are refused.
    Refused,
}

#[derive(Debug)]
struct FaultRule {
    fault: Fault,
    remaining: u32,
    method: Option<String>,
}

/// The outage in force, if any, and when it ends by itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OutageState {
    pub(crate) outage: Option<Outage>,
    pub(crate) until: Option<Instant>,
}

impl OutageState {
    /// Returns the outage still in force at `now`.
    pub(crate) fn active(&self, now: Instant) -> Option<Outage> {
        match self.until {
            Some(until) if now >= until => None,
            _ => self.outage,
        }
    }
}

/// Queued single-request faults, consumed in order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: VecDeque<FaultRule>,
}

impl Faults {
    pub(crate) fn push(&mut self, fault: Fault, count: u32, method: Option<String>) {
        if count > 0 {
            self.rules.push_back(FaultRule {
                fault,
                remaining: count,
                method: method.map(|m| m.to_ascii_lowercase()),
            });
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Takes the fault for a request to `method`, if one is queued for it.
    pub(crate) fn take(&mut self, method: &str) -> Option<Fault> {
        let method = method.to_ascii_lowercase();
        let index = self
            .rules
            .iter()
            .position(|rule| rule.method.as_deref().is_none_or(|m| m == method))?;
        let rule = &mut self.rules[index];
        let fault = rule.fault;
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

/// The page nginx shows for 502.
pub(crate) const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The page nginx shows for 503.
pub(crate) const UNAVAILABLE_HTML: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_and_by_method() {
        let mut faults = Faults::default();
        faults.push(Fault::BadGateway, 1, Some("crm.deal.update".to_owned()));
        faults.push(Fault::ServerError, 2, None);
        assert_eq!(faults.take("crm.deal.get"), Some(Fault::ServerError));
        assert_eq!(faults.take("CRM.DEAL.UPDATE"), Some(Fault::BadGateway));
        assert_eq!(faults.take("crm.deal.update"), Some(Fault::ServerError));
        assert_eq!(faults.take("crm.deal.update"), None);
    }

    #[test]
    fn timed_outage_ends_by_itself() {
        let now = Instant::now();
        let state = OutageState {
            outage: Some(Outage::ServiceUnavailable),
            until: Some(now + Duration::from_secs(5)),
        };
        assert_eq!(state.active(now), Some(Outage::ServiceUnavailable));
        assert_eq!(state.active(now + Duration::from_secs(6)), None);
    }
}
