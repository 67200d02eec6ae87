//! The `Crm` port: what the cabinet needs from Bitrix24.
//!
//! `bitrix24-client` implements it over the REST API; tests use
//! [`crate::fakes::FakeCrm`]. Every method maps the configured field codes,
//! so callers work with typed values only.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::account::{Login, ReferralCode};
use crate::deal::Deal;
use crate::error::Result;
use crate::field::FieldMeta;
use crate::ids::{CategoryId, ContactId, DealId, FieldCode, InvoiceId};
use crate::invoice::Invoice;
use crate::pipeline::Pipeline;
use crate::sync::Password;

/// The filter of a deal listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DealFilter {
    /// Only deals changed at or after this instant.
    pub modified_since: Option<Timestamp>,
    /// Only deals in this pipeline.
    pub category: Option<CategoryId>,
}

/// One chunk of a deal listing, ordered by id.
#[derive(Clone, Debug, Default)]
pub struct DealPage {
    /// The deals of this chunk.
    pub deals: Vec<Deal>,
    /// The cursor for the next chunk, or `None` when the listing is complete.
    pub next_after: Option<DealId>,
}

/// One chunk of an invoice listing.
#[derive(Clone, Debug, Default)]
pub struct InvoicePage {
    /// The invoices of this chunk.
    pub invoices: Vec<Invoice>,
    /// The cursor for the next chunk, or `None` when the listing is complete.
    pub next_after: Option<InvoiceId>,
}

/// Read and write access to the firm's Bitrix24 portal.
#[async_trait]
pub trait Crm: Send + Sync {
    /// Reads one deal; `Ok(None)` when Bitrix24 reports that it does not exist.
    async fn deal(&self, id: DealId) -> Result<Option<Deal>>;

    /// Reads several deals in as few requests as possible. Deals that do not
    /// exist are left out of the result.
    async fn deals(&self, ids: &[DealId]) -> Result<Vec<Deal>>;

    /// Lists deals matching `filter` with ids greater than `after`, one chunk per call.
    async fn list_deals(&self, filter: &DealFilter, after: Option<DealId>) -> Result<DealPage>;

    /// Reads every deal pipeline with its stages.
    async fn pipelines(&self) -> Result<Vec<Pipeline>>;

    /// Reads the metadata of the deal user fields.
    async fn deal_fields(&self) -> Result<Vec<FieldMeta>>;

    /// Reads one invoice; `Ok(None)` when it does not exist.
    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>>;

    /// Reads every invoice bound to the deal or, when given, billed to the contact.
    async fn invoices_of(&self, deal: DealId, contact: Option<ContactId>) -> Result<Vec<Invoice>>;

    /// Lists invoices changed at or after `since`, one chunk per call.
    async fn list_invoices(
        &self,
        since: Option<Timestamp>,
        after: Option<InvoiceId>,
    ) -> Result<InvoicePage>;

    /// Writes the login and password into the deal's credential fields.
    async fn write_credentials(
        &self,
        deal: DealId,
        login: &Login,
        password: &Password,
    ) -> Result<()>;

    /// Writes the time of the client's last login into the configured field, in
    /// Moscow time and in the field's own type.
    async fn write_last_login(&self, deal: DealId, at: Timestamp) -> Result<()>;

    /// Writes the client's referral code into the configured field.
    async fn write_referral_code(&self, deal: DealId, code: &ReferralCode) -> Result<()>;

    /// Adds a file to a file field of the deal, keeping the files already there.
    async fn attach_document(
        &self,
        deal: DealId,
        field: &FieldCode,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<()>;

    /// Reads several invoices; ids that do not exist are left out.
    ///
    /// The default reads them one by one; adapters batch the reads.
    async fn invoices(&self, ids: &[InvoiceId]) -> Result<Vec<Invoice>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(invoice) = self.invoice(*id).await? {
                found.push(invoice);
            }
        }
        Ok(found)
    }

    /// Reads the invoices of several deals (and their contacts, when given).
    ///
    /// The default reads deal by deal; adapters batch the reads.
    async fn invoices_of_deals(
        &self,
        deals: &[(DealId, Option<ContactId>)],
    ) -> Result<Vec<Invoice>> {
        let mut found = Vec::new();
        for (deal, contact) in deals {
            found.extend(self.invoices_of(*deal, *contact).await?);
        }
        found.sort_by_key(|invoice| invoice.id);
        found.dedup_by_key(|invoice| invoice.id);
        Ok(found)
    }

    /// Applies several field writes, returning one result per write in order.
    ///
    /// The default performs them one by one; adapters send them in batches.
    /// A failed write does not stop the others.
    async fn apply_field_writes(&self, writes: &[FieldWrite]) -> Vec<Result<()>> {
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            let result = match write {
                FieldWrite::Credentials {
                    deal,
                    login,
                    password,
                } => self.write_credentials(*deal, login, password).await,
                FieldWrite::LastLogin { deal, at } => self.write_last_login(*deal, *at).await,
                FieldWrite::ReferralCode { deal, code } => {
                    self.write_referral_code(*deal, code).await
                }
            };
            results.push(result);
        }
        results
    }
}

/// A write of deal fields that [`Crm::apply_field_writes`] can batch.
#[derive(Clone, Debug)]
pub enum FieldWrite {
    /// The login and password fields.
    Credentials {
        /// The deal.
        deal: DealId,
        /// The login.
        login: Login,
        /// The plain password.
        password: Password,
    },
    /// The last-login field.
    LastLogin {
        /// The deal.
        deal: DealId,
        /// When the client logged in.
        at: Timestamp,
    },
    /// The referral-code field.
    ReferralCode {
        /// The deal.
        deal: DealId,
        /// The code.
        code: ReferralCode,
    },
}

impl FieldWrite {
    /// Returns the deal the write goes to.
    pub fn deal(&self) -> DealId {
        match self {
            FieldWrite::Credentials { deal, .. }
            | FieldWrite::LastLogin { deal, .. }
            | FieldWrite::ReferralCode { deal, .. } => *deal,
        }
    }
}
