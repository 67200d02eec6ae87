//! `provision --deal ID`: creates a client's account now instead of waiting
//! for the deal-update event.

use std::path::Path;

use anyhow::Context;
use bitrix_lk_core::{Account, ChangeNotice, Deal, DealId, LkConfig};
use jiff::Timestamp;

use super::outbox;
use crate::context::Services;
use crate::exit::{Exit, failure};
use crate::output::stdoutln;

/// The event name recorded in the inbox for a provisioning requested here.
const INBOX_EVENT_NAME: &str = "lk-cli provision";

/// Reads the deal and, when its trigger is set and it has no account yet,
/// provisions it through the engine's event path (account, snapshot and
/// invoices), then delivers the login and password to the deal.
pub async fn run(config_path: &Path, deal: DealId) -> anyhow::Result<Exit> {
    let services = Services::start(config_path).await?;

    if let Some(account) = account_of(&services, deal).await? {
        print_existing(&account);
        return Ok(Exit::Success);
    }

    let snapshot = read_deal(&services, deal).await?;
    require_trigger(&services.config, &snapshot)?;
    provision_through_inbox(&services, deal).await?;

    let Some(account) = account_of(&services, deal).await? else {
        return Err(failure(
            Exit::Failed,
            format!(
                "учётная запись для сделки {deal} не создана: при повторном чтении сделки \
                 поле «Создать ЛК клиенту» уже не запрашивало её"
            ),
        ));
    };
    deliver_new_credentials(&services, &account).await
}

async fn account_of(services: &Services, deal: DealId) -> anyhow::Result<Option<Account>> {
    services
        .store
        .account_by_deal(deal)
        .await
        .context("не удалось прочитать учётные записи")
}

fn print_existing(account: &Account) {
    let deal = account.deal_id;
    stdoutln!("У сделки {deal} уже есть учётная запись; она не создавалась заново.");
    stdoutln!("Логин: {}", account.login);
    stdoutln!(
        "Пароль не менялся. Чтобы выдать новый, выполните: lk-cli password reset --deal {deal}"
    );
}

async fn read_deal(services: &Services, deal: DealId) -> anyhow::Result<Deal> {
    let found = services
        .crm
        .deal(deal)
        .await
        .with_context(|| format!("не удалось прочитать сделку {deal} из Битрикс24"))?;
    found.ok_or_else(|| {
        failure(
            Exit::Failed,
            format!("сделка {deal} не найдена в Битрикс24"),
        )
    })
}

fn require_trigger(config: &LkConfig, deal: &Deal) -> anyhow::Result<()> {
    let code = &config.fields.trigger;
    let value = deal.field(code);
    if config.trigger.is_triggered(value) {
        return Ok(());
    }

    let current = value.as_text().map_or_else(
        || "поле пустое".to_owned(),
        |text| format!("сейчас «{text}»"),
    );
    Err(failure(
        Exit::Failed,
        format!(
            "учётная запись не создана: в сделке {} поле «Создать ЛК клиенту» ({code}) \
             не равно «{}» ({current}); установите это значение в сделке и повторите",
            deal.id, config.trigger.value
        ),
    ))
}

/// Queues a deal-change event and drains the inbox, so the account is
/// created exactly as for an event from Bitrix24.
async fn provision_through_inbox(services: &Services, deal: DealId) -> anyhow::Result<()> {
    let notice = ChangeNotice::DealChanged { deal_id: deal };
    services
        .store
        .inbox_push(notice, INBOX_EVENT_NAME, None, Timestamp::now())
        .await
        .context("не удалось поставить сделку в очередь событий")?;

    loop {
        let report = services.engine.drain_inbox().await.with_context(|| {
            format!("не удалось обработать сделку {deal}; событие осталось в очереди, lk-web повторит его")
        })?;
        if report.events == 0 {
            return Ok(());
        }
    }
}

/// Prints the new login and, while it is still queued, the password, then
/// delivers both to the deal.
async fn deliver_new_credentials(services: &Services, account: &Account) -> anyhow::Result<Exit> {
    let deal = account.deal_id;
    stdoutln!("Учётная запись для сделки {deal} создана.");
    stdoutln!("Логин: {}", account.login);

    let store = services.store.as_ref();
    let Some((write_id, password)) = outbox::pending_credentials(store, deal).await? else {
        stdoutln!("Пароль уже записан в сделку (поле «Пароль ЛК клиента»).");
        return Ok(Exit::Success);
    };
    stdoutln!("Пароль: {}", password.expose());

    let delivery = outbox::deliver(&services.engine, store, write_id).await?;
    Ok(outbox::report_credentials(deal, &delivery))
}
