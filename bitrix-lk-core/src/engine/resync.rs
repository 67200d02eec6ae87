//! The periodic resync: the safety net under lost events.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use tracing::info;

use super::SyncEngine;
use crate::crm::DealFilter;
use crate::error::{Error, Result};
use crate::ids::{ContactId, DealId};
use crate::invoice::Invoice;

/// Store key of the instant the last complete resync started.
const WATERMARK_KEY: &str = "sync.watermark";

/// How much a resync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResyncMode {
    /// Deals and invoices changed since the watermark, minus the overlap.
    Incremental,
    /// Every deal and invoice, and the pipelines; snapshots of deals Bitrix24
    /// no longer has are removed.
    Full,
}

/// The result of one resync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResyncReport {
    /// Deals read from Bitrix24.
    pub deals_read: u64,
    /// Snapshots stored or replaced.
    pub deals_refreshed: u64,
    /// Accounts created.
    pub accounts_created: u64,
    /// Snapshots removed (full mode only).
    pub deals_removed: u64,
    /// Invoices read from Bitrix24.
    pub invoices_read: u64,
}

impl SyncEngine {
    /// Runs one resync. `progress` is called with the running count of deals read.
    ///
    /// The watermark moves only when the pass completes, so a pass cut short by
    /// an outage is repeated from the same point.
    pub async fn resync(
        &self,
        mode: ResyncMode,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ResyncReport> {
        let started = self.clock.now();
        let since = match mode {
            ResyncMode::Full => None,
            ResyncMode::Incremental => self.watermark().await?.map(|mark| self.with_overlap(mark)),
        };
        info!(?mode, since = ?since, "resync started");

        if mode == ResyncMode::Full || since.is_none() {
            self.refresh_pipelines().await?;
        }
        let mut report = self.resync_deals(since, progress).await?;
        report.invoices_read = self.resync_invoices(since).await?;

        self.store
            .set_value(WATERMARK_KEY, &started.to_string())
            .await?;
        info!(
            ?mode,
            deals = report.deals_read,
            accounts_created = report.accounts_created,
            "resync done"
        );
        Ok(report)
    }

    /// Reads every pipeline with its stages into the stage cache.
    pub async fn refresh_pipelines(&self) -> Result<()> {
        let pipelines = self.crm.pipelines().await?;
        self.store.save_pipelines(&pipelines).await
    }

    async fn resync_deals(
        &self,
        since: Option<Timestamp>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ResyncReport> {
        let filter = DealFilter {
            modified_since: since,
            category: None,
        };
        let mut report = ResyncReport::default();
        let mut seen = BTreeSet::new();
        let mut after = None;

        loop {
            let page = self.crm.list_deals(&filter, after).await?;
            report.deals_read += page.deals.len() as u64;
            seen.extend(page.deals.iter().map(|deal| deal.id));

            let absorbed = self.absorb_deals(page.deals).await?;
            report.deals_refreshed += absorbed.refreshed;
            report.accounts_created += absorbed.provisioned;
            progress(report.deals_read);

            match page.next_after {
                Some(next) if Some(next) != after => after = Some(next),
                Some(_) => return Err(stalled_listing()),
                None => break,
            }
        }

        if since.is_none() {
            let gone: BTreeSet<DealId> = self
                .store
                .deal_ids()
                .await?
                .into_iter()
                .filter(|id| !seen.contains(id))
                .collect();
            self.forget_deals(&gone).await?;
            report.deals_removed = gone.len() as u64;
        }
        Ok(report)
    }

    /// Reads invoices changed since `since` (all when `None`) and stores ours.
    /// A full pass also replaces each client's stored invoices, dropping the
    /// ones Bitrix24 no longer has.
    async fn resync_invoices(&self, since: Option<Timestamp>) -> Result<u64> {
        let mut read = 0;
        let mut ours = Vec::new();
        let mut after = None;

        loop {
            let page = self.crm.list_invoices(since, after).await?;
            read += page.invoices.len() as u64;
            for invoice in page.invoices {
                if self.is_our_invoice(&invoice).await? {
                    ours.push(invoice);
                }
            }
            match page.next_after {
                Some(next) if Some(next) != after => after = Some(next),
                Some(_) => return Err(stalled_listing()),
                None => break,
            }
        }

        if since.is_some() {
            for invoice in &ours {
                self.store.save_invoice(invoice).await?;
            }
        } else {
            self.replace_all_invoices(ours).await?;
        }
        Ok(read)
    }

    async fn replace_all_invoices(&self, invoices: Vec<Invoice>) -> Result<()> {
        let mut by_deal: BTreeMap<DealId, Vec<Invoice>> = BTreeMap::new();
        let mut contact_of: BTreeMap<DealId, Option<ContactId>> = BTreeMap::new();
        let mut deals_of_contact: BTreeMap<ContactId, Vec<DealId>> = BTreeMap::new();
        for account in self.store.accounts().await? {
            let deal = account.deal_id;
            let contact = self
                .store
                .deal(deal)
                .await?
                .and_then(|snapshot| snapshot.contact_id);
            let contact = self.invoice_contact(contact);
            by_deal.entry(deal).or_default();
            contact_of.insert(deal, contact);
            if let Some(contact) = contact {
                deals_of_contact.entry(contact).or_default().push(deal);
            }
        }

        for invoice in invoices {
            let mut owners: BTreeSet<DealId> = BTreeSet::new();
            if let Some(deal) = invoice.deal_id.filter(|deal| by_deal.contains_key(deal)) {
                owners.insert(deal);
            }
            if let Some(deals) = invoice.contact_id.and_then(|c| deals_of_contact.get(&c)) {
                owners.extend(deals.iter().copied());
            }
            for owner in owners {
                by_deal.entry(owner).or_default().push(invoice.clone());
            }
        }

        for (deal, own) in by_deal {
            let contact = contact_of.get(&deal).copied().flatten();
            self.store.replace_invoices_of(deal, contact, &own).await?;
        }
        Ok(())
    }

    async fn watermark(&self) -> Result<Option<Timestamp>> {
        let Some(text) = self.store.get_value(WATERMARK_KEY).await? else {
            return Ok(None);
        };
        text.parse().map(Some).map_err(|_| Error::NotFound {
            what: format!("a valid sync watermark (stored value {text:?})"),
        })
    }

    fn with_overlap(&self, mark: Timestamp) -> Timestamp {
        let overlap =
            SignedDuration::try_from(self.settings.overlap).unwrap_or(SignedDuration::ZERO);
        mark.checked_sub(overlap).unwrap_or(mark)
    }
}

fn stalled_listing() -> Error {
    Error::CrmRejected {
        message: "a listing returned the same cursor twice; refusing to loop".to_owned(),
        source: None,
    }
}
