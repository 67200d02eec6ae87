//! Helpers shared by the integration tests: a mock portal, clients and fixtures.

#![allow(dead_code)]

use std::time::Duration;

use bitrix24_client::{Client, ClientBuilder, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The secret of the test webhook; no error or log may contain it.
pub const SECRET: &str = "hookkey";

/// Starts a mock portal on 127.0.0.1 with a catch-all mock that responds to any
/// unexpected request with an error naming it, and fails the test when the
/// server is dropped.
pub async fn portal() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(|request: &Request| {
            let body = String::from_utf8_lossy(&request.body).chars().take(300).collect::<String>();
            ResponseTemplate::new(418).set_body_json(json!({
                "error": "UNEXPECTED_REQUEST",
                "error_description": format!("no mock for {} {} with body {body}", request.method, request.url.path()),
            }))
        })
        .with_priority(u8::MAX)
        .named("catch-all: a request no mock expected")
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// Returns the webhook URL of the mock portal.
pub fn webhook_url(server: &MockServer) -> String {
    format!("{}/rest/1/{SECRET}/", server.uri())
}

/// Returns the request path of a method on the mock portal.
pub fn method_path(method: &str) -> String {
    format!("/rest/1/{SECRET}/{method}")
}

/// Returns a builder with quick retries, for tests that exercise them.
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(webhook_url(server)).retry(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    })
}

/// Returns a client with quick retries.
pub fn client(server: &MockServer) -> Client {
    builder(server)
        .build()
        .expect("the test webhook URL is valid")
}

/// Reads a JSON fixture from `tests/fixtures`.
pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name))
        .unwrap_or_else(|error| panic!("fixture {name}: {error}"))
}

/// Reads a fixture file as text.
pub fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Reads the body lines of a `.txt` fixture: every line not starting with `#`.
pub fn fixture_lines(name: &str) -> Vec<String> {
    fixture_text(name)
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads the commented-out body line of a `.txt` fixture that follows `marker`.
pub fn fixture_commented_line_after(name: &str, marker: &str) -> String {
    let text = fixture_text(name);
    let mut lines = text.lines().skip_while(|line| !line.contains(marker));
    lines.next();
    lines
        .next()
        .and_then(|line| line.strip_prefix("# "))
        .unwrap_or_else(|| panic!("{name}: no line after {marker:?}"))
        .to_owned()
}

/// Returns a JSON response with a status.
pub fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// Returns a success envelope around `result`.
pub fn ok(result: Value) -> ResponseTemplate {
    json_response(
        200,
        json!({ "result": result, "time": {"start": 1.0, "finish": 1.1, "duration": 0.1, "processing": 0.05, "operating": 0} }),
    )
}

/// Asserts that neither the text nor the debug form of an error shows the secret.
pub fn assert_no_secret(error: &bitrix24_client::Error) {
    let shown = format!("{error} | {error:?}");
    assert!(!shown.contains(SECRET), "the secret leaked: {shown}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = format!("{cause} | {cause:?}");
        assert!(
            !text.contains(SECRET),
            "the secret leaked in a source: {text}"
        );
        source = cause.source();
    }
}

/// Returns the JSON bodies of the requests the server received for a method.
pub async fn bodies(server: &MockServer, method: &str) -> Vec<Value> {
    let path = method_path(method);
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path() == path)
        .map(|request| serde_json::from_slice(&request.body).expect("the client sends JSON bodies"))
        .collect()
}
