//! `sync`, `events list` and `events retry` against an emulated portal and a
//! store seeded the way lk-web leaves it after failed deliveries.

mod common;

use std::path::Path;

use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{
    Account, ChangeNotice, DealId, Login, OutboxState, Password, PasswordHash, ReferralCode, Store,
    WriteBack,
};
use bitrix24_client::emulator::{Seed, seed};
use common::{SECRET, Workspace, emulator};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The password of the write parked in the seeded store.
const PARKED_PASSWORD: &str = "Parked0Password";

/// Stores an account for `deal` with its credentials write pending in the
/// outbox, as lk-web leaves it before the first delivery attempt.
async fn seed_pending_write(store_path: &Path, deal: u64) -> SqliteStore {
    let store = SqliteStore::open(store_path).expect("store opens");
    let now = Timestamp::now();
    let deal_id = DealId(deal);
    let login = Login::new("lkparked1");
    let account = Account {
        deal_id,
        login: login.clone(),
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        referral_code: ReferralCode("REFPARKED".to_owned()),
        created_at: now,
        password_changed_at: now,
        last_login_at: None,
    };
    let write = WriteBack::Credentials {
        deal_id,
        login,
        password: Password::new(PARKED_PASSWORD.to_owned()),
    };
    store
        .create_account(&account, &[write])
        .await
        .expect("account stored");
    store
}

/// Stores an account for `deal` whose credentials write failed and was
/// parked, plus one unprocessed inbox event, as lk-web would leave them.
async fn seed_parked_write(store_path: &Path, deal: u64) {
    let store = seed_pending_write(store_path, deal).await;
    let now = Timestamp::now();
    let deal_id = DealId(deal);

    let due = store.outbox_due(now, 10).await.expect("outbox read");
    assert_eq!(due.len(), 1);
    store
        .outbox_park(due[0].id, "Bitrix24 rejected the request: test failure")
        .await
        .expect("write parked");
    store
        .inbox_push(
            ChangeNotice::DealChanged { deal_id },
            "ONCRMDEALUPDATE",
            None,
            now,
        )
        .await
        .expect("event stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_full_provisions_and_delivers() {
    let emulator = emulator(Seed::Demo).await;
    let portal = emulator.portal();
    let workspace = Workspace::new(&emulator.webhook_url(), "");

    let full = workspace.run(&["sync", "--full"]);

    assert_eq!(full.code, 0, "{}", full.all());
    assert_eq!(
        full.stdout.trim(),
        "Полная синхронизация завершена: прочитано сделок 6, создано учётных записей 5, \
         прочитано счетов 10, доставлено записей в Битрикс24 5."
    );
    assert!(
        !full.stderr.contains("прочитано сделок"),
        "the progress bar is hidden when stderr is not a terminal: {}",
        full.stderr
    );
    let with_password = portal
        .deal_ids()
        .into_iter()
        .filter(|id| portal.field_text(*id, seed::FIELD_PASSWORD).is_some())
        .count();
    assert_eq!(with_password, 5);

    let again = workspace.run(&["sync"]);

    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again
            .stdout
            .starts_with("Синхронизация изменений завершена:"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("создано учётных записей 0"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("доставлено записей в Битрикс24 0"),
        "{}",
        again.stdout
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_with_rejected_webhook_exits_with_4() {
    let emulator = emulator(Seed::Demo).await;
    let url = emulator.webhook_url().replace(SECRET, "wrong0secret0value");
    let workspace = Workspace::new(&url, "");

    let run = workspace.run(&["sync"]);

    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stderr.contains("синхронизация с Битрикс24 не удалась"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("wrong0secret0value"));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_list_shows_queues_without_passwords() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    seed_parked_write(&workspace.store_path(), 1).await;

    let run = workspace.run(&["events", "list"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("Входящие события, ожидают обработки: 1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ONCRMDEALUPDATE"), "{}", run.stdout);
    assert!(run.stdout.contains("сделка 1"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Записи в Битрикс24, ожидают доставки: 0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Записи в Битрикс24, отложенные до `lk-cli events retry`: 1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("логин и пароль"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Bitrix24 rejected the request: test failure"),
        "{}",
        run.stdout
    );
    assert!(
        !run.all().contains(PARKED_PASSWORD),
        "events list shows no password"
    );
    assert!(
        emulator.portal().requests().is_empty(),
        "events list does not call Bitrix24"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_list_shows_next_attempt_seconds() {
    let workspace = Workspace::new("https://portal.example.invalid/rest/1/unused/", "");
    let store = seed_pending_write(&workspace.store_path(), 1).await;
    let pending = store
        .outbox_list(Some(OutboxState::Pending), 10)
        .await
        .expect("outbox read");
    let next_attempt = pending[0]
        .next_attempt_at
        .to_zoned_datetime(TimeZone::get("Europe/Moscow").unwrap())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string();

    let run = workspace.run(&["events", "list"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(&next_attempt),
        "expected {next_attempt}: {}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_retry_requeues_and_delivers_parked_write() {
    let emulator = emulator(Seed::Demo).await;
    let portal = emulator.portal();
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    seed_parked_write(&workspace.store_path(), 1).await;

    let run = workspace.run(&["events", "retry"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("Возвращено в очередь отложенных записей: 1."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Доставлено в Битрикс24: 1, будет повторено позже: 0, снова отложено: 0."),
        "{}",
        run.stdout
    );
    assert_eq!(
        portal.field_text(1, seed::FIELD_PASSWORD).as_deref(),
        Some(PARKED_PASSWORD)
    );
    assert_eq!(
        portal.field_text(1, seed::FIELD_LOGIN).as_deref(),
        Some("lkparked1")
    );

    let store = SqliteStore::open(workspace.store_path()).unwrap();
    let parked = store
        .outbox_list(Some(OutboxState::Parked), 10)
        .await
        .unwrap();
    assert!(parked.is_empty());
    let stats = store.queue_stats().await.unwrap();
    assert_eq!(stats.inbox_pending, 0, "the drain also processed the inbox");

    let list = workspace.run(&["events", "list"]);
    assert!(
        list.stdout
            .contains("Записи в Битрикс24, отложенные до `lk-cli events retry`: 0"),
        "{}",
        list.stdout
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_retry_parks_again_when_deal_is_gone() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    seed_parked_write(&workspace.store_path(), 1).await;
    emulator.portal().delete_deal(1).unwrap();

    let run = workspace.run(&["events", "retry"]);

    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout
            .contains("Возвращено в очередь отложенных записей: 1."),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("снова отложено: 1."), "{}", run.stdout);
    emulator.shutdown().await;
}
