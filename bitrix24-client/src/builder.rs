//! [`ClientBuilder`]: the settings of a [`Client`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::client::{Client, Inner};
use crate::error::{Error, Result};
use crate::limiter::{Limiter, OperatingBudget, RateLimit};
use crate::retry::RetryPolicy;
use crate::webhook::WebhookUrl;

/// The `User-Agent` sent by default; Bitrix24's documentation requests a real one from integrations.
const DEFAULT_USER_AGENT: &str = concat!(
    "bitrix24-client/",
    env!("CARGO_PKG_VERSION"),
    " (Rust; +https://crates.io/crates/bitrix24-client)"
);

/// Settings of a [`Client`]; start with [`Client::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use bitrix24_client::{Client, RateLimit};
///
/// let client = Client::builder("https://example.bitrix24.ru/rest/1/secret/")
///     .rate_limit(RateLimit::ENTERPRISE)
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok::<(), bitrix24_client::Error>(())
/// ```
pub struct ClientBuilder {
    webhook_url: SecretString,
    allow_http: bool,
    rate_limit: RateLimit,
    operating: OperatingBudget,
    retry: RetryPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    max_response_bytes: usize,
    max_concurrent_writes: usize,
}

impl ClientBuilder {
    pub(crate) fn new(webhook_url: String) -> Self {
        Self {
            webhook_url: SecretString::from(webhook_url),
            allow_http: false,
            rate_limit: RateLimit::STANDARD,
            operating: OperatingBudget::default(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(65),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            max_response_bytes: 64 * 1024 * 1024,
            max_concurrent_writes: 2,
        }
    }

    /// Accepts an `http://` webhook URL for any host. Default: `false`, so
    /// plain HTTP works only for loopback hosts (`127.0.0.1`, `::1`, `localhost`).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Sets the portal's request-rate limit. Default: [`RateLimit::STANDARD`]
    /// (2 requests per second, burst 50); use [`RateLimit::ENTERPRISE`] on Enterprise plans.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Sets how the per-method operating-time budget is spent. Default:
    /// [`OperatingBudget::default`] (480 s, slow down from 50 %, wait from 90 %,
    /// wait at most 60 s).
    pub fn operating_budget(mut self, budget: OperatingBudget) -> Self {
        self.operating = budget;
        self
    }

    /// Sets the retry policy. Default: [`RetryPolicy::default`] (5 attempts,
    /// backoff from 500 ms to 30 s with full jitter).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the TCP and TLS connect timeout. Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the timeout of one whole request. Default: 65 s, a little over
    /// the 60 s after which Bitrix24 cloud cuts a request off.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `User-Agent` header. Default: `bitrix24-client/VERSION (Rust; +https://crates.io/crates/bitrix24-client)`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets the largest response body read, in bytes. Default: 64 MiB.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sets how many writes may be in flight at once across all clones.
    /// Default: 2. Bursts of writes make the portal fail with HTTP 500.
    pub fn max_concurrent_writes(mut self, writes: usize) -> Self {
        self.max_concurrent_writes = writes;
        self
    }

    /// Validates the settings and creates the client.
    pub fn build(self) -> Result<Client> {
        let webhook = WebhookUrl::parse_with(self.webhook_url.expose_secret(), self.allow_http)?;
        self.check()?;

        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .default_headers(headers)
            .build()
            .map_err(|error| Error::HttpClient(error.without_url()))?;

        let inner = Inner {
            http,
            webhook,
            limiter: Limiter::new(self.rate_limit, self.operating),
            retry: self.retry,
            writes: tokio::sync::Semaphore::new(self.max_concurrent_writes),
            max_response_bytes: self.max_response_bytes,
        };
        Ok(Client::from_inner(Arc::new(inner)))
    }

    fn check(&self) -> Result<()> {
        let invalid = |reason: &str| {
            Err(Error::InvalidConfig {
                reason: reason.to_owned(),
            })
        };
        let rate = self.rate_limit.per_second;
        if !rate.is_finite() || rate <= 0.0 {
            return invalid("rate_limit.per_second must be a positive number");
        }
        if self.rate_limit.burst == 0 {
            return invalid("rate_limit.burst must be at least 1");
        }
        if self.retry.max_attempts == 0 {
            return invalid("retry.max_attempts must be at least 1");
        }
        if self.max_concurrent_writes == 0 {
            return invalid("max_concurrent_writes must be at least 1");
        }
        let budget = &self.operating;
        let shares_ordered = (0.0..=1.0).contains(&budget.slow_down_from)
            && (0.0..=1.0).contains(&budget.pause_from)
            && budget.slow_down_from <= budget.pause_from;
        if !shares_ordered {
            return invalid(
                "operating budget shares must satisfy 0 <= slow_down_from <= pause_from <= 1",
            );
        }
        Ok(())
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("webhook_url", &"[REDACTED]")
            .field("allow_http", &self.allow_http)
            .field("rate_limit", &self.rate_limit)
            .field("operating", &self.operating)
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_concurrent_writes", &self.max_concurrent_writes)
            .finish()
    }
}
