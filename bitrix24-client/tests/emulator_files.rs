//! File fields: legacy `fileData` uploads, `crm.item.update` keep-and-add,
//! file URLs and downloads through `urlMachine`.

mod emulator_support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bitrix24_client::emulator::{NewDeal, Seed, UfValue, UserFieldSpec, UserFieldType, seed};
use emulator_support::*;
use serde_json::json;

const PASSPORT: &str = "UF_CRM_1708509490009";

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[tokio::test]
async fn legacy_multiple_upload_replaces_the_field() {
    let emulator = start(Seed::Demo).await;
    let before: Vec<u64> = emulator
        .portal()
        .files(2, PASSPORT)
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(before.len(), 2);
    let fields =
        json!({PASSPORT: [{"id": before[0]}, {"fileData": ["page3.pdf", b64(b"page three")]}]});

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": 2, "fields": fields}),
        )
        .await,
    );

    let after = emulator.portal().files(2, PASSPORT);
    assert_eq!(after.len(), 1, "ids without fileData are not kept");
    assert_eq!(after[0].name, "page3.pdf");
    assert_eq!(after[0].bytes.as_ref(), b"page three");
    assert!(
        emulator.portal().file(before[0]).is_none(),
        "dropped files are deleted"
    );
}

#[tokio::test]
async fn legacy_fixture_operations_apply() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    for (code, multiple) in [
        ("UF_CRM_FILE_ONE", false),
        ("UF_CRM_FILE_MANY", true),
        ("UF_CRM_FILE_OLD", false),
    ] {
        let mut spec = UserFieldSpec::new(code, UserFieldType::File);
        if multiple {
            spec = spec.multiple();
        }
        portal.add_user_field(spec).unwrap();
    }
    let deal = portal
        .create_deal(
            NewDeal::new("x").field("UF_CRM_FILE_OLD", UfValue::file("old.pdf", b"old".to_vec())),
        )
        .unwrap();
    let old = portal.files(deal, "UF_CRM_FILE_OLD")[0].id;
    let request = fixture_json("crm.deal.update.legacy-file-ops.request.SYNTHETIC.json")
        .to_string()
        .replace("base64_encoded_content_here", &b64(b"content"))
        .replace("37375", &old.to_string())
        .replace("410", &deal.to_string());

    let (status, _) = call_raw(&emulator, "crm.deal.update", &request).await;

    assert_eq!(status, 200);
    assert_eq!(
        portal.files(deal, "UF_CRM_FILE_ONE")[0].name,
        "contract.pdf"
    );
    let many: Vec<String> = portal
        .files(deal, "UF_CRM_FILE_MANY")
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(many, vec!["scan1.pdf", "scan2.pdf"]);
    assert!(portal.files(deal, "UF_CRM_FILE_OLD").is_empty());
}

#[tokio::test]
async fn legacy_single_field_ignores_arrays_and_raw_strings() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    portal
        .add_user_field(UserFieldSpec::new("UF_CRM_ONE", UserFieldType::File))
        .unwrap();
    let deal = portal
        .create_deal(
            NewDeal::new("x").field("UF_CRM_ONE", UfValue::file("keep.pdf", b"k".to_vec())),
        )
        .unwrap();

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": deal, "fields": {"UF_CRM_ONE": b64(b"raw")}}),
        )
        .await,
    );
    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": deal, "fields": {"UF_CRM_ONE": [{"fileData": ["a.pdf", b64(b"a")]}]}}),
        )
        .await,
    );
    result(call(&emulator, "crm.deal.update", json!({"id": deal, "fields": {"UF_CRM_ONE": {"fileData": ["bad.pdf", "data:application/pdf;base64,xx"]}}})).await);

    assert_eq!(portal.files(deal, "UF_CRM_ONE")[0].name, "keep.pdf");
}

#[tokio::test]
async fn multiple_filedata_fixture_uploads_every_file() {
    let emulator = start(Seed::Demo).await;
    let mut request = fixture_json("crm.lead.add.multiple-filedata.request.json");
    let files = request["fields"]["UF_CRM_1711610801"].take();
    let body = json!({"id": 6, "fields": {PASSPORT: files}})
        .to_string()
        .replace("base64_encoded_content_here", &b64(b"png"));

    result(call_raw(&emulator, "crm.deal.update", &body).await);

    let names: Vec<String> = emulator
        .portal()
        .files(6, PASSPORT)
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, vec!["file1.png", "file2.png"]);
}

#[tokio::test]
async fn item_update_keeps_listed_ids_and_adds_new_files() {
    let emulator = start(Seed::Demo).await;
    let before: Vec<u64> = emulator
        .portal()
        .files(2, PASSPORT)
        .iter()
        .map(|f| f.id)
        .collect();
    let mut request = fixture_json("crm.item.update.file-field.request.json");
    request["entityTypeId"] = json!(2);
    request["id"] = json!(2);
    let mut value = request["fields"]["ufCrm_7_1739432938"].take();
    value[0]["id"] = json!(before[0]);
    value[1][1] = json!(b64(b"new page"));
    request["fields"] = json!({"ufCrm_1708509490009": value});

    let body = result(call(&emulator, "crm.item.update", request).await);

    let files = emulator.portal().files(2, PASSPORT);
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].id, before[0]);
    assert_eq!(files[1].name, "myNewFile.pdf");
    assert!(
        emulator.portal().file(before[1]).is_none(),
        "unlisted ids are dropped"
    );
    assert_eq!(
        body["item"]["ufCrm_1708509490009"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn item_update_drops_foreign_ids_and_filedata_objects() {
    let emulator = start(Seed::Demo).await;
    let foreign = emulator.portal().files(1, PASSPORT)[0].id;
    let own = emulator.portal().files(2, PASSPORT)[0].id;
    let value = json!([{"id": foreign}, {"id": own}, {"fileData": ["x.pdf", b64(b"x")]}]);

    result(
        call(
            &emulator,
            "crm.item.update",
            json!({"entityTypeId": 2, "id": 2, "fields": {"ufCrm_1708509490009": value}}),
        )
        .await,
    );

    let ids: Vec<u64> = emulator
        .portal()
        .files(2, PASSPORT)
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, vec![own]);
    assert_eq!(
        emulator.portal().files(1, PASSPORT).len(),
        1,
        "another deal's file is untouched"
    );
}

#[tokio::test]
async fn url_machine_downloads_with_webhook_credentials_only() {
    let emulator = start(Seed::Demo).await;
    let item = result(
        call(
            &emulator,
            "crm.item.get",
            json!({"entityTypeId": 2, "id": 1}),
        )
        .await,
    );
    let file = &item["item"]["ufCrm_1708509490009"][0];
    let url_machine = file["urlMachine"].as_str().unwrap().to_owned();
    let expected = emulator
        .portal()
        .file(file["id"].as_u64().unwrap())
        .unwrap();

    let download = http().get(&url_machine).send().await.unwrap();
    let status = download.status().as_u16();
    let content_type = download.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = download.bytes().await.unwrap();
    let forged = http()
        .get(url_machine.replace(
            &emulator.webhook_url(),
            &format!("{}/rest/1/forged/", emulator.base_url()),
        ))
        .send()
        .await
        .unwrap();
    let browser_url = http()
        .get(file["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    assert!(url_machine.starts_with(&emulator.webhook_url()));
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/pdf");
    assert_eq!(bytes, expected.bytes);
    assert_eq!(forged.status().as_u16(), 401);
    let page = browser_url.text().await.unwrap();
    assert!(
        page.contains("Авторизация"),
        "the browser URL needs a session"
    );
}

#[tokio::test]
async fn legacy_download_url_is_relative_and_useless() {
    let emulator = start(Seed::Demo).await;
    let deal = result(call(&emulator, "crm.deal.get", json!({"id": 1})).await);
    let download_url = deal[PASSPORT][0]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();

    let page = http()
        .get(format!("{}{download_url}", emulator.base_url()))
        .send()
        .await
        .unwrap();

    assert!(
        download_url.starts_with("/bitrix/components/bitrix/crm.deal.show/show_file.php?auth=&")
    );
    assert_eq!(
        page.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(page.text().await.unwrap().contains("Авторизация"));
}

#[tokio::test]
async fn get_file_rejects_files_of_other_fields() {
    let emulator = start(Seed::Demo).await;
    let file = emulator.portal().files(1, PASSPORT)[0].id;

    let wrong_field = http()
        .get(format!(
            "{}crm.controller.item.getFile?entityTypeId=2&id=1&fieldName={}&fileId={file}",
            emulator.webhook_url(),
            seed::FIELD_MESSAGE
        ))
        .send()
        .await
        .unwrap();
    let wrong_deal = http()
        .get(format!(
            "{}crm.controller.item.getFile?entityTypeId=2&id=2&fieldName={PASSPORT}&fileId={file}",
            emulator.webhook_url()
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(wrong_field.status().as_u16(), 404);
    assert_eq!(wrong_deal.status().as_u16(), 404);
}

#[tokio::test]
async fn portal_attach_appends_to_multiple_fields() {
    let emulator = start(Seed::Demo).await;
    let portal = emulator.portal();

    let id = portal
        .attach_file(1, PASSPORT, "page2.jpg", b"jpeg".to_vec())
        .unwrap();

    let files = portal.files(1, PASSPORT);
    assert_eq!(files.len(), 2);
    assert_eq!(files[1].id, id);
    portal.remove_file(1, PASSPORT, id).unwrap();
    assert_eq!(portal.files(1, PASSPORT).len(), 1);
}
