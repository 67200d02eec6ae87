//! The `Crm` port over a mock portal: deals, pipelines, invoices, writes and errors.

mod common;

use std::sync::Arc;

use bitrix_lk_core::{
    CategoryId, ChangeNotice, ContactId, Crm, DealFilter, DealId, Error as CoreError, FieldCode,
    FieldKind, FieldValue, FieldWrite, FileId, FileRef, InvoiceId, InvoiceLinkage, InvoiceSource,
    InvoiceStatus, LkConfig, Login, Money, Password, ReferralCode, StageId, StageSemantics,
};
use bitrix24_client::event::parse_event;
use bitrix24_client::lk::{LkCrm, change_notice, event_verifier};
use bitrix24_client::php_query;
use jiff::Timestamp;
use rstest::rstest;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use wiremock::matchers::{body_json, body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::{bodies, fixture, json_response, method_path, ok, portal};

const TRIGGER: &str = "UF_CRM_1708511654449";
const LOGIN: &str = "UF_CRM_1708511589360";
const PASSWORD: &str = "UF_CRM_1708511607581";
const CLIENT_STATUS: &str = "UF_CRM_1709533755311";
const CONTRACT_SUM: &str = "UF_CRM_1725026451112";
const MESSAGE: &str = "UF_CRM_1708511318200";
const COURT_LINK: &str = "UF_CRM_1708511472339";
const LAST_LOGIN: &str = "UF_CRM_1715524078722";
const PASSPORT: &str = "UF_CRM_1708509490009";
const INN: &str = "UF_CRM_1708509740365";

fn config() -> LkConfig {
    let mut config = LkConfig::default();
    config.invoices.source = InvoiceSource::Smart;
    config
}

fn adapter(server: &MockServer, config: LkConfig) -> LkCrm {
    LkCrm::new(common::client(server), Arc::new(config))
}

fn user_field(id: u64, name: &str, kind: &str, multiple: bool, items: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|(id, value)| json!({"ID": id, "VALUE": value, "SORT": "10", "DEF": "N"}))
        .collect();
    let mut field = json!({
        "ID": id.to_string(), "ENTITY_ID": "CRM_DEAL", "FIELD_NAME": name, "USER_TYPE_ID": kind,
        "MULTIPLE": if multiple { "Y" } else { "N" }, "MANDATORY": "N", "SETTINGS": {},
        "EDIT_FORM_LABEL": name, "LIST_COLUMN_LABEL": name
    });
    if !list.is_empty() {
        field["LIST"] = Value::Array(list);
    }
    field
}

/// Returns the firm's deal user fields, with the last-login field of the given type.
fn firm_user_fields(last_login_type: &str) -> Value {
    json!([
        user_field(
            1,
            TRIGGER,
            "enumeration",
            false,
            &[("101", "Создать"), ("102", "Не создавать")]
        ),
        user_field(2, LOGIN, "string", false, &[]),
        user_field(3, PASSWORD, "string", false, &[]),
        user_field(4, CLIENT_STATUS, "string", false, &[]),
        user_field(5, CONTRACT_SUM, "money", false, &[]),
        user_field(6, MESSAGE, "string", false, &[]),
        user_field(7, COURT_LINK, "url", false, &[]),
        user_field(8, LAST_LOGIN, last_login_type, false, &[]),
        user_field(9, PASSPORT, "file", true, &[]),
        user_field(10, INN, "file", false, &[]),
    ])
}

async fn mount_user_fields(server: &MockServer, last_login_type: &str) {
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.userfield.list")))
        .respond_with(json_response(
            200,
            json!({"result": firm_user_fields(last_login_type), "total": 10}),
        ))
        .expect(1)
        .mount(server)
        .await;
}

fn deal_row(id: u64, modified: &str) -> Value {
    json!({
        "ID": id.to_string(), "TITLE": format!("Банкротство {id}"), "STAGE_ID": "C5:PREPARATION", "CATEGORY_ID": "5",
        "CONTACT_ID": "84", "DATE_MODIFY": modified,
        TRIGGER: "101", CONTRACT_SUM: "150000|RUB", COURT_LINK: "https://kad.arbitr.ru/Card/0b3c", MESSAGE: "Ждём документы",
        CLIENT_STATUS: null, LAST_LOGIN: "", INN: null,
        PASSPORT: [{"id": 37377, "showUrl": "/bitrix/components/bitrix/crm.deal.show/show_file.php?ownerId=410&fieldName=UF_CRM_1708509490009&dynamic=Y&fileId=37377",
                    "downloadUrl": "/bitrix/components/bitrix/crm.deal.show/show_file.php?auth=&ownerId=410&fieldName=UF_CRM_1708509490009&dynamic=Y&fileId=37377"}]
    })
}

/// Responds to `batch` by running `handler` on each command's method and decoded parameters.
/// `Err` bodies go to `result_error`.
fn batch_responder(
    handler: impl Fn(&str, &Value) -> Result<Value, Value> + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).expect("the client sends JSON");
        let mut results = Map::new();
        let mut errors = Map::new();
        for (key, command) in body["cmd"].as_object().expect("cmd is an object") {
            let command = command.as_str().expect("commands are strings");
            let (rest_method, query) = command.split_once('?').unwrap_or((command, ""));
            let params = php_query::decode(query).expect("commands are PHP query strings");
            match handler(rest_method, &params) {
                Ok(result) => results.insert(key.clone(), result),
                Err(error) => errors.insert(key.clone(), error),
            };
        }
        ResponseTemplate::new(200).set_body_json(json!({"result": {
            "result": results, "result_error": errors, "result_total": [], "result_next": [], "result_time": []
        }}))
    }
}

#[tokio::test]
async fn deal_maps_configured_fields() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .and(body_json(json!({"id": 410})))
        .respond_with(ok(deal_row(410, "2025-04-29T13:03:20+03:00")))
        .expect(1)
        .mount(&server)
        .await;
    mount_user_fields(&server, "datetime").await;

    let deal = adapter(&server, config())
        .deal(DealId(410))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(deal.id, DealId(410));
    assert_eq!(deal.title, "Банкротство 410");
    assert_eq!(deal.category_id, CategoryId(5));
    assert_eq!(deal.stage_id, StageId::from("C5:PREPARATION"));
    assert_eq!(deal.contact_id, Some(ContactId(84)));
    assert_eq!(
        deal.modified_at,
        Some("2025-04-29T10:03:20Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(
        deal.field(&FieldCode::from(TRIGGER)),
        &FieldValue::Enum {
            id: "101".into(),
            label: Some("Создать".into())
        }
    );
    assert_eq!(
        deal.field(&FieldCode::from(CONTRACT_SUM)),
        &FieldValue::Money(Money::rub(Decimal::from(150000)))
    );
    assert_eq!(
        deal.field(&FieldCode::from(COURT_LINK)),
        &FieldValue::Text("https://kad.arbitr.ru/Card/0b3c".into())
    );
    assert_eq!(
        deal.field(&FieldCode::from(PASSPORT)),
        &FieldValue::Files(vec![FileRef {
            id: FileId(37377),
            name: None
        }])
    );
    assert_eq!(deal.field(&FieldCode::from(INN)), &FieldValue::Empty);
    assert_eq!(
        deal.field(&FieldCode::from(CLIENT_STATUS)),
        &FieldValue::Empty
    );
    assert_eq!(deal.field(&FieldCode::from(LAST_LOGIN)), &FieldValue::Empty);
}

#[tokio::test]
async fn missing_deal_is_none() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .respond_with(json_response(
            400,
            fixture("error.crm.deal.get.not-found.http400.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let deal = adapter(&server, config()).deal(DealId(404)).await.unwrap();

    assert!(deal.is_none());
}

#[tokio::test]
async fn deals_by_id_in_one_batch() {
    let server = portal().await;
    mount_user_fields(&server, "datetime").await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(batch_responder(|rest_method, params| {
            assert_eq!(rest_method, "crm.deal.list");
            let select = params["select"].as_array().expect("select is sent");
            assert!(
                select.contains(&json!(TRIGGER))
                    && select.contains(&json!(PASSPORT))
                    && select.contains(&json!("DATE_MODIFY"))
            );
            let rows: Vec<Value> = params["filter"]["@ID"]
                .as_array()
                .expect("ids are sent as @ID")
                .iter()
                .filter_map(|id| id.as_str()?.parse::<u64>().ok())
                .filter(|id| id % 10 != 0)
                .map(|id| deal_row(id, "2025-04-29T13:03:20+03:00"))
                .collect();
            Ok(Value::Array(rows))
        }))
        .expect(1)
        .mount(&server)
        .await;
    let ids: Vec<DealId> = (1..=120).chain([5, 7]).map(DealId).collect();

    let deals = adapter(&server, config()).deals(&ids).await.unwrap();

    assert_eq!(deals.len(), 108);
    assert!(deals.iter().all(|deal| deal.id.get() % 10 != 0));
    let commands = bodies(&server, "batch").await[0]["cmd"]
        .as_object()
        .unwrap()
        .len();
    assert_eq!(commands, 3);
}

#[tokio::test]
async fn few_deals_by_id_in_one_list() {
    let server = portal().await;
    mount_user_fields(&server, "datetime").await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .and(body_partial_json(json!({"filter": {"@ID": [3, 4]}})))
        .respond_with(ok(json!([deal_row(3, "2025-04-29T13:03:20+03:00")])))
        .expect(1)
        .mount(&server)
        .await;

    let deals = adapter(&server, config())
        .deals(&[DealId(4), DealId(3)])
        .await
        .unwrap();

    assert_eq!(deals.len(), 1);
}

/// Returns a deal table of ids 1..=count that serves `crm.deal.list` by `>ID` and offset.
fn deal_table(
    count: u64,
    modified: &'static str,
) -> impl Fn(&Value) -> Value + Clone + Send + Sync + 'static {
    move |params: &Value| {
        let after: u64 = match &params["filter"][">ID"] {
            Value::String(text) => text.parse().expect("numeric cursor"),
            Value::Number(number) => number.as_u64().expect("numeric cursor"),
            _ => 0,
        };
        let start: usize = match &params["start"] {
            Value::String(text) => text.parse().expect("numeric start"),
            Value::Number(number) => number.as_u64().expect("numeric start") as usize,
            _ => 0,
        };
        let ids: Vec<u64> = (1..=count).filter(|id| *id > after).collect();
        let page: Vec<Value> = ids
            .iter()
            .skip(start)
            .take(50)
            .map(|id| deal_row(*id, modified))
            .collect();
        let mut body = json!({"result": page, "total": ids.len()});
        if start + 50 < ids.len() {
            body["next"] = json!(start + 50);
        }
        body
    }
}

async fn mount_deal_table(server: &MockServer, count: u64, modified: &'static str) {
    let table = deal_table(count, modified);
    let first_page = table.clone();
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.list")))
        .respond_with(move |request: &Request| {
            let params: Value = serde_json::from_slice(&request.body).expect("JSON body");
            assert_eq!(params["order"], json!({"ID": "ASC"}));
            ResponseTemplate::new(200).set_body_json(first_page(&params))
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(batch_responder(move |_, params| {
            Ok(table(params)["result"].clone())
        }))
        .mount(server)
        .await;
}

#[tokio::test]
async fn list_deals_reads_fifty_pages_per_batch() {
    let server = portal().await;
    mount_user_fields(&server, "datetime").await;
    mount_deal_table(&server, 3000, "2025-04-29T13:03:20+03:00").await;
    let crm = adapter(&server, config());
    let filter = DealFilter {
        modified_since: Some("2025-04-01T00:00:00Z".parse().unwrap()),
        category: Some(CategoryId(5)),
    };

    let first = crm.list_deals(&filter, None).await.unwrap();
    let second = crm.list_deals(&filter, first.next_after).await.unwrap();

    assert_eq!(first.deals.len(), 2500);
    assert_eq!(first.next_after, Some(DealId(2500)));
    assert_eq!(second.deals.len(), 500);
    assert_eq!(second.next_after, None);
    let lists = bodies(&server, "crm.deal.list").await;
    let batches = bodies(&server, "batch").await;
    // The second chunk continues a listing, so it needs no lone first page.
    assert_eq!((lists.len(), batches.len()), (1, 2));
    assert_eq!(
        lists[0]["filter"],
        json!({">=DATE_MODIFY": "2025-04-01T03:00:00+03:00", "CATEGORY_ID": 5})
    );
    let continuation = batches[1]["cmd"].as_object().unwrap();
    assert_eq!(continuation.len(), 50);
    let first_command = continuation["p0"].as_str().unwrap();
    let (_, query) = first_command.split_once('?').unwrap();
    let params = php_query::decode(query).unwrap();
    assert_eq!(params["filter"][">ID"], json!("2500"));
    assert_eq!(params["start"], json!("0"));
}

#[tokio::test]
async fn b24_ignored_date_filter_is_applied_here() {
    let server = portal().await;
    mount_user_fields(&server, "datetime").await;
    mount_deal_table(&server, 30, "2024-01-10T10:00:00+03:00").await;
    let filter = DealFilter {
        modified_since: Some("2025-10-31T00:00:00+02:00".parse().unwrap()),
        category: None,
    };

    let page = adapter(&server, config())
        .list_deals(&filter, None)
        .await
        .unwrap();

    assert!(
        page.deals.is_empty(),
        "deals older than the filter leaked: {}",
        page.deals.len()
    );
    assert_eq!(page.next_after, None);
}

#[tokio::test]
async fn pipelines_read_in_two_requests() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.category.list")))
        .respond_with(json_response(
            200,
            fixture("crm.category.list.deal.response.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let stages = fixture("crm.status.list.deal_stage.response.json")["result"].clone();
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(batch_responder(move |rest_method, params| {
            assert_eq!(rest_method, "crm.status.list");
            match params["filter"]["ENTITY_ID"].as_str() {
                Some("DEAL_STAGE") => Ok(stages.clone()),
                Some("DEAL_STAGE_9") => Ok(json!([
                    {"ID": "1", "ENTITY_ID": "DEAL_STAGE_9", "STATUS_ID": "C9:WON", "NAME": "Дело завершено", "SORT": "90", "SEMANTICS": "S"},
                    {"ID": "2", "ENTITY_ID": "DEAL_STAGE_9", "STATUS_ID": "C9:NEW", "NAME": "Анализ", "SORT": "10", "SEMANTICS": null}
                ])),
                Some(_) => Ok(json!([])),
                None => Err(json!({"error": "", "error_description": "no filter"})),
            }
        }))
        .expect(1)
        .mount(&server)
        .await;

    let pipelines = adapter(&server, config()).pipelines().await.unwrap();

    let ids: Vec<u64> = pipelines.iter().map(|pipeline| pipeline.id.get()).collect();
    assert_eq!(ids, [0, 9, 10, 11]);
    assert_eq!(pipelines[0].name, "General");
    assert_eq!(pipelines[0].stages.len(), 8);
    assert_eq!(pipelines[1].stages[0].id, StageId::from("C9:NEW"));
    assert_eq!(pipelines[1].stages[1].semantics, StageSemantics::Success);
}

#[tokio::test]
async fn deal_fields_map_kinds() {
    let server = portal().await;
    mount_user_fields(&server, "date").await;

    let fields = adapter(&server, config()).deal_fields().await.unwrap();

    let kind = |code: &str| {
        fields
            .iter()
            .find(|field| field.code.as_str() == code)
            .map(|field| field.kind)
    };
    assert_eq!(kind(TRIGGER), Some(FieldKind::Enumeration));
    assert_eq!(kind(CONTRACT_SUM), Some(FieldKind::Money));
    assert_eq!(kind(LAST_LOGIN), Some(FieldKind::Date));
    assert_eq!(kind(PASSPORT), Some(FieldKind::File));
    let trigger = fields
        .iter()
        .find(|field| field.code.as_str() == TRIGGER)
        .unwrap();
    assert_eq!(trigger.items[0], ("101".to_owned(), "Создать".to_owned()));
}

fn smart_invoice(id: u64, deal: u64, stage: &str, amount: u64) -> Value {
    json!({"id": id, "title": format!("Счёт {id}"), "accountNumber": id.to_string(), "stageId": stage, "categoryId": 1,
           "opportunity": amount, "currencyId": "RUB", "contactId": 84, "parentId2": deal,
           "updatedTime": "2025-03-05T09:30:00+03:00", "movedTime": "2025-03-05T09:30:00+03:00"})
}

fn invoice_stages() -> Value {
    json!([
        {"ID": "301", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:N", "NAME": "Новый", "SORT": "10", "SEMANTICS": null},
        {"ID": "305", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:P", "NAME": "Оплачен", "SORT": "30", "SEMANTICS": "S"},
        {"ID": "307", "ENTITY_ID": "SMART_INVOICE_STAGE_1", "STATUS_ID": "DT31_1:D", "NAME": "Отклонён", "SORT": "40", "SEMANTICS": "F"}
    ])
}

/// Returns a portal with smart invoices 17 (paid) and 18 (new) of deal 410, and invoice 99 of deal 7.
fn invoice_portal(
    request_log: Arc<std::sync::Mutex<Vec<String>>>,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    batch_responder(move |rest_method, params| {
        request_log
            .lock()
            .expect("log lock")
            .push(rest_method.to_owned());
        match rest_method {
            "crm.item.list" if params["filter"].get("parentId2").is_some() => Ok(json!({"items": [
                smart_invoice(17, 410, "DT31_1:P", 50000),
                smart_invoice(18, 410, "DT31_1:N", 25000),
                smart_invoice(99, 7, "DT31_1:P", 1000)
            ]})),
            "crm.item.list" if params["filter"].get("contactId").is_some() => {
                Ok(json!({"items": [smart_invoice(20, 0, "DT31_1:P", 700)]}))
            }
            "crm.item.list" => Ok(json!({"items": [{"id": 17}]})),
            "crm.invoice.list" => Err(
                json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}),
            ),
            "crm.status.list" => Ok(invoice_stages()),
            "crm.item.get" if params["id"] == json!("17") => {
                Ok(json!({"item": smart_invoice(17, 410, "DT31_1:P", 50000)}))
            }
            "crm.item.get" => {
                Err(json!({"error": "NOT_FOUND", "error_description": "Element not found"}))
            }
            other => Err(json!({"error": "UNEXPECTED", "error_description": other})),
        }
    })
}

async fn mount_invoice_portal(server: &MockServer) -> Arc<std::sync::Mutex<Vec<String>>> {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(invoice_portal(log.clone()))
        .mount(server)
        .await;
    log
}

#[tokio::test]
async fn smart_invoices_of_a_deal_with_paid_stage() {
    let server = portal().await;
    let log = mount_invoice_portal(&server).await;

    let invoices = adapter(&server, config())
        .invoices_of(DealId(410), Some(ContactId(84)))
        .await
        .unwrap();

    let ids: Vec<InvoiceId> = invoices.iter().map(|invoice| invoice.id).collect();
    assert_eq!(ids, [InvoiceId::smart(17), InvoiceId::smart(18)]);
    assert!(invoices[0].is_paid());
    assert!(!invoices[1].is_paid());
    assert_eq!(invoices[0].amount, Money::rub(Decimal::from(50000)));
    assert_eq!(invoices[0].deal_id, Some(DealId(410)));
    assert!(invoices[0].paid_at.is_some());
    assert_eq!(invoices[1].paid_at, None);
    assert!(
        matches!(&invoices[1].status, InvoiceStatus::Smart { stage_id, semantics: Some(StageSemantics::Process) } if stage_id == "DT31_1:N")
    );
    assert_eq!(
        log.lock().unwrap().as_slice(),
        ["crm.item.list", "crm.status.list"]
    );
}

#[tokio::test]
async fn contact_invoices_with_that_linkage() {
    let server = portal().await;
    mount_invoice_portal(&server).await;
    let mut config = config();
    config.invoices.linkage = InvoiceLinkage::DealAndContact;

    let invoices = adapter(&server, config)
        .invoices_of(DealId(410), Some(ContactId(84)))
        .await
        .unwrap();

    let ids: Vec<u64> = invoices.iter().map(|invoice| invoice.id.number).collect();
    assert_eq!(ids, [17, 18, 20]);
}

#[tokio::test]
async fn auto_source_detects_smart_invoices_once() {
    let server = portal().await;
    let log = mount_invoice_portal(&server).await;
    let mut config = config();
    config.invoices.source = InvoiceSource::Auto;
    let crm = adapter(&server, config);

    crm.invoices_of(DealId(410), None).await.unwrap();
    let invoices = crm
        .invoices_of_deals(&[(DealId(410), None), (DealId(7), None)])
        .await
        .unwrap();

    assert_eq!(invoices.len(), 3);
    let calls = log.lock().unwrap().clone();
    assert_eq!(
        calls
            .iter()
            .filter(|call| *call == "crm.invoice.list")
            .count(),
        1,
        "{calls:?}"
    );
}

#[tokio::test]
async fn invoices_by_id_skip_missing() {
    let server = portal().await;
    mount_invoice_portal(&server).await;
    let crm = adapter(&server, config());

    let found = crm
        .invoices(&[InvoiceId::smart(17), InvoiceId::smart(404)])
        .await
        .unwrap();
    let missing = crm.invoice(InvoiceId::smart(404)).await.unwrap();

    assert_eq!(found.len(), 1);
    assert!(found[0].is_paid());
    assert!(missing.is_none());
}

#[tokio::test]
async fn legacy_invoices_of_a_deal() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(batch_responder(|rest_method, params| {
            assert_eq!(rest_method, "crm.invoice.list");
            assert_eq!(params["filter"]["UF_DEAL_ID"], json!("410"));
            // The portal dropped the filter: every invoice comes back.
            Ok(json!([
                {"ID": "17", "ACCOUNT_NUMBER": "17", "ORDER_TOPIC": "Оплата", "STATUS_ID": "P", "PRICE": "50000.00", "CURRENCY": "RUB", "PAYED": "Y", "UF_DEAL_ID": "410"},
                {"ID": "18", "ACCOUNT_NUMBER": "18", "ORDER_TOPIC": "Чужой", "STATUS_ID": "P", "PRICE": "9.00", "CURRENCY": "RUB", "PAYED": "Y", "UF_DEAL_ID": "7"}
            ]))
        }))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config();
    config.invoices.source = InvoiceSource::Legacy;

    let invoices = adapter(&server, config)
        .invoices_of(DealId(410), None)
        .await
        .unwrap();

    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].id, InvoiceId::legacy(17));
    assert!(invoices[0].is_paid());
}

#[tokio::test]
async fn list_invoices_moves_from_smart_to_legacy() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .respond_with(ok(
            json!({"items": [smart_invoice(17, 410, "DT31_1:N", 100)]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.invoice.list")))
        .and(body_partial_json(json!({"filter": {">ID": 0}})))
        .respond_with(ok(json!([{"ID": "5", "STATUS_ID": "N", "PRICE": "10", "UF_DEAL_ID": "410", "DATE_UPDATE": "2025-03-05T09:30:00+03:00"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(batch_responder(|_, _| Ok(invoice_stages())))
        .mount(&server)
        .await;
    let mut config = config();
    config.invoices.source = InvoiceSource::Both;
    let crm = adapter(&server, config);

    let smart = crm.list_invoices(None, None).await.unwrap();
    let legacy = crm.list_invoices(None, smart.next_after).await.unwrap();

    assert_eq!(smart.invoices[0].id, InvoiceId::smart(17));
    assert_eq!(smart.next_after, Some(InvoiceId::legacy(0)));
    assert_eq!(legacy.invoices[0].id, InvoiceId::legacy(5));
    assert_eq!(legacy.next_after, None);
}

#[tokio::test]
async fn credentials_written_without_feed_post() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.update")))
        .and(body_json(json!({
            "id": 410,
            "fields": {LOGIN: "lk410abc", PASSWORD: "p&ss=w0rd%"},
            "params": {"REGISTER_SONET_EVENT": "N"}
        })))
        .respond_with(json_response(200, fixture("crm.deal.update.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    adapter(&server, config())
        .write_credentials(
            DealId(410),
            &Login::new("lk410abc"),
            &Password::new("p&ss=w0rd%".to_owned()),
        )
        .await
        .unwrap();
}

#[rstest]
#[case("datetime", "2026-12-04T23:10:42+03:00")]
#[case("date", "2026-12-04")]
#[case("string", "04.12.2026 23:10")]
#[tokio::test]
async fn last_login_in_field_type(#[case] field_type: &str, #[case] expected: &str) {
    let server = portal().await;
    mount_user_fields(&server, field_type).await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.update")))
        .and(body_partial_json(
            json!({"id": 410, "fields": {LAST_LOGIN: expected}}),
        ))
        .respond_with(json_response(200, fixture("crm.deal.update.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    adapter(&server, config())
        .write_last_login(DealId(410), "2026-12-04T20:10:42Z".parse().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn referral_code_skipped_without_field() {
    let server = portal().await;

    adapter(&server, config())
        .write_referral_code(DealId(410), &ReferralCode("REF-7Q2".to_owned()))
        .await
        .unwrap();

    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn referral_code_written_to_configured_field() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.update")))
        .and(body_partial_json(
            json!({"fields": {"UF_CRM_1800000000001": "REF-7Q2"}}),
        ))
        .respond_with(ok(json!(true)))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config();
    config.fields.referral_code = Some(FieldCode::from("UF_CRM_1800000000001"));

    adapter(&server, config)
        .write_referral_code(DealId(410), &ReferralCode("REF-7Q2".to_owned()))
        .await
        .unwrap();
}

#[tokio::test]
async fn field_writes_batched_with_own_results() {
    let server = portal().await;
    mount_user_fields(&server, "datetime").await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(batch_responder(|rest_method, params| {
            assert_eq!(rest_method, "crm.deal.update");
            assert_eq!(params["params"]["REGISTER_SONET_EVENT"], json!("N"));
            match params["id"].as_str() {
                Some("2") => Err(json!({"error": "", "error_description": "Not found"})),
                _ => Ok(json!(true)),
            }
        }))
        .expect(1)
        .mount(&server)
        .await;
    let writes = [
        FieldWrite::Credentials {
            deal: DealId(1),
            login: Login::new("lk1"),
            password: Password::new("secret1!".to_owned()),
        },
        FieldWrite::LastLogin {
            deal: DealId(2),
            at: "2026-12-04T20:10:42Z".parse().unwrap(),
        },
        FieldWrite::LastLogin {
            deal: DealId(3),
            at: "2026-12-04T20:10:42Z".parse().unwrap(),
        },
        FieldWrite::ReferralCode {
            deal: DealId(4),
            code: ReferralCode("R".to_owned()),
        },
    ];

    let results = adapter(&server, config()).apply_field_writes(&writes).await;

    assert!(results[0].is_ok());
    assert!(
        matches!(results[1], Err(CoreError::CrmRejected { .. })),
        "{:?}",
        results[1]
    );
    assert!(results[2].is_ok());
    assert!(results[3].is_ok());
    let commands = bodies(&server, "batch").await[0]["cmd"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(commands.len(), 3);
    assert!(
        commands["w2"]
            .as_str()
            .unwrap()
            .contains("2026-12-04T23%3A10%3A42%2B03%3A00")
    );
}

#[tokio::test]
async fn failed_batch_fails_every_write() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(
            401,
            fixture("error.NO_AUTH_FOUND.http401.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let writes = [
        FieldWrite::Credentials {
            deal: DealId(1),
            login: Login::new("lk1"),
            password: Password::new("secret1!".to_owned()),
        },
        FieldWrite::Credentials {
            deal: DealId(2),
            login: Login::new("lk2"),
            password: Password::new("secret2!".to_owned()),
        },
    ];

    let results = adapter(&server, config()).apply_field_writes(&writes).await;

    assert!(
        results
            .iter()
            .all(|result| matches!(result, Err(CoreError::CrmRejected { .. }))),
        "{results:?}"
    );
    for result in &results {
        let text = format!("{result:?}");
        assert!(
            !text.contains("secret1!") && !text.contains(common::SECRET),
            "{text}"
        );
    }
}

#[tokio::test]
async fn document_attached_keeping_files() {
    let server = portal().await;
    mount_user_fields(&server, "datetime").await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.get")))
        .respond_with(ok(json!({"item": {"id": 410, "ufCrm_1708509490009": [{"id": 37377, "url": "u", "urlMachine": "m"}]}})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.get")))
        .respond_with(ok(
            json!({"item": {"id": 410, "ufCrm_1708509490009": [{"id": 37377}, {"id": 37400}]}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .and(body_json(json!({"entityTypeId": 2, "id": 410, "fields": {"ufCrm_1708509490009": [{"id": 37377}, ["page2.jpg", "/9j/"]]}})))
        .respond_with(ok(json!({"item": {"id": 410}})))
        .expect(1)
        .mount(&server)
        .await;

    adapter(&server, config())
        .attach_document(
            DealId(410),
            &FieldCode::from(PASSPORT),
            "page2.jpg",
            &[0xFF, 0xD8, 0xFF],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn b01_persistent_rate_limit_is_unavailable() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .respond_with(json_response(
            503,
            fixture("error.QUERY_LIMIT_EXCEEDED.http503.json"),
        ))
        .expect(4)
        .mount(&server)
        .await;

    let error = adapter(&server, config())
        .deal(DealId(1))
        .await
        .unwrap_err();

    assert!(
        matches!(error, CoreError::CrmUnavailable { .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn wrong_credentials_are_rejected() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .respond_with(json_response(
            401,
            fixture("error.INVALID_CREDENTIALS.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = adapter(&server, config())
        .deal(DealId(1))
        .await
        .unwrap_err();

    assert!(matches!(error, CoreError::CrmRejected { .. }), "{error:?}");
    assert!(!error.to_string().contains(common::SECRET));
}

#[rstest]
#[case("event=ONCRMDEALUPDATE&data[FIELDS][ID]=410", Some(ChangeNotice::DealChanged { deal_id: DealId(410) }))]
#[case("event=ONCRMDEALADD&data[FIELDS][ID]=410", Some(ChangeNotice::DealChanged { deal_id: DealId(410) }))]
#[case("event=ONCRMDEALDELETE&data[FIELDS][ID]=410", Some(ChangeNotice::DealDeleted { deal_id: DealId(410) }))]
#[case("event=ONCRMINVOICESETSTATUS&data[FIELDS][ID]=17", Some(ChangeNotice::InvoiceChanged { invoice_id: InvoiceId::legacy(17) }))]
#[case("event=ONCRMINVOICEDELETE&data[FIELDS][ID]=17", Some(ChangeNotice::InvoiceDeleted { invoice_id: InvoiceId::legacy(17) }))]
#[case("event=ONCRMDYNAMICITEMADD&data[FIELDS][ID]=24&data[FIELDS][ENTITY_TYPE_ID]=31", Some(ChangeNotice::InvoiceChanged { invoice_id: InvoiceId::smart(24) }))]
#[case("event=ONCRMDYNAMICITEMDELETE_31&data[FIELDS][ID]=24", Some(ChangeNotice::InvoiceDeleted { invoice_id: InvoiceId::smart(24) }))]
#[case(
    "event=ONCRMDYNAMICITEMUPDATE&data[FIELDS][ID]=24&data[FIELDS][ENTITY_TYPE_ID]=1220",
    None
)]
#[case("event=ONCRMCONTACTUPDATE&data[FIELDS][ID]=5", None)]
fn events_become_change_notices(#[case] body: &str, #[case] expected: Option<ChangeNotice>) {
    let event = parse_event(None, body.as_bytes()).unwrap();

    assert_eq!(change_notice(&event), expected);
}

#[test]
fn verifier_built_from_config() {
    let mut config = config();
    config.bitrix24.application_tokens = vec![SecretString::from("t1"), SecretString::from("t2")];
    config.bitrix24.portal_domain = "example.bitrix24.com".to_owned();
    let verifier = event_verifier(&config).unwrap();

    let good = parse_event(None, b"event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token]=t2&auth[domain]=example.bitrix24.com").unwrap();
    let other_portal = parse_event(None, b"event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token]=t2&auth[domain]=evil.bitrix24.com").unwrap();

    assert!(verifier.verify(&good).is_ok());
    assert!(verifier.verify(&other_portal).is_err());
    assert!(event_verifier(&LkConfig::default()).is_err());
}

#[test]
fn adapter_from_config_checks_webhook() {
    let mut config = config();
    assert!(LkCrm::from_config(Arc::new(config.clone())).is_err());

    config.bitrix24.webhook_url = Some(SecretString::from(
        "https://example.bitrix24.ru/rest/1/Zq9x7secret/",
    ));
    let crm = LkCrm::from_config(Arc::new(config.clone())).unwrap();
    assert_eq!(crm.client().webhook().host(), "example.bitrix24.ru");

    config.bitrix24.webhook_url = Some(SecretString::from(
        "https://example.bitrix24.ru/api/Zq9x7secret",
    ));
    let error = LkCrm::from_config(Arc::new(config)).unwrap_err();
    assert!(
        matches!(&error, CoreError::ConfigValue { key, .. } if key == "bitrix24.webhook_url"),
        "{error:?}"
    );
    assert!(!error.to_string().contains("Zq9x7secret"));
}
