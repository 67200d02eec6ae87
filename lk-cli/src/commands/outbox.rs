//! Queue work shared by several commands: draining the inbox and outbox,
//! and finding a queued password before it is delivered.

use anyhow::Context;
use bitrix_lk_core::engine::SyncEngine;
use bitrix_lk_core::{DealId, OutboxId, OutboxItem, OutboxState, Password, Store, WriteBack};

use crate::output::{stderrln, stdoutln};

/// Outbox records searched for the state of one write; the write being
/// looked for is recent and the listing is newest first.
const RECENT_OUTBOX_RECORDS: usize = 1_000;

/// Totals of draining the queues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainTotals {
    /// Inbox events processed.
    pub events: u64,
    /// Accounts created while processing events.
    pub accounts_created: u64,
    /// Writes Bitrix24 confirmed.
    pub delivered: u64,
    /// Writes that failed and are scheduled for a retry.
    pub retried: u64,
    /// Writes parked for an administrator.
    pub parked: u64,
}

/// Runs inbox and outbox passes until both have nothing due, summing what they did.
///
/// NOTE: `SyncEngine::drain_queues` runs the same passes but returns only a
/// failure count. The summaries of `sync` and `events retry` need the counts,
/// so this loop calls the two passes itself and stops at the first error.
pub async fn drain(engine: &SyncEngine) -> anyhow::Result<DrainTotals> {
    let mut totals = DrainTotals::default();
    loop {
        let inbox = engine
            .drain_inbox()
            .await
            .context("не удалось обработать входящие события; они остались в очереди")?;
        let outbox = engine
            .drain_outbox()
            .await
            .context("не удалось доставить записи в Битрикс24; они остались в очереди")?;

        totals.events += inbox.events;
        totals.accounts_created += inbox.accounts_created;
        totals.delivered += outbox.done;
        totals.retried += outbox.retried;
        totals.parked += outbox.parked;

        let outbox_touched = outbox.done + outbox.retried + outbox.parked;
        if inbox.events == 0 && outbox_touched == 0 {
            return Ok(totals);
        }
    }
}

/// Returns the newest credentials write of a deal still waiting in the
/// outbox: the only place the plain password exists until it is delivered.
pub async fn pending_credentials(
    store: &dyn Store,
    deal: DealId,
) -> anyhow::Result<Option<(OutboxId, Password)>> {
    let pending = store
        .outbox_list(Some(OutboxState::Pending), RECENT_OUTBOX_RECORDS)
        .await
        .context("не удалось прочитать очередь записей в Битрикс24")?;
    let newest = pending
        .into_iter()
        .filter_map(|item| match item.write {
            WriteBack::Credentials {
                deal_id, password, ..
            } if deal_id == deal => Some((item.id, password)),
            _ => None,
        })
        .max_by_key(|(id, _)| *id);
    Ok(newest)
}

/// Returns the record of one outbox write, if it is among the recent ones.
pub async fn find(store: &dyn Store, id: OutboxId) -> anyhow::Result<Option<OutboxItem>> {
    let recent = store
        .outbox_list(None, RECENT_OUTBOX_RECORDS)
        .await
        .context("не удалось прочитать очередь записей в Битрикс24")?;
    Ok(recent.into_iter().find(|item| item.id == id))
}

/// Returns the Russian name of a write kind, for listings.
pub fn kind_name(write: &WriteBack) -> &'static str {
    match write {
        WriteBack::Credentials { .. } => "логин и пароль",
        WriteBack::LastLogin { .. } => "время входа",
        WriteBack::ReferralCode { .. } => "код рекомендателя",
        WriteBack::Document { .. } => "документ",
    }
}

/// The state of a write after one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Bitrix24 confirmed the write.
    Delivered,
    /// The attempt failed; the write waits for a retry (by lk-web or the next command).
    WillRetry(Option<String>),
    /// The write is parked until `events retry`.
    Parked(Option<String>),
    /// The record is no longer among the recent ones.
    Unknown,
}

/// Runs one outbox pass and returns where the write `id` ended.
pub async fn deliver(
    engine: &SyncEngine,
    store: &dyn Store,
    id: OutboxId,
) -> anyhow::Result<Delivery> {
    engine
        .drain_outbox()
        .await
        .context("не удалось доставить записи в Битрикс24; они остались в очереди")?;

    let delivery = match find(store, id).await? {
        None => Delivery::Unknown,
        Some(item) => match item.state {
            OutboxState::Done => Delivery::Delivered,
            OutboxState::Pending => Delivery::WillRetry(item.last_error),
            OutboxState::Parked => Delivery::Parked(item.last_error),
        },
    };
    Ok(delivery)
}

/// Prints what happened to the credentials write of a deal and returns the exit code.
pub fn report_credentials(deal: DealId, delivery: &Delivery) -> crate::exit::Exit {
    use crate::exit::Exit;

    let reason = |error: &Option<String>| {
        error
            .as_deref()
            .map_or_else(String::new, |error| format!(" ({error})"))
    };
    match delivery {
        Delivery::Delivered => {
            stdoutln!("Логин и пароль записаны в сделку {deal}.");
            Exit::Success
        }
        Delivery::WillRetry(error) => {
            stderrln!(
                "Записать логин и пароль в сделку {deal} пока не удалось{}; \
                 запись осталась в очереди, lk-web повторит её сам.",
                reason(error)
            );
            Exit::Bitrix24
        }
        Delivery::Parked(error) => {
            stderrln!(
                "Битрикс24 не принял запись логина и пароля в сделку {deal}{}; \
                 устраните причину и выполните `lk-cli events retry`.",
                reason(error)
            );
            Exit::Bitrix24
        }
        Delivery::Unknown => {
            stdoutln!(
                "Состояние записи в сделку {deal} не найдено среди последних; \
                 проверьте очередь: `lk-cli events list`."
            );
            Exit::Success
        }
    }
}
