//! The demo data set and behaviour at benchmark scale.

mod emulator_support;

use std::time::{Duration, Instant};

use bitrix24_client::emulator::{NewDeal, Seed, StageSemantics, seed};
use emulator_support::*;
use serde_json::json;

#[tokio::test]
async fn demo_has_the_firm_pipelines_and_fields() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();

    let pipelines = portal.deal_pipelines();
    let execution = pipelines
        .iter()
        .find(|p| p.name == seed::EXECUTION_PIPELINE_NAME)
        .unwrap();
    let names: Vec<&str> = execution.stages.iter().map(|s| s.name.as_str()).collect();

    assert_eq!(execution.id, seed::EXECUTION_PIPELINE_ID);
    assert_eq!(portal.deal_pipeline_by_name("Продажи"), Some(0));
    assert_eq!(
        names[..4],
        [
            "Сбор документов",
            "Подготовка заявления",
            "Подача в суд",
            "Проверка обоснованности"
        ]
    );
    assert!(names.contains(&seed::DEBTOR_STAGE_NAME));
    let success: Vec<&str> = execution
        .stages
        .iter()
        .filter(|s| s.semantics == StageSemantics::Success)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(success, vec!["Завершение процедуры"]);
    assert!(
        execution
            .stages
            .iter()
            .any(|s| s.name == "Отказ клиента" && s.semantics == StageSemantics::Failure)
    );
    assert!(
        portal
            .enum_item_id(seed::FIELD_CREATE_ACCOUNT, "Создать")
            .is_some()
    );

    let fields = result(call(&emulator, "crm.deal.userfield.list", json!({})).await);
    let documents = fields
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["USER_TYPE_ID"] == json!("file") && f["MULTIPLE"] == json!("Y"))
        .count();
    assert_eq!(documents, 16);
}

#[tokio::test]
async fn demo_clients_cover_every_state() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();

    let deals: Vec<_> = portal
        .deal_ids()
        .into_iter()
        .map(|id| portal.deal(id).unwrap())
        .collect();

    assert_eq!(deals.len(), 6);
    let stages: Vec<&str> = deals.iter().map(|d| d.stage.as_str()).collect();
    assert!(stages.contains(&seed::STAGE_COLLECTING_DOCUMENTS));
    assert!(stages.contains(&seed::STAGE_DEBTOR));
    assert!(stages.contains(&seed::STAGE_COMPLETED));
    assert!(
        deals
            .iter()
            .any(|d| d.pipeline == 0 && d.fields[seed::FIELD_CREATE_ACCOUNT] != json!(""))
    );
    assert!(
        deals
            .iter()
            .any(|d| d.fields[seed::FIELD_CREATE_ACCOUNT] == json!(""))
    );
    let mid_case = &deals[1];
    assert!(
        portal
            .field_text(mid_case.id, seed::FIELD_MESSAGE)
            .is_some()
    );
    assert!(
        portal
            .field_text(mid_case.id, seed::FIELD_COURT_LINK)
            .unwrap()
            .starts_with("https://kad.arbitr.ru/")
    );
    assert_eq!(
        portal
            .field_text(mid_case.id, seed::FIELD_CONTRACT_SUM)
            .as_deref(),
        Some("180000|RUB")
    );
    let invoices = portal.smart_invoices_of(mid_case.id);
    assert_eq!(invoices.iter().filter(|i| i.paid).count(), 2);
    assert_eq!(invoices.iter().filter(|i| !i.paid).count(), 1);
    assert!(
        deals
            .iter()
            .all(|d| portal.field_text(d.id, seed::FIELD_LOGIN).is_none()),
        "accounts are created by the cabinet"
    );
    assert_eq!(
        portal.files(mid_case.id, seed::DOCUMENT_FIELDS[0].0).len(),
        2
    );
    assert!(
        portal.files(mid_case.id, seed::DOCUMENT_FIELDS[0].0)[0]
            .bytes
            .starts_with(b"%PDF-1.4")
    );
}

#[tokio::test]
async fn empty_seed_is_a_fresh_portal() {
    let emulator = start(Seed::Empty).await;

    let categories = result(call(&emulator, "crm.category.list", json!({"entityTypeId": 2})).await);
    let fields = result(call(&emulator, "crm.deal.userfield.list", json!({})).await);

    assert_eq!(categories["categories"].as_array().unwrap().len(), 1);
    assert_eq!(fields, json!([]));
    assert_eq!(emulator.portal().deal_count(), 0);
    assert!(emulator.portal().smart_invoice_pipeline().is_some());
}

#[tokio::test]
async fn hundred_thousand_deals_stay_fast_to_query() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();
    let ids = portal
        .generate_deals(
            100_000,
            &NewDeal::new("Bulk").pipeline(seed::EXECUTION_PIPELINE_ID),
        )
        .unwrap();
    assert_eq!(portal.deal_count(), 100_006);
    let last = *ids.end();

    let started = Instant::now();
    let tail = result(
        call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["ID"], "filter": {">ID": last - 10}, "start": -1}),
        )
        .await,
    );
    let one = result(call(&emulator, "crm.deal.get", json!({"id": last})).await);
    let invoices = result(
        call(
            &emulator,
            "crm.item.list",
            json!({"entityTypeId": 31, "filter": {"parentId2": 2}, "select": ["id"]}),
        )
        .await,
    );
    let elapsed = started.elapsed();

    assert_eq!(ids_of(&tail, "ID"), ((last - 9)..=last).collect::<Vec<_>>());
    assert_eq!(one["ID"], json!(last.to_string()));
    assert_eq!(invoices["items"].as_array().unwrap().len(), 3);
    assert!(
        elapsed < Duration::from_secs(5),
        "indexed queries took {elapsed:?}"
    );
}
