//! Taking fresh deal snapshots into the store: the step shared by the inbox
//! pass and the resync.

use std::collections::BTreeSet;

use tracing::{debug, info};

use super::SyncEngine;
use crate::deal::Deal;
use crate::error::Result;
use crate::ids::{ContactId, DealId};
use crate::provisioning::ProvisionOutcome;

/// The result of taking in a batch of deals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AbsorbReport {
    /// Snapshots stored or replaced.
    pub refreshed: u64,
    /// Accounts created.
    pub provisioned: u64,
    /// Deals the cabinet skips: no account and no trigger.
    pub ignored: u64,
}

impl SyncEngine {
    /// Stores each deal that has an account, provisions each deal whose
    /// trigger is set, and loads the invoices of deals stored for the first time.
    ///
    /// A deal's first snapshot is stored only after its invoices are loaded.
    /// When the invoice read fails after the account was created, the deal
    /// has an account but no snapshot, so the repeated pass loads them again
    /// instead of treating the deal as known.
    pub(crate) async fn absorb_deals(&self, deals: Vec<Deal>) -> Result<AbsorbReport> {
        let mut report = AbsorbReport::default();
        let mut first_snapshots = Vec::new();

        for deal in deals {
            if self.store.account_by_deal(deal.id).await?.is_none() {
                match self.provisioner.provision(&deal).await? {
                    ProvisionOutcome::NotTriggered => {
                        debug!(deal.id = %deal.id, "deal has no account and no trigger");
                        report.ignored += 1;
                        continue;
                    }
                    ProvisionOutcome::Created { .. } => {
                        info!(deal.id = %deal.id, "account provisioned");
                        report.provisioned += 1;
                    }
                    ProvisionOutcome::AlreadyExists { .. } => {}
                }
            }

            if self.store.deal(deal.id).await?.is_some() {
                self.store.save_deal(&deal).await?;
                report.refreshed += 1;
            } else {
                first_snapshots.push(deal);
            }
        }

        let owners: Vec<(DealId, Option<ContactId>)> = first_snapshots
            .iter()
            .map(|deal| (deal.id, self.invoice_contact(deal.contact_id)))
            .collect();
        self.load_invoices_of(&owners).await?;
        for deal in &first_snapshots {
            self.store.save_deal(deal).await?;
            report.refreshed += 1;
        }
        Ok(report)
    }

    /// Removes the snapshots of deals Bitrix24 no longer has.
    pub(crate) async fn forget_deals(&self, ids: &BTreeSet<DealId>) -> Result<()> {
        for id in ids {
            self.store.delete_deal(*id).await?;
            info!(deal.id = %id, "deal deleted in Bitrix24; snapshot removed");
        }
        Ok(())
    }

    /// Replaces the stored invoices of each deal with what Bitrix24 has now.
    pub(crate) async fn load_invoices_of(
        &self,
        deals: &[(DealId, Option<ContactId>)],
    ) -> Result<()> {
        if deals.is_empty() {
            return Ok(());
        }

        let invoices = self.crm.invoices_of_deals(deals).await?;
        for (deal, contact) in deals {
            let own: Vec<_> = invoices
                .iter()
                .filter(|invoice| {
                    invoice.deal_id == Some(*deal)
                        || (contact.is_some() && invoice.contact_id == *contact)
                })
                .cloned()
                .collect();
            self.store
                .replace_invoices_of(*deal, *contact, &own)
                .await?;
        }
        Ok(())
    }

    /// Returns the contact whose invoices count for a deal, per the settings.
    pub(crate) fn invoice_contact(&self, contact: Option<ContactId>) -> Option<ContactId> {
        contact.filter(|_| self.settings.include_contact_invoices)
    }
}
