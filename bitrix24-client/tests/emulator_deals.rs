//! Deal and invoice reads and writes: paging, filters, select, order,
//! legacy and universal updates, parameter spellings and body encodings.

mod emulator_support;

use bitrix24_client::emulator::{
    NewDeal, NewLegacyInvoice, NewSmartInvoice, Seed, StageSpec, UfValue, seed,
};
use emulator_support::*;
use serde_json::{Value, json};

fn generate(emulator: &bitrix24_client::emulator::Emulator, count: u64) {
    emulator
        .portal()
        .generate_deals(count, &NewDeal::new("Bulk"))
        .expect("test setup failed");
}

#[tokio::test]
async fn list_pages_by_fifty_with_next_and_total() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 120);

    let first = call(&emulator, "crm.deal.list", json!({"select": ["ID"]}))
        .await
        .1;
    let second = call(
        &emulator,
        "crm.deal.list",
        json!({"select": ["ID"], "start": 50}),
    )
    .await
    .1;
    let last = call(
        &emulator,
        "crm.deal.list",
        json!({"select": ["ID"], "start": 100}),
    )
    .await
    .1;

    assert_eq!(ids_of(&first["result"], "ID"), (1..=50).collect::<Vec<_>>());
    assert_eq!(first["next"], json!(50));
    assert_eq!(first["total"], json!(120));
    assert_eq!(
        ids_of(&second["result"], "ID"),
        (51..=100).collect::<Vec<_>>()
    );
    assert_eq!(
        ids_of(&last["result"], "ID"),
        (101..=120).collect::<Vec<_>>()
    );
    assert!(last.get("next").is_none());
}

#[tokio::test]
async fn start_is_rounded_down_to_fifty() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 80);

    let body = call(
        &emulator,
        "crm.deal.list",
        json!({"select": ["ID"], "start": 73}),
    )
    .await
    .1;

    assert_eq!(ids_of(&body["result"], "ID")[0], 51);
}

#[tokio::test]
async fn fast_mode_walks_by_id_cursor() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 53);

    let mut seen: Vec<u64> = Vec::new();
    let mut cursor = 0;
    loop {
        let filter = json!({">ID": cursor});
        let body = call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["ID"], "filter": filter, "order": {"ID": "ASC"}, "start": -1}),
        )
        .await
        .1;
        assert_eq!(body["total"], json!(0));
        assert!(body.get("next").is_none());
        let ids = ids_of(&body["result"], "ID");
        seen.extend(&ids);
        if ids.len() < 50 {
            break;
        }
        cursor = *ids.iter().max().unwrap();
    }

    assert_eq!(seen, (1..=53).collect::<Vec<_>>());
}

#[tokio::test]
async fn item_list_pages_and_fast_mode() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 60);

    let paged = call(
        &emulator,
        "crm.item.list",
        json!({"entityTypeId": 2, "select": ["id"], "start": 50}),
    )
    .await
    .1;
    let fast = call(
        &emulator,
        "crm.item.list",
        json!({"entityTypeId": 2, "select": ["id"], "filter": {">id": 55}, "start": -1}),
    )
    .await
    .1;

    assert_eq!(
        ids_of(&paged["result"]["items"], "id"),
        (51..=60).collect::<Vec<_>>()
    );
    assert_eq!(paged["total"], json!(60));
    assert_eq!(
        ids_of(&fast["result"]["items"], "id"),
        (56..=60).collect::<Vec<_>>()
    );
    assert_eq!(fast["total"], json!(0));
}

#[tokio::test]
async fn unknown_filter_keys_are_dropped() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 5);

    let typo = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {"TITEL": "nothing"}}),
    )
    .await
    .1;
    let lower = call(&emulator, "crm.deal.list", json!({"filter": {"id": 3}}))
        .await
        .1;

    assert_eq!(typo["total"], json!(5));
    assert_eq!(
        lower["total"],
        json!(5),
        "legacy filter keys are UPPER_CASE"
    );
}

#[tokio::test]
async fn filter_operators_select_the_right_rows() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 10);
    emulator.portal().set_title(4, "Иванов Иван").unwrap();

    let cases = [
        (json!({">ID": 8}), vec![9, 10]),
        (json!({">=ID": 8}), vec![8, 9, 10]),
        (json!({"<ID": 3}), vec![1, 2]),
        (json!({"<=ID": 2}), vec![1, 2]),
        (json!({"=ID": 5}), vec![5]),
        (json!({"ID": "5"}), vec![5]),
        (json!({"!ID": 5, "<ID": 7}), vec![1, 2, 3, 4, 6]),
        (json!({"!=ID": 1, "<ID": 3}), vec![2]),
        (json!({"@ID": [2, 4, 6]}), vec![2, 4, 6]),
        (json!({"!@ID": [2, 4, 6], "<ID": 6}), vec![1, 3, 5]),
        (json!({"%TITLE": "иванов"}), vec![4]),
        (json!({"=%TITLE": "Иван%"}), vec![4]),
        (json!({"TITLE": "Bulk #7"}), vec![7]),
        (json!({"><ID": [3, 5]}), vec![3, 4, 5]),
    ];
    for (filter, expected) in cases {
        let body = call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["ID"], "filter": filter}),
        )
        .await
        .1;
        assert_eq!(ids_of(&body["result"], "ID"), expected, "filter {filter}");
    }
}

#[tokio::test]
async fn filters_by_stage_category_and_user_field() {
    let emulator = start(Seed::Demo).await;
    let trigger = emulator
        .portal()
        .enum_item_id(seed::FIELD_CREATE_ACCOUNT, seed::CREATE_ACCOUNT_VALUE)
        .unwrap();

    let in_pipeline = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {"CATEGORY_ID": 7}}),
    )
    .await
    .1;
    let debtors = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {"STAGE_ID": seed::STAGE_DEBTOR}}),
    )
    .await
    .1;
    let triggered = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {seed::FIELD_CREATE_ACCOUNT: trigger}}),
    )
    .await
    .1;
    let empty_message = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {seed::FIELD_MESSAGE: ""}}),
    )
    .await
    .1;

    assert_eq!(in_pipeline["total"], json!(4));
    assert_eq!(debtors["total"], json!(1));
    assert_eq!(triggered["total"], json!(5));
    assert_eq!(empty_message["total"], json!(3));
}

#[tokio::test]
async fn filters_by_modification_time() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 3);
    let before =
        call(&emulator, "crm.deal.get", json!({"id": 1})).await.1["result"]["DATE_MODIFY"].clone();

    let since_offset = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {">=DATE_MODIFY": before}}),
    )
    .await
    .1;
    let future = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {">DATE_MODIFY": "2100-01-01 00:00:00"}}),
    )
    .await
    .1;
    let past = call(
        &emulator,
        "crm.deal.list",
        json!({"filter": {">DATE_MODIFY": "01.01.2000 00:00:00"}}),
    )
    .await
    .1;

    assert_eq!(since_offset["total"], json!(3));
    assert_eq!(future["total"], json!(0));
    assert_eq!(past["total"], json!(3));
}

#[tokio::test]
async fn order_sorts_by_several_fields_in_given_order() {
    let emulator = start(Seed::Empty).await;
    generate(&emulator, 4);
    let portal = emulator.portal();
    portal.set_title(1, "b").unwrap();
    portal.set_title(2, "a").unwrap();
    portal.set_title(3, "b").unwrap();
    portal.set_title(4, "a").unwrap();

    let body = r#"{"select": ["ID"], "order": {"TITLE": "DESC", "ID": "DESC"}}"#;
    let rows = result(call_raw(&emulator, "crm.deal.list", body).await);
    let desc = result(
        call(
            &emulator,
            "crm.deal.list",
            json!({"order": {"ID": "DESC"}, "select": ["ID"]}),
        )
        .await,
    );

    assert_eq!(ids_of(&rows, "ID"), vec![3, 1, 4, 2]);
    assert_eq!(ids_of(&desc, "ID"), vec![4, 3, 2, 1]);
}

#[tokio::test]
async fn select_masks_choose_fields() {
    let emulator = start(Seed::Demo).await;

    let star = result(
        call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["*"], "filter": {"ID": 1}}),
        )
        .await,
    );
    let uf = result(
        call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["UF_*"], "filter": {"ID": 1}}),
        )
        .await,
    );
    let named = result(
        call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["TITLE", "NOPE"], "filter": {"ID": 1}}),
        )
        .await,
    );
    let default = result(call(&emulator, "crm.deal.list", json!({"filter": {"ID": 1}})).await);

    assert!(star[0].get("TITLE").is_some());
    assert!(star[0].get(seed::FIELD_MESSAGE).is_none());
    assert!(uf[0].get(seed::FIELD_MESSAGE).is_some());
    assert!(uf[0].get("TITLE").is_none());
    assert_eq!(
        named[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["ID", "TITLE"]
    );
    assert!(default[0].get("TITLE").is_some());
    assert!(default[0].get(seed::FIELD_MESSAGE).is_some());
    assert_eq!(
        uf[0][seed::FIELD_MESSAGE],
        Value::Null,
        "list rows show null for empty fields"
    );
}

#[tokio::test]
async fn legacy_parameters_are_case_insensitive() {
    let emulator = start(Seed::Demo).await;

    let upper = call(&emulator, "crm.deal.get", json!({"ID": 2})).await;
    let lower = call(&emulator, "crm.deal.get", json!({"id": 2})).await;
    let update = call(
        &emulator,
        "crm.deal.update",
        json!({"ID": 2, "FIELDS": {"TITLE": "x"}}),
    )
    .await;
    let item_upper = call(
        &emulator,
        "crm.item.get",
        json!({"ENTITYTYPEID": 2, "ID": 2}),
    )
    .await;

    assert_eq!(upper.0, 200);
    assert_eq!(upper.1["result"], lower.1["result"]);
    assert_eq!(update.0, 200);
    assert_eq!(item_upper.0, 400, "crm.item.* parameter names are exact");
}

#[tokio::test]
async fn method_names_ignore_case_and_json_suffix() {
    let emulator = start(Seed::Demo).await;

    let (status, _) = call(&emulator, "CRM.Deal.Get.json", json!({"id": 1})).await;

    assert_eq!(status, 200);
}

#[tokio::test]
async fn form_and_query_string_bodies_are_accepted() {
    let emulator = start(Seed::Demo).await;

    let literal = call_form(
        &emulator,
        "crm.deal.update",
        "id=1&fields[TITLE]=My%20company&fields[COMMENTS]=a+b",
    )
    .await;
    let encoded = call_form(
        &emulator,
        "crm.deal.update",
        "id=2&fields%5BTITLE%5D=Encoded",
    )
    .await;
    let query = call_get(
        &emulator,
        "crm.deal.list?select[]=ID&select[]=TITLE&filter[ID]=1",
    )
    .await;

    assert_eq!(literal.0, 200);
    assert_eq!(encoded.0, 200);
    let rows = result(query);
    assert_eq!(rows[0]["TITLE"], json!("My company"));
    let deal = result(call(&emulator, "crm.deal.get", json!({"id": 1})).await);
    assert_eq!(deal["COMMENTS"], json!("a b"));
    assert_eq!(emulator.portal().deal(2).unwrap().title, "Encoded");
}

#[tokio::test]
async fn update_ignores_unknown_and_read_only_fields() {
    let emulator = start(Seed::Demo).await;
    let before = emulator.portal().deal(1).unwrap();

    let (status, body) = call(&emulator, "crm.deal.update", json!({"id": 1, "fields": {"NOPE": 1, "ID": 99, "DATE_CREATE": "2000-01-01", "CATEGORY_ID": 0}})).await;

    assert_eq!(status, 200);
    assert_eq!(body["result"], json!(true));
    let after = emulator.portal().deal(1).unwrap();
    assert_eq!(
        after.pipeline, before.pipeline,
        "CATEGORY_ID cannot change through crm.deal.update"
    );
    assert!(emulator.portal().deal(99).is_none());
}

#[tokio::test]
async fn update_errors_have_empty_codes() {
    let emulator = start(Seed::Demo).await;

    let missing = call(
        &emulator,
        "crm.deal.update",
        json!({"id": 999, "fields": {"TITLE": "x"}}),
    )
    .await;
    let no_id = call(
        &emulator,
        "crm.deal.update",
        json!({"fields": {"TITLE": "x"}}),
    )
    .await;
    let wrong_stage = call(
        &emulator,
        "crm.deal.update",
        json!({"id": 1, "fields": {"STAGE_ID": "WON"}}),
    )
    .await;

    assert_eq!(
        missing,
        (400, json!({"error": "", "error_description": "Not found"}))
    );
    assert_eq!(no_id.0, 400);
    assert_eq!(no_id.1["error"], json!(""));
    assert_eq!(wrong_stage.0, 400);
    assert_eq!(wrong_stage.1["error"], json!(""));
}

#[tokio::test]
async fn update_writes_user_fields_by_type() {
    let emulator = start(Seed::Demo).await;
    let trigger = emulator
        .portal()
        .enum_item_id(seed::FIELD_CREATE_ACCOUNT, seed::CREATE_ACCOUNT_VALUE)
        .unwrap();
    let fields = json!({
        seed::FIELD_LOGIN: "client-6",
        seed::FIELD_LAST_LOGIN: "2025-03-01T10:00:00+03:00",
        seed::FIELD_CONTRACT_SUM: "150000",
        seed::FIELD_CREATE_ACCOUNT: trigger,
        "STAGE_ID": "PREPARATION",
    });

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": 6, "fields": fields}),
        )
        .await,
    );

    let row = result(call(&emulator, "crm.deal.get", json!({"id": 6})).await);
    assert_eq!(row[seed::FIELD_LOGIN], json!("client-6"));
    assert_eq!(
        row[seed::FIELD_LAST_LOGIN],
        json!("2025-03-01T10:00:00+03:00")
    );
    assert_eq!(row[seed::FIELD_CONTRACT_SUM], json!("150000|RUB"));
    assert_eq!(row[seed::FIELD_CREATE_ACCOUNT], json!(trigger.to_string()));
    assert_eq!(row["STAGE_ID"], json!("PREPARATION"));
    assert_eq!(row["STAGE_SEMANTIC_ID"], json!("P"));
}

#[tokio::test]
async fn stage_semantics_follow_the_stage() {
    let emulator = start(Seed::Demo).await;

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": 1, "fields": {"STAGE_ID": seed::STAGE_CLIENT_REFUSED}}),
        )
        .await,
    );

    let row = result(call(&emulator, "crm.deal.get", json!({"id": 1})).await);
    assert_eq!(row["STAGE_SEMANTIC_ID"], json!("F"));
    assert_eq!(row["CLOSED"], json!("Y"));
}

#[tokio::test]
async fn datetimes_use_the_configured_offset() {
    let options = bitrix24_client::emulator::EmulatorOptions::default()
        .rate_limit(bitrix24_client::emulator::RateLimit::Off)
        .seed(Seed::Demo)
        .utc_offset(jiff::tz::Offset::constant(2));
    let emulator = start_with(options).await;

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": 1, "fields": {seed::FIELD_LAST_LOGIN: "2025-03-01T10:00:00+03:00"}}),
        )
        .await,
    );

    let row = result(call(&emulator, "crm.deal.get", json!({"id": 1})).await);
    assert_eq!(
        row[seed::FIELD_LAST_LOGIN],
        json!("2025-03-01T09:00:00+02:00")
    );
    assert!(row["DATE_MODIFY"].as_str().unwrap().ends_with("+02:00"));
    assert!(
        row["BEGINDATE"]
            .as_str()
            .unwrap()
            .ends_with("T02:00:00+02:00")
    );
}

#[tokio::test]
async fn item_get_uses_camel_case_and_numbers() {
    let emulator = start(Seed::Demo).await;

    let item = result(
        call(
            &emulator,
            "crm.item.get",
            json!({"entityTypeId": 2, "id": 2}),
        )
        .await,
    )["item"]
        .clone();
    let original = result(
        call(
            &emulator,
            "crm.item.get",
            json!({"entityTypeId": 2, "id": 2, "useOriginalUfNames": "Y"}),
        )
        .await,
    )["item"]
        .clone();

    assert_eq!(item["id"], json!(2));
    assert_eq!(item["categoryId"], json!(7));
    assert_eq!(item["stageId"], json!(seed::STAGE_RESTRUCTURING));
    assert_eq!(item["ufCrm_1725026451112"], json!("180000|RUB"));
    assert!(item["ufCrm_1708509490009"].is_array());
    assert_eq!(item["entityTypeId"], json!(2));
    assert!(original.get("UF_CRM_1725026451112").is_some());
    assert!(original.get("ufCrm_1725026451112").is_none());
}

#[tokio::test]
async fn item_select_returns_only_selected_keys() {
    let emulator = start(Seed::Demo).await;

    let rows = result(
        call(
            &emulator,
            "crm.item.list",
            json!({"entityTypeId": 2, "select": ["stageId"]}),
        )
        .await,
    );
    let original = result(
        call(
            &emulator,
            "crm.item.list",
            json!({"entityTypeId": 2, "select": ["*"], "useOriginalUfNames": "Y"}),
        )
        .await,
    );

    assert_eq!(
        rows["items"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["stageId"]
    );
    assert!(
        original["items"][0].get("title").is_none(),
        "system fields vanish with useOriginalUfNames=Y"
    );
    assert!(original["items"][0].get(seed::FIELD_MESSAGE).is_some());
}

#[tokio::test]
async fn item_update_ignores_legacy_uf_names() {
    let emulator = start(Seed::Demo).await;

    let legacy = json!({"entityTypeId": 2, "id": 1, "fields": {seed::FIELD_LOGIN: "ignored"}});
    result(call(&emulator, "crm.item.update", legacy).await);
    let camel = json!({"entityTypeId": 2, "id": 1, "fields": {"ufCrm_1708511589360": "client-1"}});
    let body = result(call(&emulator, "crm.item.update", camel).await);

    assert_eq!(body["item"]["ufCrm_1708511589360"], json!("client-1"));
    assert_eq!(
        emulator
            .portal()
            .field_text(1, seed::FIELD_LOGIN)
            .as_deref(),
        Some("client-1")
    );
}

#[tokio::test]
async fn item_update_moves_deal_to_another_pipeline() {
    let emulator = start(Seed::Demo).await;

    let fields = json!({"categoryId": 7});
    let body = result(
        call(
            &emulator,
            "crm.item.update",
            json!({"entityTypeId": 2, "id": 5, "fields": fields}),
        )
        .await,
    );

    assert_eq!(body["item"]["categoryId"], json!(7));
    assert_eq!(
        body["item"]["stageId"],
        json!(seed::STAGE_COLLECTING_DOCUMENTS)
    );
}

#[tokio::test]
async fn item_update_rejects_stage_of_other_pipeline() {
    let emulator = start(Seed::Demo).await;

    let (status, body) = call(
        &emulator,
        "crm.item.update",
        json!({"entityTypeId": 2, "id": 1, "fields": {"stageId": "WON"}}),
    )
    .await;

    assert_eq!(status, 400);
    assert!(!body["error"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn empty_list_does_not_clear_multiple_enumeration() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    portal
        .add_user_field(
            bitrix24_client::emulator::UserFieldSpec::new(
                "UF_CRM_TAGS",
                bitrix24_client::emulator::UserFieldType::Enumeration,
            )
            .multiple()
            .items(["a", "b"]),
        )
        .unwrap();
    let deal = portal
        .create_deal(NewDeal::new("x").field("UF_CRM_TAGS", UfValue::EnumLabel("a".into())))
        .unwrap();

    let item = result(
        call(
            &emulator,
            "crm.item.update",
            json!({"entityTypeId": 2, "id": deal, "fields": {"ufCrmTags": []}}),
        )
        .await,
    );
    let legacy = result(call(&emulator, "crm.deal.get", json!({"id": deal})).await);

    assert_eq!(item["item"]["ufCrmTags"], Value::Null);
    assert_eq!(
        legacy["UF_CRM_TAGS"],
        json!([portal.enum_item_id("UF_CRM_TAGS", "a").unwrap().to_string()])
    );

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": deal, "fields": {"UF_CRM_TAGS": []}}),
        )
        .await,
    );
    let cleared = result(call(&emulator, "crm.deal.get", json!({"id": deal})).await);
    assert_eq!(
        cleared["UF_CRM_TAGS"],
        json!(false),
        "the legacy update clears it"
    );
}

#[tokio::test]
async fn smart_invoices_list_by_deal() {
    let emulator = start(Seed::Demo).await;

    let body = call(&emulator, "crm.item.list", json!({"entityTypeId": 31, "filter": {"parentId2": 2}, "select": ["id", "stageId", "opportunity", "parentId2"]})).await.1;

    let items = body["result"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i["parentId2"] == json!(2)));
    assert_eq!(body["total"], json!(3));
    let paid = items
        .iter()
        .filter(|i| i["stageId"].as_str().unwrap().ends_with(":P"))
        .count();
    assert_eq!(paid, 2);
}

#[tokio::test]
async fn smart_invoice_update_changes_stage() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    let invoice = portal
        .add_smart_invoice(NewSmartInvoice::new("x", 100))
        .unwrap();
    let stages = portal.smart_invoice_pipeline().unwrap().stages;
    let paid = stages
        .iter()
        .find(|s| s.id.ends_with(":P"))
        .unwrap()
        .id
        .clone();

    let body = result(
        call(
            &emulator,
            "crm.item.update",
            json!({"entityTypeId": 31, "id": invoice, "fields": {"stageId": paid}}),
        )
        .await,
    );

    assert_eq!(body["item"]["stageId"], json!(paid));
    assert_eq!(body["item"]["previousStageId"], json!(stages[0].id));
    assert!(portal.smart_invoice(invoice).unwrap().paid);
}

#[tokio::test]
async fn unsupported_entity_types_are_not_found() {
    let emulator = start(Seed::Empty).await;

    let (status, body) = call(&emulator, "crm.item.list", json!({"entityTypeId": 177})).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], json!("NOT_FOUND"));
}

#[tokio::test]
async fn legacy_invoices_render_as_strings() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();
    let paid = portal
        .add_legacy_invoice(NewLegacyInvoice::new("Оплата", 15_000).deal(1).status("P"))
        .unwrap();
    portal
        .add_legacy_invoice(NewLegacyInvoice::new("Оплата 2", 5_000).deal(1))
        .unwrap();

    let rows = result(call(&emulator, "crm.invoice.list", json!({"filter": {"UF_DEAL_ID": 1}, "select": ["ID", "STATUS_ID", "PRICE", "PAYED", "UF_DEAL_ID"]})).await);
    let one = result(call(&emulator, "crm.invoice.get", json!({"id": paid})).await);
    let missing = call(&emulator, "crm.invoice.get", json!({"id": 999})).await;

    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["PRICE"], json!("15000.00"));
    assert_eq!(rows[0]["STATUS_ID"], json!("P"));
    assert_eq!(rows[0]["PAYED"], json!("Y"));
    assert_eq!(rows[1]["PAYED"], json!("N"));
    assert_eq!(one["UF_DEAL_ID"], json!("1"));
    assert!(one["DATE_PAYED"].is_string());
    assert_eq!(
        missing,
        (400, json!({"error": "", "error_description": "Not found"}))
    );
}

#[tokio::test]
async fn status_list_is_paged_and_unfiltered_lists_every_directory() {
    let emulator = start(Seed::Demo).await;
    let stages: Vec<_> = (0..15)
        .map(|n| StageSpec::process(format!("UC_S{n}"), format!("Стадия {n}")))
        .collect();
    emulator
        .portal()
        .add_deal_pipeline("Ещё одна воронка", &stages);

    let first = call(&emulator, "crm.status.list", json!({})).await.1;
    let second = call(&emulator, "crm.status.list", json!({"start": 50}))
        .await
        .1;

    assert_eq!(first["result"].as_array().unwrap().len(), 50);
    assert_eq!(first["next"], json!(50));
    let entities: Vec<&str> = first["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ENTITY_ID"].as_str().unwrap())
        .collect();
    assert!(entities.contains(&"SOURCE"));
    assert!(entities.contains(&"DEAL_STAGE"));
    assert_eq!(first["total"], json!(53));
    assert_eq!(second["result"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn debtor_stage_sorts_by_sort_not_by_id() {
    let emulator = start(Seed::Demo).await;

    let by_id = result(
        call(
            &emulator,
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "DEAL_STAGE_7"}}),
        )
        .await,
    );
    let by_sort = result(
        call(
            &emulator,
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "DEAL_STAGE_7"}, "order": {"SORT": "ASC"}}),
        )
        .await,
    );

    let last_by_id = by_id.as_array().unwrap().last().unwrap()["NAME"].clone();
    let names: Vec<&str> = by_sort
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["NAME"].as_str().unwrap())
        .collect();
    assert_eq!(last_by_id, json!("Должник"));
    assert_eq!(names[6], "Должник");
    assert_eq!(names[7], "Завершение процедуры");
}
