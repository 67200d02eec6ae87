//! Invoices of a client's deal or contact.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, DealId, InvoiceId};
use crate::money::Money;
use crate::pipeline::StageSemantics;

/// A snapshot of one invoice, smart or legacy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    /// The invoice id with its kind.
    pub id: InvoiceId,
    /// The deal the invoice is bound to (`parentId2` or `UF_DEAL_ID`).
    pub deal_id: Option<DealId>,
    /// The contact the invoice is billed to (`contactId` or `UF_CONTACT_ID`).
    pub contact_id: Option<ContactId>,
    /// The invoice title (`title` or `ORDER_TOPIC`).
    pub title: String,
    /// The invoice number staff gave it (`accountNumber` or `ACCOUNT_NUMBER`).
    pub account_number: Option<String>,
    /// The invoice total (`opportunity` + `currencyId`, or `PRICE` + `CURRENCY`).
    pub amount: Money,
    /// The payment state, as Bitrix24 reports it.
    pub status: InvoiceStatus,
    /// When the invoice was paid, when Bitrix24 reports it (`DATE_PAYED`, or the stage move time).
    pub paid_at: Option<Timestamp>,
    /// When Bitrix24 last changed the invoice.
    pub updated_at: Option<Timestamp>,
}

/// The raw payment state of an invoice, kept as Bitrix24 sends it so the
/// paid rule lives in one place ([`Invoice::is_paid`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// A smart invoice: its stage and the stage's semantics from `crm.status.list`.
    Smart {
        /// The stage id, such as `DT31_1:P`.
        stage_id: String,
        /// The semantics of that stage, when the stage list knows it.
        semantics: Option<StageSemantics>,
    },
    /// A legacy invoice: `STATUS_ID` and the read-only `PAYED` flag.
    Legacy {
        /// `STATUS_ID`; `P` is the paid status, hard-coded in Bitrix24.
        status_id: String,
        /// `PAYED` (`Y`/`N`), when present.
        payed: Option<bool>,
    },
}
