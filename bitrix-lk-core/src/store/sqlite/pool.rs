//! Connections to the database file: one writer and a few readers.
//!
//! rusqlite calls block, so every call runs on tokio's blocking thread pool
//! (`spawn_blocking`) and the async workers stay free to serve requests.
//! SQLite allows one writer at a time per file anyway, so there is one writer
//! connection behind an async mutex: queued writers wait without holding a
//! blocking thread. In WAL mode readers run beside the writer, so reads take
//! one of a few reader connections, gated by a semaphore with one permit per
//! connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::Semaphore;

use super::errors::DbError;
use super::migrations;
use crate::error::{Error, Result};

/// How long a connection waits for another one (in this or another process)
/// to release the file lock before the call fails with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection; the store uses about fifty.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// The connections of one store handle.
pub(super) struct Pool {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<Connection>>,
    idle_readers: Mutex<Vec<Connection>>,
    reader_permits: Arc<Semaphore>,
    reader_count: usize,
}

impl Pool {
    /// Opens (or creates) the file, migrates it to the latest schema and opens
    /// the connections.
    pub(super) fn open(path: &Path, reader_count: usize) -> Result<Pool, DbError> {
        let mut writer = open_writer(path)?;
        migrations::migrate(&mut writer)?;

        let readers = (0..reader_count)
            .map(|_| open_reader(path))
            .collect::<rusqlite::Result<Vec<_>>>()?;

        Ok(Pool {
            path: path.to_owned(),
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            idle_readers: Mutex::new(readers),
            reader_permits: Arc::new(Semaphore::new(reader_count)),
            reader_count,
        })
    }

    /// Returns the database file path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the number of reader connections.
    pub(super) fn reader_count(&self) -> usize {
        self.reader_count
    }

    /// Runs `work` on a reader connection, off the async runtime.
    pub(super) async fn read<T, F>(self: &Arc<Self>, operation: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let permit = Arc::clone(&self.reader_permits)
            .acquire_owned()
            .await
            .map_err(|error| Error::Task(Box::new(error)))?;
        let pool = Arc::clone(self);

        run_blocking(operation, move || {
            let _permit = permit;
            let conn = pool.take_reader()?;
            let result = work(&conn);
            pool.return_reader(conn);
            result
        })
        .await
    }

    /// Runs `work` in a `BEGIN IMMEDIATE` transaction on the writer connection,
    /// off the async runtime, and commits when it succeeds.
    ///
    /// `BEGIN IMMEDIATE` takes the file's write lock up front, so checks made
    /// inside `work` still hold at commit, even against other processes.
    pub(super) async fn write<T, F>(&self, operation: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let mut conn = Arc::clone(&self.writer).lock_owned().await;

        run_blocking(operation, move || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Copies the WAL into the database file and truncates it, so old page
    /// images (such as a wiped password) leave the disk.
    ///
    /// This is best effort: the change it follows is already committed, so a
    /// failure is logged and not returned. A reader in this or another process
    /// can keep the WAL from being truncated; later writes then reuse it.
    pub(super) async fn truncate_wal(&self) {
        let conn = Arc::clone(&self.writer).lock_owned().await;
        let checkpoint = run_blocking("truncate_wal", move || {
            let busy: i64 =
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
            Ok(busy == 0)
        })
        .await;

        match checkpoint {
            Ok(true) => {}
            Ok(false) => tracing::debug!("readers kept the WAL from being truncated"),
            Err(error) => tracing::warn!(%error, "failed to truncate the WAL"),
        }
    }

    /// Takes an idle reader. The semaphore keeps one idle per permit, but a
    /// reader lost to a panic is replaced by a new connection.
    fn take_reader(&self) -> rusqlite::Result<Connection> {
        let idle = self
            .idle_readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    fn return_reader(&self, conn: Connection) {
        self.idle_readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }
}

/// Runs blocking work on tokio's blocking pool and maps its failure.
async fn run_blocking<T, F>(operation: &'static str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|error| error.into_error(operation)),
        Err(join_error) => Err(Error::Task(Box::new(join_error))),
    }
}

/// Opens the writer connection and switches the file to WAL mode.
fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = open_configured(path)?;
    conn.set_transaction_behavior(TransactionBehavior::Immediate);

    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some file systems, such as network shares, cannot hold the WAL
        // index. SQLite then keeps its rollback journal.
        tracing::warn!(
            path = %path.display(),
            journal_mode = %mode,
            "failed to switch the store to WAL mode, so reads will wait for writes"
        );
    }
    Ok(conn)
}

/// Opens a reader connection that refuses writes.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_configured(path)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Opens a connection with the settings every connection shares.
fn open_configured(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);

    // In WAL mode, NORMAL may lose the last commits on a power loss or an OS
    // crash, but not on an application crash (SQLite's PRAGMA synchronous docs).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Overwrite deleted content with zeros, so wiped passwords and deleted
    // uploads do not linger in free pages of the file.
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(conn)
}
