//! The `outbox` table: writes to Bitrix24 the cabinet owes, kept until confirmed.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{Json, Millis};
use super::errors::DbError;
use crate::ids::{DealId, OutboxId};
use crate::sync::{OutboxItem, OutboxState, Password, WriteBack};

/// How long done writes stay listed before `outbox_done` deletes them.
const DONE_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

const COLUMNS: &str = "id, payload, state, attempts, next_attempt_at, last_error, created_at";

/// The delivery bookkeeping a new row starts with.
struct Schedule {
    attempts: u32,
    next_attempt_at: Timestamp,
    last_error: Option<String>,
}

/// Queues a write, due at `now`, and returns its id.
///
/// A `LastLogin` write replaces any pending `LastLogin` write of the same
/// deal, because only the latest time matters. The old row is deleted and a
/// new row keeps the later of the two times plus the old row's attempts and
/// due time. A new row rather than an updated payload keeps a write that is in
/// flight correct: if the sync engine is sending the old row, its
/// `outbox_done` finds nothing to mark and the new time still goes out.
pub(super) fn enqueue(
    conn: &Connection,
    write: &WriteBack,
    now: Timestamp,
) -> Result<OutboxId, DbError> {
    let fresh = Schedule {
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
    };
    let (write, schedule) = match write {
        WriteBack::LastLogin { deal_id, at } => supersede_last_login(conn, *deal_id, *at, fresh)?,
        other => (other.clone(), fresh),
    };

    insert(conn, &write, &schedule, now)
}

/// Returns up to `limit` pending writes due at `now`, oldest first.
pub(super) fn due(
    conn: &Connection,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<OutboxItem>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 \
         ORDER BY id LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let items = statement
        .query_map(params![Millis(now), limit_param(limit)], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(items)
}

/// Returns records in `state` (or all), newest first.
pub(super) fn list(
    conn: &Connection,
    state: Option<OutboxState>,
    limit: usize,
) -> Result<Vec<OutboxItem>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let items = statement
        .query_map(params![state.map(state_name), limit_param(limit)], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(items)
}

/// Marks a write done, replaces any password in its payload with an empty
/// string, and deletes done rows older than [`DONE_RETENTION`]. Returns
/// whether a password was wiped.
///
/// A missing or already done row is not an error: a `LastLogin` write may
/// have been replaced while the sync engine was sending it.
pub(super) fn mark_done(conn: &Connection, id: OutboxId) -> Result<bool, DbError> {
    let payload: Option<Json<WriteBack>> = conn
        .prepare_cached("SELECT payload FROM outbox WHERE id = ?1 AND state <> 'done'")?
        .query_row([id.get()], |row| row.get(0))
        .optional()?;
    let Some(Json(write)) = payload else {
        tracing::debug!(outbox.id = %id, "outbox write to mark done is gone or already done");
        return Ok(false);
    };
    let carried_password = matches!(write, WriteBack::Credentials { .. });

    let now = Timestamp::now();
    conn.prepare_cached(
        "UPDATE outbox SET state = 'done', done_at = ?2, payload = ?3 WHERE id = ?1",
    )?
    .execute(params![
        id.get(),
        Millis(now),
        Json(without_password(write))
    ])?;

    prune_done(conn, now)?;
    Ok(carried_password)
}

/// Records a failed attempt of a pending write and when to try again.
pub(super) fn retry(
    conn: &Connection,
    id: OutboxId,
    error: &str,
    next_attempt_at: Timestamp,
) -> Result<(), DbError> {
    let updated = conn
        .prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id.get(), error, Millis(next_attempt_at)])?;
    log_if_missing(updated, id, "retry");
    Ok(())
}

/// Parks a pending write, counting the failed attempt that led to it.
pub(super) fn park(conn: &Connection, id: OutboxId, error: &str) -> Result<(), DbError> {
    let updated = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ?2 \
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id.get(), error])?;
    log_if_missing(updated, id, "park");
    Ok(())
}

/// Makes parked writes pending again, due at `now`, with a fresh attempt
/// count, and returns how many. The last error stays for reference.
pub(super) fn requeue_parked(conn: &Connection, now: Timestamp) -> Result<u64, DbError> {
    let requeued = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1 \
             WHERE state = 'parked'",
        )?
        .execute([Millis(now)])?;
    Ok(requeued as u64)
}

/// Deletes the pending `LastLogin` rows of a deal and returns the write and
/// schedule of the single row that replaces them.
fn supersede_last_login(
    conn: &Connection,
    deal: DealId,
    at: Timestamp,
    fresh: Schedule,
) -> Result<(WriteBack, Schedule), DbError> {
    let previous = conn
        .prepare_cached(
            "SELECT payload, attempts, next_attempt_at, last_error FROM outbox \
             WHERE state = 'pending' AND kind = 'last_login' AND deal_id = ?1 \
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row([deal.get()], |row| {
            let write: Json<WriteBack> = row.get(0)?;
            let schedule = Schedule {
                attempts: row.get(1)?,
                next_attempt_at: row.get::<_, Millis>(2)?.0,
                last_error: row.get(3)?,
            };
            Ok((write.0, schedule))
        })
        .optional()?;
    let Some((previous_write, schedule)) = previous else {
        return Ok((WriteBack::LastLogin { deal_id: deal, at }, fresh));
    };

    conn.prepare_cached(
        "DELETE FROM outbox WHERE state = 'pending' AND kind = 'last_login' AND deal_id = ?1",
    )?
    .execute([deal.get()])?;
    tracing::debug!(deal.id = %deal, "replaced a pending last-login write");

    let latest = match previous_write {
        WriteBack::LastLogin { at: previous, .. } => previous.max(at),
        _ => at,
    };
    Ok((
        WriteBack::LastLogin {
            deal_id: deal,
            at: latest,
        },
        schedule,
    ))
}

fn insert(
    conn: &Connection,
    write: &WriteBack,
    schedule: &Schedule,
    now: Timestamp,
) -> Result<OutboxId, DbError> {
    let id = conn
        .prepare_cached(
            "INSERT INTO outbox \
             (kind, deal_id, payload, state, attempts, next_attempt_at, last_error, created_at) \
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7) RETURNING id",
        )?
        .query_row(
            params![
                write.kind_name(),
                write.deal_id().get(),
                Json(write),
                schedule.attempts,
                Millis(schedule.next_attempt_at),
                schedule.last_error,
                Millis(now),
            ],
            |row| row.get(0),
        )?;
    Ok(OutboxId(id))
}

fn prune_done(conn: &Connection, now: Timestamp) -> Result<(), DbError> {
    let cutoff = now
        .checked_sub(DONE_RETENTION)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    conn.prepare_cached("DELETE FROM outbox WHERE state = 'done' AND done_at < ?1")?
        .execute([Millis(cutoff)])?;
    Ok(())
}

/// Returns the write with its password, if any, replaced by an empty string.
fn without_password(write: WriteBack) -> WriteBack {
    match write {
        WriteBack::Credentials { deal_id, login, .. } => WriteBack::Credentials {
            deal_id,
            login,
            password: Password::new(String::new()),
        },
        other => other,
    }
}

fn log_if_missing(updated: usize, id: OutboxId, change: &'static str) {
    if updated == 0 {
        tracing::debug!(outbox.id = %id, change, "outbox write is gone or no longer pending");
    }
}

/// Converts a row limit to the INTEGER that SQLite binds.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn state_name(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending => "pending",
        OutboxState::Done => "done",
        OutboxState::Parked => "parked",
    }
}

fn state_from_name(name: &str) -> rusqlite::Result<OutboxState> {
    match name {
        "pending" => Ok(OutboxState::Pending),
        "done" => Ok(OutboxState::Done),
        "parked" => Ok(OutboxState::Parked),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown outbox state {other:?}").into(),
        )),
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: OutboxId(row.get(0)?),
        write: row.get::<_, Json<WriteBack>>(1)?.0,
        state: state_from_name(&row.get::<_, String>(2)?)?,
        attempts: row.get(3)?,
        next_attempt_at: row.get::<_, Millis>(4)?.0,
        last_error: row.get(5)?,
        created_at: row.get::<_, Millis>(6)?.0,
    })
}
