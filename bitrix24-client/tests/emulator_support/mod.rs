//! Helpers shared by the emulator's integration tests: starting the
//! emulator, calling it with plain reqwest, comparing JSON shapes with the
//! fixtures, and a small receiver for outgoing-webhook events.

#![allow(dead_code)]

use std::path::PathBuf;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, RateLimit, Seed};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(name)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Returns the first line of a `.txt` fixture that is not a `#` comment.
pub fn fixture_line(name: &str) -> String {
    let text = std::fs::read_to_string(fixture_path(name)).expect("fixture exists");
    text.lines()
        .find(|line| !line.starts_with('#') && !line.trim().is_empty())
        .expect("fixture has a body line")
        .to_owned()
}

/// Starts an emulator without the rate limit, so tests can call it freely.
pub async fn start(seed: Seed) -> Emulator {
    start_with(
        EmulatorOptions::default()
            .seed(seed)
            .rate_limit(RateLimit::Off),
    )
    .await
}

pub async fn start_with(options: EmulatorOptions) -> Emulator {
    Emulator::start(options).await.expect("emulator starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client builds")
}

/// POSTs a JSON body to a method of the emulator's webhook.
pub async fn call(emulator: &Emulator, method: &str, body: Value) -> (u16, Value) {
    let url = format!("{}{method}", emulator.webhook_url());
    let response = http()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request is sent");
    decode(response).await
}

/// POSTs a JSON body given as text, so the key order is exactly as written.
pub async fn call_raw(emulator: &Emulator, method: &str, body: &str) -> (u16, Value) {
    let url = format!("{}{method}", emulator.webhook_url());
    let response = http()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request is sent");
    decode(response).await
}

/// POSTs an `application/x-www-form-urlencoded` body.
pub async fn call_form(emulator: &Emulator, method: &str, body: &str) -> (u16, Value) {
    let url = format!("{}{method}", emulator.webhook_url());
    let response = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("request is sent");
    decode(response).await
}

/// GETs a method with a query string.
pub async fn call_get(emulator: &Emulator, method_and_query: &str) -> (u16, Value) {
    let url = format!("{}{method_and_query}", emulator.webhook_url());
    let response = http().get(url).send().await.expect("request is sent");
    decode(response).await
}

pub async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body is read");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Asserts `actual` has exactly the keys of `expected` at every level, with the same JSON types.
///
/// `null` on either side matches any type, because which fields are filled
/// differs between the documented example and the emulator's data. Array
/// elements are compared with the fixture's element at the same position or
/// its last one.
pub fn assert_same_shape(actual: &Value, expected: &Value) {
    shape(actual, expected, "$", true);
}

/// Like [`assert_same_shape`], but `actual` may have keys the fixture lacks.
pub fn assert_shape_includes(actual: &Value, expected: &Value) {
    shape(actual, expected, "$", false);
}

fn shape(actual: &Value, expected: &Value, path: &str, exact: bool) {
    match (actual, expected) {
        (_, Value::Null) | (Value::Null, _) => {}
        (Value::Object(a), Value::Object(e)) => {
            for key in e.keys() {
                assert!(
                    a.contains_key(key),
                    "{path}: key {key:?} is missing; got keys {:?}",
                    a.keys().collect::<Vec<_>>()
                );
            }
            if exact {
                for key in a.keys() {
                    assert!(
                        e.contains_key(key),
                        "{path}: unexpected key {key:?}; fixture keys {:?}",
                        e.keys().collect::<Vec<_>>()
                    );
                }
            }
            for (key, value) in e {
                if let Some(actual_value) = a.get(key) {
                    shape(actual_value, value, &format!("{path}.{key}"), exact);
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if let Some(last) = e.last() {
                for (index, item) in a.iter().enumerate() {
                    let model = e.get(index).unwrap_or(last);
                    shape(item, model, &format!("{path}[{index}]"), exact);
                }
            }
        }
        (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_)) => {}
        _ => panic!("{path}: type differs: emulator {actual} vs fixture {expected}"),
    }
}

/// One POST received by [`Receiver`].
#[derive(Debug, Clone)]
pub struct Received {
    pub content_type: String,
    pub body: String,
}

/// A small HTTP server on a loopback port that records every POST.
pub struct Receiver {
    pub url: String,
    pub received: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, received) = mpsc::unbounded_channel();
        let app = Router::new().route(
            "/events",
            post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                async move {
                    let content_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let _ = tx.send(Received {
                        content_type,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    "ok"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver binds");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/events"),
            received,
        }
    }

    /// Returns everything received so far (call after `wait_for_deliveries`).
    pub fn drain(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(item) = self.received.try_recv() {
            out.push(item);
        }
        out
    }
}

/// Splits a form body into raw (still encoded) key/value pairs.
pub fn raw_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// Returns the decoded value of a raw form pair.
pub fn form_value(body: &str, raw_key: &str) -> Option<String> {
    raw_pairs(body)
        .into_iter()
        .find(|(key, _)| key == raw_key)
        .map(|(_, value)| {
            percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// Returns `result` of a successful call, failing the test otherwise.
pub fn result(response: (u16, Value)) -> Value {
    let (status, body) = response;
    assert_eq!(status, 200, "call failed: {body}");
    body["result"].clone()
}

pub fn ids_of(rows: &Value, key: &str) -> Vec<u64> {
    rows.as_array()
        .expect("rows are a list")
        .iter()
        .map(|row| match &row[key] {
            Value::String(text) => text.parse().expect("numeric id"),
            Value::Number(n) => n.as_u64().expect("numeric id"),
            other => panic!("id is not a number: {other}"),
        })
        .collect()
}

pub fn empty_object() -> Value {
    json!({})
}
