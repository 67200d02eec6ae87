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

impl Invoice {
    /// Returns whether the invoice counts as paid.
    ///
    /// A smart invoice is paid when its stage has success semantics (`S` in
    /// `crm.status.list`); a stage of unknown semantics counts as unpaid. A
    /// legacy invoice is paid when `STATUS_ID` is `P`, the status Bitrix24
    /// hard-codes as paid, or when `PAYED` is `Y`.
    pub fn is_paid(&self) -> bool {
        match &self.status {
            InvoiceStatus::Smart { semantics, .. } => *semantics == Some(StageSemantics::Success),
            InvoiceStatus::Legacy { status_id, payed } => {
                status_id.trim() == "P" || *payed == Some(true)
            }
        }
    }

    /// Returns how the client sees the invoice named: its number, else its
    /// title, else «Счёт №» and its id. A no-break space keeps the number
    /// on the line of «№».
    pub fn display_name(&self) -> String {
        let number = self.account_number.as_deref().map(str::trim).unwrap_or("");
        if !number.is_empty() {
            return format!("Счёт №\u{a0}{number}");
        }
        let title = self.title.trim();
        if !title.is_empty() {
            return title.to_owned();
        }
        format!("Счёт №\u{a0}{}", self.id.number)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use rust_decimal::Decimal;

    use super::*;

    fn invoice(status: InvoiceStatus) -> Invoice {
        Invoice {
            id: InvoiceId::smart(5),
            deal_id: Some(DealId(1)),
            contact_id: None,
            title: String::new(),
            account_number: None,
            amount: Money::rub(Decimal::from(1000)),
            status,
            paid_at: None,
            updated_at: None,
        }
    }

    fn smart(semantics: Option<StageSemantics>) -> InvoiceStatus {
        InvoiceStatus::Smart {
            stage_id: "DT31_1:P".to_owned(),
            semantics,
        }
    }

    fn legacy(status_id: &str, payed: Option<bool>) -> InvoiceStatus {
        InvoiceStatus::Legacy {
            status_id: status_id.to_owned(),
            payed,
        }
    }

    #[rstest]
    #[case::smart_success(smart(Some(StageSemantics::Success)), true)]
    #[case::smart_process(smart(Some(StageSemantics::Process)), false)]
    #[case::smart_failure(smart(Some(StageSemantics::Failure)), false)]
    #[case::smart_unknown_stage(smart(None), false)]
    #[case::legacy_paid_status(legacy("P", None), true)]
    #[case::legacy_paid_flag(legacy("N", Some(true)), true)]
    #[case::legacy_both(legacy("P", Some(true)), true)]
    #[case::legacy_new(legacy("N", Some(false)), false)]
    #[case::legacy_sent(legacy("S", None), false)]
    #[case::legacy_declined(legacy("D", Some(false)), false)]
    #[case::legacy_lower_case(legacy("p", None), false)]
    fn paid_rule(#[case] status: InvoiceStatus, #[case] paid: bool) {
        assert_eq!(invoice(status).is_paid(), paid);
    }

    #[rstest]
    #[case(Some("A-17"), "Оплата услуг", "Счёт №\u{a0}A-17")]
    #[case(Some("  "), "Оплата услуг", "Оплата услуг")]
    #[case(None, "", "Счёт №\u{a0}5")]
    fn display_name_prefers_number(
        #[case] number: Option<&str>,
        #[case] title: &str,
        #[case] expected: &str,
    ) {
        let mut invoice = invoice(smart(None));
        invoice.account_number = number.map(str::to_owned);
        invoice.title = title.to_owned();

        assert_eq!(invoice.display_name(), expected);
    }
}
