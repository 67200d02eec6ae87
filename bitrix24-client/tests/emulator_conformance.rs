//! The emulator's answers have the shapes of the documented fixtures: the
//! same keys, the same JSON types, the same envelopes and HTTP statuses.

mod emulator_support;

use bitrix24_client::emulator::{
    Emulator, EmulatorOptions, NewDeal, NewSmartInvoice, OperatingLimit, Portal, RateLimit, Seed,
    UfValue, UserFieldSpec, UserFieldType, WebhookCredentials,
};
use emulator_support::*;
use serde_json::{Value, json};

/// Creates the user fields of the synthetic `crm.deal.get` fixture and a deal filling them.
fn synthetic_deal(portal: &Portal) -> u64 {
    let fields = [
        ("UF_CRM_STRING", UserFieldType::String, false),
        ("UF_CRM_URL", UserFieldType::Url, false),
        ("UF_CRM_MONEY", UserFieldType::Money, false),
        ("UF_CRM_DOUBLE", UserFieldType::Double, false),
        ("UF_CRM_DATE", UserFieldType::Date, false),
        ("UF_CRM_DATETIME", UserFieldType::DateTime, false),
        ("UF_CRM_DATE_EMPTY", UserFieldType::Date, false),
        ("UF_CRM_BOOL", UserFieldType::Boolean, false),
        ("UF_CRM_FILE_ONE", UserFieldType::File, false),
        ("UF_CRM_FILE_MANY", UserFieldType::File, true),
        ("UF_CRM_FILE_MANY_EMPTY", UserFieldType::File, true),
        ("UF_CRM_STRING_EMPTY", UserFieldType::String, false),
    ];
    for (code, kind, multiple) in fields {
        let mut spec = UserFieldSpec::new(code, kind);
        if multiple {
            spec = spec.multiple();
        }
        portal.add_user_field(spec).expect("test setup failed");
    }
    portal
        .add_user_field(
            UserFieldSpec::new("UF_CRM_ENUM", UserFieldType::Enumeration).items(["A", "B"]),
        )
        .expect("test setup failed");
    portal
        .add_user_field(
            UserFieldSpec::new("UF_CRM_ENUM_MULTI", UserFieldType::Enumeration)
                .multiple()
                .items(["A", "B"]),
        )
        .expect("test setup failed");

    let deal = NewDeal::new("Case 123/2025")
        .field("UF_CRM_STRING", UfValue::text("Case 123/2025"))
        .field("UF_CRM_URL", UfValue::text("https://example.com/case"))
        .field("UF_CRM_MONEY", UfValue::rubles(150_000))
        .field("UF_CRM_DOUBLE", UfValue::text("12.5"))
        .field("UF_CRM_DATE", UfValue::text("2025-04-29"))
        .field(
            "UF_CRM_DATETIME",
            UfValue::text("2025-04-29T13:03:20+03:00"),
        )
        .field("UF_CRM_BOOL", UfValue::Bool(true))
        .field("UF_CRM_ENUM", UfValue::EnumLabel("A".into()))
        .field(
            "UF_CRM_ENUM_MULTI",
            UfValue::List(vec![
                UfValue::EnumLabel("A".into()),
                UfValue::EnumLabel("B".into()),
            ]),
        )
        .field(
            "UF_CRM_FILE_ONE",
            UfValue::file("contract.pdf", b"%PDF-1.4".to_vec()),
        )
        .field(
            "UF_CRM_FILE_MANY",
            UfValue::file("scan.pdf", b"%PDF-1.4".to_vec()),
        );
    portal.create_deal(deal).expect("test setup failed")
}

async fn fixture_deal(emulator: &Emulator) -> u64 {
    let portal = emulator.portal();
    portal
        .add_user_field(UserFieldSpec::new(
            "UF_CRM_1721244482250",
            UserFieldType::String,
        ))
        .expect("test setup failed");
    let deal = portal
        .create_deal(NewDeal::new("New Deal #1").amount(1_000_000))
        .expect("test setup failed");
    let fields = json!({
        "COMMENTS": "[B]Example comment[/B]", "ADDITIONAL_INFO": "Additional information",
        "PROBABILITY": 99, "SOURCE_DESCRIPTION": "Additional source information",
        "UTM_SOURCE": "google", "UTM_MEDIUM": "CPC", "UF_CRM_1721244482250": "Hello world!"
    });
    result(
        call(
            emulator,
            "crm.deal.update",
            json!({"id": deal, "fields": fields}),
        )
        .await,
    );
    deal
}

#[tokio::test]
async fn deal_get_matches_fixture() {
    let emulator = start(Seed::Empty).await;
    let deal = fixture_deal(&emulator).await;

    let (status, body) = call(&emulator, "crm.deal.get", json!({"id": deal})).await;

    let mut expected = fixture_json("crm.deal.get.response.json");
    expected["result"]
        .as_object_mut()
        .unwrap()
        .remove("PARENT_ID_1220");
    assert_eq!(status, 200);
    assert_same_shape(&body, &expected);
    assert_eq!(body["result"]["ID"], json!(deal.to_string()));
    assert_eq!(body["result"]["OPPORTUNITY"], json!("1000000.00"));
    assert_eq!(body["result"]["PROBABILITY"], json!("99"));
}

#[tokio::test]
async fn deal_get_user_fields_match_synthetic_fixture() {
    let emulator = start(Seed::Empty).await;
    let deal = synthetic_deal(&emulator.portal());

    let (status, body) = call(&emulator, "crm.deal.get", json!({"id": deal})).await;

    assert_eq!(status, 200);
    let expected = fixture_json("crm.deal.get.uf-values.SYNTHETIC.json");
    assert_shape_includes(&body, &expected);
    let row = &body["result"];
    assert_eq!(row["UF_CRM_MONEY"], json!("150000|RUB"));
    assert_eq!(row["UF_CRM_DOUBLE"], json!("12.5"));
    assert_eq!(row["UF_CRM_DATE"], json!("2025-04-29T03:00:00+03:00"));
    assert_eq!(row["UF_CRM_DATETIME"], json!("2025-04-29T13:03:20+03:00"));
    assert_eq!(row["UF_CRM_DATE_EMPTY"], json!(""));
    assert_eq!(row["UF_CRM_BOOL"], json!("1"));
    assert_eq!(row["UF_CRM_FILE_MANY_EMPTY"], json!([]));
    assert_eq!(row["UF_CRM_STRING_EMPTY"], json!(""));
    let enum_id = emulator.portal().enum_item_id("UF_CRM_ENUM", "A").unwrap();
    assert_eq!(row["UF_CRM_ENUM"], json!(enum_id.to_string()));
    let file = &row["UF_CRM_FILE_ONE"];
    let id = file["id"].as_u64().unwrap();
    assert_eq!(
        file["downloadUrl"],
        json!(format!(
            "/bitrix/components/bitrix/crm.deal.show/show_file.php?auth=&ownerId={deal}&fieldName=UF_CRM_FILE_ONE&dynamic=Y&fileId={id}"
        ))
    );
}

#[tokio::test]
async fn deal_get_omits_empty_single_file_field() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    portal
        .add_user_field(UserFieldSpec::new("UF_CRM_FILE_ONE", UserFieldType::File))
        .unwrap();
    let deal = portal.create_deal(NewDeal::new("No files")).unwrap();

    let get = result(call(&emulator, "crm.deal.get", json!({"id": deal})).await);
    let list = result(
        call(
            &emulator,
            "crm.deal.list",
            json!({"select": ["ID", "UF_*"]}),
        )
        .await,
    );

    assert!(get.get("UF_CRM_FILE_ONE").is_none());
    assert_eq!(list[0]["UF_CRM_FILE_ONE"], Value::Null);
}

#[tokio::test]
async fn deal_list_matches_fixture() {
    let emulator = start(Seed::Empty).await;
    for n in 0..3 {
        emulator
            .portal()
            .create_deal(NewDeal::new(format!("[A] Deal {n}")).amount(19_999))
            .unwrap();
    }
    let select = [
        "ID",
        "TITLE",
        "TYPE_ID",
        "CATEGORY_ID",
        "STAGE_ID",
        "OPPORTUNITY",
        "IS_MANUAL_OPPORTUNITY",
        "ASSIGNED_BY_ID",
        "DATE_CREATE",
    ];

    let (status, body) = call(&emulator, "crm.deal.list", json!({"select": select})).await;

    assert_eq!(status, 200);
    assert_same_shape(&body, &fixture_json("crm.deal.list.response.json"));
    assert_eq!(body["total"], json!(3));
}

#[tokio::test]
async fn deal_update_matches_fixture() {
    let emulator = start(Seed::Empty).await;
    let deal = emulator.portal().create_deal(NewDeal::new("x")).unwrap();

    let (status, body) = call(
        &emulator,
        "crm.deal.update",
        json!({"id": deal, "fields": {"TITLE": "y"}}),
    )
    .await;

    assert_eq!(status, 200);
    assert_same_shape(&body, &fixture_json("crm.deal.update.response.json"));
    assert_eq!(body["result"], json!(true));
}

#[tokio::test]
async fn deal_fields_match_fixture() {
    let emulator = start(Seed::Empty).await;

    let fields = result(call(&emulator, "crm.deal.fields", json!({})).await);

    let expected = fixture_json("crm.deal.fields.response.json");
    let expected = expected["result"].as_object().unwrap();
    let actual = fields.as_object().unwrap();
    assert_eq!(
        actual.keys().collect::<Vec<_>>().len(),
        expected.len(),
        "standard field sets differ: {:?}",
        actual
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .collect::<Vec<_>>()
    );
    for (name, entry) in expected {
        let mut mine = actual[name].clone();
        let mut theirs = entry.clone();
        mine.as_object_mut().unwrap().remove("title");
        theirs.as_object_mut().unwrap().remove("title");
        assert_eq!(mine, theirs, "field {name}");
    }
}

#[tokio::test]
async fn deal_fields_show_user_fields_as_dynamic() {
    let emulator = start(Seed::Demo).await;

    let fields = result(call(&emulator, "crm.deal.fields", json!({})).await);

    let trigger = &fields["UF_CRM_1708511654449"];
    assert_eq!(trigger["type"], json!("enumeration"));
    assert_eq!(trigger["isDynamic"], json!(true));
    assert_eq!(trigger["items"][0]["VALUE"], json!("Создать"));
    assert_eq!(fields["UF_CRM_1708509490009"]["isMultiple"], json!(true));
}

#[tokio::test]
async fn userfield_list_matches_fixture() {
    let emulator = start(Seed::Demo).await;

    let (status, body) = call(&emulator, "crm.deal.userfield.list", json!({})).await;

    assert_eq!(status, 200);
    let fixture = fixture_json("crm.deal.userfield.list.response.json");
    let model = |kind: &str| {
        fixture["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["USER_TYPE_ID"] == json!(kind))
            .cloned()
            .unwrap()
    };
    let rows = body["result"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    for row in rows {
        match row["USER_TYPE_ID"].as_str().unwrap() {
            kind @ ("enumeration" | "file" | "string") => assert_same_shape(row, &model(kind)),
            _ => assert_shape_includes(
                row,
                &model("crm_status")
                    .as_object()
                    .map(|m| {
                        let mut m = m.clone();
                        m.remove("SETTINGS");
                        Value::Object(m)
                    })
                    .unwrap(),
            ),
        }
    }
    assert_eq!(body["total"], json!(24));
    assert!(body["time"].is_object());
}

#[tokio::test]
async fn userfield_list_filters_by_field_name() {
    let emulator = start(Seed::Demo).await;

    let rows = result(
        call(
            &emulator,
            "crm.deal.userfield.list",
            json!({"filter": {"FIELD_NAME": "UF_CRM_1708511654449"}}),
        )
        .await,
    );

    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["LIST"][0]["VALUE"], json!("Создать"));
}

#[tokio::test]
async fn category_list_matches_fixture() {
    let emulator = start(Seed::Demo).await;

    let (status, body) = call(&emulator, "crm.category.list", json!({"entityTypeId": 2})).await;

    assert_eq!(status, 200);
    let fixture = fixture_json("crm.category.list.deal.response.json");
    let rows = fixture["result"]["categories"].as_array().unwrap();
    let model = |default: &str| {
        rows.iter()
            .find(|c| c["isDefault"] == json!(default))
            .unwrap()
            .clone()
    };
    for category in body["result"]["categories"].as_array().unwrap() {
        assert_same_shape(category, &model(category["isDefault"].as_str().unwrap()));
    }
    assert_same_shape(&body["time"], &fixture["time"]);
    assert_eq!(body["total"], json!(2));
    let categories = body["result"]["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 2);
    let default = categories.iter().find(|c| c["id"] == json!(0)).unwrap();
    assert!(default.get("originId").is_none());
    assert_eq!(default["isDefault"], json!("Y"));
}

#[tokio::test]
async fn category_list_of_smart_invoices() {
    let emulator = start(Seed::Empty).await;

    let body = result(call(&emulator, "crm.category.list", json!({"entityTypeId": 31})).await);

    assert_eq!(body["categories"][0]["entityTypeId"], json!(31));
}

#[tokio::test]
async fn deal_stages_match_fixture() {
    let emulator = start(Seed::Demo).await;

    let filter = json!({"filter": {"ENTITY_ID": "DEAL_STAGE_7"}, "order": {"SORT": "ASC"}});
    let (status, body) = call(&emulator, "crm.status.list", filter).await;

    assert_eq!(status, 200);
    let mut fixture = fixture_json("crm.status.list.deal_stage.response.json");
    // `operating_reset_at` is present only while a reset of the operation-time budget is pending.
    fixture["time"]
        .as_object_mut()
        .unwrap()
        .remove("operating_reset_at");
    assert_same_shape(&body, &fixture);
    let names: Vec<&str> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["NAME"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "Сбор документов");
    assert!(names.contains(&"Должник"));
    let won = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["STATUS_ID"] == json!("C7:WON"))
        .unwrap();
    assert_eq!(won["SEMANTICS"], json!("S"));
    assert_eq!(won["EXTRA"]["SEMANTICS"], json!("success"));
    assert_eq!(won["CATEGORY_ID"], json!("7"));
}

#[tokio::test]
async fn smart_invoice_stages_have_no_extra() {
    let emulator = start(Seed::Demo).await;
    let category = emulator.portal().smart_invoice_pipeline().unwrap().id;

    let filter = json!({"filter": {"ENTITY_ID": format!("SMART_INVOICE_STAGE_{category}")}});
    let (status, body) = call(&emulator, "crm.status.list", filter).await;

    assert_eq!(status, 200);
    let fixture = fixture_json("crm.status.list.dynamic_stage.response.json");
    assert_same_shape(&body["result"], &fixture["result"]);
    let rows = body["result"].as_array().unwrap();
    assert!(rows.iter().all(|r| r.get("EXTRA").is_none()));
    assert_eq!(
        rows.iter().filter(|r| r["SEMANTICS"] == json!("S")).count(),
        1
    );
}

#[tokio::test]
async fn status_entity_types_match_fixture() {
    let emulator = start(Seed::Demo).await;

    let types = result(call(&emulator, "crm.status.entity.types", json!({})).await);

    let fixture = fixture_json("crm.status.entity.types.response.json");
    let model = |id: &str| {
        fixture["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["ID"] == json!(id))
            .unwrap()
            .clone()
    };
    let find = |id: &str| {
        types
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["ID"] == json!(id))
            .unwrap()
            .clone()
    };
    assert_same_shape(&find("DEAL_STAGE"), &model("DEAL_STAGE"));
    assert_same_shape(&find("DEAL_STAGE_7"), &model("DEAL_STAGE_1"));
    assert_same_shape(&find("SOURCE"), &model("SOURCE"));
    let category = emulator.portal().smart_invoice_pipeline().unwrap().id;
    let invoice = find(&format!("SMART_INVOICE_STAGE_{category}"));
    assert_same_shape(&invoice, &model("SMART_INVOICE_STAGE_5"));
    assert_eq!(
        find("DEAL_STAGE_7")["SEMANTIC_INFO"]["FINAL_SUCCESS_FIELD"],
        json!("C7:WON")
    );
}

#[tokio::test]
async fn smart_invoice_item_matches_synthetic_fixture() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    let deal = portal.create_deal(NewDeal::new("Case")).unwrap();
    let invoice = portal
        .add_smart_invoice(
            NewSmartInvoice::new("Invoice #1", 150_000)
                .deal(deal)
                .paid(),
        )
        .unwrap();

    let (status, body) = call(
        &emulator,
        "crm.item.get",
        json!({"entityTypeId": 31, "id": invoice}),
    )
    .await;

    assert_eq!(status, 200);
    assert_same_shape(
        &body,
        &fixture_json("crm.item.get.smart-invoice.response.SYNTHETIC.json"),
    );
    let item = &body["result"]["item"];
    assert_eq!(item["parentId2"], json!(deal));
    assert_eq!(item["opportunity"], json!(150000));
    assert_eq!(item["entityTypeId"], json!(31));
}

#[tokio::test]
async fn item_update_matches_date_fixture() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    portal
        .add_user_field(UserFieldSpec::new(
            "UF_CRM_1746431727372",
            UserFieldType::Date,
        ))
        .unwrap();
    let deal = portal.create_deal(NewDeal::new("Deal #6531")).unwrap();

    let fields = json!({"ufCrm_1746431727372": "2025-04-29T13:03:20+03:00"});
    let (status, body) = call(
        &emulator,
        "crm.item.update",
        json!({"entityTypeId": 2, "id": deal, "fields": fields}),
    )
    .await;

    assert_eq!(status, 200);
    assert_shape_includes(
        &body,
        &fixture_json("crm.item.update.deal.date-uf.response.json"),
    );
    assert_eq!(
        body["result"]["item"]["ufCrm_1746431727372"],
        json!("2025-04-29T03:00:00+03:00")
    );
}

#[tokio::test]
async fn item_list_matches_fixture() {
    let emulator = start(Seed::Empty).await;
    for n in 0..4 {
        emulator
            .portal()
            .create_deal(NewDeal::new(format!("Deal #{n}")).amount(19_000))
            .unwrap();
    }
    let select = [
        "id",
        "assignedById",
        "stageId",
        "opportunity",
        "sourceId",
        "title",
        "isManualOpportunity",
    ];

    let (status, body) = call(
        &emulator,
        "crm.item.list",
        json!({"entityTypeId": 2, "select": select}),
    )
    .await;

    assert_eq!(status, 200);
    let mut fixture = fixture_json("crm.item.list.response.json");
    for row in fixture["result"]["items"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        row.remove("name");
        row.remove("lastName");
    }
    assert_same_shape(&body, &fixture);
}

#[tokio::test]
async fn item_file_objects_match_fixture() {
    let emulator = start(Seed::Demo).await;

    let select = ["id", "ufCrm_1708509490009"];
    let body = result(
        call(
            &emulator,
            "crm.item.list",
            json!({"entityTypeId": 2, "select": select, "filter": {"id": 2}}),
        )
        .await,
    );

    let files = &body["items"][0]["ufCrm_1708509490009"];
    let fixture = fixture_json("crm.item.list.file-field.response.json");
    let model = &fixture["result"]["items"][0]["ufCrm_7_1739432938"];
    assert_eq!(files.as_array().unwrap().len(), 2);
    assert_same_shape(files, model);
}

#[tokio::test]
async fn legacy_file_objects_match_fixture() {
    let emulator = start(Seed::Empty).await;
    let portal = emulator.portal();
    portal
        .add_user_field(UserFieldSpec::new("UF_CRM_LEAD_FILE", UserFieldType::File))
        .unwrap();
    portal
        .add_user_field(UserFieldSpec::new("UF_CRM_LEAD_FILES", UserFieldType::File).multiple())
        .unwrap();
    let deal = portal
        .create_deal(
            NewDeal::new("From website: Ivan Testov")
                .field("UF_CRM_LEAD_FILE", UfValue::file("a.pdf", b"a".to_vec()))
                .field("UF_CRM_LEAD_FILES", UfValue::file("b.pdf", b"b".to_vec())),
        )
        .unwrap();

    let row = result(call(&emulator, "crm.deal.get", json!({"id": deal})).await);

    let fixture = fixture_json("crm.lead.get.file-fields.response.json");
    assert_same_shape(
        &row["UF_CRM_LEAD_FILE"],
        &fixture["result"]["UF_CRM_LEAD_FILE"],
    );
    assert_same_shape(
        &row["UF_CRM_LEAD_FILES"],
        &fixture["result"]["UF_CRM_LEAD_FILES"],
    );
}

#[tokio::test]
async fn batch_matches_fixture() {
    let emulator = start(Seed::Demo).await;

    let cmd = json!({"get_user": "crm.deal.get?id=1", "get_department": "crm.deal.list?select[]=ID&filter[ID]=1"});
    let (status, body) = call(&emulator, "batch", json!({"halt": 0, "cmd": cmd})).await;

    assert_eq!(status, 200);
    let fixture = fixture_json("batch.response.json");
    assert_same_shape(
        &body["result"]["result_time"],
        &fixture["result"]["result_time"],
    );
    assert_same_shape(
        &body["result"]["result_total"],
        &fixture["result"]["result_total"],
    );
    assert_eq!(body["result"]["result_error"], json!([]));
    assert_eq!(body["result"]["result_next"], json!([]));
    assert_shape_includes(&body["time"], &fixture["time"]);
    assert!(body["result"]["result"]["get_user"].is_object());
    assert!(body["result"]["result"]["get_department"].is_array());
}

#[tokio::test]
async fn batch_errors_match_fixtures() {
    let credentials = WebhookCredentials::new(1, "noscopewebhook01").with_scopes(["user"]);
    let emulator = start_with(
        EmulatorOptions::default()
            .webhooks(vec![credentials])
            .rate_limit(RateLimit::Off),
    )
    .await;
    let body = |halt: u8| {
        format!(
            r#"{{"halt": {halt}, "cmd": {{"get_user": "crm.deal.get?id=1", "get_department": "crm.deal.list"}}}}"#
        )
    };

    let halt0 = call_raw(&emulator, "batch", &body(0)).await;
    let halt1 = call_raw(&emulator, "batch", &body(1)).await;

    assert_eq!(halt0.0, 200);
    assert_eq!(
        halt0.1["result"],
        fixture_json("batch.error.halt0.response.json")["result"]
    );
    assert_eq!(
        halt1.1["result"],
        fixture_json("batch.error.halt1.response.json")["result"]
    );
}

#[tokio::test]
async fn batch_request_fixture_is_accepted() {
    let emulator = start(Seed::Empty).await;

    let (status, body) = call(&emulator, "batch", fixture_json("batch.request.json")).await;

    assert_eq!(status, 200);
    assert_eq!(
        body["result"]["result_error"]["get_user"]["error"],
        json!("ERROR_METHOD_NOT_FOUND")
    );
    assert_eq!(
        body["result"]["result_error"]["get_department"]["error"],
        json!("ERROR_METHOD_NOT_FOUND")
    );
}

async fn raw_post(url: String) -> (u16, Value) {
    decode(
        http()
            .post(url)
            .json(&json!({}))
            .send()
            .await
            .expect("test setup failed"),
    )
    .await
}

#[tokio::test]
async fn error_envelopes_match_fixtures() {
    let emulator = start(Seed::Empty).await;
    let wrong_secret = format!("{}/rest/1/wrongsecret/crm.deal.get", emulator.base_url());
    let no_auth = format!("{}/rest/crm.deal.get", emulator.base_url());

    let cases = [
        (
            call(&emulator, "crm.no.such.method", json!({})).await,
            404,
            "error.ERROR_METHOD_NOT_FOUND.http404.json",
        ),
        (
            raw_post(wrong_secret).await,
            401,
            "error.INVALID_CREDENTIALS.json",
        ),
        (
            raw_post(no_auth).await,
            401,
            "error.NO_AUTH_FOUND.http401.json",
        ),
        (
            call(&emulator, "crm.deal.get", json!({"id": 999})).await,
            400,
            "error.crm.deal.get.not-found.http400.json",
        ),
        (
            call(
                &emulator,
                "crm.deal.update",
                json!({"id": 1, "fields": "x"}),
            )
            .await,
            400,
            "error.crm.deal.update.empty-code.http400.json",
        ),
        (
            call(
                &emulator,
                "crm.item.get",
                json!({"entityTypeId": 2, "id": 999}),
            )
            .await,
            400,
            "error.crm.item.NOT_FOUND.json",
        ),
        (
            call(
                &emulator,
                "crm.category.list",
                json!({"entityTypeId": 1234}),
            )
            .await,
            400,
            "error.crm.category.list.NOT_FOUND.json",
        ),
    ];
    for ((status, body), expected_status, name) in cases {
        assert_eq!(body, fixture_json(name), "{name}");
        assert_eq!(status, expected_status, "{name}");
    }
}

#[tokio::test]
async fn insufficient_scope_matches_fixture() {
    let credentials = WebhookCredentials::new(3, "taskonlywebhook1").with_scopes(["task"]);
    let emulator = start_with(
        EmulatorOptions::default()
            .webhooks(vec![credentials])
            .rate_limit(RateLimit::Off),
    )
    .await;

    let (status, body) = call(&emulator, "crm.deal.list", json!({})).await;

    assert_eq!(status, 403);
    assert_eq!(body, fixture_json("error.insufficient_scope.json"));
}

#[tokio::test]
async fn query_limit_matches_fixture() {
    let options = EmulatorOptions::default().rate_limit(RateLimit::Bucket {
        per_second: 0.001,
        burst: 1,
    });
    let emulator = start_with(options).await;

    let first = call(&emulator, "crm.deal.list", json!({})).await;
    let second = call(&emulator, "crm.deal.list", json!({})).await;

    assert_eq!(first.0, 200);
    assert_eq!(second.0, 503);
    assert_eq!(
        second.1,
        fixture_json("error.QUERY_LIMIT_EXCEEDED.http503.json")
    );
}

#[tokio::test]
async fn operation_time_limit_matches_fixtures() {
    let limit = OperatingLimit {
        budget: std::time::Duration::from_secs(10),
        charge_per_call: std::time::Duration::from_secs(6),
    };
    let emulator = start_with(
        EmulatorOptions::default()
            .rate_limit(RateLimit::Off)
            .operating_limit(limit),
    )
    .await;

    let first = call(&emulator, "crm.deal.list", json!({})).await;
    let second = call(&emulator, "crm.deal.list", json!({})).await;
    let third = call(&emulator, "crm.deal.list", json!({})).await;

    assert_eq!(first.0, 200);
    assert_same_shape(
        &first.1["time"],
        &fixture_json("time.operating.response-fragment.json")["time"],
    );
    assert_eq!(second.0, 200);
    assert!(second.1["time"]["operating"].as_f64().unwrap() >= 12.0);
    assert_eq!(third.0, 429);
    assert_eq!(
        third.1,
        fixture_json("error.OPERATION_TIME_LIMIT.http429.json")
    );
    let other = call(&emulator, "crm.deal.fields", json!({})).await;
    assert_eq!(other.0, 200, "the budget is per method");
}
