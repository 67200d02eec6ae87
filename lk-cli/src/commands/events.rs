//! `events list` and `events retry`: the inbox of Bitrix24 events and the
//! outbox of writes to Bitrix24.

use std::path::Path;

use anyhow::Context;
use bitrix_lk_core::{ChangeNotice, InboxEvent, OutboxItem, OutboxState, QueueStats, Store};
use jiff::Timestamp;

use super::outbox;
use crate::context::{OpenMode, Services, load_config, open_store};
use crate::exit::Exit;
use crate::output::{Table, moscow, moscow_with_seconds, stdout, stdoutln};

/// Rows shown per section.
const LIST_LIMIT: usize = 100;

/// Characters of an error message shown in a table cell.
const ERROR_WIDTH: usize = 80;

/// Prints pending inbox events and the pending and parked outbox writes.
/// Shows no passwords. Needs no Bitrix24 access.
pub async fn list(config_path: &Path) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    let store = open_store(&config, OpenMode::MustExist).await?;
    let stats = store
        .queue_stats()
        .await
        .context("не удалось прочитать состояние очередей")?;

    print_inbox(store.as_ref(), &stats).await?;
    stdoutln!();
    print_outbox(store.as_ref(), OutboxState::Pending, stats.outbox_pending).await?;
    stdoutln!();
    print_outbox(store.as_ref(), OutboxState::Parked, stats.outbox_parked).await?;
    if stats.spooled_files > 0 {
        stdoutln!();
        stdoutln!(
            "Загруженных клиентами файлов ждут отправки в Битрикс24: {}.",
            stats.spooled_files
        );
    }
    Ok(Exit::Success)
}

async fn print_inbox(store: &dyn Store, stats: &QueueStats) -> anyhow::Result<()> {
    let events = store
        .inbox_pending(LIST_LIMIT)
        .await
        .context("не удалось прочитать входящие события")?;
    stdoutln!(
        "Входящие события, ожидают обработки: {}{}",
        stats.inbox_pending,
        shown_of(events.len(), stats.inbox_pending)
    );
    if !events.is_empty() {
        stdout!("{}", inbox_table(&events).render(2));
    }
    Ok(())
}

fn inbox_table(events: &[InboxEvent]) -> Table {
    let mut table = Table::new([
        "№",
        "Событие",
        "Объект",
        "Получено (МСК)",
        "Попыток",
        "Ошибка",
    ]);
    for event in events {
        table.row(vec![
            event.id.to_string(),
            event.event_name.clone(),
            subject(&event.notice),
            moscow(event.received_at),
            event.attempts.to_string(),
            shorten(event.last_error.as_deref()),
        ]);
    }
    table
}

fn subject(notice: &ChangeNotice) -> String {
    match notice {
        ChangeNotice::DealChanged { deal_id } => format!("сделка {deal_id}"),
        ChangeNotice::DealDeleted { deal_id } => format!("сделка {deal_id} удалена"),
        ChangeNotice::InvoiceChanged { invoice_id } => format!("счёт {invoice_id}"),
        ChangeNotice::InvoiceDeleted { invoice_id } => format!("счёт {invoice_id} удалён"),
    }
}

async fn print_outbox(store: &dyn Store, state: OutboxState, total: u64) -> anyhow::Result<()> {
    let items = store
        .outbox_list(Some(state), LIST_LIMIT)
        .await
        .context("не удалось прочитать очередь записей в Битрикс24")?;
    let title = match state {
        OutboxState::Parked => "Записи в Битрикс24, отложенные до `lk-cli events retry`",
        _ => "Записи в Битрикс24, ожидают доставки",
    };
    stdoutln!("{title}: {total}{}", shown_of(items.len(), total));
    if !items.is_empty() {
        stdout!("{}", outbox_table(&items).render(2));
    }
    Ok(())
}

fn outbox_table(items: &[OutboxItem]) -> Table {
    let mut table = Table::new([
        "№",
        "Что",
        "Сделка",
        "Попыток",
        "Следующая попытка (МСК)",
        "Последняя ошибка",
    ]);
    for item in items {
        let next = match item.state {
            OutboxState::Pending => moscow_with_seconds(item.next_attempt_at),
            _ => "—".to_owned(),
        };
        table.row(vec![
            item.id.to_string(),
            outbox::kind_name(&item.write).to_owned(),
            item.write.deal_id().to_string(),
            item.attempts.to_string(),
            next,
            shorten(item.last_error.as_deref()),
        ]);
    }
    table
}

fn shown_of(listed: usize, total: u64) -> String {
    if (listed as u64) < total {
        format!(" (показаны первые {listed})")
    } else {
        String::new()
    }
}

fn shorten(error: Option<&str>) -> String {
    let Some(error) = error else {
        return String::new();
    };
    let one_line = error.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= ERROR_WIDTH {
        return one_line;
    }
    let cut: String = one_line.chars().take(ERROR_WIDTH - 1).collect();
    format!("{cut}…")
}

/// Makes parked writes pending again and runs one drain of the queues.
pub async fn retry(config_path: &Path) -> anyhow::Result<Exit> {
    let services = Services::start(config_path).await?;
    let requeued = services
        .store
        .outbox_requeue_parked(Timestamp::now())
        .await
        .context("не удалось вернуть отложенные записи в очередь")?;
    stdoutln!("Возвращено в очередь отложенных записей: {requeued}.");

    let drained = outbox::drain(&services.engine).await?;
    stdoutln!(
        "Доставлено в Битрикс24: {}, будет повторено позже: {}, снова отложено: {}.",
        drained.delivered,
        drained.retried,
        drained.parked
    );
    if drained.retried + drained.parked > 0 {
        stdoutln!("Подробности: lk-cli events list");
        return Ok(Exit::Bitrix24);
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_one_line_and_cuts_long_errors() {
        let long = "ошибка ".repeat(30);

        assert_eq!(shorten(Some("a\n  b")), "a b");
        assert_eq!(shorten(None), "");
        assert_eq!(shorten(Some(&long)).chars().count(), ERROR_WIDTH);
        assert!(shorten(Some(&long)).ends_with('…'));
    }
}
