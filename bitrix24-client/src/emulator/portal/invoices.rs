//! Smart invoices and legacy invoices.

use rust_decimal::Decimal;

use super::inputs::{NewLegacyInvoice, NewSmartInvoice};
use super::{Portal, STAFF_USER};
use crate::emulator::data::pipelines::{self, StageSemantics};
use crate::emulator::data::table::Record;
use crate::emulator::data::values::Scalar;
use crate::emulator::data::{NewLegacyInvoiceRecord, NewSmartInvoiceRecord, PortalData};
use crate::emulator::error::{EmulatorError, Result};

/// A smart invoice's current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmartInvoiceSnapshot {
    /// The invoice id.
    pub id: u64,
    /// The title.
    pub title: String,
    /// The deal it belongs to (`parentId2`).
    pub deal_id: Option<u64>,
    /// The amount.
    pub amount: Decimal,
    /// The full stage id.
    pub stage: String,
    /// Whether the stage is the success stage.
    pub paid: bool,
}

/// A legacy invoice's current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyInvoiceSnapshot {
    /// The invoice id.
    pub id: u64,
    /// `ORDER_TOPIC`.
    pub topic: String,
    /// `UF_DEAL_ID` (None when 0).
    pub deal_id: Option<u64>,
    /// `PRICE`.
    pub price: Decimal,
    /// `STATUS_ID`.
    pub status: String,
}

fn decimal(record: &Record, name: &str) -> Decimal {
    match record.get(name) {
        Some(Scalar::Decimal(d)) => *d,
        _ => Decimal::ZERO,
    }
}

fn smart_snapshot(data: &PortalData, record: &Record) -> SmartInvoiceSnapshot {
    let stage = record.text("STAGE_ID").unwrap_or_default().to_owned();
    let category = record.int("CATEGORY_ID").unwrap_or(0) as u64;
    let paid = data
        .stage_in(pipelines::SMART_INVOICE, category, &stage)
        .is_some_and(|row| row.semantics == Some(StageSemantics::Success));
    SmartInvoiceSnapshot {
        id: record.id,
        title: record.text("TITLE").unwrap_or_default().to_owned(),
        deal_id: record.int("PARENT_ID_2").map(|d| d as u64),
        amount: decimal(record, "OPPORTUNITY"),
        stage,
        paid,
    }
}

impl Portal {
    /// Creates a smart invoice (sends `ONCRMDYNAMICITEMADD`) and returns its id.
    pub fn add_smart_invoice(&self, invoice: NewSmartInvoice) -> Result<u64> {
        self.shared.mutate(|data| {
            let stage = match (invoice.stage, invoice.paid) {
                (Some(stage), _) => Some(stage),
                (None, true) => Some(success_stage(data)?),
                (None, false) => None,
            };
            data.create_smart_invoice(NewSmartInvoiceRecord {
                title: invoice.title,
                deal_id: invoice.deal_id,
                contact_id: invoice.contact_id,
                amount: invoice.amount,
                currency: invoice.currency,
                stage,
                user: STAFF_USER,
            })
        })
    }

    /// Moves a smart invoice to the success stage (sends `ONCRMDYNAMICITEMUPDATE`).
    pub fn pay_smart_invoice(&self, id: u64) -> Result<()> {
        self.shared
            .mutate(|data| data.pay_smart_invoice(id, STAFF_USER))
    }

    /// Moves a smart invoice to another stage of its pipeline (sends `ONCRMDYNAMICITEMUPDATE`).
    pub fn set_smart_invoice_stage(&self, id: u64, stage: &str) -> Result<()> {
        self.shared.mutate(|data| {
            data.update_smart_invoice(id, Vec::new(), Some(stage.to_owned()), STAFF_USER)
        })
    }

    /// Deletes a smart invoice (sends `ONCRMDYNAMICITEMDELETE`).
    pub fn delete_smart_invoice(&self, id: u64) -> Result<()> {
        self.shared.mutate(|data| data.delete_smart_invoice(id))
    }

    /// Returns a smart invoice's state.
    pub fn smart_invoice(&self, id: u64) -> Option<SmartInvoiceSnapshot> {
        self.shared
            .read(|data| data.smart_invoices.get(id).map(|r| smart_snapshot(data, r)))
    }

    /// Returns the smart invoices of a deal, by id.
    pub fn smart_invoices_of(&self, deal: u64) -> Vec<SmartInvoiceSnapshot> {
        self.shared.read(|data| {
            let Some(ids) = data
                .smart_invoices
                .link_index("PARENT_ID_2")
                .and_then(|index| index.get(&(deal as i64)))
            else {
                return Vec::new();
            };
            ids.iter()
                .filter_map(|id| data.smart_invoices.get(*id))
                .map(|r| smart_snapshot(data, r))
                .collect()
        })
    }

    /// Creates a legacy invoice (sends `ONCRMINVOICEADD`) and returns its id.
    pub fn add_legacy_invoice(&self, invoice: NewLegacyInvoice) -> Result<u64> {
        self.shared.mutate(|data| {
            data.create_legacy_invoice(NewLegacyInvoiceRecord {
                topic: invoice.topic,
                deal_id: invoice.deal_id,
                contact_id: invoice.contact_id,
                price: invoice.price,
                currency: invoice.currency,
                status: invoice.status,
                user: STAFF_USER,
            })
        })
    }

    /// Sets a legacy invoice's status (`P` is paid).
    pub fn set_legacy_invoice_status(&self, id: u64, status: &str) -> Result<()> {
        self.shared
            .mutate(|data| data.set_legacy_invoice_status(id, status))
    }

    /// Marks a legacy invoice paid (status `P`).
    pub fn pay_legacy_invoice(&self, id: u64) -> Result<()> {
        self.set_legacy_invoice_status(id, "P")
    }

    /// Deletes a legacy invoice (sends `ONCRMINVOICEDELETE`).
    pub fn delete_legacy_invoice(&self, id: u64) -> Result<()> {
        self.shared.mutate(|data| data.delete_legacy_invoice(id))
    }

    /// Returns the legacy invoices of a deal, by id.
    pub fn legacy_invoices_of(&self, deal: u64) -> Vec<LegacyInvoiceSnapshot> {
        self.shared.read(|data| {
            let Some(ids) = data
                .legacy_invoices
                .link_index("UF_DEAL_ID")
                .and_then(|index| index.get(&(deal as i64)))
            else {
                return Vec::new();
            };
            ids.iter()
                .filter_map(|id| data.legacy_invoices.get(*id))
                .map(|r| LegacyInvoiceSnapshot {
                    id: r.id,
                    topic: r.text("ORDER_TOPIC").unwrap_or_default().to_owned(),
                    deal_id: r.int("UF_DEAL_ID").filter(|d| *d > 0).map(|d| d as u64),
                    price: decimal(r, "PRICE"),
                    status: r.text("STATUS_ID").unwrap_or_default().to_owned(),
                })
                .collect()
        })
    }
}

fn success_stage(data: &PortalData) -> Result<String> {
    let category = data.default_smart_category()?;
    data.stages(pipelines::SMART_INVOICE, category)
        .into_iter()
        .find(|row| row.semantics == Some(StageSemantics::Success))
        .map(|row| row.status_id.clone())
        .ok_or(EmulatorError::NotFound {
            entity: "smart-invoice success stage",
            id: category,
        })
}
