//! The SQLite store: every [`Store`] record in one database file.
//!
//! [`SqliteStore`] opens the file in WAL mode with a busy timeout, so lk-web
//! and lk-cli can use the same file at once. Writes run in `BEGIN IMMEDIATE`
//! transactions on one writer connection, and reads use a few reader
//! connections beside it (`pool.rs` explains why). The schema is versioned
//! through SQLite's `user_version` and migrated when the store opens.
//!
//! Timestamps are stored as Unix milliseconds, so a timestamp read back has
//! its sub-millisecond part dropped.

mod accounts;
mod cases;
mod codec;
mod deals;
mod errors;
mod inbox;
mod invoices;
mod migrations;
mod outbox;
mod pipelines;
mod pool;
mod sessions;
mod spool;
mod throttle;
mod values;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use self::cases::PipelineCache;
use self::pool::Pool;
use crate::account::{Account, Login, PasswordHash};
use crate::config::InvoiceLinkage;
use crate::deal::Deal;
use crate::error::Result;
use crate::ids::{CategoryId, ContactId, DealId, FieldCode, InboxId, InvoiceId, OutboxId, SpoolId};
use crate::invoice::Invoice;
use crate::pipeline::Pipeline;
use crate::session::{Session, SessionId};
use crate::store::{ClientCase, CreateAccount, NewSpooledFile, QueueStats, Store};
use crate::sync::{ChangeNotice, InboxEvent, OutboxItem, OutboxState, SpooledFile, WriteBack};

/// The minimum number of reader connections per handle, also used when the
/// machine does not report its core count.
const MIN_READERS: usize = 2;

/// The maximum number of reader connections per handle. The store's reads are
/// short indexed lookups, so connections beyond the core count mostly wait.
const MAX_READERS: usize = 8;

/// A [`Store`] on one SQLite file.
///
/// Cloning is cheap and shares the connections. Several handles, in one
/// process or several, may open the same file. The methods run SQLite on
/// Tokio's blocking thread pool, so they must be called inside a Tokio runtime.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<Pool>,
    pipelines: Arc<PipelineCache>,
}

impl SqliteStore {
    /// Opens the database file, creating it when missing, and migrates it to
    /// the latest schema.
    ///
    /// This blocks while it opens the connections and migrates, so call it at
    /// start-up or through `spawn_blocking` from async code. The parent
    /// directory must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref();
        let readers = std::thread::available_parallelism().map_or(MIN_READERS, |cores| {
            cores.get().clamp(MIN_READERS, MAX_READERS)
        });

        create_private(path).map_err(|error| crate::Error::storage("open", error))?;
        let pool = Pool::open(path, readers).map_err(|error| error.into_error("open"))?;
        tracing::info!(path = %path.display(), readers, "opened the SQLite store");
        Ok(SqliteStore {
            pool: Arc::new(pool),
            pipelines: Arc::default(),
        })
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        self.pool.path()
    }
}

/// Creates a missing database file readable by its owner only: it contains
/// password hashes, sessions and queued passwords. SQLite gives its `-wal`
/// and `-shm` files the same permissions as the database file.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.pool.path())
            .field("readers", &self.pool.reader_count())
            .finish()
    }
}

// Each method copies its arguments (the closures run on another thread and
// must own their data) and hands one query function to the pool.
#[async_trait]
impl Store for SqliteStore {
    async fn create_account(
        &self,
        account: &Account,
        writes: &[WriteBack],
    ) -> Result<CreateAccount> {
        let account = account.clone();
        let writes = writes.to_vec();
        self.pool
            .write("create_account", move |conn| {
                accounts::create(conn, &account, &writes)
            })
            .await
    }

    async fn account_by_deal(&self, deal: DealId) -> Result<Option<Account>> {
        self.pool
            .read("account_by_deal", move |conn| accounts::by_deal(conn, deal))
            .await
    }

    async fn account_by_login(&self, login: &Login) -> Result<Option<Account>> {
        let login = login.clone();
        self.pool
            .read("account_by_login", move |conn| {
                accounts::by_login(conn, login.as_str())
            })
            .await
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        self.pool.read("accounts", accounts::all).await
    }

    async fn set_password(
        &self,
        deal: DealId,
        hash: &PasswordHash,
        at: Timestamp,
        writes: &[WriteBack],
    ) -> Result<()> {
        let hash = hash.clone();
        let writes = writes.to_vec();
        self.pool
            .write("set_password", move |conn| {
                accounts::set_password(conn, deal, &hash, at, &writes)
            })
            .await
    }

    async fn record_login(&self, deal: DealId, at: Timestamp, writes: &[WriteBack]) -> Result<()> {
        let writes = writes.to_vec();
        self.pool
            .write("record_login", move |conn| {
                accounts::record_login(conn, deal, at, &writes)
            })
            .await
    }

    async fn save_deal(&self, deal: &Deal) -> Result<()> {
        let deal = deal.clone();
        self.pool
            .write("save_deal", move |conn| deals::save(conn, &deal))
            .await
    }

    async fn deal(&self, id: DealId) -> Result<Option<Deal>> {
        self.pool
            .read("deal", move |conn| deals::get(conn, id))
            .await
    }

    async fn delete_deal(&self, id: DealId) -> Result<()> {
        self.pool
            .write("delete_deal", move |conn| deals::delete(conn, id))
            .await
    }

    async fn deal_ids(&self) -> Result<Vec<DealId>> {
        self.pool.read("deal_ids", deals::ids).await
    }

    async fn save_invoice(&self, invoice: &Invoice) -> Result<()> {
        let invoice = invoice.clone();
        self.pool
            .write("save_invoice", move |conn| invoices::save(conn, &invoice))
            .await
    }

    async fn delete_invoice(&self, id: InvoiceId) -> Result<()> {
        self.pool
            .write("delete_invoice", move |conn| invoices::delete(conn, id))
            .await
    }

    async fn replace_invoices_of(
        &self,
        deal: DealId,
        contact: Option<ContactId>,
        invoices: &[Invoice],
    ) -> Result<()> {
        let invoices = invoices.to_vec();
        self.pool
            .write("replace_invoices_of", move |conn| {
                invoices::replace_of(conn, deal, contact, &invoices)
            })
            .await
    }

    async fn invoices_of(&self, deal: DealId, contact: Option<ContactId>) -> Result<Vec<Invoice>> {
        self.pool
            .read("invoices_of", move |conn| invoices::of(conn, deal, contact))
            .await
    }

    async fn save_pipelines(&self, pipelines: &[Pipeline]) -> Result<()> {
        let pipelines = pipelines.to_vec();
        self.pool
            .write("save_pipelines", move |conn| {
                pipelines::replace_all(conn, &pipelines)
            })
            .await
    }

    async fn pipeline(&self, id: CategoryId) -> Result<Option<Pipeline>> {
        self.pool
            .read("pipeline", move |conn| pipelines::get(conn, id))
            .await
    }

    async fn pipelines(&self) -> Result<Vec<Pipeline>> {
        self.pool.read("pipelines", pipelines::all).await
    }

    async fn client_case(
        &self,
        session: &SessionId,
        now: Timestamp,
        linkage: InvoiceLinkage,
    ) -> Result<Option<ClientCase>> {
        let session = session.clone();
        let cache = Arc::clone(&self.pipelines);
        self.pool
            .read("client_case", move |conn| {
                cases::client_case(conn, &cache, &session, now, linkage)
            })
            .await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        let session = session.clone();
        self.pool
            .write("create_session", move |conn| {
                sessions::create(conn, &session)
            })
            .await
    }

    async fn session(&self, id: &SessionId, now: Timestamp) -> Result<Option<Session>> {
        let id = id.clone();
        self.pool
            .read("session", move |conn| sessions::get(conn, &id, now))
            .await
    }

    async fn delete_session(&self, id: &SessionId) -> Result<()> {
        let id = id.clone();
        self.pool
            .write("delete_session", move |conn| sessions::delete(conn, &id))
            .await
    }

    async fn purge_sessions(&self, now: Timestamp) -> Result<u64> {
        self.pool
            .write("purge_sessions", move |conn| sessions::purge(conn, now))
            .await
    }

    async fn inbox_push(
        &self,
        notice: ChangeNotice,
        event_name: &str,
        sent_at: Option<Timestamp>,
        received_at: Timestamp,
    ) -> Result<InboxId> {
        let event_name = event_name.to_owned();
        self.pool
            .write("inbox_push", move |conn| {
                inbox::push(conn, notice, &event_name, sent_at, received_at)
            })
            .await
    }

    async fn inbox_pending(&self, limit: usize) -> Result<Vec<InboxEvent>> {
        self.pool
            .read("inbox_pending", move |conn| inbox::pending(conn, limit))
            .await
    }

    async fn inbox_done(&self, ids: &[InboxId]) -> Result<()> {
        let ids = ids.to_vec();
        self.pool
            .write("inbox_done", move |conn| inbox::mark_done(conn, &ids))
            .await
    }

    async fn inbox_failed(&self, ids: &[InboxId], error: &str) -> Result<()> {
        let ids = ids.to_vec();
        let error = error.to_owned();
        self.pool
            .write("inbox_failed", move |conn| {
                inbox::mark_failed(conn, &ids, &error)
            })
            .await
    }

    async fn outbox_push(&self, write: &WriteBack, now: Timestamp) -> Result<OutboxId> {
        let write = write.clone();
        self.pool
            .write("outbox_push", move |conn| {
                outbox::enqueue(conn, &write, now)
            })
            .await
    }

    async fn outbox_due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxItem>> {
        self.pool
            .read("outbox_due", move |conn| outbox::due(conn, now, limit))
            .await
    }

    async fn outbox_done(&self, id: OutboxId) -> Result<()> {
        let wiped_password = self
            .pool
            .write("outbox_done", move |conn| outbox::mark_done(conn, id))
            .await?;

        // `secure_delete` zeroes the old payload in the database pages, but
        // earlier page images in the WAL still contain the password.
        if wiped_password {
            self.pool.truncate_wal().await;
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
        let error = error.to_owned();
        let next_attempt_at = codec::later_by(now, retry_in);
        self.pool
            .write("outbox_retry", move |conn| {
                outbox::retry(conn, id, &error, next_attempt_at)
            })
            .await
    }

    async fn outbox_park(&self, id: OutboxId, error: &str) -> Result<()> {
        let error = error.to_owned();
        self.pool
            .write("outbox_park", move |conn| outbox::park(conn, id, &error))
            .await
    }

    async fn outbox_list(
        &self,
        state: Option<OutboxState>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        self.pool
            .read("outbox_list", move |conn| outbox::list(conn, state, limit))
            .await
    }

    async fn outbox_requeue_parked(&self, now: Timestamp) -> Result<u64> {
        self.pool
            .write("outbox_requeue_parked", move |conn| {
                outbox::requeue_parked(conn, now)
            })
            .await
    }

    async fn spool_document(&self, file: &NewSpooledFile, now: Timestamp) -> Result<SpoolId> {
        let file = file.clone();
        self.pool
            .write("spool_document", move |conn| {
                spool::spool_document(conn, &file, now)
            })
            .await
    }

    async fn spooled_file(&self, id: SpoolId) -> Result<Option<SpooledFile>> {
        self.pool
            .read("spooled_file", move |conn| spool::get(conn, id))
            .await
    }

    async fn delete_spooled_file(&self, id: SpoolId) -> Result<()> {
        self.pool
            .write("delete_spooled_file", move |conn| spool::delete(conn, id))
            .await
    }

    async fn spooled_fields_of(&self, deal: DealId) -> Result<Vec<FieldCode>> {
        self.pool
            .read("spooled_fields_of", move |conn| {
                spool::fields_of(conn, deal)
            })
            .await
    }

    async fn throttle_record_failure(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<u32> {
        let key = key.to_owned();
        self.pool
            .write("throttle_record_failure", move |conn| {
                throttle::record_failure(conn, &key, now, window)
            })
            .await
    }

    async fn throttle_failures(&self, key: &str, now: Timestamp, window: Duration) -> Result<u32> {
        let key = key.to_owned();
        self.pool
            .read("throttle_failures", move |conn| {
                throttle::count(conn, &key, now, window)
            })
            .await
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.pool
            .write("throttle_clear", move |conn| throttle::clear(conn, &key))
            .await
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_owned();
        self.pool
            .read("get_value", move |conn| values::get(conn, &key))
            .await
    }

    async fn set_value(&self, key: &str, value: &str) -> Result<()> {
        let key = key.to_owned();
        let value = value.to_owned();
        self.pool
            .write("set_value", move |conn| values::set(conn, &key, &value))
            .await
    }

    async fn queue_stats(&self) -> Result<QueueStats> {
        self.pool.read("queue_stats", values::queue_stats).await
    }
}
