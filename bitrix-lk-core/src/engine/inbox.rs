//! Draining the event inbox.

use std::collections::BTreeSet;

use tracing::{debug, warn};

use super::SyncEngine;
use crate::error::Result;
use crate::ids::{DealId, InboxId, InvoiceId};
use crate::sync::{ChangeNotice, InboxEvent};

/// The result of one inbox pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxReport {
    /// Events taken from the inbox.
    pub events: u64,
    /// Distinct deals read from Bitrix24.
    pub deals_read: u64,
    /// Snapshots stored or replaced.
    pub deals_refreshed: u64,
    /// Accounts created.
    pub accounts_created: u64,
    /// Deal snapshots removed because the deal is gone.
    pub deals_removed: u64,
    /// Invoices stored or removed.
    pub invoices_changed: u64,
}

/// The events of one pass, coalesced: each deal and invoice once.
#[derive(Debug, Default)]
struct Coalesced {
    ids: Vec<InboxId>,
    deals: BTreeSet<DealId>,
    invoices: BTreeSet<InvoiceId>,
}

impl Coalesced {
    fn from_events(events: &[InboxEvent]) -> Self {
        let mut coalesced = Coalesced::default();
        for event in events {
            coalesced.ids.push(event.id);
            // A delete is checked like a change: the deal is read again, and
            // only Bitrix24's response that it is gone removes it. Events may
            // arrive out of order, so the latest state always comes from a read.
            match event.notice {
                ChangeNotice::DealChanged { deal_id } | ChangeNotice::DealDeleted { deal_id } => {
                    coalesced.deals.insert(deal_id);
                }
                ChangeNotice::InvoiceChanged { invoice_id }
                | ChangeNotice::InvoiceDeleted { invoice_id } => {
                    coalesced.invoices.insert(invoice_id);
                }
            }
        }
        coalesced
    }
}

impl SyncEngine {
    /// Processes up to one batch of pending inbox events.
    ///
    /// On a Bitrix24 failure the events stay in the inbox with the error
    /// recorded, and the next pass tries them again.
    pub async fn drain_inbox(&self) -> Result<InboxReport> {
        let events = self.store.inbox_pending(self.settings.inbox_batch).await?;
        if events.is_empty() {
            return Ok(InboxReport::default());
        }

        let coalesced = Coalesced::from_events(&events);
        match self.apply_coalesced(&coalesced).await {
            Ok(mut report) => {
                self.store.inbox_done(&coalesced.ids).await?;
                report.events = events.len() as u64;
                debug!(
                    events = report.events,
                    deals = report.deals_read,
                    "inbox pass done"
                );
                Ok(report)
            }
            Err(error) => {
                warn!(events = events.len(), error = %error, "inbox pass failed; events kept");
                self.store
                    .inbox_failed(&coalesced.ids, &error.to_string())
                    .await?;
                Err(error)
            }
        }
    }

    async fn apply_coalesced(&self, coalesced: &Coalesced) -> Result<InboxReport> {
        let mut report = InboxReport::default();

        let ids: Vec<DealId> = coalesced.deals.iter().copied().collect();
        let deals = self.crm.deals(&ids).await?;
        report.deals_read = ids.len() as u64;

        let mut gone = coalesced.deals.clone();
        for deal in &deals {
            gone.remove(&deal.id);
        }
        let absorbed = self.absorb_deals(deals).await?;
        report.deals_refreshed = absorbed.refreshed;
        report.accounts_created = absorbed.provisioned;

        let gone = self.known_deals(gone).await?;
        self.forget_deals(&gone).await?;
        report.deals_removed = gone.len() as u64;

        report.invoices_changed = self.refresh_invoices(&coalesced.invoices).await?;
        Ok(report)
    }

    /// Keeps only the deals the store has a snapshot of.
    async fn known_deals(&self, ids: BTreeSet<DealId>) -> Result<BTreeSet<DealId>> {
        let mut known = BTreeSet::new();
        for id in ids {
            if self.store.deal(id).await?.is_some() {
                known.insert(id);
            }
        }
        Ok(known)
    }

    /// Reads changed invoices and stores those of our clients; removes the
    /// ones Bitrix24 no longer has. Returns how many changed locally.
    async fn refresh_invoices(&self, ids: &BTreeSet<InvoiceId>) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }

        let list: Vec<InvoiceId> = ids.iter().copied().collect();
        let found = self.crm.invoices(&list).await?;
        let mut changed = 0;

        let mut gone = ids.clone();
        for invoice in &found {
            gone.remove(&invoice.id);
            if self.is_our_invoice(invoice).await? {
                self.store.save_invoice(invoice).await?;
                changed += 1;
            }
        }
        for id in gone {
            self.store.delete_invoice(id).await?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Returns whether an invoice belongs to a deal (or contact) with an account.
    pub(crate) async fn is_our_invoice(&self, invoice: &crate::invoice::Invoice) -> Result<bool> {
        if let Some(deal) = invoice.deal_id
            && self.store.account_by_deal(deal).await?.is_some()
        {
            return Ok(true);
        }
        if !self.settings.include_contact_invoices {
            return Ok(false);
        }
        let Some(contact) = invoice.contact_id else {
            return Ok(false);
        };
        // NOTE: with contact linkage on, each invoice scans every stored deal
        // (one read per deal); a store lookup of deals by contact would make
        // this one read when portals with many accounts use that setting.
        for id in self.store.deal_ids().await? {
            if let Some(deal) = self.store.deal(id).await?
                && deal.contact_id == Some(contact)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
