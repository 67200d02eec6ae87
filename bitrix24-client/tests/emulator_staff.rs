//! The staff panel: pages in Russian, escaped output, and forms that change
//! the portal the way staff would (with the same events).

mod emulator_support;

use bitrix24_client::emulator::{Seed, seed};
use emulator_support::*;
use serde_json::json;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("test setup failed")
}

async fn page(url: String) -> (u16, String) {
    let response = http().get(url).send().await.expect("test setup failed");
    (
        response.status().as_u16(),
        response.text().await.expect("test setup failed"),
    )
}

async fn post_form(url: String, form: &[(&str, &str)]) -> u16 {
    no_redirects()
        .post(url)
        .form(form)
        .send()
        .await
        .expect("test setup failed")
        .status()
        .as_u16()
}

#[tokio::test]
async fn list_shows_deals_with_stage_and_account_fields() {
    let emulator = start(Seed::Demo).await;
    emulator
        .portal()
        .set_fields(
            2,
            vec![
                (seed::FIELD_LOGIN.to_owned(), "client-2".into()),
                (seed::FIELD_PASSWORD.to_owned(), "s3cret".into()),
            ],
        )
        .unwrap();

    let (status, html) = page(emulator.staff_panel_url()).await;

    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"ru\">"));
    assert!(html.contains("Банкротство: Сидорова Анна"));
    assert!(html.contains("Реструктуризация долгов"));
    assert!(html.contains("client-2"));
    assert!(html.contains("s3cret"));
    assert!(html.contains("Создать"));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn search_filters_the_list() {
    let emulator = start(Seed::Demo).await;

    let (_, html) = page(format!(
        "{}?q=%D0%BA%D1%83%D0%B7%D0%BD%D0%B5%D1%86%D0%BE%D0%B2",
        emulator.staff_panel_url()
    ))
    .await;

    assert!(html.contains("Кузнецов"));
    assert!(!html.contains("Сидорова"));
}

#[tokio::test]
async fn card_escapes_hostile_values() {
    let emulator = start(Seed::Demo).await;
    let hostile = "<script>alert(1)</script>\" onmouseover=\"x";
    emulator
        .portal()
        .set_field(1, seed::FIELD_MESSAGE, hostile.into())
        .unwrap();
    emulator.portal().set_title(1, "<b>title</b>").unwrap();

    let (status, html) = page(format!("{}/deals/1", emulator.staff_panel_url())).await;
    let (_, list) = page(emulator.staff_panel_url()).await;

    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x"));
    assert!(!list.contains("<b>title</b>"));
}

#[tokio::test]
async fn forms_change_stage_fields_and_trigger() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &receiver.url, "token")
        .unwrap();
    let base = emulator.staff_panel_url();

    let stage = post_form(format!("{base}/deals/6/stage"), &[("stage", "PREPARATION")]).await;
    let message = post_form(
        format!("{base}/deals/6/field"),
        &[("field", seed::FIELD_MESSAGE), ("value", "Ждём документы")],
    )
    .await;
    let court = post_form(
        format!("{base}/deals/6/field"),
        &[
            ("field", seed::FIELD_COURT_LINK),
            ("value", "https://kad.arbitr.ru/Card/1"),
        ],
    )
    .await;
    let trigger = post_form(format!("{base}/deals/6/trigger"), &[]).await;
    portal.wait_for_deliveries().await;

    assert_eq!([stage, message, court, trigger], [303, 303, 303, 303]);
    let deal = portal.deal(6).unwrap();
    assert_eq!(deal.stage, "PREPARATION");
    assert_eq!(
        portal.field_text(6, seed::FIELD_MESSAGE).as_deref(),
        Some("Ждём документы")
    );
    assert_eq!(
        portal.field_text(6, seed::FIELD_COURT_LINK).as_deref(),
        Some("https://kad.arbitr.ru/Card/1")
    );
    assert_eq!(
        portal.field_text(6, seed::FIELD_CREATE_ACCOUNT).as_deref(),
        Some(seed::CREATE_ACCOUNT_VALUE)
    );
    assert_eq!(receiver.drain().len(), 4);
}

#[tokio::test]
async fn stage_form_moves_between_pipelines_silently() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    emulator
        .portal()
        .register_handler("ONCRMDEALUPDATE", &receiver.url, "token")
        .unwrap();

    let status = post_form(
        format!("{}/deals/5/stage", emulator.staff_panel_url()),
        &[("stage", seed::STAGE_COLLECTING_DOCUMENTS)],
    )
    .await;
    emulator.portal().wait_for_deliveries().await;

    assert_eq!(status, 303);
    assert_eq!(
        emulator.portal().deal(5).unwrap().pipeline,
        seed::EXECUTION_PIPELINE_ID
    );
    assert!(receiver.drain().is_empty());
}

#[tokio::test]
async fn upload_form_attaches_a_document() {
    let emulator = start(Seed::Demo).await;
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nUF_CRM_1708509740365\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"inn.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 inn\r\n--{boundary}--\r\n"
    );

    let status = no_redirects()
        .post(format!("{}/deals/1/files", emulator.staff_panel_url()))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();

    assert_eq!(status, 303);
    let files = emulator.portal().files(1, "UF_CRM_1708509740365");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "inn.pdf");
    assert_eq!(files[0].bytes.as_ref(), b"%PDF-1.4 inn");
    let download = http()
        .get(format!(
            "{}/files/{}",
            emulator.staff_panel_url(),
            files[0].id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"%PDF-1.4 inn");
}

#[tokio::test]
async fn invoice_forms_add_and_pay() {
    let emulator = start(Seed::Demo).await;
    let base = emulator.staff_panel_url();
    let portal = emulator.portal();

    let added = post_form(
        format!("{base}/deals/1/invoices"),
        &[
            ("kind", "smart"),
            ("title", "Платёж 3"),
            ("amount", "15 000,50"),
        ],
    )
    .await;
    let legacy = post_form(
        format!("{base}/deals/1/invoices"),
        &[("kind", "legacy"), ("amount", "1000"), ("paid", "on")],
    )
    .await;
    let invoice = portal
        .smart_invoices_of(1)
        .into_iter()
        .find(|i| i.title == "Платёж 3")
        .unwrap();
    let paid = post_form(
        format!("{base}/invoices/smart/{}/pay", invoice.id),
        &[("deal", "1")],
    )
    .await;
    let bad = post_form(
        format!("{base}/deals/1/invoices"),
        &[("kind", "smart"), ("amount", "много")],
    )
    .await;

    assert_eq!([added, legacy, paid], [303, 303, 303]);
    assert_eq!(bad, 400);
    assert_eq!(invoice.amount.to_string(), "15000.50");
    assert!(portal.smart_invoice(invoice.id).unwrap().paid);
    assert_eq!(portal.legacy_invoices_of(1)[0].status, "P");
    let (_, html) = page(format!("{base}/deals/1")).await;
    assert!(html.contains("Платёж 3"));
    assert!(html.contains("старый счёт"));
}

#[tokio::test]
async fn new_deal_form_creates_a_deal_with_contact() {
    let emulator = start(Seed::Demo).await;

    let status = post_form(
        format!("{}/deals", emulator.staff_panel_url()),
        &[
            ("title", "Новая сделка"),
            ("client", "Орлова Дарья"),
            ("pipeline", "7"),
        ],
    )
    .await;

    assert_eq!(status, 303);
    let id = *emulator.portal().deal_ids().last().unwrap();
    let deal = emulator.portal().deal(id).unwrap();
    assert_eq!(deal.title, "Новая сделка");
    assert_eq!(deal.pipeline, 7);
    assert!(deal.contact_id.is_some());
}

#[tokio::test]
async fn unknown_deal_is_a_russian_404() {
    let emulator = start(Seed::Demo).await;

    let (status, html) = page(format!("{}/deals/999", emulator.staff_panel_url())).await;

    assert_eq!(status, 404);
    assert!(html.contains("Сделка 999 не найдена"));
}

#[tokio::test]
async fn staff_changes_are_visible_over_rest() {
    let emulator = start(Seed::Demo).await;

    post_form(
        format!("{}/deals/3/field", emulator.staff_panel_url()),
        &[("field", seed::FIELD_CONTRACT_SUM), ("value", "130000")],
    )
    .await;

    let row = result(call(&emulator, "crm.deal.get", json!({"id": 3})).await);
    assert_eq!(row[seed::FIELD_CONTRACT_SUM], json!("130000|RUB"));
}
