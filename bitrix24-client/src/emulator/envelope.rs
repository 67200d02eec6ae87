//! Response envelopes: the success shape with `time`, and the error shapes
//! with the HTTP statuses the real portal uses.

use std::time::Instant;

use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::tz::Offset;
use serde_json::{Map, Value, json};

use super::clock;

/// An error response of the REST API.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) description: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            description: description.into(),
        }
    }

    /// An error of a legacy `crm.deal.*`/`crm.invoice.*` method: HTTP 400 with an empty code.
    pub(crate) fn legacy(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "", description)
    }

    /// `crm.item.*` for an unknown item: HTTP 400 `NOT_FOUND`.
    pub(crate) fn item_not_found() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "NOT_FOUND", "Element not found")
    }

    /// An unknown or unsupported entity type in `crm.item.*` or `crm.category.*`.
    pub(crate) fn type_not_found() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NOT_FOUND",
            "Smart process not found",
        )
    }

    pub(crate) fn method_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ERROR_METHOD_NOT_FOUND",
            "Method not found!",
        )
    }

    pub(crate) fn insufficient_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The request requires higher privileges than provided by the webhook token",
        )
    }

    /// A wrong webhook user id or secret; the server code returns 401.
    pub(crate) fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
            "Invalid request credentials",
        )
    }

    pub(crate) fn no_auth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "NO_AUTH_FOUND",
            "Wrong authorization data",
        )
    }

    pub(crate) fn query_limit() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "QUERY_LIMIT_EXCEEDED",
            "Too many requests",
        )
    }

    pub(crate) fn operation_time_limit() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        )
    }

    pub(crate) fn core_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERROR_CORE",
            "SQL query error!",
        )
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", description)
    }

    pub(crate) fn body(&self) -> Value {
        json!({"error": self.code, "error_description": self.description})
    }
}

/// The payload of a successful call before the envelope is added.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Success {
    pub(crate) result: Value,
    pub(crate) total: Option<u64>,
    pub(crate) next: Option<u64>,
}

impl Success {
    pub(crate) fn plain(result: Value) -> Self {
        Self {
            result,
            total: None,
            next: None,
        }
    }

    /// Adds the envelope: `result`, then `next` and `total` when set, then `time`.
    pub(crate) fn into_body(self, time: Value) -> Value {
        let mut body = Map::new();
        body.insert("result".to_owned(), self.result);
        if let Some(next) = self.next {
            body.insert("next".to_owned(), json!(next));
        }
        if let Some(total) = self.total {
            body.insert("total".to_owned(), json!(total));
        }
        body.insert("time".to_owned(), time);
        Value::Object(body)
    }
}

/// The start of one call, for the `time` object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    started_at: Timestamp,
    started: Instant,
}

/// The operation-time figures of the called method.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Operating {
    pub(crate) seconds: f64,
    pub(crate) reset_at: Option<i64>,
}

impl Timing {
    pub(crate) fn start() -> Self {
        Self {
            started_at: Timestamp::now(),
            started: Instant::now(),
        }
    }

    pub(crate) fn elapsed_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Renders the `time` object; `operating` is `None` inside `batch.result_time`, which has no such keys.
    pub(crate) fn render(&self, offset: Offset, operating: Option<Operating>) -> Value {
        let elapsed = self.started.elapsed();
        let finished_at = self
            .started_at
            .checked_add(elapsed)
            .unwrap_or(self.started_at);
        let start = self.started_at.as_microsecond() as f64 / 1e6;
        let finish = finished_at.as_microsecond() as f64 / 1e6;

        let mut time = Map::new();
        time.insert("start".to_owned(), json!(start));
        time.insert("finish".to_owned(), json!(finish));
        time.insert("duration".to_owned(), json!(elapsed.as_secs_f64()));
        time.insert("processing".to_owned(), json!(elapsed.as_secs_f64()));
        time.insert(
            "date_start".to_owned(),
            json!(clock::datetime(self.started_at, offset)),
        );
        time.insert(
            "date_finish".to_owned(),
            json!(clock::datetime(finished_at, offset)),
        );
        if let Some(operating) = operating {
            if let Some(reset_at) = operating.reset_at {
                time.insert("operating_reset_at".to_owned(), json!(reset_at));
            }
            time.insert("operating".to_owned(), json!(operating.seconds));
        }
        Value::Object(time)
    }
}
