//! `batch`: command order, sections, limits, halting, references, encodings.

mod emulator_support;

use bitrix24_client::emulator::{EmulatorOptions, RateLimit, Seed};
use emulator_support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn commands_run_in_sent_order_with_references() {
    let emulator = start(Seed::Demo).await;
    let body = r#"{"cmd": {
        "z_deal": "crm.deal.get?id=2",
        "a_contact_deals": "crm.deal.list?select[]=ID&filter[CONTACT_ID]=$result[z_deal][CONTACT_ID]"
    }}"#;

    let sections = result(call_raw(&emulator, "batch", body).await);

    assert_eq!(
        ids_of(&sections["result"]["a_contact_deals"], "ID"),
        vec![2]
    );
    assert_eq!(sections["result_total"]["a_contact_deals"], json!(1));
}

#[tokio::test]
async fn list_commands_fill_total_and_next() {
    let emulator = start(Seed::Empty).await;
    emulator
        .portal()
        .generate_deals(70, &bitrix24_client::emulator::NewDeal::new("x"))
        .unwrap();

    let sections = result(
        call(
            &emulator,
            "batch",
            json!({"cmd": ["crm.deal.list?select[]=ID", "crm.deal.list?select[]=ID&start=50"]}),
        )
        .await,
    );

    assert_eq!(sections["result"][0].as_array().unwrap().len(), 50);
    assert_eq!(sections["result"][1].as_array().unwrap().len(), 20);
    assert_eq!(sections["result_total"], json!([70, 70]));
    assert_eq!(sections["result_next"], json!([50]));
    assert_eq!(sections["result_time"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn sections_with_gaps_become_objects() {
    let emulator = start(Seed::Demo).await;

    let sections = result(
        call(
            &emulator,
            "batch",
            json!({"cmd": ["crm.deal.get?id=1", "crm.deal.get?id=999", "crm.deal.get?id=2"]}),
        )
        .await,
    );

    assert!(sections["result"].is_object());
    assert_eq!(
        sections["result"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["0", "2"]
    );
    assert_eq!(
        sections["result_error"],
        json!([{"error": "", "error_description": "Not found"}])
            .get(0)
            .map(|e| json!({"1": e}))
            .unwrap()
    );
    assert!(
        sections["result_time"].get("1").is_none(),
        "failed commands have no time"
    );
}

#[tokio::test]
async fn commands_past_fifty_fail_with_length_error() {
    let emulator = start(Seed::Demo).await;
    let commands: Vec<String> = (0..52).map(|_| "crm.deal.get?id=1".to_owned()).collect();

    let (status, body) = call(&emulator, "batch", json!({"cmd": commands})).await;

    assert_eq!(status, 200);
    let sections = &body["result"];
    assert_eq!(sections["result"].as_array().unwrap().len(), 50);
    let errors = sections["result_error"].as_object().unwrap();
    assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["50", "51"]);
    assert_eq!(errors["50"]["error"], json!("ERROR_BATCH_LENGTH_EXCEEDED"));
}

#[tokio::test]
async fn halt_stops_at_first_failure() {
    let emulator = start(Seed::Demo).await;
    let cmd = json!([
        "crm.deal.get?id=1",
        "crm.deal.get?id=999",
        "crm.deal.get?id=2"
    ]);

    let halted = result(call(&emulator, "batch", json!({"halt": 1, "cmd": cmd})).await);
    let string_false = result(call(&emulator, "batch", json!({"halt": "false", "cmd": cmd})).await);
    let not_halted = result(call(&emulator, "batch", json!({"halt": 0, "cmd": cmd})).await);

    assert_eq!(halted["result"].as_array().unwrap().len(), 1);
    assert_eq!(
        string_false["result"].as_array().unwrap().len(),
        1,
        "PHP reads the string \"false\" as true"
    );
    assert_eq!(not_halted["result"].as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn nested_batch_and_downloads_are_refused() {
    let emulator = start(Seed::Demo).await;

    let sections = result(call(&emulator, "batch", json!({"cmd": {"inner": "batch?cmd[0]=crm.deal.get%3Fid%3D1", "file": "crm.controller.item.getFile?entityTypeId=2&id=1&fieldName=X&fileId=1"}})).await);

    assert_eq!(
        sections["result_error"]["inner"]["error"],
        json!("ERROR_BATCH_METHOD_NOT_ALLOWED")
    );
    assert_eq!(
        sections["result_error"]["file"]["error"],
        json!("ERROR_BATCH_METHOD_NOT_ALLOWED")
    );
}

#[tokio::test]
async fn form_encoded_commands_are_decoded_twice() {
    let emulator = start(Seed::Demo).await;
    let line = fixture_line("batch.request.query-string.txt");
    let command = line.replace("crm.lead.add%3F", "crm.deal.update%3Fid%3D1%26");

    let sections = result(call_form(&emulator, "batch", &command).await);

    assert_eq!(sections["result"], json!([true]));
    assert_eq!(emulator.portal().deal(1).unwrap().title, "Ivan&Martin");
}

#[tokio::test]
async fn get_query_batch_is_accepted() {
    let emulator = start(Seed::Demo).await;

    let sections = result(
        call_get(
            &emulator,
            "batch?cmd[a]=crm.deal.get%3Fid%3D3&cmd[b]=crm.deal.get%3Fid%3D4",
        )
        .await,
    );

    assert_eq!(sections["result"]["a"]["ID"], json!("3"));
    assert_eq!(sections["result"]["b"]["ID"], json!("4"));
}

#[tokio::test]
async fn batch_counts_once_against_the_rate_limit() {
    let options = EmulatorOptions::default()
        .seed(Seed::Demo)
        .rate_limit(RateLimit::Bucket {
            per_second: 0.001,
            burst: 2,
        });
    let emulator = start_with(options).await;
    let commands: Vec<String> = (0..50)
        .map(|n| format!("crm.deal.get?id={}", n % 6 + 1))
        .collect();

    let first = call(&emulator, "batch", json!({"cmd": commands})).await;
    let second = call(&emulator, "crm.deal.get", json!({"id": 1})).await;
    let third = call(&emulator, "crm.deal.get", json!({"id": 1})).await;

    assert_eq!(first.0, 200);
    assert_eq!(second.0, 200);
    assert_eq!(third.0, 503);
    let counters = emulator.portal().counters();
    assert_eq!(counters.requests, 3);
    assert_eq!(counters.batch_commands, 50);
    assert_eq!(
        counters.by_method["crm.deal.get"], 52,
        "the rejected call is counted too"
    );
    assert_eq!(counters.rate_limited, 1);
}

#[tokio::test]
async fn empty_batch_has_empty_sections() {
    let emulator = start(Seed::Empty).await;

    let sections = result(call(&emulator, "batch", json!({"cmd": {}})).await);

    let empty = json!([]);
    for key in [
        "result",
        "result_error",
        "result_total",
        "result_next",
        "result_time",
    ] {
        assert_eq!(sections[key], empty, "{key}");
    }
    let _: &Value = &sections;
}
