//! [`MemoryStore`]: the [`Store`] port in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::account::{Account, Login, PasswordHash};
use crate::deal::Deal;
use crate::error::{Error, Result};
use crate::ids::{CategoryId, ContactId, DealId, FieldCode, InboxId, InvoiceId, OutboxId, SpoolId};
use crate::invoice::Invoice;
use crate::pipeline::Pipeline;
use crate::session::{Session, SessionId};
use crate::store::{CreateAccount, NewSpooledFile, QueueStats, Store};
use crate::sync::{
    ChangeNotice, InboxEvent, OutboxItem, OutboxState, Password, SpooledFile, WriteBack,
};

/// A [`Store`] kept in memory behind one mutex, so every method is atomic.
///
/// The mutex is never held across an `await`. Besides the trait, it offers
/// helpers for assertions ([`MemoryStore::outbox_items`]) and can be made to
/// fail ([`MemoryStore::fail_next`]).
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<DealId, Account>,
    deals: BTreeMap<DealId, Deal>,
    invoices: BTreeMap<InvoiceId, Invoice>,
    pipelines: BTreeMap<CategoryId, Pipeline>,
    sessions: Vec<Session>,
    inbox: BTreeMap<InboxId, InboxRecord>,
    outbox: BTreeMap<OutboxId, OutboxItem>,
    spool: BTreeMap<SpoolId, SpooledFile>,
    throttle: HashMap<String, Vec<Timestamp>>,
    values: HashMap<String, String>,
    last_id: u64,
    failures_left: u32,
    create_conflicts_left: u32,
}

#[derive(Debug)]
struct InboxRecord {
    event: InboxEvent,
    done: bool,
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `count` calls fail with [`Error::Storage`], as a broken disk would.
    pub fn fail_next(&self, count: u32) {
        self.lock().failures_left = count;
    }

    /// Makes the next `count` calls of [`Store::create_account`] fail with
    /// [`Error::Conflict`], as if the generated login were taken.
    pub fn conflict_next_creates(&self, count: u32) {
        self.lock().create_conflicts_left = count;
    }

    /// Returns every outbox record, oldest first.
    pub fn outbox_items(&self) -> Vec<OutboxItem> {
        self.lock().outbox.values().cloned().collect()
    }

    /// Returns every inbox event, processed or not, oldest first.
    pub fn inbox_items(&self) -> Vec<InboxEvent> {
        self.lock()
            .inbox
            .values()
            .map(|record| record.event.clone())
            .collect()
    }

    /// Returns how many accounts exist.
    pub fn account_count(&self) -> usize {
        self.lock().accounts.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the state for one operation, or fails it when a failure was requested.
    fn begin(&self, operation: &'static str) -> Result<MutexGuard<'_, State>> {
        let mut state = self.lock();
        if state.failures_left > 0 {
            state.failures_left -= 1;
            return Err(Error::storage(operation, "injected storage failure"));
        }
        Ok(state)
    }
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// Queues a write due at `now`. A `LastLogin` write replaces the pending
    /// `LastLogin` write of the same deal, keeping the later time and the old
    /// record's attempts and due time, as the SQLite store does.
    fn push_write(&mut self, write: &WriteBack, now: Timestamp) -> OutboxId {
        let mut item = OutboxItem {
            id: OutboxId(0),
            write: write.clone(),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
        };
        if let WriteBack::LastLogin { deal_id, at } = write
            && let Some(previous) = self.take_pending_last_login(*deal_id)
        {
            let previous_at = match previous.write {
                WriteBack::LastLogin { at, .. } => at,
                _ => *at,
            };
            item.write = WriteBack::LastLogin {
                deal_id: *deal_id,
                at: previous_at.max(*at),
            };
            item.attempts = previous.attempts;
            item.next_attempt_at = previous.next_attempt_at;
            item.last_error = previous.last_error;
        }

        item.id = OutboxId(self.next_id());
        self.outbox.insert(item.id, item.clone());
        item.id
    }

    fn take_pending_last_login(&mut self, deal: DealId) -> Option<OutboxItem> {
        let id = self.outbox.values().rev().find_map(|item| {
            let is_last_login = matches!(
                item.write,
                WriteBack::LastLogin { deal_id, .. } if deal_id == deal
            );
            (is_last_login && item.state == OutboxState::Pending).then_some(item.id)
        })?;
        self.outbox.remove(&id)
    }

    /// Returns a record in `state`. A missing record or one in another state
    /// is not an error, as in the SQLite store, because a `LastLogin` write may
    /// have been replaced while it was being sent.
    fn outbox_item_in(&mut self, id: OutboxId, state: OutboxState) -> Option<&mut OutboxItem> {
        self.outbox.get_mut(&id).filter(|item| item.state == state)
    }

    fn account(&mut self, deal: DealId) -> Result<&mut Account> {
        self.accounts.get_mut(&deal).ok_or_else(|| Error::NotFound {
            what: format!("account of deal {deal}"),
        })
    }
}

fn belongs_to(invoice: &Invoice, deal: DealId, contact: Option<ContactId>) -> bool {
    invoice.deal_id == Some(deal) || (contact.is_some() && invoice.contact_id == contact)
}

fn later_by(now: Timestamp, delay: Duration) -> Timestamp {
    SignedDuration::try_from(delay)
        .ok()
        .and_then(|delay| now.checked_add(delay).ok())
        .unwrap_or(Timestamp::MAX)
}

fn failures_within(times: &[Timestamp], now: Timestamp, window: Duration) -> u32 {
    let since = SignedDuration::try_from(window)
        .ok()
        .and_then(|window| now.checked_sub(window).ok())
        .unwrap_or(Timestamp::MIN);
    let count = times
        .iter()
        .filter(|at| **at > since && **at <= now)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Drops the plain password of a credentials write, as a finished write must not keep it.
fn forget_password(write: &mut WriteBack) {
    if let WriteBack::Credentials { password, .. } = write {
        *password = Password::new(String::new());
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_account(
        &self,
        account: &Account,
        writes: &[WriteBack],
    ) -> Result<CreateAccount> {
        let mut state = self.begin("create_account")?;
        if let Some(existing) = state.accounts.get(&account.deal_id) {
            return Ok(CreateAccount::AlreadyExists(existing.clone()));
        }
        if state.create_conflicts_left > 0 {
            state.create_conflicts_left -= 1;
            return Err(Error::Conflict {
                what: format!("login {}", account.login),
            });
        }
        if state
            .accounts
            .values()
            .any(|other| other.login == account.login)
        {
            return Err(Error::Conflict {
                what: format!("login {}", account.login),
            });
        }
        if state
            .accounts
            .values()
            .any(|other| other.referral_code == account.referral_code)
        {
            return Err(Error::Conflict {
                what: "an account with this referral code".to_owned(),
            });
        }

        state.accounts.insert(account.deal_id, account.clone());
        for write in writes {
            state.push_write(write, account.created_at);
        }
        Ok(CreateAccount::Created)
    }

    async fn account_by_deal(&self, deal: DealId) -> Result<Option<Account>> {
        let state = self.begin("account_by_deal")?;
        Ok(state.accounts.get(&deal).cloned())
    }

    async fn account_by_login(&self, login: &Login) -> Result<Option<Account>> {
        let state = self.begin("account_by_login")?;
        Ok(state
            .accounts
            .values()
            .find(|account| &account.login == login)
            .cloned())
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        let state = self.begin("accounts")?;
        Ok(state.accounts.values().cloned().collect())
    }

    async fn set_password(
        &self,
        deal: DealId,
        hash: &PasswordHash,
        at: Timestamp,
        writes: &[WriteBack],
    ) -> Result<()> {
        let mut state = self.begin("set_password")?;
        let account = state.account(deal)?;
        account.password_hash = hash.clone();
        account.password_changed_at = at;

        state.sessions.retain(|session| session.deal_id != deal);
        for write in writes {
            state.push_write(write, at);
        }
        Ok(())
    }

    async fn record_login(&self, deal: DealId, at: Timestamp, writes: &[WriteBack]) -> Result<()> {
        let mut state = self.begin("record_login")?;
        state.account(deal)?.last_login_at = Some(at);
        for write in writes {
            state.push_write(write, at);
        }
        Ok(())
    }

    async fn save_deal(&self, deal: &Deal) -> Result<()> {
        let mut state = self.begin("save_deal")?;
        state.deals.insert(deal.id, deal.clone());
        Ok(())
    }

    async fn deal(&self, id: DealId) -> Result<Option<Deal>> {
        let state = self.begin("deal")?;
        Ok(state.deals.get(&id).cloned())
    }

    async fn delete_deal(&self, id: DealId) -> Result<()> {
        let mut state = self.begin("delete_deal")?;
        state.deals.remove(&id);
        Ok(())
    }

    async fn deal_ids(&self) -> Result<Vec<DealId>> {
        let state = self.begin("deal_ids")?;
        Ok(state.deals.keys().copied().collect())
    }

    async fn save_invoice(&self, invoice: &Invoice) -> Result<()> {
        let mut state = self.begin("save_invoice")?;
        state.invoices.insert(invoice.id, invoice.clone());
        Ok(())
    }

    async fn delete_invoice(&self, id: InvoiceId) -> Result<()> {
        let mut state = self.begin("delete_invoice")?;
        state.invoices.remove(&id);
        Ok(())
    }

    async fn replace_invoices_of(
        &self,
        deal: DealId,
        contact: Option<ContactId>,
        invoices: &[Invoice],
    ) -> Result<()> {
        let mut state = self.begin("replace_invoices_of")?;
        state
            .invoices
            .retain(|_, invoice| !belongs_to(invoice, deal, contact));
        for invoice in invoices {
            state.invoices.insert(invoice.id, invoice.clone());
        }
        Ok(())
    }

    async fn invoices_of(&self, deal: DealId, contact: Option<ContactId>) -> Result<Vec<Invoice>> {
        let state = self.begin("invoices_of")?;
        Ok(state
            .invoices
            .values()
            .filter(|invoice| belongs_to(invoice, deal, contact))
            .cloned()
            .collect())
    }

    async fn save_pipelines(&self, pipelines: &[Pipeline]) -> Result<()> {
        let mut state = self.begin("save_pipelines")?;
        state.pipelines = pipelines
            .iter()
            .map(|pipeline| (pipeline.id, pipeline.clone()))
            .collect();
        Ok(())
    }

    async fn pipeline(&self, id: CategoryId) -> Result<Option<Pipeline>> {
        let state = self.begin("pipeline")?;
        Ok(state.pipelines.get(&id).cloned())
    }

    async fn pipelines(&self) -> Result<Vec<Pipeline>> {
        let state = self.begin("pipelines")?;
        Ok(state.pipelines.values().cloned().collect())
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        let mut state = self.begin("create_session")?;
        if state.sessions.iter().any(|other| other.id == session.id) {
            return Err(Error::Conflict {
                what: "session id".to_owned(),
            });
        }
        state.sessions.push(session.clone());
        Ok(())
    }

    async fn session(&self, id: &SessionId, now: Timestamp) -> Result<Option<Session>> {
        let state = self.begin("session")?;
        Ok(state
            .sessions
            .iter()
            .find(|session| &session.id == id && session.expires_at > now)
            .cloned())
    }

    async fn delete_session(&self, id: &SessionId) -> Result<()> {
        let mut state = self.begin("delete_session")?;
        state.sessions.retain(|session| &session.id != id);
        Ok(())
    }

    async fn purge_sessions(&self, now: Timestamp) -> Result<u64> {
        let mut state = self.begin("purge_sessions")?;
        let before = state.sessions.len();
        state.sessions.retain(|session| session.expires_at > now);
        Ok(u64::try_from(before - state.sessions.len()).unwrap_or(u64::MAX))
    }

    async fn inbox_push(
        &self,
        notice: ChangeNotice,
        event_name: &str,
        sent_at: Option<Timestamp>,
        received_at: Timestamp,
    ) -> Result<InboxId> {
        let mut state = self.begin("inbox_push")?;
        let id = InboxId(state.next_id());
        let event = InboxEvent {
            id,
            notice,
            event_name: event_name.to_owned(),
            sent_at,
            received_at,
            attempts: 0,
            last_error: None,
        };
        state.inbox.insert(id, InboxRecord { event, done: false });
        Ok(id)
    }

    async fn inbox_pending(&self, limit: usize) -> Result<Vec<InboxEvent>> {
        let state = self.begin("inbox_pending")?;
        Ok(state
            .inbox
            .values()
            .filter(|record| !record.done)
            .take(limit)
            .map(|record| record.event.clone())
            .collect())
    }

    async fn inbox_done(&self, ids: &[InboxId]) -> Result<()> {
        let mut state = self.begin("inbox_done")?;
        for id in ids {
            if let Some(record) = state.inbox.get_mut(id) {
                record.done = true;
            }
        }
        Ok(())
    }

    async fn inbox_failed(&self, ids: &[InboxId], error: &str) -> Result<()> {
        let mut state = self.begin("inbox_failed")?;
        for id in ids {
            if let Some(record) = state.inbox.get_mut(id).filter(|record| !record.done) {
                record.event.attempts += 1;
                record.event.last_error = Some(error.to_owned());
            }
        }
        Ok(())
    }

    async fn outbox_push(&self, write: &WriteBack, now: Timestamp) -> Result<OutboxId> {
        let mut state = self.begin("outbox_push")?;
        Ok(state.push_write(write, now))
    }

    async fn outbox_due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxItem>> {
        let state = self.begin("outbox_due")?;
        Ok(state
            .outbox
            .values()
            .filter(|item| item.state == OutboxState::Pending && item.next_attempt_at <= now)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn outbox_done(&self, id: OutboxId) -> Result<()> {
        let mut state = self.begin("outbox_done")?;
        let item = state
            .outbox
            .get_mut(&id)
            .filter(|item| item.state != OutboxState::Done);
        if let Some(item) = item {
            item.state = OutboxState::Done;
            forget_password(&mut item.write);
        }
        Ok(())
    }

    async fn outbox_retry(
        &self,
        id: OutboxId,
        error: &str,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<()> {
        let mut state = self.begin("outbox_retry")?;
        if let Some(item) = state.outbox_item_in(id, OutboxState::Pending) {
            item.attempts += 1;
            item.last_error = Some(error.to_owned());
            item.next_attempt_at = later_by(now, retry_in);
        }
        Ok(())
    }

    async fn outbox_park(&self, id: OutboxId, error: &str) -> Result<()> {
        let mut state = self.begin("outbox_park")?;
        if let Some(item) = state.outbox_item_in(id, OutboxState::Pending) {
            item.state = OutboxState::Parked;
            item.attempts += 1;
            item.last_error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn outbox_list(
        &self,
        state_filter: Option<OutboxState>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        let state = self.begin("outbox_list")?;
        Ok(state
            .outbox
            .values()
            .rev()
            .filter(|item| state_filter.is_none_or(|wanted| item.state == wanted))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn outbox_requeue_parked(&self, now: Timestamp) -> Result<u64> {
        let mut state = self.begin("outbox_requeue_parked")?;
        let mut count = 0;
        for item in state.outbox.values_mut() {
            if item.state == OutboxState::Parked {
                item.state = OutboxState::Pending;
                item.attempts = 0;
                item.next_attempt_at = now;
                count += 1;
            }
        }
        Ok(count)
    }

    async fn spool_document(&self, file: &NewSpooledFile, now: Timestamp) -> Result<SpoolId> {
        let mut state = self.begin("spool_document")?;
        let id = SpoolId(state.next_id());
        state.spool.insert(
            id,
            SpooledFile {
                id,
                deal_id: file.deal_id,
                field: file.field.clone(),
                file_name: file.file_name.clone(),
                content_type: file.content_type.clone(),
                bytes: file.bytes.clone(),
                uploaded_at: now,
            },
        );
        let write = WriteBack::Document {
            deal_id: file.deal_id,
            field: file.field.clone(),
            spool_id: id,
        };
        state.push_write(&write, now);
        Ok(id)
    }

    async fn spooled_file(&self, id: SpoolId) -> Result<Option<SpooledFile>> {
        let state = self.begin("spooled_file")?;
        Ok(state.spool.get(&id).cloned())
    }

    async fn delete_spooled_file(&self, id: SpoolId) -> Result<()> {
        let mut state = self.begin("delete_spooled_file")?;
        state.spool.remove(&id);
        Ok(())
    }

    async fn spooled_fields_of(&self, deal: DealId) -> Result<Vec<FieldCode>> {
        let state = self.begin("spooled_fields_of")?;
        let mut fields: Vec<FieldCode> = state
            .spool
            .values()
            .filter(|file| file.deal_id == deal)
            .map(|file| file.field.clone())
            .collect();
        fields.sort();
        fields.dedup();
        Ok(fields)
    }

    async fn throttle_record_failure(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<u32> {
        let mut state = self.begin("throttle_record_failure")?;
        let times = state.throttle.entry(key.to_owned()).or_default();
        times.push(now);

        let count = failures_within(times, now, window);
        let since = SignedDuration::try_from(window)
            .ok()
            .and_then(|window| now.checked_sub(window).ok())
            .unwrap_or(Timestamp::MIN);
        times.retain(|at| *at > since);
        Ok(count)
    }

    async fn throttle_failures(&self, key: &str, now: Timestamp, window: Duration) -> Result<u32> {
        let state = self.begin("throttle_failures")?;
        Ok(state
            .throttle
            .get(key)
            .map_or(0, |times| failures_within(times, now, window)))
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        let mut state = self.begin("throttle_clear")?;
        state.throttle.remove(key);
        Ok(())
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>> {
        let state = self.begin("get_value")?;
        Ok(state.values.get(key).cloned())
    }

    async fn set_value(&self, key: &str, value: &str) -> Result<()> {
        let mut state = self.begin("set_value")?;
        state.values.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    async fn queue_stats(&self) -> Result<QueueStats> {
        let state = self.begin("queue_stats")?;
        let count_outbox = |wanted: OutboxState| {
            state
                .outbox
                .values()
                .filter(|item| item.state == wanted)
                .count() as u64
        };
        Ok(QueueStats {
            inbox_pending: state.inbox.values().filter(|record| !record.done).count() as u64,
            outbox_pending: count_outbox(OutboxState::Pending),
            outbox_parked: count_outbox(OutboxState::Parked),
            spooled_files: state.spool.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests;
