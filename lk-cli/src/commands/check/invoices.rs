//! Detection of the invoice kind the portal uses, compared with `invoices.source`.

use bitrix_lk_core::{InvoiceSource, LkConfig};
use bitrix24_client::Client;
use serde_json::{Value, json};

use super::connection::diagnose;
use super::report::Report;
use crate::exit::Exit;

/// Rows one list call returns at most; a full page means "at least this many".
const PAGE_SIZE: usize = 50;

/// The result of probing one invoice kind.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Probe {
    /// The list method succeeded; the number of invoices on the first page.
    Readable(usize),
    /// The list method failed, with the reason.
    Unreadable(String),
}

impl Probe {
    fn readable(&self) -> bool {
        matches!(self, Probe::Readable(_))
    }

    fn has_invoices(&self) -> bool {
        matches!(self, Probe::Readable(count) if *count > 0)
    }

    fn describe(&self) -> String {
        match self {
            Probe::Readable(0) => "нет".to_owned(),
            Probe::Readable(count) if *count >= PAGE_SIZE => format!("есть ({PAGE_SIZE} и больше)"),
            Probe::Readable(count) => format!("есть ({count})"),
            Probe::Unreadable(reason) => format!("не читаются: {reason}"),
        }
    }
}

/// Probes smart invoices (`crm.item.list`, entity type 31) and legacy
/// invoices (`crm.invoice.list`) with one fast page each.
pub async fn check(client: &Client, config: &LkConfig, report: &mut Report) {
    let smart = probe(
        client,
        "crm.item.list",
        json!({"entityTypeId": 31, "select": ["id"], "start": -1}),
    )
    .await;
    let legacy = probe(
        client,
        "crm.invoice.list",
        json!({"select": ["ID"], "start": -1}),
    )
    .await;
    judge(config.invoices.source, &smart, &legacy, report);
}

async fn probe(client: &Client, method: &str, params: Value) -> Probe {
    match client.call::<Value>(method, &params).await {
        Ok(result) => Probe::Readable(count_rows(&result)),
        Err(error) => Probe::Unreadable(diagnose(&error, client.webhook().host()).0),
    }
}

/// Counts rows in `result` (legacy lists) or `result.items` (`crm.item.list`).
fn count_rows(result: &Value) -> usize {
    let rows = result.get("items").unwrap_or(result);
    match rows {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => 0,
    }
}

fn judge(source: InvoiceSource, smart: &Probe, legacy: &Probe, report: &mut Report) {
    let found = format!(
        "смарт-счета: {}; старые счета: {}",
        smart.describe(),
        legacy.describe()
    );
    let setting = source_name(source);

    match source {
        InvoiceSource::Auto | InvoiceSource::Both => {
            if smart.readable() || legacy.readable() {
                report.pass(format!("Счета ({setting}): {found}"));
            } else {
                report.fail(
                    Exit::Failed,
                    format!("Счета не читаются ни одним способом: {found}"),
                    "дайте пользователю вебхука право читать счета в CRM",
                );
            }
        }
        InvoiceSource::Smart => expect_kind(setting, &found, smart, legacy, "legacy", report),
        InvoiceSource::Legacy => expect_kind(setting, &found, legacy, smart, "smart", report),
    }
}

/// Judges a configuration that names one kind: `chosen` must be readable,
/// and invoices only of the `other` kind suggest the wrong setting.
fn expect_kind(
    setting: &str,
    found: &str,
    chosen: &Probe,
    other: &Probe,
    other_setting: &str,
    report: &mut Report,
) {
    let advice = format!("укажите invoices.source = \"{other_setting}\" или \"auto\"");
    if !chosen.readable() {
        report.fail(
            Exit::Failed,
            format!("Счета ({setting}) не читаются: {found}"),
            advice,
        );
    } else if !chosen.has_invoices() && other.has_invoices() {
        report.warn(
            format!("Счета ({setting}): {found}, то есть счета есть только другого вида"),
            advice,
        );
    } else {
        report.pass(format!("Счета ({setting}): {found}"));
    }
}

fn source_name(source: InvoiceSource) -> &'static str {
    match source {
        InvoiceSource::Smart => "invoices.source = smart",
        InvoiceSource::Legacy => "invoices.source = legacy",
        InvoiceSource::Both => "invoices.source = both",
        InvoiceSource::Auto => "invoices.source = auto",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_in_both_shapes() {
        assert_eq!(count_rows(&json!({"items": [{"id": 1}, {"id": 2}]})), 2);
        assert_eq!(count_rows(&json!([{"ID": "1"}])), 1);
        assert_eq!(count_rows(&json!([])), 0);
    }

    #[test]
    fn probe_descriptions() {
        assert_eq!(Probe::Readable(0).describe(), "нет");
        assert_eq!(Probe::Readable(3).describe(), "есть (3)");
        assert_eq!(Probe::Readable(50).describe(), "есть (50 и больше)");
    }
}
