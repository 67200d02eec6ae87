//! Incoming-webhook URLs: `https://PORTAL/rest/USER_ID/SECRET/`.
//!
//! The secret is part of the URL path, so the parsed URL keeps it in a
//! [`SecretString`] and no error, `Debug` output or log line ever shows it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use crate::error::{Error, Result};

/// The expected form, repeated in every parse error.
const EXPECTED_FORM: &str = "expected https://PORTAL/rest/USER_ID/SECRET/";

/// A parsed incoming-webhook URL: the portal, the user the webhook acts as, and its secret.
///
/// ```
/// use bitrix24_client::WebhookUrl;
///
/// let webhook: WebhookUrl = "https://example.bitrix24.ru/rest/1/abc123def456/".parse()?;
/// assert_eq!(webhook.host(), "example.bitrix24.ru");
/// assert_eq!(webhook.user_id(), 1);
/// assert!(!format!("{webhook:?}").contains("abc123def456"));
/// # Ok::<(), bitrix24_client::Error>(())
/// ```
#[derive(Clone)]
pub struct WebhookUrl {
    /// Scheme, host and port, with the path `/`.
    portal: Url,
    user_id: u64,
    secret: SecretString,
}

impl WebhookUrl {
    /// Parses a webhook URL, accepting `http://` only for loopback hosts.
    ///
    /// A trailing slash is optional, and so is a trailing `.json` or a method
    /// segment such as `profile.json` (as in the example the Bitrix24 UI shows).
    /// Query strings, fragments, user names and other paths are rejected.
    pub fn parse(input: &str) -> Result<Self> {
        Self::parse_with(input, false)
    }

    /// Parses a webhook URL, accepting `http://` for any host when `allow_http` is true.
    ///
    /// Bitrix24 cloud rejects webhook calls over plain HTTP; this exists for
    /// on-premise test portals behind a trusted network.
    pub fn parse_with(input: &str, allow_http: bool) -> Result<Self> {
        let input = input.trim();
        if input.is_empty() {
            return Err(invalid(format!("the URL is empty; {EXPECTED_FORM}")));
        }

        let url = Url::parse(input)
            .map_err(|_| invalid(format!("not an absolute URL; {EXPECTED_FORM}")))?;
        let host = check_origin(&url, allow_http)?;
        let (user_id, secret) = split_path(&url)?;

        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let portal = Url::parse(&format!("{}://{}{}/", url.scheme(), host, port))
            .map_err(|_| invalid(format!("the host is not valid; {EXPECTED_FORM}")))?;

        Ok(Self {
            portal,
            user_id,
            secret: SecretString::from(secret),
        })
    }

    /// Returns the portal host, such as `example.bitrix24.ru`.
    pub fn host(&self) -> &str {
        self.portal.host_str().unwrap_or_default()
    }

    /// Returns the id of the employee the webhook acts as.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// Returns the portal's root URL (`https://example.bitrix24.ru/`), which contains no secret.
    pub fn portal_url(&self) -> &Url {
        &self.portal
    }

    /// Builds the URL of one REST method. The result contains the secret: never log it.
    pub(crate) fn method_url(&self, method: &str) -> String {
        format!(
            "{}rest/{}/{}/{}",
            self.portal,
            self.user_id,
            self.secret.expose_secret(),
            method
        )
    }

    /// Returns the secret, for redacting it from text the portal sends back.
    pub(crate) fn secret(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl FromStr for WebhookUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookUrl")
            .field("portal", &self.portal.as_str())
            .field("user_id", &self.user_id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidWebhookUrl { reason }
}

/// Checks scheme, host, credentials, query and fragment; returns the host for the portal URL.
fn check_origin(url: &Url, allow_http: bool) -> Result<String> {
    let host = url
        .host()
        .ok_or_else(|| invalid(format!("the URL has no host; {EXPECTED_FORM}")))?;

    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&host) => {}
        "http" => {
            return Err(invalid(format!(
                "plain http:// is accepted only for loopback hosts, and {host} is not one; use https://"
            )));
        }
        other => {
            return Err(invalid(format!(
                "the scheme {other}:// is not supported; {EXPECTED_FORM}"
            )));
        }
    }

    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "the URL contains a user name or password; the secret belongs in the path".to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "the URL has a query string or fragment; {EXPECTED_FORM}"
        )));
    }
    Ok(host.to_string())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// Splits `/rest/USER_ID/SECRET[/][METHOD.json]` into the user id and the secret.
fn split_path(url: &Url) -> Result<(u64, String)> {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|segments| segments.collect())
        .unwrap_or_default();
    let wrong_path = || {
        invalid(format!(
            "the path is not /rest/USER_ID/SECRET/; {EXPECTED_FORM}"
        ))
    };

    let [rest, user, secret, tail @ ..] = segments.as_slice() else {
        return Err(wrong_path());
    };
    if *rest != "rest" {
        return Err(wrong_path());
    }
    match tail {
        [] | [""] => {}
        [method] if method.ends_with(".json") => {}
        _ => return Err(wrong_path()),
    }

    let user_id = parse_user_id(user)?;
    let secret = secret.strip_suffix(".json").unwrap_or(secret);
    check_secret(secret)?;
    Ok((user_id, secret.to_owned()))
}

fn parse_user_id(segment: &str) -> Result<u64> {
    let valid = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    match segment.parse::<u64>() {
        Ok(id) if valid && id > 0 => Ok(id),
        _ => Err(invalid(format!(
            "the user id after /rest/ must be a positive number; {EXPECTED_FORM}"
        ))),
    }
}

fn check_secret(secret: &str) -> Result<()> {
    if secret.is_empty() {
        return Err(invalid(format!("the secret is missing; {EXPECTED_FORM}")));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !secret.chars().all(allowed) {
        return Err(invalid(
            "the secret may contain only Latin letters, digits, '_' and '-'".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("https://example.bitrix24.ru/rest/1/abc123/")]
    #[case("https://example.bitrix24.ru/rest/1/abc123")]
    #[case("https://example.bitrix24.ru/rest/1/abc123.json")]
    #[case("https://example.bitrix24.ru/rest/1/abc123/profile.json")]
    #[case("  https://example.bitrix24.ru/rest/1/abc123/\n")]
    fn accepts_common_spellings(#[case] input: &str) {
        let webhook = WebhookUrl::parse(input).unwrap();

        assert_eq!(webhook.host(), "example.bitrix24.ru");
        assert_eq!(webhook.user_id(), 1);
        assert_eq!(webhook.secret(), "abc123");
    }

    #[test]
    fn method_url_joins_parts() {
        let webhook = WebhookUrl::parse("https://example.bitrix24.ru:8443/rest/7/k3y").unwrap();

        assert_eq!(
            webhook.method_url("crm.deal.get"),
            "https://example.bitrix24.ru:8443/rest/7/k3y/crm.deal.get"
        );
        assert_eq!(
            webhook.portal_url().as_str(),
            "https://example.bitrix24.ru:8443/"
        );
    }
}
