//! Retries, the leaky bucket and the operating-time budget against a mock portal.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bitrix24_client::{Error, Idempotency, OperatingBudget, RateLimit, RetryPolicy};
use futures::TryStreamExt;
use jiff::Timestamp;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{builder, client, fixture, json_response, method_path, ok, portal};

fn server_error() -> ResponseTemplate {
    json_response(
        500,
        json!({"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}),
    )
}

async fn mount(server: &MockServer, rest_method: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(method_path(rest_method)))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

async fn mount_first(
    server: &MockServer,
    rest_method: &str,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path(method_path(rest_method)))
        .respond_with(response)
        .up_to_n_times(times)
        .expect(times)
        .with_priority(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn b04_server_error_on_create_is_unknown_outcome() {
    let server = portal().await;
    mount(&server, "crm.lead.add", server_error(), 1).await;

    let error = client(&server)
        .call::<Value>("crm.lead.add", &json!({"fields": {"TITLE": "Lead 1"}}))
        .await
        .unwrap_err();

    let Error::UnknownOutcome { method, source } = &error else {
        panic!("expected an unknown outcome, got {error:?}");
    };
    assert_eq!(method, "crm.lead.add");
    assert!(matches!(**source, Error::Api { .. }));
    assert!(
        error
            .to_string()
            .contains("may or may not have been applied")
    );
}

#[tokio::test]
async fn b04_batch_of_creates_not_repeated_after_500() {
    let server = portal().await;
    mount(&server, "batch", server_error(), 1).await;
    let client = client(&server);
    let mut batch = client.batch();
    for index in 0..50 {
        batch
            .add(
                format!("lead{index}"),
                "crm.lead.add",
                &json!({"fields": {"TITLE": format!("Lead {index}")}}),
            )
            .unwrap();
    }

    let error = batch.send().await.unwrap_err();

    assert!(matches!(error, Error::UnknownOutcome { .. }), "{error:?}");
}

#[tokio::test]
async fn fixed_value_update_is_retried_after_500() {
    let server = portal().await;
    mount_first(&server, "crm.deal.update", server_error(), 1).await;
    mount(
        &server,
        "crm.deal.update",
        ResponseTemplate::new(200).set_body_json(fixture("crm.deal.update.response.json")),
        1,
    )
    .await;

    client(&server)
        .deals()
        .update(bitrix_lk_core::DealId(410))
        .field("UF_CRM_1708511589360", "lk-410")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn rate_limited_write_is_retried() {
    let server = portal().await;
    mount_first(
        &server,
        "crm.lead.add",
        json_response(503, fixture("error.QUERY_LIMIT_EXCEEDED.http503.json")),
        1,
    )
    .await;
    mount(&server, "crm.lead.add", ok(json!(77)), 1).await;

    let id: u64 = client(&server)
        .call("crm.lead.add", &json!({"fields": {"TITLE": "Lead"}}))
        .await
        .unwrap();

    assert_eq!(id, 77);
}

#[tokio::test]
async fn explicit_idempotency_allows_retry() {
    let server = portal().await;
    mount_first(&server, "crm.deal.contact.items.set", server_error(), 1).await;
    mount(&server, "crm.deal.contact.items.set", ok(json!(true)), 1).await;

    let envelope = client(&server)
        .call_with::<bool>(
            "crm.deal.contact.items.set",
            &json!({"id": 1, "items": [{"CONTACT_ID": 5}]}),
            Idempotency::IdempotentWrite,
        )
        .await
        .unwrap();

    assert!(envelope.result);
}

#[tokio::test]
async fn retries_stop_after_max_attempts() {
    let server = portal().await;
    mount(&server, "crm.deal.get", server_error(), 4).await;

    let error = client(&server)
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Api { .. }), "{error:?}");
}

fn time_block(operating: f64, reset_in_seconds: i64) -> Value {
    json!({
        "start": 1.0, "finish": 1.1, "duration": 0.1, "processing": 0.1,
        "operating": operating,
        "operating_reset_at": Timestamp::now().as_second() + reset_in_seconds
    })
}

#[tokio::test]
async fn b02_high_operating_time_waits_before_next_call() {
    let server = portal().await;
    mount_first(
        &server,
        "crm.item.list",
        json_response(
            200,
            json!({"result": {"items": []}, "time": time_block(478.9, 2)}),
        ),
        1,
    )
    .await;
    mount(&server, "crm.item.list", ok(json!({"items": []})), 1).await;
    let client = client(&server);

    let _: Value = client
        .call("crm.item.list", &json!({"entityTypeId": 2}))
        .await
        .unwrap();
    let started = Instant::now();
    let _: Value = client
        .call("crm.item.list", &json!({"entityTypeId": 2}))
        .await
        .unwrap();

    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited only {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn b02_other_methods_are_not_slowed() {
    let server = portal().await;
    mount(
        &server,
        "crm.item.list",
        json_response(
            200,
            json!({"result": {"items": []}, "time": time_block(478.9, 30)}),
        ),
        1,
    )
    .await;
    mount(&server, "crm.deal.get", ok(json!({"ID": "1"})), 1).await;
    let client = client(&server);

    let _: Value = client
        .call("crm.item.list", &json!({"entityTypeId": 2}))
        .await
        .unwrap();
    let started = Instant::now();
    let _: Value = client
        .call("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap();

    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn b02_429_waits_for_reset_then_retries() {
    let server = portal().await;
    mount_first(
        &server,
        "crm.deal.list",
        json_response(
            200,
            json!({"result": [], "total": 0, "time": time_block(12.0, 2)}),
        ),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .respond_with(json_response(
            429,
            fixture("error.OPERATION_TIME_LIMIT.http429.json"),
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    mount(&server, "crm.deal.list", ok(json!([])), 1).await;
    let client = client(&server);

    let _: Value = client.call("crm.deal.list", &json!({})).await.unwrap();
    let rows: Vec<Value> = client.call("crm.deal.list", &json!({})).await.unwrap();

    assert!(rows.is_empty());
}

#[tokio::test]
async fn b02_429_with_far_reset_fails_without_spinning() {
    let server = portal().await;
    let reset_at = Timestamp::now().as_second() + 600;
    let body = json!({
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "Method is blocked due to operation time limit.",
        "time": {"operating": 481.0, "operating_reset_at": reset_at}
    });
    mount(&server, "crm.deal.list", json_response(429, body), 1).await;
    let client = builder(&server)
        .operating_budget(OperatingBudget {
            max_wait: Duration::from_secs(1),
            ..OperatingBudget::default()
        })
        .build()
        .unwrap();

    let first = client
        .call::<Value>("crm.deal.list", &json!({}))
        .await
        .unwrap_err();
    let second = client
        .call::<Value>("crm.deal.list", &json!({}))
        .await
        .unwrap_err();

    for error in [&first, &second] {
        let Error::OperationTimeLimit {
            reset_at: Some(at),
            retry_after: Some(wait),
            ..
        } = error
        else {
            panic!("expected an operation time limit, got {error:?}");
        };
        assert_eq!(at.as_second(), reset_at);
        assert!(wait.as_secs() >= 590, "{wait:?}");
        assert!(error.is_transient());
    }
}

#[tokio::test]
async fn b02_batch_command_time_blocks_that_method() {
    let server = portal().await;
    let response = json!({
        "result": {
            "result": {"deals": []},
            "result_error": [],
            "result_total": {"deals": 0},
            "result_next": [],
            "result_time": {"deals": time_block(479.0, 600)}
        },
        "time": {"start": 1.0, "finish": 1.1, "duration": 0.1, "processing": 0.1}
    });
    mount(&server, "batch", json_response(200, response), 1).await;
    let client = builder(&server)
        .operating_budget(OperatingBudget {
            max_wait: Duration::from_secs(1),
            ..OperatingBudget::default()
        })
        .build()
        .unwrap();
    let mut batch = client.batch();
    batch
        .add("deals", "crm.deal.list", &json!({"filter": {"ID": 1}}))
        .unwrap();
    batch.send().await.unwrap();

    let error = client
        .call::<Value>("crm.deal.list", &json!({}))
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::OperationTimeLimit { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn clones_share_the_bucket() {
    let server = portal().await;
    mount(&server, "crm.deal.get", ok(json!({"ID": "1"})), 6).await;
    let client = builder(&server)
        .rate_limit(RateLimit {
            per_second: 5.0,
            burst: 2,
        })
        .build()
        .unwrap();
    let started = Instant::now();

    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    let _: Value = client
                        .call("crm.deal.get", &json!({"id": 1}))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    // Six requests, two at once, then one every 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn batch_counts_as_one_request() {
    let server = portal().await;
    mount(&server, "batch", ok(json!({"result": [], "result_error": [], "result_total": [], "result_next": [], "result_time": []})), 1).await;
    let client = builder(&server)
        .rate_limit(RateLimit {
            per_second: 0.5,
            burst: 1,
        })
        .build()
        .unwrap();
    let mut batch = client.batch();
    for index in 0..50 {
        batch.push("crm.deal.get", &json!({"id": index})).unwrap();
    }
    let started = Instant::now();

    batch.send().await.unwrap();

    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn writes_limited_separately() {
    let server = portal().await;
    mount(
        &server,
        "crm.lead.add",
        ok(json!(1)).set_delay(Duration::from_millis(300)),
        2,
    )
    .await;
    let client = builder(&server).max_concurrent_writes(1).build().unwrap();
    let (lead_a, lead_b) = (
        json!({"fields": {"TITLE": "a"}}),
        json!({"fields": {"TITLE": "b"}}),
    );
    let started = Instant::now();

    let (first, second) = tokio::join!(
        client.call::<u64>("crm.lead.add", &lead_a),
        client.call::<u64>("crm.lead.add", &lead_b),
    );

    first.unwrap();
    second.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}

/// A portal that enforces Bitrix24's leaky bucket (2 per second, burst 50)
/// with HTTP 503 `QUERY_LIMIT_EXCEEDED`, and serves `crm.deal.list` over
/// `deal_ids` with offsets and with the fast `>ID` cursor.
struct LimitedPortal {
    deal_ids: Vec<u64>,
    bucket: Mutex<(f64, Instant)>,
    per_second: f64,
    burst: f64,
    rejected: AtomicUsize,
    served: AtomicUsize,
}

impl LimitedPortal {
    fn new(count: u64) -> Self {
        Self {
            deal_ids: (0..count).map(|index| 1000 + index * 7).collect(),
            bucket: Mutex::new((0.0, Instant::now())),
            per_second: 2.0,
            burst: 50.0,
            rejected: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
        }
    }

    fn admit(&self) -> bool {
        let mut bucket = self.bucket.lock().expect("the bucket lock is not poisoned");
        let now = Instant::now();
        let drained = now.duration_since(bucket.1).as_secs_f64() * self.per_second;
        bucket.0 = (bucket.0 - drained).max(0.0);
        bucket.1 = now;
        if bucket.0 + 1.0 > self.burst {
            return false;
        }
        bucket.0 += 1.0;
        true
    }

    fn rows(&self, ids: &[u64]) -> Value {
        Value::Array(
            ids.iter()
                .map(|id| json!({"ID": id.to_string(), "TITLE": format!("Deal {id}")}))
                .collect(),
        )
    }

    fn list(&self, body: &Value) -> Value {
        let start = body["start"].as_i64().unwrap_or(0);
        if start < 0 {
            let after = body["filter"][">ID"].as_u64().unwrap_or(0);
            let ids: Vec<u64> = self
                .deal_ids
                .iter()
                .copied()
                .filter(|id| *id > after)
                .take(50)
                .collect();
            return json!({"result": self.rows(&ids), "total": 0});
        }
        let start = start as usize;
        let end = (start + 50).min(self.deal_ids.len());
        let mut body = json!({"result": self.rows(&self.deal_ids[start.min(end)..end]), "total": self.deal_ids.len()});
        if end < self.deal_ids.len() {
            body["next"] = json!(end);
        }
        body
    }
}

struct Shared(std::sync::Arc<LimitedPortal>);

impl Respond for Shared {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if !self.0.admit() {
            self.0.rejected.fetch_add(1, Ordering::SeqCst);
            return json_response(503, fixture("error.QUERY_LIMIT_EXCEEDED.http503.json"));
        }
        self.0.served.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        json_response(200, self.0.list(&body))
    }
}

async fn limited_portal(count: u64) -> (MockServer, std::sync::Arc<LimitedPortal>) {
    let server = portal().await;
    let state = std::sync::Arc::new(LimitedPortal::new(count));
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .respond_with(Shared(state.clone()))
        .mount(&server)
        .await;
    (server, state)
}

fn assert_every_id_once(state: &LimitedPortal, ids: &[u64]) {
    assert_eq!(ids.len(), state.deal_ids.len());
    assert_eq!(ids, state.deal_ids.as_slice());
}

#[tokio::test]
async fn long_listing_stays_under_the_rate_limit() {
    let (server, state) = limited_portal(3000).await;
    let client = common::client(&server);

    let deals: Vec<_> = client
        .deals()
        .list()
        .select(["ID", "TITLE"])
        .stream_fast()
        .try_collect()
        .await
        .unwrap();

    let ids: Vec<u64> = deals.iter().map(|deal| deal.id.get()).collect();
    assert_every_id_once(&state, &ids);
    assert_eq!(
        state.rejected.load(Ordering::SeqCst),
        0,
        "the client went over the portal's limit"
    );
    assert_eq!(state.served.load(Ordering::SeqCst), 61);
}

#[tokio::test]
async fn long_listing_recovers_from_503s() {
    let (server, state) = limited_portal(3000).await;
    let client = builder(&server)
        .rate_limit(RateLimit {
            per_second: 50.0,
            burst: 100,
        })
        .retry(RetryPolicy {
            max_attempts: 12,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        })
        .build()
        .unwrap();

    let deals: Vec<_> = client
        .deals()
        .list()
        .select(["ID", "TITLE"])
        .stream()
        .try_collect()
        .await
        .unwrap();

    let ids: Vec<u64> = deals.iter().map(|deal| deal.id.get()).collect();
    assert_every_id_once(&state, &ids);
    assert!(
        state.rejected.load(Ordering::SeqCst) > 0,
        "the test never made the portal reject a request"
    );
}
