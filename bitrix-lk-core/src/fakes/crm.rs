//! [`FakeCrm`]: the [`Crm`] port over in-memory deals.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;

use crate::account::{Login, ReferralCode};
use crate::config::FieldsConfig;
use crate::crm::{Crm, DealFilter, DealPage, InvoicePage};
use crate::deal::Deal;
use crate::error::{Error, Result};
use crate::field::{FieldMeta, FieldValue, FileRef};
use crate::ids::{ContactId, DealId, FieldCode, FileId, InvoiceId};
use crate::invoice::Invoice;
use crate::pipeline::Pipeline;
use crate::sync::Password;

/// The default number of deals or invoices per listing chunk, as in Bitrix24.
const DEFAULT_PAGE_SIZE: usize = 50;

/// The kind of an injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrmFailure {
    /// [`Error::CrmUnavailable`]: Bitrix24 is down or rate-limits; retrying may help.
    Unavailable,
    /// [`Error::CrmRejected`]: Bitrix24 refused the request; retrying will not help.
    Rejected,
}

/// A write the fake received, for assertions.
#[derive(Clone, PartialEq, Eq)]
pub enum CrmWrite {
    /// [`Crm::write_credentials`].
    Credentials {
        /// The deal.
        deal: DealId,
        /// The login written.
        login: Login,
        /// The password written; `Debug` hides it.
        password: String,
    },
    /// [`Crm::write_last_login`].
    LastLogin {
        /// The deal.
        deal: DealId,
        /// The login time written.
        at: Timestamp,
    },
    /// [`Crm::write_referral_code`].
    ReferralCode {
        /// The deal.
        deal: DealId,
        /// The code written.
        code: ReferralCode,
    },
    /// [`Crm::attach_document`].
    Document {
        /// The deal.
        deal: DealId,
        /// The file field.
        field: FieldCode,
        /// The file name.
        file_name: String,
        /// The file contents; `Debug` shows only the length.
        bytes: Vec<u8>,
    },
}

impl fmt::Debug for CrmWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrmWrite::Credentials { deal, login, .. } => f
                .debug_struct("Credentials")
                .field("deal", deal)
                .field("login", login)
                .finish_non_exhaustive(),
            CrmWrite::LastLogin { deal, at } => f
                .debug_struct("LastLogin")
                .field("deal", deal)
                .field("at", at)
                .finish(),
            CrmWrite::ReferralCode { deal, code } => f
                .debug_struct("ReferralCode")
                .field("deal", deal)
                .field("code", code)
                .finish(),
            CrmWrite::Document {
                deal,
                field,
                file_name,
                bytes,
            } => f
                .debug_struct("Document")
                .field("deal", deal)
                .field("field", field)
                .field("file_name", file_name)
                .field("len", &bytes.len())
                .finish(),
        }
    }
}

/// A [`Crm`] over in-memory data, standing in for Bitrix24 in tests.
///
/// Writes change the stored deals as Bitrix24 would: credentials, login
/// time and referral code go into the configured fields, documents are
/// appended to their file field, and `modified_at` moves to the time of the
/// write. Every call is logged by method name ([`FakeCrm::calls`]) and every
/// successful write recorded ([`FakeCrm::writes`]).
#[derive(Debug)]
pub struct FakeCrm {
    fields: FieldsConfig,
    state: Mutex<CrmState>,
}

#[derive(Debug)]
struct CrmState {
    deals: BTreeMap<DealId, Deal>,
    pipelines: Vec<Pipeline>,
    field_meta: Vec<FieldMeta>,
    invoices: BTreeMap<InvoiceId, Invoice>,
    writes: Vec<CrmWrite>,
    calls: Vec<&'static str>,
    failure: Option<(CrmFailure, u32)>,
    page_size: usize,
    last_file_id: u64,
}

impl Default for FakeCrm {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeCrm {
    /// Creates an empty portal writing into the default field codes.
    pub fn new() -> Self {
        Self::with_fields(FieldsConfig::default())
    }

    /// Creates an empty portal writing into the given field codes.
    pub fn with_fields(fields: FieldsConfig) -> Self {
        Self {
            fields,
            state: Mutex::new(CrmState {
                deals: BTreeMap::new(),
                pipelines: Vec::new(),
                field_meta: Vec::new(),
                invoices: BTreeMap::new(),
                writes: Vec::new(),
                calls: Vec::new(),
                failure: None,
                page_size: DEFAULT_PAGE_SIZE,
                last_file_id: 10_000,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CrmState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds or replaces a deal.
    pub fn put_deal(&self, deal: Deal) {
        self.lock().deals.insert(deal.id, deal);
    }

    /// Removes a deal, as if staff deleted it.
    pub fn remove_deal(&self, id: DealId) {
        self.lock().deals.remove(&id);
    }

    /// Returns the stored deal, with every write applied.
    pub fn stored_deal(&self, id: DealId) -> Option<Deal> {
        self.lock().deals.get(&id).cloned()
    }

    /// Changes a deal in place, as staff would in the Bitrix24 UI, and moves its
    /// `modified_at` to now. Returns `false` when the deal does not exist.
    pub fn edit_deal(&self, id: DealId, edit: impl FnOnce(&mut Deal)) -> bool {
        let mut state = self.lock();
        match state.deals.get_mut(&id) {
            Some(deal) => {
                edit(deal);
                deal.modified_at = Some(Timestamp::now());
                true
            }
            None => false,
        }
    }

    /// Replaces the pipelines.
    pub fn set_pipelines(&self, pipelines: Vec<Pipeline>) {
        self.lock().pipelines = pipelines;
    }

    /// Replaces the user-field metadata.
    pub fn set_deal_fields(&self, fields: Vec<FieldMeta>) {
        self.lock().field_meta = fields;
    }

    /// Adds or replaces an invoice.
    pub fn put_invoice(&self, invoice: Invoice) {
        self.lock().invoices.insert(invoice.id, invoice);
    }

    /// Removes an invoice.
    pub fn remove_invoice(&self, id: InvoiceId) {
        self.lock().invoices.remove(&id);
    }

    /// Sets how many records one listing call returns (at least 1).
    pub fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    /// Makes the next `count` calls fail in the given way.
    pub fn fail_next(&self, count: u32, failure: CrmFailure) {
        self.lock().failure = (count > 0).then_some((failure, count));
    }

    /// Returns the successful writes, in order.
    pub fn writes(&self) -> Vec<CrmWrite> {
        self.lock().writes.clone()
    }

    /// Returns the method names of every call made, failed ones included, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.lock().calls.clone()
    }

    /// Forgets the recorded calls and writes.
    pub fn clear_log(&self) {
        let mut state = self.lock();
        state.calls.clear();
        state.writes.clear();
    }

    /// Logs a call and returns the state, or the injected failure.
    fn call(&self, method: &'static str) -> Result<MutexGuard<'_, CrmState>> {
        let mut state = self.lock();
        state.calls.push(method);

        let Some((failure, left)) = state.failure else {
            return Ok(state);
        };
        state.failure = (left > 1).then_some((failure, left - 1));
        Err(match failure {
            CrmFailure::Unavailable => Error::CrmUnavailable {
                message: format!("{method}: injected failure, portal unavailable"),
                retry_after: None,
                source: None,
            },
            CrmFailure::Rejected => Error::CrmRejected {
                message: format!("{method}: injected failure, request rejected"),
                source: None,
            },
        })
    }
}

impl CrmState {
    /// Applies a write to a deal, as `crm.deal.update` would.
    fn update_deal(&mut self, id: DealId, apply: impl FnOnce(&mut Deal)) -> Result<()> {
        let deal = self.deals.get_mut(&id).ok_or_else(|| Error::CrmRejected {
            message: format!("deal {id} not found"),
            source: None,
        })?;
        apply(deal);
        deal.modified_at = Some(Timestamp::now());
        Ok(())
    }
}

fn invoice_of(invoice: &Invoice, deal: DealId, contact: Option<ContactId>) -> bool {
    invoice.deal_id == Some(deal) || (contact.is_some() && invoice.contact_id == contact)
}

#[async_trait]
impl Crm for FakeCrm {
    async fn deal(&self, id: DealId) -> Result<Option<Deal>> {
        let state = self.call("deal")?;
        Ok(state.deals.get(&id).cloned())
    }

    async fn deals(&self, ids: &[DealId]) -> Result<Vec<Deal>> {
        let state = self.call("deals")?;
        Ok(ids
            .iter()
            .filter_map(|id| state.deals.get(id).cloned())
            .collect())
    }

    async fn list_deals(&self, filter: &DealFilter, after: Option<DealId>) -> Result<DealPage> {
        let state = self.call("list_deals")?;
        let mut matching = state.deals.values().filter(|deal| {
            after.is_none_or(|after| deal.id > after)
                && filter
                    .category
                    .is_none_or(|category| deal.category_id == category)
                && filter
                    .modified_since
                    .is_none_or(|since| deal.modified_at.is_some_and(|at| at >= since))
        });

        let deals: Vec<Deal> = matching.by_ref().take(state.page_size).cloned().collect();
        let next_after = match matching.next() {
            Some(_) => deals.last().map(|deal| deal.id),
            None => None,
        };
        Ok(DealPage { deals, next_after })
    }

    async fn pipelines(&self) -> Result<Vec<Pipeline>> {
        let state = self.call("pipelines")?;
        Ok(state.pipelines.clone())
    }

    async fn deal_fields(&self) -> Result<Vec<FieldMeta>> {
        let state = self.call("deal_fields")?;
        Ok(state.field_meta.clone())
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>> {
        let state = self.call("invoice")?;
        Ok(state.invoices.get(&id).cloned())
    }

    async fn invoices_of(&self, deal: DealId, contact: Option<ContactId>) -> Result<Vec<Invoice>> {
        let state = self.call("invoices_of")?;
        Ok(state
            .invoices
            .values()
            .filter(|invoice| invoice_of(invoice, deal, contact))
            .cloned()
            .collect())
    }

    async fn list_invoices(
        &self,
        since: Option<Timestamp>,
        after: Option<InvoiceId>,
    ) -> Result<InvoicePage> {
        let state = self.call("list_invoices")?;
        let mut matching = state.invoices.values().filter(|invoice| {
            after.is_none_or(|after| invoice.id > after)
                && since.is_none_or(|since| invoice.updated_at.is_some_and(|at| at >= since))
        });

        let invoices: Vec<Invoice> = matching.by_ref().take(state.page_size).cloned().collect();
        let next_after = match matching.next() {
            Some(_) => invoices.last().map(|invoice| invoice.id),
            None => None,
        };
        Ok(InvoicePage {
            invoices,
            next_after,
        })
    }

    async fn write_credentials(
        &self,
        deal: DealId,
        login: &Login,
        password: &Password,
    ) -> Result<()> {
        let mut state = self.call("write_credentials")?;
        state.update_deal(deal, |stored| {
            stored.fields.insert(
                self.fields.login.clone(),
                FieldValue::Text(login.to_string()),
            );
            stored.fields.insert(
                self.fields.password.clone(),
                FieldValue::Text(password.expose().to_owned()),
            );
        })?;
        state.writes.push(CrmWrite::Credentials {
            deal,
            login: login.clone(),
            password: password.expose().to_owned(),
        });
        Ok(())
    }

    async fn write_last_login(&self, deal: DealId, at: Timestamp) -> Result<()> {
        let mut state = self.call("write_last_login")?;
        state.update_deal(deal, |stored| {
            stored
                .fields
                .insert(self.fields.last_login.clone(), FieldValue::DateTime(at));
        })?;
        state.writes.push(CrmWrite::LastLogin { deal, at });
        Ok(())
    }

    async fn write_referral_code(&self, deal: DealId, code: &ReferralCode) -> Result<()> {
        let mut state = self.call("write_referral_code")?;
        let field = self.fields.referral_code.clone();
        state.update_deal(deal, |stored| {
            if let Some(field) = field {
                stored
                    .fields
                    .insert(field, FieldValue::Text(code.to_string()));
            }
        })?;
        state.writes.push(CrmWrite::ReferralCode {
            deal,
            code: code.clone(),
        });
        Ok(())
    }

    async fn attach_document(
        &self,
        deal: DealId,
        field: &FieldCode,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let mut state = self.call("attach_document")?;
        state.last_file_id += 1;
        let file = FileRef {
            id: FileId(state.last_file_id),
            name: Some(file_name.to_owned()),
        };
        state.update_deal(deal, |stored| {
            let value = stored
                .fields
                .entry(field.clone())
                .or_insert(FieldValue::Empty);
            let mut files = match std::mem::replace(value, FieldValue::Empty) {
                FieldValue::Files(files) => files,
                _ => Vec::new(),
            };
            files.push(file);
            *value = FieldValue::Files(files);
        })?;
        state.writes.push(CrmWrite::Document {
            deal,
            field: field.clone(),
            file_name: file_name.to_owned(),
            bytes: bytes.to_vec(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
