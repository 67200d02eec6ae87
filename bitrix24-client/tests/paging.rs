//! Paging: following `next`, the fast `>ID` cursor, batched pages, and the
//! checks that turn lost or repeated pages into errors.

mod common;

use std::sync::{Arc, Mutex};

use bitrix24_client::paging::{ListQuery, Rows};
use bitrix24_client::{EntityType, Error};
use futures::{StreamExt, TryStreamExt};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::{bodies, client, json_response, method_path, portal};

fn deal_rows(ids: impl IntoIterator<Item = u64>) -> Value {
    Value::Array(
        ids.into_iter()
            .map(|id| json!({"ID": id.to_string()}))
            .collect(),
    )
}

async fn mount_page(server: &MockServer, start: u64, body: Value) {
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .and(body_partial_json(json!({"start": start})))
        .respond_with(json_response(200, body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn stream_follows_next() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 120}),
    )
    .await;
    mount_page(
        &server,
        50,
        json!({"result": deal_rows(51..=100), "next": 100, "total": 120}),
    )
    .await;
    mount_page(
        &server,
        100,
        json!({"result": deal_rows(101..=120), "total": 120}),
    )
    .await;

    let deals = client(&server).deals().list().all().await.unwrap();

    let ids: Vec<u64> = deals.iter().map(|deal| deal.id.get()).collect();
    assert_eq!(ids, (1..=120).collect::<Vec<_>>());
}

#[tokio::test]
async fn b18_empty_later_page_is_incomplete_listing() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 2490}),
    )
    .await;
    mount_page(&server, 50, json!({"result": [], "total": 2490})).await;

    let error = client(&server).deals().list().all().await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::IncompleteListing {
                expected: 2490,
                received: 50,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn b18_empty_page_with_next_is_incomplete_listing() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 150}),
    )
    .await;
    mount_page(
        &server,
        50,
        json!({"result": [], "next": 100, "total": 150}),
    )
    .await;

    let error = client(&server).deals().list().all().await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::IncompleteListing {
                expected: 150,
                received: 50,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn b18_batched_pages_missing_is_an_error() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 2490}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(200, json!({"result": {"result": {}, "result_error": [], "result_total": [], "result_next": []}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = client.deals().list().select(["ID"]).query().unwrap();

    let error = query.batched(&client, 50).await.unwrap_err();

    assert!(
        matches!(error, Error::MissingBatchResult { ref key, .. } if key == "p1"),
        "{error:?}"
    );
}

#[tokio::test]
async fn b18_batched_pages_empty_is_incomplete() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 120}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(
            200,
            json!({"result": {
                "result": {"p1": [], "p2": []},
                "result_error": [], "result_total": {"p1": 120, "p2": 120}, "result_next": []
            }}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = client.deals().list().query().unwrap();

    let error = query.batched(&client, 50).await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::IncompleteListing {
                expected: 120,
                received: 50,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn batched_reads_fifty_pages_in_two_requests() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 3000}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let mut results = serde_json::Map::new();
            for (key, command) in body["cmd"].as_object().unwrap() {
                let start: u64 = command.as_str().unwrap().split("start=").nth(1).unwrap().parse().unwrap();
                results.insert(key.clone(), deal_rows(start + 1..=start + 50));
            }
            ResponseTemplate::new(200).set_body_json(json!({"result": {
                "result": results, "result_error": [], "result_total": [], "result_next": [], "result_time": []
            }}))
        })
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = client.deals().list().select(["ID"]).query().unwrap();

    let chunk = query.batched(&client, 50).await.unwrap();

    assert_eq!(chunk.rows.len(), 2500);
    assert_eq!(chunk.total, 3000);
    assert!(!chunk.complete);
    assert_eq!(
        bodies(&server, "batch").await[0]["cmd"]
            .as_object()
            .unwrap()
            .len(),
        49
    );
}

/// Serves a batch of `crm.deal.list` pages from a table of `rows` deals,
/// with `result_total` when `with_total`.
fn deal_batch_responder(
    rows: u64,
    with_total: bool,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).expect("the client sends JSON");
        let mut results = serde_json::Map::new();
        let mut totals = serde_json::Map::new();
        for (key, command) in body["cmd"].as_object().expect("cmd is an object") {
            let start: u64 = command
                .as_str()
                .and_then(|text| text.split("start=").nth(1))
                .and_then(|start| start.parse().ok())
                .expect("every page command has a numeric start");
            let end = (start + 50).min(rows);
            results.insert(key.clone(), deal_rows(start + 1..=end));
            totals.insert(key.clone(), json!(rows));
        }
        let totals = if with_total {
            Value::Object(totals)
        } else {
            json!([])
        };
        ResponseTemplate::new(200).set_body_json(json!({"result": {
            "result": results, "result_error": [], "result_total": totals, "result_next": [], "result_time": []
        }}))
    }
}

#[tokio::test]
async fn continuation_reads_fifty_pages_in_one_request() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(deal_batch_responder(3000, true))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = client.deals().list().select(["ID"]).query().unwrap();

    let chunk = query.batched_continuation(&client, 50).await.unwrap();

    assert_eq!(chunk.rows.len(), 2500);
    assert_eq!(chunk.total, 3000);
    assert!(!chunk.complete);
    assert!(bodies(&server, "crm.deal.list").await.is_empty());
}

#[tokio::test]
async fn continuation_short_batch_without_total_ends_listing() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(deal_batch_responder(120, false))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = client.deals().list().select(["ID"]).query().unwrap();

    let chunk = query.batched_continuation(&client, 50).await.unwrap();

    assert_eq!(chunk.rows.len(), 120);
    assert_eq!(chunk.total, 120);
    assert!(chunk.complete);
}

#[tokio::test]
async fn continuation_missing_rows_is_incomplete() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(
            200,
            json!({"result": {
                "result": {"p0": deal_rows(1..=50), "p1": []},
                "result_error": [], "result_total": {"p0": 120, "p1": 120}, "result_next": []
            }}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = client.deals().list().query().unwrap();

    let error = query.batched_continuation(&client, 2).await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::IncompleteListing {
                expected: 100,
                received: 50,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn repeated_page_is_inconsistent() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 100}),
    )
    .await;
    mount_page(
        &server,
        50,
        json!({"result": deal_rows(1..=50), "total": 100}),
    )
    .await;

    let error = client(&server).deals().list().all().await.unwrap_err();

    assert!(
        matches!(error, Error::InconsistentPaging { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn next_that_does_not_advance_is_inconsistent() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 0, "total": 100}),
    )
    .await;

    let error = client(&server).deals().list().all().await.unwrap_err();

    assert!(
        matches!(error, Error::InconsistentPaging { .. }),
        "{error:?}"
    );
}

/// Serves `crm.item.list` or `crm.deal.list` over a fixed id set, honouring
/// `start=-1`, `order` by id and the `>id` filter, like the portal does.
fn cursor_portal(
    ids: Vec<u64>,
    id_key: &'static str,
    items: bool,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    let mut ids = ids;
    ids.sort_unstable();
    move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).expect("the client sends JSON");
        assert_eq!(body["start"], json!(-1), "fast paging must send start=-1");
        assert_eq!(body["order"][id_key], json!("ASC"));
        let after = body["filter"][format!(">{id_key}")].as_u64().unwrap_or(0);
        let rows: Vec<Value> = ids
            .iter()
            .filter(|id| **id > after)
            .take(50)
            .map(|id| {
                if items {
                    json!({ id_key: id })
                } else {
                    json!({ id_key: id.to_string() })
                }
            })
            .collect();
        let result = if items {
            json!({"items": rows})
        } else {
            Value::Array(rows)
        };
        ResponseTemplate::new(200).set_body_json(json!({"result": result, "total": 0}))
    }
}

#[tokio::test]
async fn b14_fast_cursor_uses_max_id() {
    let server = portal().await;
    let ids: Vec<u64> = (0..53).map(|index| 612 + index * 10).collect();
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .respond_with(cursor_portal(ids.clone(), "ID", false))
        .expect(2)
        .mount(&server)
        .await;

    let deals: Vec<_> = client(&server)
        .deals()
        .list()
        .select(["ID"])
        .stream_fast()
        .try_collect()
        .await
        .unwrap();

    let received: Vec<u64> = deals.iter().map(|deal| deal.id.get()).collect();
    assert_eq!(received, ids);
    let sent = bodies(&server, "crm.deal.list").await;
    assert_eq!(sent[0]["filter"], Value::Null);
    assert_eq!(sent[1]["filter"][">ID"], json!(ids[49]));
}

#[tokio::test]
async fn b14_repeated_first_page_is_inconsistent() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .respond_with(json_response(
            200,
            json!({"result": deal_rows(612..662), "total": 0}),
        ))
        .expect(2)
        .mount(&server)
        .await;

    let error = client(&server)
        .deals()
        .list()
        .stream_fast()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::InconsistentPaging { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn fast_items_use_lowercase_id() {
    let server = portal().await;
    let ids: Vec<u64> = (1..=75).collect();
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .and(body_partial_json(json!({"entityTypeId": 31})))
        .respond_with(cursor_portal(ids.clone(), "id", true))
        .expect(2)
        .mount(&server)
        .await;

    let items: Vec<_> = client(&server)
        .items()
        .list(EntityType::SmartInvoice)
        .select(["title"])
        .stream_fast()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(items.iter().map(|item| item.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        bodies(&server, "crm.item.list").await[0]["select"],
        json!(["title", "id"])
    );
}

#[tokio::test]
async fn stream_is_lazy() {
    let server = portal().await;
    mount_page(
        &server,
        0,
        json!({"result": deal_rows(1..=50), "next": 50, "total": 100}),
    )
    .await;

    let mut stream = Box::pin(client(&server).deals().list().stream());
    let first = stream.next().await.unwrap().unwrap();

    assert_eq!(first.id.get(), 1);
    drop(stream);
    assert_eq!(bodies(&server, "crm.deal.list").await.len(), 1);
}

#[tokio::test]
async fn list_query_reads_rows_under_a_key() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.category.list")))
        .respond_with(json_response(
            200,
            common::fixture("crm.category.list.deal.response.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let query = ListQuery::new(
        "crm.category.list",
        json!({"entityTypeId": 2}),
        Rows::Field("categories"),
        "id",
    )
    .unwrap();

    let pages: Vec<_> = query.pages(&client).try_collect().await.unwrap();

    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].rows.len(), 4);
    assert_eq!(pages[0].total, Some(4));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn b14_cursor_ids_unique_and_increasing(ids in prop::collection::btree_set(1u64..1_000_000, 0..180)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ids: Vec<u64> = ids.into_iter().collect();

        let received = runtime.block_on(async {
            let server = MockServer::start().await;
            let seen = Arc::new(Mutex::new(0usize));
            let counter = seen.clone();
            let serve = cursor_portal(ids.clone(), "ID", false);
            Mock::given(method("POST"))
                .and(path(method_path("crm.deal.list")))
                .respond_with(move |request: &Request| {
                    *counter.lock().unwrap() += 1;
                    serve(request)
                })
                .mount(&server)
                .await;
            let deals: Vec<_> = client(&server).deals().list().stream_fast().try_collect().await.unwrap();
            let requests = *seen.lock().unwrap();
            (deals.iter().map(|deal| deal.id.get()).collect::<Vec<u64>>(), requests)
        });

        prop_assert_eq!(&received.0, &ids);
        prop_assert!(received.0.windows(2).all(|pair| pair[0] < pair[1]));
        prop_assert_eq!(received.1, ids.len() / 50 + 1);
    }
}
