//! End-to-end: the Bitrix24 emulator, the cabinet's pages and event
//! endpoint, and the sync engine, as staff and clients use them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitrix_lk_core::engine::ResyncMode;
use bitrix24_client::emulator::seed::{
    CREATE_ACCOUNT_VALUE, DOCUMENT_FIELDS, EXECUTION_PIPELINE_ID, FIELD_CREATE_ACCOUNT,
    FIELD_LAST_LOGIN, FIELD_LOGIN, FIELD_PASSWORD, STAGE_ASSET_SALE, STAGE_COLLECTING_DOCUMENTS,
    STAGE_DEBTOR, STAGE_RESTRUCTURING,
};
use bitrix24_client::emulator::{NewSmartInvoice, Outage, Portal, Seed, UfValue};
use lk_tests::{World, amount_of, csrf_of, progress_of};

/// Demo deals (see the emulator's demo seed): ids in creation order.
const IVANOV: u64 = 1;
const SIDOROVA: u64 = 2;
const PETROV: u64 = 5;
const VOLKOVA: u64 = 6;

fn credentials(portal: &Portal, deal: u64) -> (String, String) {
    let login = portal
        .field_text(deal, FIELD_LOGIN)
        .expect("no login in the deal");
    let password = portal
        .field_text(deal, FIELD_PASSWORD)
        .expect("no password in the deal");
    (login, password)
}

/// Starts the demo portal and provisions every triggered deal by a full resync.
async fn provisioned_world() -> World {
    let world = World::start(Seed::Demo, true).await.unwrap();
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    world.settle().await;
    world
}

async fn logged_in(world: &World, deal: u64) -> lk_tests::Browser {
    let (login, password) = credentials(&world.portal, deal);
    let browser = world.browser().unwrap();
    browser.log_in(&login, &password).await.unwrap();
    browser
}

#[tokio::test]
async fn trigger_event_creates_account_and_login_works() {
    let world = World::start(Seed::Demo, true).await.unwrap();

    world
        .portal
        .set_field(
            VOLKOVA,
            FIELD_CREATE_ACCOUNT,
            UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into()),
        )
        .unwrap();
    world.settle().await;

    let (login, password) = credentials(&world.portal, VOLKOVA);
    assert!(login.starts_with("lk"), "{login}");
    assert!(password.len() >= 10);
    let browser = world.browser().unwrap();
    browser.log_in(&login, &password).await.unwrap();
    let home = browser.get("/").await.unwrap();
    assert_eq!(home.status, 200);
    assert!(
        home.html.contains("Нет статуса"),
        "a deal outside the case pipeline has no status"
    );
    assert_eq!(progress_of(&home.html), Some(0));

    world.settle().await;
    let last_login = world
        .portal
        .field_text(VOLKOVA, FIELD_LAST_LOGIN)
        .expect("last login not written");
    assert!(last_login.ends_with("+03:00"), "{last_login}");
}

#[tokio::test]
async fn repeated_trigger_keeps_the_first_password() {
    let world = World::start(Seed::Demo, true).await.unwrap();
    let trigger = || UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into());
    world
        .portal
        .set_field(VOLKOVA, FIELD_CREATE_ACCOUNT, trigger())
        .unwrap();
    world.settle().await;
    let first = credentials(&world.portal, VOLKOVA);

    world
        .portal
        .set_field(VOLKOVA, FIELD_CREATE_ACCOUNT, UfValue::Empty)
        .unwrap();
    world
        .portal
        .set_field(VOLKOVA, FIELD_CREATE_ACCOUNT, trigger())
        .unwrap();
    world.settle().await;
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    world.settle().await;

    assert_eq!(credentials(&world.portal, VOLKOVA), first);
    let browser = world.browser().unwrap();
    browser.log_in(&first.0, &first.1).await.unwrap();
}

#[tokio::test]
async fn stage_moves_change_icons_and_progress() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, IVANOV).await;
    let before = browser.get("/").await.unwrap();

    world
        .portal
        .move_stage(IVANOV, STAGE_RESTRUCTURING)
        .unwrap();
    world.settle().await;
    let after = browser.get("/").await.unwrap();

    assert_eq!(progress_of(&before.html), Some(0));
    assert!(before.html.contains("Сбор документов"));
    assert!(progress_of(&after.html).unwrap() > 0);
    assert!(
        after
            .html
            .contains("id=\"stage-name\">Реструктуризация долгов")
    );
    assert_eq!(
        after.html.matches("data-stage-state=\"current\"").count(),
        1
    );
}

#[tokio::test]
async fn debtor_stage_blocks_and_unblocks() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, SIDOROVA).await;

    world.portal.move_stage(SIDOROVA, STAGE_DEBTOR).unwrap();
    world.settle().await;
    let blocked = browser.get("/documents").await.unwrap();

    world.portal.move_stage(SIDOROVA, STAGE_ASSET_SALE).unwrap();
    world.settle().await;
    let open = browser.get("/documents").await.unwrap();

    assert!(blocked.html.contains("id=\"debtor-notice\""));
    assert!(!open.html.contains("id=\"debtor-notice\""));
    assert!(open.html.contains("Список необходимых документов"));
}

#[tokio::test]
async fn invoices_paid_and_deleted_change_totals() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, IVANOV).await;
    let paid = |html: &str| amount_of(html, "paid").unwrap();
    assert_eq!(paid(&browser.get("/").await.unwrap().html), "30 000,00 ₽");

    let unpaid = world
        .portal
        .smart_invoices_of(IVANOV)
        .into_iter()
        .find(|invoice| !invoice.paid)
        .unwrap();
    world.portal.pay_smart_invoice(unpaid.id).unwrap();
    world.settle().await;
    let after_payment = browser.get("/").await.unwrap();

    let extra = world
        .portal
        .add_smart_invoice(NewSmartInvoice::new("Доплата", 5_000).deal(IVANOV).paid())
        .unwrap();
    world.settle().await;
    let after_new = browser.get("/").await.unwrap();

    world.portal.delete_smart_invoice(extra).unwrap();
    world.settle().await;
    let after_delete = browser.get("/").await.unwrap();

    assert_eq!(paid(&after_payment.html), "60 000,00 ₽");
    assert_eq!(
        amount_of(&after_payment.html, "remaining").unwrap(),
        "90 000,00 ₽"
    );
    assert_eq!(paid(&after_new.html), "65 000,00 ₽");
    assert_eq!(paid(&after_delete.html), "60 000,00 ₽");
    let payments = browser.get("/payments").await.unwrap();
    assert_eq!(payments.html.matches("data-invoice=").count(), 2);
}

#[tokio::test]
async fn uploaded_document_lands_without_dropping_older_files() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, SIDOROVA).await;
    let passport = DOCUMENT_FIELDS[0].0;
    let before = world.portal.files(SIDOROVA, passport).len();
    let documents = browser.get("/documents").await.unwrap();
    let csrf = csrf_of(&documents.html).unwrap();

    let result = browser
        .upload(
            &format!("/documents/{passport}"),
            &csrf,
            "страница 3.pdf",
            b"%PDF-1.4\n%demo page\n".to_vec(),
        )
        .await
        .unwrap();
    world.settle().await;

    assert_eq!(result.status, 303);
    let files = world.portal.files(SIDOROVA, passport);
    assert_eq!(
        files.len(),
        before + 1,
        "older files were dropped or the new one is missing"
    );
    assert!(files.iter().any(|file| file.name == "страница 3.pdf"));
}

#[tokio::test]
async fn upload_to_missing_document_sets_the_tick() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, IVANOV).await;
    let (field, _) = DOCUMENT_FIELDS[5];
    let page = browser.get("/documents").await.unwrap();
    let row = format!("data-document-state=\"missing\" data-field=\"{field}\"");
    assert!(page.html.contains(&row));

    let csrf = csrf_of(&page.html).unwrap();
    browser
        .upload(
            &format!("/documents/{field}"),
            &csrf,
            "snils.pdf",
            b"%PDF-1.4\n".to_vec(),
        )
        .await
        .unwrap();
    world.settle().await;

    let after = browser.get("/documents").await.unwrap();
    assert!(after.html.contains(&format!(
        "data-document-state=\"received\" data-field=\"{field}\""
    )));
}

#[tokio::test]
async fn lost_events_are_repaired_by_resync() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, IVANOV).await;

    world.portal.drop_next_deliveries(10);
    world
        .portal
        .move_stage(IVANOV, STAGE_RESTRUCTURING)
        .unwrap();
    world.settle().await;
    let stale = browser.get("/").await.unwrap();

    world
        .cabinet
        .engine
        .resync(ResyncMode::Incremental, &|_| {})
        .await
        .unwrap();
    let repaired = browser.get("/").await.unwrap();

    assert!(stale.html.contains("id=\"stage-name\">Сбор документов"));
    assert!(
        repaired
            .html
            .contains("id=\"stage-name\">Реструктуризация долгов")
    );
}

#[tokio::test]
async fn move_from_another_pipeline_is_found_by_resync() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, PETROV).await;
    assert!(browser.get("/").await.unwrap().html.contains("Нет статуса"));

    world
        .portal
        .move_to_pipeline(
            PETROV,
            EXECUTION_PIPELINE_ID,
            Some(STAGE_COLLECTING_DOCUMENTS),
        )
        .unwrap();
    world.settle().await;
    world
        .cabinet
        .engine
        .resync(ResyncMode::Incremental, &|_| {})
        .await
        .unwrap();

    let home = browser.get("/").await.unwrap();
    assert!(home.html.contains("id=\"stage-name\">Сбор документов"));
}

#[tokio::test]
async fn outage_loses_nothing_and_pages_keep_serving() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, IVANOV).await;

    world.portal.go_down(Outage::ServiceUnavailable, None);
    world
        .portal
        .set_field(
            VOLKOVA,
            FIELD_CREATE_ACCOUNT,
            UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into()),
        )
        .unwrap();
    world.settle().await;
    let during = browser.get("/").await.unwrap();
    let pending = bitrix_lk_core::Store::queue_stats(world.cabinet.store.as_ref())
        .await
        .unwrap();

    world.portal.come_up();
    world.settle().await;

    assert_eq!(
        during.status, 200,
        "pages must be served from the store during an outage"
    );
    assert_eq!(pending.inbox_pending, 1, "the event must wait in the inbox");
    let (login, password) = credentials(&world.portal, VOLKOVA);
    world
        .browser()
        .unwrap()
        .log_in(&login, &password)
        .await
        .unwrap();
}

#[tokio::test]
async fn message_and_court_link_reach_the_page() {
    let world = provisioned_world().await;
    let browser = logged_in(&world, IVANOV).await;

    world
        .portal
        .set_field(
            IVANOV,
            bitrix24_client::emulator::seed::FIELD_MESSAGE,
            UfValue::Text("Принесите оригинал паспорта".into()),
        )
        .unwrap();
    world
        .portal
        .set_field(
            IVANOV,
            bitrix24_client::emulator::seed::FIELD_COURT_LINK,
            UfValue::Text("https://kad.arbitr.ru/Card/abc".into()),
        )
        .unwrap();
    world
        .portal
        .move_stage(IVANOV, STAGE_RESTRUCTURING)
        .unwrap();
    world.settle().await;

    let home = browser.get("/").await.unwrap();
    assert!(home.html.contains("id=\"company-message\""));
    assert!(home.html.contains("Принесите оригинал паспорта"));
    assert!(
        home.html
            .contains("href=\"https://kad.arbitr.ru/Card/abc\"")
    );
}
