//! The adapter between the cabinet's core and Bitrix24: [`LkCrm`] implements
//! [`bitrix_lk_core::Crm`] over this crate's client.
//!
//! Reads use as few requests as the portal allows: 50 deals per page, up to
//! 50 pages per `batch`, one `batch` for several deals' invoices. Field values
//! are decoded by the portal's own field metadata (cached for ten minutes).
//! Writes go through the legacy `crm.deal.update`, which clears fields that
//! `crm.item.update` cannot; files go through `crm.item.update`, which keeps
//! existing files when they are listed.
//!
//! Errors become [`bitrix_lk_core::Error::CrmUnavailable`] when a later try
//! may succeed (rate and time limits, 5xx, timeouts, inconsistent paging) and
//! [`bitrix_lk_core::Error::CrmRejected`] otherwise; "not found" is `Ok(None)`.

mod deals;
mod errors;
mod invoices;
mod mapping;
mod metadata;
mod writes;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bitrix_lk_core::{
    ChangeNotice, ContactId, Crm, Deal, DealFilter, DealId, DealPage, Error as CoreError,
    FieldCode, FieldMeta, FieldWrite, Invoice, InvoiceId, InvoicePage, LkConfig, Login, Password,
    Pipeline, ReferralCode, Result as CoreResult,
};
use jiff::Timestamp;
use secrecy::ExposeSecret;

use crate::client::Client;
use crate::entity::EntityType;
use crate::event::{Action, Event, EventKind, EventVerifier};
use crate::limiter::RateLimit;

use metadata::Metadata;

/// The Bitrix24 side of the cabinet: the [`Crm`] port over a [`Client`].
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use bitrix_lk_core::{Crm, DealId, LkConfig};
/// use bitrix24_client::lk::LkCrm;
///
/// let config = Arc::new(LkConfig::load("lk.toml".as_ref())?);
/// let crm = LkCrm::from_config(config)?;
/// if let Some(deal) = crm.deal(DealId(410)).await? {
///     println!("deal {} is in stage {}", deal.id, deal.stage_id);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LkCrm {
    client: Client,
    config: Arc<LkConfig>,
    metadata: Arc<Metadata>,
}

impl LkCrm {
    /// Creates the adapter over an existing client.
    pub fn new(client: Client, config: Arc<LkConfig>) -> Self {
        Self {
            client,
            config,
            metadata: Arc::new(Metadata::default()),
        }
    }

    /// Creates the client from `[bitrix24]` (webhook URL, rate limit, timeout) and the adapter over it.
    ///
    /// Fails with a configuration error naming `bitrix24.webhook_url` when the
    /// URL is missing or not a webhook URL.
    pub fn from_config(config: Arc<LkConfig>) -> CoreResult<Self> {
        let settings = &config.bitrix24;
        let url = settings.require_webhook_url()?;
        let client = Client::builder(url.expose_secret())
            .rate_limit(RateLimit {
                per_second: f64::from(settings.requests_per_second.max(1)),
                burst: settings.burst.max(1),
            })
            .timeout(settings.timeout())
            .build()
            .map_err(|error| CoreError::ConfigValue {
                key: "bitrix24.webhook_url".to_owned(),
                expected: error.to_string(),
            })?;
        Ok(Self::new(client, config))
    }

    /// Returns the client, for calls the port does not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Returns the configuration the adapter maps fields with.
    pub fn config(&self) -> &LkConfig {
        &self.config
    }

    /// Returns every deal field code the adapter decodes: `[fields]` and the documents.
    fn field_codes(&self) -> Vec<FieldCode> {
        let mut codes: Vec<FieldCode> = self
            .config
            .fields
            .named()
            .into_iter()
            .map(|(_, code)| code.clone())
            .collect();
        codes.extend(
            self.config
                .documents
                .iter()
                .map(|document| document.field.clone()),
        );
        codes.sort();
        codes.dedup();
        codes
    }
}

impl fmt::Debug for LkCrm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LkCrm")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// Builds the verifier for `[bitrix24]`: its application tokens and, when
/// set, its portal domain.
pub fn event_verifier(config: &LkConfig) -> CoreResult<EventVerifier> {
    let tokens = config.bitrix24.require_application_tokens()?;
    let verifier = EventVerifier::new(tokens.iter().map(|token| token.expose_secret().to_owned()));
    Ok(match config.bitrix24.portal_domain() {
        Some(domain) => verifier.with_domains([domain]),
        None => verifier,
    })
}

/// Says what changed according to an event, or `None` for events the cabinet ignores
/// (contacts, smart processes other than invoices, and unknown events).
pub fn change_notice(event: &Event) -> Option<ChangeNotice> {
    match event.kind {
        EventKind::Deal {
            action: Action::Delete,
            id,
        } => Some(ChangeNotice::DealDeleted { deal_id: id }),
        EventKind::Deal { id, .. } => Some(ChangeNotice::DealChanged { deal_id: id }),
        EventKind::LegacyInvoice { action, id } => {
            Some(invoice_notice(action, InvoiceId::legacy(id)))
        }
        EventKind::Item {
            action,
            entity_type: EntityType::SmartInvoice,
            id,
        } => Some(invoice_notice(action, InvoiceId::smart(id))),
        EventKind::Item { .. } | EventKind::Other => None,
    }
}

fn invoice_notice(action: Action, invoice_id: InvoiceId) -> ChangeNotice {
    match action {
        Action::Delete => ChangeNotice::InvoiceDeleted { invoice_id },
        _ => ChangeNotice::InvoiceChanged { invoice_id },
    }
}

#[async_trait]
impl Crm for LkCrm {
    async fn deal(&self, id: DealId) -> CoreResult<Option<Deal>> {
        self.read_deal(id).await
    }

    async fn deals(&self, ids: &[DealId]) -> CoreResult<Vec<Deal>> {
        self.read_deals(ids).await
    }

    async fn list_deals(&self, filter: &DealFilter, after: Option<DealId>) -> CoreResult<DealPage> {
        self.list_deal_chunk(filter, after).await
    }

    async fn pipelines(&self) -> CoreResult<Vec<Pipeline>> {
        self.read_pipelines().await
    }

    async fn deal_fields(&self) -> CoreResult<Vec<FieldMeta>> {
        self.read_deal_fields().await
    }

    async fn invoice(&self, id: InvoiceId) -> CoreResult<Option<Invoice>> {
        self.read_invoice(id).await
    }

    async fn invoices(&self, ids: &[InvoiceId]) -> CoreResult<Vec<Invoice>> {
        self.read_invoices(ids).await
    }

    async fn invoices_of(
        &self,
        deal: DealId,
        contact: Option<ContactId>,
    ) -> CoreResult<Vec<Invoice>> {
        self.read_invoices_of(&[(deal, contact)]).await
    }

    async fn invoices_of_deals(
        &self,
        deals: &[(DealId, Option<ContactId>)],
    ) -> CoreResult<Vec<Invoice>> {
        self.read_invoices_of(deals).await
    }

    async fn list_invoices(
        &self,
        since: Option<Timestamp>,
        after: Option<InvoiceId>,
    ) -> CoreResult<InvoicePage> {
        self.list_invoice_chunk(since, after).await
    }

    async fn write_credentials(
        &self,
        deal: DealId,
        login: &Login,
        password: &Password,
    ) -> CoreResult<()> {
        let write = FieldWrite::Credentials {
            deal,
            login: login.clone(),
            password: password.clone(),
        };
        self.write_one(&write).await
    }

    async fn write_last_login(&self, deal: DealId, at: Timestamp) -> CoreResult<()> {
        self.write_one(&FieldWrite::LastLogin { deal, at }).await
    }

    async fn write_referral_code(&self, deal: DealId, code: &ReferralCode) -> CoreResult<()> {
        let write = FieldWrite::ReferralCode {
            deal,
            code: code.clone(),
        };
        self.write_one(&write).await
    }

    async fn apply_field_writes(&self, writes: &[FieldWrite]) -> Vec<CoreResult<()>> {
        self.write_many(writes).await
    }

    async fn attach_document(
        &self,
        deal: DealId,
        field: &FieldCode,
        file_name: &str,
        bytes: &[u8],
    ) -> CoreResult<()> {
        self.attach(deal, field, file_name, bytes).await
    }
}
