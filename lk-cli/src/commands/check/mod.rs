//! `check`: the installer's checklist, one line per check.
//!
//! It reads the configuration, then queries the portal with read methods only
//! (`crm.deal.fields`, `crm.deal.userfield.list`, `crm.category.list`,
//! `crm.status.list`, `crm.item.list`, `crm.invoice.list`): nothing in
//! Bitrix24 changes.

mod connection;
mod fields;
mod invoices;
mod local;
mod pipeline;
mod report;

use std::path::Path;

use crate::context::{display_path, load_config, missing_config_advice};
use crate::exit::Exit;
use report::Report;

/// Runs every check, prints a summary and returns the exit code of the
/// most specific failure (3 configuration, 4 portal, 1 any other check).
pub async fn run(config_path: &Path) -> anyhow::Result<Exit> {
    let mut report = Report::default();
    let shown_path = display_path(config_path);

    if !config_path.exists() {
        report.fail(
            Exit::Config,
            format!("Файл настроек {} не найден", shown_path.display()),
            missing_config_advice(config_path),
        );
        report.print_summary();
        return Ok(report.exit());
    }
    let config = match load_config(config_path) {
        Ok(config) => config,
        Err(error) => {
            report.fail(
                Exit::Config,
                format!("Настройки не загружены: {error:#}"),
                "исправьте указанное значение в файле настроек или в переменной окружения",
            );
            report.print_summary();
            return Ok(report.exit());
        }
    };
    report.pass(format!("Настройки загружены: {}", shown_path.display()));

    if let Some(client) = connection::webhook(&config, &mut report)
        && connection::reachable(&client, &mut report).await
    {
        fields::check(&client, &config, &mut report).await;
        pipeline::check(&client, &config, &mut report).await;
        invoices::check(&client, &config, &mut report).await;
    }
    local::tokens(&config, &mut report);
    local::web(&config, &mut report);
    local::store(&config, &mut report).await;

    report.print_summary();
    Ok(report.exit())
}
