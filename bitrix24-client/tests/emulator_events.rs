//! Outgoing-webhook events: the form body of the fixtures, which changes
//! send which events, and the delivery controls tests rely on.

mod emulator_support;

use bitrix24_client::emulator::{
    DeliveryOutcome, Emulator, NewLegacyInvoice, NewSmartInvoice, Seed, UfValue, seed,
};
use emulator_support::*;
use serde_json::json;

const TOKEN: &str = "jvh9y1ulvt2m6k5or90v9mg8nn32ozas";

fn keys(body: &str) -> Vec<String> {
    raw_pairs(body).into_iter().map(|(key, _)| key).collect()
}

/// Asserts a received body has the fixture's keys in the fixture's order and encoding.
fn assert_like_fixture(body: &str, fixture: &str, emulator: &Emulator) {
    let expected = fixture_line(fixture);
    assert_eq!(
        keys(body),
        keys(&expected),
        "keys, order and bracket encoding"
    );
    assert_eq!(form_value(body, "event"), form_value(&expected, "event"));
    assert_eq!(
        form_value(body, "auth%5Bapplication_token%5D").as_deref(),
        Some(TOKEN)
    );
    assert_eq!(
        form_value(body, "auth%5Bdomain%5D"),
        Some(emulator.domain())
    );
    assert_eq!(
        form_value(body, "auth%5Bclient_endpoint%5D"),
        Some(format!("{}/rest/", emulator.base_url()))
    );
    assert_eq!(
        form_value(body, "auth%5Bserver_endpoint%5D"),
        form_value(&expected, "auth%5Bserver_endpoint%5D")
    );
    assert_eq!(
        form_value(body, "auth%5Bmember_id%5D"),
        Some(emulator.member_id())
    );
    let ts: i64 = form_value(body, "ts")
        .expect("test setup failed")
        .parse()
        .expect("test setup failed");
    assert!((jiff::Timestamp::now().as_second() - ts).abs() < 60);
    assert!(
        body.contains("%3A%2F%2F"),
        "values are percent-encoded like PHP's http_build_query"
    );
}

#[tokio::test]
async fn rest_update_sends_deal_update_event() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let handler = emulator
        .portal()
        .register_handler("ONCRMDEALUPDATE", &receiver.url, TOKEN)
        .unwrap();

    result(
        call(
            &emulator,
            "crm.deal.update",
            json!({"id": 3, "fields": {seed::FIELD_LOGIN: "x"}}),
        )
        .await,
    );
    emulator.portal().wait_for_deliveries().await;

    let received = receiver.drain();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].content_type,
        "application/x-www-form-urlencoded"
    );
    let body = &received[0].body;
    assert_like_fixture(
        body,
        "event.ONCRMDEALUPDATE.outgoing-webhook.form.txt",
        &emulator,
    );
    assert_eq!(
        form_value(body, "data%5BFIELDS%5D%5BID%5D").as_deref(),
        Some("3")
    );
    assert_eq!(
        form_value(body, "event_handler_id"),
        Some(handler.to_string())
    );
}

#[tokio::test]
async fn staff_changes_send_add_and_update_events() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALADD", &receiver.url, TOKEN)
        .unwrap();
    portal
        .register_handler("ONCRMDEALUPDATE", &receiver.url, TOKEN)
        .unwrap();

    let deal = portal
        .create_deal(bitrix24_client::emulator::NewDeal::new("Новый клиент"))
        .unwrap();
    portal
        .set_field(
            deal,
            seed::FIELD_CREATE_ACCOUNT,
            UfValue::text(seed::CREATE_ACCOUNT_VALUE),
        )
        .unwrap();
    portal.move_stage(deal, "PREPARATION").unwrap();
    portal.wait_for_deliveries().await;

    let received = receiver.drain();
    let events: Vec<String> = received
        .iter()
        .map(|r| form_value(&r.body, "event").unwrap())
        .collect();
    assert_eq!(
        events,
        vec!["ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALUPDATE"]
    );
    assert_like_fixture(
        &received[0].body,
        "event.ONCRMDEALADD.outgoing-webhook.form.txt",
        &emulator,
    );
}

#[tokio::test]
async fn moving_to_another_pipeline_sends_no_update() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &receiver.url, TOKEN)
        .unwrap();

    portal
        .move_to_pipeline(5, seed::EXECUTION_PIPELINE_ID, None)
        .unwrap();
    result(
        call(
            &emulator,
            "crm.item.update",
            json!({"entityTypeId": 2, "id": 6, "fields": {"categoryId": 7}}),
        )
        .await,
    );
    portal.move_stage(5, seed::STAGE_RESTRUCTURING).unwrap();
    portal.wait_for_deliveries().await;

    let received = receiver.drain();
    assert_eq!(
        received.len(),
        1,
        "only the stage move inside the pipeline is reported"
    );
    assert_eq!(
        form_value(&received[0].body, "data%5BFIELDS%5D%5BID%5D").as_deref(),
        Some("5")
    );
    assert_eq!(portal.deal(6).unwrap().pipeline, 7);
}

#[tokio::test]
async fn move_to_category_event_cannot_be_subscribed() {
    let emulator = start(Seed::Empty).await;

    let result =
        emulator
            .portal()
            .register_handler("ONCRMDEALMOVETOCATEGORY", "http://127.0.0.1:9/", TOKEN);

    assert!(result.is_err());
}

#[tokio::test]
async fn smart_invoice_events_carry_entity_type() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDYNAMICITEMUPDATE", &receiver.url, TOKEN)
        .unwrap();
    portal
        .register_handler("ONCRMDYNAMICITEMADD_31", &receiver.url, TOKEN)
        .unwrap();
    portal
        .register_handler("ONCRMDYNAMICITEMDELETE", &receiver.url, TOKEN)
        .unwrap();

    let invoice = portal
        .add_smart_invoice(NewSmartInvoice::new("Счёт", 10_000).deal(1))
        .unwrap();
    portal.pay_smart_invoice(invoice).unwrap();
    portal.delete_smart_invoice(invoice).unwrap();
    portal.wait_for_deliveries().await;

    let received = receiver.drain();
    let events: Vec<String> = received
        .iter()
        .map(|r| form_value(&r.body, "event").unwrap())
        .collect();
    assert_eq!(
        events,
        vec![
            "ONCRMDYNAMICITEMADD_31",
            "ONCRMDYNAMICITEMUPDATE",
            "ONCRMDYNAMICITEMDELETE"
        ]
    );
    let update = &received[1].body;
    assert_like_fixture(
        update,
        "event.ONCRMDYNAMICITEMUPDATE.smart-invoice.outgoing-webhook.form.txt",
        &emulator,
    );
    assert_eq!(
        form_value(update, "data%5BFIELDS%5D%5BENTITY_TYPE_ID%5D").as_deref(),
        Some("31")
    );
    assert_eq!(
        form_value(update, "data%5BFIELDS%5D%5BID%5D"),
        Some(invoice.to_string())
    );
}

#[tokio::test]
async fn legacy_invoice_events_match_fixture() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    let hook = portal
        .add_outgoing_webhook(
            &receiver.url,
            &[
                "ONCRMINVOICEADD",
                "ONCRMINVOICEUPDATE",
                "ONCRMINVOICEDELETE",
            ],
        )
        .unwrap();

    let invoice = portal
        .add_legacy_invoice(NewLegacyInvoice::new("Оплата", 5_000).deal(1))
        .unwrap();
    portal.pay_legacy_invoice(invoice).unwrap();
    portal.delete_legacy_invoice(invoice).unwrap();
    portal.wait_for_deliveries().await;

    let received = receiver.drain();
    assert_eq!(received.len(), 3);
    let update = &received[1].body;
    let expected = fixture_line("event.ONCRMINVOICEUPDATE.outgoing-webhook.form.SYNTHETIC.txt");
    assert_eq!(keys(update), keys(&expected));
    assert_eq!(
        form_value(update, "auth%5Bapplication_token%5D"),
        Some(hook.application_token.clone())
    );
    assert_eq!(hook.handler_ids.len(), 3);
    assert_eq!(hook.application_token.len(), 32);
}

#[tokio::test]
async fn events_go_only_to_subscribed_handlers() {
    let emulator = start(Seed::Demo).await;
    let mut updates = Receiver::start().await;
    let mut deletes = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &updates.url, TOKEN)
        .unwrap();
    let removed = portal
        .register_handler("ONCRMDEALUPDATE", &deletes.url, TOKEN)
        .unwrap();
    portal
        .register_handler("ONCRMDEALDELETE", &deletes.url, TOKEN)
        .unwrap();
    assert!(portal.remove_handler(removed));

    portal.set_title(1, "x").unwrap();
    portal.delete_deal(6).unwrap();
    portal.wait_for_deliveries().await;

    assert_eq!(updates.drain().len(), 1);
    let deleted = deletes.drain();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        form_value(&deleted[0].body, "event").as_deref(),
        Some("ONCRMDEALDELETE")
    );
}

#[tokio::test]
async fn dropped_deliveries_are_recorded_not_sent() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &receiver.url, TOKEN)
        .unwrap();
    portal.drop_next_deliveries(2);

    for deal in 1..=3 {
        portal.set_title(deal, "x").unwrap();
    }
    portal.wait_for_deliveries().await;

    let received = receiver.drain();
    assert_eq!(received.len(), 1);
    assert_eq!(
        form_value(&received[0].body, "data%5BFIELDS%5D%5BID%5D").as_deref(),
        Some("3")
    );
    let outcomes: Vec<DeliveryOutcome> =
        portal.deliveries().into_iter().map(|d| d.outcome).collect();
    assert_eq!(
        outcomes[..2],
        [DeliveryOutcome::Dropped, DeliveryOutcome::Dropped]
    );
    assert_eq!(outcomes[2], DeliveryOutcome::Delivered { status: 200 });
}

async fn dropped_pattern(seed: u64) -> Vec<bool> {
    let emulator = start(Seed::Demo).await;
    let receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &receiver.url, TOKEN)
        .expect("test setup failed");
    portal.drop_delivery_ratio(0.5, seed);
    for _ in 0..20 {
        portal.set_title(1, "x").expect("test setup failed");
    }
    portal.wait_for_deliveries().await;
    portal
        .deliveries()
        .into_iter()
        .map(|d| d.outcome == DeliveryOutcome::Dropped)
        .collect()
}

#[tokio::test]
async fn drop_ratio_is_reproducible_by_seed() {
    let first = dropped_pattern(7).await;
    let second = dropped_pattern(7).await;

    assert_eq!(first, second);
    let dropped = first.iter().filter(|d| **d).count();
    assert!(dropped > 0, "dropped {dropped} of 20");
    assert!(dropped < 20, "dropped {dropped} of 20");
}

#[tokio::test]
async fn duplicated_deliveries_arrive_twice() {
    let emulator = start(Seed::Demo).await;
    let mut receiver = Receiver::start().await;
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &receiver.url, TOKEN)
        .unwrap();
    portal.duplicate_next_deliveries(1);

    portal.set_title(1, "x").unwrap();
    portal.set_title(2, "y").unwrap();
    portal.wait_for_deliveries().await;

    let ids: Vec<String> = receiver
        .drain()
        .iter()
        .map(|r| form_value(&r.body, "data%5BFIELDS%5D%5BID%5D").unwrap())
        .collect();
    assert_eq!(ids, vec!["1", "1", "2"]);
}

#[tokio::test]
async fn unreachable_handler_is_tried_once() {
    let emulator = start(Seed::Demo).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", closed.local_addr().unwrap());
    drop(closed);
    let portal = emulator.portal();
    portal
        .register_handler("ONCRMDEALUPDATE", &url, TOKEN)
        .unwrap();

    portal.set_title(1, "x").unwrap();
    portal.wait_for_deliveries().await;

    let deliveries = portal.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert!(matches!(
        deliveries[0].outcome,
        DeliveryOutcome::Failed { .. }
    ));
}

#[tokio::test]
async fn waiting_with_nothing_queued_returns() {
    let emulator = start(Seed::Empty).await;

    emulator.portal().wait_for_deliveries().await;

    assert!(emulator.portal().deliveries().is_empty());
}
