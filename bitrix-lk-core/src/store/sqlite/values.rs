//! The `kv` table of small named values, and the queue counts.

use rusqlite::{Connection, OptionalExtension, params};

use super::errors::DbError;
use crate::store::QueueStats;

/// Returns a stored value.
pub(super) fn get(conn: &Connection, key: &str) -> Result<Option<String>, DbError> {
    let value = conn
        .prepare_cached("SELECT value FROM kv WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    Ok(value)
}

/// Inserts or replaces a value.
pub(super) fn set(conn: &Connection, key: &str, value: &str) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO kv (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Counts the queues in one statement, so the counts come from one snapshot.
pub(super) fn queue_stats(conn: &Connection) -> Result<QueueStats, DbError> {
    let stats = conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL), \
                    (SELECT count(*) FROM outbox WHERE state = 'pending'), \
                    (SELECT count(*) FROM outbox WHERE state = 'parked'), \
                    (SELECT count(*) FROM spool)",
        )?
        .query_row([], |row| {
            Ok(QueueStats {
                inbox_pending: row.get(0)?,
                outbox_pending: row.get(1)?,
                outbox_parked: row.get(2)?,
                spooled_files: row.get(3)?,
            })
        })?;
    Ok(stats)
}
