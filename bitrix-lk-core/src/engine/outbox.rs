//! Draining the write-back outbox.

use tracing::{info, warn};

use super::SyncEngine;
use crate::crm::FieldWrite;
use crate::error::{Error, Result};
use crate::ids::OutboxId;
use crate::sync::{OutboxItem, WriteBack};

/// The result of one outbox pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxReport {
    /// Writes Bitrix24 confirmed.
    pub done: u64,
    /// Writes that failed and will be tried again.
    pub retried: u64,
    /// Writes parked for an administrator.
    pub parked: u64,
}

impl SyncEngine {
    /// Performs the write-backs that are due, batching field writes.
    ///
    /// Each write ends done, scheduled for a retry with backoff, or parked
    /// with its error when it cannot succeed; none is dropped.
    pub async fn drain_outbox(&self) -> Result<OutboxReport> {
        let now = self.clock.now();
        let due = self
            .store
            .outbox_due(now, self.settings.outbox_batch)
            .await?;
        let mut report = OutboxReport::default();
        if due.is_empty() {
            return Ok(report);
        }

        let (field_items, document_items): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|item| !matches!(item.write, WriteBack::Document { .. }));

        let writes: Vec<FieldWrite> = field_items
            .iter()
            .filter_map(|item| field_write(&item.write))
            .collect();
        let results = self.crm.apply_field_writes(&writes).await;
        for (item, result) in field_items.iter().zip(results) {
            self.settle(item, result, &mut report).await?;
        }

        for item in &document_items {
            let result = self.upload_document(&item.write).await;
            self.settle(item, result, &mut report).await?;
        }
        Ok(report)
    }

    async fn upload_document(&self, write: &WriteBack) -> Result<()> {
        let WriteBack::Document {
            deal_id,
            field,
            spool_id,
        } = write
        else {
            return Ok(());
        };
        let Some(file) = self.store.spooled_file(*spool_id).await? else {
            return Err(Error::NotFound {
                what: format!("spooled file {spool_id}"),
            });
        };

        self.crm
            .attach_document(*deal_id, field, &file.file_name, &file.bytes)
            .await?;
        self.store.delete_spooled_file(*spool_id).await?;
        info!(deal.id = %deal_id, field = %field, spool.id = %spool_id, "document delivered to Bitrix24");

        self.refresh_after_upload(*deal_id).await;
        Ok(())
    }

    /// Re-reads a deal after an upload so the document's tick appears at once
    /// instead of after Bitrix24's update event. The upload already succeeded,
    /// so a failed read is only logged: the event or the resync repairs it.
    async fn refresh_after_upload(&self, deal_id: crate::ids::DealId) {
        let refreshed = match self.crm.deal(deal_id).await {
            Ok(Some(deal)) => self.store.save_deal(&deal).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = refreshed {
            warn!(deal.id = %deal_id, error = %error, "could not re-read the deal after an upload");
        }
    }

    async fn settle(
        &self,
        item: &OutboxItem,
        result: Result<()>,
        report: &mut OutboxReport,
    ) -> Result<()> {
        let deal = item.write.deal_id();
        let kind = item.write.kind_name();
        match result {
            Ok(()) => {
                self.store.outbox_done(item.id).await?;
                report.done += 1;
            }
            Err(error)
                if error.is_transient() && !self.settings.retry.exhausted(item.attempts + 1) =>
            {
                let delay = self
                    .settings
                    .retry
                    .delay_after(item.attempts + 1, retry_hint(&error));
                warn!(outbox.id = %item.id, deal.id = %deal, kind, error = %error, retry_in_s = delay.as_secs(), "write-back failed; will retry");
                self.store
                    .outbox_retry(item.id, &error.to_string(), delay, self.clock.now())
                    .await?;
                report.retried += 1;
            }
            Err(error) => {
                self.park(item.id, deal, kind, &error).await?;
                report.parked += 1;
            }
        }
        Ok(())
    }

    async fn park(
        &self,
        id: OutboxId,
        deal: crate::ids::DealId,
        kind: &str,
        error: &Error,
    ) -> Result<()> {
        tracing::error!(outbox.id = %id, deal.id = %deal, kind, error = %error, "write-back parked; run `lk-cli events retry` after fixing the cause");
        self.store.outbox_park(id, &error.to_string()).await
    }
}

fn field_write(write: &WriteBack) -> Option<FieldWrite> {
    match write {
        WriteBack::Credentials {
            deal_id,
            login,
            password,
        } => Some(FieldWrite::Credentials {
            deal: *deal_id,
            login: login.clone(),
            password: password.clone(),
        }),
        WriteBack::LastLogin { deal_id, at } => Some(FieldWrite::LastLogin {
            deal: *deal_id,
            at: *at,
        }),
        WriteBack::ReferralCode { deal_id, code } => Some(FieldWrite::ReferralCode {
            deal: *deal_id,
            code: code.clone(),
        }),
        WriteBack::Document { .. } => None,
    }
}

fn retry_hint(error: &Error) -> Option<std::time::Duration> {
    match error {
        Error::CrmUnavailable { retry_after, .. } => *retry_after,
        _ => None,
    }
}
