//! Universal `crm.item.*` methods, user-field names across API generations, and file fields.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bitrix_lk_core::{DealId, FileId};
use bitrix24_client::values::{FieldSpec, UserFieldType, decode};
use bitrix24_client::{EntityType, Error, UfValue, uf_from_item_name, uf_to_item_name};
use rstest::rstest;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, method, path};
use wiremock::{Mock, MockServer};

use common::{bodies, client, fixture, json_response, method_path, ok, portal};

async fn mount_item_get(server: &MockServer, item: Value, priority: u8) {
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.get")))
        .respond_with(ok(json!({ "item": item })))
        .up_to_n_times(1)
        .with_priority(priority)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_reads_the_universal_shape() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.get")))
        .and(body_json(json!({"entityTypeId": 1, "id": 250})))
        .respond_with(json_response(
            200,
            fixture("crm.item.get.lead.response.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let item = client(&server)
        .items()
        .get(EntityType::Lead, 250)
        .await
        .unwrap();

    assert_eq!(item.id, 250);
    assert_eq!(item.entity_type_id, Some(EntityType::Lead));
    assert_eq!(item.opportunity, Some("999.9".parse().unwrap()));
    assert_eq!(item.contact_id, None);
    assert_eq!(item.stage_id.as_deref(), Some("IN_PROCESS"));
    assert_eq!(
        item.user_field("UF_CRM_1720019876534")
            .map(|(_, value)| value),
        Some(&json!("321"))
    );
}

#[tokio::test]
async fn list_reads_items_wrapper() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .and(body_partial_json(json!({"entityTypeId": 1})))
        .respond_with(json_response(200, fixture("crm.item.list.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    let items = client(&server)
        .items()
        .list(EntityType::Lead)
        .all()
        .await
        .unwrap();

    let ids: Vec<u64> = items.iter().map(|item| item.id).collect();
    assert_eq!(ids, [253, 255, 252, 254]);
}

#[rstest]
#[case("UF_CRM_1742556744977", "ufCrm_1742556744977")]
#[case("UF_CRM_1746431727372", "ufCrm_1746431727372")]
#[case("UF_CRM_10_5186744711", "ufCrm10_5186744711")]
#[case("UF_CRM_44_1721812760630", "ufCrm44_1721812760630")]
#[case("UF_CRM_44_1721812814433", "ufCrm44_1721812814433")]
fn b21_real_name_pairs_map_both_ways(#[case] legacy: &str, #[case] item: &str) {
    assert_eq!(uf_to_item_name(legacy), item);
    assert_eq!(uf_from_item_name(item), legacy);
}

#[tokio::test]
async fn b21_same_field_read_through_both_generations() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.get")))
        .respond_with(ok(
            json!({"item": {"id": 1, "title": "Case 1", "ufCrm_1742556744977": "x"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .respond_with(ok(
            json!({"ID": "1", "TITLE": "Case 1", "UF_CRM_1742556744977": "x"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let item = client.items().get(EntityType::Deal, 1).await.unwrap();
    let deal = client.deals().get(DealId(1)).await.unwrap();

    assert_eq!(
        item.user_field("UF_CRM_1742556744977")
            .map(|(_, value)| value),
        Some(&json!("x"))
    );
    assert_eq!(deal.field("UF_CRM_1742556744977"), Some(&json!("x")));
}

#[tokio::test]
async fn update_sends_item_spelling_and_echo_decodes() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .and(body_json(json!({
            "entityTypeId": 2,
            "id": 6917,
            "fields": {"ufCrm_1746431727372": "2025-04-29"}
        })))
        .respond_with(json_response(
            200,
            fixture("crm.item.update.deal.date-uf.response.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let item = client(&server)
        .items()
        .update(EntityType::Deal, 6917)
        .user_field("UF_CRM_1746431727372", "2025-04-29")
        .send()
        .await
        .unwrap();

    let spec = FieldSpec {
        name: "UF_CRM_1746431727372".into(),
        kind: UserFieldType::Date,
        multiple: false,
        items: Vec::new(),
    };
    let raw = item
        .user_field("UF_CRM_1746431727372")
        .map(|(_, value)| value);
    assert_eq!(
        decode(&spec, raw).unwrap(),
        UfValue::Date(jiff::civil::date(2025, 4, 29))
    );
}

fn smart_process_files(ids: &[u64]) -> Value {
    let files: Vec<Value> = ids
        .iter()
        .map(|id| json!({
            "id": id,
            "url": format!("https://your-domain.bitrix24.com/bitrix/services/main/ajax.php?action=crm.controller.item.getFile&SITE_ID=s1&entityTypeId=177&id=29&fieldName=UF_CRM_7_1739432938&fileId={id}"),
            "urlMachine": "https://your-domain.bitrix24.com/rest/crm.controller.item.getFile.json?auth=REDACTED&token=REDACTED"
        }))
        .collect();
    json!({"id": 29, "entityTypeId": 177, "ufCrm_7_1739432938": files})
}

#[tokio::test]
async fn b27_attach_keeps_existing_files() {
    let server = portal().await;
    mount_item_get(&server, smart_process_files(&[30577, 30581]), 1).await;
    mount_item_get(&server, smart_process_files(&[30577, 30581, 30600]), 2).await;
    let scan = b"\x89PNG\r\n".to_vec();
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .and(body_json(json!({
            "entityTypeId": 177,
            "id": 29,
            "fields": {"ufCrm_7_1739432938": [{"id": 30577}, {"id": 30581}, ["scan.png", BASE64.encode(&scan)]]}
        })))
        .respond_with(ok(json!({"item": smart_process_files(&[30577, 30581, 30600])})))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .items()
        .attach_file(EntityType::Dynamic(177), 29, "UF_CRM_7_1739432938")
        .send("scan.png", &scan)
        .await
        .unwrap();

    assert_eq!(outcome.before, [FileId(30577), FileId(30581)]);
    assert_eq!(outcome.after.len(), 3);
    assert_eq!(outcome.added, Some(FileId(30600)));
}

#[tokio::test]
async fn b27_lost_file_is_reported() {
    let server = portal().await;
    mount_item_get(&server, smart_process_files(&[30577, 30581]), 1).await;
    mount_item_get(&server, smart_process_files(&[30577, 30600]), 2).await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .respond_with(ok(json!({"item": {"id": 29}})))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .items()
        .attach_file(EntityType::Dynamic(177), 29, "UF_CRM_7_1739432938")
        .send("scan.png", b"x")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::WriteNotApplied { detail, .. } if detail.contains("30581")),
        "{error:?}"
    );
}

#[tokio::test]
async fn b27_attach_to_empty_field_uses_item_name() {
    let server = portal().await;
    mount_item_get(&server, json!({"id": 410, "title": "Case"}), 1).await;
    mount_item_get(
        &server,
        json!({"id": 410, "ufCrm_1708509490009": [{"id": 501, "url": "u", "urlMachine": "m"}]}),
        2,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .and(body_json(json!({
            "entityTypeId": 2,
            "id": 410,
            "fields": {"ufCrm_1708509490009": [["passport.pdf", BASE64.encode(b"%PDF-1.7")]]}
        })))
        .respond_with(ok(json!({"item": {"id": 410}})))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .items()
        .attach_file(EntityType::Deal, 410, "UF_CRM_1708509490009")
        .send("passport.pdf", b"%PDF-1.7")
        .await
        .unwrap();

    assert!(outcome.before.is_empty());
    assert_eq!(outcome.added, Some(FileId(501)));
}

#[tokio::test]
async fn single_file_field_is_replaced() {
    let server = portal().await;
    mount_item_get(
        &server,
        json!({"id": 5, "ufCrm_1": {"id": 7, "url": "u"}}),
        1,
    )
    .await;
    mount_item_get(
        &server,
        json!({"id": 5, "ufCrm_1": {"id": 8, "url": "u"}}),
        2,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .and(body_json(
            json!({"entityTypeId": 2, "id": 5, "fields": {"ufCrm_1": ["a.pdf", "YQ=="]}}),
        ))
        .respond_with(ok(json!({"item": {"id": 5}})))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .items()
        .attach_file(EntityType::Deal, 5, "UF_CRM_1")
        .multiple(false)
        .send("a.pdf", b"a")
        .await
        .unwrap();

    assert_eq!(outcome.added, Some(FileId(8)));
}

#[tokio::test]
async fn b04_upload_not_repeated_after_500() {
    let server = portal().await;
    mount_item_get(&server, smart_process_files(&[30577]), 1).await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .respond_with(json_response(
            500,
            json!({"error": "INTERNAL_SERVER_ERROR", "error_description": ""}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .items()
        .attach_file(EntityType::Dynamic(177), 29, "UF_CRM_7_1739432938")
        .send("scan.png", b"x")
        .await
        .unwrap_err();

    assert!(matches!(error, Error::UnknownOutcome { .. }), "{error:?}");
}

#[tokio::test]
async fn b08_clear_is_checked_by_reading_back() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.update")))
        .and(body_json(
            json!({"id": 10, "fields": {"UF_CRM_1700000000": ""}}),
        ))
        .respond_with(json_response(200, fixture("crm.deal.update.response.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_item_get(&server, json!({"id": 10, "ufCrm_1700000000": [45]}), 1).await;

    let error = client(&server)
        .items()
        .clear_user_field(EntityType::Deal, 10, "UF_CRM_1700000000")
        .await
        .unwrap_err();

    assert!(matches!(error, Error::WriteNotApplied { .. }), "{error:?}");
    assert!(
        !error.to_string().contains("45"),
        "the value leaked into the message: {error}"
    );
}

#[tokio::test]
async fn b08_clear_passes_when_empty() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.update")))
        .respond_with(json_response(200, fixture("crm.deal.update.response.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_item_get(&server, json!({"id": 10, "ufCrm_1700000000": null}), 1).await;

    client(&server)
        .items()
        .clear_user_field(EntityType::Deal, 10, "UF_CRM_1700000000")
        .await
        .unwrap();
}

#[tokio::test]
async fn b08_smart_process_clear_uses_item_update() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.update")))
        .and(body_json(
            json!({"entityTypeId": 177, "id": 3, "fields": {"ufCrm7_1700000000": ""}}),
        ))
        .respond_with(ok(json!({"item": {"id": 3, "ufCrm7_1700000000": null}})))
        .expect(1)
        .mount(&server)
        .await;
    mount_item_get(&server, json!({"id": 3, "ufCrm7_1700000000": ""}), 1).await;

    client(&server)
        .items()
        .clear_user_field(EntityType::Dynamic(177), 3, "UF_CRM_7_1700000000")
        .await
        .unwrap();
}

#[tokio::test]
async fn b26_file_urls_kept_apart() {
    let server = portal().await;
    // The documented response selected only the field; the client always adds `id`.
    let mut response = fixture("crm.item.list.file-field.response.json");
    response["result"]["items"][0]["id"] = json!(29);
    Mock::given(method("POST"))
        .and(path(method_path("crm.item.list")))
        .and(body_partial_json(
            json!({"select": ["ufCrm_7_1739432938", "id"]}),
        ))
        .respond_with(json_response(200, response))
        .expect(1)
        .mount(&server)
        .await;
    let spec = FieldSpec {
        name: "UF_CRM_7_1739432938".into(),
        kind: UserFieldType::File,
        multiple: true,
        items: Vec::new(),
    };

    let items = client(&server)
        .items()
        .list(EntityType::Dynamic(177))
        .select(["ufCrm_7_1739432938"])
        .all()
        .await
        .unwrap();
    let legacy = fixture("crm.lead.get.file-fields.response.json");

    let UfValue::Files(files) = decode(
        &spec,
        items[0].user_field("UF_CRM_7_1739432938").map(|(_, v)| v),
    )
    .unwrap() else {
        panic!("expected files");
    };
    assert_eq!(files[0].id, FileId(30577));
    assert!(files[0].url.as_deref().unwrap().contains("ajax.php"));
    assert!(
        files[0]
            .url_machine
            .as_ref()
            .unwrap()
            .expose()
            .contains("getFile.json")
    );
    assert!(
        !format!("{:?}", files[0]).contains("token="),
        "urlMachine must stay out of Debug"
    );
    let UfValue::Files(legacy_files) =
        decode(&spec, Some(&legacy["result"]["UF_CRM_LEAD_FILE"])).unwrap()
    else {
        panic!("expected files");
    };
    assert!(
        legacy_files[0]
            .url
            .as_deref()
            .unwrap()
            .contains("show_file.php")
    );
    assert!(
        legacy_files[0]
            .download_url
            .as_deref()
            .unwrap()
            .contains("auth=&")
    );
    assert!(legacy_files[0].url_machine.is_none());
    assert_eq!(
        bodies(&server, "crm.item.list").await[0]["entityTypeId"],
        json!(177)
    );
}
