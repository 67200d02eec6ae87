//! Reliability under Bitrix24 outages: HTML 503 pages, JSON 500 errors and
//! nginx 502 pages while events and provisioning bursts arrive. Nothing may
//! be lost or written twice, and pages keep serving the last known data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitrix_lk_core::engine::ResyncMode;
use bitrix_lk_core::{Argon2Hasher, DealId, FieldCode};
use bitrix24_client::emulator::seed::{
    CREATE_ACCOUNT_VALUE, EXECUTION_PIPELINE_ID, FIELD_CREATE_ACCOUNT, FIELD_LOGIN, FIELD_MESSAGE,
    FIELD_PASSWORD, STAGE_COLLECTING_DOCUMENTS,
};
use bitrix24_client::emulator::{Fault, NewDeal, NewSmartInvoice, Outage, Seed, UfValue};
use lk_tests::faults::{self, WorldOptions, credential_writes, settle_through};
use lk_tests::{World, amount_of};

/// Events in the update burst.
const UPDATE_BURST: usize = 200;
/// Deals in the provisioning burst.
const PROVISIONING_BURST: usize = 50;

async fn world() -> World {
    let world = faults::start(WorldOptions::new(Seed::Demo)).await.unwrap();
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    let stats = settle_through(&world).await;
    assert_eq!(
        stats.outbox_pending, 0,
        "the demo's write-backs did not finish"
    );
    world
}

fn triggered_deal(title: &str) -> NewDeal {
    NewDeal::new(title)
        .pipeline(EXECUTION_PIPELINE_ID)
        .stage(STAGE_COLLECTING_DOCUMENTS)
        .field(
            FIELD_CREATE_ACCOUNT,
            UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into()),
        )
}

async fn log_in(world: &World, deal: u64) -> lk_tests::Browser {
    let login = world.portal.field_text(deal, FIELD_LOGIN).unwrap();
    let password = world.portal.field_text(deal, FIELD_PASSWORD).unwrap();
    let browser = world.browser().unwrap();
    browser.log_in(&login, &password).await.unwrap();
    browser
}

async fn account_deals(world: &World) -> Vec<u64> {
    world
        .cabinet
        .store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|account| account.deal_id.get())
        .collect()
}

async fn stored_message(world: &World, deal: u64) -> Option<String> {
    let snapshot = world.cabinet.store.deal(DealId(deal)).await.unwrap()?;
    snapshot
        .field(&FieldCode(FIELD_MESSAGE.to_owned()))
        .as_text()
}

#[tokio::test]
async fn update_burst_during_outage_loses_nothing() {
    let world = world().await;
    let deals = account_deals(&world).await;
    assert!(deals.len() >= 2, "the demo has too few accounts: {deals:?}");
    let browser = log_in(&world, deals[0]).await;
    let before = browser.get("/").await.unwrap();

    world.portal.go_down(Outage::ServiceUnavailable, None);
    let mut last_message = std::collections::BTreeMap::new();
    for index in 0..UPDATE_BURST {
        let deal = deals[index % deals.len()];
        let message = format!("Сообщение №{index}");
        world
            .portal
            .set_field(deal, FIELD_MESSAGE, UfValue::text(message.clone()))
            .unwrap();
        last_message.insert(deal, message);
    }
    world.portal.wait_for_deliveries().await;
    let failed_passes = world.cabinet.engine.drain_queues().await;
    let during_stats = world.cabinet.store.queue_stats().await.unwrap();
    let during = browser.get("/").await.unwrap();

    world.portal.come_up();
    world.portal.fail_next(3, Fault::ServerError);
    world.portal.fail_next(3, Fault::BadGateway);
    let after_stats = settle_through(&world).await;

    println!(
        "figures: {UPDATE_BURST} events during the outage, {} failed Bitrix24 requests survived",
        world.portal.counters().faults
    );
    assert!(
        failed_passes > 0,
        "the inbox pass must fail during the outage"
    );
    assert_eq!(during_stats.inbox_pending, UPDATE_BURST as u64);
    assert_eq!(during.status, 200, "pages must be served during the outage");
    assert_eq!(
        during.html, before.html,
        "the page must show the last known data during the outage"
    );
    assert_eq!(after_stats.inbox_pending, 0);
    assert_eq!(after_stats.outbox_pending, 0);
    assert_eq!(after_stats.outbox_parked, 0);
    let (delivered, dropped, other) = faults::delivery_counts(&world.portal);
    assert_eq!(dropped + other, 0, "every event must be delivered");
    assert!(delivered >= UPDATE_BURST);
    for (deal, message) in &last_message {
        assert_eq!(
            stored_message(&world, *deal).await.as_deref(),
            Some(message.as_str()),
            "deal {deal} does not show its last message"
        );
    }
    let after = browser.get("/").await.unwrap();
    assert!(after.html.contains(&last_message[&deals[0]]));
    assert!(world.portal.counters().faults >= 6);
}

#[tokio::test]
async fn provisioning_burst_during_outage_writes_each_password_once() {
    let world = world().await;
    let before_accounts = account_deals(&world).await.len();

    world.portal.go_down(Outage::ServiceUnavailable, None);
    let mut deals = Vec::new();
    for index in 0..PROVISIONING_BURST {
        let title = format!("Банкротство: клиент {index}");
        deals.push(world.portal.create_deal(triggered_deal(&title)).unwrap());
    }
    world.portal.wait_for_deliveries().await;
    world.cabinet.engine.drain_queues().await;
    let while_down = world.cabinet.store.queue_stats().await.unwrap();
    let accounts_while_down = account_deals(&world).await.len();

    world.portal.come_up();
    let inbox = world.cabinet.engine.drain_inbox().await.unwrap();
    world.portal.go_down(Outage::ServiceUnavailable, None);
    let outbox = world.cabinet.engine.drain_outbox().await.unwrap();
    let unwritten = deals
        .iter()
        .filter(|deal| world.portal.field_text(**deal, FIELD_LOGIN).is_none())
        .count();

    world.portal.come_up();
    world.portal.fail_next(2, Fault::ServerError);
    world.portal.fail_next(2, Fault::BadGateway);
    let after = settle_through(&world).await;

    println!(
        "figures: {PROVISIONING_BURST} deals provisioned, {} write-backs retried, {} failed \
         Bitrix24 requests survived",
        outbox.retried,
        world.portal.counters().faults
    );
    assert_eq!(while_down.inbox_pending, PROVISIONING_BURST as u64);
    assert_eq!(accounts_while_down, before_accounts);
    assert_eq!(inbox.accounts_created, PROVISIONING_BURST as u64);
    assert_eq!(outbox.retried, PROVISIONING_BURST as u64);
    assert_eq!(
        unwritten, PROVISIONING_BURST,
        "no write may land while down"
    );
    assert_eq!(after.outbox_pending, 0);
    assert_eq!(after.outbox_parked, 0);
    assert_eq!(
        account_deals(&world).await.len(),
        before_accounts + PROVISIONING_BURST
    );

    let writes = credential_writes(&world.portal.requests(), FIELD_LOGIN, FIELD_PASSWORD);
    let hasher = Argon2Hasher::default();
    for deal in &deals {
        let deal_writes = writes.get(deal).cloned().unwrap_or_default();
        assert_eq!(deal_writes.len(), 1, "deal {deal}: {deal_writes:?}");
        let (login, password) = &deal_writes[0];
        assert_eq!(
            world.portal.field_text(*deal, FIELD_LOGIN).as_ref(),
            Some(login)
        );
        let account = world
            .cabinet
            .store
            .account_by_deal(DealId(*deal))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.login.as_str(), login);
        assert!(
            hasher
                .verify(&account.password_hash, password)
                .await
                .unwrap(),
            "deal {deal}: the written password does not match the stored hash"
        );
    }
    for deal in deals.iter().take(3) {
        let browser = log_in(&world, *deal).await;
        assert_eq!(browser.get("/").await.unwrap().status, 200);
    }
}

#[tokio::test]
async fn write_applied_then_500_keeps_the_same_password() {
    let world = world().await;
    let deal = world
        .portal
        .create_deal(triggered_deal("Банкротство: ответ потерян"))
        .unwrap();
    world.portal.wait_for_deliveries().await;
    world.cabinet.engine.drain_inbox().await.unwrap();

    let faults_before = world.portal.counters().faults;
    world
        .portal
        .fail_next_calls_of("crm.deal.update", 1, Fault::ServerErrorAfterExecution);
    let after = settle_through(&world).await;

    // The emulator logs only the repeat, which returned 200. The first write
    // was applied, returned 500 and shows up in the fault counter instead.
    let writes = credential_writes(&world.portal.requests(), FIELD_LOGIN, FIELD_PASSWORD);
    let deal_writes = writes.get(&deal).cloned().unwrap_or_default();
    assert_eq!(after.outbox_pending, 0);
    assert_eq!(after.outbox_parked, 0);
    assert_eq!(world.portal.counters().faults, faults_before + 1);
    assert_eq!(deal_writes.len(), 1, "{deal_writes:?}");
    let (login, password) = &deal_writes[0];
    assert_eq!(
        world.portal.field_text(deal, FIELD_LOGIN).as_ref(),
        Some(login)
    );
    assert_eq!(
        world.portal.field_text(deal, FIELD_PASSWORD).as_ref(),
        Some(password),
        "the repeat must write the same password as the applied write"
    );
    let browser = log_in(&world, deal).await;
    assert_eq!(browser.get("/").await.unwrap().status, 200);
}

#[tokio::test]
async fn failed_first_pass_still_loads_invoices() {
    let world = world().await;
    let deal = world
        .portal
        .create_deal(
            NewDeal::new("Банкротство: счёт до кабинета")
                .pipeline(EXECUTION_PIPELINE_ID)
                .stage(STAGE_COLLECTING_DOCUMENTS),
        )
        .unwrap();
    world
        .portal
        .add_smart_invoice(
            NewSmartInvoice::new("Первый платёж", 40_000)
                .deal(deal)
                .paid(),
        )
        .unwrap();
    settle_through(&world).await;

    world
        .portal
        .set_field(
            deal,
            FIELD_CREATE_ACCOUNT,
            UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into()),
        )
        .unwrap();
    world.portal.wait_for_deliveries().await;
    world
        .portal
        .fail_next_calls_of("batch", 5, Fault::ServerError);
    let first_pass = world.cabinet.engine.drain_inbox().await;
    let account_after_failure = world
        .cabinet
        .store
        .account_by_deal(DealId(deal))
        .await
        .unwrap();
    settle_through(&world).await;

    assert!(
        first_pass.is_err(),
        "the invoice read must fail the first pass"
    );
    assert!(
        account_after_failure.is_some(),
        "the account is created before the invoices are read"
    );
    let browser = log_in(&world, deal).await;
    let home = browser.get("/").await.unwrap();
    assert_eq!(
        amount_of(&home.html, "paid").as_deref(),
        Some("40 000,00 ₽"),
        "the invoice paid before the account existed is missing"
    );
}
