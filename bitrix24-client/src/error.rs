//! The crate's error type.
//!
//! Errors are classified on the HTTP status *and* the body, because Bitrix24
//! reports the same condition in several ways: a rate limit is HTTP 503 with
//! `QUERY_LIMIT_EXCEEDED`, a legacy `crm.deal.*` "not found" is HTTP 400 with an
//! empty `error` code, and a proxy in front of the portal may respond with HTML.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A refusal reported by the portal: the `error` and `error_description` of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status of the response, or `None` for a command inside a
    /// `batch`, whose HTTP status is 200 whatever its commands did.
    pub status: Option<u16>,
    /// The `error` code, such as `NOT_FOUND`. Legacy `crm.deal.*` and
    /// `crm.invoice.*` methods send an empty code.
    pub code: String,
    /// The `error_description` text. Bitrix24 means it for developers, not end users.
    pub description: String,
}

impl ApiError {
    /// Returns whether the portal reports that the requested object does not exist.
    ///
    /// Recognises the `NOT_FOUND` and `ERROR_NOT_FOUND` codes of `crm.item.*`
    /// and `crm.category.*`, and the empty code with a "Not found" description
    /// that legacy methods send.
    pub fn is_not_found(&self) -> bool {
        match self.code.as_str() {
            "NOT_FOUND" | "ERROR_NOT_FOUND" => true,
            "" => self.description.to_ascii_lowercase().contains("not found"),
            _ => false,
        }
    }

    /// Returns whether the portal failed internally (HTTP 5xx).
    pub fn is_server_error(&self) -> bool {
        self.status.is_some_and(|status| status >= 500)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status} ")?;
        }
        if self.code.is_empty() {
            write!(f, "with an empty error code")?;
        } else {
            write!(f, "{}", self.code)?;
        }
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong when talking to Bitrix24 or reading its events.
///
/// No variant contains the webhook secret: messages name the REST method,
/// never the request URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The incoming-webhook URL is not of the form `https://PORTAL/rest/USER_ID/SECRET/`.
    #[error("invalid webhook URL: {reason}")]
    InvalidWebhookUrl {
        /// The problem, described without the secret.
        reason: String,
    },

    /// A client setting is out of range.
    #[error("invalid client configuration: {reason}")]
    InvalidConfig {
        /// The setting and the reason it is invalid.
        reason: String,
    },

    /// The HTTP client could not be created (for example, the TLS backend failed to load).
    #[error("cannot create the HTTP client")]
    HttpClient(#[source] reqwest::Error),

    /// The request could not be built (bad method name, too many commands, unencodable parameters).
    #[error("invalid request to `{method}`: {message}")]
    InvalidRequest {
        /// The REST method.
        method: String,
        /// The problem with the request.
        message: String,
    },

    /// The portal refused the call.
    #[error("`{method}` failed: Bitrix24 returned {error}")]
    Api {
        /// The REST method.
        method: String,
        /// The portal's error code and description.
        error: ApiError,
    },

    /// The portal's request-rate limit was hit (`QUERY_LIMIT_EXCEEDED`, normally HTTP 503).
    #[error("`{method}` was rate limited by Bitrix24 (QUERY_LIMIT_EXCEEDED); retry later")]
    RateLimited {
        /// The REST method.
        method: String,
        /// The wait the portal requested (`Retry-After`), when present.
        retry_after: Option<Duration>,
    },

    /// The method's server-time budget is used up (`OPERATION_TIME_LIMIT`, HTTP 429).
    #[error("`{method}` is blocked by the Bitrix24 operation time limit (OPERATION_TIME_LIMIT)")]
    OperationTimeLimit {
        /// The REST method.
        method: String,
        /// When the portal unblocks the method (`time.operating_reset_at`), when known.
        reset_at: Option<Timestamp>,
        /// How long to wait before calling the method again, when known.
        retry_after: Option<Duration>,
    },

    /// The webhook was rejected: wrong user id or secret, expired webhook,
    /// missing scope or plan (HTTP 401/403 and the auth error codes).
    #[error(
        "`{method}`: Bitrix24 rejected the webhook ({error}); check the webhook URL, its user and its scopes"
    )]
    Auth {
        /// The REST method.
        method: String,
        /// The portal's error code and description.
        error: ApiError,
    },

    /// The method does not exist on the portal (`ERROR_METHOD_NOT_FOUND`, HTTP 404).
    #[error("`{method}` does not exist on this portal (ERROR_METHOD_NOT_FOUND)")]
    MethodNotFound {
        /// The REST method.
        method: String,
    },

    /// The portal responded with a redirect, which the client never follows.
    #[error(
        "`{method}`: Bitrix24 responded with a redirect (HTTP {status}); check the portal address"
    )]
    Redirect {
        /// The REST method.
        method: String,
        /// The HTTP status (3xx).
        status: u16,
    },

    /// The request timed out (connect or whole-request timeout).
    #[error("`{method}`: the request to Bitrix24 timed out")]
    Timeout {
        /// The REST method.
        method: String,
        /// The HTTP client's error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The request failed below HTTP: DNS, TLS, connection reset.
    #[error("`{method}`: the request to Bitrix24 failed")]
    Transport {
        /// The REST method.
        method: String,
        /// The HTTP client's error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The body is not JSON, for example an HTML page from a proxy.
    #[error(
        "`{method}`: expected JSON from Bitrix24, got HTTP {status} ({content_type}): {excerpt:?}"
    )]
    NotJson {
        /// The REST method.
        method: String,
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header, or `none`.
        content_type: String,
        /// The start of the body, with tags, control characters and the secret removed.
        excerpt: String,
    },

    /// The body is larger than the configured maximum.
    #[error("`{method}`: the Bitrix24 response exceeds {limit} bytes")]
    ResponseTooLarge {
        /// The REST method.
        method: String,
        /// The maximum response size in bytes.
        limit: usize,
    },

    /// The JSON does not have the expected shape.
    #[error("`{method}`: cannot decode the Bitrix24 response at `{path}`")]
    Decode {
        /// The REST method.
        method: String,
        /// The JSON path of the first value that did not fit, such as `result[3].ID`.
        path: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },

    /// A listing ended with fewer rows than the portal announced.
    #[error("`{method}`: incomplete listing: expected {expected} rows, received {received}")]
    IncompleteListing {
        /// The REST method.
        method: String,
        /// The row count announced by `total` or implied by the paging.
        expected: u64,
        /// The rows actually received.
        received: u64,
    },

    /// Pages of a listing repeat rows, go backwards or break their order.
    #[error("`{method}`: inconsistent paging: {detail}")]
    InconsistentPaging {
        /// The REST method.
        method: String,
        /// The inconsistency found.
        detail: String,
    },

    /// A `batch` response has no result and no error for a command that was sent.
    #[error("batch command `{key}` ({method}) has neither a result nor an error")]
    MissingBatchResult {
        /// The command key.
        key: String,
        /// The command's REST method.
        method: String,
    },

    /// A write failed in a way that leaves its outcome unknown (HTTP 5xx,
    /// timeout, dropped connection), so it was not repeated.
    #[error("`{method}`: the outcome is unknown, the write may or may not have been applied")]
    UnknownOutcome {
        /// The REST method.
        method: String,
        /// The failure.
        #[source]
        source: Box<Error>,
    },

    /// The portal accepted a write but reading back shows it was not applied.
    #[error("`{method}`: the write was not applied: {detail}")]
    WriteNotApplied {
        /// The REST method.
        method: String,
        /// The difference the read-back showed.
        detail: String,
    },

    /// A PHP-style query string could not be encoded or decoded.
    #[error("invalid query string: {reason}")]
    InvalidQuery {
        /// The problem found.
        reason: String,
    },

    /// An outgoing-webhook request body is not a Bitrix24 event.
    #[error("invalid Bitrix24 event: {reason}")]
    InvalidEvent {
        /// The problem, described without the application token.
        reason: String,
    },

    /// An event's `application_token` matches none of the accepted tokens.
    #[error("Bitrix24 event rejected: the application token matches no accepted token")]
    UntrustedEvent,

    /// A user-field value does not fit the field's type.
    #[error("user field `{field}`: {reason}")]
    FieldValue {
        /// The field code.
        field: String,
        /// The problem with the value, which may quote it.
        reason: String,
    },
}

impl Error {
    /// Returns whether the portal reports that the requested object does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Api { error, .. } => error.is_not_found(),
            _ => false,
        }
    }

    /// Returns whether repeating the same call later may succeed: rate and
    /// time limits, portal failures (5xx), timeouts and transport errors.
    ///
    /// An [`Error::UnknownOutcome`] is transient too, but repeating it is safe
    /// only when the write is idempotent.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::OperationTimeLimit { .. }
            | Error::Timeout { .. }
            | Error::Transport { .. }
            | Error::UnknownOutcome { .. } => true,
            Error::Api { error, .. } => error.is_server_error(),
            Error::NotJson { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Returns the wait before the next call that the portal requested, when known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::OperationTimeLimit { retry_after, .. } => *retry_after,
            Error::UnknownOutcome { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// Returns the portal's error code and description, when the portal sent them.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api { error, .. } | Error::Auth { error, .. } => Some(error),
            Error::UnknownOutcome { source, .. } => source.api_error(),
            _ => None,
        }
    }

    pub(crate) fn invalid_request(method: &str, message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            method: method.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid_query(reason: impl Into<String>) -> Self {
        Error::InvalidQuery {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn api(status: Option<u16>, code: &str, description: &str) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            description: description.to_owned(),
        }
    }

    #[rstest]
    #[case(api(Some(400), "NOT_FOUND", "Element not found"), true)]
    #[case(api(Some(400), "", "Not found"), true)]
    #[case(api(None, "", "Deal is not found"), true)]
    #[case(api(Some(400), "ERROR_NOT_FOUND", ""), true)]
    #[case(api(Some(400), "", "Access denied."), false)]
    #[case(api(Some(400), "ACCESS_DENIED", "Not found"), false)]
    fn not_found_recognises_both_spellings(#[case] error: ApiError, #[case] expected: bool) {
        assert_eq!(error.is_not_found(), expected);
    }

    #[rstest]
    #[case(
        api(Some(400), "", "Not found"),
        "HTTP 400 with an empty error code: Not found"
    )]
    #[case(api(None, "insufficient_scope", ""), "insufficient_scope")]
    #[case(
        api(Some(500), "INTERNAL_SERVER_ERROR", "Internal server error"),
        "HTTP 500 INTERNAL_SERVER_ERROR: Internal server error"
    )]
    fn api_error_display(#[case] error: ApiError, #[case] expected: &str) {
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn server_errors_are_transient() {
        let error = Error::Api {
            method: "crm.deal.get".into(),
            error: api(Some(500), "INTERNAL_SERVER_ERROR", ""),
        };

        assert!(error.is_transient());
        assert!(!error.is_not_found());
    }

    #[test]
    fn refusals_are_permanent() {
        let error = Error::Api {
            method: "crm.deal.update".into(),
            error: api(Some(400), "", "Parameter 'fields' must be array."),
        };

        assert!(!error.is_transient());
    }
}
