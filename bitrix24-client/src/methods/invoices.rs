//! Legacy invoices through the deprecated `crm.invoice.*` methods (entity type 5).
//!
//! Current portals use smart invoices, which are items of entity type 31
//! (see [`crate::methods::items`]). `STATUS_ID = "P"` is the paid status,
//! hard-coded in Bitrix24.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::client::Client;
use crate::de;
use crate::error::Result;
use crate::methods::ListRequest;
use crate::paging::Rows;

/// The status id Bitrix24 hard-codes as "paid" for legacy invoices.
pub const PAID_STATUS: &str = "P";

/// The `crm.invoice.*` methods; get it with [`Client::legacy_invoices`].
#[derive(Clone, Copy, Debug)]
pub struct LegacyInvoices<'a> {
    client: &'a Client,
}

impl<'a> LegacyInvoices<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Reads one invoice (`crm.invoice.get`). A missing invoice fails with an
    /// error whose [`crate::Error::is_not_found`] is true.
    pub async fn get(&self, id: u64) -> Result<LegacyInvoice> {
        self.client
            .call("crm.invoice.get", &json!({ "id": id }))
            .await
    }

    /// Starts a `crm.invoice.list` request.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// let invoices = client
    ///     .legacy_invoices()
    ///     .list()
    ///     .filter("UF_DEAL_ID", 410)
    ///     .select(["ID", "ACCOUNT_NUMBER", "STATUS_ID", "PRICE", "CURRENCY", "DATE_PAYED"])
    ///     .all()
    ///     .await?;
    /// let paid = invoices.iter().filter(|invoice| invoice.is_paid()).count();
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListRequest<'a, LegacyInvoice> {
        ListRequest::new(self.client, "crm.invoice.list", Rows::Result, "ID")
    }
}

/// A legacy invoice as `crm.invoice.get` and `crm.invoice.list` return it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct LegacyInvoice {
    /// `ID`.
    #[serde(rename = "ID", deserialize_with = "de::u64_required")]
    pub id: u64,
    /// `ACCOUNT_NUMBER`, the number staff gave the invoice.
    #[serde(rename = "ACCOUNT_NUMBER", default, deserialize_with = "de::opt_text")]
    pub account_number: Option<String>,
    /// `ORDER_TOPIC`, the subject.
    #[serde(rename = "ORDER_TOPIC", default, deserialize_with = "de::opt_text")]
    pub order_topic: Option<String>,
    /// `STATUS_ID`; [`PAID_STATUS`] is paid.
    #[serde(rename = "STATUS_ID", default, deserialize_with = "de::opt_text")]
    pub status_id: Option<String>,
    /// `PRICE`, the total.
    #[serde(rename = "PRICE", default, deserialize_with = "de::opt_decimal")]
    pub price: Option<Decimal>,
    /// `CURRENCY`.
    #[serde(rename = "CURRENCY", default, deserialize_with = "de::opt_text")]
    pub currency: Option<String>,
    /// `PAYED` (`Y`/`N`), read-only.
    #[serde(rename = "PAYED", default, deserialize_with = "de::opt_bool")]
    pub payed: Option<bool>,
    /// `DATE_PAYED`; `None` when unset or not a datetime with an offset.
    #[serde(rename = "DATE_PAYED", default, deserialize_with = "lenient_timestamp")]
    pub date_payed: Option<Timestamp>,
    /// `DATE_UPDATE`; `None` when unset or not a datetime with an offset.
    #[serde(
        rename = "DATE_UPDATE",
        default,
        deserialize_with = "lenient_timestamp"
    )]
    pub date_update: Option<Timestamp>,
    /// `DATE_BILL`, as sent.
    #[serde(rename = "DATE_BILL", default, deserialize_with = "de::opt_text")]
    pub date_bill: Option<String>,
    /// `UF_DEAL_ID`, the deal (`None` when unset or 0).
    #[serde(rename = "UF_DEAL_ID", default, deserialize_with = "de::opt_id")]
    pub uf_deal_id: Option<u64>,
    /// `UF_CONTACT_ID`, the contact billed (`None` when unset or 0).
    #[serde(rename = "UF_CONTACT_ID", default, deserialize_with = "de::opt_id")]
    pub uf_contact_id: Option<u64>,
    /// Every other field as sent.
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
}

impl LegacyInvoice {
    /// Returns whether the invoice is paid: `STATUS_ID` is `P`, or `PAYED` is `Y`.
    pub fn is_paid(&self) -> bool {
        self.status_id.as_deref() == Some(PAID_STATUS) || self.payed == Some(true)
    }
}

/// Reads a datetime with an offset, and `None` for anything else: the
/// legacy invoice methods are deprecated and their formats undocumented.
fn lenient_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Timestamp>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(de::timestamp_from_value(&value))
}
