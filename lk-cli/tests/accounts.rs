//! `provision`, `password reset` and `accounts list` against an emulated portal.

mod common;

use bitrix24_client::emulator::{NewDeal, Portal, Seed, UfValue, seed};
use common::{SECRET, Workspace, emulator};

/// Creates a deal in the case pipeline with «Создать ЛК клиенту» set.
fn triggered_deal(portal: &Portal) -> u64 {
    let deal = NewDeal::new("Банкротство: Новиков Сергей")
        .pipeline(seed::EXECUTION_PIPELINE_ID)
        .stage(seed::STAGE_COLLECTING_DOCUMENTS)
        .field(
            seed::FIELD_CREATE_ACCOUNT,
            UfValue::EnumLabel(seed::CREATE_ACCOUNT_VALUE.to_owned()),
        );
    portal.create_deal(deal).expect("deal created")
}

/// Returns the deal of the demo portal whose trigger is not set.
fn untriggered_deal(portal: &Portal) -> u64 {
    portal
        .deal_ids()
        .into_iter()
        .find(|id| portal.field_text(*id, seed::FIELD_CREATE_ACCOUNT).is_none())
        .expect("the demo portal has a deal without the trigger")
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_creates_account_once() {
    let emulator = emulator(Seed::Demo).await;
    let portal = emulator.portal();
    let deal = triggered_deal(&portal);
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    let deal_arg = deal.to_string();

    let first = workspace.run(&["provision", "--deal", &deal_arg]);

    assert_eq!(first.code, 0, "{}", first.all());
    assert!(
        first
            .stdout
            .contains(&format!("Учётная запись для сделки {deal} создана.")),
        "{}",
        first.stdout
    );
    let login = first.value_of("Логин:").expect("the login is printed");
    let password = first
        .value_of("Пароль:")
        .expect("a new password is printed");
    assert!(
        first
            .stdout
            .contains(&format!("Логин и пароль записаны в сделку {deal}.")),
        "{}",
        first.stdout
    );
    assert_eq!(
        portal.field_text(deal, seed::FIELD_LOGIN),
        Some(login.clone())
    );
    assert_eq!(
        portal.field_text(deal, seed::FIELD_PASSWORD),
        Some(password.clone())
    );

    let second = workspace.run(&["provision", "--deal", &deal_arg]);

    assert_eq!(second.code, 0, "{}", second.all());
    assert!(
        second.stdout.contains("уже есть учётная запись"),
        "{}",
        second.stdout
    );
    assert_eq!(second.value_of("Логин:"), Some(login.clone()));
    assert_eq!(second.value_of("Пароль:"), None, "{}", second.stdout);
    assert_eq!(
        portal.field_text(deal, seed::FIELD_PASSWORD),
        Some(password),
        "the password handed out is not overwritten"
    );

    let list = workspace.run(&["accounts", "list"]);
    assert_eq!(list.code, 0, "{}", list.all());
    assert!(list.stdout.contains("Всего: 1."), "{}", list.stdout);
    assert!(list.stdout.contains(&login), "{}", list.stdout);
    assert!(!list.stdout.contains(SECRET));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_without_trigger_creates_nothing() {
    let emulator = emulator(Seed::Demo).await;
    let portal = emulator.portal();
    let deal = untriggered_deal(&portal);
    let workspace = Workspace::new(&emulator.webhook_url(), "");

    let run = workspace.run(&["provision", "--deal", &deal.to_string()]);

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "учётная запись не создана: в сделке {deal} поле «Создать ЛК клиенту» \
             ({}) не равно «Создать» (поле пустое)",
            seed::FIELD_CREATE_ACCOUNT
        )),
        "{}",
        run.stderr
    );
    assert_eq!(portal.field_text(deal, seed::FIELD_LOGIN), None);

    let list = workspace.run(&["accounts", "list"]);
    assert_eq!(list.code, 0, "{}", list.all());
    assert_eq!(list.stdout.trim(), "Учётных записей нет.");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_unknown_deal_fails() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");

    let run = workspace.run(&["provision", "--deal", "9999"]);

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("сделка 9999 не найдена в Битрикс24"),
        "{}",
        run.stderr
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_writes_new_password_to_deal() {
    let emulator = emulator(Seed::Demo).await;
    let portal = emulator.portal();
    let deal = triggered_deal(&portal);
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    let deal_arg = deal.to_string();
    let created = workspace.run(&["provision", "--deal", &deal_arg]);
    assert_eq!(created.code, 0, "{}", created.all());
    let old_password = created.value_of("Пароль:").unwrap();

    let reset = workspace.run(&["password", "reset", "--deal", &deal_arg]);

    assert_eq!(reset.code, 0, "{}", reset.all());
    let new_password = reset
        .value_of("Пароль:")
        .expect("the new password is printed");
    assert_ne!(new_password, old_password);
    assert_eq!(reset.value_of("Логин:"), created.value_of("Логин:"));
    assert!(
        reset
            .stdout
            .contains(&format!("Логин и пароль записаны в сделку {deal}.")),
        "{}",
        reset.stdout
    );
    assert_eq!(
        portal.field_text(deal, seed::FIELD_PASSWORD),
        Some(new_password)
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_without_account_fails() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");

    let run = workspace.run(&["password", "reset", "--deal", "1"]);

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("у сделки 1 нет учётной записи; создайте её: lk-cli provision --deal 1"),
        "{}",
        run.stderr
    );
    assert!(
        emulator
            .portal()
            .requests()
            .iter()
            .all(|r| !r.method.contains("update"))
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_list_after_sync_shows_every_account() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    let synced = workspace.run(&["sync", "--full"]);
    assert_eq!(synced.code, 0, "{}", synced.all());

    let run = workspace.run(&["accounts", "list"]);

    assert_eq!(run.code, 0, "{}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Сделка  Логин"),
        "the header comes first: {}",
        run.stdout
    );
    assert!(lines[0].ends_with("Последний вход (МСК)"), "{}", run.stdout);
    assert_eq!(lines.len(), 1 + 5 + 1, "{}", run.stdout);
    for line in &lines[1..6] {
        assert!(line.ends_with("не входил"), "{line}");
    }
    assert_eq!(lines[6], "Всего: 5.");
    emulator.shutdown().await;
}

#[test]
fn accounts_list_without_store_exits_with_5() {
    let workspace = Workspace::new("https://portal.example.invalid/rest/1/abc/", "");

    let run = workspace.run(&["accounts", "list"]);

    assert_eq!(run.code, 5, "{}", run.all());
    assert!(run.stderr.contains("база данных"), "{}", run.stderr);
    assert!(
        !workspace.store_path().exists(),
        "a listing does not create the database"
    );
}
