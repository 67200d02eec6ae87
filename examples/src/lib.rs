//! A made-up integration that the examples test against the emulator.
//!
//! [`payment_report`] stands for an integrator's own code: it reads a deal's
//! contract sum and its smart invoices through [`bitrix24_client::Client`].
//! The `test_against_emulator` example walks through testing it, and
//! `tests/integration.rs` runs the same scenario under `cargo test`. The
//! other runnable examples are in `examples/` (see README.md).

use std::collections::HashSet;

use bitrix_lk_core::{DealId, Money};
use bitrix24_client::values::{FieldSpec, UfValue, UserFieldType, decode};
use bitrix24_client::{Client, EntityType, Result, Semantics};
use rust_decimal::Decimal;

/// The currency assumed for a contract or invoice that names none.
const DEFAULT_CURRENCY: &str = "RUB";

/// A client's payments on one deal, from its smart invoices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentReport {
    /// The contract sum from the deal's money field, or `None` when the field is empty.
    pub contract: Option<Money>,
    /// The total of the paid invoices in the contract's currency (roubles
    /// without a contract sum). Invoices in other currencies are left out.
    pub paid: Decimal,
    /// The number of paid invoices, in any currency.
    pub paid_invoices: usize,
    /// The number of invoices not paid yet.
    pub unpaid_invoices: usize,
}

impl PaymentReport {
    /// Returns the contract sum minus the paid total, never below zero, or
    /// `None` without a contract sum.
    pub fn remaining(&self) -> Option<Decimal> {
        let contract = self.contract.as_ref()?;
        Some((contract.amount - self.paid).max(Decimal::ZERO))
    }
}

/// Builds the payment report of `deal`, whose contract sum is in the money
/// field `contract_field` (such as `UF_CRM_1725026451112`).
///
/// An invoice counts as paid when it is in the success stage of its
/// pipeline. A missing deal fails with an error whose
/// [`is_not_found`](bitrix24_client::Error::is_not_found) is true.
pub async fn payment_report(
    client: &Client,
    deal: DealId,
    contract_field: &str,
) -> Result<PaymentReport> {
    let record = client.deals().get(deal).await?;
    let spec = FieldSpec {
        name: contract_field.to_owned(),
        kind: UserFieldType::Money,
        multiple: false,
        items: Vec::new(),
    };
    let contract = match decode(&spec, record.field(contract_field))? {
        UfValue::Money(money) => Some(money),
        _ => None,
    };
    let currency = contract
        .as_ref()
        .map_or(DEFAULT_CURRENCY, |money| money.currency.0.as_str());

    let paid_stages = paid_stages(client).await?;
    let invoices = client
        .items()
        .list(EntityType::SmartInvoice)
        .filter("parentId2", deal.get())
        .select(["id", "stageId", "opportunity", "currencyId"])
        .all()
        .await?;

    let mut paid = Decimal::ZERO;
    let mut paid_invoices = 0;
    for invoice in &invoices {
        let is_paid = invoice
            .stage_id
            .as_ref()
            .is_some_and(|stage| paid_stages.contains(stage));
        if !is_paid {
            continue;
        }
        paid_invoices += 1;
        if invoice.currency_id.as_deref().unwrap_or(DEFAULT_CURRENCY) == currency {
            paid += invoice.opportunity.unwrap_or_default();
        }
    }

    Ok(PaymentReport {
        contract,
        paid,
        paid_invoices,
        unpaid_invoices: invoices.len() - paid_invoices,
    })
}

/// Returns the success stage of every smart-invoice pipeline, such as `DT31_1:P`.
async fn paid_stages(client: &Client) -> Result<HashSet<String>> {
    let mut stages = HashSet::new();
    for pipeline in client.categories().all(EntityType::SmartInvoice).await? {
        let directory = format!("SMART_INVOICE_STAGE_{}", pipeline.id);
        for stage in client.statuses().directory(&directory).await? {
            if stage.semantics == Semantics::Success {
                stages.insert(stage.status_id);
            }
        }
    }
    Ok(stages)
}
