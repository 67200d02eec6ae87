//! The rate limit, injected faults, outages, credentials and the request log.

mod emulator_support;

use std::time::Duration;

use bitrix24_client::emulator::{
    EmulatorOptions, Fault, Outage, RateLimit, Seed, WebhookCredentials,
};
use emulator_support::*;
use serde_json::json;

#[tokio::test]
async fn bucket_rejects_after_burst_until_reset() {
    let options = EmulatorOptions::default().rate_limit(RateLimit::Bucket {
        per_second: 0.001,
        burst: 3,
    });
    let emulator = start_with(options).await;

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(call(&emulator, "crm.deal.list", json!({})).await.0);
    }
    emulator.portal().reset_rate_limit();
    let after_reset = call(&emulator, "crm.deal.list", json!({})).await.0;
    emulator.portal().set_rate_limit(RateLimit::Off);
    let unlimited: Vec<u16> =
        futures::future::join_all((0..10).map(|_| call(&emulator, "crm.deal.list", json!({}))))
            .await
            .into_iter()
            .map(|(status, _)| status)
            .collect();

    assert_eq!(statuses, vec![200, 200, 200, 503, 503]);
    assert_eq!(after_reset, 200);
    assert!(unlimited.iter().all(|s| *s == 200));
    assert_eq!(emulator.portal().counters().rate_limited, 2);
}

#[tokio::test]
async fn standard_limit_allows_burst_of_fifty() {
    let emulator = start_with(EmulatorOptions::default()).await;
    let started = std::time::Instant::now();

    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(call(&emulator, "crm.deal.list", json!({})).await.0);
    }
    let elapsed = started.elapsed().as_secs_f64();

    let ok = statuses.iter().filter(|s| **s == 200).count() as f64;
    assert!(ok >= 50.0, "{ok} requests passed");
    assert!(
        ok <= 50.0 + (2.0 * elapsed).ceil(),
        "{ok} requests passed in {elapsed:.2} s"
    );
    if elapsed < 4.0 {
        assert!(statuses.contains(&503));
    }
}

#[tokio::test]
async fn server_errors_fail_next_calls_then_recover() {
    let emulator = start(Seed::Demo).await;
    emulator.portal().fail_next(2, Fault::ServerError);

    let first = call(&emulator, "crm.deal.get", json!({"id": 1})).await;
    let second = call(&emulator, "crm.deal.get", json!({"id": 1})).await;
    let third = call(&emulator, "crm.deal.get", json!({"id": 1})).await;

    assert_eq!(
        first,
        (
            500,
            json!({"error": "ERROR_CORE", "error_description": "SQL query error!"})
        )
    );
    assert_eq!(second.0, 500);
    assert_eq!(third.0, 200);
    assert_eq!(emulator.portal().counters().faults, 2);
}

#[tokio::test]
async fn error_after_execution_still_applies_the_write() {
    let emulator = start(Seed::Demo).await;
    emulator
        .portal()
        .fail_next_calls_of("crm.deal.update", 1, Fault::ServerErrorAfterExecution);

    let read = call(&emulator, "crm.deal.get", json!({"id": 1})).await;
    let write = call(
        &emulator,
        "crm.deal.update",
        json!({"id": 1, "fields": {"TITLE": "applied"}}),
    )
    .await;

    assert_eq!(read.0, 200, "the fault waits for its method");
    assert_eq!(write.0, 500);
    assert_eq!(emulator.portal().deal(1).unwrap().title, "applied");
}

#[tokio::test]
async fn bad_gateway_is_an_html_page() {
    let emulator = start(Seed::Demo).await;
    emulator.portal().fail_next(1, Fault::BadGateway);

    let response = http()
        .post(format!("{}crm.deal.get", emulator.webhook_url()))
        .json(&json!({"id": 1}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 502);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("502 Bad Gateway"));
}

#[tokio::test]
async fn hang_outlasts_client_timeout() {
    let emulator = start(Seed::Demo).await;
    emulator
        .portal()
        .fail_next(1, Fault::Hang(Duration::from_secs(5)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let hung = client
        .post(format!("{}crm.deal.get", emulator.webhook_url()))
        .json(&json!({"id": 1}))
        .send()
        .await;
    let next = call(&emulator, "crm.deal.get", json!({"id": 1})).await;

    assert!(hung.unwrap_err().is_timeout());
    assert_eq!(next.0, 200);
}

#[tokio::test]
async fn unavailable_outage_answers_html_until_up() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();
    portal.go_down(Outage::ServiceUnavailable, None);

    let down = http()
        .post(format!("{}crm.deal.get", emulator.webhook_url()))
        .json(&json!({"id": 1}))
        .send()
        .await
        .unwrap();
    let down_status = down.status().as_u16();
    let down_page = down.text().await.unwrap();
    portal.come_up();
    let up = call(&emulator, "crm.deal.get", json!({"id": 1})).await;
    portal.go_down(Outage::ServiceUnavailable, Some(Duration::ZERO));
    let expired = call(&emulator, "crm.deal.get", json!({"id": 1})).await;

    assert_eq!(down_status, 503);
    assert!(down_page.contains("503 Service Temporarily Unavailable"));
    assert_eq!(up.0, 200);
    assert_eq!(expired.0, 200, "a timed outage ends by itself");
}

#[tokio::test]
async fn refused_outage_closes_and_reopens_the_port() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();

    portal.go_down(Outage::Refused, None);
    portal.wait_until_serving(false).await;
    let refused = http()
        .post(format!("{}crm.deal.get", emulator.webhook_url()))
        .json(&json!({"id": 1}))
        .send()
        .await;
    portal.come_up();
    portal.wait_until_serving(true).await;
    let back = call(&emulator, "crm.deal.get", json!({"id": 1})).await;

    assert!(refused.unwrap_err().is_connect());
    assert_eq!(back.0, 200);
}

#[tokio::test]
async fn timed_refused_outage_reopens_by_itself() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();

    portal.go_down(Outage::Refused, Some(Duration::from_millis(50)));
    portal.wait_until_serving(false).await;
    portal.wait_until_serving(true).await;

    assert_eq!(
        call(&emulator, "crm.deal.get", json!({"id": 1})).await.0,
        200
    );
}

#[tokio::test]
async fn several_webhooks_with_their_own_scopes() {
    let emulator = start(Seed::Demo).await;
    emulator
        .portal()
        .add_webhook(WebhookCredentials::new(7, "secondwebhook123").with_scopes(["crm", "user"]));

    let (status, body) = decode(
        http()
            .post(format!(
                "{}/rest/7/secondwebhook123/scope",
                emulator.base_url()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let wrong_user = decode(
        http()
            .post(format!(
                "{}/rest/8/secondwebhook123/scope",
                emulator.base_url()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body["result"], json!(["crm", "user"]));
    assert_eq!(wrong_user.0, 401);
    assert_eq!(wrong_user.1["error"], json!("INVALID_CREDENTIALS"));
}

#[tokio::test]
async fn request_log_records_calls_without_file_contents() {
    let emulator = start(Seed::Demo).await;
    let big = "A".repeat(5_000);

    call(
        &emulator,
        "crm.deal.update",
        json!({"id": 1, "fields": {"UF_CRM_1708509490009": [{"fileData": ["a.pdf", big]}]}}),
    )
    .await;
    call(&emulator, "crm.deal.get", json!({"id": 999})).await;
    call(&emulator, "batch", json!({"cmd": ["crm.deal.get?id=1"]})).await;

    let log = emulator.portal().requests();
    let methods: Vec<&str> = log.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        vec!["crm.deal.update", "crm.deal.get", "crm.deal.get", "batch"]
    );
    assert_eq!(
        log[0].params["fields"]["UF_CRM_1708509490009"][0]["fileData"][1],
        json!("<5000 chars>")
    );
    assert_eq!(log[1].status, 400);
    assert_eq!(log[1].error.as_deref(), Some(""));
    assert!(log[2].in_batch);
    assert_eq!(log[3].webhook_user, Some(1));
    assert!(
        !format!("{log:?}").contains(
            emulator
                .webhook_url()
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap()
        )
    );
    emulator.portal().clear_request_log();
    assert!(emulator.portal().requests().is_empty());
    assert_eq!(emulator.portal().counters().requests, 0);
}

#[tokio::test]
async fn oversized_body_is_rejected() {
    let options = EmulatorOptions::default()
        .rate_limit(RateLimit::Off)
        .max_body_bytes(1_000);

    let emulator = start_with(options).await;
    let (status, _) = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {"TITLE": "x".repeat(2_000)}}),
    )
    .await;

    assert_eq!(status, 413);
}

#[tokio::test]
async fn invalid_json_body_is_a_clear_error() {
    let emulator = start(Seed::Demo).await;

    let (status, body) = call_raw(&emulator, "crm.deal.get", "{not json").await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], json!("INVALID_REQUEST"));
}
