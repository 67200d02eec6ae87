//! The `[bitrix24]` section: how to reach the portal and how to recognise its events.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{check, de};
use crate::error::Result;
use crate::view::HttpUrl;

/// Access to the firm's Bitrix24 portal. Its `Debug` never shows the secrets.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bitrix24Config {
    /// The incoming-webhook URL (`https://PORTAL/rest/USER_ID/SECRET/`). It
    /// contains the secret, so it is held as a secret; `None` until the file
    /// or the `LK_B24_WEBHOOK_URL` variable sets it.
    #[serde(deserialize_with = "de::optional_secret")]
    pub webhook_url: Option<SecretString>,
    /// The application tokens of the outgoing webhooks: an event is accepted
    /// when its `auth[application_token]` equals one of them.
    #[serde(deserialize_with = "de::secret_list")]
    pub application_tokens: Vec<SecretString>,
    /// How many requests per second the portal's leaky bucket drains (2, or 5 on Enterprise).
    pub requests_per_second: u32,
    /// The bucket size: how many requests fit before the portal returns 503 (50, or 250 on Enterprise).
    pub burst: u32,
    /// The timeout of one request, in seconds.
    pub timeout_seconds: u64,
    /// When not empty, events must carry this `auth[domain]`, such as `example.bitrix24.ru`.
    pub portal_domain: String,
}

impl Default for Bitrix24Config {
    fn default() -> Self {
        Self {
            webhook_url: None,
            application_tokens: Vec::new(),
            requests_per_second: 2,
            burst: 50,
            timeout_seconds: 30,
            portal_domain: String::new(),
        }
    }
}

impl Bitrix24Config {
    /// Returns the webhook URL, or a configuration error naming where to set it.
    pub fn require_webhook_url(&self) -> Result<&SecretString> {
        self.webhook_url.as_ref().ok_or_else(|| {
            check::invalid(
                "bitrix24.webhook_url",
                "the incoming-webhook URL of the portal, set in the file or in LK_B24_WEBHOOK_URL",
            )
        })
    }

    /// Returns the application tokens, or a configuration error when there are none.
    pub fn require_application_tokens(&self) -> Result<&[SecretString]> {
        if self.application_tokens.is_empty() {
            return Err(check::invalid(
                "bitrix24.application_tokens",
                "at least one outgoing-webhook application token, \
                 set in the file or in LK_B24_APPLICATION_TOKENS",
            ));
        }
        Ok(&self.application_tokens)
    }

    /// Returns the timeout of one request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    /// Returns the domain events must come from, when one is configured.
    pub fn portal_domain(&self) -> Option<&str> {
        let domain = self.portal_domain.trim();
        (!domain.is_empty()).then_some(domain)
    }

    pub(super) fn validate(&self) -> Result<()> {
        if let Some(url) = &self.webhook_url {
            validate_webhook_url("bitrix24.webhook_url", url)?;
        }
        for (index, token) in self.application_tokens.iter().enumerate() {
            check::not_blank(
                &format!("bitrix24.application_tokens[{index}]"),
                token.expose_secret(),
                "an application token",
            )?;
        }
        check::range(
            "bitrix24.requests_per_second",
            self.requests_per_second,
            1,
            50,
        )?;
        check::range("bitrix24.burst", self.burst, 1, 10_000)?;
        check::range("bitrix24.timeout_seconds", self.timeout_seconds, 1, 600)?;
        if let Some(domain) = self.portal_domain() {
            validate_domain(domain)?;
        }
        Ok(())
    }
}

/// Checks the webhook URL without ever putting it into the error, because it contains the secret.
pub(super) fn validate_webhook_url(key: &str, url: &SecretString) -> Result<()> {
    if HttpUrl::parse(url.expose_secret()).is_none() {
        return Err(check::invalid(
            key,
            "an http(s) URL such as https://portal.bitrix24.ru/rest/1/SECRET/ \
             (the value is secret and not shown)",
        ));
    }
    Ok(())
}

fn validate_domain(domain: &str) -> Result<()> {
    let valid = domain
        .split('.')
        .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if !valid {
        return Err(check::invalid(
            "bitrix24.portal_domain",
            format!(
                "a portal domain such as example.bitrix24.ru, without scheme or path, \
                 or an empty string, found {domain:?}"
            ),
        ));
    }
    Ok(())
}

impl fmt::Debug for Bitrix24Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let webhook_url = self.webhook_url.as_ref().map(|_| "[redacted]");
        f.debug_struct("Bitrix24Config")
            .field("webhook_url", &webhook_url)
            .field(
                "application_tokens",
                &format_args!("[{} redacted]", self.application_tokens.len()),
            )
            .field("requests_per_second", &self.requests_per_second)
            .field("burst", &self.burst)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("portal_domain", &self.portal_domain)
            .finish()
    }
}

/// Compares the exposed secrets too; used to check that a file loads back to
/// the defaults. It is not constant-time and must not verify tokens.
impl PartialEq for Bitrix24Config {
    fn eq(&self, other: &Self) -> bool {
        let url = |config: &Self| {
            config
                .webhook_url
                .as_ref()
                .map(|url| url.expose_secret().to_owned())
        };
        let tokens = |config: &Self| {
            config
                .application_tokens
                .iter()
                .map(|token| token.expose_secret().to_owned())
                .collect::<Vec<_>>()
        };

        url(self) == url(other)
            && tokens(self) == tokens(other)
            && self.requests_per_second == other.requests_per_second
            && self.burst == other.burst
            && self.timeout_seconds == other.timeout_seconds
            && self.portal_domain == other.portal_domain
    }
}
