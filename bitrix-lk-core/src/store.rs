//! The `Store` port: the cabinet's own durable state.
//!
//! [`sqlite::SqliteStore`] implements it on one SQLite file;
//! [`crate::fakes::MemoryStore`] keeps everything in memory for tests. The
//! trait uses no SQLite types, so a PostgreSQL implementation can follow.

pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::account::{Account, Login, PasswordHash};
use crate::config::InvoiceLinkage;
use crate::deal::Deal;
use crate::error::Result;
use crate::ids::{CategoryId, ContactId, DealId, FieldCode, InboxId, InvoiceId, OutboxId, SpoolId};
use crate::invoice::Invoice;
use crate::pipeline::Pipeline;
use crate::session::{Session, SessionId};
use crate::sync::{ChangeNotice, InboxEvent, OutboxItem, OutboxState, SpooledFile, WriteBack};

/// The result of [`Store::create_account`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateAccount {
    /// The account was created and its write-backs queued.
    Created,
    /// The deal already had an account; nothing was changed.
    AlreadyExists(Account),
}

/// A file to put into the upload spool.
#[derive(Clone)]
pub struct NewSpooledFile {
    /// The deal the file goes to.
    pub deal_id: DealId,
    /// The file field it goes into.
    pub field: FieldCode,
    /// The sanitised file name.
    pub file_name: String,
    /// The detected content type.
    pub content_type: String,
    /// The file contents.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NewSpooledFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSpooledFile")
            .field("deal_id", &self.deal_id)
            .field("field", &self.field)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Everything a logged-in client's page shows, as [`Store::client_case`]
/// reads it.
#[derive(Clone, Debug)]
pub struct ClientCase {
    /// The session the request came with.
    pub session: Session,
    /// The session's account; `None` when it was removed after the login.
    pub account: Option<Account>,
    /// The deal snapshot; `None` when the deal was deleted in Bitrix24 or
    /// has not been read yet.
    pub deal: Option<Deal>,
    /// Every cached pipeline.
    pub pipelines: Arc<[Pipeline]>,
    /// The invoices of the deal and, with [`InvoiceLinkage::DealAndContact`],
    /// of its contact. Empty without a deal snapshot.
    pub invoices: Vec<Invoice>,
}

/// Counts shown by `lk-cli events list` and health checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Inbox events not processed yet.
    pub inbox_pending: u64,
    /// Outbox writes waiting for an attempt.
    pub outbox_pending: u64,
    /// Outbox writes parked after repeated or permanent failures.
    pub outbox_parked: u64,
    /// Uploaded files Bitrix24 does not have yet.
    pub spooled_files: u64,
}

/// The cabinet's durable state.
///
/// Methods that change several records do it in one transaction, so a crash
/// never leaves half of a change behind.
#[async_trait]
pub trait Store: Send + Sync {
    // --- accounts ---

    /// Creates the deal's account and queues its write-backs, unless the deal
    /// already has one. Fails with [`crate::Error::Conflict`] when the login or
    /// referral code is taken by another deal.
    async fn create_account(
        &self,
        account: &Account,
        writes: &[WriteBack],
    ) -> Result<CreateAccount>;

    /// Returns the account of a deal.
    async fn account_by_deal(&self, deal: DealId) -> Result<Option<Account>>;

    /// Returns the account with this login.
    async fn account_by_login(&self, login: &Login) -> Result<Option<Account>>;

    /// Returns every account, ordered by deal id.
    async fn accounts(&self) -> Result<Vec<Account>>;

    /// Replaces the password hash, ends the deal's sessions and queues the
    /// write-backs, in one transaction.
    async fn set_password(
        &self,
        deal: DealId,
        hash: &PasswordHash,
        at: Timestamp,
        writes: &[WriteBack],
    ) -> Result<()>;

    /// Records a successful login and queues its write-backs.
    async fn record_login(&self, deal: DealId, at: Timestamp, writes: &[WriteBack]) -> Result<()>;

    // --- deal snapshots, invoices, pipelines ---

    /// Inserts or replaces a deal snapshot.
    async fn save_deal(&self, deal: &Deal) -> Result<()>;

    /// Returns a deal snapshot.
    async fn deal(&self, id: DealId) -> Result<Option<Deal>>;

    /// Removes a deal snapshot (the deal was deleted in Bitrix24). The account stays.
    async fn delete_deal(&self, id: DealId) -> Result<()>;

    /// Returns the ids of every stored deal snapshot.
    async fn deal_ids(&self) -> Result<Vec<DealId>>;

    /// Inserts or replaces an invoice snapshot.
    async fn save_invoice(&self, invoice: &Invoice) -> Result<()>;

    /// Removes an invoice snapshot.
    async fn delete_invoice(&self, id: InvoiceId) -> Result<()>;

    /// Replaces every stored invoice of the deal (and contact) with `invoices`.
    async fn replace_invoices_of(
        &self,
        deal: DealId,
        contact: Option<ContactId>,
        invoices: &[Invoice],
    ) -> Result<()>;

    /// Returns the invoices bound to the deal or, when given, billed to the contact.
    async fn invoices_of(&self, deal: DealId, contact: Option<ContactId>) -> Result<Vec<Invoice>>;

    /// Replaces the cached pipelines and stages.
    async fn save_pipelines(&self, pipelines: &[Pipeline]) -> Result<()>;

    /// Returns one cached pipeline.
    async fn pipeline(&self, id: CategoryId) -> Result<Option<Pipeline>>;

    /// Returns every cached pipeline.
    async fn pipelines(&self) -> Result<Vec<Pipeline>>;

    /// Returns everything the page of the client with this session shows, or
    /// `None` when the session does not exist or has expired at `now`.
    ///
    /// The default reads through the other methods, one call each. Stores that
    /// can read it all at once, from one snapshot, should: every client page
    /// starts with this call.
    async fn client_case(
        &self,
        session: &SessionId,
        now: Timestamp,
        linkage: InvoiceLinkage,
    ) -> Result<Option<ClientCase>> {
        let Some(session) = self.session(session, now).await? else {
            return Ok(None);
        };
        let account = self.account_by_deal(session.deal_id).await?;
        let deal = self.deal(session.deal_id).await?;
        let pipelines = self.pipelines().await?.into();

        let invoices = match &deal {
            Some(deal) => {
                let contact = linkage.contact_of(deal);
                self.invoices_of(deal.id, contact).await?
            }
            None => Vec::new(),
        };
        Ok(Some(ClientCase {
            session,
            account,
            deal,
            pipelines,
            invoices,
        }))
    }

    // --- sessions ---

    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> Result<()>;

    /// Returns a session that has not expired at `now`.
    async fn session(&self, id: &SessionId, now: Timestamp) -> Result<Option<Session>>;

    /// Ends one session.
    async fn delete_session(&self, id: &SessionId) -> Result<()>;

    /// Removes sessions that expired before `now`; returns how many.
    async fn purge_sessions(&self, now: Timestamp) -> Result<u64>;

    // --- event inbox ---

    /// Stores an incoming event durably; returns its inbox id.
    async fn inbox_push(
        &self,
        notice: ChangeNotice,
        event_name: &str,
        sent_at: Option<Timestamp>,
        received_at: Timestamp,
    ) -> Result<InboxId>;

    /// Returns up to `limit` unprocessed events, oldest first.
    async fn inbox_pending(&self, limit: usize) -> Result<Vec<InboxEvent>>;

    /// Marks events processed.
    async fn inbox_done(&self, ids: &[InboxId]) -> Result<()>;

    /// Records a failed processing attempt; the events stay pending.
    async fn inbox_failed(&self, ids: &[InboxId], error: &str) -> Result<()>;

    // --- write-back outbox ---

    /// Queues a write to Bitrix24, due at once.
    async fn outbox_push(&self, write: &WriteBack, now: Timestamp) -> Result<OutboxId>;

    /// Returns up to `limit` pending writes due at `now`, oldest first.
    async fn outbox_due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxItem>>;

    /// Marks a write done and forgets any password it carried.
    async fn outbox_done(&self, id: OutboxId) -> Result<()>;

    /// Records a failed attempt and when to try again.
    async fn outbox_retry(
        &self,
        id: OutboxId,
        error: &str,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<()>;

    /// Parks a write that cannot succeed, keeping its error for an administrator.
    async fn outbox_park(&self, id: OutboxId, error: &str) -> Result<()>;

    /// Returns outbox records in one state (or all), newest first.
    async fn outbox_list(
        &self,
        state: Option<OutboxState>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>>;

    /// Makes parked writes pending again, due at `now`; returns how many.
    async fn outbox_requeue_parked(&self, now: Timestamp) -> Result<u64>;

    // --- upload spool ---

    /// Stores an uploaded file and queues its write to Bitrix24, in one transaction.
    async fn spool_document(&self, file: &NewSpooledFile, now: Timestamp) -> Result<SpoolId>;

    /// Returns a spooled file.
    async fn spooled_file(&self, id: SpoolId) -> Result<Option<SpooledFile>>;

    /// Deletes a spooled file once Bitrix24 has it.
    async fn delete_spooled_file(&self, id: SpoolId) -> Result<()>;

    /// Returns the fields of a deal that have uploads Bitrix24 does not have yet,
    /// each once, so the documents page can show them as on their way.
    async fn spooled_fields_of(&self, deal: DealId) -> Result<Vec<FieldCode>>;

    // --- login throttling ---

    /// Records a failed login for `key` (a login or an address) and returns the
    /// number of failures for it within `window` before `now`, this one included.
    async fn throttle_record_failure(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<u32>;

    /// Returns the number of failures for `key` within `window` before `now`.
    async fn throttle_failures(&self, key: &str, now: Timestamp, window: Duration) -> Result<u32>;

    /// Forgets the failures of `key` (after a successful login).
    async fn throttle_clear(&self, key: &str) -> Result<()>;

    // --- small named values: sync watermarks, cached field metadata ---

    /// Returns a stored value.
    async fn get_value(&self, key: &str) -> Result<Option<String>>;

    /// Stores a value.
    async fn set_value(&self, key: &str, value: &str) -> Result<()>;

    /// Returns queue sizes.
    async fn queue_stats(&self) -> Result<QueueStats>;
}
