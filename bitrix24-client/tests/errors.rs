//! Classification of the portal's responses, with the real HTTP statuses and bodies.

mod common;

use std::time::Duration;

use bitrix24_client::{Error, RetryPolicy};
use rstest::rstest;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use common::{assert_no_secret, builder, client, fixture, json_response, method_path, ok, portal};

async fn mount_once(
    server: &wiremock::MockServer,
    rest_method: &str,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path(method_path(rest_method)))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn b01_rate_limit_503_is_retried() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .respond_with(json_response(
            503,
            fixture("error.QUERY_LIMIT_EXCEEDED.http503.json"),
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_once(&server, "crm.deal.list", ok(json!([{"ID": "1"}])), 1).await;

    let rows: Vec<Value> = client(&server)
        .call("crm.deal.list", &json!({}))
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn b01_rate_limit_with_status_200_is_recognised() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.list",
        json_response(200, fixture("error.QUERY_LIMIT_EXCEEDED.http503.json")),
        2,
    )
    .await;
    let client = builder(&server)
        .retry(RetryPolicy {
            max_attempts: 2,
            ..quick()
        })
        .build()
        .unwrap();

    let error = client
        .call::<Value>("crm.deal.list", &json!({}))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn rate_limit_keeps_retry_after() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.list",
        json_response(503, fixture("error.QUERY_LIMIT_EXCEEDED.http503.json"))
            .insert_header("retry-after", "0"),
        1,
    )
    .await;
    let client = builder(&server).retry(RetryPolicy::none()).build().unwrap();

    let error = client
        .call::<Value>("crm.deal.list", &json!({}))
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::RateLimited { retry_after: Some(wait), .. } if wait == Duration::ZERO),
        "{error:?}"
    );
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn legacy_not_found_has_empty_code() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.get",
        json_response(400, fixture("error.crm.deal.get.not-found.http400.json")),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.deal.get", &json!({"id": 999}))
        .await
        .unwrap_err();

    let Error::Api { error: api, .. } = &error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert_eq!(api.status, Some(400));
    assert_eq!(api.code, "");
    assert_eq!(api.description, "Not found");
    assert!(error.is_not_found());
    assert!(!error.is_transient());
}

#[tokio::test]
async fn item_not_found_has_code() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.item.get",
        json_response(400, fixture("error.crm.item.NOT_FOUND.json")),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.item.get", &json!({"entityTypeId": 2, "id": 999}))
        .await
        .unwrap_err();

    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(error.api_error().unwrap().code, "NOT_FOUND");
}

#[tokio::test]
async fn category_not_found_is_not_found() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.category.list",
        json_response(400, fixture("error.crm.category.list.NOT_FOUND.json")),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.category.list", &json!({"entityTypeId": 999}))
        .await
        .unwrap_err();

    assert!(error.is_not_found(), "{error:?}");
}

#[tokio::test]
async fn refusal_with_empty_code_is_not_retried() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.update",
        json_response(
            400,
            fixture("error.crm.deal.update.empty-code.http400.json"),
        ),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.deal.update", &json!({"id": 1, "fields": "x"}))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Api { error, .. } if error.description == "Parameter 'fields' must be array."),
        "{error:?}"
    );
}

#[rstest]
#[case(401, "error.NO_AUTH_FOUND.http401.json")]
#[case(401, "error.INVALID_CREDENTIALS.json")]
#[case(403, "error.INVALID_CREDENTIALS.json")]
#[case(403, "error.insufficient_scope.json")]
#[case(403, "error.ACCESS_DENIED.rest-not-on-plan.json")]
#[case(401, "error.expired_token.http401.json")]
#[tokio::test]
async fn auth_failures_not_retried(#[case] status: u16, #[case] fixture_name: &str) {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.get",
        json_response(status, fixture(fixture_name)),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Auth { .. }), "{error:?}");
    assert!(
        error.to_string().contains("check the webhook URL"),
        "{error}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.gett",
        json_response(404, fixture("error.ERROR_METHOD_NOT_FOUND.http404.json")),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.deal.gett", &json!({}))
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::MethodNotFound { ref method } if method == "crm.deal.gett"),
        "{error:?}"
    );
}

#[tokio::test]
async fn proxy_html_is_not_json_and_retried() {
    let server = portal().await;
    let html = format!(
        "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>\
         <p>upstream for /rest/1/{}/crm.deal.get timed out</p><hr>nginx</body></html>",
        common::SECRET
    );
    mount_once(
        &server,
        "crm.deal.get",
        ResponseTemplate::new(502).set_body_raw(html, "text/html; charset=utf-8"),
        4,
    )
    .await;

    let error = client(&server)
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    let Error::NotJson {
        status,
        content_type,
        excerpt,
        ..
    } = &error
    else {
        panic!("expected NotJson, got {error:?}");
    };
    assert_eq!(*status, 502);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert_eq!(
        excerpt,
        "502 Bad Gateway 502 Bad Gateway upstream for /rest/1/[REDACTED]/crm.deal.get timed out nginx"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn server_error_on_read_is_retried() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .respond_with(json_response(
            500,
            json!({"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}),
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    mount_once(
        &server,
        "crm.deal.get",
        ResponseTemplate::new(200).set_body_json(fixture("crm.deal.get.response.json")),
        1,
    )
    .await;

    let deal: Value = client(&server)
        .call("crm.deal.get", &json!({"id": 410}))
        .await
        .unwrap();

    assert_eq!(deal["TITLE"], "New Deal #1");
}

#[tokio::test]
async fn decode_error_names_the_path() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.get",
        ok(json!({"ID": "41x", "TITLE": "x"})),
        1,
    )
    .await;

    let error = client(&server)
        .deals()
        .get(bitrix_lk_core::DealId(41))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Decode { path, .. } if path.starts_with("result")),
        "{error:?}"
    );
    assert!(error.to_string().contains("crm.deal.get"));
}

#[tokio::test]
async fn slow_portal_times_out() {
    let server = portal().await;
    mount_once(
        &server,
        "crm.deal.get",
        ok(json!({})).set_delay(Duration::from_secs(2)),
        1,
    )
    .await;
    let client = builder(&server)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let error = client
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(error.is_transient());
    assert_no_secret(&error);
}

#[tokio::test]
async fn refused_connection_is_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client =
        bitrix24_client::Client::builder(format!("http://{address}/rest/1/{}/", common::SECRET))
            .retry(RetryPolicy {
                max_attempts: 2,
                ..quick()
            })
            .build()
            .unwrap();

    let error = client
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_no_secret(&error);
}

#[tokio::test]
async fn oversized_response_is_rejected() {
    let server = portal().await;
    let big = "x".repeat(10_000);
    mount_once(&server, "crm.deal.get", ok(json!({"TITLE": big})), 1).await;
    let client = builder(&server).max_response_bytes(1_000).build().unwrap();

    let error = client
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::ResponseTooLarge { limit: 1_000, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn non_json_success_is_not_json() {
    let server = portal().await;
    mount_once(
        &server,
        "profile",
        ResponseTemplate::new(200).set_body_string("OK"),
        1,
    )
    .await;

    let error = client(&server)
        .call::<Value>("profile", &json!({}))
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::NotJson { status: 200, .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
}
