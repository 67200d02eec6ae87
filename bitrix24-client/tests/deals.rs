//! Deals, their user-field metadata, pipelines and stages, against the documented shapes.

mod common;

use std::str::FromStr;

use bitrix_lk_core::{CategoryId, ContactId, DealId, StageId};
use bitrix24_client::values::{FieldSpec, decode};
use bitrix24_client::{EntityType, Error, Order, Semantics, UfValue, UfWrite};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, fixture, json_response, method_path, ok, portal};

async fn mount(server: &MockServer, rest_method: &str, request: Value, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(method_path(rest_method)))
        .and(body_json(request))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_types_the_documented_deal() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.get",
        json!({"id": 410}),
        json_response(200, fixture("crm.deal.get.response.json")),
    )
    .await;

    let deal = client(&server).deals().get(DealId(410)).await.unwrap();

    assert_eq!(deal.id, DealId(410));
    assert_eq!(deal.title.as_deref(), Some("New Deal #1"));
    assert_eq!(deal.stage_id, Some(StageId::from("PREPARATION")));
    assert_eq!(deal.category_id, Some(CategoryId(0)));
    assert_eq!(deal.contact_id, Some(ContactId(84)));
    assert_eq!(deal.company_id, Some(9));
    assert_eq!(
        deal.opportunity,
        Some(Decimal::from_str("1000000.00").unwrap())
    );
    assert_eq!(deal.stage_semantic_id.as_deref(), Some("P"));
    assert_eq!(deal.closed, Some(false));
    assert_eq!(
        deal.date_modify,
        Some(Timestamp::from_str("2024-08-30T12:29:00Z").unwrap())
    );
    assert_eq!(
        deal.field("UF_CRM_1721244482250"),
        Some(&json!("Hello world!"))
    );
    assert_eq!(deal.field("PARENT_ID_1220"), Some(&json!("22")));
}

#[tokio::test]
async fn missing_deal_is_not_found() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.get",
        json!({"id": 404}),
        json_response(400, fixture("error.crm.deal.get.not-found.http400.json")),
    )
    .await;

    let error = client(&server).deals().get(DealId(404)).await.unwrap_err();

    assert!(error.is_not_found(), "{error:?}");
}

#[tokio::test]
async fn list_sends_filter_select_order() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.list",
        json!({
            "filter": {"CATEGORY_ID": 1, ">=DATE_MODIFY": "2024-09-01T00:00:00+03:00"},
            "select": ["ID", "TITLE", "STAGE_ID", "CATEGORY_ID", "OPPORTUNITY", "DATE_CREATE"],
            "order": {"ID": "ASC"},
            "start": 0
        }),
        json_response(200, fixture("crm.deal.list.response.json")),
    )
    .await;

    let deals = client(&server)
        .deals()
        .list()
        .filter("CATEGORY_ID", 1)
        .filter(">=DATE_MODIFY", "2024-09-01T00:00:00+03:00")
        .select([
            "ID",
            "TITLE",
            "STAGE_ID",
            "CATEGORY_ID",
            "OPPORTUNITY",
            "DATE_CREATE",
        ])
        .order("ID", Order::Asc)
        .all()
        .await
        .unwrap();

    assert_eq!(deals.len(), 6);
    assert_eq!(deals[0].id, DealId(37));
    assert_eq!(deals[0].stage_id, Some(StageId::from("C1:NEW")));
    assert_eq!(
        deals[0].opportunity,
        Some(Decimal::from_str("19999.99").unwrap())
    );
    assert_eq!(deals[5].title.as_deref(), Some("[S] Deal"));
    assert_eq!(deals[0].contact_id, None);
}

#[tokio::test]
async fn update_sends_fields_and_params() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.update",
        json!({
            "id": 410,
            "fields": {"UF_CRM_1708511589360": "lk-410", "UF_CRM_1715524078722": "", "UF_CRM_BOOL": "Y"},
            "params": {"REGISTER_SONET_EVENT": "N"}
        }),
        json_response(200, fixture("crm.deal.update.response.json")),
    )
    .await;

    client(&server)
        .deals()
        .update(DealId(410))
        .field("UF_CRM_1708511589360", "lk-410")
        .set("UF_CRM_1715524078722", &UfWrite::Clear)
        .unwrap()
        .set("UF_CRM_BOOL", &UfWrite::Bool(true))
        .unwrap()
        .register_sonet_event(false)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn update_answering_false_is_not_applied() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.update")))
        .respond_with(ok(json!(false)))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .deals()
        .update(DealId(1))
        .field("TITLE", "x")
        .send()
        .await
        .unwrap_err();

    assert!(matches!(error, Error::WriteNotApplied { .. }), "{error:?}");
}

#[tokio::test]
async fn empty_update_is_rejected_locally() {
    let server = portal().await;

    let error = client(&server)
        .deals()
        .update(DealId(1))
        .send()
        .await
        .unwrap_err();

    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
}

#[tokio::test]
async fn b22_boolean_filter_uses_one_and_zero() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .and(body_partial_json(
            json!({"entityTypeId": 2, "filter": {"ufCrm_1700000001": 1}}),
        ))
        .respond_with(ok(json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}]})))
        .expect(1)
        .mount(&server)
        .await;
    let flag = UfWrite::Bool(true);

    let items = client(&server)
        .items()
        .list(EntityType::Deal)
        .filter("ufCrm_1700000001", flag.to_filter_value().unwrap())
        .all()
        .await
        .unwrap();

    assert_eq!(items.len(), 3);
    assert_eq!(flag.to_field_value().unwrap(), json!("Y"));
}

#[tokio::test]
async fn fields_describe_types() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.fields",
        json!({}),
        json_response(200, fixture("crm.deal.fields.response.json")),
    )
    .await;

    let fields = client(&server).deals().fields().await.unwrap();

    assert_eq!(fields["STAGE_ID"].kind, "crm_status");
    assert_eq!(
        fields["STAGE_ID"].status_type.as_deref(),
        Some("DEAL_STAGE")
    );
    assert!(fields["ID"].is_read_only);
    assert!(fields["CONTACT_IDS"].is_multiple);
    assert_eq!(fields["BEGINDATE"].kind, "date");
}

#[tokio::test]
async fn userfields_carry_enumeration_items() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.userfield.list",
        json!({"start": 0}),
        json_response(200, fixture("crm.deal.userfield.list.response.json")),
    )
    .await;

    let fields = client(&server).deal_userfields().all().await.unwrap();

    assert_eq!(fields.len(), 5);
    let radio = fields
        .iter()
        .find(|field| field.field_name == "UF_CRM_1724077760")
        .unwrap();
    assert_eq!(radio.user_type_id, "enumeration");
    assert!(radio.multiple);
    assert_eq!(radio.list.len(), 5);
    assert_eq!(radio.list[0].id, "3157");
    assert_eq!(radio.list[0].value, "Children's Radio");
    assert_eq!(radio.label(), Some("Radio"));
    let file = fields
        .iter()
        .find(|field| field.user_type_id == "file")
        .unwrap();
    assert_eq!(file.field_name, "UF_CRM_1722578010");
}

#[tokio::test]
async fn b23_enumeration_id_resolves_to_label() {
    let server = portal().await;
    mount(
        &server,
        "crm.deal.userfield.list",
        json!({"start": 0}),
        json_response(200, fixture("crm.deal.userfield.list.response.json")),
    )
    .await;
    let fields = client(&server).deal_userfields().all().await.unwrap();
    let spec = FieldSpec::from(
        fields
            .iter()
            .find(|field| field.field_name == "UF_CRM_1724077760")
            .unwrap(),
    );

    let value = decode(&spec, Some(&json!(["3159", "9999"]))).unwrap();

    let UfValue::List(items) = value else {
        panic!("expected a list, got {value:?}");
    };
    let UfValue::Enum(known) = &items[0] else {
        panic!("{items:?}")
    };
    let UfValue::Enum(unknown) = &items[1] else {
        panic!("{items:?}")
    };
    assert_eq!(known.label(), Some("Shanson Radio"));
    assert_eq!(unknown.id(), "9999");
    assert_eq!(unknown.label(), None);
}

#[tokio::test]
async fn categories_include_the_default_pipeline() {
    let server = portal().await;
    mount(
        &server,
        "crm.category.list",
        json!({"entityTypeId": 2, "start": 0}),
        json_response(200, fixture("crm.category.list.deal.response.json")),
    )
    .await;

    let categories = client(&server)
        .categories()
        .all(EntityType::Deal)
        .await
        .unwrap();

    assert_eq!(categories.len(), 4);
    let default = categories
        .iter()
        .find(|category| category.is_default)
        .unwrap();
    assert_eq!(default.id, CategoryId(0));
    assert_eq!(default.name.as_deref(), Some("General"));
    assert_eq!(categories[0].entity_type_id, Some(EntityType::Deal));
}

#[tokio::test]
async fn deal_stages_read_semantics() {
    let server = portal().await;
    mount(
        &server,
        "crm.status.list",
        json!({"filter": {"ENTITY_ID": "DEAL_STAGE"}, "order": {"SORT": "ASC"}, "start": 0}),
        json_response(200, fixture("crm.status.list.deal_stage.response.json")),
    )
    .await;

    let stages = client(&server)
        .statuses()
        .directory("DEAL_STAGE")
        .await
        .unwrap();

    assert_eq!(stages.len(), 8);
    assert_eq!(stages[0].status_id, "NEW");
    assert_eq!(stages[0].semantics, Semantics::Process);
    assert_eq!(
        stages
            .iter()
            .filter(|stage| stage.semantics == Semantics::Success)
            .count(),
        1
    );
    assert!(
        stages
            .iter()
            .any(|stage| stage.status_id == "APOLOGY" && stage.semantics == Semantics::Failure)
    );
    assert_eq!(stages[1].sort, Some(20));
}

#[tokio::test]
async fn smart_process_stages_have_no_extra() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.status.list")))
        .respond_with(json_response(200, json!({"result": fixture("crm.status.list.dynamic_stage.response.json")["result"], "total": 3})))
        .expect(1)
        .mount(&server)
        .await;

    let stages = client(&server)
        .statuses()
        .directory("DYNAMIC_177_STAGE_7")
        .await
        .unwrap();

    let semantics: Vec<Semantics> = stages.iter().map(|stage| stage.semantics).collect();
    assert_eq!(
        semantics,
        [Semantics::Process, Semantics::Success, Semantics::Failure]
    );
    assert_eq!(stages[1].category_id, Some(7));
}

#[tokio::test]
async fn lead_statuses_read_semantics() {
    let server = portal().await;
    mount(
        &server,
        "crm.status.list",
        json!({"filter": {"ENTITY_ID": "STATUS"}, "order": {"SORT": "ASC"}, "start": 0}),
        json_response(200, fixture("crm.status.list.lead_status.response.json")),
    )
    .await;

    let error = client(&server)
        .statuses()
        .directory("STATUS")
        .await
        .unwrap_err();

    // The documented example announces 6 rows and shows 3: a listing that
    // ends short of `total` is reported, not returned as complete.
    assert!(
        matches!(
            error,
            Error::IncompleteListing {
                expected: 6,
                received: 3,
                ..
            }
        ),
        "{error:?}"
    );
}
