//! The `inbox` table: Bitrix24 events stored durably until the sync engine processes them.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use super::codec::{Json, Millis};
use super::errors::DbError;
use crate::ids::InboxId;
use crate::sync::{ChangeNotice, InboxEvent};

/// How long processed events stay in the table before `inbox_done` deletes them.
const PROCESSED_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Stores an event and returns its id.
pub(super) fn push(
    conn: &Connection,
    notice: ChangeNotice,
    event_name: &str,
    sent_at: Option<Timestamp>,
    received_at: Timestamp,
) -> Result<InboxId, DbError> {
    let id = conn
        .prepare_cached(
            "INSERT INTO inbox (notice, event_name, sent_at, received_at) \
             VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )?
        .query_row(
            params![
                Json(notice),
                event_name,
                sent_at.map(Millis),
                Millis(received_at)
            ],
            |row| row.get(0),
        )?;
    Ok(InboxId(id))
}

/// Returns up to `limit` unprocessed events, oldest first.
pub(super) fn pending(conn: &Connection, limit: usize) -> Result<Vec<InboxEvent>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, notice, event_name, sent_at, received_at, attempts, last_error FROM inbox \
         WHERE processed_at IS NULL ORDER BY id LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let events = statement
        .query_map([limit], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(events)
}

/// Marks events processed and deletes those processed more than
/// [`PROCESSED_RETENTION`] ago.
pub(super) fn mark_done(conn: &Connection, ids: &[InboxId]) -> Result<(), DbError> {
    let now = Timestamp::now();
    let mut statement = conn.prepare_cached(
        "UPDATE inbox SET processed_at = ?2 WHERE id = ?1 AND processed_at IS NULL",
    )?;
    for id in ids {
        statement.execute(params![id.get(), Millis(now)])?;
    }

    let cutoff = now
        .checked_sub(PROCESSED_RETENTION)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    conn.prepare_cached("DELETE FROM inbox WHERE processed_at < ?1")?
        .execute([Millis(cutoff)])?;
    Ok(())
}

/// Records a failed attempt on unprocessed events, which stay pending.
pub(super) fn mark_failed(conn: &Connection, ids: &[InboxId], error: &str) -> Result<(), DbError> {
    let mut statement = conn.prepare_cached(
        "UPDATE inbox SET attempts = attempts + 1, last_error = ?2 \
         WHERE id = ?1 AND processed_at IS NULL",
    )?;
    for id in ids {
        statement.execute(params![id.get(), error])?;
    }
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<InboxEvent> {
    Ok(InboxEvent {
        id: InboxId(row.get(0)?),
        notice: row.get::<_, Json<ChangeNotice>>(1)?.0,
        event_name: row.get(2)?,
        sent_at: row.get::<_, Option<Millis>>(3)?.map(|millis| millis.0),
        received_at: row.get::<_, Millis>(4)?.0,
        attempts: row.get(5)?,
        last_error: row.get(6)?,
    })
}
