//! Turning an HTTP response into an envelope or a classified error.
//!
//! Classification looks at the status *and* the body: Bitrix24 sends
//! `QUERY_LIMIT_EXCEEDED` with HTTP 503, some mocks and proxies send it with
//! 200, legacy methods send HTTP 400 with an empty `error`, and proxies send
//! HTML error pages.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use crate::envelope::{Envelope, ResponseTime};
use crate::error::{ApiError, Error, Result};

/// Maximum length of a non-JSON body excerpt kept in an error, in characters.
const EXCERPT_CHARS: usize = 200;

/// The parts of an HTTP response the classifier needs.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Interprets one HTTP response of `method`. `secret` is removed from any
/// text the portal sends back before it goes into an error.
pub(crate) fn interpret(method: &str, raw: RawResponse, secret: &str) -> Result<Envelope<Value>> {
    if (300..400).contains(&raw.status) {
        return Err(Error::Redirect {
            method: method.to_owned(),
            status: raw.status,
        });
    }

    let Ok(json) = serde_json::from_slice::<Value>(&raw.body) else {
        return Err(not_json(method, &raw, secret));
    };

    if let Some(api) = api_error_in(&json, Some(raw.status), secret) {
        let time = json
            .get("time")
            .and_then(|time| serde_json::from_value::<ResponseTime>(time.clone()).ok());
        let reset_at = time.as_ref().and_then(ResponseTime::operating_reset_at);
        return Err(classify(method, api, raw.retry_after, reset_at));
    }

    if !(200..300).contains(&raw.status) {
        let api = ApiError {
            status: Some(raw.status),
            code: String::new(),
            description: "the response has no `error` field".to_owned(),
        };
        return Err(classify(method, api, raw.retry_after, None));
    }

    Envelope::from_body(method, json)
}

/// Reads `error` and `error_description` from a body, if it is an error body.
pub(crate) fn api_error_in(json: &Value, status: Option<u16>, secret: &str) -> Option<ApiError> {
    let map = json.as_object()?;
    let code = map.get("error")?;
    let code = match code {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let description = map
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();

    Some(ApiError {
        status,
        code: redact(&code, secret),
        description: redact(description, secret),
    })
}

/// Maps a portal refusal to the error variant a caller can act on.
pub(crate) fn classify(
    method: &str,
    api: ApiError,
    retry_after: Option<Duration>,
    reset_at: Option<Timestamp>,
) -> Error {
    let method = method.to_owned();
    let status = api.status.unwrap_or(200);

    match api.code.as_str() {
        "QUERY_LIMIT_EXCEEDED" => {
            return Error::RateLimited {
                method,
                retry_after,
            };
        }
        "OPERATION_TIME_LIMIT" => {
            let retry_after = reset_at.and_then(until).or(retry_after);
            return Error::OperationTimeLimit {
                method,
                reset_at,
                retry_after,
            };
        }
        "ERROR_METHOD_NOT_FOUND" => return Error::MethodNotFound { method },
        _ => {}
    }

    if is_auth_code(&api.code) || status == 401 || status == 403 {
        return Error::Auth { method, error: api };
    }
    if status == 429 {
        return Error::OperationTimeLimit {
            method,
            reset_at,
            retry_after: reset_at.and_then(until).or(retry_after),
        };
    }
    Error::Api { method, error: api }
}

/// Error codes that mean the webhook itself is not accepted.
fn is_auth_code(code: &str) -> bool {
    matches!(
        code,
        "NO_AUTH_FOUND"
            | "INVALID_CREDENTIALS"
            | "insufficient_scope"
            | "expired_token"
            | "invalid_token"
            | "authorization_error"
            | "PORTAL_DELETED"
    )
}

/// Returns the time from now until `instant`, or `None` when it has passed.
fn until(instant: Timestamp) -> Option<Duration> {
    let seconds = instant.as_second() - Timestamp::now().as_second();
    (seconds > 0).then(|| Duration::from_secs(seconds.unsigned_abs()))
}

fn not_json(method: &str, raw: &RawResponse, secret: &str) -> Error {
    Error::NotJson {
        method: method.to_owned(),
        status: raw.status,
        content_type: raw
            .content_type
            .clone()
            .unwrap_or_else(|| "none".to_owned()),
        excerpt: excerpt(&raw.body, secret),
    }
}

/// Makes a short, single-line, tag-free excerpt of a body without the secret.
pub(crate) fn excerpt(body: &[u8], secret: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let redacted = redact(&text, secret);

    let mut plain = String::new();
    let mut in_tag = false;
    for c in redacted.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            c if c.is_control() || c.is_whitespace() => plain.push(' '),
            c => plain.push(c),
        }
    }

    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = collapsed.chars().take(EXCERPT_CHARS).collect();
    if collapsed.chars().count() > EXCERPT_CHARS {
        cut.push('…');
    }
    cut
}

/// Replaces every occurrence of the secret with `[REDACTED]`.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    text.replace(secret, "[REDACTED]")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn response(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            content_type: Some("application/json".to_owned()),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[rstest]
    #[case(
        503,
        r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#
    )]
    #[case(
        200,
        r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#
    )]
    fn rate_limit_recognised_by_code(#[case] status: u16, #[case] body: &str) {
        let error = interpret("crm.deal.list", response(status, body), "hookkey").unwrap_err();

        assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    }

    #[rstest]
    #[case(401, "NO_AUTH_FOUND")]
    #[case(401, "INVALID_CREDENTIALS")]
    #[case(403, "INVALID_CREDENTIALS")]
    #[case(403, "insufficient_scope")]
    #[case(403, "ACCESS_DENIED")]
    #[case(401, "expired_token")]
    #[case(401, "invalid_token")]
    fn auth_failures_are_auth(#[case] status: u16, #[case] code: &str) {
        let body = json!({"error": code, "error_description": "x"}).to_string();

        let error = interpret("crm.deal.get", response(status, &body), "hookkey").unwrap_err();

        assert!(matches!(error, Error::Auth { .. }), "{error:?}");
    }

    #[test]
    fn access_denied_inside_a_method_is_a_refusal() {
        let body = r#"{"error":"","error_description":"Access denied."}"#;

        let error = interpret("crm.deal.get", response(400, body), "hookkey").unwrap_err();

        assert!(matches!(error, Error::Api { .. }), "{error:?}");
    }

    #[test]
    fn html_is_not_json_with_clean_excerpt() {
        let raw = RawResponse {
            status: 502,
            content_type: Some("text/html".to_owned()),
            retry_after: None,
            body: b"<html><head><title>502 Bad Gateway</title></head>\n<body>upstream /rest/1/hookkey/ failed</body></html>".to_vec(),
        };

        let error = interpret("crm.deal.get", raw, "hookkey").unwrap_err();

        let Error::NotJson {
            status, excerpt, ..
        } = &error
        else {
            panic!("expected NotJson, got {error:?}");
        };
        assert_eq!(*status, 502);
        assert_eq!(
            excerpt,
            "502 Bad Gateway upstream /rest/1/[REDACTED]/ failed"
        );
        assert!(error.is_transient());
    }

    #[test]
    fn long_excerpt_is_cut() {
        let body = "x".repeat(1000);

        let text = excerpt(body.as_bytes(), "k");

        assert_eq!(text.chars().count(), EXCERPT_CHARS + 1);
    }
}
