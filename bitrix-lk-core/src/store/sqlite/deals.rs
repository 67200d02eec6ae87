//! The `deals` table: deal snapshots as JSON, with the columns queries need.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{Json, Millis};
use super::errors::DbError;
use crate::deal::Deal;
use crate::ids::DealId;

/// Inserts or replaces a deal snapshot.
pub(super) fn save(conn: &Connection, deal: &Deal) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO deals (id, contact_id, modified_at, snapshot, stored_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, \
         modified_at = excluded.modified_at, snapshot = excluded.snapshot, \
         stored_at = excluded.stored_at",
    )?
    .execute(params![
        deal.id.get(),
        deal.contact_id.map(|contact| contact.get()),
        deal.modified_at.map(Millis),
        Json(deal),
        Millis(Timestamp::now()),
    ])?;
    Ok(())
}

/// Returns a deal snapshot.
pub(super) fn get(conn: &Connection, id: DealId) -> Result<Option<Deal>, DbError> {
    let deal = conn
        .prepare_cached("SELECT snapshot FROM deals WHERE id = ?1")?
        .query_row([id.get()], |row| row.get::<_, Json<Deal>>(0))
        .optional()?;
    Ok(deal.map(|json| json.0))
}

/// Removes a deal snapshot but keeps the deal's account.
pub(super) fn delete(conn: &Connection, id: DealId) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM deals WHERE id = ?1")?
        .execute([id.get()])?;
    Ok(())
}

/// Returns the ids of every stored snapshot, in ascending order.
pub(super) fn ids(conn: &Connection) -> Result<Vec<DealId>, DbError> {
    let mut statement = conn.prepare_cached("SELECT id FROM deals ORDER BY id")?;
    let ids = statement
        .query_map([], |row| row.get(0).map(DealId))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}
