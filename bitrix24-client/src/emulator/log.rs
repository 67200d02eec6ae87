//! The request log and counters, for assertions in tests.

use std::collections::{BTreeMap, VecDeque};

use jiff::Timestamp;
use serde_json::{Map, Value};

/// One REST call as the portal saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    /// The position of the call in the log, from 1.
    pub seq: u64,
    /// The method name as requested, lower-cased and without `.json`.
    pub method: String,
    /// The parameters; long strings (file contents) are shortened and `auth`-like keys hidden.
    pub params: Value,
    /// The HTTP status of the response (for a command inside `batch`: 200 or the error's status).
    pub status: u16,
    /// The `error` code of a failed call (may be `""` for legacy methods).
    pub error: Option<String>,
    /// When the call arrived.
    pub at: Timestamp,
    /// Whether the call was a command inside `batch`.
    pub in_batch: bool,
    /// The webhook user the call authenticated as.
    pub webhook_user: Option<u64>,
}

/// Totals since start (or the last [`Portal::clear_request_log`](super::Portal::clear_request_log)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// HTTP requests to the REST path, including rejected ones (a batch counts once).
    pub requests: u64,
    /// Requests rejected with 503 `QUERY_LIMIT_EXCEEDED`.
    pub rate_limited: u64,
    /// Calls rejected with 429 `OPERATION_TIME_LIMIT`.
    pub operation_limited: u64,
    /// Requests that got an injected fault or hit an outage.
    pub faults: u64,
    /// Commands executed inside `batch` requests.
    pub batch_commands: u64,
    /// Calls per method, including commands inside `batch`.
    pub by_method: BTreeMap<String, u64>,
}

#[derive(Debug)]
pub(crate) struct RequestLog {
    records: VecDeque<RequestRecord>,
    capacity: usize,
    seq: u64,
    pub(crate) counters: Counters,
}

/// A request log entry before its sequence number is assigned.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) method: &'a str,
    pub(crate) params: &'a Map<String, Value>,
    pub(crate) status: u16,
    pub(crate) error: Option<&'a str>,
    pub(crate) at: Timestamp,
    pub(crate) in_batch: bool,
    pub(crate) webhook_user: Option<u64>,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity,
            seq: 0,
            counters: Counters::default(),
        }
    }

    pub(crate) fn record(&mut self, entry: Entry<'_>) {
        self.seq += 1;
        *self
            .counters
            .by_method
            .entry(entry.method.to_owned())
            .or_default() += 1;
        if entry.in_batch {
            self.counters.batch_commands += 1;
        }
        if self.capacity == 0 {
            return;
        }
        if self.records.len() == self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(RequestRecord {
            seq: self.seq,
            method: entry.method.to_owned(),
            params: redact(&Value::Object(entry.params.clone())),
            status: entry.status,
            error: entry.error.map(str::to_owned),
            at: entry.at,
            in_batch: entry.in_batch,
            webhook_user: entry.webhook_user,
        });
    }

    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        self.records.iter().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.counters = Counters::default();
    }
}

const MAX_LOGGED_CHARS: usize = 256;

/// Shortens long strings (file contents) and hides values under `auth`-like keys.
fn redact(value: &Value) -> Value {
    match value {
        Value::String(text) if text.chars().count() > MAX_LOGGED_CHARS => {
            Value::String(format!("<{} chars>", text.chars().count()))
        }
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let hidden = matches!(
                        key.to_ascii_lowercase().as_str(),
                        "auth" | "access_token" | "refresh_token" | "token" | "application_token"
                    );
                    let value = if hidden {
                        Value::String("<redacted>".to_owned())
                    } else {
                        redact(value)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redact_hides_tokens_and_file_contents() {
        let long = "A".repeat(1000);
        let value =
            redact(&json!({"auth": "secret", "fields": {"UF": {"fileData": ["a.pdf", long]}}}));
        assert_eq!(
            value,
            json!({"auth": "<redacted>", "fields": {"UF": {"fileData": ["a.pdf", "<1000 chars>"]}}})
        );
    }

    #[test]
    fn log_keeps_only_capacity_records() {
        let mut log = RequestLog::new(2);
        let params = Map::new();
        for method in ["a", "b", "c"] {
            log.record(Entry {
                method,
                params: &params,
                status: 200,
                error: None,
                at: Timestamp::now(),
                in_batch: false,
                webhook_user: Some(1),
            });
        }
        let records = log.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].method, "b");
        assert_eq!(records[1].seq, 3);
        assert_eq!(log.counters.by_method.len(), 3);
    }
}
