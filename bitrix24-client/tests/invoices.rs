//! Smart invoices (entity type 31) and legacy invoices (`crm.invoice.*`).

mod common;

use std::str::FromStr;

use bitrix24_client::{EntityType, Error, Semantics};
use rust_decimal::Decimal;
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::{body_json, body_partial_json, method, path};

use common::{client, fixture, json_response, method_path, ok, portal};

#[tokio::test]
async fn smart_invoice_links_to_its_deal() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.get")))
        .and(body_json(json!({"entityTypeId": 31, "id": 17})))
        .respond_with(json_response(
            200,
            fixture("crm.item.get.smart-invoice.response.SYNTHETIC.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let invoice = client(&server)
        .items()
        .get(EntityType::SmartInvoice, 17)
        .await
        .unwrap();

    assert_eq!(invoice.entity_type_id, Some(EntityType::SmartInvoice));
    assert_eq!(invoice.parent_id(EntityType::Deal), Some(410));
    assert_eq!(invoice.contact_id, Some(5));
    assert_eq!(invoice.opportunity, Some(Decimal::from(150000)));
    assert_eq!(invoice.currency_id.as_deref(), Some("RUB"));
    assert_eq!(invoice.stage_id.as_deref(), Some("DT31_1:P"));
    assert_eq!(invoice.category_id, Some(1));
    assert_eq!(invoice.account_number.as_deref(), Some("17"));
    assert!(invoice.moved_time.is_some());
}

#[tokio::test]
async fn smart_invoices_listed_by_deal() {
    let server = portal().await;
    let invoice =
        fixture("crm.item.get.smart-invoice.response.SYNTHETIC.json")["result"]["item"].clone();
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .and(body_partial_json(
            json!({"entityTypeId": 31, "filter": {"parentId2": 410}}),
        ))
        .respond_with(ok(json!({"items": [invoice]})))
        .expect(1)
        .mount(&server)
        .await;

    let invoices = client(&server)
        .items()
        .list(EntityType::SmartInvoice)
        .filter("parentId2", 410)
        .all()
        .await
        .unwrap();

    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].id, 17);
}

#[tokio::test]
async fn smart_invoice_paid_stage_found_by_semantics() {
    let server = portal().await;
    let stages = json!([
        {"ID": "301", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:N", "NAME": "Новый", "SORT": "10", "SYSTEM": "Y", "CATEGORY_ID": "1", "COLOR": "#22B9FF", "SEMANTICS": null},
        {"ID": "303", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:S", "NAME": "Отправлен", "SORT": "20", "SYSTEM": "N", "CATEGORY_ID": "1", "COLOR": "#2FC6F6", "SEMANTICS": null},
        {"ID": "305", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:P", "NAME": "Оплачен", "SORT": "30", "SYSTEM": "Y", "CATEGORY_ID": "1", "COLOR": "#7BD500", "SEMANTICS": "S"},
        {"ID": "307", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:D", "NAME": "Отклонён", "SORT": "40", "SYSTEM": "Y", "CATEGORY_ID": "1", "COLOR": "#FF5752", "SEMANTICS": "F"}
    ]);
    Mock::given(method("POST"))
        .and(path(method_path("crm.status.list")))
        .and(body_partial_json(
            json!({"filter": {"ENTITY_ID": "SMART_INVOICE_STAGE_1"}}),
        ))
        .respond_with(json_response(200, json!({"result": stages, "total": 4})))
        .expect(1)
        .mount(&server)
        .await;

    let stages = client(&server)
        .statuses()
        .directory("SMART_INVOICE_STAGE_1")
        .await
        .unwrap();

    let paid: Vec<&str> = stages
        .iter()
        .filter(|stage| stage.semantics == Semantics::Success)
        .map(|stage| stage.status_id.as_str())
        .collect();
    assert_eq!(paid, ["DT31_1:P"]);
}

fn legacy_rows() -> serde_json::Value {
    json!([
        {"ID": "17", "ACCOUNT_NUMBER": "17", "ORDER_TOPIC": "Оплата услуг", "STATUS_ID": "P", "PRICE": "50000.00",
         "CURRENCY": "RUB", "PAYED": "Y", "DATE_PAYED": "2025-03-05T09:30:00+03:00", "DATE_BILL": "2025-03-03T03:00:00+03:00",
         "UF_DEAL_ID": "410", "UF_CONTACT_ID": "5", "UF_COMPANY_ID": "0"},
        {"ID": "18", "ACCOUNT_NUMBER": "18", "ORDER_TOPIC": "Второй платёж", "STATUS_ID": "N", "PRICE": "25000.50",
         "CURRENCY": "RUB", "PAYED": "N", "DATE_PAYED": "", "DATE_BILL": "", "UF_DEAL_ID": "410", "UF_CONTACT_ID": null}
    ])
}

#[tokio::test]
async fn legacy_invoices_listed_by_deal() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.invoice.list")))
        .and(body_partial_json(json!({"filter": {"UF_DEAL_ID": 410}})))
        .respond_with(json_response(
            200,
            json!({"result": legacy_rows(), "total": 2}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let invoices = client(&server)
        .legacy_invoices()
        .list()
        .filter("UF_DEAL_ID", 410)
        .all()
        .await
        .unwrap();

    assert_eq!(invoices.len(), 2);
    assert!(invoices[0].is_paid());
    assert!(!invoices[1].is_paid());
    assert_eq!(
        invoices[0].price,
        Some(Decimal::from_str("50000.00").unwrap())
    );
    assert_eq!(invoices[0].uf_deal_id, Some(410));
    assert_eq!(invoices[0].uf_contact_id, Some(5));
    assert!(invoices[0].date_payed.is_some());
    assert_eq!(invoices[1].date_payed, None);
    assert_eq!(invoices[1].uf_contact_id, None);
    assert_eq!(invoices[1].order_topic.as_deref(), Some("Второй платёж"));
}

#[tokio::test]
async fn legacy_invoice_missing_is_not_found() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.invoice.get")))
        .respond_with(json_response(
            400,
            json!({"error": "", "error_description": "Not found"}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).legacy_invoices().get(99).await.unwrap_err();

    assert!(error.is_not_found(), "{error:?}");
}

#[tokio::test]
async fn b36_invoice_entity_types_are_distinct() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .and(body_partial_json(json!({"entityTypeId": 5})))
        .respond_with(json_response(400, json!({"error": "ENTITY_TYPE_NOT_SUPPORTED", "error_description": "Entity type 5 is not supported"})))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .items()
        .list(EntityType::LegacyInvoice)
        .all()
        .await
        .unwrap_err();

    assert_eq!(EntityType::SmartInvoice.id(), 31);
    assert_eq!(EntityType::LegacyInvoice.id(), 5);
    assert_eq!(EntityType::from_id(31), EntityType::SmartInvoice);
    assert!(
        matches!(&error, Error::Api { error, .. } if error.code == "ENTITY_TYPE_NOT_SUPPORTED"),
        "{error:?}"
    );
}
