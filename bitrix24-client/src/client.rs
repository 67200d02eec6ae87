//! [`Client`]: sends REST calls through the limiter, with retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::builder::ClientBuilder;
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::limiter::{Gate, Limiter, RateLimit};
use crate::response::{self, RawResponse};
use crate::retry::{self, Idempotency, RetryPolicy};
use crate::webhook::WebhookUrl;

/// A Bitrix24 REST client bound to one incoming webhook.
///
/// Cloning is cheap, and clones share the connection pool, the rate limiter
/// and the operating-time model, so one client per portal and process keeps
/// every task under the portal's limits.
///
/// ```no_run
/// # async fn run() -> bitrix24_client::Result<()> {
/// use bitrix24_client::Client;
/// use serde_json::json;
///
/// let client = Client::new("https://example.bitrix24.ru/rest/1/secret/")?;
/// let profile: serde_json::Value = client.call("profile", &json!({})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The state shared by a client and its clones.
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) webhook: WebhookUrl,
    pub(crate) limiter: Limiter,
    pub(crate) retry: RetryPolicy,
    pub(crate) writes: Semaphore,
    pub(crate) max_response_bytes: usize,
}

impl Client {
    /// Creates a client with the default settings from an incoming-webhook URL.
    pub fn new(webhook_url: &str) -> Result<Self> {
        Self::builder(webhook_url).build()
    }

    /// Starts a [`ClientBuilder`] for an incoming-webhook URL.
    pub fn builder(webhook_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(webhook_url.into())
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// Returns the parsed webhook URL (its `Debug` hides the secret).
    pub fn webhook(&self) -> &WebhookUrl {
        &self.inner.webhook
    }

    /// Returns the configured request-rate limit.
    pub fn rate_limit(&self) -> RateLimit {
        self.inner.limiter.rate()
    }

    /// Calls any REST method and decodes its `result` into `T`.
    ///
    /// The call is classified by [`Idempotency::of_method`], which decides
    /// what is retried. `T` may be [`serde_json::Value`].
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use serde_json::{json, Value};
    ///
    /// let types: Value = client.call("crm.status.entity.types", &json!({})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &impl Serialize,
    ) -> Result<T> {
        Ok(self.call_envelope(method, params).await?.result)
    }

    /// Calls any REST method and returns the whole envelope (`result`, `next`, `total`, `time`).
    pub async fn call_envelope<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &impl Serialize,
    ) -> Result<Envelope<T>> {
        self.call_with(method, params, Idempotency::of_method(method))
            .await
    }

    /// Calls any REST method with an explicit idempotency, for example to
    /// allow retries of an update that sets fixed values.
    pub async fn call_with<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &impl Serialize,
        idempotency: Idempotency,
    ) -> Result<Envelope<T>> {
        let body = json_body(method, params)?;
        let envelope = self.execute(method, body, idempotency, &[method]).await?;
        envelope.decode(method)
    }

    /// Sends one call with limits and retries. `gated` lists the methods
    /// whose operating-time budget the call spends (the commands of a batch).
    pub(crate) async fn execute(
        &self,
        method: &str,
        body: Vec<u8>,
        idempotency: Idempotency,
        gated: &[&str],
    ) -> Result<Envelope<Value>> {
        check_method_name(method)?;
        let mut failures = 0;

        loop {
            self.pass_gates(method, gated).await?;
            let outcome = self.send_limited(method, &body, idempotency).await;

            let error = match outcome {
                Ok(envelope) => {
                    if let Some(time) = &envelope.time {
                        self.inner.limiter.record(method, time);
                    }
                    return Ok(envelope);
                }
                Err(error) => error,
            };

            failures += 1;
            self.note_failure(method, &error);
            let error = match retry::judge(error, idempotency) {
                retry::Verdict::Fail(error) => return Err(error),
                retry::Verdict::Retry(error) => error,
            };
            if failures >= self.inner.retry.max_attempts {
                tracing::warn!(method, attempts = failures, error = %error, "giving up on Bitrix24 call");
                return Err(give_up(error, idempotency));
            }

            let delay = self.retry_delay(&error, failures);
            tracing::warn!(
                method,
                attempt = failures,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "retrying Bitrix24 call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits while the operating-time model slows or blocks these methods.
    async fn pass_gates(&self, method: &str, gated: &[&str]) -> Result<()> {
        for name in gated {
            match self.inner.limiter.gate(name) {
                Gate::Go => {}
                Gate::Wait(wait) => {
                    tracing::debug!(
                        method = name,
                        wait_ms = wait.as_millis() as u64,
                        "slowing down for the operating time limit"
                    );
                    tokio::time::sleep(wait).await;
                }
                Gate::Blocked {
                    retry_after,
                    reset_at,
                } => {
                    tracing::warn!(
                        method = name,
                        retry_after_s = retry_after.as_secs(),
                        "method blocked by the operating time limit"
                    );
                    return Err(Error::OperationTimeLimit {
                        method: if gated.len() > 1 {
                            format!("{method} ({name})")
                        } else {
                            method.to_owned()
                        },
                        reset_at,
                        retry_after: Some(retry_after),
                    });
                }
            }
        }
        Ok(())
    }

    /// Sends once after taking a write slot (for writes) and a bucket slot.
    async fn send_limited(
        &self,
        method: &str,
        body: &[u8],
        idempotency: Idempotency,
    ) -> Result<Envelope<Value>> {
        let _permit = match idempotency {
            Idempotency::Read => None,
            _ => self.inner.writes.acquire().await.ok(),
        };
        self.inner.limiter.acquire().await;

        tracing::debug!(method, "calling Bitrix24");
        self.send_once(method, body).await
    }

    async fn send_once(&self, method: &str, body: &[u8]) -> Result<Envelope<Value>> {
        let url = self.inner.webhook.method_url(method);
        let response = self
            .inner
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| transport_error(method, error))?;

        let status = response.status().as_u16();
        let content_type = header_text(&response, CONTENT_TYPE);
        let retry_after = header_text(&response, RETRY_AFTER)
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = self.read_body(method, response).await?;

        let raw = RawResponse {
            status,
            content_type,
            retry_after,
            body,
        };
        response::interpret(method, raw, self.inner.webhook.secret())
    }

    async fn read_body(&self, method: &str, mut response: reqwest::Response) -> Result<Vec<u8>> {
        let limit = self.inner.max_response_bytes;
        // A batch of 50 list pages is several megabytes. Growing the buffer by
        // doubling would copy it a few times and briefly hold twice its size.
        let announced = response.content_length().unwrap_or(0);
        let capacity = usize::try_from(announced).unwrap_or(limit).min(limit);
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport_error(method, error))?
        {
            if body.len() + chunk.len() > limit {
                return Err(Error::ResponseTooLarge {
                    method: method.to_owned(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Feeds a failure into the limiter: a rate limit fills the bucket, an
    /// operation-time limit blocks the method until its reset.
    fn note_failure(&self, method: &str, error: &Error) {
        match error {
            Error::RateLimited { .. } => self.inner.limiter.penalize(),
            Error::OperationTimeLimit { reset_at, .. } => {
                let blocked_for = self.inner.limiter.block(method, *reset_at);
                tracing::warn!(
                    method,
                    blocked_s = blocked_for.as_secs(),
                    "method hit the operating time limit"
                );
            }
            _ => {}
        }
    }

    fn retry_delay(&self, error: &Error, failures: u32) -> Duration {
        match error {
            // The gate at the top of the loop waits for the reset.
            Error::OperationTimeLimit { .. } => Duration::ZERO,
            _ => {
                let backoff = self.inner.retry.backoff(failures);
                backoff.max(error.retry_after().unwrap_or_default())
            }
        }
    }

    pub(crate) fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("webhook", &self.inner.webhook)
            .field("rate_limit", &self.inner.limiter.rate())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Serializes parameters into a JSON object body; `()` and `null` become `{}`.
pub(crate) fn json_body(method: &str, params: &impl Serialize) -> Result<Vec<u8>> {
    let value = serde_json::to_value(params).map_err(|error| {
        Error::invalid_request(method, format!("cannot serialize parameters: {error}"))
    })?;
    match value {
        Value::Null => Ok(b"{}".to_vec()),
        Value::Object(_) => serde_json::to_vec(&value)
            .map_err(|error| Error::invalid_request(method, error.to_string())),
        _ => Err(Error::invalid_request(
            method,
            "parameters must serialize to a JSON object",
        )),
    }
}

/// Accepts method names of letters, digits, dots and underscores only, so a
/// name can never change the path of the request URL.
pub(crate) fn check_method_name(method: &str) -> Result<()> {
    let valid = !method.is_empty()
        && method.len() <= 200
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_request(
            method,
            "a method name may contain only Latin letters, digits, '.' and '_'",
        ))
    }
}

fn header_text(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn transport_error(method: &str, error: reqwest::Error) -> Error {
    let error = error.without_url();
    let method = method.to_owned();
    if error.is_timeout() {
        Error::Timeout {
            method,
            source: error,
        }
    } else {
        Error::Transport {
            method,
            source: error,
        }
    }
}

/// Returns the error of the last attempt, marking a write whose outcome is unknown.
fn give_up(error: Error, idempotency: Idempotency) -> Error {
    match idempotency {
        Idempotency::Write => retry::unknown_outcome(error),
        _ => error,
    }
}
