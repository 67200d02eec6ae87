//! `sync [--full]`: one resync and one drain of the queues.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bitrix_lk_core::engine::{ResyncMode, ResyncReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::outbox::{self, DrainTotals};
use crate::context::Services;
use crate::exit::Exit;
use crate::output::{stderrln, stdoutln};

/// Runs the engine's resync (incremental, or full with `full`), then drains
/// the inbox and the outbox, and prints a summary line.
pub async fn run(config_path: &Path, full: bool) -> anyhow::Result<Exit> {
    let services = Services::start(config_path).await?;
    let mode = if full {
        ResyncMode::Full
    } else {
        ResyncMode::Incremental
    };

    let bar = progress_bar(mode);
    let progress = |deals: u64| bar.set_message(format!("прочитано сделок: {deals}"));
    let resync = services.engine.resync(mode, &progress).await;
    bar.finish_and_clear();
    let resync = resync.context("синхронизация с Битрикс24 не удалась")?;

    let drained = outbox::drain(&services.engine).await?;
    stdoutln!("{}", summary(mode, &resync, &drained));
    if drained.retried + drained.parked > 0 {
        stderrln!(
            "Не доставлено записей в Битрикс24: {} (подробности: lk-cli events list).",
            drained.retried + drained.parked
        );
        return Ok(Exit::Bitrix24);
    }
    Ok(Exit::Success)
}

/// Creates a spinner with the running count on stderr, hidden when stderr is not a terminal.
fn progress_bar(mode: ResyncMode) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_prefix(match mode {
        ResyncMode::Full => "Полная синхронизация:",
        ResyncMode::Incremental => "Синхронизация изменений:",
    });
    bar.set_message("прочитано сделок: 0");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn summary(mode: ResyncMode, resync: &ResyncReport, drained: &DrainTotals) -> String {
    let kind = match mode {
        ResyncMode::Full => "Полная синхронизация",
        ResyncMode::Incremental => "Синхронизация изменений",
    };
    let mut line = format!(
        "{kind} завершена: прочитано сделок {}, создано учётных записей {}, \
         прочитано счетов {}, доставлено записей в Битрикс24 {}",
        resync.deals_read,
        resync.accounts_created + drained.accounts_created,
        resync.invoices_read,
        drained.delivered,
    );
    if resync.deals_removed > 0 {
        line.push_str(&format!(
            ", удалено снимков сделок, которых больше нет в Битрикс24: {}",
            resync.deals_removed
        ));
    }
    if drained.events > 0 {
        line.push_str(&format!(", обработано событий {}", drained.events));
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_accounts_from_both_passes() {
        let resync = ResyncReport {
            deals_read: 6,
            deals_refreshed: 5,
            accounts_created: 4,
            deals_removed: 0,
            invoices_read: 12,
        };
        let drained = DrainTotals {
            events: 0,
            accounts_created: 1,
            delivered: 5,
            retried: 0,
            parked: 0,
        };

        let line = summary(ResyncMode::Full, &resync, &drained);

        assert_eq!(
            line,
            "Полная синхронизация завершена: прочитано сделок 6, создано учётных записей 5, \
             прочитано счетов 12, доставлено записей в Битрикс24 5."
        );
    }
}
