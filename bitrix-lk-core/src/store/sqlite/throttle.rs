//! The `login_failures` table: one row per failed login, per throttle key.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::codec::{Millis, millis_before};
use super::errors::DbError;

/// The minimum time a failure row is kept. Recording a failure deletes every
/// key's rows older than this or than its window, whichever is longer.
const MIN_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Records a failure of `key` at `now`, deletes rows no window needs any more,
/// and returns the failures within `window` before `now`, this one included.
pub(super) fn record_failure(
    conn: &Connection,
    key: &str,
    now: Timestamp,
    window: Duration,
) -> Result<u32, DbError> {
    conn.prepare_cached("INSERT INTO login_failures (key, failed_at) VALUES (?1, ?2)")?
        .execute(params![key, Millis(now)])?;

    // Other keys may be counted with other windows, so this window prunes
    // only this key's rows. Every key's rows go after the minimum retention.
    conn.prepare_cached("DELETE FROM login_failures WHERE key = ?1 AND failed_at <= ?2")?
        .execute(params![key, millis_before(now, window)])?;
    conn.prepare_cached("DELETE FROM login_failures WHERE failed_at <= ?1")?
        .execute([millis_before(now, window.max(MIN_RETENTION))])?;

    count(conn, key, now, window)
}

/// Returns the failures of `key` within `window` before `now`.
pub(super) fn count(
    conn: &Connection,
    key: &str,
    now: Timestamp,
    window: Duration,
) -> Result<u32, DbError> {
    let failures = conn
        .prepare_cached(
            "SELECT count(*) FROM login_failures WHERE key = ?1 AND failed_at > ?2 \
             AND failed_at <= ?3",
        )?
        .query_row(
            params![key, millis_before(now, window), Millis(now)],
            |row| row.get(0),
        )?;
    Ok(failures)
}

/// Forgets every failure of `key`.
pub(super) fn clear(conn: &Connection, key: &str) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM login_failures WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}
