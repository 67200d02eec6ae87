//! Reliability of the event path: every event delivered five times, out of
//! order, for deals being deleted, and 30 % of deliveries lost. Each deal
//! must get one account and one credential write, and every snapshot must
//! end at Bitrix24's latest state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use bitrix_lk_core::engine::ResyncMode;
use bitrix_lk_core::{DealId, FieldCode};
use bitrix24_client::emulator::seed::{
    CREATE_ACCOUNT_VALUE, EXECUTION_PIPELINE_ID, FIELD_CREATE_ACCOUNT, FIELD_LOGIN, FIELD_MESSAGE,
    FIELD_PASSWORD, STAGE_ASSET_SALE, STAGE_COLLECTING_DOCUMENTS, STAGE_RESTRUCTURING,
};
use bitrix24_client::emulator::{NewDeal, Seed, UfValue};
use lk_tests::World;
use lk_tests::faults::{
    self, SplitMix, WorldOptions, application_token, credential_writes, deal_event_body,
    post_event, settle_through,
};

/// How many times each change reaches the cabinet in the duplicate test.
const COPIES: usize = 5;

async fn world() -> World {
    let world = faults::start(WorldOptions::new(Seed::Demo)).await.unwrap();
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    settle_through(&world).await;
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

/// Returns the deals whose snapshot differs from Bitrix24 in stage or
/// message, and the triggered deals that have no account.
async fn stale_deals(world: &World, deals: &[u64]) -> Vec<u64> {
    let mut stale = Vec::new();
    for deal in deals {
        let portal = world.portal.deal(*deal).unwrap();
        let stored = world.cabinet.store.deal(DealId(*deal)).await.unwrap();
        let matches = stored.is_some_and(|stored| {
            stored.stage_id.as_str() == portal.stage
                && stored.field(&FieldCode(FIELD_MESSAGE.to_owned())).as_text()
                    == world.portal.field_text(*deal, FIELD_MESSAGE)
        });
        if !matches {
            stale.push(*deal);
        }
    }
    stale
}

async fn account_deals(world: &World) -> BTreeSet<u64> {
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

/// A change to replay: the event name and the deal.
type Change = (&'static str, u64);

#[tokio::test]
async fn duplicate_events_keep_one_account() {
    let world = world().await;
    let token = application_token(&world);
    let http = faults::http_client();
    let mut random = SplitMix::new(0x5eed_0001);
    let mut changes: Vec<Change> = Vec::new();

    // Every delivery from the portal arrives twice; three more copies of
    // each change are replayed below in shuffled order, for five in all.
    world.portal.duplicate_next_deliveries(100_000);

    let mut live = Vec::new();
    for index in 0..30 {
        let deal = world
            .portal
            .create_deal(triggered_deal(&format!("Дубли {index}")))
            .unwrap();
        changes.push(("ONCRMDEALADD", deal));
        live.push(deal);
    }
    // Deleted before the cabinet ever read them: no account may appear.
    let mut deleted_unseen = Vec::new();
    for index in 0..5 {
        let deal = world
            .portal
            .create_deal(triggered_deal(&format!("Удалена сразу {index}")))
            .unwrap();
        world.portal.delete_deal(deal).unwrap();
        changes.push(("ONCRMDEALADD", deal));
        changes.push(("ONCRMDEALDELETE", deal));
        deleted_unseen.push(deal);
    }
    settle_through(&world).await;

    for round in 1..=3 {
        for (position, deal) in live.iter().enumerate() {
            let stage = match (position + round) % 3 {
                0 => STAGE_COLLECTING_DOCUMENTS,
                1 => STAGE_RESTRUCTURING,
                _ => STAGE_ASSET_SALE,
            };
            world.portal.move_stage(*deal, stage).unwrap();
            world
                .portal
                .set_field(
                    *deal,
                    FIELD_MESSAGE,
                    UfValue::text(format!("Раунд {round}, сделка {deal}")),
                )
                .unwrap();
            changes.push(("ONCRMDEALUPDATE", *deal));
            changes.push(("ONCRMDEALUPDATE", *deal));
        }
        settle_through(&world).await;
    }

    // Deleted after their accounts were created and credentials written.
    let deleted_known: Vec<u64> = live.drain(..5).collect();
    for deal in &deleted_known {
        world.portal.delete_deal(*deal).unwrap();
        changes.push(("ONCRMDEALDELETE", *deal));
    }
    settle_through(&world).await;

    let mut replays: Vec<Change> = Vec::new();
    for change in &changes {
        for _ in 0..COPIES - 2 {
            replays.push(*change);
        }
    }
    random.shuffle(&mut replays);
    let mut rejected = 0;
    for (index, (event, deal)) in replays.iter().enumerate() {
        let ts = 1_700_000_000 + random.below(1_000_000) as i64;
        let body = deal_event_body(event, *deal, &token, ts);
        let status = post_event(
            &http,
            &world.base_url,
            "application/x-www-form-urlencoded",
            body,
        )
        .await
        .unwrap();
        if status != 200 {
            rejected += 1;
        }
        if index % 40 == 39 {
            world.cabinet.engine.drain_queues().await;
        }
    }
    let stats = settle_through(&world).await;

    let (delivered, dropped, failed) = faults::delivery_counts(&world.portal);
    println!(
        "figures: {} changes, {delivered} portal deliveries, {} shuffled replays",
        changes.len(),
        replays.len()
    );
    assert_eq!(rejected, 0, "replayed events must be accepted");
    assert_eq!(dropped + failed, 0);
    assert!(delivered >= 2 * changes.len(), "{delivered} deliveries");
    assert_eq!(stats.inbox_pending, 0);
    assert_eq!(stats.outbox_pending, 0);
    assert_eq!(stats.outbox_parked, 0);

    let accounts = account_deals(&world).await;
    for deal in live.iter().chain(&deleted_known) {
        assert!(accounts.contains(deal), "deal {deal} has no account");
    }
    for deal in &deleted_unseen {
        assert!(
            !accounts.contains(deal),
            "deleted deal {deal} got an account"
        );
    }
    let writes = credential_writes(&world.portal.requests(), FIELD_LOGIN, FIELD_PASSWORD);
    for deal in live.iter().chain(&deleted_known) {
        let count = writes.get(deal).map_or(0, Vec::len);
        assert_eq!(count, 1, "deal {deal} got {count} credential writes");
    }
    for deal in &deleted_known {
        let snapshot = world.cabinet.store.deal(DealId(*deal)).await.unwrap();
        assert!(snapshot.is_none(), "deleted deal {deal} is still stored");
    }
    assert_eq!(stale_deals(&world, &live).await, Vec::<u64>::new());
}

#[tokio::test]
async fn write_to_deleted_deal_is_parked() {
    let world = world().await;
    let kept = world
        .portal
        .create_deal(triggered_deal("Сделка остаётся"))
        .unwrap();
    let deleted = world
        .portal
        .create_deal(triggered_deal("Сделку удалят до записи"))
        .unwrap();
    world.portal.wait_for_deliveries().await;
    let inbox = world.cabinet.engine.drain_inbox().await.unwrap();

    world.portal.delete_deal(deleted).unwrap();
    let stats = settle_through(&world).await;

    let writes = credential_writes(&world.portal.requests(), FIELD_LOGIN, FIELD_PASSWORD);
    assert_eq!(inbox.accounts_created, 2);
    assert_eq!(writes.get(&kept).map_or(0, Vec::len), 1);
    assert_eq!(writes.get(&deleted).map_or(0, Vec::len), 0);
    assert_eq!(stats.outbox_pending, 0);
    assert_eq!(
        stats.outbox_parked, 1,
        "the write to the deleted deal must be parked with its error"
    );
    let snapshot = world.cabinet.store.deal(DealId(deleted)).await.unwrap();
    assert!(snapshot.is_none());
}

#[tokio::test]
async fn lost_deliveries_are_repaired_by_incremental_resync() {
    let world = world().await;
    let mut random = SplitMix::new(0x5eed_0003);
    world.portal.drop_delivery_ratio(0.3, 20_240_611);

    let mut deals = Vec::new();
    for index in 0..20 {
        let deal = world
            .portal
            .create_deal(triggered_deal(&format!("Потери {index}")))
            .unwrap();
        deals.push(deal);
    }
    let stages = [
        STAGE_COLLECTING_DOCUMENTS,
        STAGE_RESTRUCTURING,
        STAGE_ASSET_SALE,
    ];
    let mut last_message = BTreeMap::new();
    for change in 0..80 {
        let deal = deals[random.below(deals.len())];
        if change % 2 == 0 {
            let message = format!("Изменение {change}");
            world
                .portal
                .set_field(deal, FIELD_MESSAGE, UfValue::text(message.clone()))
                .unwrap();
            last_message.insert(deal, message);
        } else {
            let stage = stages[random.below(stages.len())];
            world.portal.move_stage(deal, stage).unwrap();
        }
        // The cabinet takes each change as it comes, so a lost last event
        // leaves its deal behind.
        world.portal.wait_for_deliveries().await;
        world.cabinet.engine.drain_queues().await;
    }
    settle_through(&world).await;
    let (delivered, dropped, _) = faults::delivery_counts(&world.portal);
    let stale_before = stale_deals(&world, &deals).await;

    world.portal.drop_delivery_ratio(0.0, 0);
    let report = world
        .cabinet
        .engine
        .resync(ResyncMode::Incremental, &|_| {})
        .await
        .unwrap();
    let stats = settle_through(&world).await;

    let total = delivered + dropped;
    println!(
        "figures: {total} deliveries, {dropped} dropped, {} of {} deals stale before the resync",
        stale_before.len(),
        deals.len()
    );
    assert!(
        dropped * 100 >= total * 20 && dropped * 100 <= total * 40,
        "{dropped} of {total} deliveries dropped, expected about 30 %"
    );
    assert!(
        !stale_before.is_empty(),
        "the lost events must leave some deal stale before the resync"
    );
    assert!(report.deals_read >= deals.len() as u64);
    assert_eq!(stats.inbox_pending, 0);
    assert_eq!(stats.outbox_pending, 0);
    assert_eq!(stats.outbox_parked, 0);
    assert_eq!(stale_deals(&world, &deals).await, Vec::<u64>::new());
    let accounts = account_deals(&world).await;
    let writes = credential_writes(&world.portal.requests(), FIELD_LOGIN, FIELD_PASSWORD);
    for deal in &deals {
        assert!(accounts.contains(deal), "deal {deal} has no account");
        let count = writes.get(deal).map_or(0, Vec::len);
        assert_eq!(count, 1, "deal {deal} got {count} credential writes");
    }
    for (deal, message) in &last_message {
        assert_eq!(
            world.portal.field_text(*deal, FIELD_MESSAGE).as_ref(),
            Some(message)
        );
    }
}
