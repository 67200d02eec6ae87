//! «Мои оплаты»: the contract sum, what is paid, what is left, and the paid invoices.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{self, TimeZone};
use rust_decimal::Decimal;

use crate::config::InvoiceLinkage;
use crate::deal::Deal;
use crate::field::FieldValue;
use crate::ids::InvoiceId;
use crate::invoice::Invoice;
use crate::money::{Currency, Money};

/// The client's money figures.
///
/// Only invoices in the contract's currency are added up, and that currency
/// is roubles when the contract sum is unknown. Paid amounts in other
/// currencies are listed in `other_currencies` instead of being added to roubles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSummary {
    /// «Договор на сумму», or `None` when the field is empty or unreadable.
    /// Pages then show that the sum is unknown rather than 0.
    pub contract: Option<Money>,
    /// «Оплачено на текущий момент»: the sum of paid invoices in the contract currency.
    pub paid: Money,
    /// «Остаток»: contract minus paid, never below zero; `None` when the contract is unknown.
    pub remaining: Option<Money>,
    /// How much more than the contract was paid, when it was.
    pub overpayment: Option<Money>,
    /// Paid sums in other currencies, one per currency, by currency code.
    pub other_currencies: Vec<Money>,
}

impl PaymentSummary {
    /// Computes the figures from the contract sum and the client's invoices;
    /// unpaid invoices are ignored.
    pub fn compute(contract: Option<Money>, invoices: &[&Invoice]) -> Self {
        let currency = contract
            .as_ref()
            .map_or_else(Currency::rub, |money| money.currency.clone());

        let mut paid = Decimal::ZERO;
        let mut others: BTreeMap<Currency, Decimal> = BTreeMap::new();
        for invoice in invoices.iter().filter(|invoice| invoice.is_paid()) {
            if invoice.amount.currency == currency {
                paid += invoice.amount.amount;
            } else {
                *others.entry(invoice.amount.currency.clone()).or_default() +=
                    invoice.amount.amount;
            }
        }

        let difference = contract.as_ref().map(|contract| contract.amount - paid);
        let remaining =
            difference.map(|left| Money::new(left.max(Decimal::ZERO), currency.clone()));
        let overpayment = difference
            .filter(|left| left.is_sign_negative() && !left.is_zero())
            .map(|left| Money::new(-left, currency.clone()));

        Self {
            contract,
            paid: Money::new(paid, currency),
            remaining,
            overpayment,
            other_currencies: others
                .into_iter()
                .map(|(currency, amount)| Money::new(amount, currency))
                .collect(),
        }
    }
}

/// Reads the contract sum from the field value: a money value, a number, or
/// text such as «150 000 руб.». Empty, unreadable and negative values give `None`.
pub fn contract_sum(value: &FieldValue) -> Option<Money> {
    let money = match value {
        FieldValue::Money(money) => Some(money.clone()),
        FieldValue::Number(number) => Some(Money::rub(*number)),
        FieldValue::Text(text) => Money::parse(text, &Currency::rub()).ok().flatten(),
        FieldValue::Enum { label, .. } => label
            .as_deref()
            .and_then(|label| Money::parse(label, &Currency::rub()).ok().flatten()),
        FieldValue::List(items) => items
            .iter()
            .find(|item| !item.is_empty())
            .and_then(contract_sum),
        FieldValue::Empty
        | FieldValue::Bool(_)
        | FieldValue::Date(_)
        | FieldValue::DateTime(_)
        | FieldValue::Files(_) => None,
    };
    money.filter(|money| !money.amount.is_sign_negative() || money.amount.is_zero())
}

/// Returns the invoices that belong to the client: bound to the deal, or,
/// with [`InvoiceLinkage::DealAndContact`], billed to the deal's contact.
pub fn client_invoices<'a>(
    deal: &Deal,
    invoices: &'a [Invoice],
    linkage: InvoiceLinkage,
) -> Vec<&'a Invoice> {
    invoices
        .iter()
        .filter(|invoice| {
            let by_deal = invoice.deal_id == Some(deal.id);
            let by_contact = linkage == InvoiceLinkage::DealAndContact
                && deal.contact_id.is_some()
                && invoice.contact_id == deal.contact_id;
            by_deal || by_contact
        })
        .collect()
}

/// One paid invoice on the payments page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidInvoice {
    /// The invoice id.
    pub id: InvoiceId,
    /// The number or title shown to the client.
    pub name: String,
    /// When it was paid, when Bitrix24 reports it.
    pub paid_at: Option<Timestamp>,
    /// The invoice total.
    pub amount: Money,
}

impl PaidInvoice {
    /// Returns the payment date in Moscow time.
    pub fn paid_on(&self) -> Option<Date> {
        self.paid_at.map(moscow_date)
    }

    /// Returns the payment date as the client reads it: `05.03.2025`.
    pub fn paid_on_text(&self) -> Option<String> {
        self.paid_on()
            .map(|date| date.strftime("%d.%m.%Y").to_string())
    }
}

/// Lists the paid invoices by payment date, oldest first; invoices without a
/// date come last, by id.
pub fn paid_invoices(invoices: &[&Invoice]) -> Vec<PaidInvoice> {
    let mut paid: Vec<PaidInvoice> = invoices
        .iter()
        .filter(|invoice| invoice.is_paid())
        .map(|invoice| PaidInvoice {
            id: invoice.id,
            name: invoice.display_name(),
            paid_at: invoice.paid_at,
            amount: invoice.amount.clone(),
        })
        .collect();
    paid.sort_by_key(|invoice| (invoice.paid_at.is_none(), invoice.paid_at, invoice.id));
    paid
}

/// Returns the calendar date of an instant in Moscow.
fn moscow_date(at: Timestamp) -> Date {
    // Moscow has kept UTC+3 all year since 2014; the fixed offset is only a
    // fallback should the bundled time zone database lack the zone.
    let zone = TimeZone::get("Europe/Moscow").unwrap_or_else(|_| TimeZone::fixed(tz::offset(3)));
    zone.to_datetime(at).date()
}
